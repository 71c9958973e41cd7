// The Redis connection: TLS (rediss://, with a CA file) and ACL users as
// docs/operations.md describes.  Commands fail at once while Redis is
// unreachable instead of queueing: a token write that cannot be made
// fails the request, a revocation goes to the bridge's retries.

import { readFileSync } from 'node:fs';

import Redis from 'ioredis';

export async function connectRedis({ url, ca }) {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    ...(ca ? { tls: { ca: readFileSync(ca) } } : {}),
  });
  redis.on('error', () => {});
  await redis.connect();
  return redis;
}
