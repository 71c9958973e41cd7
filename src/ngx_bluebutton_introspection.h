
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * bluebutton_introspection: opaque tokens asked of the authorization
 * server (RFC 7662) instead of read from Redis.
 */

#ifndef _NGX_BLUEBUTTON_INTROSPECTION_H_INCLUDED_
#define _NGX_BLUEBUTTON_INTROSPECTION_H_INCLUDED_


#include "ngx_bluebutton.h"


struct ngx_bluebutton_introspection_s {
    ngx_str_t                     uri;       /* a location of the server */
    /* NUL-terminated: each the tail of one of the directive's arguments */
    ngx_str_t                     patient;   /* the member, if not "patient" */
    ngx_str_t                     audience;  /* "aud" must name it, if set */
    ngx_msec_t                    ttl;       /* an answer kept, at most */
    uint32_t                      policy;    /* its entries' in the cache */
};


char *ngx_bluebutton_introspection_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * NGX_AGAIN: the token is being asked about, the access phase runs again
 * when the answer is in; NGX_OK: answered, ctx->entry says what (or
 * ctx->decision that the server could not say); NGX_ERROR.
 */
ngx_int_t ngx_bluebutton_introspection_get(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_loc_conf_t *blcf,
    ngx_str_t *token);

/* the module's own subrequest, not a request to check */
ngx_uint_t ngx_bluebutton_introspection_asking(ngx_http_request_t *r);


#endif /* _NGX_BLUEBUTTON_INTROSPECTION_H_INCLUDED_ */
