/*
 * Per-worker Redis connections driven by nginx's event loop through
 * hiredis' asynchronous API.
 */

#ifndef _NGX_BLUEBUTTON_REDIS_H_INCLUDED_
#define _NGX_BLUEBUTTON_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


/*
 * After a failure a worker tries again in the background, 50 ms later,
 * doubling to every 200 ms: at most five attempts a second against a dead
 * Redis, and connected again within about 200 ms of its return.
 */
#define NGX_BLUEBUTTON_REDIS_BACKOFF_MIN   50
#define NGX_BLUEBUTTON_REDIS_BACKOFF_MAX   200


typedef struct {
    ngx_str_t                     addr;      /* as configured, for logs */
    ngx_str_t                     host;      /* numeric, NUL-terminated */
    ngx_int_t                     port;
    ngx_str_t                     path;      /* unix socket, or empty */
    ngx_str_t                     user;
    ngx_str_t                     password;
    ngx_int_t                     database;
    ngx_msec_t                    timeout;
} ngx_bluebutton_redis_conf_t;


typedef struct ngx_bluebutton_redis_peer_s  ngx_bluebutton_redis_peer_t;
typedef struct ngx_bluebutton_redis_cmd_s   ngx_bluebutton_redis_cmd_t;

/*
 * Called exactly once per command unless the command was cancelled:
 * with the reply (valid during the call only), or with NULL and a reason.
 */
typedef void (*ngx_bluebutton_redis_handler_pt)(void *data,
    redisReply *reply, const char *err);


struct ngx_bluebutton_redis_peer_s {
    ngx_bluebutton_redis_conf_t   conf;

    /* the rest is per worker process */
    redisAsyncContext            *ac;
    ngx_connection_t             *connection;
    ngx_event_t                   connect_timer;
    ngx_event_t                   retry_timer;
    ngx_msec_t                    backoff;
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
    uint64_t                      epoch;     /* of the tracking in force */
    uint64_t                      tracking_epoch;  /* of the last sent */
    long long                     client_id; /* of a subscriber */
    ngx_msec_t                    lost_at;   /* feed lost, 0 while up */
    int                           close_err; /* hiredis' err on closing */
    char                          close_errstr[128];

    unsigned                      connected:1;
    unsigned                      writing:1;
    unsigned                      subscribed:1;
    unsigned                      tracking_sent:1;
    unsigned                      tracking:1;
    unsigned                      untrackable:1;
    unsigned                      parked:1;  /* no retries by the timer */
    unsigned                      refusal_logged:1;
};


struct ngx_bluebutton_redis_cmd_s {
    ngx_bluebutton_redis_handler_pt   handler;
    void                             *data;  /* NULL once cancelled */
    ngx_bluebutton_redis_peer_t      *peer;
    ngx_event_t                       timer;
    unsigned                          timed_out:1;
};


char *ngx_bluebutton_redis_parse_addr(ngx_conf_t *cf,
    ngx_bluebutton_redis_conf_t *rcf, ngx_str_t *value);

/*
 * Sends a command.  Returns the command, or NULL with *err set when Redis
 * cannot be reached now (connection failed or backing off).
 */
/* connects now unless connected or backing off after a failure */
void ngx_bluebutton_redis_open(ngx_bluebutton_redis_peer_t *peer);

ngx_bluebutton_redis_cmd_t *ngx_bluebutton_redis_command(
    ngx_bluebutton_redis_peer_t *peer, ngx_log_t *log,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen, const char **err);

/* The reply, when it comes, is read and discarded. */
void ngx_bluebutton_redis_cancel(ngx_bluebutton_redis_cmd_t *cmd);

void ngx_bluebutton_redis_close(ngx_bluebutton_redis_peer_t *peer,
    const char *reason);

/* moves the peer's connection between the states the metrics count */
void ngx_bluebutton_redis_set_state(ngx_bluebutton_redis_peer_t *peer,
    ngx_uint_t state);


#endif /* _NGX_BLUEBUTTON_REDIS_H_INCLUDED_ */
