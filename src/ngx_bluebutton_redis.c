/*
 * hiredis' event hooks mapped onto an nginx connection that wraps the
 * Redis socket.  Events are level-triggered, as hiredis reads at most one
 * buffer per call and expects to be called again while data is waiting.
 * Commands queued while the worker handles events are written together
 * from a posted write event, at the end of the same loop iteration; only
 * a write that would block waits for the socket.
 *
 * Replies are matched to commands by hiredis' FIFO of callbacks.  A
 * command whose request went away is only marked cancelled, so that its
 * reply is still consumed in order and never given to anyone else.  A
 * command that times out closes the connection: the replies of a stalled
 * server are never waited for by later requests.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_bluebutton_redis.h"
#include "ngx_bluebutton_metrics.h"


static ngx_int_t ngx_bluebutton_redis_connect(
    ngx_bluebutton_redis_peer_t *peer, ngx_log_t *log, const char **err);
static void ngx_bluebutton_redis_handshake(ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_handshake_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_bluebutton_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
static ngx_uint_t ngx_bluebutton_redis_failed(redisReply *reply);
static void ngx_bluebutton_redis_command_timeout(ngx_event_t *ev);
static void ngx_bluebutton_redis_connect_timeout(ngx_event_t *ev);
static void ngx_bluebutton_redis_failed_attempt(
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_retry(ngx_event_t *ev);
static ngx_uint_t ngx_bluebutton_redis_log_level(
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_bluebutton_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_bluebutton_redis_read_handler(ngx_event_t *ev);
static void ngx_bluebutton_redis_write_handler(ngx_event_t *ev);
static void ngx_bluebutton_redis_add_read(void *privdata);
static void ngx_bluebutton_redis_del_read(void *privdata);
static void ngx_bluebutton_redis_add_write(void *privdata);
static void ngx_bluebutton_redis_del_write(void *privdata);
static void ngx_bluebutton_redis_cleanup(void *privdata);


char *
ngx_bluebutton_redis_parse_addr(ngx_conf_t *cf,
    ngx_bluebutton_redis_conf_t *rcf, ngx_str_t *value)
{
    u_char     *p;
    size_t      len;
    ngx_url_t   u;

    rcf->addr = *value;

    if (value->len > 5 && ngx_strncmp(value->data, "unix:", 5) == 0) {
        len = value->len - 5;

        if (len >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
            return "has a unix socket path that is too long";
        }

        p = ngx_pnalloc(cf->pool, len + 1);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(p, value->data + 5, len);
        p[len] = '\0';

        rcf->path.data = p;
        rcf->path.len = len;

        return NGX_CONF_OK;
    }

    /* resolved here, once: a worker never waits for DNS */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *value;
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in \"bluebutton_redis\" address \"%V\"",
                               u.err, value);
        }

        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "host not found in \"bluebutton_redis\" "
                           "address \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, p,
                        NGX_SOCKADDR_STRLEN, 0);
    p[len] = '\0';

    rcf->host.data = p;
    rcf->host.len = len;
    rcf->port = ngx_inet_get_port(u.addrs[0].sockaddr);

    return NGX_CONF_OK;
}


ngx_bluebutton_redis_cmd_t *
ngx_bluebutton_redis_command(ngx_bluebutton_redis_peer_t *peer,
    ngx_log_t *log, ngx_bluebutton_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen, const char **err)
{
    ngx_bluebutton_redis_cmd_t  *cmd;

    if (peer->ac == NULL) {
        if ((ngx_msec_int_t) (peer->next_attempt - ngx_current_msec) > 0) {
            *err = "waiting to reconnect after a failure";
            return NULL;
        }

        if (ngx_bluebutton_redis_connect(peer, log, err) != NGX_OK) {
            return NULL;
        }
    }

    cmd = ngx_alloc(sizeof(ngx_bluebutton_redis_cmd_t), log);
    if (cmd == NULL) {
        *err = "out of memory";
        return NULL;
    }

    ngx_memzero(cmd, sizeof(ngx_bluebutton_redis_cmd_t));

    cmd->handler = handler;
    cmd->data = data;
    cmd->peer = peer;

    cmd->timer.handler = ngx_bluebutton_redis_command_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = peer->log;

    if (redisAsyncCommandArgv(peer->ac, ngx_bluebutton_redis_reply, cmd,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(cmd);
        *err = "the connection is closing";
        return NULL;
    }

    ngx_add_timer(&cmd->timer, peer->conf.timeout);

    return cmd;
}


void
ngx_bluebutton_redis_open(ngx_bluebutton_redis_peer_t *peer)
{
    const char  *err;

    if (peer->ac == NULL
        && (ngx_msec_int_t) (peer->next_attempt - ngx_current_msec) <= 0)
    {
        (void) ngx_bluebutton_redis_connect(peer, peer->log, &err);
    }
}


void
ngx_bluebutton_redis_cancel(ngx_bluebutton_redis_cmd_t *cmd)
{
    cmd->data = NULL;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }
}


