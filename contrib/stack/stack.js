// The whole stack on loopback ports: Redis, nginx with the module (the
// gateway with and without the decision cache, the sample backend, the
// app's origin) and the authorization server.  util/demo starts it
// through cli.js and leaves it running; the browser tests start it here
// and may restart the authorization server and rotate its keys.

import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync,
  readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import Redis from 'ioredis';

import { rotateSigningKeys } from '../authorization-server/keys.js';
import { connected, until } from '../test-support/poll.js';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sample = join(top, 'util', 'sample-backend');

export const PORT_NAMES = ['gateway', 'backend', 'nocache', 'auth', 'app',
  'redis'];

function render(template, values) {
  return readFileSync(template, 'utf8')
    .replace(/@([A-Z_]+)@/g, (m, name) => values[name] ?? m);
}

function listening(port) {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export class PortInUse extends Error {
  constructor(port) {
    super(`port ${port} is in use`);
    this.port = port;
  }
}

// ports: { gateway, backend, nocache, auth, app, redis }; clients: more
// clients for the authorization server than clients.json lists; detach:
// the authorization server outlives this process (util/demo); keep: stop()
// leaves the directory it made, logs and all
export async function startStack({
  ports, dir, clients = [], detach = false, keep = false,
}) {
  for (const name of PORT_NAMES) {
    if (!Number.isInteger(ports[name])) {
      throw new Error(`no port for the ${name}`);
    }
    if (await listening(ports[name])) {
      throw new PortInUse(ports[name]);
    }
  }

  const own = dir === undefined;
  dir ??= mkdtempSync(join(tmpdir(), 'bluebutton-stack.'));
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  const app = `http://127.0.0.1:${ports.app}`;
  const stateDir = join(dir, 'auth');
  mkdirSync(stateDir, { mode: 0o700 });

  let clientsFile;
  if (clients.length) {
    const listed = JSON.parse(readFileSync(
      join(top, 'contrib', 'authorization-server', 'clients.json'), 'utf8'));
    clientsFile = join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([...listed, ...clients]));
  }

  spawnSync('redis-server', ['--port', String(ports.redis),
    '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--daemonize', 'yes', '--dir', dir, '--pidfile', join(dir, 'redis.pid'),
    '--logfile', join(dir, 'redis.log')]);
  const redis = new Redis({ port: ports.redis, lazyConnect: true,
    maxRetriesPerRequest: 1 });
  await connected(redis);

  // the authorization server, behind the gateway: its issuer is the gateway
  let auth;
  const startAuth = async () => {
    const log = openSync(join(stateDir, 'server.log'), 'a');
    auth = spawn(process.execPath,
      [join(top, 'contrib', 'authorization-server', 'server.js')], {
        env: {
          ...process.env,
          BBAS_ISSUER: gateway,
          BBAS_FHIR_BASE: `${gateway}/v2/fhir`,
          BBAS_FHIR_ALIASES: `http://127.0.0.1:${ports.nocache}/v2/fhir`,
          BBAS_APP_ORIGIN: app,
          BBAS_PORT: String(ports.auth),
          BBAS_STATE_DIR: stateDir,
          BBAS_REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
          ...(clientsFile ? { BBAS_CLIENTS: clientsFile } : {}),
        },
        stdio: ['ignore', log, log],
        detached: detach,
      });
    closeSync(log);
    if (detach) {
      auth.unref();
    }
    await until('the authorization server', async () => (
      await fetch(`http://127.0.0.1:${ports.auth}/.well-known/openid-configuration`)).ok);
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
    REDIS_PORT: ports.redis,
    GATEWAY_PORT: ports.gateway,
    NOCACHE_PORT: ports.nocache,
    BACKEND_PORT: ports.backend,
    AUTH_PORT: ports.auth,
    APP_PORT: ports.app,
  };
  for (const name of ['nginx.conf', 'gateway.conf']) {
    writeFileSync(join(dir, name), render(join(sample, `${name}.in`), values));
  }
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'),
    '-e', join(dir, 'error.log')];
  // NGINX names the binary here; to nginx it would be inherited sockets
  const { NGINX: nginxBin = '/usr/sbin/nginx', ...nginxEnv } = process.env;
  for (const extra of [['-q', '-t'], []]) {
    const nginx = spawnSync(nginxBin, [...extra, ...args],
      { encoding: 'utf8', env: nginxEnv });
    if (nginx.status !== 0) {
      throw new Error(`nginx did not start: ${nginx.stderr}`);
    }
  }
  await until('the gateway', async () => (
    await fetch(`${gateway}/.well-known/openid-configuration`)).ok);

  return {
    dir,
    gateway,
    nocache: `http://127.0.0.1:${ports.nocache}`,
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
      if (own && !keep) {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
