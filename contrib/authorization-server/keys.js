// The server's signing keys: made at first start (RSA 2048 for RS256, EC
// P-256 for ES256), kept on disk readable by the server alone, and rotated
// by putting a new pair in front: oidc-provider signs with the first key
// of an algorithm and publishes every key in jwks_uri, so tokens signed
// with the previous keys stay verifiable until they expire.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// a rotation keeps the previous pair published, no more
const GENERATIONS = 2;

function makePair() {
  const stamp = new Date().toISOString().slice(0, 10);
  const pair = [];
  for (const [type, options, alg] of [
    ['rsa', { modulusLength: 2048 }, 'RS256'],
    ['ec', { namedCurve: 'P-256' }, 'ES256'],
  ]) {
    const { privateKey } = generateKeyPairSync(type, options);
    const kid = `${stamp}-${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`;
    pair.push({ ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });
  }
  return pair;
}

function write(file, value) {
  const next = `${file}.next`;
  writeFileSync(next, JSON.stringify(value, null, 2), { mode: 0o600 });
  chmodSync(next, 0o600);
  renameSync(next, file);
}

function read(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') {
      return undefined;
    }
    throw new Error(`${file}: ${err.message}`);
  }
}

export function signingKeys(dir) {
  const file = join(dir, 'signing-keys.json');
  let jwks = read(file);
  if (!jwks) {
    jwks = { keys: makePair() };
    write(file, jwks);
  }
  return jwks;
}

export function rotateSigningKeys(dir) {
  const file = join(dir, 'signing-keys.json');
  const old = read(file)?.keys ?? [];
  const keys = [...makePair(), ...old.slice(0, 2 * (GENERATIONS - 1))];
  write(file, { keys });
  return keys.slice(0, 2).map((k) => k.kid);
}

// the keys oidc-provider signs its cookies with
export function cookieKeys(dir) {
  const file = join(dir, 'cookie-keys.json');
  let keys = read(file);
  if (!keys) {
    keys = [randomBytes(32).toString('base64url')];
    write(file, keys);
  }
  return keys;
}
