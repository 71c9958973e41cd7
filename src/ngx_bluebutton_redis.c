
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Redis connections of a worker, on nginx's own connections: connect and
 * TLS handshake without blocking, commands formatted by hiredis into an
 * output buffer, replies parsed by hiredis' reader.  Commands queued while
 * the worker handles events are written together from a posted write
 * event, at the end of the same loop iteration; only a write that would
 * block waits for the socket.
 *
 * Replies are matched to commands in order.  A command whose request went
 * away is only marked cancelled, so that its reply is still consumed in
 * order and never given to anyone else.  A command that times out closes
 * the connection: the replies of a stalled server are never waited for by
 * later requests.  Commands may be queued before the connection is up
 * (or, with Sentinel, before the primary is known); they are written,
 * behind the handshake's own, once it is.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_bluebutton_redis.h"
#include "ngx_bluebutton_metrics.h"


static ngx_int_t ngx_bluebutton_redis_connect(
    ngx_bluebutton_redis_peer_t *peer, ngx_log_t *log, const char **err);
static void ngx_bluebutton_redis_connected(ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_tls_handshaked(ngx_connection_t *c);
static void ngx_bluebutton_redis_save_session(ngx_connection_t *c);
static ngx_str_t *ngx_bluebutton_redis_tls_name(
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_ready(ngx_bluebutton_redis_peer_t *peer);
static ngx_int_t ngx_bluebutton_redis_test_connect(ngx_connection_t *c);
static void ngx_bluebutton_redis_handshake(ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_mark_handshake(
    ngx_bluebutton_redis_cmd_t *cmd);
static ngx_uint_t ngx_bluebutton_redis_in_handshake(
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_handshaken(ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_auth_reply(void *data, redisReply *reply,
    const char *err);
static void ngx_bluebutton_redis_select_reply(void *data, redisReply *reply,
    const char *err);
static ngx_uint_t ngx_bluebutton_redis_refusal_level(
    ngx_bluebutton_redis_peer_t *peer, const char *what, const char *why);
static void ngx_bluebutton_redis_refused(ngx_bluebutton_redis_peer_t *peer,
    const char *command, redisReply *reply);
static ngx_bluebutton_redis_cmd_t *ngx_bluebutton_redis_queue(
    ngx_bluebutton_redis_peer_t *peer,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);
static ngx_int_t ngx_bluebutton_redis_deliver(
    ngx_bluebutton_redis_peer_t *peer);
static ngx_uint_t ngx_bluebutton_redis_is_message(redisReply *reply);
static void ngx_bluebutton_redis_reply(ngx_bluebutton_redis_cmd_t *cmd,
    redisReply *reply, const char *err);
static ngx_uint_t ngx_bluebutton_redis_failed(redisReply *reply);
static void ngx_bluebutton_redis_command_timeout(ngx_event_t *ev);
static void ngx_bluebutton_redis_connect_timeout(ngx_event_t *ev);
static void ngx_bluebutton_redis_lost(ngx_bluebutton_redis_peer_t *peer,
    const char *reason);
static void ngx_bluebutton_redis_teardown(ngx_bluebutton_redis_peer_t *peer,
    const char *reason);
static void ngx_bluebutton_redis_failed_attempt(
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_retry(ngx_event_t *ev);
static ngx_uint_t ngx_bluebutton_redis_log_level(
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_redis_read_handler(ngx_event_t *ev);
static void ngx_bluebutton_redis_write_handler(ngx_event_t *ev);
static void ngx_bluebutton_redis_flush(ngx_bluebutton_redis_peer_t *peer);


/* replies are read through it, one worker thread at a time */
static u_char  ngx_bluebutton_redis_buffer[16384];

/* connect() failures are logged by us, at the level of the outage */
static ngx_log_t  ngx_bluebutton_redis_connect_log;


char *
ngx_bluebutton_redis_parse_addr(ngx_conf_t *cf,
    ngx_bluebutton_redis_conf_t *rcf, ngx_str_t *value)
{
    ngx_url_t   u;
    ngx_str_t  *name;

    name = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));

    /* resolved here, once: a worker never waits for DNS */

    u.url = *value;
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in \"%V\" address \"%V\"",
                               u.err, &name[0], value);
        }

        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "host not found in \"%V\" address \"%V\"",
                           &name[0], value);
        return NGX_CONF_ERROR;
    }

    rcf->addr = *value;
    rcf->host = u.host;
    rcf->sockaddr = u.addrs[0].sockaddr;
    rcf->socklen = u.addrs[0].socklen;

    return NGX_CONF_OK;
}


char *
ngx_bluebutton_redis_push_addr(ngx_conf_t *cf, ngx_array_t *addrs,
    ngx_str_t *value, char *unix_refusal)
{
    char                         *rv;
    ngx_bluebutton_redis_conf_t  *addr;

    addr = ngx_array_push(addrs);
    if (addr == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(addr, sizeof(ngx_bluebutton_redis_conf_t));

    rv = ngx_bluebutton_redis_parse_addr(cf, addr, value);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    return addr->sockaddr->sa_family == AF_UNIX ? unix_refusal : NGX_CONF_OK;
}


ngx_bluebutton_redis_cmd_t *
ngx_bluebutton_redis_command(ngx_bluebutton_redis_peer_t *peer,
    ngx_log_t *log, ngx_bluebutton_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen, const char **err)
{
    ngx_bluebutton_redis_cmd_t  *cmd;

    if (peer->closing) {
        *err = "the connection is closing";
        return NULL;
    }

    if (!peer->open) {
        if ((ngx_msec_int_t) (peer->next_attempt - ngx_current_msec) > 0) {
            *err = "waiting to reconnect after a failure";
            return NULL;
        }

        if (ngx_bluebutton_redis_connect(peer, log, err) != NGX_OK) {
            return NULL;
        }
    }

    cmd = ngx_bluebutton_redis_queue(peer, handler, data, argc, argv,
                                     argvlen);
    if (cmd == NULL) {
        *err = peer->out_last - peer->out_pos >= NGX_BLUEBUTTON_REDIS_OUT_MAX
               ? "too many commands are waiting to be written"
               : "out of memory";
        return NULL;
    }

    cmd->counted = 1;

    return cmd;
}


ngx_bluebutton_redis_cmd_t *
ngx_bluebutton_redis_send(ngx_bluebutton_redis_peer_t *peer,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    if (!peer->open || peer->closing) {
        return NULL;
    }

    return ngx_bluebutton_redis_queue(peer, handler, data, argc, argv,
                                      argvlen);
}


void
ngx_bluebutton_redis_open(ngx_bluebutton_redis_peer_t *peer)
{
    const char  *err;

    if (!peer->open && !peer->closing
        && (ngx_msec_int_t) (peer->next_attempt - ngx_current_msec) <= 0)
    {
        (void) ngx_bluebutton_redis_connect(peer, peer->log, &err);
    }
}


void
ngx_bluebutton_redis_source(ngx_bluebutton_redis_peer_t *peer,
    ngx_bluebutton_redis_sources_t *sources, const char *key, size_t len,
    ngx_uint_t slot, uint32_t node_id)
{
    uint32_t                        crc;
    ngx_uint_t                      i;
    ngx_bluebutton_redis_source_t  *src;

    crc = ngx_crc32_short((u_char *) key, len);

    for (i = 0; i < sources->n; i++) {
        if (sources->src[i].key == crc) {
            break;
        }
    }

    if (i == NGX_BLUEBUTTON_REDIS_SOURCES) {
        return;
    }

    if (i == sources->n) {
        sources->n++;
    }

    /* a redirected read is recorded where it went last */

    src = &sources->src[i];

    src->key = crc;
    src->node_id = node_id;
    src->epoch = peer->epoch;
    src->node = peer->node;
    src->slot = slot;
    src->tracked = peer->tracking_sent;
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
    ngx_bluebutton_redis_teardown(peer, reason);
}


void
ngx_bluebutton_redis_free(ngx_bluebutton_redis_peer_t *peer)
{
    ngx_bluebutton_redis_teardown(peer, "the worker is exiting");

    if (peer->retry_timer.timer_set) {
        ngx_del_timer(&peer->retry_timer);
    }

    if (peer->out) {
        ngx_free(peer->out);
        peer->out = NULL;
        peer->out_pos = NULL;
        peer->out_last = NULL;
        peer->out_end = NULL;
    }

    if (peer->ssl_session) {
        ngx_ssl_free_session(peer->ssl_session);
        peer->ssl_session = NULL;
    }
}


void
ngx_bluebutton_redis_set_state(ngx_bluebutton_redis_peer_t *peer,
    ngx_uint_t state)
{
    if (!peer->uncounted) {
        ngx_bluebutton_metrics_redis_state(peer->state, state);
    }

    peer->state = state;
}


static ngx_int_t
ngx_bluebutton_redis_connect(ngx_bluebutton_redis_peer_t *peer,
    ngx_log_t *log, const char **err)
{
    if (peer->log == NULL) {
        peer->log = ngx_cycle->log;
    }

    if (peer->kind == NULL) {
        peer->kind = "redis";
    }

    if (peer->commands.next == NULL) {
        ngx_queue_init(&peer->commands);
    }

    if (peer->reader == NULL) {
        peer->reader = redisReaderCreate();
        if (peer->reader == NULL) {
            *err = "out of memory";
            return NGX_ERROR;
        }
    }

    /* a subscriber is told of many keys at once; a command's reply is small */
    bb_resp_init(&peer->resp, peer->limits ? peer->limits
                              : peer->on_message ? &bb_resp_subscriber_limits
                              : &bb_resp_command_limits);

    peer->open = 1;
    peer->connected = 0;
    peer->drop_reason = NULL;
    peer->generation++;

    ngx_bluebutton_redis_set_state(peer, NGX_BLUEBUTTON_REDIS_CONNECTING);

    peer->connect_timer.handler = ngx_bluebutton_redis_connect_timeout;
    peer->connect_timer.data = peer;
    peer->connect_timer.log = peer->log;
    peer->connect_timer.cancelable = 1;

    /* the connection and its handshake: finding the primary included */
    ngx_add_timer(&peer->connect_timer, peer->conf.timeout);

    ngx_bluebutton_redis_handshake(peer);

    if (peer->on_connect) {
        peer->on_connect(peer);
    }

    if (peer->locate) {
        /* connected by the topology above once it knows the address */
        peer->locate(peer);

    } else {
        ngx_bluebutton_redis_connect_to(peer, peer->conf.sockaddr,
                                        peer->conf.socklen, &peer->conf.addr,
                                        &peer->conf.host);
    }

    if (!peer->open) {
        *err = "could not connect";
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_bluebutton_redis_connect_to(ngx_bluebutton_redis_peer_t *peer,
    struct sockaddr *sockaddr, socklen_t socklen, ngx_str_t *name,
    ngx_str_t *host)
{
    ngx_int_t               rc;
    ngx_err_t               err;
    ngx_connection_t       *c;
    ngx_peer_connection_t   pc;

    if (!peer->open || peer->connection) {
        return;
    }

    /* the topology above may name another address while this one lives */

    ngx_memcpy(peer->sockaddr_copy, sockaddr, socklen);
    peer->sockaddr = (struct sockaddr *) peer->sockaddr_copy;
    peer->socklen = socklen;

    peer->name = *name;
    peer->host = *host;

    if (name->len <= sizeof(peer->name_copy)) {
        peer->name.data = ngx_cpymem(peer->name_copy, name->data, name->len)
                          - name->len;

        if (host->data >= name->data
            && host->data + host->len <= name->data + name->len)
        {
            peer->host.data = peer->name_copy + (host->data - name->data);
        }
    }

    if (ngx_bluebutton_redis_connect_log.file == NULL) {
        ngx_bluebutton_redis_connect_log = *ngx_cycle->log;
        ngx_bluebutton_redis_connect_log.log_level = NGX_LOG_CRIT;
        ngx_bluebutton_redis_connect_log.next = NULL;
    }

    ngx_memzero(&pc, sizeof(ngx_peer_connection_t));

    pc.sockaddr = peer->sockaddr;
    pc.socklen = socklen;
    pc.name = &peer->name;
    pc.get = ngx_event_get_peer;
    pc.log = &ngx_bluebutton_redis_connect_log;
    pc.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&pc);
    err = ngx_socket_errno;

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_log_error(ngx_bluebutton_redis_log_level(peer), peer->log,
                      rc == NGX_DECLINED ? err : 0,
                      "bluebutton: could not connect to %s \"%V\"",
                      peer->kind, &peer->name);

        ngx_bluebutton_redis_teardown(peer, "could not connect to redis");
        return;
    }

    c = pc.connection;

    c->data = peer;
    c->log = peer->log;
    c->read->log = peer->log;
    c->write->log = peer->log;
    c->read->handler = ngx_bluebutton_redis_read_handler;
    c->write->handler = ngx_bluebutton_redis_write_handler;

    /* a TLS error after the first of an outage is not logged again */
    c->log_error = peer->down_since ? NGX_ERROR_INFO : NGX_ERROR_ERR;

    peer->connection = c;

    if (rc == NGX_AGAIN) {
        /* writability says the connect ended */
        return;
    }

    ngx_bluebutton_redis_connected(peer);
}


static void
ngx_bluebutton_redis_connected(ngx_bluebutton_redis_peer_t *peer)
{
    ngx_int_t          rc;
    ngx_str_t         *name;
    ngx_connection_t  *c;

    if (peer->conf.tls == NULL) {
        ngx_bluebutton_redis_ready(peer);
        return;
    }

    c = peer->connection;

    c->pool = ngx_create_pool(512, peer->log);
    if (c->pool == NULL) {
        ngx_bluebutton_redis_teardown(peer, "out of memory");
        return;
    }

    name = ngx_bluebutton_redis_tls_name(peer);

    rc = ngx_bluebutton_tls_handshake(peer->conf.tls, c, name,
                                      peer->ssl_session,
                                      ngx_bluebutton_redis_tls_handshaked,
                                      ngx_bluebutton_redis_save_session);

    if (rc == NGX_AGAIN) {
        return;
    }

    ngx_bluebutton_redis_tls_handshaked(c);
}


static void
ngx_bluebutton_redis_tls_handshaked(ngx_connection_t *c)
{
    u_char                        err[256];
    ngx_str_t                    *name;
    ngx_bluebutton_redis_peer_t  *peer = c->data;

    if (c->ssl == NULL || !c->ssl->handshaked) {
        ngx_log_error(ngx_bluebutton_redis_log_level(peer), peer->log, 0,
                      "bluebutton: the TLS handshake with %s \"%V\" "
                      "failed", peer->kind, &peer->name);
        ngx_bluebutton_redis_teardown(peer, "the TLS handshake failed");
        return;
    }

    name = ngx_bluebutton_redis_tls_name(peer);

    if (ngx_bluebutton_tls_verify(peer->conf.tls, c, name, err, sizeof(err))
        != NGX_OK)
    {
        ngx_log_error(ngx_bluebutton_redis_log_level(peer), peer->log, 0,
                      "bluebutton: %s \"%V\" is not trusted: %s",
                      peer->kind, &peer->name, err);
        ngx_bluebutton_redis_teardown(peer, "redis is not trusted");
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, peer->log, 0,
                   "bluebutton: TLS to %s \"%V\"%s",
                   peer->kind, &peer->name,
                   SSL_session_reused(c->ssl->connection)
                   ? ", session reused" : "");

    c->read->handler = ngx_bluebutton_redis_read_handler;
    c->write->handler = ngx_bluebutton_redis_write_handler;

    ngx_bluebutton_redis_ready(peer);
}


/* bluebutton_redis_ssl_name, or the host the peer connects to */
static ngx_str_t *
ngx_bluebutton_redis_tls_name(ngx_bluebutton_redis_peer_t *peer)
{
    return peer->conf.tls->name.len ? &peer->conf.tls->name : &peer->host;
}


/* sessions come after the handshake in TLS 1.3: kept for the next one */
static void
ngx_bluebutton_redis_save_session(ngx_connection_t *c)
{
    ngx_ssl_session_t            *session;
    ngx_bluebutton_redis_peer_t  *peer = c->data;

    session = ngx_ssl_get_session(c);
    if (session == NULL) {
        return;
    }

    if (peer->ssl_session) {
        ngx_ssl_free_session(peer->ssl_session);
    }

    peer->ssl_session = session;
}


static void
ngx_bluebutton_redis_ready(ngx_bluebutton_redis_peer_t *peer)
{
    if (peer->connect_timer.timer_set) {
        ngx_del_timer(&peer->connect_timer);
    }

    peer->connected = 1;

    ngx_bluebutton_redis_set_state(peer, NGX_BLUEBUTTON_REDIS_CONNECTED);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, peer->log, 0,
                   "bluebutton: connected to %s \"%V\"",
                   peer->kind, &peer->name);

    if (!ngx_bluebutton_redis_in_handshake(peer)) {
        ngx_bluebutton_redis_handshaken(peer);
    }

    ngx_bluebutton_redis_flush(peer);
}


/* AUTH, SELECT and ROLE come first: one of them still waits */
static ngx_uint_t
ngx_bluebutton_redis_in_handshake(ngx_bluebutton_redis_peer_t *peer)
{
    ngx_bluebutton_redis_cmd_t  *cmd;

    if (ngx_queue_empty(&peer->commands)) {
        return 0;
    }

    cmd = ngx_queue_data(ngx_queue_head(&peer->commands),
                         ngx_bluebutton_redis_cmd_t, queue);

    return cmd->handshake;
}


/*
 * Only a server that took the handshake ends an outage: one that accepts
 * connections and refuses AUTH is retried at the back-off's pace.
 */
static void
ngx_bluebutton_redis_handshaken(ngx_bluebutton_redis_peer_t *peer)
{
    peer->backoff = 0;

    if (peer->down_since) {
        ngx_log_error(NGX_LOG_NOTICE, peer->log, 0,
                      "bluebutton: connected to %s \"%V\" again after "
                      "%M ms and %ui failed attempts",
                      peer->kind, &peer->name,
                      ngx_current_msec - peer->down_since, peer->attempts);

        ngx_bluebutton_metrics_redis_reconnect();
        peer->down_since = 0;
        peer->attempts = 0;
    }
}


static ngx_int_t
ngx_bluebutton_redis_test_connect(ngx_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_set_socket_errno(err);
        return NGX_ERROR;
    }

    return NGX_OK;
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

        ngx_bluebutton_redis_mark_handshake(
            ngx_bluebutton_redis_queue(peer, ngx_bluebutton_redis_auth_reply,
                                       peer, argc, argv, argvlen));
    }

    if (peer->conf.database > 0) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = db;
        argvlen[1] = ngx_sprintf((u_char *) db, "%i", peer->conf.database)
                     - (u_char *) db;

        ngx_bluebutton_redis_mark_handshake(
            ngx_bluebutton_redis_queue(peer,
                                       ngx_bluebutton_redis_select_reply,
                                       peer, 2, argv, argvlen));
    }

    if (peer->on_handshake) {
        /* e.g. nothing is read before the server says it is the primary */
        peer->on_handshake(peer);

        if (!ngx_queue_empty(&peer->commands)) {
            ngx_bluebutton_redis_mark_handshake(
                ngx_queue_data(ngx_queue_last(&peer->commands),
                               ngx_bluebutton_redis_cmd_t, queue));
        }
    }
}


