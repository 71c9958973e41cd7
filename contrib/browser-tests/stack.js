// The browser tests' stack: the one util/demo starts (../stack), on ports
// of its own, with one more client whose access tokens last seconds.

import { startStack as start } from '../stack/stack.js';

const base = Number(process.env.BROWSER_TEST_PORT ?? 8180);

export const PORTS = {
  gateway: base,
  backend: base + 1,
  nocache: base + 2,
  auth: base + 3,
  app: base + 4,
  redis: base + 5,
};

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

export function startStack() {
  return start({ ports: PORTS, clients: [BRIEF_CLIENT],
    keep: Boolean(process.env.BROWSER_TEST_KEEP) });
}
