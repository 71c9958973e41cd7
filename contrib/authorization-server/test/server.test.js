// The authorization server as a process, against a real redis-server as
// the least ACL user: a whole authorization, a token write Redis refuses
// (no token handed out), a revocation Redis refuses (the page says so,
// and it is taken once Redis allows it).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { tokenHash } from '../bridge.js';
import { gatewayClient } from '../config.js';
import { authorize } from '../scripted-authorize.js';
import { poll, until } from '../../test-support/poll.js';
import { LEAST_ACL, startRedis } from './redis-server.js';

const REDIS_PORT = 6424;
const PORT = 6425;
const issuer = `http://127.0.0.1:${PORT}`;
const redirect = 'http://127.0.0.1:1/';
const GATEWAY_SECRET = 'gateway-secret-of-the-tests-0123456789';
let redis;
let server;

before(async () => {
  redis = await startRedis({ port: REDIS_PORT });
  const secretFile = join(mkdtempSync(join(tmpdir(), 'bbas-gateway.')), 'secret');
  writeFileSync(secretFile, `${GATEWAY_SECRET}\n`, { mode: 0o600 });
  await redis.admin.call('ACL', 'SETUSER', 'authorization-server', 'reset', ...LEAST_ACL);
  server = spawn(process.execPath, [new URL('../server.js', import.meta.url).pathname], {
    env: {
      ...process.env,
      BBAS_ISSUER: issuer,
      BBAS_FHIR_BASE: 'http://127.0.0.1:1/v2/fhir',
      BBAS_APP_ORIGIN: 'http://127.0.0.1:1',
      BBAS_PORT: String(PORT),
      BBAS_STATE_DIR: mkdtempSync(join(tmpdir(), 'bbas-state.')),
      BBAS_REDIS_URL: `redis://authorization-server:secret@127.0.0.1:${REDIS_PORT}`,
      BBAS_GATEWAY_SECRET_FILE: secretFile,
    },
    stdio: 'ignore',
  });
  await until('the authorization server', async () => (
    await fetch(`${issuer}/.well-known/openid-configuration`)).ok, 5000);
});

after(async () => {
  server?.kill('SIGTERM');
  await redis?.stop();
});

const alice = { issuer, redirect, username: 'alice', password: 'alice-demo' };

async function acl(...rules) {
  await redis.admin.call('ACL', 'SETUSER', 'authorization-server', ...rules);
}

test('as the least ACL user: authorize, then RFC 7009 revocation', async () => {
  const answer = await authorize({ ...alice, client: 'smart-demo-app' });
  assert.ok(answer.access_token, JSON.stringify(answer));
  assert.equal(answer.patient, '-20140000008325');
  const key = `bb:token:${tokenHash(answer.access_token)}`;
  assert.equal(await redis.admin.exists(key), 1);
  const res = await fetch(`${issuer}/v2/o/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: answer.access_token, client_id: 'smart-demo-app' }),
  });
  assert.equal(res.status, 200);
  assert.equal(await redis.admin.exists(key), 0);
});

test('an aud that is not our FHIR server: invalid_request, no code', async () => {
  const answer = await authorize({ ...alice, client: 'smart-demo-app', aud: 'https://fhir.example.org/r4' });
  assert.equal(answer.error, 'invalid_request');
  assert.equal(answer.access_token, undefined);
  const ours = await authorize({ ...alice, client: 'smart-demo-app', aud: 'http://127.0.0.1:1/v2/fhir' });
  assert.ok(ours.access_token);
});

test('a token write Redis refuses: server_error, no token', async () => {
  await acl('resetkeys', '~bbas:*', '~bb:grant:*', '~bb:revoked:*');
  try {
    const answer = await authorize({ ...alice, client: 'smart-demo-app' });
    assert.equal(answer.access_token, undefined);
    assert.equal(answer.error, 'server_error');
  } finally {
    await acl('resetkeys', '~bb:*', '~bbas:*');
  }
});

test('a revocation Redis refuses: the page says so; taken when Redis allows it', async () => {
  const answer = await authorize({ ...alice, client: 'smart-demo-app-jwt' });
  assert.ok(answer.access_token);
  const grant = 'bb:grant:smart-demo-app-jwt:-20140000008325';
  assert.equal(await redis.admin.exists(grant), 1);

  const form = (fields, cookie) => ({
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(fields),
  });
  const signIn = await fetch(`${issuer}/v2/accounts/sign-in`, form({ username: 'alice', password: 'alice-demo' }));
  const cookie = signIn.headers.get('set-cookie').split(';')[0];
  const page = await (await fetch(`${issuer}/v2/accounts/apps`, { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)[1];

  await acl('-eval');
  const revoked = await fetch(`${issuer}/v2/accounts/apps/revoke`,
    form({ csrf, client_id: 'smart-demo-app-jwt' }, cookie));
  assert.equal(revoked.status, 303);
  const after = await (await fetch(new URL(revoked.headers.get('location'), issuer), { headers: { cookie } })).text();
  assert.match(after, /has not confirmed it yet/);
  assert.equal(await redis.admin.exists(grant), 1);

  await acl('+eval');
  await poll(async () => !await redis.admin.exists(grant), 3000);
  assert.equal(await redis.admin.exists(grant), 0);
  const later = await (await fetch(`${issuer}/v2/accounts/apps`, { headers: { cookie } })).text();
  assert.doesNotMatch(later, /has not confirmed it yet/);
});


function introspect(token, { auth, clientId } = {}) {
  return fetch(`${issuer}/v2/o/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {}),
    },
    body: new URLSearchParams({
      token, token_type_hint: 'access_token', ...(clientId ? { client_id: clientId } : {}),
    }),
  });
}

test('RFC 7662: the gateway learns of any app\'s token, an app only of its own', async () => {
  const answer = await authorize({ ...alice, client: 'smart-demo-app' });
  assert.ok(answer.access_token, JSON.stringify(answer));

  const res = await introspect(answer.access_token,
    { auth: `bluebutton-gateway:${GATEWAY_SECRET}` });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.active, true);
  assert.equal(body.patient, '-20140000008325');
  assert.equal(body.client_id, 'smart-demo-app');
  assert.match(body.scope, /(^| )patient\/ExplanationOfBenefit\.read( |$)/);
  assert.ok(Number.isSafeInteger(body.exp) && body.exp > Date.now() / 1000);

  const wrong = await introspect(answer.access_token,
    { auth: 'bluebutton-gateway:not-the-secret-of-the-gateway-0000' });
  assert.equal(wrong.status, 401);

  const other = await introspect(answer.access_token, { clientId: 'smart-demo-app-once' });
  assert.equal(other.status, 200);
  assert.deepEqual(await other.json(), { active: false });

  const own = await introspect(answer.access_token, { clientId: 'smart-demo-app' });
  assert.equal((await own.json()).active, true);
});


test('the gateway\'s secret: at least 32 unreserved characters, from a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bbas-gateway.'));
  const file = (text) => {
    const name = join(dir, 'secret');
    writeFileSync(name, text);
    return name;
  };
  assert.equal(gatewayClient(undefined), undefined);
  assert.throws(() => gatewayClient(file('short')), /32 to 256/);
  assert.throws(() => gatewayClient(file(`${'a'.repeat(32)}:${'b'.repeat(8)}`)), /32 to 256/);
  const client = gatewayClient(file(`${'x'.repeat(40)}\n`));
  assert.equal(client.client_secret, 'x'.repeat(40));
  assert.equal(client.token_endpoint_auth_method, 'client_secret_basic');
  assert.deepEqual(client.grant_types, []);
});
