// The authorization server's own state (sessions, interactions, codes,
// grants, tokens) in Redis, as oidc-provider's adapter interface asks, so
// that a restart loses no approval and no revocation.
//
// <prefix><Model>:<id>           the model's payload, JSON, with its TTL
// <prefix><Model>:<id>:consumed  when a code or refresh token was used
// <prefix>uid:<uid>              a session's id by its uid
// <prefix>grant-index:<grantId>  the keys of everything issued on a grant

import { exec, extendTtl } from './redis-exec.js';

export function redisAdapter(redis, prefix = 'bbas:') {
  return class RedisAdapter {
    constructor(name) {
      this.name = name;
    }

    key(id) {
      return `${prefix}${this.name}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const ttl = expiresIn ? ['EX', expiresIn] : [];
      const multi = redis.multi().set(key, JSON.stringify(payload), ...ttl);

      if (payload.grantId) {
        const index = `${prefix}grant-index:${payload.grantId}`;
        multi.sadd(index, key);
        if (expiresIn) {
          extendTtl(multi, index, expiresIn);
        }
      }

      if (payload.uid) {
        multi.set(`${prefix}uid:${payload.uid}`, id, ...ttl);
      }

      await exec(multi);
    }

    async find(id) {
      const key = this.key(id);
      const [value, consumed] = await redis.mget(key, `${key}:consumed`);
      if (value === null) {
        return undefined;
      }
      const payload = JSON.parse(value);
      if (consumed !== null) {
        payload.consumed = Number(consumed);
      }
      return payload;
    }

    async findByUid(uid) {
      const id = await redis.get(`${prefix}uid:${uid}`);
      return id === null ? undefined : this.find(id);
    }

    async findByUserCode() {
      return undefined;
    }

    async consume(id) {
      const key = this.key(id);
      const ttl = await redis.ttl(key);
      await redis.set(`${key}:consumed`, String(Math.floor(Date.now() / 1000)),
        ...(ttl > 0 ? ['EX', ttl] : []));
    }

    async destroy(id) {
      const key = this.key(id);
      await redis.del(key, `${key}:consumed`);
    }

    async revokeByGrantId(grantId) {
      const index = `${prefix}grant-index:${grantId}`;
      const keys = await redis.smembers(index);
      const multi = redis.multi();
      for (const key of keys) {
        multi.del(key, `${key}:consumed`);
      }
      multi.del(index);
      await exec(multi);
    }
  };
}
