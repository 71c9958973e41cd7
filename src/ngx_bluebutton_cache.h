
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The decision cache: what Redis said about each token, kept in a shared
 * memory zone for all workers and kept exact by Redis' own invalidation
 * messages (see ngx_bluebutton_tracking.c).
 */

#ifndef _NGX_BLUEBUTTON_CACHE_H_INCLUDED_
#define _NGX_BLUEBUTTON_CACHE_H_INCLUDED_


#include "ngx_bluebutton.h"


typedef enum {
    NGX_BLUEBUTTON_CACHE_NONE = 0,     /* not asked: an empty variable */
    NGX_BLUEBUTTON_CACHE_HIT,
    NGX_BLUEBUTTON_CACHE_MISS,
    NGX_BLUEBUTTON_CACHE_EXPIRED,
    NGX_BLUEBUTTON_CACHE_STALE,
    NGX_BLUEBUTTON_CACHE_BYPASS
} ngx_bluebutton_cache_status_e;


/* the nodes of one store whose reads a worker may cache */
#define NGX_BLUEBUTTON_CACHE_NODES  128


typedef struct ngx_bluebutton_cache_sh_s  ngx_bluebutton_cache_sh_t;

typedef struct {
    uint64_t                       epoch;
    ngx_uint_t                     up;
} ngx_bluebutton_cache_epoch_t;

struct ngx_bluebutton_cache_s {
    ngx_shm_zone_t                *shm_zone;
    ngx_bluebutton_cache_sh_t     *sh;
    ngx_slab_pool_t               *shpool;
    ngx_msec_t                     ttl;
    ngx_msec_t                     negative_ttl;
    ngx_bluebutton_store_t        *store;     /* the one store it caches */
    ngx_uint_t                     storeless; /* or no Redis: answers of
                                                 introspection alone */
    ngx_str_t                      prefix;
    ngx_uint_t                     cycle;     /* this configuration's */

    /* this worker's feeds, as last told to the zone */
    ngx_bluebutton_cache_epoch_t   nodes[NGX_BLUEBUTTON_CACHE_NODES];
    ngx_uint_t                     untrackable;  /* nodes that refuse */
};


char *ngx_bluebutton_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* binds the server's cache to its store; at most one store per zone */
char *ngx_bluebutton_cache_bind(ngx_conf_t *cf,
    ngx_bluebutton_srv_conf_t *bscf);

/*
 * Binds the cache of a server without Redis, for introspection answers
 * kept their ttl; such a zone serves no server that has Redis.
 */
char *ngx_bluebutton_cache_bind_storeless(ngx_conf_t *cf,
    ngx_bluebutton_cache_t *cache);

/*
 * Looks the request's token up.  On a hit ctx->entry is set; an entry
 * that can no longer be trusted as it is may be kept in ctx->stale for
 * bluebutton_stale_if_error.  Sets ctx->cache_status.
 */
void ngx_bluebutton_cache_find(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf,
    ngx_uint_t kind, uint32_t policy, ngx_msec_t stale_if_error);

/* before a lookup is sent: as of when it may fill */
void ngx_bluebutton_cache_sending(ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_srv_conf_t *bscf);

/* after the lookup: remembers ctx->entry when nothing changed meanwhile */
void ngx_bluebutton_cache_fill(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf);

/* a Redis key changed: every entry that read it goes */
void ngx_bluebutton_cache_invalidate(ngx_bluebutton_cache_t *cache,
    u_char *key, size_t len);

/* the whole keyspace changed (FLUSHALL, FLUSHDB) */
void ngx_bluebutton_cache_flush(ngx_bluebutton_cache_t *cache);

/*
 * The invalidation feed of this worker's connection to a node came up or
 * went down.  Entries read on it before a loss are not served until it
 * comes back, and are dropped then.
 */
void ngx_bluebutton_cache_feed(ngx_bluebutton_cache_t *cache,
    ngx_uint_t node, uint64_t epoch, ngx_uint_t up);

/* a node refuses to track keys (1), or tracks them again (0) */
void ngx_bluebutton_cache_untrackable(ngx_bluebutton_cache_t *cache,
    ngx_uint_t refused);

/*
 * Slots of a cluster moved: moved[slot] is the id of the primary the slot
 * left (0: not moved); what was read there is dropped.
 */
void ngx_bluebutton_cache_moved(ngx_bluebutton_cache_t *cache,
    const uint32_t *moved);

const char *ngx_bluebutton_cache_status_name(ngx_uint_t status);

/* what the zones of this configuration hold, for bluebutton_status */
ngx_uint_t ngx_bluebutton_cache_entries(ngx_http_request_t *r);

/*
 * Single flight within a worker: a request whose token is already being
 * looked up waits for that lookup instead of sending its own.  Returns
 * 1 when the request waits (ctx->resume is posted when it may go on).
 */
ngx_uint_t ngx_bluebutton_flight_join(ngx_bluebutton_ctx_t *ctx);
void ngx_bluebutton_flight_lead(ngx_bluebutton_ctx_t *ctx);
void ngx_bluebutton_flight_land(ngx_bluebutton_ctx_t *ctx);


#endif /* _NGX_BLUEBUTTON_CACHE_H_INCLUDED_ */
