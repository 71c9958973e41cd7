
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

/* Sets ctx->cause, copied: the text may not outlive the caller. */
void ngx_bluebutton_set_cause(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, const char *fmt, ...);


#endif /* _NGX_BLUEBUTTON_LOOKUP_H_INCLUDED_ */
