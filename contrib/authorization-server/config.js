// Settings, from the environment:
//
//   BBAS_ISSUER         the issuer URL, where the gateway serves this server
//   BBAS_FHIR_BASE      the FHIR base URL: the tokens' resource and audience
//   BBAS_FHIR_ALIASES   further URLs of the same FHIR API (comma-separated),
//                       accepted as SMART's `aud` beside BBAS_FHIR_BASE
//   BBAS_FHIR_PATHS     further FHIR base paths with a smart-configuration
//                       (comma-separated; the base's own path is always one)
//   BBAS_APP_ORIGIN     replaces {app_origin} in the clients' redirect URIs
//   BBAS_HOST, BBAS_PORT  where to listen (127.0.0.1, 8083)
//   BBAS_REDIS_URL      redis://[user:password@]host:port[/db], rediss:// for TLS
//   BBAS_REDIS_CA       the CA file for TLS
//   BBAS_REDIS_PREFIX   the gateway's bluebutton_redis_prefix (bb:)
//   BBAS_STATE_PREFIX   this server's own keys (bbas:)
//   BBAS_STATE_DIR      signing keys, cookie keys, pending revocations
//   BBAS_CLIENTS        the apps (clients.json here)
//   BBAS_BENEFICIARIES  who can sign in (beneficiaries.json here)
//   BBAS_ACCESS_TOKEN_TTL  seconds (3600); BBAS_JWT_ALG  RS256 or ES256
//   BBAS_GATEWAY_SECRET_FILE  a file holding the secret of the gateway's
//                       own client, "bluebutton-gateway", which may ask
//                       RFC 7662 introspection about any app's token

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function required(env, name) {
  if (!env[name]) {
    throw new Error(`${name} is not set`);
  }
  return env[name];
}

// the registered apps, their redirect URIs on the apps' origin
export function readClients(file, appOrigin) {
  return JSON.parse(readFileSync(file, 'utf8').replaceAll('{app_origin}', appOrigin));
}

// the gateway introspects with HTTP Basic; its secret is never in a URL
export const GATEWAY_CLIENT_ID = 'bluebutton-gateway';

export function gatewayClient(file) {
  if (!file) {
    return undefined;
  }
  const secret = readFileSync(file, 'utf8').trim();
  // unreserved characters only: HTTP Basic then needs no form-encoding
  if (!/^[A-Za-z0-9._~-]{32,256}$/.test(secret)) {
    throw new Error('BBAS_GATEWAY_SECRET_FILE must hold 32 to 256 of A-Z a-z 0-9 . _ ~ -');
  }
  return {
    client_id: GATEWAY_CLIENT_ID,
    client_name: 'Blue Button gateway',
    client_secret: secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  };
}

export function loadConfig(env) {
  const issuer = required(env, 'BBAS_ISSUER').replace(/\/$/, '');
  const fhirBase = required(env, 'BBAS_FHIR_BASE').replace(/\/$/, '');
  const appOrigin = required(env, 'BBAS_APP_ORIGIN').replace(/\/$/, '');
  const stateDir = required(env, 'BBAS_STATE_DIR');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });

  const clientsFile = env.BBAS_CLIENTS ?? join(here, 'clients.json');
  const clients = readClients(clientsFile, appOrigin);

  const jwtAlg = env.BBAS_JWT_ALG ?? 'RS256';
  if (!['RS256', 'ES256'].includes(jwtAlg)) {
    throw new Error('BBAS_JWT_ALG must be RS256 or ES256');
  }
  const ttl = Number(env.BBAS_ACCESS_TOKEN_TTL ?? 3600);
  if (!Number.isSafeInteger(ttl) || ttl < 1) {
    throw new Error('BBAS_ACCESS_TOKEN_TTL must be a positive number of seconds');
  }

  return {
    issuer,
    fhirBase,
    gateway: gatewayClient(env.BBAS_GATEWAY_SECRET_FILE),
    fhirAliases: (env.BBAS_FHIR_ALIASES ?? '').split(',').filter(Boolean)
      .map((url) => url.replace(/\/$/, '')),
    fhirPaths: [new URL(fhirBase).pathname,
      ...(env.BBAS_FHIR_PATHS ?? '').split(',').filter(Boolean)],
    host: env.BBAS_HOST ?? '127.0.0.1',
    port: Number(env.BBAS_PORT ?? 8083),
    stateDir,
    clients,
    beneficiaries: env.BBAS_BENEFICIARIES ?? join(here, 'beneficiaries.json'),
    accessTokenTtl: ttl,
    jwtAlg,
    redis: {
      url: env.BBAS_REDIS_URL ?? 'redis://127.0.0.1:6379',
      ca: env.BBAS_REDIS_CA,
      contractPrefix: env.BBAS_REDIS_PREFIX ?? 'bb:',
      statePrefix: env.BBAS_STATE_PREFIX ?? 'bbas:',
    },
  };
}