static void
ngx_bluebutton_redis_mark_handshake(ngx_bluebutton_redis_cmd_t *cmd)
{
    if (cmd) {
        cmd->handshake = 1;
    }
}


static void
ngx_bluebutton_redis_auth_reply(void *data, redisReply *reply,
    const char *err)
{
    ngx_bluebutton_redis_refused(data, "AUTH", reply);
}


static void
ngx_bluebutton_redis_select_reply(void *data, redisReply *reply,
    const char *err)
{
    ngx_bluebutton_redis_refused(data, "SELECT", reply);
}


static void
ngx_bluebutton_redis_refused(ngx_bluebutton_redis_peer_t *peer,
    const char *command, redisReply *reply)
{
    ngx_uint_t  level;

    if (reply == NULL || reply->type != REDIS_REPLY_ERROR) {
        return;
    }

    /* ngx_log_error() evaluates the level twice: it is taken first */
    level = ngx_bluebutton_redis_refusal_level(peer, command, reply->str);

    ngx_log_error(level, peer->log, 0,
                  "bluebutton: %s \"%V\" refused %s: %s",
                  peer->kind, &peer->name, command, reply->str);

    /* the commands queued behind get an error, not the wrong database */
    ngx_bluebutton_redis_teardown(peer, "the handshake failed");
}


