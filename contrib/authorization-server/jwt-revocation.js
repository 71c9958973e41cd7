// RFC 7009 revocation of JWT access tokens.  oidc-provider does not store
// JWTs and refuses to revoke them; the gateway refuses a JWT whose jti is
// listed in Redis (bb:revoked:<jti>), so this puts it there.  Any other
// token goes on to oidc-provider with the body already read.

import { createLocalJWKSet, jwtVerify } from 'jose';

import { readBody, sameSecret, sendJson } from './http.js';
import { appOrigin } from './provider.js';

const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

function publicKeys(jwks) {
  return {
    keys: jwks.keys.map((key) => Object.fromEntries(
      Object.entries(key).filter(([name]) => !PRIVATE.includes(name)),
    )),
  };
}

function basicCredentials(req) {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
  if (!m) {
    return undefined;
  }
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const at = text.indexOf(':');
  try {
    return at < 0 ? undefined : {
      id: decodeURIComponent(text.slice(0, at)),
      secret: decodeURIComponent(text.slice(at + 1)),
    };
  } catch {
    return undefined;
  }
}

export function jwtRevocation({ provider, bridge, jwks, log }) {
  const keys = createLocalJWKSet(publicKeys(jwks));

  // the client, authenticated as its registration says, or undefined
  async function authenticate(req, params) {
    const basic = basicCredentials(req);
    const id = basic?.id ?? params.get('client_id');
    const client = id ? await provider.Client.find(id) : undefined;
    if (!client) {
      return undefined;
    }
    switch (client.clientAuthMethod) {
      case 'none':
        return basic ? undefined : client;
      case 'client_secret_basic':
        return basic && sameSecret(basic.secret, client.clientSecret) ? client : undefined;
      case 'client_secret_post':
        return sameSecret(params.get('client_secret'), client.clientSecret) ? client : undefined;
      default:
        return undefined;
    }
  }

  return async function revoke(req, res) {
    const body = await readBody(req, 56 * 1024);
    const params = new URLSearchParams(body);
    const token = params.get('token') ?? '';
    if (params.getAll('token').length !== 1 || token.split('.').length !== 3) {
      req.body = body;
      return false;
    }

    const client = await authenticate(req, params);
    const cors = {};
    const origin = req.headers.origin;
    if (origin && client && appOrigin(client, origin)) {
      cors['Access-Control-Allow-Origin'] = origin;
    }
    if (!client) {
      sendJson(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' }, cors);
      return true;
    }

    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, {
        issuer: provider.issuer,
        typ: 'at+jwt',
        algorithms: ['RS256', 'ES256'],
      }));
    } catch {
      // RFC 7009: a token that is not valid is answered as revoked
      sendJson(res, 200, {}, cors);
      return true;
    }
    if (claims.client_id !== client.clientId || typeof claims.jti !== 'string') {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'the token was not issued to this client' }, cors);
      return true;
    }

    try {
      await bridge.revokeJwt(claims.jti, claims.exp);
    } catch (err) {
      log.error(`revocation of a JWT of ${client.clientId} not taken by Redis: ${err.message}`);
      sendJson(res, 503, { error: 'temporarily_unavailable' }, { ...cors, 'Retry-After': '1' });
      return true;
    }
    log.info(`revocation: a JWT of ${client.clientId} revoked`);
    sendJson(res, 200, {}, cors);
    return true;
  };
}
