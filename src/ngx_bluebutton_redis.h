
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Per-worker Redis connections on nginx's own connections and events,
 * in clear text or TLS; hiredis only formats commands and reads replies.
 */

#ifndef _NGX_BLUEBUTTON_REDIS_H_INCLUDED_
#define _NGX_BLUEBUTTON_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>

#include "ngx_bluebutton_tls.h"
#include "ngx_bluebutton_resp.h"


/*
 * After a failure a worker tries again in the background, 50 ms later,
 * doubling to every 200 ms: at most five attempts a second against a dead
 * Redis, and connected again within about 200 ms of its return.
 */
#define NGX_BLUEBUTTON_REDIS_BACKOFF_MIN   50
#define NGX_BLUEBUTTON_REDIS_BACKOFF_MAX   200

/* commands not yet written, per connection: past it Redis is too slow */
#define NGX_BLUEBUTTON_REDIS_OUT_MAX       (1024 * 1024)


typedef struct ngx_bluebutton_sentinel_conf_s  ngx_bluebutton_sentinel_conf_t;
typedef struct ngx_bluebutton_cluster_conf_s   ngx_bluebutton_cluster_conf_t;


typedef struct {
    ngx_str_t                     addr;      /* as configured, for logs */
    ngx_str_t                     host;      /* as written: the TLS name */
    struct sockaddr              *sockaddr;  /* resolved when configured */
    socklen_t                     socklen;
    ngx_str_t                     user;
    ngx_str_t                     password;
    ngx_int_t                     database;
    ngx_msec_t                    timeout;
    ngx_bluebutton_tls_conf_t    *tls;       /* NULL: clear text */
    ngx_bluebutton_sentinel_conf_t  *sentinel;  /* the primary is asked */
    ngx_bluebutton_cluster_conf_t   *cluster;   /* or the nodes are */
    ngx_str_t                     sentinel_user;
    ngx_str_t                     sentinel_password;
} ngx_bluebutton_redis_conf_t;


typedef struct ngx_bluebutton_redis_peer_s  ngx_bluebutton_redis_peer_t;
typedef struct ngx_bluebutton_redis_cmd_s   ngx_bluebutton_redis_cmd_t;


/* keys one lookup reads: record and grant, or grant and revocation */
#define NGX_BLUEBUTTON_REDIS_SOURCES  3

/*
 * Which connection a key was read on, and the tracking in force there
 * when it was sent: a decision cache fills only from reads whose
 * connections tracked them and still do.
 */
typedef struct {
    uint32_t                      key;       /* crc32 of the key */
    uint32_t                      node_id;   /* of the node; 0: one Redis */
    uint64_t                      epoch;
    ngx_uint_t                    node;      /* the peer's index */
    unsigned                      slot:16;
    unsigned                      tracked:1;
} ngx_bluebutton_redis_source_t;

typedef struct {
    ngx_bluebutton_redis_source_t  src[NGX_BLUEBUTTON_REDIS_SOURCES];
    ngx_uint_t                     n;
} ngx_bluebutton_redis_sources_t;

/*
 * Called exactly once per command unless the command was cancelled:
 * with the reply (valid during the call only), or with NULL and a reason.
 */
typedef void (*ngx_bluebutton_redis_handler_pt)(void *data,
    redisReply *reply, const char *err);


struct ngx_bluebutton_redis_peer_s {
    ngx_bluebutton_redis_conf_t   conf;

    /* the rest is per worker process */
    const char                   *kind;      /* "redis" or "sentinel" */
    ngx_str_t                     name;      /* where it is now, for logs */
    ngx_str_t                     host;      /* the name TLS verifies */
    struct sockaddr              *sockaddr;
    socklen_t                     socklen;
    u_char                        sockaddr_copy[NGX_SOCKADDRLEN];
    u_char                        name_copy[NGX_SOCKADDR_STRLEN];
    ngx_connection_t             *connection;
    redisReader                  *reader;
    ngx_queue_t                   commands;  /* waiting for their replies */
    u_char                       *out;       /* formatted, not yet sent */
    u_char                       *out_pos;
    u_char                       *out_last;
    u_char                       *out_end;
    bb_resp_t                     resp;      /* what replies may announce */
    uint32_t                      refusal;   /* the last logged, or 0 */
    ngx_ssl_session_t            *ssl_session;
    ngx_uint_t                    generation;  /* of the connection */
    ngx_event_t                   connect_timer;
    ngx_event_t                   retry_timer;
    ngx_msec_t                    backoff;
    ngx_msec_t                    backoff_max;  /* 0: the Redis one */
    ngx_msec_t                    next_attempt;
    ngx_msec_t                    down_since;   /* 0 while not in an outage */
    ngx_uint_t                    attempts;     /* failed in this outage */
    const char                   *drop_reason;
    ngx_log_t                    *log;
    ngx_uint_t                    state;     /* as the metrics count it */

