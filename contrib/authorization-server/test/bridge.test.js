// The bridge against a real redis-server: what it writes, what it deletes,
// what happens when Redis refuses, over TLS with the least ACL user.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { BlueButtonBridge, tokenHash } from '../bridge.js';
import { readClients } from '../config.js';
import { signingKeys } from '../keys.js';
import { makeProvider } from '../provider.js';
import { redisAdapter } from '../redis-adapter.js';
import { poll } from '../../test-support/poll.js';
import { LEAST_ACL, startRedis } from './redis-server.js';

const PORT = 6421;
const TLS_PORT = 6422;
const quiet = { info() {}, warn() {}, error() {} };
let server;
let redis;
let provider;


function connect(options = {}) {
  const r = new Redis({ port: PORT, maxRetriesPerRequest: 1, enableOfflineQueue: false,
    lazyConnect: true, ...options });
  r.on('error', () => {});
  return r;
}

async function withUser(name, acl) {
  await server.admin.call('ACL', 'SETUSER', name, 'reset', ...acl);
  const r = connect({ username: name, password: 'secret' });
  await r.connect();
  return r;
}

function bridgeOn(client, options = {}) {
  const bridge = new BlueButtonBridge(client, { log: quiet, retryMs: 100, ...options });
  bridge.attach(provider);
  return bridge;
}

before(async () => {
  server = await startRedis({ port: PORT, tlsPort: TLS_PORT });
  redis = connect();
  await redis.connect();
  provider = makeProvider({
    issuer: 'http://127.0.0.1:1',
    fhirBase: 'http://127.0.0.1:1/v2/fhir',
    clients: readClients(new URL('../clients.json', import.meta.url), 'http://127.0.0.1:1'),
    jwks: signingKeys(mkdtempSync(join(tmpdir(), 'bbas-keys.'))),
    cookieKeys: ['test-cookie-key'],
    adapter: redisAdapter(redis),
    beneficiaries: { byPatient: () => undefined },
  });
});

after(async () => {
  redis?.disconnect();
  await server?.stop();
});

const now = () => Math.floor(Date.now() / 1000);

test('an opaque access token is written with its lifetime before it is stored', async () => {
  const Adapter = bridgeOn(redis).adapter(redisAdapter(redis));
  const tokens = new Adapter('AccessToken');
  const iat = now();
  await tokens.upsert('opaque-1', {
    accountId: '-20140000008325', clientId: 'smart-demo-app', grantId: 'g-1',
    scope: 'patient/Patient.read', iat, exp: iat + 60,
  }, 60);
  const key = `bb:token:${tokenHash('opaque-1')}`;
  assert.deepEqual(JSON.parse(await server.admin.get(key)), {
    patient: '-20140000008325', client_id: 'smart-demo-app', app: 'SMART Demo App',
    scope: 'patient/Patient.read', exp: iat + 60, iat,
  });
  const ttl = await server.admin.ttl(key);
  assert.ok(ttl > 55 && ttl <= 60, `ttl ${ttl}`);
  assert.ok(await server.admin.exists('bbas:AccessToken:opaque-1'));
});

test('a grant is written after the app\'s data access type', async () => {
  const Adapter = bridgeOn(redis).adapter(redisAdapter(redis));
  const grants = new Adapter('Grant');
  const iat = now();
  for (const [client, ttl, expires] of [
    ['smart-demo-app', 3600, iat + 3600],
    ['smart-demo-app-once', 60, iat + 60],
    ['smart-demo-app-study', 1000000, null],
  ]) {
    await grants.upsert(`grant-${client}`, {
      accountId: '-20140000010000', clientId: client, iat, exp: iat + ttl,
    }, ttl);
    const key = `bb:grant:${client}:-20140000010000`;
    const value = JSON.parse(await server.admin.get(key));
    assert.equal(value.created, iat);
    assert.equal(value.expires, expires, client);
    assert.equal(value.grant_id, `grant-${client}`);
    assert.equal(await server.admin.ttl(key), expires ? ttl : -1, client);
  }
});

test('a write Redis refuses fails the save, so no token is handed out', async () => {
  const limited = await withUser('no-tokens', [...LEAST_ACL.filter((a) => a !== '~bb:*'),
    '~bb:grant:*', '~bb:revoked:*']);
  const Adapter = bridgeOn(limited).adapter(redisAdapter(redis));
  const tokens = new Adapter('AccessToken');
  await assert.rejects(tokens.upsert('opaque-refused', {
    accountId: '-20140000008325', clientId: 'smart-demo-app', iat: now(), exp: now() + 60,
  }, 60), /NOPERM|EXECABORT/);
  assert.equal(await server.admin.exists('bbas:AccessToken:opaque-refused'), 0);
  limited.disconnect();
});

