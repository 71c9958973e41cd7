
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * A Redis Cluster client per worker, after the Redis Cluster
 * specification's guidelines for clients.  The map of slots comes from
 * CLUSTER SHARDS (CLUSTER SLOTS where a server refuses it), asked on a
 * connection of its own to a known primary or a seed, in turn: when the
 * worker starts, every "refresh", after MOVED, after a primary's
 * connection is lost, and never more than one at a time, nor more often
 * than every NGX_BLUEBUTTON_CLUSTER_REFRESH_MIN ms when asked by a
 * redirection.  Every command goes to its key's primary on that
 * primary's own connection (ngx_bluebutton_redis.c).  MOVED sends it on
 * to the node named and has the map asked again; ASK sends ASKING and
 * the command to the node named, the map left as it is; TRYAGAIN sends
 * it again after a pause.  None of them goes on past the command's time.
 * Only IP addresses are taken from a reply: a worker never resolves a
 * name; a redirection naming a host waits for the next map instead.
 *
 * With a decision cache each primary's lookup connection is tracked,
 * with its own invalidation feed on the same node; a slot the map moves
 * to another primary drops the entries read from the one it left.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_bluebutton_cluster.h"
#include "ngx_bluebutton_slots.h"
#include "ngx_bluebutton_tracking.h"
#include "ngx_bluebutton_cache.h"
#include "ngx_bluebutton_metrics.h"


#define NGX_BLUEBUTTON_CLUSTER_NODES        128  /* addresses kept */
#define NGX_BLUEBUTTON_CLUSTER_REDIRECTS    5    /* per command */
#define NGX_BLUEBUTTON_CLUSTER_TRYAGAIN     20   /* ms between tries */
#define NGX_BLUEBUTTON_CLUSTER_REFRESH_MIN  100  /* ms between maps asked */


typedef struct {
    ngx_bluebutton_redis_peer_t     peer;      /* the primary's lookups */
    ngx_bluebutton_cluster_t       *cluster;
    uint32_t                        id;        /* crc32 of "ip:port" */
    u_char                          sockaddr[NGX_SOCKADDRLEN];
    u_char                          text[NGX_SOCKADDR_STRLEN];
    ngx_uint_t                      slots;     /* it serves in the map */
} ngx_bluebutton_cluster_node_t;


struct ngx_bluebutton_cluster_s {
    ngx_bluebutton_redis_conf_t    *conf;
    ngx_array_t                    *caches;
    ngx_log_t                      *log;

    ngx_bluebutton_cluster_node_t  *nodes[NGX_BLUEBUTTON_CLUSTER_NODES];
    ngx_uint_t                      nnodes;
    uint8_t                         slots[BB_SLOTS];   /* node index + 1 */

    /* the map is asked on a connection of its own, in turn */
    ngx_bluebutton_redis_peer_t     asker;
    ngx_uint_t                      next;      /* node or seed asked next */
    ngx_uint_t                      tried;     /* in this round */
    u_char                          asked[NGX_SOCKADDR_STRLEN];
    ngx_str_t                       asked_name;

    ngx_event_t                     timer;     /* the next map */
    ngx_msec_t                      asked_at;  /* the last map asked */
    ngx_queue_t                     waiting;   /* commands, for a map */

    bb_slot_range_t                *ranges;    /* scratch */
    bb_slots_read_t                *rd;
    uint32_t                       *moved;     /* scratch: the old owner */

    unsigned                        known:1;   /* a map was read */
    unsigned                        asking:1;  /* a map is being asked */
    unsigned                        again:1;   /* asked for meanwhile */
    unsigned                        legacy:1;  /* CLUSTER SLOTS */
    unsigned                        gave_up:1; /* logged, until a map */
};


struct ngx_bluebutton_cluster_cmd_s {
    ngx_queue_t                     queue;     /* waiting for a map */
    ngx_bluebutton_cluster_t       *cluster;
    ngx_bluebutton_redis_handler_pt handler;
    void                           *data;      /* NULL once cancelled */
    ngx_log_t                      *log;
    ngx_bluebutton_redis_cmd_t     *cmd;       /* on a node's connection */
    ngx_bluebutton_cluster_node_t  *node;      /* where it was sent */
    ngx_bluebutton_redis_sources_t *sources;
    ngx_event_t                     timer;     /* waiting or pausing */
    ngx_msec_t                      deadline;
    ngx_uint_t                      redirects;
    ngx_uint_t                      slot;
    int                             argc;
    const char                    **argv;      /* copied, with the struct */
    size_t                         *argvlen;

    /* an MGET sent as GETs: the parts' answers, and how many are due */
    ngx_bluebutton_cluster_cmd_t   *parent;
    ngx_uint_t                      index;
    ngx_uint_t                      due;
    redisReply                    **parts;
    const char                     *err;
    ngx_str_t                       error;     /* a part's error reply */

    unsigned                        queued:1;
    unsigned                        ask:1;     /* ASKING goes first */
};


static ngx_bluebutton_cluster_cmd_t *ngx_bluebutton_cluster_alloc(
    ngx_bluebutton_cluster_t *cluster, ngx_log_t *log,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen,
    ngx_bluebutton_redis_sources_t *sources);
static ngx_bluebutton_cluster_cmd_t *ngx_bluebutton_cluster_mget(
    ngx_bluebutton_cluster_t *cluster, ngx_log_t *log,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen,
    ngx_bluebutton_redis_sources_t *sources, const char **err);
static void ngx_bluebutton_cluster_part(void *data, redisReply *reply,
    const char *err);
static redisReply *ngx_bluebutton_cluster_copy(redisReply *reply,
    ngx_log_t *log);
static ngx_int_t ngx_bluebutton_cluster_route(
    ngx_bluebutton_cluster_cmd_t *cc, const char **err);
static ngx_int_t ngx_bluebutton_cluster_send(ngx_bluebutton_cluster_cmd_t *cc,
    ngx_bluebutton_cluster_node_t *node, const char **err);
