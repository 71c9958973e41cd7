#!/usr/bin/env node
// Rotates the authorization server's signing keys:
//   node rotate-keys.js STATE_DIR
// then restart the server (or send it SIGHUP): it signs with the new keys
// and still publishes the previous ones.

import { rotateSigningKeys } from './keys.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: rotate-keys.js STATE_DIR');
  process.exit(2);
}
console.log(`new signing keys: ${rotateSigningKeys(dir).join(' ')}`);
