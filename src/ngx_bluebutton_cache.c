
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Entries live in a slab pool, found by the token's hash in a table of
 * buckets (a hit touches the bucket and its entry, not the 16 or more
 * nodes of a tree that a zone of 50,000 tokens has), and by the Redis
 * keys they were read from in a red-black tree: a token's
 * record, its grant (shared by every token of that app and patient), a
 * JWT's revocation key.  A key invalidation removes every entry whose key
 * has the same 32-bit hash; a collision only costs a re-read.
 *
 * An entry is served as a hit only while the invalidation feeds that
 * cover the keys it was read from are the ones that were up when it was
 * filled: each worker has a slot with the epoch of the feed of each node
 * it reads from (one Redis, or a cluster's primaries), moved on at every
 * loss.  A slot of a cluster moved to another primary drops the entries
 * whose keys were read in that slot from the primary it left.  A reload
 * starts a new generation; entries of another generation are never
 * served (the old workers' configuration differs).
 *
 * A read that was in flight while any invalidation arrived does not fill:
 * its answer may predate the change that the invalidation announced.
 *
 * Tokens are chosen by clients, their hashes with them: a bucket keeps at
 * most NGX_BLUEBUTTON_CACHE_CHAIN entries, the oldest dropped for a new
 * one, so tokens made to share a bucket cost a walk of a few entries at
 * most.
 *
 * A hit takes no lock.  Every change to the table, the entries or the
 * feeds is made under the zone's mutex between two increments of a
 * sequence number (odd while changing); a hit reads the entry without
 * the mutex, every pointer checked to lie in the zone, copies it, and
 * counts only if the sequence did not move meanwhile (else the locked
 * path).  The LRU order is refreshed by a hit, under the mutex, at most
 * once a second per entry: eviction is least recently used to the
 * second.
 */

#include "ngx_bluebutton_cache.h"
#include "ngx_bluebutton_entry.h"
#include "ngx_bluebutton_keyspace.h"
#include "ngx_bluebutton_metrics.h"


#define NGX_BLUEBUTTON_CACHE_KEYS     3
#define NGX_BLUEBUTTON_CACHE_CHAIN    8
#define NGX_BLUEBUTTON_CACHE_WORKERS  NGX_MAX_PROCESSES


typedef struct {
    ngx_rbtree_node_t              node;      /* key: crc32 of a Redis key */
    void                          *entry;
    uint64_t                       epoch;     /* of the feed covering it */
    uint32_t                       node_id;   /* where it was read */
    uint16_t                       slot;
    uint8_t                        feed;      /* the node's index */
} ngx_bluebutton_cache_key_t;


typedef struct ngx_bluebutton_cache_node_s  ngx_bluebutton_cache_node_t;

struct ngx_bluebutton_cache_node_s {
    ngx_bluebutton_cache_node_t   *next;      /* in its bucket */
    uint32_t                       key;       /* token_hash's first bits */
    ngx_queue_t                    queue;
    ngx_bluebutton_cache_key_t     keys[NGX_BLUEBUTTON_CACHE_KEYS];
    ngx_uint_t                     nkeys;
    u_char                         token_hash[64];
    ngx_uint_t                     cycle;
    ngx_uint_t                     worker;
    uint32_t                       policy;
    ngx_uint_t                     kind;
    ngx_uint_t                     allow;     /* may be served stale */
    ngx_uint_t                     found;
    ngx_msec_t                     confirmed;
    ngx_msec_t                     touched;   /* its place in the LRU */
    ngx_msec_t                     expires;   /* when a key read expires */
    ngx_uint_t                     expires_set;
    time_t                         ends;      /* 0: no end of its own */
    size_t                         len;
    u_char                         data[1];
};


typedef struct {
    ngx_uint_t                     cycle;
    ngx_bluebutton_cache_epoch_t  *nodes;     /* in the zone, per node */
} ngx_bluebutton_cache_feed_t;


struct ngx_bluebutton_cache_sh_s {
    ngx_atomic_t                   seq;       /* odd while changing */
    ngx_bluebutton_cache_node_t  **buckets;   /* by key & mask */
    ngx_uint_t                     mask;
    ngx_rbtree_t                   keys;
    ngx_rbtree_node_t              keys_sentinel;
    ngx_queue_t                    lru;
    ngx_uint_t                     cycle;
    ngx_uint_t                     entries;
    ngx_atomic_t                   invalidations;
    ngx_bluebutton_cache_feed_t    feeds[NGX_BLUEBUTTON_CACHE_WORKERS];
};


static ngx_int_t ngx_bluebutton_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static char *ngx_bluebutton_cache_mixed(ngx_conf_t *cf,
    ngx_bluebutton_cache_t *cache);
static ngx_int_t ngx_bluebutton_cache_peek(ngx_bluebutton_cache_t *cache,
    ngx_bluebutton_ctx_t *ctx, ngx_uint_t kind, uint32_t policy,
    u_char *buf, size_t *len, ngx_msec_t *touched);
static void ngx_bluebutton_cache_touch(ngx_bluebutton_cache_t *cache,
    u_char *token_hash);
static void ngx_bluebutton_cache_link(ngx_bluebutton_cache_t *cache,
    ngx_bluebutton_cache_node_t *cn);
static ngx_bluebutton_cache_node_t *ngx_bluebutton_cache_lookup(
    ngx_bluebutton_cache_t *cache, u_char *token_hash);
static ngx_int_t ngx_bluebutton_cache_walk(ngx_bluebutton_cache_t *cache,
    u_char *token_hash, ngx_bluebutton_cache_node_t **found);
static ngx_uint_t ngx_bluebutton_cache_trusted(ngx_bluebutton_cache_t *cache,
    ngx_bluebutton_cache_node_t *cn);
static void ngx_bluebutton_cache_delete(ngx_bluebutton_cache_t *cache,
    ngx_bluebutton_cache_node_t *cn);
static void *ngx_bluebutton_cache_alloc(ngx_bluebutton_cache_t *cache,
    size_t size);
static size_t ngx_bluebutton_cache_keys(ngx_bluebutton_ctx_t *ctx,
    ngx_str_t *prefix, u_char *buf, size_t size, ngx_str_t *keys);


static const char  *ngx_bluebutton_cache_names[] = {
    "", "HIT", "MISS", "EXPIRED", "STALE", "BYPASS"
};


/* a packed entry larger than this is found by the locked path */
#define NGX_BLUEBUTTON_CACHE_PEEK_MAX  4096

/* a hit moves its entry up the LRU at most this often */
#define NGX_BLUEBUTTON_CACHE_TOUCH     1000

/* longer than a bucket can be: a bucket in change */
#define NGX_BLUEBUTTON_CACHE_DEPTH     (NGX_BLUEBUTTON_CACHE_CHAIN + 1)


/* the mutex, with the sequence odd until it is released */
static ngx_inline void
ngx_bluebutton_cache_change(ngx_bluebutton_cache_t *cache)
{
    ngx_shmtx_lock(&cache->shpool->mutex);
    cache->sh->seq++;
    ngx_memory_barrier();
}


static ngx_inline void
ngx_bluebutton_cache_changed(ngx_bluebutton_cache_t *cache)
{
    ngx_memory_barrier();
    cache->sh->seq++;
    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/* a pointer read without the mutex: is the object it names in the zone */
static ngx_inline ngx_uint_t
ngx_bluebutton_cache_inside(ngx_bluebutton_cache_t *cache, void *p,
    size_t size)
{
    return (u_char *) p >= cache->shpool->start
           && (u_char *) p + size <= cache->shpool->end
           && (u_char *) p + size > (u_char *) p;
}


char *
ngx_bluebutton_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_bluebutton_srv_conf_t  *bscf = conf;

    u_char                  *p;
    ssize_t                  size;
    ngx_str_t               *value, name, s;
    ngx_msec_t               ttl, negative_ttl;
    ngx_uint_t               i;
    ngx_shm_zone_t          *shm_zone;
    ngx_bluebutton_cache_t  *cache;

    if (bscf->cache != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    name.len = 0;
    size = 0;
    ttl = 60000;
    negative_ttl = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" needs a size: zone=NAME:SIZE",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);

            if (name.len == 0 || size == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid zone \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (size < (ssize_t) (32 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "zone \"%V\" is too small: at least "
                                   "%uzk", &name, 32 * ngx_pagesize / 1024);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0
            || ngx_strncmp(value[i].data, "negative_ttl=", 13) == 0)
        {
            p = (u_char *) ngx_strchr(value[i].data, '=') + 1;
            s.data = p;
            s.len = value[i].data + value[i].len - p;

            if (value[i].data[0] == 't') {
                ttl = ngx_parse_time(&s, 0);

                if (ttl == (ngx_msec_t) NGX_ERROR || ttl == 0) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "invalid \"%V\": a positive time "
                                       "is needed", &value[i]);
                    return NGX_CONF_ERROR;
                }

            } else {
                negative_ttl = ngx_parse_time(&s, 0);

                if (negative_ttl == (ngx_msec_t) NGX_ERROR) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "invalid \"%V\"", &value[i]);
                    return NGX_CONF_ERROR;
                }
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "off") == 0 && cf->args->nelts == 2) {
            bscf->cache = NULL;
            return NGX_CONF_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have the \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (negative_ttl > ttl) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"negative_ttl\" must not exceed \"ttl\"");
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, size, &ngx_bluebutton_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cache zone \"%V\" is already declared", &name);
        return NGX_CONF_ERROR;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    cache->shm_zone = shm_zone;
    cache->ttl = ttl;
    cache->negative_ttl = negative_ttl;

    shm_zone->init = ngx_bluebutton_cache_init_zone;
    shm_zone->data = cache;

    bscf->cache = cache;

    return NGX_CONF_OK;
}


