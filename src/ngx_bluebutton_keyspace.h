
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The names of the Redis keys the gateway reads (docs/redis-data-model.md):
 * a token's record, a grant, a JWT's revocation.  Lookups read them and
 * the decision cache is invalidated by them.
 */

#ifndef _NGX_BLUEBUTTON_KEYSPACE_H_INCLUDED_
#define _NGX_BLUEBUTTON_KEYSPACE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_bluebutton_consent.h"


/* bluebutton_redis_prefix is at most 64 characters */
#define NGX_BLUEBUTTON_GRANT_KEY_MAX                                          \
    (64 + sizeof("grant::") - 1 + BB_CLIENT_MAX + BB_PATIENT_MAX)


/* <prefix>token:<sha256 hex> */
u_char *ngx_bluebutton_token_key(u_char *p, u_char *last, ngx_str_t *prefix,
    u_char *token_hash);

/* <prefix>grant:<client>:<patient> */
u_char *ngx_bluebutton_grant_key(u_char *p, u_char *last, ngx_str_t *prefix,
    const char *client, const char *patient);

/* <prefix>revoked:<jti> */
u_char *ngx_bluebutton_revoked_key(u_char *p, u_char *last,
    ngx_str_t *prefix, const char *jti);


#endif /* _NGX_BLUEBUTTON_KEYSPACE_H_INCLUDED_ */
