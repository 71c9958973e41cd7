// Waiting in tests: check() every 50 ms until it gives something truthy
// (an error counts as "not yet") or `ms` have passed.

import { setTimeout as sleep } from 'node:timers/promises';

// the last thing check() gave, truthy or not
export async function poll(check, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    let result;
    try {
      result = await check();
    } catch {
      result = undefined;
    }
    if (result || Date.now() > end) {
      return result;
    }
    await sleep(50);
  }
}

// an ioredis client with lazyConnect, connected once its server listens:
// connect() again only while no attempt of the client's own is under way
export async function connected(redis, what = 'redis', ms = 10000) {
  redis.on('error', () => {});
  await until(what, async () => {
    if (redis.status === 'wait' || redis.status === 'end') {
      await redis.connect();
    }
    return redis.status === 'ready';
  }, ms);
}

export async function until(what, check, ms = 10000) {
  if (!await poll(check, ms)) {
    throw new Error(`${what} did not come up`);
  }
}