char *
ngx_bluebutton_cache_bind(ngx_conf_t *cf, ngx_bluebutton_srv_conf_t *bscf)
{
    ngx_bluebutton_store_t   *store;
    ngx_bluebutton_cache_t   *cache, **cp;

    cache = bscf->cache;
    store = bscf->store;

    if (cache == NULL || store == NULL) {
        return NGX_CONF_OK;
    }

    if (cache->store == store
        && cache->prefix.len == bscf->prefix.len
        && ngx_strncmp(cache->prefix.data, bscf->prefix.data,
                       bscf->prefix.len) == 0)
    {
        return NGX_CONF_OK;
    }

    if (cache->store) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cache zone \"%V\" is used with another "
                           "\"bluebutton_redis\" or "
                           "\"bluebutton_redis_prefix\": a zone caches one "
                           "Redis and one prefix", &cache->shm_zone->shm.name);
        return NGX_CONF_ERROR;
    }

    if (cache->storeless) {
        return ngx_bluebutton_cache_mixed(cf, cache);
    }

    cache->store = store;
    cache->prefix = bscf->prefix;

    if (store->caches == NULL) {
        store->caches = ngx_array_create(cf->pool, 1,
                                         sizeof(ngx_bluebutton_cache_t *));
        if (store->caches == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    cp = ngx_array_push(store->caches);
    if (cp == NULL) {
        return NGX_CONF_ERROR;
    }

    *cp = cache;

    return NGX_CONF_OK;
}


char *
ngx_bluebutton_cache_bind_storeless(ngx_conf_t *cf,
    ngx_bluebutton_cache_t *cache)
{
    ngx_bluebutton_cache_t      **cp;
    ngx_bluebutton_main_conf_t   *bmcf;

    if (cache->store) {
        return ngx_bluebutton_cache_mixed(cf, cache);
    }

    if (cache->storeless) {
        return NGX_CONF_OK;
    }

    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_bluebutton_module);

    cp = ngx_array_push(&bmcf->storeless);
    if (cp == NULL) {
        return NGX_CONF_ERROR;
    }

    *cp = cache;
    cache->storeless = 1;

    return NGX_CONF_OK;
}


