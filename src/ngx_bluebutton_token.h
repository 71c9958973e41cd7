
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Bearer tokens: taken from the Authorization header only, checked for
 * RFC 6750 syntax and size, and known afterwards by their SHA-256 alone.
 */

#ifndef _NGX_BLUEBUTTON_TOKEN_H_INCLUDED_
#define _NGX_BLUEBUTTON_TOKEN_H_INCLUDED_


#include "ngx_bluebutton.h"


/* Fetches the digest once per process, and releases it. */
ngx_int_t ngx_bluebutton_token_init(ngx_log_t *log);
void ngx_bluebutton_token_exit(void);

/*
 * Finds the bearer token.  Returns BB_DECISION_NONE with *token set, or
 * the refusal, with ctx->why set and ctx->missing for a request that
 * carries no bearer credentials at all.
 */
bb_decision_t ngx_bluebutton_token_get(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx,
    ngx_str_t *token);

/* Stores the lowercase hex SHA-256 of the token in ctx->token_hash. */
/*
 * The token of an Authorization header checked before (the client's, kept
 * in the context): NGX_DECLINED where it has none.
 */
ngx_int_t ngx_bluebutton_token_text(ngx_table_elt_t *h, ngx_str_t *token);

/* The token's SHA-256 in hex, into ctx->token_hash. */
ngx_int_t ngx_bluebutton_token_hash(ngx_bluebutton_ctx_t *ctx,
    ngx_str_t *token, ngx_log_t *log);


#endif /* _NGX_BLUEBUTTON_TOKEN_H_INCLUDED_ */
