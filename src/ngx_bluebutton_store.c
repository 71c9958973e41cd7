
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * One Redis (found by sentinels or not) has one lookup connection per
 * worker, and a multi-key command goes to it whole.  A cluster routes
 * each key to its primary.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_bluebutton_store.h"
#include "ngx_bluebutton_sentinel.h"
#include "ngx_bluebutton_cluster.h"
#include "ngx_bluebutton_tracking.h"
#include "ngx_bluebutton_tls.h"
#include "ngx_bluebutton_metrics.h"


ngx_bluebutton_store_t *
ngx_bluebutton_store_create(ngx_conf_t *cf, ngx_bluebutton_redis_conf_t *rcf)
{
    ngx_bluebutton_store_t  *store;

    store = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_store_t));
    if (store == NULL) {
        return NULL;
    }

    store->conf = *rcf;

    if (rcf->tls && ngx_bluebutton_tls_create(cf, rcf->tls) != NGX_OK) {
        return NULL;
    }

    if (rcf->cluster) {
        /* the nodes are known in the workers, from the cluster itself */
        return store;
    }

    store->peer = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_redis_peer_t));
    if (store->peer == NULL) {
        return NULL;
    }

    store->peer->conf = *rcf;
    store->peer->name = rcf->addr;

    return store;
}


ngx_int_t
ngx_bluebutton_store_init_process(ngx_bluebutton_store_t *store,
    ngx_cycle_t *cycle)
{
    ngx_bluebutton_redis_peer_t  *peer;

    if (store->conf.cluster) {
        store->cluster = ngx_bluebutton_cluster_init(&store->conf,
                                                     store->caches, cycle);

        return store->cluster ? NGX_OK : NGX_ERROR;
    }

    peer = store->peer;

    peer->log = cycle->log;
    peer->state = NGX_BLUEBUTTON_REDIS_UNTRIED;
    peer->caches = store->caches;

    if (peer->conf.sentinel
        && ngx_bluebutton_sentinel_init(peer, cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (peer->caches && ngx_bluebutton_tracking_init(peer, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_bluebutton_store_exit_process(ngx_bluebutton_store_t *store)
{
    ngx_bluebutton_redis_peer_t  *peer;

    if (store->cluster) {
        ngx_bluebutton_cluster_exit(store->cluster);
        return;
    }

    peer = store->peer;

    ngx_bluebutton_tracking_exit(peer);
    ngx_bluebutton_redis_free(peer);
    ngx_bluebutton_redis_set_state(peer, NGX_BLUEBUTTON_REDIS_UNTRIED);

    if (peer->conf.sentinel) {
        ngx_bluebutton_sentinel_exit(peer->locator);
    }
}


ngx_bluebutton_store_cmd_t *
ngx_bluebutton_store_command(ngx_bluebutton_store_t *store, ngx_log_t *log,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen,
    ngx_bluebutton_redis_sources_t *sources, const char **err)
{
    int                          i;
    ngx_bluebutton_redis_cmd_t  *cmd;

    if (store->cluster) {
        return (ngx_bluebutton_store_cmd_t *)
                   ngx_bluebutton_cluster_command(store->cluster, log,
                                                  handler, data, argc, argv,
                                                  argvlen, sources, err);
    }

    cmd = ngx_bluebutton_redis_command(store->peer, log, handler, data, argc,
                                       argv, argvlen, err);

    if (cmd && sources) {
        for (i = 1; i < argc; i++) {
            ngx_bluebutton_redis_source(store->peer, sources, argv[i],
                                        argvlen[i], 0, 0);
        }
    }

    return (ngx_bluebutton_store_cmd_t *) cmd;
}


void
ngx_bluebutton_store_cancel(ngx_bluebutton_store_t *store,
    ngx_bluebutton_store_cmd_t *cmd)
{
    if (store->cluster) {
        ngx_bluebutton_cluster_cancel((ngx_bluebutton_cluster_cmd_t *) cmd);
        return;
    }

    ngx_bluebutton_redis_cancel((ngx_bluebutton_redis_cmd_t *) cmd);
}
