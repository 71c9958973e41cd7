// The beneficiary's account: sign in, the connected-apps page, Revoke.
// A signed-in browser holds a random session id in an HttpOnly cookie;
// Redis keeps only its hash, with the patient and the page's CSRF token.

import { createHash, randomBytes } from 'node:crypto';

import { connectedAppsPage, signInPage } from './pages.js';
import {
  HttpError, cookie, readForm, redirect, sameSecret, send,
} from './http.js';

const COOKIE = 'bbas_account';
const SESSION_SECONDS = 30 * 60;
const APPS = '/v2/accounts/apps';
const SIGN_IN = '/v2/accounts/sign-in';

export function accountRoutes({
  current, beneficiaries, connectedApps, bridge, redis, prefix = 'bbas:',
  secure = false, log,
}) {
  const key = (id) => `${prefix}account-session:${createHash('sha256').update(id).digest('hex')}`;
  const setCookie = (value, maxAge) => `${COOKIE}=${value}; Path=/v2/accounts; `
    + `Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

  async function session(req) {
    const id = cookie(req, COOKIE);
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) {
      return undefined;
    }
    const value = await redis.get(key(id));
    return value ? { id, ...JSON.parse(value) } : undefined;
  }

  async function showApps(res, s, done) {
    const { provider } = current();
    const beneficiary = beneficiaries.byPatient(s.patient);
    const apps = await connectedApps.list(provider, s.patient);
    const pending = bridge.pending()
      .filter((job) => job.what === 'grant' && job.patient === s.patient)
      .map((job) => job.client_id);
    send(res, 200, connectedAppsPage({
      beneficiary, apps, csrf: s.csrf, done, pending,
    }));
  }

  async function signIn(req, res) {
    const form = await readForm(req);
    const beneficiary = beneficiaries.verify(form.username ?? '', form.password ?? '');
    if (!beneficiary) {
      send(res, 401, signInPage({
        action: SIGN_IN,
        error: 'The username or password is not right. Try again.',
        username: form.username,
      }));
      return;
    }
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    await redis.set(key(id), JSON.stringify({ patient: beneficiary.patient, csrf }),
      'EX', SESSION_SECONDS);
    redirect(res, APPS, { 'Set-Cookie': setCookie(id, SESSION_SECONDS) });
  }

  async function signedIn(req, form) {
    const s = await session(req);
    if (!s) {
      throw new HttpError(401, 'Your session has ended. Sign in again.');
    }
    if (form && !sameSecret(form.csrf, s.csrf)) {
      throw new HttpError(403, 'This form has expired. Open the page again.');
    }
    return s;
  }

  return async function route(req, res, url) {
    const { pathname } = url;
    if (pathname === APPS && req.method === 'GET') {
      const s = await session(req);
      if (!s) {
        redirect(res, SIGN_IN);
        return true;
      }
      // the app's name as registered, never text from the URL
      const revoked = url.searchParams.get('revoked');
      const client = revoked ? await current().provider.Client.find(revoked) : undefined;
      await showApps(res, s,
        client ? `${client.clientName ?? client.clientId} can no longer see your data.` : '');
    } else if (pathname === SIGN_IN && req.method === 'GET') {
      send(res, 200, signInPage({ action: SIGN_IN }));
    } else if (pathname === SIGN_IN && req.method === 'POST') {
      await signIn(req, res);
    } else if (pathname === `${APPS}/revoke` && req.method === 'POST') {
      const form = await readForm(req);
      const s = await signedIn(req, form);
      const { provider } = current();
      const client = await provider.Client.find(String(form.client_id ?? ''));
      if (!client || !await connectedApps.revoke(provider, s.patient, client.clientId)) {
        throw new HttpError(404, 'That app is not connected.');
      }
      log.info(`account: ${client.clientId} revoked by the beneficiary`);
      redirect(res, `${APPS}?revoked=${encodeURIComponent(client.clientId)}`);
    } else if (pathname === '/v2/accounts/sign-out' && req.method === 'POST') {
      const form = await readForm(req);
      const s = await signedIn(req, form);
      await redis.del(key(s.id));
      redirect(res, SIGN_IN, { 'Set-Cookie': setCookie('', 0) });
    } else if (pathname.startsWith('/v2/accounts/')) {
      throw new HttpError(404, 'There is no such page.');
    } else {
      return false;
    }
    return true;
  };
}
