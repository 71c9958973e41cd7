// The beneficiaries who can sign in: the demo's, from beneficiaries.json
// (or BBAS_BENEFICIARIES).  Passwords are kept as salted scrypt hashes
// and compared in constant time; an unknown name costs the same hash.

import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const KEYLEN = 32;
const UNKNOWN = { salt: randomBytes(16).toString('base64'), hash: '' };

export function hashPassword(password, salt = randomBytes(16).toString('base64')) {
  const hash = scryptSync(password, Buffer.from(salt, 'base64'), KEYLEN);
  return { salt, hash: hash.toString('base64') };
}

export class Beneficiaries {
  #byName = new Map();
  #byPatient = new Map();

  constructor(file) {
    for (const b of JSON.parse(readFileSync(file, 'utf8'))) {
      if (!/^[A-Za-z0-9.-]{1,64}$/.test(b.patient)) {
        throw new Error(`${file}: ${b.username}: patient is not a FHIR id`);
      }
      this.#byName.set(b.username.toLowerCase(), b);
      this.#byPatient.set(b.patient, b);
    }
  }

  // the beneficiary, or undefined for a wrong name or password
  verify(username, password) {
    const b = this.#byName.get(String(username).trim().toLowerCase());
    const stored = b ?? UNKNOWN;
    const given = scryptSync(String(password), Buffer.from(stored.salt, 'base64'), KEYLEN);
    const expected = b ? Buffer.from(b.hash, 'base64') : Buffer.alloc(KEYLEN);
    return timingSafeEqual(given, expected) && b ? b : undefined;
  }

  byPatient(patient) {
    return this.#byPatient.get(patient);
  }
}