test('a revocation Redis refuses is kept, journaled, retried and survives a restart', async () => {
  const journal = join(mkdtempSync(join(tmpdir(), 'bbas-journal.')), 'pending.json');
  const key = 'bb:grant:smart-demo-app:-20140000008325';
  const Adapter = bridgeOn(redis).adapter(redisAdapter(redis));
  await new Adapter('Grant').upsert('grant-r', {
    accountId: '-20140000008325', clientId: 'smart-demo-app', iat: now(), exp: now() + 600,
  }, 600);

  const noEval = await withUser('no-eval', LEAST_ACL.filter((a) => a !== '+eval'));
  const failing = bridgeOn(noEval, { journal, retryMs: 60000 });
  await new (failing.adapter(redisAdapter(redis)))('Grant').destroy('grant-r');
  assert.equal(await server.admin.exists('bbas:Grant:grant-r'), 0, 'the grant is gone here');
  assert.equal(await server.admin.exists(key), 1, 'Redis refused the deletion');
  assert.equal(failing.pending().length, 1);
  assert.equal(failing.pending()[0].client_id, 'smart-demo-app');
  assert.equal(JSON.parse(readFileSync(journal, 'utf8')).length, 1);

  // a new process with the journal takes it to Redis
  const restarted = bridgeOn(redis, { journal });
  await poll(() => restarted.pending().length === 0, 2500);
  assert.equal(restarted.pending().length, 0);
  assert.equal(await server.admin.exists(key), 0);
  assert.deepEqual(JSON.parse(readFileSync(journal, 'utf8')), []);
  noEval.disconnect();
});

test('a refused revocation is retried until Redis takes it', async () => {
  const key = 'bb:token:'.concat(tokenHash('opaque-retry'));
  await server.admin.set(key, '{}');
  const user = await withUser('retry', LEAST_ACL.filter((a) => a !== '+del'));
  const bridge = bridgeOn(user);
  await new (bridge.adapter(redisAdapter(redis)))('AccessToken').destroy('opaque-retry');
  assert.equal(bridge.pending().length, 1);
  await server.admin.call('ACL', 'SETUSER', 'retry', '+del');
  await poll(() => bridge.pending().length === 0, 2500);
  assert.equal(bridge.pending().length, 0);
  assert.equal(await server.admin.exists(key), 0);
  user.disconnect();
});

test('revoking an earlier grant leaves a newer consent\'s key alone', async () => {
  const Adapter = bridgeOn(redis).adapter(redisAdapter(redis));
  const grants = new Adapter('Grant');
  const payload = { accountId: '-20140000010000', clientId: 'smart-demo-app-jwt', iat: now(), exp: now() + 600 };
  await grants.upsert('grant-old', payload, 600);
  await grants.upsert('grant-new', payload, 600);
  await grants.destroy('grant-old');
  const value = JSON.parse(await server.admin.get('bb:grant:smart-demo-app-jwt:-20140000010000'));
  assert.equal(value.grant_id, 'grant-new');
  await grants.destroy('grant-new');
  assert.equal(await server.admin.exists('bb:grant:smart-demo-app-jwt:-20140000010000'), 0);
});

test('revoking by grant deletes every access token issued on it', async () => {
  const Adapter = bridgeOn(redis).adapter(redisAdapter(redis));
  const tokens = new Adapter('AccessToken');
  for (const id of ['a-1', 'a-2']) {
    await tokens.upsert(id, { accountId: '-1', clientId: 'smart-demo-app', grantId: 'g-many', iat: now(), exp: now() + 60 }, 60);
  }
  await tokens.upsert('a-3', { accountId: '-1', clientId: 'smart-demo-app', grantId: 'g-other', iat: now(), exp: now() + 60 }, 60);
  await tokens.revokeByGrantId('g-many');
  assert.equal(await server.admin.exists(`bb:token:${tokenHash('a-1')}`, `bb:token:${tokenHash('a-2')}`), 0);
  assert.equal(await server.admin.exists(`bb:token:${tokenHash('a-3')}`), 1);
});

test('a revoked JWT\'s jti is listed until the token expires', async () => {
  await bridgeOn(redis).revokeJwt('jti-1', now() + 90);
  assert.equal(await server.admin.get('bb:revoked:jti-1'), '1');
  const ttl = await server.admin.ttl('bb:revoked:jti-1');
  assert.ok(ttl > 85 && ttl <= 90);
});

test('over TLS as the least ACL user', async () => {
  await server.admin.call('ACL', 'SETUSER', 'authorization-server', 'reset', ...LEAST_ACL);
  const tls = new Redis(`rediss://authorization-server:secret@127.0.0.1:${TLS_PORT}`, {
    tls: { ca: readFileSync(server.ca) }, maxRetriesPerRequest: 1,
  });
  const Adapter = bridgeOn(tls).adapter(redisAdapter(tls));
  await new Adapter('Grant').upsert('grant-tls', { accountId: '-7', clientId: 'smart-demo-app', iat: now(), exp: now() + 60 }, 60);
  const tokens = new Adapter('AccessToken');
  await tokens.upsert('opaque-tls', { accountId: '-7', clientId: 'smart-demo-app', grantId: 'grant-tls', iat: now(), exp: now() + 60 }, 60);
  assert.equal(await server.admin.exists('bb:grant:smart-demo-app:-7', `bb:token:${tokenHash('opaque-tls')}`), 2);
  await tokens.revokeByGrantId('grant-tls');
  await new Adapter('Grant').destroy('grant-tls');
  assert.equal(await server.admin.exists('bb:grant:smart-demo-app:-7', `bb:token:${tokenHash('opaque-tls')}`), 0);
  tls.disconnect();
});