    /* decision caches of this Redis, and their invalidation feed */
    ngx_array_t                  *caches;    /* ngx_bluebutton_cache_t * */
    ngx_bluebutton_redis_peer_t  *feed;      /* the subscriber, per worker */
    ngx_bluebutton_redis_peer_t  *owner;     /* of a subscriber */
    void                        (*on_connect)(ngx_bluebutton_redis_peer_t *p);
    void                        (*on_close)(ngx_bluebutton_redis_peer_t *p);
    /* replies no command waits for: messages of a subscriber */
    void                        (*on_message)(ngx_bluebutton_redis_peer_t *p,
                                              redisReply *reply);

    /*
     * Where the address comes from when it is not the configured one
     * (the topology above: sentinels, a cluster).  locate() is called
     * when the peer opens and connects it once the address is known;
     * unlocate() when it closes; on_handshake() queues the provider's
     * checks behind AUTH and SELECT.
     */
    void                        (*locate)(ngx_bluebutton_redis_peer_t *p);
    void                        (*unlocate)(ngx_bluebutton_redis_peer_t *p);
    void                        (*on_handshake)(ngx_bluebutton_redis_peer_t *p);
    void                         *locator;   /* the provider's own */
    const bb_resp_limits_t       *limits;    /* NULL: by the peer's kind */
    ngx_uint_t                    node;      /* its index, for the caches */
    uint64_t                      epoch;     /* of the tracking in force */
    uint64_t                      tracking_epoch;  /* of the last sent */
    long long                     client_id; /* of a subscriber */
    ngx_msec_t                    lost_at;   /* feed lost, 0 while up */

    unsigned                      open:1;    /* takes commands */
    unsigned                      connected:1;  /* and writes them */
    unsigned                      closing:1;
    unsigned                      subscribed:1;
    unsigned                      tracking_sent:1;
    unsigned                      tracking:1;
    unsigned                      untrackable:1;
    unsigned                      parked:1;  /* no retries by the timer */
    unsigned                      refusal_logged:1;
    unsigned                      uncounted:1;  /* not in the metrics */
};


struct ngx_bluebutton_redis_cmd_s {
    ngx_queue_t                       queue;
    ngx_bluebutton_redis_handler_pt   handler;
    void                             *data;  /* NULL once cancelled */
    ngx_bluebutton_redis_peer_t      *peer;
    ngx_event_t                       timer;
    unsigned                          timed_out:1;
    unsigned                          counted:1;  /* in the metrics */
    unsigned                          handshake:1;  /* AUTH, SELECT, ROLE */
};


char *ngx_bluebutton_redis_parse_addr(ngx_conf_t *cf,
    ngx_bluebutton_redis_conf_t *rcf, ngx_str_t *value);

/* one more TCP address of a list (sentinels, cluster seeds) in addrs */
char *ngx_bluebutton_redis_push_addr(ngx_conf_t *cf, ngx_array_t *addrs,
    ngx_str_t *value, char *unix_refusal);

/* connects now unless connected or backing off after a failure */
void ngx_bluebutton_redis_open(ngx_bluebutton_redis_peer_t *peer);

/*
 * Sends a request's command.  Returns the command, or NULL with *err set
 * when Redis cannot be reached now (connection failed or backing off).
 */
ngx_bluebutton_redis_cmd_t *ngx_bluebutton_redis_command(
    ngx_bluebutton_redis_peer_t *peer, ngx_log_t *log,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen, const char **err);

/*
 * Queues a command of the connection's own (handshake, tracking, asking
 * sentinels) on an open peer, not counted in the metrics; NULL if the
 * peer is not open.
 */
ngx_bluebutton_redis_cmd_t *ngx_bluebutton_redis_send(
    ngx_bluebutton_redis_peer_t *peer,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);

/*
 * Connects an open peer waiting for its address to the one now known;
 * host is the name TLS verifies unless bluebutton_redis_ssl_name says.
 */
void ngx_bluebutton_redis_connect_to(ngx_bluebutton_redis_peer_t *peer,
    struct sockaddr *sockaddr, socklen_t socklen, ngx_str_t *name,
    ngx_str_t *host);

/* records that the key is being read on the peer */
void ngx_bluebutton_redis_source(ngx_bluebutton_redis_peer_t *peer,
    ngx_bluebutton_redis_sources_t *sources, const char *key, size_t len,
    ngx_uint_t slot, uint32_t node_id);

/* The reply, when it comes, is read and discarded. */
void ngx_bluebutton_redis_cancel(ngx_bluebutton_redis_cmd_t *cmd);

void ngx_bluebutton_redis_close(ngx_bluebutton_redis_peer_t *peer,
    const char *reason);

/* closes it for good, with what it kept across connections */
void ngx_bluebutton_redis_free(ngx_bluebutton_redis_peer_t *peer);

/* moves the peer's connection between the states the metrics count */
void ngx_bluebutton_redis_set_state(ngx_bluebutton_redis_peer_t *peer,
    ngx_uint_t state);


#endif /* _NGX_BLUEBUTTON_REDIS_H_INCLUDED_ */
