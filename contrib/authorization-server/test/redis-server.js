// A real redis-server for a test file, on a port of its own, with TLS
// certificates made by the openssl command line when asked.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { connected } from '../../test-support/poll.js';

// the least ACL user of docs/authorization-server.md
export const LEAST_ACL = ['on', '>secret', '~bb:*', '~bbas:*', '+get', '+mget',
  '+set', '+del', '+expire', '+ttl', '+sadd', '+smembers', '+hget', '+hset',
  '+hdel', '+hgetall', '+multi', '+exec', '+eval', '+info', '+ping'];

function tlsFiles(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const openssl = (...args) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=bbas-test-ca',
    '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'));
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('req', ...ec, '-subj', '/CN=redis', '-keyout', join(dir, 'server.key'),
    '-out', join(dir, 'server.csr'));
  openssl('x509', '-req', '-days', '2', '-in', join(dir, 'server.csr'),
    '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial',
    '-extfile', join(dir, 'server.ext'), '-out', join(dir, 'server.crt'));
  return join(dir, 'ca.crt');
}

export async function startRedis({ port, tlsPort, args = [] }) {
  const dir = mkdtempSync(join(tmpdir(), 'bbas-test-redis.'));
  const tls = [];
  let ca;
  if (tlsPort) {
    ca = tlsFiles(dir);
    tls.push('--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'server.crt'),
      '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', ca,
      '--tls-auth-clients', 'no');
  }
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir, ...tls, ...args],
  { stdio: 'ignore' });
  const admin = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await connected(admin, 'redis-server', 5000);
  return {
    port,
    ca,
    admin,
    async stop() {
      admin.disconnect();
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
