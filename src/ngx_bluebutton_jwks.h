
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * JWT signing keys fetched from the authorization server: a location of
 * the same server that returns its JWKS, asked by subrequest, the keys
 * shared by the workers through a small zone.
 */

#ifndef _NGX_BLUEBUTTON_JWKS_H_INCLUDED_
#define _NGX_BLUEBUTTON_JWKS_H_INCLUDED_


#include "ngx_bluebutton.h"


/* a JWKS larger than this is refused */
#define NGX_BLUEBUTTON_JWKS_MAX  65536


typedef struct ngx_bluebutton_jwks_sh_s  ngx_bluebutton_jwks_sh_t;

struct ngx_bluebutton_jwks_s {
    ngx_str_t                     uri;
    time_t                        refresh;
    time_t                        min_refresh;
    ngx_shm_zone_t               *shm_zone;
    ngx_bluebutton_jwks_sh_t     *sh;
    ngx_slab_pool_t              *shpool;

    /* per worker: the keys of the zone's version */
    bb_keyset_t                  *keys;
    ngx_uint_t                    version;
};


char *ngx_bluebutton_jwks_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * The keys of a location of the server, with "refresh=" and
 * "min_refresh=" parameters; one zone per URI, whoever names it.
 */
ngx_bluebutton_jwks_t *ngx_bluebutton_jwks_add(ngx_conf_t *cf,
    ngx_str_t *uri, ngx_str_t *params, ngx_uint_t n);

ngx_uint_t ngx_bluebutton_jwks_fetching(ngx_http_request_t *r);

/* after all locations are read: each URI asked is a location of its own */
ngx_int_t ngx_bluebutton_jwks_check(ngx_conf_t *cf, ngx_array_t *uses);
/*
 * The keys to verify with, or NULL when none were fetched yet; starts a
 * fetch when one is due.  Returns NGX_AGAIN when the request waits for a
 * fetch (the access phase runs again when it is done), NGX_OK otherwise.
 * *version is the version of the keys, for the decision cache.  ctx is
 * the request's, which waits for the keys.
 */
ngx_int_t ngx_bluebutton_jwks_get(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_jwks_t *jwks,
    ngx_uint_t unknown_kid, bb_keyset_t **keys, ngx_uint_t *version);


#endif /* _NGX_BLUEBUTTON_JWKS_H_INCLUDED_ */
