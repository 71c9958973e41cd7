// The beneficiary's journey in a real browser (Debian's chromium), through
// the SMART app, the authorization server and the gateway.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Beneficiary, PATIENTS, launchBrowser } from './beneficiary.js';
import { startStack } from './stack.js';

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function beneficiary(name, t) {
  const b = await new Beneficiary(browser, stack, name, t.name).open();
  t.after(() => b.close());
  return b;
}

const ALL = ['ExplanationOfBenefit', 'Coverage', 'Patient'];

function assertStatuses(results, expected) {
  for (const type of ALL) {
    assert.equal(results[type].status, expected[type], `${type}: ${results[type].text}`);
  }
}

test('approve all: claims, coverage and demographics shown', async (t) => {
  const alice = await beneficiary('alice', t);
  await alice.connect();
  await alice.signIn();
  const granted = await alice.allow();
  assert.equal(granted.patient, PATIENTS.alice);
  assert.match(granted.scope, /patient\/Patient\.read/);
  assert.equal(granted.refresh, 'yes');
  const results = await alice.read();
  assertStatuses(results, { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });
  assert.match(results.Patient.text, /Alice/);
});

test('approve without demographics: Patient refused 403, claims shown', async (t) => {
  const bob = await beneficiary('bob', t);
  await bob.connect();
  await bob.signIn();
  const granted = await bob.allow({ demographics: false });
  assert.doesNotMatch(granted.scope, /Patient\.read|profile/);
  const results = await bob.read();
  assertStatuses(results, { ExplanationOfBenefit: 200, Coverage: 200, Patient: 403 });
  assert.equal(results.Patient.error, 'insufficient_scope');
});

test('No on the authorization screen: access_denied with the state', async (t) => {
  const alice = await beneficiary('alice', t);
  await alice.connect();
  await alice.signIn();
  const refused = await alice.deny();
  assert.equal(refused.error, 'access_denied');
  assert.ok(refused.state.length > 0);
  assert.equal(new URL(refused.url).searchParams.get('state'), refused.state);
});

test('Cancel at sign-in: access_denied with the state', async (t) => {
  const bob = await beneficiary('bob', t);
  await bob.connect();
  const refused = await bob.cancel();
  assert.equal(refused.error, 'access_denied');
  assert.ok(refused.state.length > 0);
});

for (const cache of [true, false]) {
  test(`Revoke on the connected-apps page, ${cache ? 'with' : 'without'} the cache: next call 401`, async (t) => {
    const alice = await beneficiary('alice', t);
    const iss = `${cache ? stack.gateway : stack.nocache}/v2/fhir`;
    await alice.connect({ iss });
    await alice.signIn();
    await alice.allow();
    // twice: the second read is a cache hit where there is a cache
    await alice.read('read-first');
    assertStatuses(await alice.read('read-again'), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });
    const page = await alice.revoke('SMART Demo App');
    assert.match(page, /can no longer see your data/);
    const results = await alice.read('read-after-revoke');
    assertStatuses(results, { ExplanationOfBenefit: 401, Coverage: 401, Patient: 401 });
    assert.equal(results.ExplanationOfBenefit.error, 'invalid_token');
    assert.equal(await alice.refresh().then(() => alice.page.getAttribute('#status', 'data-refreshed')), 'no');
  });
}

test('RFC 7009 revocation by the app: next call 401', async (t) => {
  const bob = await beneficiary('bob', t);
  await bob.connect();
  await bob.signIn();
  await bob.allow();
  assertStatuses(await bob.read(), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });
  assert.equal(await bob.disconnect(), '200');
  const results = await bob.read('read-after-revoke');
  assertStatuses(results, { ExplanationOfBenefit: 401, Coverage: 401, Patient: 401 });
  assert.equal(results.Coverage.error, 'invalid_token');
});

test('ONE_TIME: no refresh token', async (t) => {
  const alice = await beneficiary('alice', t);
  await alice.connect({ client: 'smart-demo-app-once' });
  await alice.signIn();
  const granted = await alice.allow();
  assert.equal(granted.refresh, 'none');
  assertStatuses(await alice.read(), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });
  assert.match(await alice.refresh(), /No refresh token/);
  const grant = JSON.parse(await stack.redis.get(`bb:grant:smart-demo-app-once:${PATIENTS.alice}`));
  assert.equal(grant.data_access_type, 'ONE_TIME');
  assert.ok(grant.expires - grant.created <= 3600);
});