/*
 * A refusal of the server's (a handshake command refused, a reply beyond
 * its bounds) is an error the first time and info while it repeats, until
 * it changes or the server answers a command again: a server that refuses
 * every reconnection is not logged five times a second.
 */
static ngx_uint_t
ngx_bluebutton_redis_refusal_level(ngx_bluebutton_redis_peer_t *peer,
    const char *what, const char *why)
{
    uint32_t    crc;
    ngx_uint_t  level;

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, (u_char *) what, ngx_strlen(what));
    ngx_crc32_update(&crc, (u_char *) why, ngx_strlen(why));
    ngx_crc32_final(crc);

    level = (crc == peer->refusal) ? NGX_LOG_INFO : NGX_LOG_ERR;
    peer->refusal = crc;

    return level;
}


static ngx_bluebutton_redis_cmd_t *
ngx_bluebutton_redis_queue(ngx_bluebutton_redis_peer_t *peer,
    ngx_bluebutton_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    int                          len;
    char                        *text;
    size_t                       size, used;
    u_char                      *out;
    ngx_bluebutton_redis_cmd_t  *cmd;

    if (peer->out_last - peer->out_pos >= NGX_BLUEBUTTON_REDIS_OUT_MAX) {
        return NULL;
    }

    len = redisFormatCommandArgv(&text, argc, argv, argvlen);
    if (len < 0) {
        return NULL;
    }

    if ((size_t) (peer->out_end - peer->out_last) < (size_t) len) {
        used = peer->out_last - peer->out_pos;
        size = ngx_max(2 * (used + len), 4096);

        out = ngx_alloc(size, peer->log);
        if (out == NULL) {
            redisFreeCommand(text);
            return NULL;
        }

        if (used) {
            ngx_memcpy(out, peer->out_pos, used);
        }

        if (peer->out) {
            ngx_free(peer->out);
        }

        peer->out = out;
        peer->out_pos = out;
        peer->out_last = out + used;
        peer->out_end = out + size;
    }

    cmd = ngx_alloc(sizeof(ngx_bluebutton_redis_cmd_t), peer->log);
    if (cmd == NULL) {
        redisFreeCommand(text);
        return NULL;
    }

    ngx_memzero(cmd, sizeof(ngx_bluebutton_redis_cmd_t));

    peer->out_last = ngx_cpymem(peer->out_last, text, len);
    redisFreeCommand(text);

    cmd->handler = handler;
    cmd->data = data;
    cmd->peer = peer;

    cmd->timer.handler = ngx_bluebutton_redis_command_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = peer->log;

    ngx_queue_insert_tail(&peer->commands, &cmd->queue);

    /* until the connection is up its connect timer stands for this one */
    ngx_add_timer(&cmd->timer, peer->conf.timeout);

    if (peer->connected && !peer->connection->write->posted) {
        ngx_post_event(peer->connection->write, &ngx_posted_events);
    }

    return cmd;
}