void
ngx_bluebutton_redis_close(ngx_bluebutton_redis_peer_t *peer,
    const char *reason)
{
    if (peer->ac == NULL) {
        return;
    }

    peer->drop_reason = reason;

    /* runs every pending callback with a NULL reply, then our cleanup */
    redisAsyncFree(peer->ac);
}


void
ngx_bluebutton_redis_set_state(ngx_bluebutton_redis_peer_t *peer,
    ngx_uint_t state)
{
    ngx_bluebutton_metrics_redis_state(peer->state, state);
    peer->state = state;
}


static ngx_int_t
ngx_bluebutton_redis_connect(ngx_bluebutton_redis_peer_t *peer,
    ngx_log_t *log, const char **err)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    if (peer->log == NULL) {
        peer->log = ngx_cycle->log;
    }

    ngx_bluebutton_redis_set_state(peer, NGX_BLUEBUTTON_REDIS_CONNECTING);

    if (peer->conf.path.len) {
        ac = redisAsyncConnectUnix((char *) peer->conf.path.data);

    } else {
        ac = redisAsyncConnect((char *) peer->conf.host.data,
                               (int) peer->conf.port);
    }

    if (ac == NULL || ac->err) {
        ngx_log_error(ngx_bluebutton_redis_log_level(peer), log, 0,
                      "bluebutton: could not connect to redis \"%V\": %s",
                      &peer->conf.addr, ac ? ac->errstr : "out of memory");
        if (ac) {
            redisAsyncFree(ac);
        }

        goto failed;
    }

    c = ngx_get_connection(ac->c.fd, peer->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        goto failed;
    }

    c->data = peer;
    c->read->handler = ngx_bluebutton_redis_read_handler;
    c->write->handler = ngx_bluebutton_redis_write_handler;
    c->read->log = peer->log;
    c->write->log = peer->log;

    peer->ac = ac;
    peer->connection = c;
    peer->connected = 0;
    peer->drop_reason = NULL;

    ac->data = peer;
    ac->ev.data = peer;
    ac->ev.addRead = ngx_bluebutton_redis_add_read;
    ac->ev.delRead = ngx_bluebutton_redis_del_read;
    ac->ev.addWrite = ngx_bluebutton_redis_add_write;
    ac->ev.delWrite = ngx_bluebutton_redis_del_write;
    ac->ev.cleanup = ngx_bluebutton_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_bluebutton_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_bluebutton_redis_on_disconnect);

    peer->connect_timer.handler = ngx_bluebutton_redis_connect_timeout;
    peer->connect_timer.data = peer;
    peer->connect_timer.log = peer->log;
    peer->connect_timer.cancelable = 1;

    ngx_add_timer(&peer->connect_timer, peer->conf.timeout);

    /* writability tells hiredis that the connect completed */
    ngx_bluebutton_redis_add_write(peer);

    ngx_bluebutton_redis_handshake(peer);

    if (peer->on_connect) {
        peer->on_connect(peer);
    }

    return NGX_OK;

failed:

    ngx_bluebutton_redis_set_state(peer, NGX_BLUEBUTTON_REDIS_DOWN);
    ngx_bluebutton_redis_failed_attempt(peer);

    *err = "could not connect";

    return NGX_ERROR;
}


static void
ngx_bluebutton_redis_handshake(ngx_bluebutton_redis_peer_t *peer)
{
    int          argc;
    char         db[NGX_INT_T_LEN];
    size_t       argvlen[3];
    const char  *argv[3];

    /* queued ahead of every request's command on this connection */

    if (peer->conf.password.len) {
        argc = 0;
        argv[argc] = "AUTH";
        argvlen[argc++] = 4;

        if (peer->conf.user.len) {
            argv[argc] = (const char *) peer->conf.user.data;
            argvlen[argc++] = peer->conf.user.len;
        }

        argv[argc] = (const char *) peer->conf.password.data;
        argvlen[argc++] = peer->conf.password.len;

        redisAsyncCommandArgv(peer->ac, ngx_bluebutton_redis_handshake_reply,
                              (void *) "AUTH", argc, argv, argvlen);
    }

    if (peer->conf.database > 0) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = db;
        argvlen[1] = ngx_sprintf((u_char *) db, "%i", peer->conf.database)
                     - (u_char *) db;

        redisAsyncCommandArgv(peer->ac, ngx_bluebutton_redis_handshake_reply,
                              (void *) "SELECT", 2, argv, argvlen);
    }
}


