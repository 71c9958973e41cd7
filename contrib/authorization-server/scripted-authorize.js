#!/usr/bin/env node
// A scripted authorization: what a beneficiary does in the browser, done
// over HTTP, for the demo's walk and the tests.  Prints the token
// response (JSON) on success, the app's error (JSON) otherwise.
//
//   scripted-authorize.js --issuer URL --client ID --redirect URI
//       --username NAME --password PASSWORD [--scope "..."]
//       [--decline-demographics] [--deny] [--cancel] [--aud FHIR_BASE]

import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export const DEFAULT_SCOPE = 'launch/patient openid profile '
  + 'patient/Patient.read patient/ExplanationOfBenefit.read patient/Coverage.read';

class Browser {
  #cookies = new Map();

  async go(url, init = {}) {
    const headers = { ...init.headers };
    const jar = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (jar) {
      headers.cookie = jar;
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      this.#cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return res;
  }
}

function form(fields) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  };
}

// follows redirects until one leaves for the app's redirect URI
async function walk(browser, url, init, redirectUri) {
  let res = await browser.go(url, init);
  for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops += 1) {
    const next = new URL(res.headers.get('location'), url).href;
    if (next.startsWith(redirectUri)) {
      return { done: new URL(next) };
    }
    url = next;
    res = await browser.go(url);
  }
  return { url, res };
}

export async function authorize({
  issuer, client, redirect, username, password, scope = DEFAULT_SCOPE,
  declineDemographics = false, deny = false, cancel = false, aud,
}) {
  const browser = new Browser();
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: client,
    redirect_uri: redirect,
    scope,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(aud ? { aud } : {}),
  });

  let step = await walk(browser, `${issuer}/v2/o/authorize?${query}`, {}, redirect);
  if (!step.done) {
    const at = `${step.url.replace(/\/$/, '')}/login`;
    step = await walk(browser, at, form(cancel
      ? { action: 'cancel' }
      : { action: 'sign-in', username, password }), redirect);
  }
  if (!step.done && step.res?.status === 200) {
    const at = `${step.url.replace(/\/$/, '')}/consent`;
    step = await walk(browser, at, form({
      action: deny ? 'deny' : 'allow',
      demographics: declineDemographics ? 'decline' : 'share',
    }), redirect);
  }
  if (!step.done) {
    throw new Error(`authorization stopped at ${step.url}: ${step.res.status}`);
  }

  const params = step.done.searchParams;
  if (params.get('state') !== state) {
    throw new Error('the state came back changed');
  }
  if (params.has('error')) {
    return { error: params.get('error'), error_description: params.get('error_description'), state };
  }
  const res = await fetch(`${issuer}/v2/o/token`, form({
    grant_type: 'authorization_code',
    code: params.get('code'),
    redirect_uri: redirect,
    client_id: client,
    code_verifier: verifier,
  }));
  return res.json();
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      issuer: { type: 'string' },
      client: { type: 'string' },
      redirect: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      scope: { type: 'string' },
      aud: { type: 'string' },
      'decline-demographics': { type: 'boolean' },
      deny: { type: 'boolean' },
      cancel: { type: 'boolean' },
    },
  });
  const out = await authorize({
    ...values,
    declineDemographics: values['decline-demographics'],
  });
  console.log(JSON.stringify(out));
  process.exit(out.access_token ? 0 : 1);
}