static void
ngx_bluebutton_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t             *c = ev->data;
    ngx_bluebutton_redis_peer_t  *peer = c->data;

    ssize_t     n;
    ngx_uint_t  level;

    if (!peer->connected) {
        /* a connect that failed is seen by the write handler */
        return;
    }

    for ( ;; ) {
        n = c->recv(c, ngx_bluebutton_redis_buffer,
                    sizeof(ngx_bluebutton_redis_buffer));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0) {
            ngx_bluebutton_redis_lost(peer, "redis closed the connection");
            return;
        }

        if (n == NGX_ERROR) {
            ngx_bluebutton_redis_lost(peer, "could not read from redis");
            return;
        }

        /* nothing reaches hiredis' reader that was not bounded first */

        if (bb_resp_scan(&peer->resp,
                         (const char *) ngx_bluebutton_redis_buffer, n)
            != 0)
        {
            level = ngx_bluebutton_redis_refusal_level(peer, "reply",
                                                       peer->resp.error);

            ngx_bluebutton_metrics_redis_refused(peer->resp.reason);

            ngx_log_error(level, peer->log, 0,
                          "bluebutton: %s \"%V\" sent %s: the reply is not "
                          "read and the connection is closed",
                          peer->kind, &peer->name, peer->resp.error);

            ngx_bluebutton_redis_teardown(peer, "a protocol error");
            return;
        }

        if (redisReaderFeed(peer->reader,
                            (const char *) ngx_bluebutton_redis_buffer, n)
            != REDIS_OK)
        {
            ngx_bluebutton_redis_lost(peer, "out of memory");
            return;
        }

        if (ngx_bluebutton_redis_deliver(peer) != NGX_OK) {
            return;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_bluebutton_redis_lost(peer, "could not wait for redis");
    }
}