static void
ngx_bluebutton_redis_handshake_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                   *rr;
    ngx_bluebutton_redis_peer_t  *peer;

    rr = reply;
    peer = ac->data;

    if (rr == NULL || rr->type != REDIS_REPLY_ERROR) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                  "bluebutton: redis \"%V\" refused %s: %s",
                  &peer->conf.addr, (char *) privdata, rr->str);

    /* the commands queued behind get the server's error, then we close */
    ngx_bluebutton_redis_close(peer, "the handshake failed");
}


static void
ngx_bluebutton_redis_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    ngx_bluebutton_redis_cmd_t  *cmd = privdata;

    void                             *data;
    const char                       *err;
    ngx_bluebutton_redis_peer_t      *peer;
    ngx_bluebutton_redis_handler_pt   handler;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    data = cmd->data;
    handler = cmd->handler;
    peer = cmd->peer;

    if (!cmd->timed_out) {
        ngx_bluebutton_metrics_redis_command(
            ngx_bluebutton_redis_failed(reply) ? NGX_BLUEBUTTON_REDIS_ERROR
                                               : NGX_BLUEBUTTON_REDIS_OK);
    }

    ngx_free(cmd);

    if (data == NULL) {
        return;
    }

    err = NULL;

    if (reply == NULL) {
        if (peer->drop_reason) {
            err = peer->drop_reason;

        } else if (ac->err) {
            err = ac->errstr;

        } else {
            err = "the connection was closed";
        }
    }

    handler(data, reply, err);
}


/*
 * No answer, or an error answer; a script cache miss is not one: it is
 * answered by sending the script, once after each start of Redis.
 */
static ngx_uint_t
ngx_bluebutton_redis_failed(redisReply *reply)
{
    return reply == NULL
           || (reply->type == REDIS_REPLY_ERROR
               && ngx_strncmp(reply->str, "NOSCRIPT", 8) != 0);
}


static void
ngx_bluebutton_redis_command_timeout(ngx_event_t *ev)
{
    ngx_bluebutton_redis_cmd_t  *cmd = ev->data;

    void                             *data;
    ngx_bluebutton_redis_handler_pt   handler;

    data = cmd->data;
    handler = cmd->handler;

    cmd->data = NULL;
    cmd->timed_out = 1;

    ngx_bluebutton_metrics_redis_command(NGX_BLUEBUTTON_REDIS_TIMEOUT);

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "bluebutton: redis \"%V\" did not answer within %M ms, "
                  "closing the connection",
                  &cmd->peer->conf.addr, cmd->peer->conf.timeout);

    /* frees cmd through its callback */
    ngx_bluebutton_redis_close(cmd->peer, "redis timed out");

    if (data) {
        handler(data, NULL, "redis timed out");
    }
}


static void
ngx_bluebutton_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_bluebutton_redis_peer_t  *peer = ev->data;

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "bluebutton: connecting to redis \"%V\" timed out",
                  &peer->conf.addr);

    ngx_bluebutton_redis_close(peer, "connecting to redis timed out");
}


static void
ngx_bluebutton_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_bluebutton_redis_peer_t  *peer = ac->data;

    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns */
        ngx_log_error(ngx_bluebutton_redis_log_level(peer), peer->log, 0,
                      "bluebutton: could not connect to redis \"%V\": %s",
                      &peer->conf.addr, ac->errstr);
        return;
    }

    if (peer->connect_timer.timer_set) {
        ngx_del_timer(&peer->connect_timer);
    }

    peer->connected = 1;
    peer->backoff = 0;

    ngx_bluebutton_redis_set_state(peer, NGX_BLUEBUTTON_REDIS_CONNECTED);

    if (peer->down_since) {
        ngx_log_error(NGX_LOG_NOTICE, peer->log, 0,
                      "bluebutton: connected to redis \"%V\" again after "
                      "%M ms and %ui failed attempts",
                      &peer->conf.addr, ngx_current_msec - peer->down_since,
                      peer->attempts);

        ngx_bluebutton_metrics_redis_reconnect();
        peer->down_since = 0;
        peer->attempts = 0;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, peer->log, 0,
                   "bluebutton: connected to redis \"%V\"", &peer->conf.addr);
}


static void
ngx_bluebutton_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_bluebutton_redis_peer_t  *peer = ac->data;

    if (status != REDIS_OK && peer->drop_reason == NULL) {
        ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                      "bluebutton: lost the connection to redis \"%V\": %s",
                      &peer->conf.addr, ac->errstr);
    }
}


static void
ngx_bluebutton_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t             *c = ev->data;
    ngx_bluebutton_redis_peer_t  *peer = c->data;

    redisAsyncHandleRead(peer->ac);
}


