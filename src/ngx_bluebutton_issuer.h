
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The issuers of JWTs a location trusts, each with its keys (a file, or
 * the authorization server's JWKS), audience and algorithms.  A token's
 * iss, read before any signature is checked, picks the issuer whose keys
 * and rules verify it.
 */

#ifndef _NGX_BLUEBUTTON_ISSUER_H_INCLUDED_
#define _NGX_BLUEBUTTON_ISSUER_H_INCLUDED_


#include "ngx_bluebutton.h"


/* the longest iss a bluebutton_jwt_issuer may name */
#define NGX_BLUEBUTTON_ISSUER_MAX  255

/* bluebutton_jwt_issuer lines in one block */
#define NGX_BLUEBUTTON_ISSUERS     16


struct ngx_bluebutton_issuer_s {
    ngx_str_t                     iss;       /* "": any, not checked */
    bb_keyset_t                  *keys;      /* keys=, or the location's */
    ngx_bluebutton_jwks_t        *jwks;      /* keys_url=, or the location's */
    ngx_uint_t                    algorithms;
    ngx_str_t                     audience;  /* "": not checked */
    time_t                        leeway;    /* on exp, nbf and iat */
    uint32_t                      policy;    /* what a cached JWT met */
    unsigned                      own_algorithms:1;
    unsigned                      own_audience:1;
    unsigned                      own_leeway:1;
};


/*
 * bluebutton_jwt_issuer ISS [keys=FILE | keys_url=URI] [audience=AUD]
 *     [algorithms=ALG,...] [leeway=TIME]
 */
char *ngx_bluebutton_issuer_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* bluebutton_jwt_keys FILE */
char *ngx_bluebutton_issuer_keys_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* bluebutton_jwt_algorithms NAME ... */
char *ngx_bluebutton_issuer_algorithms_conf(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * After the location's other JWT settings are merged: the issuers it
 * trusts, every one with its keys and rules, in conf->issuers (NULL when
 * the location verifies no JWT).
 */
char *ngx_bluebutton_issuer_merge(ngx_conf_t *cf,
    ngx_bluebutton_loc_conf_t *prev, ngx_bluebutton_loc_conf_t *conf);

/*
 * The issuer to verify a JWT with: the location's only one, or the one
 * the token's unverified iss names; NULL when no issuer has that iss.
 */
ngx_bluebutton_issuer_t *ngx_bluebutton_issuer_pick(
    ngx_bluebutton_loc_conf_t *blcf, ngx_str_t *token);

/* Whether two locations trust the same issuers under the same rules. */
ngx_uint_t ngx_bluebutton_issuer_same(ngx_bluebutton_loc_conf_t *a,
    ngx_bluebutton_loc_conf_t *b);


#endif /* _NGX_BLUEBUTTON_ISSUER_H_INCLUDED_ */