static void
ngx_bluebutton_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t             *c = ev->data;
    ngx_bluebutton_redis_peer_t  *peer = c->data;

    if (!peer->connected) {
        if (ngx_bluebutton_redis_test_connect(c) != NGX_OK) {
            ngx_log_error(ngx_bluebutton_redis_log_level(peer), peer->log,
                          ngx_socket_errno,
                          "bluebutton: could not connect to %s \"%V\"",
                          peer->kind, &peer->name);
            ngx_bluebutton_redis_teardown(peer,
                                          "could not connect to redis");
            return;
        }

        ngx_bluebutton_redis_connected(peer);
        return;
    }

    ngx_bluebutton_redis_flush(peer);
}


static void
ngx_bluebutton_redis_flush(ngx_bluebutton_redis_peer_t *peer)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = peer->connection;

    while (peer->out_pos < peer->out_last) {

        if (!c->write->ready) {
            break;
        }

        n = c->send(c, peer->out_pos, peer->out_last - peer->out_pos);

        if (n == NGX_ERROR) {
            ngx_bluebutton_redis_lost(peer, "could not write to redis");
            return;
        }

        if (n == NGX_AGAIN) {
            break;
        }

        peer->out_pos += n;
    }

    if (peer->out_pos == peer->out_last) {
        peer->out_pos = peer->out;
        peer->out_last = peer->out;
        return;
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_bluebutton_redis_lost(peer, "could not wait for redis");
    }
}