static void
ngx_bluebutton_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t             *c = ev->data;
    ngx_bluebutton_redis_peer_t  *peer = c->data;

    peer->writing = 1;
    redisAsyncHandleWrite(peer->ac);

    /* the context may be gone: the cleanup hook resets the peer */
    peer->writing = 0;
}


static void
ngx_bluebutton_redis_add_read(void *privdata)
{
    ngx_bluebutton_redis_peer_t  *peer = privdata;

    ngx_event_t  *ev;

    ev = peer->connection->read;

    if (!ev->active) {
        (void) ngx_add_event(ev, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_bluebutton_redis_del_read(void *privdata)
{
    ngx_bluebutton_redis_peer_t  *peer = privdata;

    ngx_event_t  *ev;

    ev = peer->connection->read;

    if (ev->active) {
        (void) ngx_del_event(ev, NGX_READ_EVENT, 0);
    }
}


static void
ngx_bluebutton_redis_add_write(void *privdata)
{
    ngx_bluebutton_redis_peer_t  *peer = privdata;

    ngx_event_t  *ev;

    ev = peer->connection->write;

    if (peer->connected && !peer->writing) {
        if (!ev->posted && !ev->active) {
            ngx_post_event(ev, &ngx_posted_events);
        }

        return;
    }

    /* connecting, or a write that would block: wait for the socket */

    if (!ev->active) {
        (void) ngx_add_event(ev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_bluebutton_redis_del_write(void *privdata)
{
    ngx_bluebutton_redis_peer_t  *peer = privdata;

    ngx_event_t  *ev;

    ev = peer->connection->write;

    if (ev->active) {
        (void) ngx_del_event(ev, NGX_WRITE_EVENT, 0);
    }

    if (ev->posted) {
        ngx_delete_posted_event(ev);
    }
}


static void
ngx_bluebutton_redis_cleanup(void *privdata)
{
    ngx_bluebutton_redis_peer_t  *peer = privdata;

    ngx_connection_t  *c;

    /* hiredis closes the socket itself right after this */

    peer->close_err = peer->ac ? peer->ac->err : 0;

    if (peer->close_err) {
        ngx_cpystrn((u_char *) peer->close_errstr,
                    (u_char *) peer->ac->errstr, sizeof(peer->close_errstr));
    }

    c = peer->connection;

    if (c) {
        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        if (c->write->active) {
            (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
    }

    if (peer->connect_timer.timer_set) {
        ngx_del_timer(&peer->connect_timer);
    }

    peer->ac = NULL;
    peer->connection = NULL;
    peer->connected = 0;
    peer->writing = 0;

    ngx_bluebutton_redis_set_state(peer, NGX_BLUEBUTTON_REDIS_DOWN);

    if (peer->on_close) {
        peer->on_close(peer);
    }

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_bluebutton_redis_failed_attempt(peer);
}


/*
 * The next attempt is made by a timer, not left to the next request: a
 * worker that gets no request while Redis is away still finds it back at
 * once, and requests meanwhile are refused without waiting.  The outage
 * is logged once, at its start, and once more when it ends.
 */
static void
ngx_bluebutton_redis_failed_attempt(ngx_bluebutton_redis_peer_t *peer)
{
    if (peer->down_since == 0) {
        peer->down_since = ngx_current_msec;
        peer->attempts = 0;
    }

    peer->attempts++;

    peer->backoff = peer->backoff
                    ? ngx_min(peer->backoff * 2,
                              NGX_BLUEBUTTON_REDIS_BACKOFF_MAX)
                    : NGX_BLUEBUTTON_REDIS_BACKOFF_MIN;
    peer->next_attempt = ngx_current_msec + peer->backoff;

    if (peer->retry_timer.handler == NULL) {
        peer->retry_timer.handler = ngx_bluebutton_redis_retry;
        peer->retry_timer.data = peer;
        peer->retry_timer.log = peer->log;

        /* an exiting worker does not wait for it */
        peer->retry_timer.cancelable = 1;
    }

    if (peer->retry_timer.timer_set) {
        ngx_del_timer(&peer->retry_timer);
    }

    ngx_add_timer(&peer->retry_timer, peer->backoff);
}


static void
ngx_bluebutton_redis_retry(ngx_event_t *ev)
{
    const char                   *err;
    ngx_bluebutton_redis_peer_t  *peer = ev->data;

    if (peer->ac || peer->parked || ngx_exiting || ngx_terminate
        || ngx_quit)
    {
        return;
    }

    (void) ngx_bluebutton_redis_connect(peer, peer->log, &err);
}


/* the first failure of an outage is an error; the attempts after it are not */
static ngx_uint_t
ngx_bluebutton_redis_log_level(ngx_bluebutton_redis_peer_t *peer)
{
    return peer->down_since ? NGX_LOG_DEBUG : NGX_LOG_ERR;
}
