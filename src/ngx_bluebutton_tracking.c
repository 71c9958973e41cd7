
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Redis 6+ CLIENT TRACKING in its RESP2 form: the lookup connection says
 * "CLIENT TRACKING on REDIRECT <id>", where <id> is the client id of a
 * second connection of the same worker, subscribed to
 * __redis__:invalidate.  Each worker has its own pair, so that the feed
 * and the reads it covers live and die together; the entries they fill
 * are shared by all workers through the zone.
 *
 * With a cache the lookups read with plain GET and MGET: Redis 7.0 does
 * not track keys a script reads beyond its KEYS.
 *
 * The tracking in force has an epoch, moved on whenever it is sent anew
 * and whenever either connection is lost.  A read fills the cache only
 * when the epoch it was sent under is still the one in force when its
 * answer comes, and only once Redis has confirmed the tracking.
 */

#include "ngx_bluebutton_tracking.h"
#include "ngx_bluebutton_cache.h"
#include "ngx_bluebutton_metrics.h"


static void ngx_bluebutton_tracking_feed_connect(
    ngx_bluebutton_redis_peer_t *feed);
static void ngx_bluebutton_tracking_client_id(void *data, redisReply *rr,
    const char *err);
static void ngx_bluebutton_tracking_subscribed(void *data, redisReply *rr,
    const char *err);
static void ngx_bluebutton_tracking_message(ngx_bluebutton_redis_peer_t *feed,
    redisReply *rr);
static void ngx_bluebutton_tracking_feed_close(
    ngx_bluebutton_redis_peer_t *feed);
