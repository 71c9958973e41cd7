// The bridge between an oidc-provider deployment and the gateway's Redis
// data contract (docs/redis-data-model.md):
//
//   bb:token:<sha256>               an opaque access token's record,
//                                   written before the token is handed out
//   bb:grant:<client_id>:<patient>  the beneficiary's approval of the app,
//                                   written when the grant is saved
//   bb:revoked:<jti>                a revoked JWT access token
//
// and deleted when oidc-provider destroys what they stand for: a token
// revoked (RFC 7009), a grant revoked (the connected-apps page, a refresh
// token revoked, a new consent replacing it) or expired (Redis expires the
// key with the grant).
//
//   const bridge = new BlueButtonBridge(redis, { prefix: 'bb:' });
//   const provider = new Provider(issuer, {
//       adapter: bridge.adapter(MyAdapter), ... });
//   bridge.attach(provider);
//
// A write that fails fails the save, so no token goes out that the gateway
// does not know.  A deletion that fails is kept (in memory, and in a
// journal file when one is named), logged and retried until Redis takes
// it: never silently lost.

import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

import { exec, extendTtl } from './redis-exec.js';

export const DATA_ACCESS_TYPES = ['ONE_TIME', 'THIRTEEN_MONTH', 'RESEARCH_STUDY'];