static ngx_int_t
ngx_bluebutton_redis_deliver(ngx_bluebutton_redis_peer_t *peer)
{
    void                        *reply;
    ngx_uint_t                   generation, handshake;
    ngx_queue_t                 *q;
    ngx_bluebutton_redis_cmd_t  *cmd;

    generation = peer->generation;

    for ( ;; ) {
        if (redisReaderGetReply(peer->reader, &reply) != REDIS_OK) {
            ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                          "bluebutton: %s \"%V\" sent what is not the "
                          "Redis protocol: %s",
                          peer->kind, &peer->name, peer->reader->errstr);
            ngx_bluebutton_redis_teardown(peer, "a protocol error");
            return NGX_ERROR;
        }

        if (reply == NULL) {
            return NGX_OK;
        }

        if (peer->on_message && ngx_bluebutton_redis_is_message(reply)) {
            peer->on_message(peer, reply);

        } else if (!ngx_queue_empty(&peer->commands)) {
            q = ngx_queue_head(&peer->commands);
            ngx_queue_remove(q);

            cmd = ngx_queue_data(q, ngx_bluebutton_redis_cmd_t, queue);
            handshake = cmd->handshake;

            ngx_bluebutton_redis_reply(cmd, reply, NULL);

            if (peer->generation == generation) {
                if (!handshake) {
                    /* the server answers again: a refusal is news */
                    peer->refusal = 0;

                } else if (!ngx_bluebutton_redis_in_handshake(peer)) {
                    ngx_bluebutton_redis_handshaken(peer);
                }
            }

        } else {
            freeReplyObject(reply);

            ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                          "bluebutton: %s \"%V\" sent a reply no command "
                          "asked for", peer->kind, &peer->name);
            ngx_bluebutton_redis_teardown(peer, "a protocol error");
            return NGX_ERROR;
        }

        freeReplyObject(reply);

        /* a handler may have closed it: the rest is not read */

        if (peer->generation != generation) {
            return NGX_ERROR;
        }
    }
}


