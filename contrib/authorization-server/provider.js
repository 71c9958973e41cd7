// oidc-provider configured as the Blue Button authorization server: the
// SMART scopes of the claims API as one resource server (the FHIR base),
// opaque or JWT access tokens per app, PKCE always, grant lifetimes after
// the app's data_access_type, our own pages for every interaction.

import Provider, { errors } from 'oidc-provider';

import { DATA_ACCESS_TYPES } from './bridge.js';
import { errorPage } from './pages.js';

export const ROUTES = {
  authorization: '/v2/o/authorize',
  token: '/v2/o/token',
  revocation: '/v2/o/revoke',
  introspection: '/v2/o/introspect',
  jwks: '/v2/o/jwks',
  userinfo: '/v2/o/userinfo',
};

// what an app may ask for; `profile` and `patient/Patient.read` are the
// beneficiary's demographics, which the beneficiary may decline
export const CLAIMS_SCOPES = ['patient/ExplanationOfBenefit.read',
  'patient/Coverage.read'];
export const DEMOGRAPHIC_SCOPES = ['profile', 'patient/Patient.read'];
export const RESOURCE_SCOPES = ['launch/patient', 'offline_access',
  ...CLAIMS_SCOPES, ...DEMOGRAPHIC_SCOPES];

const DAY = 24 * 60 * 60;
const RESEARCH_STUDY_SECONDS = 50 * 365 * DAY;

// the lifetime of a new grant, in seconds, after the app's data access type
export function grantLifetime(type, accessTokenTtl, now = new Date()) {
  switch (type) {
    case 'ONE_TIME':
      return accessTokenTtl;
    case 'RESEARCH_STUDY':
      return RESEARCH_STUDY_SECONDS;
    default: {
      const end = new Date(now);
      end.setUTCMonth(end.getUTCMonth() + 13);
      return Math.round((end - now) / 1000);
    }
  }
}

function checkClientMetadata(ctx, key, value) {
  const bad = (what) => {
    throw new errors.InvalidClientMetadata(`${key} ${what}`);
  };
  if (key === 'data_access_type' && value !== undefined
      && !DATA_ACCESS_TYPES.includes(value)) {
    bad(`must be one of ${DATA_ACCESS_TYPES.join(', ')}`);
  }
  if (key === 'access_token_format' && value !== undefined
      && !['opaque', 'jwt'].includes(value)) {
    bad('must be opaque or jwt');
  }
  if (key === 'access_token_lifetime' && value !== undefined
      && !(Number.isSafeInteger(value) && value >= 1 && value <= 36000)) {
    bad('must be 1 to 36000 seconds');
  }
}

// CORS from a browser app: only from the origins of its redirect URIs
export function appOrigin(client, origin) {
  return client.redirectUris.some((uri) => new URL(uri).origin === origin);
}

// RFC 7662: the gateway asks about any app's token; an app only about its own
export function introspectionAllowed(gateway) {
  return (ctx, client, token) => (gateway !== undefined
    && client.clientId === gateway.client_id)
    || token.clientId === client.clientId;
}

export function makeProvider({
  issuer, fhirBase, fhirAliases = [], clients, jwks, cookieKeys, adapter,
  beneficiaries, accessTokenTtl = 3600, jwtAlg = 'RS256', gateway,
}) {
  // SMART: a token is asked for one of the FHIR servers we protect, never
  // for a server the app names that would then receive it
  const audiences = new Set([fhirBase, ...fhirAliases]);

  // a grant made on our pages has no client object: its metadata by id
  const registered = new Map(clients.map((c) => [c.client_id, c]));
  const metadata = (client, id) => client ?? registered.get(id) ?? {};
  const tokenTtl = (client) => client['access_token_lifetime'] ?? accessTokenTtl;
  const type = (client) => client['data_access_type'] ?? 'THIRTEEN_MONTH';

  const provider = new Provider(issuer, {
    adapter,
    clients: gateway ? [...clients, gateway] : clients,
    jwks,
    cookies: {
      keys: cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    routes: ROUTES,
    responseTypes: ['code'],
    extraParams: {
      aud(ctx, value) {
        if (value !== undefined && !audiences.has(String(value).replace(/\/$/, ''))) {
          throw new errors.InvalidRequest('aud is not a FHIR server of this authorization server');
        }
      },
    },
    scopes: ['openid', ...RESOURCE_SCOPES],
    claims: {
      openid: ['sub'],
      profile: ['name'],
    },
    extraClientMetadata: {
      properties: ['data_access_type', 'access_token_format',
        'access_token_lifetime'],
      validator: checkClientMetadata,
    },
    async findAccount(ctx, id) {
      const beneficiary = beneficiaries.byPatient(id);
      if (!beneficiary) {
        return undefined;
      }
      return {
        accountId: id,
        claims: async () => ({ sub: id, name: beneficiary.name }),
      };
    },
    interactions: {
      url: (ctx, interaction) => `/v2/o/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true, allowedPolicy: introspectionAllowed(gateway) },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // SMART apps name the FHIR base in `aud`, not `resource`
        defaultResource: () => fhirBase,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, resource, client) {
          if (resource !== fhirBase) {
            throw new errors.InvalidTarget();
          }
          const jwt = client['access_token_format'] === 'jwt';
          const app = metadata(client);
          return {
            scope: RESOURCE_SCOPES.join(' '),
            audience: fhirBase,
            accessTokenTTL: tokenTtl(app),
            accessTokenFormat: jwt ? 'jwt' : 'opaque',
            ...(jwt ? { jwt: { sign: { alg: jwtAlg } } } : {}),
          };
        },
      },
    },
    pkce: { required: () => true },
    clientBasedCORS: (ctx, origin, client) => appOrigin(client, origin),
    extraTokenClaims(ctx, token) {
      return token.accountId ? { patient: token.accountId } : undefined;
    },
    async issueRefreshToken(ctx, client) {
      return client.grantTypeAllowed('refresh_token')
        && type(metadata(client)) !== 'ONE_TIME';
    },
    ttl: {
      AccessToken: (ctx, token, client) => tokenTtl(metadata(client, token.clientId)),
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant(ctx, grant, client) {
        const app = metadata(client, grant.clientId);
        return grantLifetime(type(app), tokenTtl(app));
      },
      RefreshToken(ctx, token, client) {
        const grant = ctx?.oidc?.entities?.Grant;
        const left = grant?.exp ? grant.exp - Math.floor(Date.now() / 1000) : 0;
        const app = metadata(client, token.clientId);
        return left > 0 ? left : grantLifetime(type(app), tokenTtl(app));
      },
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage(out);
    },
  });

  provider.proxy = true;

  // OpenID Connect keeps offline_access only with prompt=consent; our
  // authorization screen is shown for every such request anyway, and
  // SMART apps (fhirclient among them) ask for offline_access without it
  provider.use(async (ctx, next) => {
    if (ctx.path === ROUTES.authorization && !ctx.query.prompt
        && /(^| )offline_access( |$)/.test(ctx.query.scope ?? '')) {
      ctx.query = { ...ctx.query, prompt: 'consent' };
    }
    await next();
  });

  // the SMART launch context: the beneficiary whose data the token opens
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'token' && ctx.status === 200
        && ctx.body?.access_token) {
      const patient = ctx.oidc.entities.AccessToken?.accountId;
      if (patient) {
        ctx.body.patient = patient;
      }
    }
  });

  return provider;
}