// deletes the grant's key only while it still stands for this grant: a
// newer consent's key is left alone
const DELETE_GRANT_KEY = `
local value = redis.call('GET', KEYS[1])
if value and string.find(value, ARGV[1], 1, true) then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export function tokenHash(token) {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class BlueButtonBridge {
  #redis;
  #prefix;
  #index;
  #journal;
  #log;
  #retryMs;
  #pending = new Map();
  #timer;
  #provider;

  constructor(redis, {
    prefix = 'bb:',
    indexPrefix = 'bbas:bridge:',
    journal,
    log = console,
    retryMs = 1000,
  } = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#index = indexPrefix;
    this.#journal = journal;
    this.#log = log;
    this.#retryMs = retryMs;

    if (journal) {
      let saved = [];
      try {
        saved = JSON.parse(readFileSync(journal, 'utf8'));
      } catch (err) {
        if (err.code !== 'ENOENT') {
          throw err;
        }
      }
      for (const job of saved) {
        this.#pending.set(job.id, job);
      }
      if (this.#pending.size) {
        this.#log.warn(`bridge: ${this.#pending.size} revocation(s) from the `
          + 'journal not yet taken by Redis, retrying');
        this.#schedule();
      }
    }
  }

  attach(provider) {
    this.#provider = provider;
    return this;
  }

  grantKey(clientId, patient) {
    return `${this.#prefix}grant:${clientId}:${patient}`;
  }

  tokenKey(token) {
    return `${this.#prefix}token:${tokenHash(token)}`;
  }

  // the revocations Redis has not taken yet, oldest first
  pending() {
    return [...this.#pending.values()];
  }

  // Wraps an oidc-provider adapter class: what it stores is stored as
  // before, and the contract's keys follow it.
  adapter(Base) {
    const bridge = this;

    return class BlueButtonAdapter extends Base {
      async upsert(id, payload, expiresIn) {
        if (this.name === 'AccessToken' && payload.format !== 'jwt') {
          await bridge.#writeToken(id, payload, expiresIn);
        } else if (this.name === 'Grant') {
          await bridge.#writeGrant(id, payload, expiresIn);
        }
        return super.upsert(id, payload, expiresIn);
      }

      async destroy(id) {
        if (this.name === 'AccessToken') {
          await bridge.#delete({ what: 'token', keys: [bridge.tokenKey(id)] });
        } else if (this.name === 'Grant') {
          const grant = await super.find(id);
          if (grant) {
            await bridge.#delete({
              what: 'grant',
              client_id: grant.clientId,
              patient: grant.accountId,
              keys: [bridge.grantKey(grant.clientId, grant.accountId)],
              grant_id: id,
            });
          }
        }
        return super.destroy(id);
      }

      async revokeByGrantId(grantId) {
        if (this.name === 'AccessToken') {
          const index = `${bridge.#index}grant-tokens:${grantId}`;
          const keys = await bridge.#redis.smembers(index);
          if (keys.length) {
            await bridge.#delete({ what: 'token', keys });
          }
          await bridge.#redis.del(index);
        }
        return super.revokeByGrantId(grantId);
      }
    };
  }

  // an RFC 7009 revocation of a JWT access token, which oidc-provider
  // does not store and cannot revoke itself
  async revokeJwt(jti, exp) {
    const seconds = Math.max(1, exp - Math.floor(Date.now() / 1000));
    await this.#redis.set(`${this.#prefix}revoked:${jti}`, '1', 'EX', seconds);
  }

  async #client(clientId) {
    return this.#provider?.Client.find(clientId);
  }

  async #writeToken(id, payload, expiresIn) {
    const client = await this.#client(payload.clientId);
    const record = {
      patient: payload.accountId,
      client_id: payload.clientId,
      scope: payload.scope ?? '',
      exp: payload.exp,
      iat: payload.iat,
    };
    if (client?.clientName) {
      record.app = client.clientName;
    }

    const key = this.tokenKey(id);
    const multi = this.#redis.multi()
      .set(key, JSON.stringify(record), 'EX', expiresIn);
    if (payload.grantId) {
      const index = `${this.#index}grant-tokens:${payload.grantId}`;
      extendTtl(multi.sadd(index, key), index, expiresIn);
    }
    await exec(multi);
  }

  async #writeGrant(id, payload, expiresIn) {
    const client = await this.#client(payload.clientId);
    const type = client?.['data_access_type'] ?? 'THIRTEEN_MONTH';
    const lasting = type === 'RESEARCH_STUDY';
    const grant = {
      created: payload.iat,
      expires: lasting ? null : payload.exp,
      data_access_type: type,
      grant_id: id,
    };
    const key = this.grantKey(payload.clientId, payload.accountId);
    const ttl = lasting || !expiresIn ? [] : ['EX', expiresIn];
    await this.#redis.set(key, JSON.stringify(grant), ...ttl);
  }

  async #delete(job) {
    try {
      await this.#run(job);
    } catch (err) {
      job.id = `${job.what}:${job.keys[0]}`;
      job.since = job.since ?? new Date().toISOString();
      job.attempts = 1;
      job.error = err.message;
      this.#pending.set(job.id, job);
      this.#save();
      this.#log.error(`bridge: revocation of ${describe(job)} not taken by `
        + `Redis (${err.message}); kept and retried every `
        + `${this.#retryMs} ms`);
      this.#schedule();
    }
  }

  async #run(job) {
    if (job.what === 'grant') {
      await this.#redis.eval(DELETE_GRANT_KEY, 1, job.keys[0],
        `"grant_id":${JSON.stringify(job.grant_id)}`);
    } else {
      await this.#redis.del(...job.keys);
    }
  }

  #schedule() {
    if (this.#timer) {
      return;
    }
    this.#timer = setTimeout(() => this.#retry(), this.#retryMs);
    this.#timer.unref();
  }

  async #retry() {
    this.#timer = undefined;
    for (const job of this.#pending.values()) {
      try {
        await this.#run(job);
        this.#pending.delete(job.id);
        this.#log.warn(`bridge: revocation of ${describe(job)} taken by `
          + `Redis after ${job.attempts} attempt(s)`);
      } catch (err) {
        job.attempts += 1;
        job.error = err.message;
      }
    }
    this.#save();
    if (this.#pending.size) {
      this.#schedule();
    }
  }

  #save() {
    if (!this.#journal) {
      return;
    }
    const next = `${this.#journal}.next`;
    writeFileSync(next, JSON.stringify(this.pending()), { mode: 0o600 });
    renameSync(next, this.#journal);
  }
}

function describe(job) {
  return job.what === 'grant'
    ? `the grant of ${job.client_id} for a beneficiary`
    : `${job.keys.length} access token(s)`;
}