/* a published message of a subscriber: ["message", channel, payload] */
static ngx_uint_t
ngx_bluebutton_redis_is_message(redisReply *reply)
{
    return reply->type == REDIS_REPLY_ARRAY
           && reply->elements == 3
           && reply->element[0]->type == REDIS_REPLY_STRING
           && reply->element[0]->len == 7
           && ngx_strncmp(reply->element[0]->str, "message", 7) == 0;
}


static void
ngx_bluebutton_redis_reply(ngx_bluebutton_redis_cmd_t *cmd,
    redisReply *reply, const char *err)
{
    void                             *data;
    ngx_bluebutton_redis_handler_pt   handler;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    data = cmd->data;
    handler = cmd->handler;

    if (cmd->counted && !cmd->timed_out) {
        ngx_bluebutton_metrics_redis_command(
            ngx_bluebutton_redis_failed(reply) ? NGX_BLUEBUTTON_REDIS_ERROR
                                               : NGX_BLUEBUTTON_REDIS_OK);
    }

    ngx_free(cmd);

    if (data) {
        handler(data, reply, err);
    }
}


/*
 * No answer, or an error answer; a script cache miss is not one: it is
 * answered by sending the script, once after each start of Redis.  Nor
 * is a cluster's redirection: the command is sent on, and counted again.
 */
static ngx_uint_t
ngx_bluebutton_redis_failed(redisReply *reply)
{
    return reply == NULL
           || (reply->type == REDIS_REPLY_ERROR
               && ngx_strncmp(reply->str, "NOSCRIPT", 8) != 0
               && ngx_strncmp(reply->str, "MOVED ", 6) != 0
               && ngx_strncmp(reply->str, "ASK ", 4) != 0
               && ngx_strncmp(reply->str, "TRYAGAIN", 8) != 0);
}