static void ngx_bluebutton_tracking_connect(
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_tracking_send(ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_tracking_reply(void *data, redisReply *rr,
    const char *err);
static void ngx_bluebutton_tracking_close(ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_tracking_lost(ngx_bluebutton_redis_peer_t *peer,
    const char *what);
static void ngx_bluebutton_tracking_refused(ngx_bluebutton_redis_peer_t *peer,
    const char *command, const char *err);
static void ngx_bluebutton_tracking_caches(ngx_bluebutton_redis_peer_t *peer,
    ngx_uint_t up);
static void ngx_bluebutton_tracking_refusing(ngx_bluebutton_redis_peer_t *peer,
    ngx_uint_t refusing);


static char  ngx_bluebutton_tracking_channel[] = "__redis__:invalidate";


ngx_int_t
ngx_bluebutton_tracking_init(ngx_bluebutton_redis_peer_t *peer,
    ngx_cycle_t *cycle)
{
    ngx_bluebutton_redis_peer_t  *feed;

    feed = ngx_pcalloc(cycle->pool, sizeof(ngx_bluebutton_redis_peer_t));
    if (feed == NULL) {
        return NGX_ERROR;
    }

    feed->conf = peer->conf;
    feed->log = cycle->log;
    feed->state = NGX_BLUEBUTTON_REDIS_UNTRIED;
    feed->owner = peer;
    feed->on_connect = ngx_bluebutton_tracking_feed_connect;
    feed->on_close = ngx_bluebutton_tracking_feed_close;
    feed->on_message = ngx_bluebutton_tracking_message;
    feed->name = peer->name;
    feed->node = peer->node;

    /* the feed goes wherever the lookups go */
    feed->locate = peer->locate;
    feed->unlocate = peer->unlocate;
    feed->on_handshake = peer->on_handshake;
    feed->locator = peer->locator;

    peer->feed = feed;
    peer->on_connect = ngx_bluebutton_tracking_connect;
    peer->on_close = ngx_bluebutton_tracking_close;

    /*
     * Epochs are told apart across processes: a worker started again
     * after a crash must not take up its predecessor's epochs, whose
     * reads nobody tracks any more.  Its slot is down until its own
     * tracking is confirmed.
     */

    peer->epoch = (uint64_t) ngx_pid << 40
                  | (uint64_t) (ngx_time() & 0xffffff) << 16;

    ngx_bluebutton_tracking_caches(peer, 0);

    /* both now: the first requests find the cache ready */

    ngx_bluebutton_redis_open(feed);
    ngx_bluebutton_redis_open(peer);

    return NGX_OK;
}


void
ngx_bluebutton_tracking_exit(ngx_bluebutton_redis_peer_t *peer)
{
    if (peer->feed == NULL) {
        return;
    }

    ngx_bluebutton_tracking_caches(peer, 0);

    peer->on_close = NULL;
    peer->feed->on_close = NULL;

    ngx_bluebutton_redis_free(peer->feed);
    ngx_bluebutton_redis_set_state(peer->feed, NGX_BLUEBUTTON_REDIS_UNTRIED);
}


/* the subscriber: its id first, then the channel */
static void
ngx_bluebutton_tracking_feed_connect(ngx_bluebutton_redis_peer_t *feed)
{
    size_t       len[2];
    const char  *argv[2];

    feed->subscribed = 0;
    feed->client_id = 0;

    argv[0] = "CLIENT";
    len[0] = 6;
    argv[1] = "ID";
    len[1] = 2;

    (void) ngx_bluebutton_redis_send(feed, ngx_bluebutton_tracking_client_id,
                                     feed, 2, argv, len);
}


static void
ngx_bluebutton_tracking_client_id(void *data, redisReply *rr,
    const char *err)
{
    ngx_bluebutton_redis_peer_t  *feed = data;

    size_t       len[2];
    const char  *argv[2];

    if (rr == NULL) {
        return;
    }

    if (rr->type != REDIS_REPLY_INTEGER) {
        ngx_bluebutton_tracking_refused(feed->owner, "CLIENT ID",
                                        rr->type == REDIS_REPLY_ERROR
                                        ? rr->str : "an unexpected reply");
        ngx_bluebutton_redis_close(feed, "redis cannot track");
        return;
    }

    if (rr->integer <= 0) {
        ngx_bluebutton_redis_close(feed, "no client id");
        return;
    }

    feed->client_id = rr->integer;

    argv[0] = "SUBSCRIBE";
    len[0] = 9;
    argv[1] = ngx_bluebutton_tracking_channel;
    len[1] = sizeof(ngx_bluebutton_tracking_channel) - 1;

    (void) ngx_bluebutton_redis_send(feed, ngx_bluebutton_tracking_subscribed,
                                     feed, 2, argv, len);
}


static void
ngx_bluebutton_tracking_subscribed(void *data, redisReply *rr,
    const char *err)
{
    ngx_bluebutton_redis_peer_t  *feed = data;

    if (rr == NULL) {
        return;
    }

    if (rr->type != REDIS_REPLY_ARRAY || rr->elements != 3
        || rr->element[0]->type != REDIS_REPLY_STRING
        || rr->element[0]->len != 9
        || ngx_strncmp(rr->element[0]->str, "subscribe", 9) != 0)
    {
        /* an ACL without the channel */
        ngx_bluebutton_tracking_refused(feed->owner, "SUBSCRIBE",
                                        rr->type == REDIS_REPLY_ERROR
                                        ? rr->str : "an unexpected reply");
        ngx_bluebutton_redis_close(feed, "redis cannot track");
        return;
    }

    feed->subscribed = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, feed->log, 0,
                   "bluebutton: invalidation feed subscribed as client %L",
                   feed->client_id);

    if (feed->owner->open) {
        ngx_bluebutton_tracking_send(feed->owner);
    }
}


static void
ngx_bluebutton_tracking_message(ngx_bluebutton_redis_peer_t *feed,
    redisReply *rr)
{
    size_t                        i;
    redisReply                   *keys;
    ngx_uint_t                    c;
    ngx_bluebutton_cache_t      **caches;
    ngx_bluebutton_redis_peer_t  *peer;

    peer = feed->owner;

    keys = rr->element[2];
    caches = peer->caches->elts;

    for (c = 0; c < peer->caches->nelts; c++) {

        if (keys->type == REDIS_REPLY_NIL) {
            /* FLUSHALL or FLUSHDB: everything read is gone */
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, feed->log, 0,
                           "bluebutton: invalidate all");
            ngx_bluebutton_cache_flush(caches[c]);
            continue;
        }

        if (keys->type != REDIS_REPLY_ARRAY) {
            continue;
        }

        for (i = 0; i < keys->elements; i++) {
            if (keys->element[i]->type != REDIS_REPLY_STRING) {
                continue;
            }

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, feed->log, 0,
                           "bluebutton: invalidate \"%*s\"",
                           keys->element[i]->len, keys->element[i]->str);

            ngx_bluebutton_cache_invalidate(caches[c],
                                            (u_char *) keys->element[i]->str,
                                            keys->element[i]->len);
        }
    }
}


static void
ngx_bluebutton_tracking_feed_close(ngx_bluebutton_redis_peer_t *feed)
{
    feed->subscribed = 0;
    feed->client_id = 0;

    ngx_bluebutton_tracking_lost(feed->owner, "invalidation feed");

    if (feed->owner->untrackable) {
        /* no reconnecting in a loop: tried again with the lookup connection */
        feed->parked = 1;
    }
}


/* the lookup connection: tracking goes ahead of every read on it */
static void
ngx_bluebutton_tracking_connect(ngx_bluebutton_redis_peer_t *peer)
{
    peer->tracking_sent = 0;
    peer->tracking = 0;

    ngx_bluebutton_tracking_refusing(peer, 0);

    if (peer->feed->parked) {
        peer->feed->parked = 0;
        ngx_bluebutton_redis_open(peer->feed);

    } else if (peer->feed->subscribed) {
        ngx_bluebutton_tracking_send(peer);
    }
}


