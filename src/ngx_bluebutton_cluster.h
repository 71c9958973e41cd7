
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Redis Cluster as the consent store: per worker, the map of which
 * primary serves which slot (CLUSTER SHARDS, CLUSTER SLOTS where it is
 * refused), one connection per primary, and every command sent to its
 * key's primary, following MOVED, ASK and TRYAGAIN within its time.
 */

#ifndef _NGX_BLUEBUTTON_CLUSTER_H_INCLUDED_
#define _NGX_BLUEBUTTON_CLUSTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_bluebutton_redis.h"


typedef struct ngx_bluebutton_cluster_s      ngx_bluebutton_cluster_t;
typedef struct ngx_bluebutton_cluster_cmd_s  ngx_bluebutton_cluster_cmd_t;


struct ngx_bluebutton_cluster_conf_s {
    ngx_array_t                   seeds;     /* ngx_bluebutton_redis_conf_t */
    ngx_msec_t                    refresh;   /* the map asked again */
};


/* bluebutton_redis_cluster HOST:PORT ... [refresh=TIME] */
char *ngx_bluebutton_cluster_conf(ngx_conf_t *cf,
    ngx_bluebutton_redis_conf_t *rcf);

/* in a worker; with caches, every primary's connections are tracked */
ngx_bluebutton_cluster_t *ngx_bluebutton_cluster_init(
    ngx_bluebutton_redis_conf_t *rcf, ngx_array_t *caches,
    ngx_cycle_t *cycle);
void ngx_bluebutton_cluster_exit(ngx_bluebutton_cluster_t *cluster);

/*
 * Sends a one-key command (the key is argv[1]) to its slot's primary,
 * or an MGET as a GET to each key's primary, answered as one array.
 * NULL with *err when it cannot be sent now.
 */
ngx_bluebutton_cluster_cmd_t *ngx_bluebutton_cluster_command(
    ngx_bluebutton_cluster_t *cluster, ngx_log_t *log,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen,
    ngx_bluebutton_redis_sources_t *sources, const char **err);

void ngx_bluebutton_cluster_cancel(ngx_bluebutton_cluster_cmd_t *cmd);


#endif /* _NGX_BLUEBUTTON_CLUSTER_H_INCLUDED_ */