static void
ngx_bluebutton_redis_command_timeout(ngx_event_t *ev)
{
    ngx_bluebutton_redis_cmd_t  *cmd = ev->data;

    void                             *data;
    ngx_bluebutton_redis_peer_t      *peer;
    ngx_bluebutton_redis_handler_pt   handler;

    data = cmd->data;
    handler = cmd->handler;
    peer = cmd->peer;

    cmd->data = NULL;
    cmd->timed_out = 1;

    if (cmd->counted) {
        ngx_bluebutton_metrics_redis_command(NGX_BLUEBUTTON_REDIS_TIMEOUT);
    }

    if (peer->connected) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "bluebutton: %s \"%V\" did not answer within %M ms, "
                      "closing the connection",
                      peer->kind, &peer->name, peer->conf.timeout);
    }

    /* frees cmd with the others */
    ngx_bluebutton_redis_teardown(peer, peer->connected
                                        ? "redis timed out"
                                        : "connecting to redis timed out");

    if (data) {
        handler(data, NULL, "redis timed out");
    }
}


static void
ngx_bluebutton_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_connection_t             *c;
    ngx_bluebutton_redis_peer_t  *peer = ev->data;

    c = peer->connection;

    if (c && c->ssl && !c->ssl->handshaked) {
        /* a clear-text server waits for a line that never comes */
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "bluebutton: the TLS handshake with %s \"%V\" did not "
                      "end within %M ms", peer->kind, &peer->name,
                      peer->conf.timeout);

    } else {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "bluebutton: connecting to %s \"%V\" timed out",
                      peer->kind, &peer->name);
    }

    ngx_bluebutton_redis_teardown(peer, "connecting to redis timed out");
}


static void
ngx_bluebutton_redis_lost(ngx_bluebutton_redis_peer_t *peer,
    const char *reason)
{
    ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                  "bluebutton: lost the connection to %s \"%V\": %s",
                  peer->kind, &peer->name, reason);

    ngx_bluebutton_redis_teardown(peer, reason);
}


/*
 * Every command still waiting is answered with the reason, in order; then
 * the peer's owner hears of it, and the next attempt is scheduled.
 */
static void
ngx_bluebutton_redis_teardown(ngx_bluebutton_redis_peer_t *peer,
    const char *reason)
{
    ngx_pool_t                  *pool;
    ngx_queue_t                  commands, *q;
    ngx_connection_t            *c;
    ngx_bluebutton_redis_cmd_t  *cmd;

    if (!peer->open || peer->closing) {
        return;
    }

    peer->closing = 1;
    peer->drop_reason = reason;
    peer->generation++;

    c = peer->connection;

    if (c) {
        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }

        pool = c->pool;
        ngx_close_connection(c);

        if (pool) {
            ngx_destroy_pool(pool);
        }
    }

    if (peer->connect_timer.timer_set) {
        ngx_del_timer(&peer->connect_timer);
    }

    if (peer->unlocate) {
        peer->unlocate(peer);
    }

    redisReaderFree(peer->reader);

    peer->reader = NULL;
    peer->connection = NULL;
    peer->connected = 0;
    peer->open = 0;
    peer->out_pos = peer->out;
    peer->out_last = peer->out;

    ngx_bluebutton_redis_set_state(peer, NGX_BLUEBUTTON_REDIS_DOWN);

    ngx_queue_init(&commands);

    if (!ngx_queue_empty(&peer->commands)) {
        commands = peer->commands;
        commands.next->prev = &commands;
        commands.prev->next = &commands;
        ngx_queue_init(&peer->commands);
    }

    while (!ngx_queue_empty(&commands)) {
        q = ngx_queue_head(&commands);
        ngx_queue_remove(q);

        cmd = ngx_queue_data(q, ngx_bluebutton_redis_cmd_t, queue);
        ngx_bluebutton_redis_reply(cmd, NULL, reason);
    }

    peer->closing = 0;

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
    ngx_msec_t  max;

    if (peer->down_since == 0) {
        peer->down_since = ngx_current_msec;
        peer->attempts = 0;
    }

    peer->attempts++;

    max = peer->backoff_max ? peer->backoff_max
                            : NGX_BLUEBUTTON_REDIS_BACKOFF_MAX;

    peer->backoff = peer->backoff ? ngx_min(peer->backoff * 2, max)
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

    if (peer->open || peer->parked || ngx_exiting || ngx_terminate
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
