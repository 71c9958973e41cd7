#!/usr/bin/env node
// The Blue Button authorization server of the demo: oidc-provider behind
// the gateway, state and the gateway's data contract in Redis, our pages.
// Settings come from the environment (config.js).  SIGHUP reads the
// signing keys again (after rotate-keys.js); SIGTERM stops it.

import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { accountRoutes } from './account.js';
import { Beneficiaries } from './beneficiaries.js';
import { BlueButtonBridge } from './bridge.js';
import { loadConfig } from './config.js';
import { ConnectedApps } from './connected-apps.js';
import { HttpError, send } from './http.js';
import { interactionRoutes } from './interactions.js';
import { jwtRevocation } from './jwt-revocation.js';
import { cookieKeys, signingKeys } from './keys.js';
import { errorPage } from './pages.js';
import { ROUTES, makeProvider } from './provider.js';
import { connectRedis } from './redis.js';
import { redisAdapter } from './redis-adapter.js';
import { smartConfiguration } from './smart-configuration.js';

const log = {
  info: (m) => console.log(`${new Date().toISOString()} info ${m}`),
  warn: (m) => console.log(`${new Date().toISOString()} warn ${m}`),
  error: (m) => console.error(`${new Date().toISOString()} error ${m}`),
};

const config = loadConfig(process.env);
const redis = await connectRedis(config.redis);
const bridge = new BlueButtonBridge(redis, {
  prefix: config.redis.contractPrefix,
  indexPrefix: `${config.redis.statePrefix}bridge:`,
  journal: join(config.stateDir, 'pending-revocations.json'),
  log,
});
const Adapter = bridge.adapter(redisAdapter(redis, config.redis.statePrefix));
const beneficiaries = new Beneficiaries(config.beneficiaries);
const connectedApps = new ConnectedApps(redis, config.redis.statePrefix);

let app;

function build() {
  const jwks = signingKeys(config.stateDir);
  const provider = makeProvider({
    issuer: config.issuer,
    fhirBase: config.fhirBase,
    fhirAliases: config.fhirAliases,
    clients: config.clients,
    jwks,
    cookieKeys: cookieKeys(config.stateDir),
    adapter: Adapter,
    beneficiaries,
    accessTokenTtl: config.accessTokenTtl,
    jwtAlg: config.jwtAlg,
    gateway: config.gateway,
  });
  provider.on('server_error', (ctx, err) => log.error(`${ctx.path}: ${err.stack}`));
  bridge.attach(provider);
  app = {
    provider,
    callback: provider.callback(),
    revokeJwt: jwtRevocation({ provider, bridge, jwks, log }),
  };
  log.info(`signing keys: ${jwks.keys.slice(0, 2).map((k) => k.kid).join(' ')}`);
}

build();

const current = () => app;
const routes = [
  interactionRoutes({ current, beneficiaries, connectedApps, log }),
  accountRoutes({
    current, beneficiaries, connectedApps, bridge, redis,
    prefix: config.redis.statePrefix,
    secure: config.issuer.startsWith('https:'),
    log,
  }),
  smartConfiguration({ issuer: config.issuer, fhirPaths: config.fhirPaths }),
];

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const served = app;
  try {
    for (const route of routes) {
      if (await route(req, res, url)) {
        return;
      }
    }
    if (url.pathname === ROUTES.revocation && req.method === 'POST'
        && await served.revokeJwt(req, res)) {
      return;
    }
    served.callback(req, res);
  } catch (err) {
    const status = err instanceof HttpError ? err.status : 500;
    if (status === 500) {
      log.error(`${req.method} ${url.pathname}: ${err.stack}`);
    }
    if (!res.headersSent) {
      send(res, status, errorPage({
        error: status === 500 ? 'server_error' : 'invalid_request',
        error_description: status === 500
          ? 'The server could not finish this. Try again in a moment.'
          : err.message,
      }));
    } else {
      res.destroy();
    }
  }
});

server.listen(config.port, config.host, () => {
  writeFileSync(join(config.stateDir, 'server.pid'), `${process.pid}\n`);
  log.info(`authorization server ${config.issuer} on ${config.host}:${config.port}`);
});

process.on('SIGHUP', () => {
  try {
    build();
  } catch (err) {
    log.error(`keys not reloaded: ${err.message}`);
  }
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    redis.disconnect();
    process.exit(0);
  });
}
