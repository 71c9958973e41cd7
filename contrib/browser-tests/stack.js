// The whole stack for the browser tests, as util/demo runs it: Redis,
// nginx with the module (the gateway with and without the decision cache,
// the sample backend, the app's origin) and the authorization server,
// on loopback ports of their own.  The tests may restart the
// authorization server and rotate its keys.

import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import Redis from 'ioredis';

import { rotateSigningKeys } from '../authorization-server/keys.js';
import { connected, until } from '../test-support/poll.js';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sample = join(top, 'util', 'sample-backend');

export const PORTS = {
  gateway: Number(process.env.BROWSER_TEST_PORT ?? 8180),
};
PORTS.backend = PORTS.gateway + 1;
PORTS.nocache = PORTS.gateway + 2;
PORTS.auth = PORTS.gateway + 3;
PORTS.app = PORTS.gateway + 4;
PORTS.redis = PORTS.gateway + 5;

// a client whose access tokens last seconds, for the expiry journey
export const BRIEF_CLIENT = {
  client_id: 'smart-demo-app-brief',
  client_name: 'SMART Demo App (brief tokens)',
  redirect_uris: ['{app_origin}/'],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  data_access_type: 'THIRTEEN_MONTH',
  access_token_format: 'opaque',
  access_token_lifetime: 4,
};

function render(template, values) {
  return readFileSync(template, 'utf8')
    .replace(/@([A-Z_]+)@/g, (m, name) => values[name] ?? m);
}

export async function startStack() {
  const dir = mkdtempSync(join(tmpdir(), 'bluebutton-browser.'));
  const gateway = `http://127.0.0.1:${PORTS.gateway}`;
  const app = `http://127.0.0.1:${PORTS.app}`;
  const stateDir = join(dir, 'auth');
  mkdirSync(stateDir, { mode: 0o700 });

  const clients = JSON.parse(readFileSync(
    join(top, 'contrib', 'authorization-server', 'clients.json'), 'utf8'));
  writeFileSync(join(dir, 'clients.json'), JSON.stringify([...clients, BRIEF_CLIENT]));

  spawnSync('redis-server', ['--port', String(PORTS.redis), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--dir', dir,
    '--pidfile', join(dir, 'redis.pid'), '--logfile', join(dir, 'redis.log')]);
  const redis = new Redis({ port: PORTS.redis, lazyConnect: true, maxRetriesPerRequest: 1 });
  await connected(redis);

  let auth;
  const startAuth = async () => {
    auth = spawn(process.execPath, [join(top, 'contrib', 'authorization-server', 'server.js')], {
      env: {
        ...process.env,
        BBAS_ISSUER: gateway,
        BBAS_FHIR_BASE: `${gateway}/v2/fhir`,
        BBAS_FHIR_ALIASES: `http://127.0.0.1:${PORTS.nocache}/v2/fhir`,
        BBAS_APP_ORIGIN: app,
        BBAS_PORT: String(PORTS.auth),
        BBAS_STATE_DIR: stateDir,
        BBAS_CLIENTS: join(dir, 'clients.json'),
        BBAS_REDIS_URL: `redis://127.0.0.1:${PORTS.redis}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = join(dir, 'auth.log');
    auth.stdout.on('data', (d) => writeFileSync(log, d, { flag: 'a' }));
    auth.stderr.on('data', (d) => writeFileSync(log, d, { flag: 'a' }));
    await until('the authorization server', async () => (
      await fetch(`http://127.0.0.1:${PORTS.auth}/.well-known/openid-configuration`)).ok);
  };
  const stopAuth = async () => {
    const exited = new Promise((resolve) => auth.once('exit', resolve));
    auth.kill('SIGTERM');
    await exited;
  };
  await startAuth();

  // the backend's answers, shaped and sized like BFD's; nginx's workers,
  // which do not run as root, read them under the run's directory
  chmodSync(dir, 0o711);
  const made = spawnSync(join(sample, 'make-claims'), [join(dir, 'fhir')],
    { encoding: 'utf8' });
  if (made.status !== 0) {
    throw new Error(`make-claims failed: ${made.stderr}`);
  }

  const values = {
    MODULE: join(top, 'build', 'ngx_bluebutton_module.so'),
    DIR: dir,
    DATA: join(dir, 'fhir'),
    SAMPLE: sample,
    CONTRIB: join(top, 'contrib'),
    REDIS_PORT: PORTS.redis,
    GATEWAY_PORT: PORTS.gateway,
    NOCACHE_PORT: PORTS.nocache,
    BACKEND_PORT: PORTS.backend,
    AUTH_PORT: PORTS.auth,
    APP_PORT: PORTS.app,
  };
  for (const name of ['nginx.conf', 'gateway.conf']) {
    writeFileSync(join(dir, name), render(join(sample, `${name}.in`), values));
  }
  const nginx = spawnSync(process.env.NGINX ?? '/usr/sbin/nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    { encoding: 'utf8' });
  if (nginx.status !== 0) {
    throw new Error(`nginx did not start: ${nginx.stderr}`);
  }
  await until('the gateway', async () => (
    await fetch(`${gateway}/.well-known/openid-configuration`)).ok);

  return {
    dir,
    gateway,
    nocache: `http://127.0.0.1:${PORTS.nocache}`,
    app,
    redis,
    async restartAuth() {
      await stopAuth();
      await startAuth();
    },
    // new signing keys, taken by the running server on SIGHUP
    async rotateKeys() {
      const kids = rotateSigningKeys(stateDir);
      auth.kill('SIGHUP');
      await until('the rotated keys', async () => {
        const jwks = await (await fetch(`${gateway}/v2/o/jwks`)).json();
        return jwks.keys.some((k) => k.kid === kids[0]);
      });
      return kids;
    },
    errorLog: () => readFileSync(join(dir, 'error.log'), 'utf8'),
    async stop() {
      await stopAuth();
      const pid = join(dir, 'nginx.pid');
      if (existsSync(pid)) {
        process.kill(Number(readFileSync(pid, 'utf8')), 'SIGQUIT');
      }
      await redis.shutdown('NOSAVE').catch(() => {});
      redis.disconnect();
      await sleep(200);
      if (!process.env.BROWSER_TEST_KEEP) {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
