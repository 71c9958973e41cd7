
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The consent store: which connection takes a command.  Three providers
 * sit behind it: one Redis at a configured address, the primary the
 * sentinels name (ngx_bluebutton_sentinel.c), and a cluster's primaries
 * (ngx_bluebutton_cluster.c).  The connections themselves
 * (ngx_bluebutton_redis.c) know nothing of where their address comes
 * from.
 */

#ifndef _NGX_BLUEBUTTON_STORE_H_INCLUDED_
#define _NGX_BLUEBUTTON_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_bluebutton_redis.h"


typedef struct ngx_bluebutton_store_s      ngx_bluebutton_store_t;
typedef struct ngx_bluebutton_store_cmd_s  ngx_bluebutton_store_cmd_t;
typedef struct ngx_bluebutton_cluster_s    ngx_bluebutton_store_cluster_t;


struct ngx_bluebutton_store_s {
    ngx_bluebutton_redis_conf_t        conf;
    ngx_bluebutton_redis_peer_t       *peer;     /* one Redis */
    ngx_bluebutton_store_cluster_t    *cluster;  /* or, per worker, these */
    ngx_array_t                       *caches;   /* ngx_bluebutton_cache_t * */
};


ngx_bluebutton_store_t *ngx_bluebutton_store_create(ngx_conf_t *cf,
    ngx_bluebutton_redis_conf_t *rcf);

ngx_int_t ngx_bluebutton_store_init_process(ngx_bluebutton_store_t *store,
    ngx_cycle_t *cycle);
void ngx_bluebutton_store_exit_process(ngx_bluebutton_store_t *store);

/*
 * Sends a request's command (its key is argv[1]) where the store keeps
 * that key; with sources, records which connection read each key.
 * NULL with *err when it cannot be sent now.
 */
ngx_bluebutton_store_cmd_t *ngx_bluebutton_store_command(
    ngx_bluebutton_store_t *store, ngx_log_t *log,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen,
    ngx_bluebutton_redis_sources_t *sources, const char **err);

/* the handler is not called; the reply, when it comes, is dropped */
void ngx_bluebutton_store_cancel(ngx_bluebutton_store_t *store,
    ngx_bluebutton_store_cmd_t *cmd);


#endif /* _NGX_BLUEBUTTON_STORE_H_INCLUDED_ */
