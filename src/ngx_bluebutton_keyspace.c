
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_bluebutton_keyspace.h"


u_char *
ngx_bluebutton_token_key(u_char *p, u_char *last, ngx_str_t *prefix,
    u_char *token_hash)
{
    return ngx_slprintf(p, last, "%Vtoken:%*s", prefix, (size_t) 64,
                        token_hash);
}


u_char *
ngx_bluebutton_grant_key(u_char *p, u_char *last, ngx_str_t *prefix,
    const char *client, const char *patient)
{
    return ngx_slprintf(p, last, "%Vgrant:%s:%s", prefix, client, patient);
}


u_char *
ngx_bluebutton_revoked_key(u_char *p, u_char *last, ngx_str_t *prefix,
    const char *jti)
{
    return ngx_slprintf(p, last, "%Vrevoked:%s", prefix, jti);
}
