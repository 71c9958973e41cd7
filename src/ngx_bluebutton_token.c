
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Authorization: Bearer <b64token>, RFC 6750 section 2.1.
 */

#include "ngx_bluebutton_token.h"

#include <openssl/evp.h>


static ngx_int_t ngx_bluebutton_b64token(u_char *p, size_t len,
    ngx_uint_t *jwt);


/*
 * Fetched once: an implicit fetch per digest costs more than the digest.
 * One context for the process: a new one per token costs two allocations
 * and a third of a short token's hashing time.
 */
static EVP_MD      *ngx_bluebutton_sha256;
static EVP_MD_CTX  *ngx_bluebutton_sha256_ctx;


ngx_int_t
ngx_bluebutton_token_init(ngx_log_t *log)
{
    if (ngx_bluebutton_sha256 == NULL) {
        ngx_bluebutton_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);

        if (ngx_bluebutton_sha256 == NULL) {
            ngx_ssl_error(NGX_LOG_EMERG, log, 0,
                          "bluebutton: SHA-256 is not available");
            return NGX_ERROR;
        }
    }

    if (ngx_bluebutton_sha256_ctx == NULL) {
        ngx_bluebutton_sha256_ctx = EVP_MD_CTX_new();

        if (ngx_bluebutton_sha256_ctx == NULL) {
            ngx_ssl_error(NGX_LOG_EMERG, log, 0,
                          "bluebutton: EVP_MD_CTX_new() failed");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_bluebutton_token_exit(void)
{
    EVP_MD_CTX_free(ngx_bluebutton_sha256_ctx);
    ngx_bluebutton_sha256_ctx = NULL;
    EVP_MD_free(ngx_bluebutton_sha256);
    ngx_bluebutton_sha256 = NULL;
}


bb_decision_t
ngx_bluebutton_token_get(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx,
    ngx_str_t *token)
{
    u_char      *p, *last;
    ngx_uint_t   jwt;

    if (r->headers_in.authorization == NULL) {
        ctx->missing = 1;
        ctx->why = "The request carries no bearer token";
        return BB_DECISION_INVALID_REQUEST;
    }

    p = r->headers_in.authorization->value.data;
    last = p + r->headers_in.authorization->value.len;

    if (last - p < 6 || ngx_strncasecmp(p, (u_char *) "Bearer", 6) != 0
        || (last - p > 6 && p[6] != ' '))
    {
        /* another scheme: RFC 6750 section 3.1 wants no error code */
        ctx->missing = 1;
        ctx->why = "The request carries no bearer token";
        return BB_DECISION_INVALID_REQUEST;
    }

    p += 6;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    if (p == last) {
        ctx->why = "The Bearer authorization header has no token";
        return BB_DECISION_INVALID_REQUEST;
    }

    if ((size_t) (last - p) > blcf->max_token_size) {
        ctx->why = "The access token is too large";
        return BB_DECISION_INVALID_TOKEN;
    }

    if (ngx_bluebutton_b64token(p, last - p, &jwt) != NGX_OK) {
        ctx->why = "The bearer token is malformed";
        return BB_DECISION_INVALID_REQUEST;
    }

    token->data = p;
    token->len = last - p;
    ctx->jwt_shaped = jwt;

    return BB_DECISION_NONE;
}


ngx_int_t
ngx_bluebutton_token_text(ngx_table_elt_t *h, ngx_str_t *token)
{
    u_char  *p, *last;

    if (h == NULL || h->value.len < 7
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) != 0)
    {
        return NGX_DECLINED;
    }

    p = h->value.data + 7;
    last = h->value.data + h->value.len;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    if (p == last) {
        return NGX_DECLINED;
    }

    token->data = p;
    token->len = last - p;

    return NGX_OK;
}


/*
 * RFC 6750's b64token; *jwt is 1 when the token is also shaped as a JWT
 * (bb_jwt_looks_like(): base64url segments, 3 or 5), found in the same
 * pass: a JWT is hundreds of characters, each looked at once, by a table.
 */
static ngx_int_t
ngx_bluebutton_b64token(u_char *p, size_t len, ngx_uint_t *jwt)
{
    size_t      i, dots;
    ngx_uint_t  shape;

    /* 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */

    static const u_char  b64token[256] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };

    shape = 1;
    dots = 0;

    for (i = 0; i < len; i++) {
        if (!b64token[p[i]]) {
            break;
        }

        shape &= bb_jwt_chars[p[i]];
        dots += (p[i] == '.');
    }

    if (i == 0) {
        return NGX_ERROR;
    }

    while (i < len && p[i] == '=') {
        i++;
    }

    *jwt = shape && bb_jwt_segments(dots);

    return i == len ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_bluebutton_token_hash(ngx_bluebutton_ctx_t *ctx, ngx_str_t *token,
    ngx_log_t *log)
{
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  n;

    if (EVP_DigestInit_ex(ngx_bluebutton_sha256_ctx, ngx_bluebutton_sha256,
                          NULL)
           != 1
        || EVP_DigestUpdate(ngx_bluebutton_sha256_ctx, token->data,
                            token->len)
           != 1
        || EVP_DigestFinal_ex(ngx_bluebutton_sha256_ctx, md, &n) != 1)
    {
        /* logged and drained: never left for the next TLS call */
        ngx_ssl_error(NGX_LOG_ALERT, log, 0,
                      "bluebutton: SHA-256 of the token failed");
        return NGX_ERROR;
    }

    ngx_hex_dump(ctx->token_hash, md, n);
    ctx->hashed = 1;

    return NGX_OK;
}
