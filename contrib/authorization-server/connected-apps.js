// Which apps a beneficiary has approved: one grant per app, indexed by
// patient so that the connected-apps page can list them.  A new consent
// replaces the app's earlier grant (whose tokens then stop working);
// revoking destroys the grant and everything issued on it.
//
// <prefix>account-grants:<patient>   hash: client_id -> grant id

export class ConnectedApps {
  #redis;
  #prefix;

  constructor(redis, prefix = 'bbas:') {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(patient) {
    return `${this.#prefix}account-grants:${patient}`;
  }

  // after a consent saved as `grantId`; the app's earlier grant goes
  async record(provider, patient, clientId, grantId) {
    const key = this.#key(patient);
    const earlier = await this.#redis.hget(key, clientId);
    await this.#redis.hset(key, clientId, grantId);
    if (earlier && earlier !== grantId) {
      await revokeGrant(provider, earlier);
    }
  }

  // the apps with a live grant, oldest approval first
  async list(provider, patient) {
    const key = this.#key(patient);
    const apps = [];
    for (const [clientId, grantId] of Object.entries(await this.#redis.hgetall(key))) {
      const grant = await provider.Grant.find(grantId);
      const client = await provider.Client.find(clientId);
      if (!grant || !client) {
        await this.#redis.hdel(key, clientId);
        continue;
      }
      // granted less declined, as the grant itself reckons it
      const scopes = new Set([grant.getOIDCScope(),
        ...Object.keys(grant.resources ?? {}).map((r) => grant.getResourceScope(r)),
      ].join(' ').split(' '));
      apps.push({
        clientId,
        grantId,
        name: client.clientName ?? clientId,
        dataAccessType: client['data_access_type'] ?? 'THIRTEEN_MONTH',
        approved: grant.iat,
        expires: client['data_access_type'] === 'RESEARCH_STUDY' ? undefined : grant.exp,
        scopes: [...scopes].filter(Boolean),
      });
    }
    return apps.sort((a, b) => a.approved - b.approved);
  }

  // false when the beneficiary has no grant for the app
  async revoke(provider, patient, clientId) {
    const key = this.#key(patient);
    const grantId = await this.#redis.hget(key, clientId);
    if (!grantId) {
      return false;
    }
    await revokeGrant(provider, grantId);
    await this.#redis.hdel(key, clientId);
    return true;
  }
}

// the grant first: its key in the gateway's Redis is what refuses every
// token of it at once
export async function revokeGrant(provider, grantId) {
  const grant = await provider.Grant.find(grantId);
  if (grant) {
    await grant.destroy();
  }
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
  ]);
}