/*
 * An answer cached where no Redis is read had no grant checked: it must
 * never be served where one would be.
 */
static char *
ngx_bluebutton_cache_mixed(ngx_conf_t *cf, ngx_bluebutton_cache_t *cache)
{
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "cache zone \"%V\" is used by a server with Redis "
                       "and by one with introspection and no Redis: give "
                       "each its own zone", &cache->shm_zone->shm.name);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_bluebutton_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_bluebutton_cache_t  *ocache = data;

    size_t                   len, n;
    ngx_bluebutton_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache) {
        /* a reload: the entries stay, but only for the old workers */

        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        cache->cycle = ++cache->sh->cycle;

        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        cache->cycle = ++cache->sh->cycle;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool,
                               sizeof(ngx_bluebutton_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(cache->sh, sizeof(ngx_bluebutton_cache_sh_t));

    cache->shpool->data = cache->sh;

    /* a bucket for each KiB of the zone, the room an entry takes */

    n = 64;

    while (n < shm_zone->shm.size / 1024 && n < 0x10000000) {
        n *= 2;
    }

    len = n * sizeof(ngx_bluebutton_cache_node_t *);

    cache->sh->buckets = ngx_slab_calloc(cache->shpool, len);
    if (cache->sh->buckets == NULL) {
        return NGX_ERROR;
    }

    cache->sh->mask = n - 1;

    ngx_rbtree_init(&cache->sh->keys, &cache->sh->keys_sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&cache->sh->lru);

    cache->cycle = cache->sh->cycle = 1;

    len = sizeof(" in bluebutton cache zone \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in bluebutton cache zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone evicts; it is not an error worth a log line */
    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * A new entry goes first in its bucket; a bucket that is full loses its
 * last, the oldest there.
 */
static void
ngx_bluebutton_cache_link(ngx_bluebutton_cache_t *cache,
    ngx_bluebutton_cache_node_t *cn)
{
    ngx_uint_t                     n;
    ngx_bluebutton_cache_node_t  **bucket, *last;

    bucket = &cache->sh->buckets[cn->key & cache->sh->mask];

    n = 0;

    for (last = *bucket; last != NULL; last = last->next) {
        if (++n == NGX_BLUEBUTTON_CACHE_CHAIN) {
            ngx_bluebutton_cache_delete(cache, last);
            ngx_bluebutton_metrics_cache_event(NGX_BLUEBUTTON_CACHE_EVICTED,
                                               1);
            break;
        }
    }

    cn->next = *bucket;

    /* the entry is whole before a reader without the mutex can reach it */
    ngx_memory_barrier();

    *bucket = cn;
}


/* the token hash is SHA-256 already: its first 32 bits are the key */
static ngx_inline uint32_t
ngx_bluebutton_cache_token_key(u_char *token_hash)
{
    return (uint32_t) ngx_hextoi(token_hash, 8);
}


static ngx_bluebutton_cache_node_t *
ngx_bluebutton_cache_lookup(ngx_bluebutton_cache_t *cache, u_char *token_hash)
{
    ngx_bluebutton_cache_node_t  *cn;

    /* under the mutex the walk always ends */

    return ngx_bluebutton_cache_walk(cache, token_hash, &cn) == NGX_OK
           ? cn : NULL;
}


/*
 * The token's entry.  NGX_DECLINED: none.  The walk may be made without
 * the mutex: an entry outside the zone or a bucket longer than one can be
 * is a bucket in change, NGX_AGAIN.
 */
static ngx_int_t
ngx_bluebutton_cache_walk(ngx_bluebutton_cache_t *cache, u_char *token_hash,
    ngx_bluebutton_cache_node_t **found)
{
    uint32_t                      key;
    ngx_uint_t                    depth;
    ngx_bluebutton_cache_node_t  *cn;

    key = ngx_bluebutton_cache_token_key(token_hash);

    cn = cache->sh->buckets[key & cache->sh->mask];

    for (depth = 0; cn != NULL; depth++) {

        if (depth == NGX_BLUEBUTTON_CACHE_DEPTH
            || !ngx_bluebutton_cache_inside(cache, cn, sizeof(*cn)))
        {
            return NGX_AGAIN;
        }

        if (cn->key == key && ngx_memcmp(token_hash, cn->token_hash, 64) == 0)
        {
            *found = cn;
            return NGX_OK;
        }

        cn = cn->next;
    }

    return NGX_DECLINED;
}


/* the feeds that would have announced a change to the entry are still up */
static ngx_uint_t
ngx_bluebutton_cache_trusted(ngx_bluebutton_cache_t *cache,
    ngx_bluebutton_cache_node_t *cn)
{
    ngx_uint_t                     i;
    ngx_bluebutton_cache_feed_t   *feed;
    ngx_bluebutton_cache_epoch_t  *nodes, *e;

    if (cn->nkeys == 0) {
        /* an introspection answer with no Redis key: its ttl bounds it */
        return cn->cycle == cache->cycle;
    }

    /* every index bounded: a hit reads the entry without the mutex */

    if (cn->nkeys > NGX_BLUEBUTTON_CACHE_KEYS
        || cn->worker >= NGX_BLUEBUTTON_CACHE_WORKERS)
    {
        return 0;
    }

    feed = &cache->sh->feeds[cn->worker];
    nodes = feed->nodes;

    if (cn->cycle != cache->cycle || feed->cycle != cn->cycle
        || !ngx_bluebutton_cache_inside(cache, nodes,
                                        NGX_BLUEBUTTON_CACHE_NODES
                                        * sizeof(ngx_bluebutton_cache_epoch_t)))
    {
        return 0;
    }

    for (i = 0; i < cn->nkeys; i++) {
        if (cn->keys[i].feed >= NGX_BLUEBUTTON_CACHE_NODES) {
            return 0;
        }

        e = &nodes[cn->keys[i].feed];

        if (!e->up || e->epoch != cn->keys[i].epoch) {
            return 0;
        }
    }

    return 1;
}


void
ngx_bluebutton_cache_find(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_srv_conf_t *bscf, ngx_uint_t kind, uint32_t policy,
    ngx_msec_t stale_if_error)
{
    u_char                        buf[NGX_BLUEBUTTON_CACHE_PEEK_MAX];
    size_t                        len;
    ngx_int_t                     rc;
    ngx_msec_t                    age, ttl, touched;
    bb_entry_t                   *e;
    ngx_uint_t                    usable, trusted;
    ngx_bluebutton_cache_t       *cache;
    ngx_bluebutton_cache_node_t  *cn;

    cache = bscf->cache;

    if (cache == NULL || (cache->store == NULL && !cache->storeless)
        || cache->untrackable)
    {
        ctx->cache_status = NGX_BLUEBUTTON_CACHE_BYPASS;
        return;
    }

    ctx->cache_status = NGX_BLUEBUTTON_CACHE_MISS;

    rc = ngx_bluebutton_cache_peek(cache, ctx, kind, policy, buf, &len,
                                   &touched);

    if (rc == NGX_DECLINED) {
        /* no entry at all, as of a moment no change was under way */
        return;
    }

    if (rc == NGX_OK) {
        e = ngx_palloc(r->pool, sizeof(bb_entry_t));

        if (e != NULL && bb_entry_unpack(buf, len, e) == 0) {
            ctx->entry = e;
            ctx->cache_status = NGX_BLUEBUTTON_CACHE_HIT;

            if (ngx_current_msec - touched >= NGX_BLUEBUTTON_CACHE_TOUCH) {
                ngx_bluebutton_cache_touch(cache, ctx->token_hash);
            }

            return;
        }
    }

    /* anything else, or a change under way: the same, under the mutex */

    ngx_bluebutton_cache_change(cache);

    cn = ngx_bluebutton_cache_lookup(cache, ctx->token_hash);

    if (cn == NULL) {
        goto done;
    }

    if (cn->ends && ngx_time() >= cn->ends) {
        /* past the token's exp or the grant's end: never true again */
        ngx_bluebutton_cache_delete(cache, cn);
        goto done;
    }

    if (cn->expires_set
        && (ngx_msec_int_t) (cn->expires - ngx_current_msec) <= 0)
    {
        /* a key it was read from has expired in Redis, announced or not */
        ngx_bluebutton_cache_delete(cache, cn);
        ctx->cache_status = NGX_BLUEBUTTON_CACHE_EXPIRED;
        goto done;
    }

    if (cn->kind != kind || cn->policy != policy || cn->cycle != cache->cycle)
    {
        goto done;
    }

    age = ngx_current_msec - cn->confirmed;
    ttl = cn->found ? cache->ttl : cache->negative_ttl;
    trusted = ngx_bluebutton_cache_trusted(cache, cn);

    usable = trusted && age < ttl;

    if (!usable
        && !(stale_if_error && cn->allow && age < stale_if_error))
    {
        ctx->cache_status = NGX_BLUEBUTTON_CACHE_EXPIRED;
        goto done;
    }

    e = ngx_palloc(r->pool, sizeof(bb_entry_t));
    if (e == NULL) {
        goto done;
    }

    if (bb_entry_unpack(cn->data, cn->len, e) != 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "bluebutton: a cache entry does not read back");
        ngx_bluebutton_cache_delete(cache, cn);
        goto done;
    }

    if (usable) {
        ngx_queue_remove(&cn->queue);
        ngx_queue_insert_head(&cache->sh->lru, &cn->queue);
        cn->touched = ngx_current_msec;

        ctx->entry = e;
        ctx->cache_status = NGX_BLUEBUTTON_CACHE_HIT;

    } else {
        ctx->stale = e;
        ctx->stale_age = age;
        ctx->cache_status = NGX_BLUEBUTTON_CACHE_EXPIRED;
    }

done:

    ngx_bluebutton_cache_changed(cache);
}


/*
 * A hit without the mutex.  NGX_OK: the entry, usable as it is, copied
 * into buf; NGX_DECLINED: no entry for the token; NGX_AGAIN: anything
 * else (an entry to delete, expired, of another policy, too large, or the
 * zone changed meanwhile), for the locked path.  What is read may be torn
 * by a change; nothing read is used unless the sequence shows none.
 */
static ngx_int_t
ngx_bluebutton_cache_peek(ngx_bluebutton_cache_t *cache,
    ngx_bluebutton_ctx_t *ctx, ngx_uint_t kind, uint32_t policy,
    u_char *buf, size_t *len, ngx_msec_t *touched)
{
    size_t                        n;
    ngx_int_t                     rc;
    ngx_msec_t                    ttl;
    ngx_atomic_uint_t             seq;
    ngx_bluebutton_cache_node_t  *cn;

    seq = cache->sh->seq;

    if (seq & 1) {
        return NGX_AGAIN;
    }

    ngx_memory_barrier();

    rc = ngx_bluebutton_cache_walk(cache, ctx->token_hash, &cn);

    if (rc == NGX_DECLINED) {
        ngx_memory_barrier();
        return cache->sh->seq == seq ? NGX_DECLINED : NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return NGX_AGAIN;
    }

    if ((cn->ends && ngx_time() >= cn->ends)
        || (cn->expires_set
            && (ngx_msec_int_t) (cn->expires - ngx_current_msec) <= 0)
        || cn->kind != kind || cn->policy != policy)
    {
        return NGX_AGAIN;
    }

    ttl = cn->found ? cache->ttl : cache->negative_ttl;

    /* the feeds that would have announced a change are still up */

    if (ngx_current_msec - cn->confirmed >= ttl
        || !ngx_bluebutton_cache_trusted(cache, cn))
    {
        return NGX_AGAIN;
    }

    n = cn->len;

    if (n > NGX_BLUEBUTTON_CACHE_PEEK_MAX
        || !ngx_bluebutton_cache_inside(cache, cn->data, n))
    {
        return NGX_AGAIN;
    }

    ngx_memcpy(buf, cn->data, n);
    *touched = cn->touched;

    ngx_memory_barrier();

    if (cache->sh->seq != seq) {
        return NGX_AGAIN;
    }

    *len = n;

    return NGX_OK;
}


/* the LRU order, refreshed by a hit now and then */
static void
ngx_bluebutton_cache_touch(ngx_bluebutton_cache_t *cache, u_char *token_hash)
{
    ngx_bluebutton_cache_node_t  *cn;

    /* the tree is not changed: lock-free readers need not look again */

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_bluebutton_cache_lookup(cache, token_hash);

    if (cn) {
        ngx_queue_remove(&cn->queue);
        ngx_queue_insert_head(&cache->sh->lru, &cn->queue);
        cn->touched = ngx_current_msec;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


void
ngx_bluebutton_cache_sending(ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_srv_conf_t *bscf)
{
    ngx_bluebutton_cache_t  *cache;

    cache = bscf->cache;

    if (cache == NULL || ctx->fill_set) {
        /* a lookup's second read fills as of its first */
        return;
    }

    ctx->fill_set = 1;
    ctx->fill_seq = cache->sh->invalidations;
}


void
ngx_bluebutton_cache_fill(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_srv_conf_t *bscf)
{
    u_char                        buf[3 * 512];
    size_t                        len;
    time_t                        ends;
    ngx_str_t                     keys[NGX_BLUEBUTTON_CACHE_KEYS];
    uint32_t                        crc;
    ngx_uint_t                      i, j, nkeys, worker;
    ngx_msec_t                      ttl;
    bb_entry_t                     *e;
    ngx_bluebutton_cache_t         *cache;
    ngx_bluebutton_cache_node_t    *cn;
    ngx_bluebutton_redis_source_t  *src[NGX_BLUEBUTTON_CACHE_KEYS];

    cache = bscf->cache;
    e = ctx->entry;

    if (cache == NULL || e == NULL || !ctx->fill_set || ctx->ttl_unknown
        || ctx->cache_status == NGX_BLUEBUTTON_CACHE_BYPASS
        || ctx->ttl_due
        || (ctx->expires_set
            && (ngx_msec_int_t) (ctx->expires - ngx_current_msec) <= 0))
    {
        return;
    }

    ttl = e->found ? cache->ttl : cache->negative_ttl;
    worker = ngx_worker;

    if (ttl == 0 || worker >= NGX_BLUEBUTTON_CACHE_WORKERS) {
        return;
    }

    ends = (time_t) bb_entry_ends(e);

    if (ends && ngx_time() >= ends) {
        return;
    }

    /* with no Redis at all, nothing was read from it */

    nkeys = cache->storeless
            ? 0 : ngx_bluebutton_cache_keys(ctx, &cache->prefix, buf,
                                             sizeof(buf), keys);

    /*
     * Only an introspection answer may stand on no Redis key at all: an
     * inactive token, kept no longer than its ttl (ctx->expires)
     */

    if (nkeys == (size_t) -1 || (nkeys == 0 && !ctx->introspected)) {
        return;
    }

    /*
     * Each key was read on a connection whose tracking was sent before
     * the read, is confirmed now, and was not lost in between.
     */

    for (i = 0; i < nkeys; i++) {
        crc = ngx_crc32_short(keys[i].data, keys[i].len);
        src[i] = NULL;

        for (j = 0; j < ctx->sources.n; j++) {
            if (ctx->sources.src[j].key == crc) {
                src[i] = &ctx->sources.src[j];
                break;
            }
        }

        if (src[i] == NULL || !src[i]->tracked
            || src[i]->node >= NGX_BLUEBUTTON_CACHE_NODES
            || !cache->nodes[src[i]->node].up
            || cache->nodes[src[i]->node].epoch != src[i]->epoch)
        {
            return;
        }
    }

    len = bb_entry_size(e);

    ngx_bluebutton_cache_change(cache);

    if (cache->sh->invalidations != ctx->fill_seq) {
        /* what was read may be what an invalidation since then replaced */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "bluebutton: not cached: invalidated meanwhile");
        goto done;
    }

    cn = ngx_bluebutton_cache_lookup(cache, ctx->token_hash);

    if (cn) {
        ngx_bluebutton_cache_delete(cache, cn);
    }

    cn = ngx_bluebutton_cache_alloc(cache,
                                     offsetof(ngx_bluebutton_cache_node_t,
                                              data) + len);
    if (cn == NULL) {
        goto done;
    }

    ngx_memcpy(cn->token_hash, ctx->token_hash, 64);
    cn->key = ngx_bluebutton_cache_token_key(ctx->token_hash);
    cn->cycle = cache->cycle;
    cn->worker = worker;
    cn->policy = ctx->cache_policy;
    cn->kind = e->kind;
    cn->found = e->found;
    cn->allow = ctx->decision == BB_DECISION_ALLOW;
    cn->confirmed = ngx_current_msec;
    cn->touched = ngx_current_msec;
    cn->expires = ctx->expires;
    cn->expires_set = ctx->expires_set;
    cn->ends = ends;
    cn->len = bb_entry_pack(e, cn->data);
    cn->nkeys = nkeys;

    for (i = 0; i < nkeys; i++) {
        cn->keys[i].node.key = src[i]->key;
        cn->keys[i].entry = cn;
        cn->keys[i].epoch = src[i]->epoch;
        cn->keys[i].node_id = src[i]->node_id;
        cn->keys[i].slot = (uint16_t) src[i]->slot;
        cn->keys[i].feed = (uint8_t) src[i]->node;
        ngx_rbtree_insert(&cache->sh->keys, &cn->keys[i].node);
    }

    ngx_bluebutton_cache_link(cache, cn);
    ngx_queue_insert_head(&cache->sh->lru, &cn->queue);
    cache->sh->entries++;

done:

    ngx_bluebutton_cache_changed(cache);
}


/* the Redis keys the entry was read from */
static size_t
ngx_bluebutton_cache_keys(ngx_bluebutton_ctx_t *ctx, ngx_str_t *prefix,
    u_char *buf, size_t size, ngx_str_t *keys)
{
    u_char      *p, *last;
    size_t       n;
    bb_entry_t  *e;

    e = ctx->entry;
    p = buf;
    last = buf + size;
    n = 0;

    /* an introspected token has no record in Redis, only its grant */

    if (e->kind == BB_ENTRY_OPAQUE && !ctx->introspected) {
        keys[n].data = p;
        p = ngx_bluebutton_token_key(p, last, prefix, ctx->token_hash);
        keys[n].len = p - keys[n].data;
        n++;
    }

    if (e->found) {
        keys[n].data = p;
        p = ngx_bluebutton_grant_key(p, last, prefix, e->token.client_id,
                                     e->token.patient);
        keys[n].len = p - keys[n].data;
        n++;

        if (e->kind == BB_ENTRY_JWT && e->token.jti[0]) {
            keys[n].data = p;
            p = ngx_bluebutton_revoked_key(p, last, prefix, e->token.jti);
            keys[n].len = p - keys[n].data;
            n++;
        }
    }

    /* a key cut short would not match its invalidation */
    return p < last ? n : (size_t) -1;
}


static void *
ngx_bluebutton_cache_alloc(ngx_bluebutton_cache_t *cache, size_t size)
{
    void                         *p;
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_bluebutton_cache_node_t  *cn;

    p = ngx_slab_alloc_locked(cache->shpool, size);

    /* full: the least recently used entries make room */

    for (n = 0; p == NULL && n < 64; n++) {
        if (ngx_queue_empty(&cache->sh->lru)) {
            return NULL;
        }

        q = ngx_queue_last(&cache->sh->lru);
        cn = ngx_queue_data(q, ngx_bluebutton_cache_node_t, queue);

        ngx_bluebutton_cache_delete(cache, cn);
        ngx_bluebutton_metrics_cache_event(NGX_BLUEBUTTON_CACHE_EVICTED, 1);

        p = ngx_slab_alloc_locked(cache->shpool, size);
    }

    return p;
}


static void
ngx_bluebutton_cache_delete(ngx_bluebutton_cache_t *cache,
    ngx_bluebutton_cache_node_t *cn)
{
    ngx_uint_t                     i;
    ngx_bluebutton_cache_node_t  **p;

    for (i = 0; i < cn->nkeys; i++) {
        ngx_rbtree_delete(&cache->sh->keys, &cn->keys[i].node);
    }

    for (p = &cache->sh->buckets[cn->key & cache->sh->mask];
         *p != NULL;
         p = &(*p)->next)
    {
        if (*p == cn) {
            *p = cn->next;
            break;
        }
    }
    ngx_queue_remove(&cn->queue);
    cache->sh->entries--;

    ngx_slab_free_locked(cache->shpool, cn);
}


void
ngx_bluebutton_cache_invalidate(ngx_bluebutton_cache_t *cache, u_char *key,
    size_t len)
{
    uint32_t                      hash;
    ngx_uint_t                    n;
    ngx_rbtree_node_t            *node, *sentinel;
    ngx_bluebutton_cache_key_t   *ck;

    hash = ngx_crc32_short(key, len);
    n = 0;

    ngx_bluebutton_cache_change(cache);

    cache->sh->invalidations++;

    sentinel = cache->sh->keys.sentinel;

    /* equal keys may sit on both sides after rotations: search again */

    for ( ;; ) {
        node = cache->sh->keys.root;

        while (node != sentinel && node->key != hash) {
            node = hash < node->key ? node->left : node->right;
        }

        if (node == sentinel) {
            break;
        }

        ck = (ngx_bluebutton_cache_key_t *) node;

        ngx_bluebutton_cache_delete(cache, ck->entry);
        n++;
    }

    ngx_bluebutton_cache_changed(cache);

    ngx_bluebutton_metrics_cache_event(NGX_BLUEBUTTON_CACHE_INVALIDATED, n);
}


void
ngx_bluebutton_cache_flush(ngx_bluebutton_cache_t *cache)
{
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_bluebutton_cache_node_t  *cn;

    ngx_bluebutton_cache_change(cache);

    cache->sh->invalidations++;
    n = cache->sh->entries;

    while (!ngx_queue_empty(&cache->sh->lru)) {
        q = ngx_queue_head(&cache->sh->lru);
        cn = ngx_queue_data(q, ngx_bluebutton_cache_node_t, queue);
        ngx_bluebutton_cache_delete(cache, cn);
    }

    ngx_bluebutton_cache_changed(cache);

    ngx_bluebutton_metrics_cache_event(NGX_BLUEBUTTON_CACHE_INVALIDATED, n);
}


void
ngx_bluebutton_cache_feed(ngx_bluebutton_cache_t *cache, ngx_uint_t node,
    uint64_t epoch, ngx_uint_t up)
{
    ngx_uint_t                     i, drop;
    ngx_queue_t                   *q, *next;
    ngx_bluebutton_cache_feed_t   *feed;
    ngx_bluebutton_cache_node_t   *cn;

    if (ngx_worker >= NGX_BLUEBUTTON_CACHE_WORKERS || cache->sh == NULL
        || node >= NGX_BLUEBUTTON_CACHE_NODES)
    {
        return;
    }

    cache->nodes[node].epoch = epoch;
    cache->nodes[node].up = up;

    ngx_bluebutton_cache_change(cache);

    feed = &cache->sh->feeds[ngx_worker];

    /* a worker of an older configuration leaves the slot to the new one */

    if (feed->cycle > cache->cycle) {
        goto done;
    }

    if (feed->nodes == NULL) {
        /* kept for the worker's slot across reloads: never freed */
        feed->nodes = ngx_slab_calloc_locked(cache->shpool,
                                             NGX_BLUEBUTTON_CACHE_NODES
                                             * sizeof(
                                                 ngx_bluebutton_cache_epoch_t));
        if (feed->nodes == NULL) {
            goto done;
        }
    }

    if (feed->cycle != cache->cycle) {
        ngx_memzero(feed->nodes, NGX_BLUEBUTTON_CACHE_NODES
                                 * sizeof(ngx_bluebutton_cache_epoch_t));
        feed->cycle = cache->cycle;
    }

    feed->nodes[node].epoch = epoch;
    feed->nodes[node].up = up;

    cache->sh->invalidations++;

    if (!up) {
        goto done;
    }

    /*
     * Back: what this worker read on the node before the loss may have
     * missed its invalidation; kept for stale_if_error while the feed was
     * down, it goes now.
     */

    for (q = ngx_queue_head(&cache->sh->lru);
         q != ngx_queue_sentinel(&cache->sh->lru);
         q = next)
    {
        next = ngx_queue_next(q);
        cn = ngx_queue_data(q, ngx_bluebutton_cache_node_t, queue);

        if (cn->worker != ngx_worker) {
            continue;
        }

        drop = 0;

        for (i = 0; i < cn->nkeys; i++) {
            if (cn->keys[i].feed == node && cn->keys[i].epoch != epoch) {
                drop = 1;
            }
        }

        if (drop) {
            ngx_bluebutton_cache_delete(cache, cn);
        }
    }

done:

    ngx_bluebutton_cache_changed(cache);
}


void
ngx_bluebutton_cache_untrackable(ngx_bluebutton_cache_t *cache,
    ngx_uint_t refused)
{
    if (refused) {
        cache->untrackable++;

    } else if (cache->untrackable) {
        cache->untrackable--;
    }
}


void
ngx_bluebutton_cache_moved(ngx_bluebutton_cache_t *cache,
    const uint32_t *moved)
{
    ngx_uint_t                    i, n, drop;
    ngx_queue_t                  *q, *next;
    ngx_bluebutton_cache_node_t  *cn;

    if (cache->sh == NULL) {
        return;
    }

    n = 0;

    ngx_bluebutton_cache_change(cache);

    /* a read in flight may have gone to the primary the slot left */
    cache->sh->invalidations++;

    for (q = ngx_queue_head(&cache->sh->lru);
         q != ngx_queue_sentinel(&cache->sh->lru);
         q = next)
    {
        next = ngx_queue_next(q);
        cn = ngx_queue_data(q, ngx_bluebutton_cache_node_t, queue);

        drop = 0;

        for (i = 0; i < cn->nkeys; i++) {
            if (cn->keys[i].node_id
                && moved[cn->keys[i].slot] == cn->keys[i].node_id)
            {
                drop = 1;
            }
        }

        if (drop) {
            ngx_bluebutton_cache_delete(cache, cn);
            n++;
        }
    }

    ngx_bluebutton_cache_changed(cache);

    ngx_bluebutton_metrics_cache_event(NGX_BLUEBUTTON_CACHE_INVALIDATED, n);
}


ngx_uint_t
ngx_bluebutton_cache_entries(ngx_http_request_t *r)
{
    ngx_uint_t                   i, j, n;
    ngx_bluebutton_store_t     **stores;
    ngx_bluebutton_cache_t     **caches;
    ngx_bluebutton_main_conf_t  *bmcf;

    bmcf = ngx_http_get_module_main_conf(r, ngx_bluebutton_module);

    if (bmcf == NULL) {
        return 0;
    }

    /* a zone belongs to one store, or to none: each is counted once */

    n = 0;
    caches = bmcf->storeless.elts;

    for (i = 0; i < bmcf->storeless.nelts; i++) {
        n += caches[i]->sh->entries;
    }

    stores = bmcf->stores.elts;

    for (i = 0; i < bmcf->stores.nelts; i++) {
        if (stores[i]->caches == NULL) {
            continue;
        }

        caches = stores[i]->caches->elts;

        for (j = 0; j < stores[i]->caches->nelts; j++) {
            n += caches[j]->sh->entries;
        }
    }

    return n;
}


const char *
ngx_bluebutton_cache_status_name(ngx_uint_t status)
{
    return status <= NGX_BLUEBUTTON_CACHE_BYPASS
           ? ngx_bluebutton_cache_names[status] : "";
}


/* single flight ------------------------------------------------------- */


#define NGX_BLUEBUTTON_FLIGHTS  256

static ngx_bluebutton_ctx_t  *ngx_bluebutton_flights[NGX_BLUEBUTTON_FLIGHTS];


static ngx_bluebutton_ctx_t **
ngx_bluebutton_flight_slot(ngx_bluebutton_ctx_t *ctx)
{
    return &ngx_bluebutton_flights[ngx_hextoi(ctx->token_hash, 2)
                                   & (NGX_BLUEBUTTON_FLIGHTS - 1)];
}


ngx_uint_t
ngx_bluebutton_flight_join(ngx_bluebutton_ctx_t *ctx)
{
    ngx_bluebutton_ctx_t  *leader;

    if (ctx->flown) {
        /* woken once already: the lookup it waited for did not fill */
        return 0;
    }

    leader = *ngx_bluebutton_flight_slot(ctx);

    if (leader == NULL
        || ngx_memcmp(leader->token_hash, ctx->token_hash, 64) != 0)
    {
        return 0;
    }

    ctx->flown = 1;
    ctx->joined = 1;
    ctx->waiting = 1;
    ngx_queue_insert_tail(&leader->waiters, &ctx->flight);

    return 1;
}


void
ngx_bluebutton_flight_lead(ngx_bluebutton_ctx_t *ctx)
{
    ngx_bluebutton_ctx_t  **slot;

    slot = ngx_bluebutton_flight_slot(ctx);

    if (*slot != NULL) {
        /* another token's lookup holds the slot: no single flight */
        return;
    }

    *slot = ctx;
    ctx->leading = 1;
    ngx_queue_init(&ctx->waiters);
}


void
ngx_bluebutton_flight_land(ngx_bluebutton_ctx_t *ctx)
{
    ngx_queue_t           *q;
    ngx_bluebutton_ctx_t  *w;

    if (ctx->joined) {
        /* a waiter that goes away */
        ngx_queue_remove(&ctx->flight);
        ctx->joined = 0;
        ctx->waiting = 0;
        return;
    }

    if (!ctx->leading) {
        return;
    }

    ctx->leading = 0;
    *ngx_bluebutton_flight_slot(ctx) = NULL;

    while (!ngx_queue_empty(&ctx->waiters)) {
        q = ngx_queue_head(&ctx->waiters);
        ngx_queue_remove(q);

        w = ngx_queue_data(q, ngx_bluebutton_ctx_t, flight);
        w->joined = 0;
        w->waiting = 0;

        ngx_post_event(&w->resume, &ngx_posted_events);
    }
}
