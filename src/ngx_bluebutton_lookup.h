
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The live consent check for opaque tokens: token record and grant read
 * from Redis in one round trip (two when a record names another grant
 * than it did before).
 */

#ifndef _NGX_BLUEBUTTON_LOOKUP_H_INCLUDED_
#define _NGX_BLUEBUTTON_LOOKUP_H_INCLUDED_


#include "ngx_bluebutton.h"


/* bluebutton_redis_prefix is at most 64 characters */
#define NGX_BLUEBUTTON_GRANT_KEY_MAX                                          \
    (64 + sizeof("grant::") - 1 + BB_CLIENT_MAX + BB_PATIENT_MAX)


ngx_int_t ngx_bluebutton_lookup_init(ngx_conf_t *cf);

/*
 * Starts the lookup of ctx->token_hash.  Returns NGX_AGAIN while waiting
 * (ctx->resume is posted when done), or NGX_DECLINED with ctx->decision
 * set when Redis cannot be asked.
 */
ngx_int_t ngx_bluebutton_lookup_start(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf);

/*
 * For a verified JWT in ctx->token: one MGET of the grant and, when the
 * token has a jti, of its revocation key.  Returns as above.
 */
ngx_int_t ngx_bluebutton_lookup_jwt_start(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf);

/* A fresh entry of the kind in ctx->entry, or NULL with the decision made. */
bb_entry_t *ngx_bluebutton_lookup_entry(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_uint_t kind);

/* "<prefix>grant:<client_id>:<patient>", the key of a grant, at p */
u_char *ngx_bluebutton_grant_key(u_char *p, u_char *last, ngx_str_t *prefix,
    const char *client, const char *patient);

/* Sets ctx->cause, copied: the text may not outlive the caller. */
void ngx_bluebutton_set_cause(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, const char *fmt, ...);


#endif /* _NGX_BLUEBUTTON_LOOKUP_H_INCLUDED_ */
