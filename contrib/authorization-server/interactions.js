// The authorization request's pages: sign in (or Cancel), then the
// authorization screen (Allow, with or without demographics, or Deny).
// Cancel and Deny return to the app with error=access_denied and its state.

import { DEMOGRAPHIC_SCOPES } from './provider.js';
import { consentPage, signInPage } from './pages.js';
import { HttpError, readForm, send } from './http.js';

const PATH = /^\/v2\/o\/interaction\/([A-Za-z0-9_-]{1,64})(\/(login|consent))?$/;

export function interactionRoutes({ current, beneficiaries, connectedApps, log }) {
  // the interaction this browser's cookie names: the one in the URL, at
  // the step the form is for (any step for the page itself)
  async function details(req, res, uid, step) {
    let d;
    try {
      d = await current().provider.interactionDetails(req, res);
    } catch (err) {
      throw new HttpError(400, 'This sign-in has expired or was opened in '
        + 'another browser. Go back to the app and connect again.');
    }
    if (d.uid !== uid || (step && d.prompt.name !== step)) {
      throw new HttpError(400, step === 'consent'
        ? 'This authorization does not match this browser.'
        : 'This sign-in does not match this browser.');
    }
    return d;
  }

  async function appName(provider, clientId) {
    const client = await provider.Client.find(clientId);
    return client?.clientName ?? clientId;
  }

  async function show(req, res, uid) {
    const { provider } = current();
    const d = await details(req, res, uid);
    const name = await appName(provider, d.params.client_id);
    if (d.prompt.name === 'login') {
      send(res, 200, signInPage({
        action: `/v2/o/interaction/${uid}/login`, appName: name,
      }));
      return;
    }
    const asked = String(d.params.scope ?? '').split(' ');
    send(res, 200, consentPage({
      action: `/v2/o/interaction/${uid}/consent`,
      appName: name,
      beneficiary: beneficiaries.byPatient(d.session.accountId),
      claims: asked.filter((s) => !DEMOGRAPHIC_SCOPES.includes(s)),
      demographics: asked.filter((s) => DEMOGRAPHIC_SCOPES.includes(s)),
    }));
  }

  async function finish(req, res, result, merge) {
    await current().provider.interactionFinished(req, res, result,
      { mergeWithLastSubmission: merge });
  }

  async function login(req, res, uid) {
    const { provider } = current();
    const d = await details(req, res, uid, 'login');
    const form = await readForm(req);
    if (form.action === 'cancel') {
      log.info(`interaction ${uid}: sign-in cancelled`);
      await finish(req, res, {
        error: 'access_denied',
        error_description: 'The beneficiary cancelled signing in.',
      }, false);
      return;
    }
    const beneficiary = beneficiaries.verify(form.username ?? '', form.password ?? '');
    if (!beneficiary) {
      log.info(`interaction ${uid}: wrong username or password`);
      send(res, 401, signInPage({
        action: `/v2/o/interaction/${uid}/login`,
        appName: await appName(provider, d.params.client_id),
        error: 'The username or password is not right. Try again.',
        username: form.username,
      }));
      return;
    }
    await finish(req, res, { login: { accountId: beneficiary.patient } }, false);
  }

  async function consent(req, res, uid) {
    const { provider } = current();
    const d = await details(req, res, uid, 'consent');
    const form = await readForm(req);
    const { accountId } = d.session;
    const clientId = d.params.client_id;

    if (form.action !== 'allow') {
      log.info(`interaction ${uid}: ${clientId} denied`);
      await finish(req, res, {
        error: 'access_denied',
        error_description: 'The beneficiary denied the app access.',
      }, true);
      return;
    }

    const decline = form.demographics === 'decline';
    const grant = d.grantId
      ? await provider.Grant.find(d.grantId)
      : new provider.Grant({ accountId, clientId });
    const split = (scopes) => {
      const list = [].concat(scopes ?? []).join(' ').split(' ').filter(Boolean);
      const refused = decline ? list.filter((s) => DEMOGRAPHIC_SCOPES.includes(s)) : [];
      return [list.filter((s) => !refused.includes(s)).join(' '), refused.join(' ')];
    };

    const missing = d.prompt.details;
    if (missing.missingOIDCScope) {
      const [take, refuse] = split(missing.missingOIDCScope);
      grant.addOIDCScope(take);
      if (refuse) {
        grant.rejectOIDCScope(refuse);
      }
    }
    if (missing.missingOIDCClaims) {
      grant.addOIDCClaims(missing.missingOIDCClaims);
    }
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      const [take, refuse] = split(scopes);
      grant.addResourceScope(resource, take);
      if (refuse) {
        grant.rejectResourceScope(resource, refuse);
      }
    }

    const grantId = await grant.save();
    await connectedApps.record(provider, accountId, clientId, grantId);
    log.info(`interaction ${uid}: ${clientId} allowed${decline ? ', demographics declined' : ''}`);
    await finish(req, res, { consent: { grantId } }, true);
  }

  return async function route(req, res, url) {
    const m = PATH.exec(url.pathname);
    if (!m) {
      return false;
    }
    const [, uid, , step] = m;
    if (!step && req.method === 'GET') {
      await show(req, res, uid);
    } else if (step === 'login' && req.method === 'POST') {
      await login(req, res, uid);
    } else if (step === 'consent' && req.method === 'POST') {
      await consent(req, res, uid);
    } else {
      throw new HttpError(405, 'method not allowed');
    }
    return true;
  };
}
