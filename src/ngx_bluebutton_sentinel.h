
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * A Redis Sentinel client per worker, after the Redis documentation's
 * guidelines for Sentinel clients: the sentinels are asked in turn for
 * the primary, the server they name must say ROLE master before anything
 * is read from it, and +switch-master moves the worker's connections at
 * once.  All of it on nginx events and timers.
 */

#ifndef _NGX_BLUEBUTTON_SENTINEL_H_INCLUDED_
#define _NGX_BLUEBUTTON_SENTINEL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_bluebutton_redis.h"


#define NGX_BLUEBUTTON_SENTINEL_PEERS  2    /* lookups and their feed */

/* a sentinel is not on the requests' path: once a second is enough */
#define NGX_BLUEBUTTON_SENTINEL_BACKOFF_MAX  1000


typedef struct ngx_bluebutton_sentinel_s  ngx_bluebutton_sentinel_t;


struct ngx_bluebutton_sentinel_conf_s {
    ngx_str_t                     master;    /* as the sentinels know it */
    ngx_array_t                   addrs;     /* ngx_bluebutton_redis_conf_t */
};


struct ngx_bluebutton_sentinel_s {
    ngx_bluebutton_sentinel_conf_t  *conf;
    ngx_log_t                       *log;

    ngx_bluebutton_redis_peer_t     *sentinels;  /* asked, one each */
    ngx_uint_t                       nsentinels;
    ngx_uint_t                       current;    /* the next one asked */
    ngx_uint_t                       asked;      /* in this round */

    ngx_bluebutton_redis_peer_t     *subscribers;  /* +switch-master, each */

    /* connections that read from the primary, and those waiting for it */
    ngx_bluebutton_redis_peer_t     *peers[NGX_BLUEBUTTON_SENTINEL_PEERS];
    ngx_bluebutton_redis_peer_t     *waiting[NGX_BLUEBUTTON_SENTINEL_PEERS];

    /* the primary, as last named */
    u_char                           sockaddr[NGX_SOCKADDRLEN];
    socklen_t                        socklen;
    ngx_str_t                        name;       /* "address:port" */
    ngx_str_t                        host;       /* address */
    u_char                           text[NGX_SOCKADDR_STRLEN];

    unsigned                         known:1;    /* named, not lost since */
    unsigned                         named:1;    /* ever named */
    unsigned                         asking:1;
    unsigned                         gave_up:1;  /* logged, until one answers */
};


char *ngx_bluebutton_sentinel_conf(ngx_conf_t *cf,
    ngx_bluebutton_redis_conf_t *rcf);

/* in a worker, for a peer configured with sentinels */
ngx_int_t ngx_bluebutton_sentinel_init(ngx_bluebutton_redis_peer_t *peer,
    ngx_cycle_t *cycle);
void ngx_bluebutton_sentinel_exit(ngx_bluebutton_sentinel_t *s);


#endif /* _NGX_BLUEBUTTON_SENTINEL_H_INCLUDED_ */