test('an expired access token: 401, then a refresh (THIRTEEN_MONTH) reads again', async (t) => {
  const bob = await beneficiary('bob', t);
  await bob.connect({ client: 'smart-demo-app-brief' });
  await bob.signIn();
  await bob.allow();
  assertStatuses(await bob.read(), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });
  await sleep(5000);
  const expired = await bob.read('read-expired');
  assertStatuses(expired, { ExplanationOfBenefit: 401, Coverage: 401, Patient: 401 });
  assert.equal(expired.Patient.error, 'invalid_token');
  assert.match(await bob.refresh(), /Refreshed/);
  assertStatuses(await bob.read('read-refreshed'), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });
  const grant = JSON.parse(await stack.redis.get(`bb:grant:smart-demo-app-brief:${PATIENTS.bob}`));
  const months = (grant.expires - grant.created) / (30.44 * 86400);
  assert.ok(months > 12.9 && months < 13.1, `grant lasts ${months} months`);
});

test('JWT access tokens: approve, read, a key rotation without reload, revoke', async (t) => {
  const alice = await beneficiary('alice', t);
  await alice.connect({ client: 'smart-demo-app-jwt' });
  await alice.signIn();
  const granted = await alice.allow();
  assert.match(granted.token, /^JWT/);
  assertStatuses(await alice.read(), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });

  // the server signs with a new key; the gateway fetches it on first sight
  await stack.rotateKeys();
  const bob = await beneficiary('bob', t);
  await bob.connect({ client: 'smart-demo-app-jwt' });
  await bob.signIn();
  await bob.allow();
  assertStatuses(await bob.read('read-new-key'), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });
  // the old key is still published: Alice's token still works
  assertStatuses(await alice.read('read-old-key'), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });

  await alice.revoke('SMART Demo App (JWT)');
  const results = await alice.read('read-after-revoke');
  assertStatuses(results, { ExplanationOfBenefit: 401, Coverage: 401, Patient: 401 });
  assert.equal(results.ExplanationOfBenefit.error, 'invalid_token');
  // Bob's approval of the same app is his own
  assertStatuses(await bob.read('read-bob-still'), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });

  // RFC 7009 for a JWT: its jti is listed, the grant stays
  assert.equal(await bob.disconnect(), '200');
  assertStatuses(await bob.read('read-after-disconnect'), { ExplanationOfBenefit: 401, Coverage: 401, Patient: 401 });
});

test('two beneficiaries each see only their own data', async (t) => {
  const alice = await beneficiary('alice', t);
  const bob = await beneficiary('bob', t);
  for (const b of [alice, bob]) {
    await b.connect();
    await b.signIn();
    assert.equal((await b.allow()).patient, PATIENTS[b.name]);
  }
  const a = await alice.read();
  const b = await bob.read();
  for (const type of ALL) {
    assert.match(a[type].text, new RegExp(PATIENTS.alice));
    assert.doesNotMatch(a[type].text, new RegExp(PATIENTS.bob));
    assert.match(b[type].text, new RegExp(PATIENTS.bob));
    assert.doesNotMatch(b[type].text, new RegExp(PATIENTS.alice));
  }
});

test('a restart of the authorization server loses no approval and no revocation', async (t) => {
  const alice = await beneficiary('alice', t);
  await alice.connect({ client: 'smart-demo-app-study' });
  await alice.signIn();
  await alice.allow();
  await stack.restartAuth();
  assertStatuses(await alice.read('read-after-restart'), { ExplanationOfBenefit: 200, Coverage: 200, Patient: 200 });
  assert.match(await alice.refresh(), /Refreshed/);
  const grant = JSON.parse(await stack.redis.get(`bb:grant:smart-demo-app-study:${PATIENTS.alice}`));
  assert.equal(grant.expires, null);
  assert.equal(await stack.redis.ttl(`bb:grant:smart-demo-app-study:${PATIENTS.alice}`), -1);
  await alice.connectedApps();
  await alice.revoke('SMART Demo App (research study)');
  await stack.restartAuth();
  assertStatuses(await alice.read('read-after-revoke'), { ExplanationOfBenefit: 401, Coverage: 401, Patient: 401 });
  assert.equal(await alice.refresh().then(() => alice.page.getAttribute('#status', 'data-refreshed')), 'no');
});
