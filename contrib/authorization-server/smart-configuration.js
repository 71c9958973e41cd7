// SMART App Launch discovery, served under each FHIR base the gateway
// fronts (<base>/.well-known/smart-configuration), without a token.

import { ROUTES, RESOURCE_SCOPES } from './provider.js';
import { sendJson } from './http.js';

export function smartConfiguration({ issuer, fhirPaths }) {
  const document = {
    issuer,
    jwks_uri: `${issuer}${ROUTES.jwks}`,
    authorization_endpoint: `${issuer}${ROUTES.authorization}`,
    token_endpoint: `${issuer}${ROUTES.token}`,
    revocation_endpoint: `${issuer}${ROUTES.revocation}`,
    introspection_endpoint: `${issuer}${ROUTES.introspection}`,
    management_endpoint: `${issuer}/v2/accounts/apps`,
    grant_types_supported: ['authorization_code', 'refresh_token'],
    response_types_supported: ['code'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', ...RESOURCE_SCOPES],
    capabilities: ['launch-standalone', 'client-public',
      'context-standalone-patient', 'permission-patient',
      'permission-offline'],
  };
  const paths = new Set(fhirPaths.map((p) => `${p}/.well-known/smart-configuration`));

  return async function route(req, res, url) {
    if (!paths.has(url.pathname) || req.method !== 'GET') {
      return false;
    }
    sendJson(res, 200, document, { 'Access-Control-Allow-Origin': '*' });
    return true;
  };
}
