#!/usr/bin/env node
// How long from a click on Revoke on the connected-apps page to the app's
// first refused call, with and without the decision cache: ROUNDS (20)
// approvals, each followed by the app calling the gateway back to back
// (its token warm in the cache) while the beneficiary clicks Revoke.
// Prints the median and the worst, in milliseconds.  A measurement, not a
// test: make measure-revoke.

import { performance } from 'node:perf_hooks';

import { Beneficiary, launchBrowser } from './beneficiary.js';
import { startStack } from './stack.js';

const ROUNDS = Number(process.env.ROUNDS ?? 20);

async function round(browser, stack, base) {
  const alice = await new Beneficiary(browser, stack, 'alice', 'revoke-timing').open();
  try {
    await alice.connect({ iss: `${base}/v2/fhir` });
    await alice.signIn();
    await alice.allow();
    const token = await alice.page.evaluate(() => {
      const key = JSON.parse(sessionStorage.getItem('SMART_KEY'));
      return JSON.parse(sessionStorage.getItem(key)).tokenResponse.access_token;
    });
    const call = async () => (await fetch(`${base}/v2/fhir/ExplanationOfBenefit`, {
      headers: { Authorization: `Bearer ${token}` },
    })).status;
    if (await call() !== 200 || await call() !== 200) {
      throw new Error('the app could not read before the revocation');
    }
    const apps = await alice.connectedApps();

    let clicked;
    let stop = false;
    // when the grant's key leaves Redis: the authorization server's part
    const grantKey = 'bb:grant:smart-demo-app:-20140000008325';
    const deleted = (async () => {
      while (!stop && await stack.redis.exists(grantKey)) {
        // polling
      }
      return performance.now() - clicked;
    })();
    const calls = (async () => {
      while (!stop) {
        const status = await call();
        if (clicked !== undefined && status === 401) {
          return performance.now() - clicked;
        }
        if (status !== 200 && status !== 401) {
          throw new Error(`the gateway answered ${status}`);
        }
      }
      return undefined;
    })();
    clicked = performance.now();
    await apps.getByRole('button', { name: 'Revoke SMART Demo App' }).click();
    const elapsed = await Promise.race([calls,
      new Promise((resolve) => { setTimeout(resolve, 5000); })]);
    stop = true;
    if (elapsed === undefined) {
      throw new Error('no refused call within 5 s of Revoke');
    }
    return { elapsed, inRedis: await deleted };
  } finally {
    await alice.close();
  }
}

const stack = await startStack();
const browser = await launchBrowser();
try {
  for (const [label, base] of [['with the cache', stack.gateway],
    ['without the cache', stack.nocache]]) {
    const rounds = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      rounds.push(await round(browser, stack, base));
    }
    const stats = (values) => {
      const v = [...values].sort((a, b) => a - b);
      return `median ${v[Math.floor(v.length / 2)].toFixed(1)} ms, `
        + `worst ${v.at(-1).toFixed(1)} ms`;
    };
    console.log(`${label}, ${ROUNDS} revocations:`);
    console.log(`  click to the first refused call: ${stats(rounds.map((r) => r.elapsed))}`);
    console.log(`  click to the grant gone from Redis: ${stats(rounds.map((r) => r.inRedis))}`);
    console.log('  grant gone to the first refused call: '
      + `${stats(rounds.map((r) => r.elapsed - r.inRedis))}`);
  }
} finally {
  await browser.close();
  await stack.stop();
}