static void
ngx_bluebutton_tracking_send(ngx_bluebutton_redis_peer_t *peer)
{
    u_char       id[NGX_INT64_LEN];
    size_t       len[5];
    const char  *argv[5];

    argv[0] = "CLIENT";
    len[0] = 6;
    argv[1] = "TRACKING";
    len[1] = 8;
    argv[2] = "on";
    len[2] = 2;
    argv[3] = "REDIRECT";
    len[3] = 8;
    argv[4] = (const char *) id;
    len[4] = ngx_sprintf(id, "%L", peer->feed->client_id) - id;

    /* reads queued from now on are tracked, once Redis says OK */

    peer->epoch++;

    if (ngx_bluebutton_redis_send(peer, ngx_bluebutton_tracking_reply, peer,
                                  5, argv, len)
        == NULL)
    {
        return;
    }

    peer->tracking_epoch = peer->epoch;
    peer->tracking_sent = 1;
    peer->tracking = 0;
}


static void
ngx_bluebutton_tracking_reply(void *data, redisReply *rr, const char *err)
{
    ngx_bluebutton_redis_peer_t  *peer = data;

    /* a loss since it was sent moved the epoch on: this answer is old */

    if (rr == NULL || peer->tracking_epoch != peer->epoch) {
        return;
    }

    if (rr->type != REDIS_REPLY_STATUS) {
        peer->tracking_sent = 0;
        ngx_bluebutton_tracking_refused(peer, "CLIENT TRACKING",
                                        rr->type == REDIS_REPLY_ERROR
                                        ? rr->str : "an unexpected reply");
        return;
    }

    peer->tracking = 1;
    peer->refusal_logged = 0;

    if (peer->lost_at) {
        ngx_log_error(NGX_LOG_NOTICE, peer->log, 0,
                      "bluebutton: the invalidation feed from redis \"%V\" "
                      "is back after %M ms, the cache is in use again",
                      &peer->name, ngx_current_msec - peer->lost_at);
        peer->lost_at = 0;
    }

    ngx_bluebutton_tracking_caches(peer, 1);
}


static void
ngx_bluebutton_tracking_close(ngx_bluebutton_redis_peer_t *peer)
{
    /* the lookup connection's tracking ended with it */
    ngx_bluebutton_tracking_lost(peer, "lookup connection");
}


static void
ngx_bluebutton_tracking_lost(ngx_bluebutton_redis_peer_t *peer,
    const char *what)
{
    ngx_uint_t  was;

    was = peer->tracking;

    peer->tracking = 0;
    peer->tracking_sent = 0;
    peer->epoch++;

    ngx_bluebutton_tracking_caches(peer, 0);

    if (!was || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    peer->lost_at = ngx_current_msec;

    ngx_bluebutton_metrics_cache_event(NGX_BLUEBUTTON_CACHE_FEED_LOST, 1);

    ngx_log_error(NGX_LOG_WARN, peer->log, 0,
                  "bluebutton: lost the invalidation feed from redis \"%V\" "
                  "(%s closed): cached decisions are not served until it is "
                  "back", &peer->name, what);
}


static void
ngx_bluebutton_tracking_refused(ngx_bluebutton_redis_peer_t *peer,
    const char *command, const char *err)
{
    ngx_bluebutton_tracking_refusing(peer, 1);

    peer->tracking = 0;
    peer->epoch++;

    ngx_bluebutton_tracking_caches(peer, 0);

    if (peer->refusal_logged) {
        return;
    }

    peer->refusal_logged = 1;

    ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                  "bluebutton: redis \"%V\" cannot track keys for the "
                  "decision cache (%s: %s): requests are not cached; "
                  "Redis 6 or later and an ACL user allowed \"client\" and "
                  "\"subscribe\" are needed",
                  &peer->name, command, err);
}


static void
ngx_bluebutton_tracking_caches(ngx_bluebutton_redis_peer_t *peer,
    ngx_uint_t up)
{
    ngx_uint_t               c;
    ngx_bluebutton_cache_t **caches;

    if (peer->caches == NULL) {
        return;
    }

    caches = peer->caches->elts;

    for (c = 0; c < peer->caches->nelts; c++) {
        ngx_bluebutton_cache_feed(caches[c], peer->node, peer->epoch, up);
    }
}


/* the caches work uncached (BYPASS) while a node refuses to track */
static void
ngx_bluebutton_tracking_refusing(ngx_bluebutton_redis_peer_t *peer,
    ngx_uint_t refusing)
{
    ngx_uint_t               c;
    ngx_bluebutton_cache_t **caches;

    if (peer->untrackable == refusing) {
        return;
    }

    peer->untrackable = refusing;

    if (peer->caches == NULL) {
        return;
    }

    caches = peer->caches->elts;

    for (c = 0; c < peer->caches->nelts; c++) {
        ngx_bluebutton_cache_untrackable(caches[c], refusing);
    }
}