static void ngx_bluebutton_cluster_reply(void *data, redisReply *reply,
    const char *err);
static void ngx_bluebutton_cluster_asking(void *data, redisReply *reply,
    const char *err);
static ngx_uint_t ngx_bluebutton_cluster_redirect(
    ngx_bluebutton_cluster_cmd_t *cc, redisReply *reply, const char **err);
static void ngx_bluebutton_cluster_wait(ngx_bluebutton_cluster_cmd_t *cc);
static void ngx_bluebutton_cluster_resume(ngx_event_t *ev);
static void ngx_bluebutton_cluster_done(ngx_bluebutton_cluster_cmd_t *cc,
    redisReply *reply, const char *err);
static void ngx_bluebutton_cluster_free(ngx_bluebutton_cluster_cmd_t *cc);
static ngx_bluebutton_cluster_node_t *ngx_bluebutton_cluster_node(
    ngx_bluebutton_cluster_t *cluster, struct sockaddr *sa, socklen_t len);
static void ngx_bluebutton_cluster_park(ngx_bluebutton_cluster_node_t *node);
static void ngx_bluebutton_cluster_node_closed(
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_cluster_ask(ngx_bluebutton_cluster_t *cluster);
static void ngx_bluebutton_cluster_ask_timer(ngx_event_t *ev);
static void ngx_bluebutton_cluster_locate(ngx_bluebutton_redis_peer_t *asker);
static void ngx_bluebutton_cluster_asker_connect(
    ngx_bluebutton_redis_peer_t *asker);
static void ngx_bluebutton_cluster_answer(void *data, redisReply *reply,
    const char *err);
static void ngx_bluebutton_cluster_failed(ngx_bluebutton_cluster_t *cluster,
    const char *why);
static void ngx_bluebutton_cluster_apply(ngx_bluebutton_cluster_t *cluster);
static void ngx_bluebutton_cluster_dispatch(ngx_bluebutton_cluster_t *cluster,
    const char *err);
static ngx_int_t ngx_bluebutton_cluster_sockaddr(bb_failover_t *f,
    struct sockaddr *sa, socklen_t *len);


char *
ngx_bluebutton_cluster_conf(ngx_conf_t *cf, ngx_bluebutton_redis_conf_t *rcf)
{
    char                           *rv;
    ngx_str_t                      *value, s;
    ngx_uint_t                      i;
    ngx_bluebutton_redis_conf_t    *addr;
    ngx_bluebutton_cluster_conf_t  *ccf;

    ccf = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_cluster_conf_t));
    if (ccf == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&ccf->seeds, cf->pool, cf->args->nelts,
                       sizeof(ngx_bluebutton_redis_conf_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ccf->refresh = 1000;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "refresh=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            ccf->refresh = ngx_parse_time(&s, 0);

            if (ccf->refresh == (ngx_msec_t) NGX_ERROR
                || ccf->refresh < 100)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": a time of at least "
                                   "100ms is expected", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        /* seeds may be names: resolved here, like every other address */

        rv = ngx_bluebutton_redis_push_addr(cf, &ccf->seeds, &value[i],
                                            "takes the TCP addresses of "
                                            "cluster nodes, not unix "
                                            "sockets");
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (ccf->seeds.nelts == 0) {
        return "needs the address of at least one node of the cluster";
    }

    rcf->cluster = ccf;

    /* for logs, and the name TLS verifies when no node is named yet */
    addr = ccf->seeds.elts;
    rcf->addr = addr[0].addr;
    rcf->host = addr[0].host;

    return NGX_CONF_OK;
}


ngx_bluebutton_cluster_t *
ngx_bluebutton_cluster_init(ngx_bluebutton_redis_conf_t *rcf,
    ngx_array_t *caches, ngx_cycle_t *cycle)
{
    ngx_bluebutton_cluster_t  *cluster;

    cluster = ngx_pcalloc(cycle->pool, sizeof(ngx_bluebutton_cluster_t));
    if (cluster == NULL) {
        return NULL;
    }

    cluster->ranges = ngx_palloc(cycle->pool,
                                 BB_SLOTS * sizeof(bb_slot_range_t));
    cluster->rd = ngx_palloc(cycle->pool, sizeof(bb_slots_read_t));
    cluster->moved = ngx_palloc(cycle->pool, BB_SLOTS * sizeof(uint32_t));

    if (cluster->ranges == NULL || cluster->rd == NULL
        || cluster->moved == NULL)
    {
        return NULL;
    }

    cluster->conf = rcf;
    cluster->caches = caches;
    cluster->log = cycle->log;

    ngx_queue_init(&cluster->waiting);

    cluster->asker.conf = *rcf;
    cluster->asker.kind = "redis cluster node";
    cluster->asker.name = rcf->addr;
    cluster->asker.log = cycle->log;
    cluster->asker.uncounted = 1;
    cluster->asker.limits = &bb_resp_topology_limits;
    cluster->asker.locate = ngx_bluebutton_cluster_locate;
    cluster->asker.locator = cluster;
    cluster->asker.on_connect = ngx_bluebutton_cluster_asker_connect;

    cluster->timer.handler = ngx_bluebutton_cluster_ask_timer;
    cluster->timer.data = cluster;
    cluster->timer.log = cycle->log;
    cluster->timer.cancelable = 1;

    ngx_bluebutton_cluster_ask(cluster);

    return cluster;
}


void
ngx_bluebutton_cluster_exit(ngx_bluebutton_cluster_t *cluster)
{
    ngx_uint_t                      i;
    ngx_bluebutton_cluster_node_t  *node;

    if (cluster->timer.timer_set) {
        ngx_del_timer(&cluster->timer);
    }

    ngx_bluebutton_redis_free(&cluster->asker);

    for (i = 0; i < cluster->nnodes; i++) {
        node = cluster->nodes[i];

        ngx_bluebutton_tracking_exit(&node->peer);
        ngx_bluebutton_redis_free(&node->peer);
        ngx_bluebutton_redis_set_state(&node->peer,
                                       NGX_BLUEBUTTON_REDIS_UNTRIED);
    }
}


/* commands ------------------------------------------------------------ */


ngx_bluebutton_cluster_cmd_t *
ngx_bluebutton_cluster_command(ngx_bluebutton_cluster_t *cluster,
    ngx_log_t *log, ngx_bluebutton_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen,
    ngx_bluebutton_redis_sources_t *sources, const char **err)
{
    ngx_bluebutton_cluster_cmd_t  *cc;

    if (argc < 2) {
        *err = "a command without a key cannot be routed";
        return NULL;
    }

    if (argc > 2 && argvlen[0] == 4 && ngx_strncmp(argv[0], "MGET", 4) == 0)
    {
        return ngx_bluebutton_cluster_mget(cluster, log, handler, data, argc,
                                           argv, argvlen, sources, err);
    }

    cc = ngx_bluebutton_cluster_alloc(cluster, log, handler, data, argc,
                                      argv, argvlen, sources);
    if (cc == NULL) {
        *err = "out of memory";
        return NULL;
    }

    if (ngx_bluebutton_cluster_route(cc, err) != NGX_OK) {
        ngx_bluebutton_cluster_free(cc);
        return NULL;
    }

    return cc;
}


void
ngx_bluebutton_cluster_cancel(ngx_bluebutton_cluster_cmd_t *cc)
{
    if (cc->parts) {
        /* the parts finish on their own; their answers go nowhere */
        cc->data = NULL;
        return;
    }

    if (cc->cmd) {
        ngx_bluebutton_redis_cancel(cc->cmd);
    }

    ngx_bluebutton_cluster_free(cc);
}


static ngx_bluebutton_cluster_cmd_t *
ngx_bluebutton_cluster_alloc(ngx_bluebutton_cluster_t *cluster,
    ngx_log_t *log, ngx_bluebutton_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen,
    ngx_bluebutton_redis_sources_t *sources)
{
    int                            i;
    size_t                         size;
    u_char                        *p;
    ngx_bluebutton_cluster_cmd_t  *cc;

    /* the arguments are sent again after a redirection: copied with it */

    size = sizeof(ngx_bluebutton_cluster_cmd_t)
           + argc * (sizeof(char *) + sizeof(size_t));

    for (i = 0; i < argc; i++) {
        size += argvlen[i];
    }

    cc = ngx_alloc(size, log);
    if (cc == NULL) {
        return NULL;
    }

    ngx_memzero(cc, sizeof(ngx_bluebutton_cluster_cmd_t));

    cc->cluster = cluster;
    cc->handler = handler;
    cc->data = data;
    cc->log = log;
    cc->sources = sources;
    cc->deadline = ngx_current_msec + cluster->conf->timeout;
    cc->argc = argc;
    cc->argv = (const char **) (cc + 1);
    cc->argvlen = (size_t *) (cc->argv + argc);

    p = (u_char *) (cc->argvlen + argc);

    for (i = 0; i < argc; i++) {
        cc->argv[i] = (const char *) p;
        cc->argvlen[i] = argvlen[i];
        p = ngx_cpymem(p, argv[i], argvlen[i]);
    }

    cc->slot = bb_slot(cc->argv[1], cc->argvlen[1]);

    cc->timer.handler = ngx_bluebutton_cluster_resume;
    cc->timer.data = cc;
    cc->timer.log = log;

    return cc;
}


/*
 * Keys of different slots may sit on different primaries, and a
 * cross-slot MGET is refused: a GET for each key, sent at once, the
 * answers put together in order.  One round trip still, to several nodes.
 */
static ngx_bluebutton_cluster_cmd_t *
ngx_bluebutton_cluster_mget(ngx_bluebutton_cluster_t *cluster,
    ngx_log_t *log, ngx_bluebutton_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen,
    ngx_bluebutton_redis_sources_t *sources, const char **err)
{
    int                            i;
    size_t                         len[2];
    const char                    *get[2];
    ngx_bluebutton_cluster_cmd_t  *mc, *cc;

    mc = ngx_alloc(sizeof(ngx_bluebutton_cluster_cmd_t)
                   + (argc - 1) * sizeof(redisReply *), log);
    if (mc == NULL) {
        *err = "out of memory";
        return NULL;
    }

    ngx_memzero(mc, sizeof(ngx_bluebutton_cluster_cmd_t)
                    + (argc - 1) * sizeof(redisReply *));

    /* the parts may outlive the request: they log in the worker's log */

    mc->cluster = cluster;
    mc->handler = handler;
    mc->data = data;
    mc->log = cluster->log;
    mc->parts = (redisReply **) (mc + 1);
    mc->argc = argc - 1;

    get[0] = "GET";
    len[0] = 3;

    for (i = 1; i < argc; i++) {
        get[1] = argv[i];
        len[1] = argvlen[i];

        cc = ngx_bluebutton_cluster_alloc(cluster, cluster->log,
                                          ngx_bluebutton_cluster_part, NULL,
                                          2, get, len, sources);
        if (cc == NULL) {
            *err = "out of memory";
            goto failed;
        }

        cc->parent = mc;
        cc->index = i - 1;
        cc->data = cc;

        mc->due++;

        if (ngx_bluebutton_cluster_route(cc, err) != NGX_OK) {
            mc->due--;
            ngx_bluebutton_cluster_free(cc);
            goto failed;
        }
    }

    return mc;

failed:

    if (mc->due == 0) {
        ngx_bluebutton_cluster_free(mc);
        return NULL;
    }

    /* the parts sent finish on their own, and are answered to nobody */
    mc->data = NULL;

    return NULL;
}


static void
ngx_bluebutton_cluster_part(void *data, redisReply *reply, const char *err)
{
    ngx_bluebutton_cluster_cmd_t  *cc = data;

    redisReply                     rr;
    ngx_uint_t                     i;
    ngx_bluebutton_cluster_cmd_t  *mc;

    mc = cc->parent;

    if (reply == NULL) {
        if (mc->err == NULL && mc->error.len == 0) {
            mc->err = err;
        }

    } else if (reply->type == REDIS_REPLY_ERROR) {
        if (mc->err == NULL && mc->error.len == 0) {
            mc->error.data = ngx_alloc(reply->len + 1, mc->log);

            if (mc->error.data) {
                mc->error.len = reply->len;
                ngx_memcpy(mc->error.data, reply->str, reply->len + 1);

            } else {
                mc->err = "out of memory";
            }
        }

    } else {
        mc->parts[cc->index] = ngx_bluebutton_cluster_copy(reply, mc->log);

        if (mc->parts[cc->index] == NULL && mc->err == NULL) {
            mc->err = "out of memory";
        }
    }

    if (--mc->due) {
        return;
    }

    if (mc->data) {
        ngx_memzero(&rr, sizeof(redisReply));

        if (mc->error.len) {
            /* as Redis would have refused the MGET: an error reply */
            rr.type = REDIS_REPLY_ERROR;
            rr.str = (char *) mc->error.data;
            rr.len = mc->error.len;

        } else {
            rr.type = REDIS_REPLY_ARRAY;
            rr.elements = mc->argc;
            rr.element = mc->parts;
        }

        mc->handler(mc->data, mc->err ? NULL : &rr, mc->err);
    }

    /* the copies are single blocks, not hiredis' own: freed here */

    for (i = 0; i < (ngx_uint_t) mc->argc; i++) {
        ngx_free(mc->parts[i]);
    }

    if (mc->error.len) {
        ngx_free(mc->error.data);
    }

    ngx_free(mc);
}


/*
 * A string, nil, integer or status, with its text, in one block of the
 * caller's to free with ngx_free()
 */
static redisReply *
ngx_bluebutton_cluster_copy(redisReply *reply, ngx_log_t *log)
{
    size_t       len;
    redisReply  *rr;

    /* no GET answers an array: what would be one is read as nil */
    len = reply->type == REDIS_REPLY_ARRAY || reply->str == NULL
          ? 0 : reply->len;

    rr = ngx_alloc(sizeof(redisReply) + len + 1, log);
    if (rr == NULL) {
        return NULL;
    }

    ngx_memzero(rr, sizeof(redisReply));

    rr->type = reply->type == REDIS_REPLY_ARRAY ? REDIS_REPLY_NIL
                                                : reply->type;
    rr->integer = reply->integer;

    if (len || reply->str) {
        rr->str = (char *) (rr + 1);
        ngx_memcpy(rr->str, reply->str, len);
        rr->str[len] = '\0';
        rr->len = len;
    }

    return rr;
}


static ngx_int_t
ngx_bluebutton_cluster_route(ngx_bluebutton_cluster_cmd_t *cc,
    const char **err)
{
    ngx_uint_t                 n;
    ngx_bluebutton_cluster_t  *cluster;

    cluster = cc->cluster;

    if (!cluster->known) {
        if (cluster->gave_up) {
            *err = "no node of the cluster told its slots";
            return NGX_ERROR;
        }

        /* the first map is on its way: the command waits for it */
        ngx_bluebutton_cluster_wait(cc);
        return NGX_OK;
    }

    n = cluster->slots[cc->slot];

    if (n == 0) {
        ngx_bluebutton_cluster_ask(cluster);
        *err = "no primary serves the key's slot";
        return NGX_ERROR;
    }

    return ngx_bluebutton_cluster_send(cc, cluster->nodes[n - 1], err);
}


static ngx_int_t
ngx_bluebutton_cluster_send(ngx_bluebutton_cluster_cmd_t *cc,
    ngx_bluebutton_cluster_node_t *node, const char **err)
{
    size_t       len[1];
    const char  *argv[1];

    if (cc->ask) {
        argv[0] = "ASKING";
        len[0] = 6;

        if (ngx_bluebutton_redis_command(&node->peer, cc->log,
                                         ngx_bluebutton_cluster_asking,
                                         node, 1, argv, len, err)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    cc->cmd = ngx_bluebutton_redis_command(&node->peer, cc->log,
                                           ngx_bluebutton_cluster_reply, cc,
                                           cc->argc, cc->argv, cc->argvlen,
                                           err);
    if (cc->cmd == NULL) {
        return NGX_ERROR;
    }

    cc->node = node;

    /* the part of a cancelled MGET: its request, and its sources, are gone */

    if (cc->sources && (cc->parent == NULL || cc->parent->data != NULL)) {
        ngx_bluebutton_redis_source(&node->peer, cc->sources, cc->argv[1],
                                    cc->argvlen[1], cc->slot, node->id);
    }

    return NGX_OK;
}


static void
ngx_bluebutton_cluster_asking(void *data, redisReply *reply, const char *err)
{
    /* a refused ASKING is answered by the command behind it */
}


static void
ngx_bluebutton_cluster_reply(void *data, redisReply *reply, const char *err)
{
    ngx_bluebutton_cluster_cmd_t  *cc = data;

    const char  *why;

    cc->cmd = NULL;

    if (reply && reply->type == REDIS_REPLY_ERROR
        && ngx_bluebutton_cluster_redirect(cc, reply, &why))
    {
        if (why == NULL) {
            /* sent on, or waiting for a map or a pause */
            return;
        }

        ngx_bluebutton_cluster_done(cc, NULL, why);
        return;
    }

    if (reply && reply->type == REDIS_REPLY_ERROR
        && ngx_strncmp(reply->str, "CLUSTERDOWN", 11) == 0)
    {
        ngx_bluebutton_cluster_ask(cc->cluster);
    }

    ngx_bluebutton_cluster_done(cc, reply, err);
}


/*
 * 1 when the error is MOVED, ASK or TRYAGAIN: the command goes on, or
 * *err says why it cannot.
 */
static ngx_uint_t
ngx_bluebutton_cluster_redirect(ngx_bluebutton_cluster_cmd_t *cc,
    redisReply *reply, const char **err)
{
    socklen_t                       len;
    bb_failover_t                   f;
    bb_redirect_t                   rd;
    u_char                          sa[NGX_SOCKADDRLEN];
    ngx_bluebutton_cluster_t       *cluster;
    ngx_bluebutton_cluster_node_t  *node;

    cluster = cc->cluster;
    *err = NULL;

    if (ngx_strncmp(reply->str, "TRYAGAIN", 8) == 0) {
        if ((ngx_msec_int_t) (cc->deadline - ngx_current_msec)
            <= NGX_BLUEBUTTON_CLUSTER_TRYAGAIN)
        {
            *err = "the slot was still being moved (TRYAGAIN) when the "
                   "time ran out";
            return 1;
        }

        /* a multi-key command during a slot's move: again, in a moment */
        ngx_add_timer(&cc->timer, NGX_BLUEBUTTON_CLUSTER_TRYAGAIN);
        return 1;
    }

    if (bb_redirect_parse(reply->str, reply->len, &rd) != 0) {
        return 0;
    }

    if (++cc->redirects > NGX_BLUEBUTTON_CLUSTER_REDIRECTS) {
        *err = "redirected too many times";
        return 1;
    }

    if ((ngx_msec_int_t) (cc->deadline - ngx_current_msec) <= 0) {
        *err = "redirected when the time ran out";
        return 1;
    }

    if (!rd.ask) {
        /* the slot has another primary for good: the map is asked again */
        ngx_bluebutton_cluster_ask(cluster);
    }

    cc->ask = rd.ask;

    if (rd.host_len == 0) {
        /* an endpoint Redis does not know: the node that answered */
        node = cc->node;

        ngx_memcpy(sa, node->sockaddr, node->peer.conf.socklen);
        len = node->peer.conf.socklen;
        ngx_inet_set_port((struct sockaddr *) sa, (in_port_t) rd.port);

    } else {
        if (bb_failover_address(rd.host, rd.host_len, "1", 1, &f) != 0) {
            /* a host name: not resolved here, the map says where */
            ngx_log_error(NGX_LOG_WARN, cluster->log, 0,
                          "bluebutton: redis cluster node \"%V\" redirected "
                          "to \"%*s\", not an IP address; waiting for the "
                          "cluster's map", &cc->node->peer.name,
                          rd.host_len, rd.host);

            ngx_bluebutton_cluster_ask(cluster);
            cc->ask = 0;
            ngx_bluebutton_cluster_wait(cc);
            return 1;
        }

        f.port = rd.port;

        if (ngx_bluebutton_cluster_sockaddr(&f, (struct sockaddr *) sa, &len)
            != NGX_OK)
        {
            *err = "a redirection to an unknown address";
            return 1;
        }
    }

    node = ngx_bluebutton_cluster_node(cluster, (struct sockaddr *) sa, len);
    if (node == NULL) {
        *err = "too many nodes";
        return 1;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, cc->log, 0,
                   "bluebutton: %s slot %ui to \"%V\" (%ui)",
                   rd.ask ? "ASK" : "MOVED", cc->slot, &node->peer.name,
                   cc->redirects);

    if (ngx_bluebutton_cluster_send(cc, node, err) != NGX_OK) {
        return 1;
    }

    return 1;
}


static void
ngx_bluebutton_cluster_wait(ngx_bluebutton_cluster_cmd_t *cc)
{
    ngx_msec_t  left;

    left = (ngx_msec_int_t) (cc->deadline - ngx_current_msec) > 0
           ? cc->deadline - ngx_current_msec : 1;

    cc->queued = 1;
    ngx_queue_insert_tail(&cc->cluster->waiting, &cc->queue);
    ngx_add_timer(&cc->timer, left);

    ngx_bluebutton_cluster_ask(cc->cluster);
}


/* after a TRYAGAIN pause, or out of time while waiting for a map */
static void
ngx_bluebutton_cluster_resume(ngx_event_t *ev)
{
    ngx_bluebutton_cluster_cmd_t  *cc = ev->data;

    const char  *err;

    if (cc->queued) {
        ngx_queue_remove(&cc->queue);
        cc->queued = 0;

        ngx_bluebutton_cluster_done(cc, NULL, "the cluster's map did not "
                                    "come in time");
        return;
    }

    if (ngx_bluebutton_cluster_route(cc, &err) != NGX_OK) {
        ngx_bluebutton_cluster_done(cc, NULL, err);
    }
}


static void
ngx_bluebutton_cluster_done(ngx_bluebutton_cluster_cmd_t *cc,
    redisReply *reply, const char *err)
{
    if (cc->data) {
        cc->handler(cc->data, reply, err);
    }

    ngx_bluebutton_cluster_free(cc);
}


static void
ngx_bluebutton_cluster_free(ngx_bluebutton_cluster_cmd_t *cc)
{
    if (cc->timer.timer_set) {
        ngx_del_timer(&cc->timer);
    }

    if (cc->queued) {
        ngx_queue_remove(&cc->queue);
    }

    ngx_free(cc);
}


/* nodes ---------------------------------------------------------------- */


static ngx_bluebutton_cluster_node_t *
ngx_bluebutton_cluster_node(ngx_bluebutton_cluster_t *cluster,
    struct sockaddr *sa, socklen_t len)
{
    size_t                          n;
    ngx_uint_t                      i;
    ngx_bluebutton_cluster_node_t  *node;

    for (i = 0; i < cluster->nnodes; i++) {
        node = cluster->nodes[i];

        if (node->peer.conf.socklen == len
            && ngx_memcmp(node->sockaddr, sa, len) == 0)
        {
            return node;
        }
    }

    if (cluster->nnodes == NGX_BLUEBUTTON_CLUSTER_NODES) {
        ngx_log_error(NGX_LOG_ERR, cluster->log, 0,
                      "bluebutton: the redis cluster names more than %d "
                      "nodes; the others are not used",
                      NGX_BLUEBUTTON_CLUSTER_NODES);
        return NULL;
    }

    node = ngx_pcalloc(ngx_cycle->pool,
                       sizeof(ngx_bluebutton_cluster_node_t));
    if (node == NULL) {
        return NULL;
    }

    ngx_memcpy(node->sockaddr, sa, len);
    n = ngx_sock_ntop(sa, len, node->text, sizeof(node->text), 1);

    node->cluster = cluster;
    node->id = ngx_crc32_short(node->text, n);

    node->peer.conf = *cluster->conf;
    node->peer.conf.sockaddr = (struct sockaddr *) node->sockaddr;
    node->peer.conf.socklen = len;
    node->peer.conf.addr.data = node->text;
    node->peer.conf.addr.len = n;

    /* the address, without the port: what TLS verifies by default */
    node->peer.conf.host.data = node->text;
    node->peer.conf.host.len = n;

    while (node->peer.conf.host.len
           && node->text[node->peer.conf.host.len - 1] != ':')
    {
        node->peer.conf.host.len--;
    }

    if (node->peer.conf.host.len) {
        node->peer.conf.host.len--;
    }

    if (node->text[0] == '[') {
        node->peer.conf.host.data++;
        node->peer.conf.host.len -= 2;
    }

    node->peer.name = node->peer.conf.addr;
    node->peer.log = cluster->log;
    node->peer.state = NGX_BLUEBUTTON_REDIS_UNTRIED;
    node->peer.node = cluster->nnodes;
    node->peer.unlocate = ngx_bluebutton_cluster_node_closed;
    node->peer.locator = node;
    node->peer.caches = cluster->caches;

    cluster->nodes[cluster->nnodes++] = node;

    if (cluster->caches
        && ngx_bluebutton_tracking_init(&node->peer,
                                        (ngx_cycle_t *) ngx_cycle)
           != NGX_OK)
    {
        return NULL;
    }

    return node;
}


/*
 * A node that serves no slot is not kept connected (a failed primary
 * retried forever, a replica tracked for nothing); one that serves
 * slots again is connected at once.  A redirection may still reach a
 * parked node: it connects for the command and stays parked.
 */
static void
ngx_bluebutton_cluster_park(ngx_bluebutton_cluster_node_t *node)
{
    ngx_bluebutton_redis_peer_t  *peer, *feed;

    peer = &node->peer;
    feed = peer->feed;

    if (node->slots == 0) {
        if (peer->parked) {
            return;
        }

        peer->parked = 1;
        ngx_bluebutton_redis_close(peer, "the node serves no slot");

        if (feed) {
            feed->parked = 1;
            ngx_bluebutton_redis_close(feed, "the node serves no slot");
        }

        return;
    }

    if (!peer->parked) {
        return;
    }

    peer->parked = 0;
    peer->next_attempt = ngx_current_msec;

    if (feed) {
        /* the lookup connection opens its feed first (tracking) */
        feed->next_attempt = ngx_current_msec;
        ngx_bluebutton_redis_open(peer);
    }
}


/* a primary's connection (or its feed) lost: the map may have changed */
static void
ngx_bluebutton_cluster_node_closed(ngx_bluebutton_redis_peer_t *peer)
{
    ngx_bluebutton_cluster_node_t  *node = peer->locator;

    if (ngx_exiting || ngx_terminate || ngx_quit || node->slots == 0) {
        return;
    }

    ngx_bluebutton_cluster_ask(node->cluster);
}


/* the map ------------------------------------------------------------- */


static void
ngx_bluebutton_cluster_ask(ngx_bluebutton_cluster_t *cluster)
{
    size_t       len[2];
    ngx_msec_t   since;
    const char  *argv[2];

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (cluster->asking) {
        cluster->again = 1;
        return;
    }

    since = ngx_current_msec - cluster->asked_at;

    if (cluster->known && since < NGX_BLUEBUTTON_CLUSTER_REFRESH_MIN) {
        /* one map at a time, and not a storm of them */

        if (cluster->timer.timer_set
            && cluster->timer.timer.key
               <= ngx_current_msec + NGX_BLUEBUTTON_CLUSTER_REFRESH_MIN)
        {
            return;
        }

        if (cluster->timer.timer_set) {
            ngx_del_timer(&cluster->timer);
        }

        ngx_add_timer(&cluster->timer,
                      NGX_BLUEBUTTON_CLUSTER_REFRESH_MIN - since);
        return;
    }

    cluster->asking = 1;
    cluster->asked_at = ngx_current_msec;

    if (cluster->timer.timer_set) {
        ngx_del_timer(&cluster->timer);
    }

    ngx_add_timer(&cluster->timer, cluster->conf->cluster->refresh);

    if (!cluster->asker.open) {
        /* connected to a node, then asked (on_connect) */
        cluster->asker.next_attempt = ngx_current_msec;
        ngx_bluebutton_redis_open(&cluster->asker);
        return;
    }

    argv[0] = "CLUSTER";
    len[0] = 7;
    argv[1] = cluster->legacy ? "SLOTS" : "SHARDS";
    len[1] = cluster->legacy ? 5 : 6;

    if (ngx_bluebutton_redis_send(&cluster->asker,
                                  ngx_bluebutton_cluster_answer, cluster,
                                  2, argv, len)
        == NULL)
    {
        ngx_bluebutton_cluster_failed(cluster, "the map could not be asked");
    }
}


static void
ngx_bluebutton_cluster_ask_timer(ngx_event_t *ev)
{
    ngx_bluebutton_cluster_t  *cluster = ev->data;

    if (cluster->asking) {
        /* the asker's own timers end a map that does not come */
        ngx_add_timer(&cluster->timer, cluster->conf->cluster->refresh);
        return;
    }

    cluster->asked_at = ngx_current_msec - NGX_BLUEBUTTON_CLUSTER_REFRESH_MIN;
    ngx_bluebutton_cluster_ask(cluster);
}


/* the known primaries first, then the seeds, each in turn */
static void
ngx_bluebutton_cluster_locate(ngx_bluebutton_redis_peer_t *asker)
{
    ngx_bluebutton_cluster_t  *cluster = asker->locator;

    size_t                          n;
    ngx_str_t                       name, host;
    ngx_uint_t                      i, count;
    ngx_bluebutton_redis_conf_t    *seeds, *seed;
    ngx_bluebutton_cluster_node_t  *node;

    seeds = cluster->conf->cluster->seeds.elts;
    count = cluster->nnodes + cluster->conf->cluster->seeds.nelts;

    for (i = 0; i < count; i++) {
        n = (cluster->next + i) % count;

        if (n < cluster->nnodes) {
            node = cluster->nodes[n];

            if (node->slots == 0) {
                continue;
            }

            cluster->next = n + 1;

            ngx_bluebutton_redis_connect_to(asker, node->peer.conf.sockaddr,
                                            node->peer.conf.socklen,
                                            &node->peer.conf.addr,
                                            &node->peer.conf.host);
            return;
        }

        seed = &seeds[n - cluster->nnodes];
        cluster->next = n + 1;

        name = seed->addr;
        host = seed->host;

        ngx_bluebutton_redis_connect_to(asker, seed->sockaddr, seed->socklen,
                                        &name, &host);
        return;
    }
}


static void
ngx_bluebutton_cluster_asker_connect(ngx_bluebutton_redis_peer_t *asker)
{
    size_t                     len[2];
    const char                *argv[2];
    ngx_bluebutton_cluster_t  *cluster = asker->locator;

    if (!cluster->asking) {
        return;
    }

    argv[0] = "CLUSTER";
    len[0] = 7;
    argv[1] = cluster->legacy ? "SLOTS" : "SHARDS";
    len[1] = cluster->legacy ? 5 : 6;

    /* queued behind AUTH, written once connected */
    (void) ngx_bluebutton_redis_send(asker, ngx_bluebutton_cluster_answer,
                                     cluster, 2, argv, len);
}


static void
ngx_bluebutton_cluster_answer(void *data, redisReply *reply, const char *err)
{
    ngx_bluebutton_cluster_t  *cluster = data;

    ngx_int_t  rc;

    if (reply == NULL) {
        ngx_bluebutton_cluster_failed(cluster, err);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        if (!cluster->legacy
            && (ngx_strncasecmp((u_char *) reply->str,
                                (u_char *) "ERR unknown", 11) == 0
                || ngx_strncasecmp((u_char *) reply->str,
                                   (u_char *) "ERR Unknown", 11) == 0))
        {
            /* before Redis 7, or a service that does not offer it */
            ngx_log_error(NGX_LOG_NOTICE, cluster->log, 0,
                          "bluebutton: redis cluster node \"%V\" refused "
                          "CLUSTER SHARDS (%s), CLUSTER SLOTS is used",
                          &cluster->asker.name, reply->str);

            cluster->legacy = 1;
            cluster->asking = 0;
            cluster->asked_at = ngx_current_msec
                                - NGX_BLUEBUTTON_CLUSTER_REFRESH_MIN;
            ngx_bluebutton_cluster_ask(cluster);
            return;
        }

        ngx_log_error(NGX_LOG_ERR, cluster->log, 0,
                      "bluebutton: redis cluster node \"%V\" refused CLUSTER "
                      "%s: %s", &cluster->asker.name,
                      cluster->legacy ? "SLOTS" : "SHARDS", reply->str);

        ngx_bluebutton_redis_close(&cluster->asker, "the map was refused");
        ngx_bluebutton_cluster_failed(cluster, "the map was refused");
        return;
    }

    rc = cluster->legacy
         ? bb_slots_read(reply, cluster->ranges, BB_SLOTS, cluster->rd)
         : bb_shards_read(reply, cluster->conf->tls != NULL, cluster->ranges,
                          BB_SLOTS, cluster->rd);

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, cluster->log, 0,
                      "bluebutton: redis cluster node \"%V\" sent a map that "
                      "could not be read: %s", &cluster->asker.name,
                      cluster->rd->error);

        ngx_bluebutton_redis_close(&cluster->asker, "the map was unreadable");
        ngx_bluebutton_cluster_failed(cluster, "the map was unreadable");
        return;
    }

    cluster->asking = 0;
    cluster->tried = 0;

    ngx_bluebutton_cluster_apply(cluster);

    if (cluster->again) {
        cluster->again = 0;
        ngx_bluebutton_cluster_ask(cluster);
    }
}


/*
 * The node asked did not answer: the next one is asked, at the asker's
 * back-off; after a whole round without a map, waiting commands fail.
 */
static void
ngx_bluebutton_cluster_failed(ngx_bluebutton_cluster_t *cluster,
    const char *why)
{
    ngx_uint_t  count;

    cluster->asking = 0;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    count = cluster->nnodes + cluster->conf->cluster->seeds.nelts;

    if (++cluster->tried < count) {
        /* the next one at once */
        cluster->asked_at = ngx_current_msec
                            - NGX_BLUEBUTTON_CLUSTER_REFRESH_MIN;
        cluster->asker.next_attempt = ngx_current_msec;
        ngx_bluebutton_cluster_ask(cluster);
        return;
    }

    cluster->tried = 0;

    /* the next round soon, as a lost Redis is tried again */
    if (cluster->timer.timer_set) {
        ngx_del_timer(&cluster->timer);
    }

    ngx_add_timer(&cluster->timer, NGX_BLUEBUTTON_REDIS_BACKOFF_MAX);

    if (!cluster->known && !cluster->gave_up) {
        ngx_log_error(NGX_LOG_ERR, cluster->log, 0,
                      "bluebutton: no node of redis cluster \"%V\" told its "
                      "slots (%s); asking again",
                      &cluster->conf->addr, why);
        cluster->gave_up = 1;
    }

    ngx_bluebutton_cluster_dispatch(cluster, "no node of the cluster told "
                                    "its slots");
}


static void
ngx_bluebutton_cluster_apply(ngx_bluebutton_cluster_t *cluster)
{
    size_t                          i;
    socklen_t                       len;
    ngx_uint_t                      s, c, moved, was, level;
    u_char                          sa[NGX_SOCKADDRLEN];
    bb_slot_range_t                *r;
    ngx_bluebutton_cache_t        **caches;
    ngx_bluebutton_cluster_node_t  *node;
    uint8_t                         slots[BB_SLOTS];

    ngx_memzero(slots, sizeof(slots));

    for (i = 0; i < cluster->rd->ranges; i++) {
        r = &cluster->ranges[i];

        if (ngx_bluebutton_cluster_sockaddr(&r->addr, (struct sockaddr *) sa,
                                            &len)
            != NGX_OK)
        {
            continue;
        }

        node = ngx_bluebutton_cluster_node(cluster, (struct sockaddr *) sa,
                                           len);
        if (node == NULL) {
            continue;
        }

        for (s = r->start; s <= r->end; s++) {
            slots[s] = (uint8_t) (node->peer.node + 1);
        }
    }

    /* a slot that left a primary: what was read there is not tracked */

    moved = 0;

    for (s = 0; s < BB_SLOTS; s++) {
        was = cluster->slots[s];
        cluster->moved[s] = 0;

        if (was && was != slots[s]) {
            cluster->moved[s] = cluster->nodes[was - 1]->id;
            moved++;
        }
    }

    if (moved && cluster->caches) {
        caches = cluster->caches->elts;

        for (c = 0; c < cluster->caches->nelts; c++) {
            ngx_bluebutton_cache_moved(caches[c], cluster->moved);
        }
    }

    ngx_memcpy(cluster->slots, slots, sizeof(slots));

    for (i = 0; i < cluster->nnodes; i++) {
        cluster->nodes[i]->slots = 0;
    }

    for (s = 0; s < BB_SLOTS; s++) {
        if (slots[s]) {
            cluster->nodes[slots[s] - 1]->slots++;
        }
    }

    for (i = 0; i < cluster->nnodes; i++) {
        ngx_bluebutton_cluster_park(cluster->nodes[i]);
    }

    if (!cluster->known || moved) {
        /* ngx_log_error() evaluates the level twice: it is taken first */
        level = cluster->known ? NGX_LOG_NOTICE : NGX_LOG_INFO;

        ngx_log_error(level, cluster->log, 0,
                      "bluebutton: redis cluster \"%V\": %uz slot ranges "
                      "from \"%V\"%s, %ui slots moved%s%s",
                      &cluster->conf->addr, cluster->rd->ranges,
                      &cluster->asker.name,
                      cluster->legacy ? " (CLUSTER SLOTS)" : "", moved,
                      cluster->rd->unaddressed
                      ? ", a primary without an IP address is not used" : "",
                      cluster->rd->unhealthy
                      ? ", a primary is not online" : "");
    }

    if (cluster->gave_up) {
        ngx_log_error(NGX_LOG_NOTICE, cluster->log, 0,
                      "bluebutton: redis cluster \"%V\" told its slots again",
                      &cluster->conf->addr);
        cluster->gave_up = 0;
    }

    cluster->known = 1;

    ngx_bluebutton_cluster_dispatch(cluster, NULL);
}


/* commands waiting for a map go on by it, or fail with err */
static void
ngx_bluebutton_cluster_dispatch(ngx_bluebutton_cluster_t *cluster,
    const char *err)
{
    const char                    *why;
    ngx_queue_t                    waiting, *q;
    ngx_bluebutton_cluster_cmd_t  *cc;

    if (ngx_queue_empty(&cluster->waiting)) {
        return;
    }

    waiting = cluster->waiting;
    waiting.next->prev = &waiting;
    waiting.prev->next = &waiting;
    ngx_queue_init(&cluster->waiting);

    while (!ngx_queue_empty(&waiting)) {
        q = ngx_queue_head(&waiting);
        ngx_queue_remove(q);

        cc = ngx_queue_data(q, ngx_bluebutton_cluster_cmd_t, queue);
        cc->queued = 0;

        if (cc->timer.timer_set) {
            ngx_del_timer(&cc->timer);
        }

        if (err) {
            ngx_bluebutton_cluster_done(cc, NULL, err);
            continue;
        }

        if (ngx_bluebutton_cluster_route(cc, &why) != NGX_OK) {
            ngx_bluebutton_cluster_done(cc, NULL, why);
        }
    }
}


static ngx_int_t
ngx_bluebutton_cluster_sockaddr(bb_failover_t *f, struct sockaddr *sa,
    socklen_t *len)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    ngx_memzero(sa, NGX_SOCKADDRLEN);

    if (f->family == 4) {
        sin = (struct sockaddr_in *) sa;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((in_port_t) f->port);
        ngx_memcpy(&sin->sin_addr, f->addr, 4);
        *len = sizeof(struct sockaddr_in);
        return NGX_OK;
    }

#if (NGX_HAVE_INET6)
    sin6 = (struct sockaddr_in6 *) sa;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((in_port_t) f->port);
    ngx_memcpy(&sin6->sin6_addr, f->addr, 16);
    *len = sizeof(struct sockaddr_in6);
    return NGX_OK;
#else
    return NGX_ERROR;
#endif
}
