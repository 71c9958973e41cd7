
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Finding the primary through Redis Sentinel.  Each worker has, per Redis
 * configured with sentinels, one connection per sentinel it asks (opened
 * when needed, in the configured order, starting from the last one that
 * answered) and one subscriber to +switch-master per sentinel: the
 * sentinel that leads a failover announces it at once, the others only
 * once they hear of it, up to seconds later.
 *
 * The lookup connection and its invalidation feed connect only to the
 * address a sentinel named, and only after that server answered ROLE with
 * "master": a demoted primary that comes back as a replica, or one that
 * has not yet been told, may still hold a revoked grant.  A connection
 * lost or refused for any reason asks the sentinels again.  When no
 * sentinel answers, the last primary named is tried: ROLE still decides.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_bluebutton_sentinel.h"
#include "ngx_bluebutton_failover.h"


static void ngx_bluebutton_sentinel_attach(ngx_bluebutton_sentinel_t *s,
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_sentinel_want(ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_sentinel_unwant(ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_sentinel_check_role(
    ngx_bluebutton_redis_peer_t *peer);
static void ngx_bluebutton_sentinel_ask(ngx_bluebutton_sentinel_t *s);
static void ngx_bluebutton_sentinel_answer(void *data, redisReply *reply,
    const char *err);
static void ngx_bluebutton_sentinel_set(ngx_bluebutton_sentinel_t *s,
    bb_failover_t *f);
static void ngx_bluebutton_sentinel_found(ngx_bluebutton_sentinel_t *s);
static void ngx_bluebutton_sentinel_give_up(ngx_bluebutton_sentinel_t *s,
    const char *reason);
static void ngx_bluebutton_sentinel_role(void *data, redisReply *reply,
    const char *err);
static void ngx_bluebutton_sentinel_subscribe(
    ngx_bluebutton_redis_peer_t *sub);
static void ngx_bluebutton_sentinel_subscribed(void *data, redisReply *reply,
    const char *err);
static void ngx_bluebutton_sentinel_message(ngx_bluebutton_redis_peer_t *sub,
    redisReply *reply);
static void ngx_bluebutton_sentinel_move(ngx_bluebutton_sentinel_t *s,
    ngx_uint_t reopen);
static ngx_uint_t ngx_bluebutton_sentinel_same(ngx_bluebutton_sentinel_t *s,
    bb_failover_t *f);


/*
 * +promoted-slave comes first, from the sentinel that leads a failover,
 * as soon as it names the new primary in get-master-addr-by-name;
 * +switch-master comes when the failover ends, from every sentinel.
 */
static ngx_str_t  ngx_bluebutton_sentinel_channels[] = {
    ngx_string("+promoted-slave"),
    ngx_string("+switch-master")
};


char *
ngx_bluebutton_sentinel_conf(ngx_conf_t *cf, ngx_bluebutton_redis_conf_t *rcf)
{
    char                            *rv;
    ngx_str_t                       *value;
    ngx_uint_t                       i;
    ngx_bluebutton_sentinel_conf_t  *scf;

    value = cf->args->elts;

    if (value[1].len <= 7 || ngx_strncmp(value[1].data, "master=", 7) != 0) {
        return "takes \"master=NAME\" first, then the sentinels' addresses";
    }

    if (cf->args->nelts < 3) {
        return "takes at least one sentinel address";
    }

    scf = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_sentinel_conf_t));
    if (scf == NULL) {
        return NGX_CONF_ERROR;
    }

    scf->master.data = value[1].data + 7;
    scf->master.len = value[1].len - 7;

    if (ngx_array_init(&scf->addrs, cf->pool, cf->args->nelts - 2,
                       sizeof(ngx_bluebutton_redis_conf_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        rv = ngx_bluebutton_redis_push_addr(cf, &scf->addrs, &value[i],
                                            "takes sentinels' TCP addresses, "
                                            "not unix sockets");
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    rcf->sentinel = scf;

    /* for logs until the primary is known */
    rcf->addr = scf->master;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_bluebutton_sentinel_init(ngx_bluebutton_redis_peer_t *peer,
    ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_bluebutton_sentinel_t    *s;
    ngx_bluebutton_redis_conf_t  *addrs;
    ngx_bluebutton_redis_peer_t  *sp;

    s = ngx_pcalloc(cycle->pool, sizeof(ngx_bluebutton_sentinel_t));
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->conf = peer->conf.sentinel;
    s->log = cycle->log;
    s->nsentinels = s->conf->addrs.nelts;

    /* the askers, then the subscribers */

    s->sentinels = ngx_pcalloc(cycle->pool,
                               2 * s->nsentinels
                               * sizeof(ngx_bluebutton_redis_peer_t));
    if (s->sentinels == NULL) {
        return NGX_ERROR;
    }

    s->subscribers = s->sentinels + s->nsentinels;

    addrs = s->conf->addrs.elts;

    for (i = 0; i < 2 * s->nsentinels; i++) {
        sp = &s->sentinels[i];

        sp->conf = addrs[i % s->nsentinels];
        sp->conf.timeout = peer->conf.timeout;
        sp->conf.tls = peer->conf.tls;
        sp->conf.user = peer->conf.sentinel_user;
        sp->conf.password = peer->conf.sentinel_password;
        sp->kind = "sentinel";
        sp->name = sp->conf.addr;
        sp->log = cycle->log;
        sp->uncounted = 1;
        sp->backoff_max = NGX_BLUEBUTTON_SENTINEL_BACKOFF_MAX;

        if (i < s->nsentinels) {
            /* asked when needed, never reconnected by a timer */
            sp->parked = 1;
            continue;
        }

        sp->locator = s;
        sp->on_connect = ngx_bluebutton_sentinel_subscribe;
        sp->on_message = ngx_bluebutton_sentinel_message;
    }

    peer->locator = s;
    peer->locate = ngx_bluebutton_sentinel_want;
    peer->unlocate = ngx_bluebutton_sentinel_unwant;
    peer->on_handshake = ngx_bluebutton_sentinel_check_role;
    peer->name = peer->conf.addr;

    for (i = 0; i < s->nsentinels; i++) {
        ngx_bluebutton_redis_open(&s->subscribers[i]);
    }

    return NGX_OK;
}


/* the connections that read from the primary, moved with it */
static void
ngx_bluebutton_sentinel_attach(ngx_bluebutton_sentinel_t *s,
    ngx_bluebutton_redis_peer_t *peer)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_BLUEBUTTON_SENTINEL_PEERS; i++) {
        if (s->peers[i] == peer) {
            return;
        }

        if (s->peers[i] == NULL) {
            s->peers[i] = peer;
            return;
        }
    }
}


void
ngx_bluebutton_sentinel_exit(ngx_bluebutton_sentinel_t *s)
{
    ngx_uint_t  i;

    for (i = 0; i < 2 * s->nsentinels; i++) {
        ngx_bluebutton_redis_free(&s->sentinels[i]);
    }
}


static void
ngx_bluebutton_sentinel_want(ngx_bluebutton_redis_peer_t *peer)
{
    ngx_uint_t                  i, free;
    ngx_bluebutton_sentinel_t  *s;

    s = peer->locator;

    ngx_bluebutton_sentinel_attach(s, peer);

    if (s->known) {
        ngx_bluebutton_redis_connect_to(peer, (struct sockaddr *) s->sockaddr,
                                        s->socklen, &s->name, &s->host);
        return;
    }

    free = NGX_BLUEBUTTON_SENTINEL_PEERS;

    for (i = 0; i < NGX_BLUEBUTTON_SENTINEL_PEERS; i++) {
        if (s->waiting[i] == peer) {
            return;
        }

        if (s->waiting[i] == NULL) {
            free = i;
        }
    }

    if (free == NGX_BLUEBUTTON_SENTINEL_PEERS) {
        return;
    }

    s->waiting[free] = peer;

    if (!s->asking) {
        s->asking = 1;
        s->asked = 0;
        ngx_bluebutton_sentinel_ask(s);
    }
}


static void
ngx_bluebutton_sentinel_unwant(ngx_bluebutton_redis_peer_t *peer)
{
    ngx_uint_t                  i;
    ngx_bluebutton_sentinel_t  *s;

    s = peer->locator;

    for (i = 0; i < NGX_BLUEBUTTON_SENTINEL_PEERS; i++) {
        if (s->waiting[i] == peer) {
            s->waiting[i] = NULL;
        }
    }

    /* lost, timed out, refused or not the primary: ask again next time */
    s->known = 0;
}


/* the sentinels in turn, each asked once a round */
static void
ngx_bluebutton_sentinel_ask(ngx_bluebutton_sentinel_t *s)
{
    size_t                        len[3];
    const char                   *argv[3];
    ngx_bluebutton_redis_peer_t  *sp;

    argv[0] = "SENTINEL";
    len[0] = 8;
    argv[1] = "get-master-addr-by-name";
    len[1] = 23;
    argv[2] = (const char *) s->conf->master.data;
    len[2] = s->conf->master.len;

    while (s->asked < s->nsentinels) {
        sp = &s->sentinels[s->current];

        s->asked++;

        ngx_bluebutton_redis_open(sp);

        if (ngx_bluebutton_redis_send(sp, ngx_bluebutton_sentinel_answer, s,
                                      3, argv, len)
            != NULL)
        {
            return;
        }

        /* down, or still backing off after failing: the next one */
        s->current = (s->current + 1) % s->nsentinels;
    }

    ngx_bluebutton_sentinel_give_up(s, "no sentinel could be asked");
}


static void
ngx_bluebutton_sentinel_answer(void *data, redisReply *reply,
    const char *err)
{
    ngx_bluebutton_sentinel_t  *s = data;

    ngx_uint_t                    same;
    bb_failover_t                 f;
    ngx_bluebutton_redis_peer_t  *sp;

    sp = &s->sentinels[s->current];

    if (reply
        && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[1]->type == REDIS_REPLY_STRING)
    {
        /* an address only: a worker never waits for DNS */

        if (bb_failover_address(reply->element[0]->str,
                                reply->element[0]->len,
                                reply->element[1]->str,
                                reply->element[1]->len, &f)
            == 0)
        {
            same = ngx_bluebutton_sentinel_same(s, &f);

            ngx_bluebutton_sentinel_set(s, &f);

            ngx_log_debug3(NGX_LOG_DEBUG_HTTP, s->log, 0,
                           "bluebutton: sentinel \"%V\" names \"%V\" as the "
                           "primary of \"%V\"",
                           &sp->name, &s->name, &s->conf->master);

            s->asking = 0;
            s->gave_up = 0;

            /* a connection still on another server moves too */
            ngx_bluebutton_sentinel_move(s, !same);
            return;
        }

        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "bluebutton: sentinel \"%V\" names \"%*s\" port "
                      "\"%*s\" as the primary of \"%V\": not an IP address "
                      "and port",
                      &sp->name, reply->element[0]->len,
                      reply->element[0]->str, reply->element[1]->len,
                      reply->element[1]->str, &s->conf->master);

    } else if (reply && reply->type == REDIS_REPLY_NIL) {
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "bluebutton: sentinel \"%V\" does not know a primary "
                      "named \"%V\"", &sp->name, &s->conf->master);

    } else if (reply && reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "bluebutton: sentinel \"%V\" refused to name the "
                      "primary of \"%V\": %s",
                      &sp->name, &s->conf->master, reply->str);

    } else if (reply) {
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "bluebutton: sentinel \"%V\" gave an unexpected "
                      "reply for the primary of \"%V\"",
                      &sp->name, &s->conf->master);

    } else if (ngx_exiting || ngx_terminate || ngx_quit) {
        s->asking = 0;
        return;
    }

    s->current = (s->current + 1) % s->nsentinels;

    ngx_bluebutton_sentinel_ask(s);
}


/* the primary named is the one named before */
static ngx_uint_t
ngx_bluebutton_sentinel_same(ngx_bluebutton_sentinel_t *s, bb_failover_t *f)
{
    return s->named
           && s->host.len == f->ip_len
           && ngx_strncmp(s->host.data, f->ip, f->ip_len) == 0
           && f->port == ngx_inet_get_port((struct sockaddr *) s->sockaddr);
}


/* the primary named: an address bb_failover_address() took */
static void
ngx_bluebutton_sentinel_set(ngx_bluebutton_sentinel_t *s, bb_failover_t *f)
{
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    ngx_memzero(s->sockaddr, NGX_SOCKADDRLEN);

    if (f->family == 4) {
        sin = (struct sockaddr_in *) s->sockaddr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((in_port_t) f->port);
        ngx_memcpy(&sin->sin_addr, f->addr, 4);
        s->socklen = sizeof(struct sockaddr_in);

    } else {
        sin6 = (struct sockaddr_in6 *) s->sockaddr;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((in_port_t) f->port);
        ngx_memcpy(&sin6->sin6_addr, f->addr, 16);
        s->socklen = sizeof(struct sockaddr_in6);
    }

    s->name.data = s->text;
    s->name.len = ngx_sock_ntop((struct sockaddr *) s->sockaddr, s->socklen,
                                s->text, NGX_SOCKADDR_STRLEN, 1);

    /* the host part, for TLS when no name is configured */
    s->host.data = s->text + (s->text[0] == '[');
    s->host.len = ngx_strlchr(s->text, s->text + s->name.len,
                              s->text[0] == '[' ? ']' : ':')
                  - s->host.data;

    s->known = 1;
    s->named = 1;
}


static void
ngx_bluebutton_sentinel_found(ngx_bluebutton_sentinel_t *s)
{
    ngx_uint_t                    i;
    ngx_bluebutton_redis_peer_t  *peer;

    for (i = 0; i < NGX_BLUEBUTTON_SENTINEL_PEERS; i++) {
        peer = s->waiting[i];

        if (peer == NULL) {
            continue;
        }

        s->waiting[i] = NULL;

        ngx_bluebutton_redis_connect_to(peer, (struct sockaddr *) s->sockaddr,
                                        s->socklen, &s->name, &s->host);
    }
}


static void
ngx_bluebutton_sentinel_give_up(ngx_bluebutton_sentinel_t *s,
    const char *reason)
{
    ngx_uint_t                    i;
    ngx_bluebutton_redis_peer_t  *peer;

    s->asking = 0;

    if (s->named) {
        /* the sentinels are away, perhaps not the primary: ROLE tells */

        ngx_log_error((s->gave_up ? NGX_LOG_DEBUG : NGX_LOG_WARN), s->log, 0,
                      "bluebutton: %s for the primary of \"%V\", trying "
                      "the last one named, \"%V\"",
                      reason, &s->conf->master, &s->name);

        s->gave_up = 1;

        s->known = 1;
        ngx_bluebutton_sentinel_found(s);
        return;
    }

    ngx_log_error((s->gave_up ? NGX_LOG_DEBUG : NGX_LOG_ERR), s->log, 0,
                  "bluebutton: %s for the primary of \"%V\"",
                  reason, &s->conf->master);

    s->gave_up = 1;

    for (i = 0; i < NGX_BLUEBUTTON_SENTINEL_PEERS; i++) {
        peer = s->waiting[i];

        if (peer) {
            s->waiting[i] = NULL;
            ngx_bluebutton_redis_close(peer, "no sentinel named the primary");
        }
    }
}


static void
ngx_bluebutton_sentinel_check_role(ngx_bluebutton_redis_peer_t *peer)
{
    size_t       len[1];
    const char  *argv[1];

    argv[0] = "ROLE";
    len[0] = 4;

    (void) ngx_bluebutton_redis_send(peer, ngx_bluebutton_sentinel_role, peer,
                                     1, argv, len);
}


static void
ngx_bluebutton_sentinel_role(void *data, redisReply *reply, const char *err)
{
    ngx_bluebutton_redis_peer_t  *peer = data;

    ngx_str_t                   role;
    ngx_bluebutton_sentinel_t  *s;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[0]->len == 6
        && ngx_strncmp(reply->element[0]->str, "master", 6) == 0)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, peer->log, 0,
                       "bluebutton: redis \"%V\" is the primary",
                       &peer->name);
        return;
    }

    s = peer->locator;

    role.len = 0;
    role.data = NULL;

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING)
    {
        role.len = reply->element[0]->len;
        role.data = (u_char *) reply->element[0]->str;

    } else if (reply->type == REDIS_REPLY_ERROR) {
        role.len = reply->len;
        role.data = (u_char *) reply->str;
    }

    ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                  "bluebutton: redis \"%V\" is not the primary of \"%V\" "
                  "(ROLE: %V), asking the sentinels again",
                  &peer->name, &s->conf->master, &role);

    /* a sentinel cut off from the others may be the stale one: next */
    s->current = (s->current + 1) % s->nsentinels;

    /* what was queued behind is refused, never read from this server */
    ngx_bluebutton_redis_close(peer, "redis is not the primary");
}


static void
ngx_bluebutton_sentinel_subscribe(ngx_bluebutton_redis_peer_t *sub)
{
    size_t       len[2];
    ngx_uint_t   i;
    const char  *argv[2];

    /* one channel a command: each gets its own confirmation */

    for (i = 0; i < 2; i++) {
        argv[0] = "SUBSCRIBE";
        len[0] = 9;
        argv[1] = (const char *) ngx_bluebutton_sentinel_channels[i].data;
        len[1] = ngx_bluebutton_sentinel_channels[i].len;

        (void) ngx_bluebutton_redis_send(sub,
                                         ngx_bluebutton_sentinel_subscribed,
                                         sub, 2, argv, len);
    }
}


static void
ngx_bluebutton_sentinel_subscribed(void *data, redisReply *reply,
    const char *err)
{
    ngx_bluebutton_redis_peer_t  *sub = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ARRAY) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, sub->log, 0,
                  "bluebutton: sentinel \"%V\" refused SUBSCRIBE: %s",
                  &sub->name,
                  reply->type == REDIS_REPLY_ERROR ? reply->str
                                                   : "an unexpected reply");

    ngx_bluebutton_redis_close(sub, "SUBSCRIBE was refused");
}


static void
ngx_bluebutton_sentinel_message(ngx_bluebutton_redis_peer_t *sub,
    redisReply *reply)
{
    bb_failover_t               f;
    redisReply                 *channel, *payload;
    ngx_bluebutton_sentinel_t  *s;

    s = sub->locator;
    channel = reply->element[1];
    payload = reply->element[2];

    if (payload->type != REDIS_REPLY_STRING
        || channel->type != REDIS_REPLY_STRING)
    {
        return;
    }

    if (bb_failover_parse(channel->str, channel->len, payload->str,
                          payload->len, &f)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, s->log, 0,
                      "bluebutton: sentinel \"%V\" announced on \"%*s\" what "
                      "could not be read: \"%*s\"",
                      &sub->name, channel->len, channel->str,
                      payload->len, payload->str);
        return;
    }

    if (f.master_len != s->conf->master.len
        || ngx_strncmp(f.master, s->conf->master.data, f.master_len) != 0)
    {
        return;
    }

    /* every sentinel announces the same switch: the first one moves */

    if (ngx_bluebutton_sentinel_same(s, &f)) {
        ngx_bluebutton_sentinel_move(s, 1);
        return;
    }

    ngx_bluebutton_sentinel_set(s, &f);

    ngx_log_error(NGX_LOG_NOTICE, s->log, 0,
                  "bluebutton: sentinel \"%V\" says the primary of \"%V\" "
                  "moved from \"%*s:%*s\" to \"%V\" (%*s)",
                  &sub->name, &s->conf->master, f.old_ip_len, f.old_ip,
                  f.old_port_len, f.old_port, &s->name,
                  channel->len, channel->str);

    ngx_bluebutton_sentinel_move(s, 1);
}


/*
 * The connections go to the primary named now, not when the old one
 * fails: those connected elsewhere are closed, those waiting for an
 * address get this one, and with reopen those closed are opened at once.
 */
static void
ngx_bluebutton_sentinel_move(ngx_bluebutton_sentinel_t *s, ngx_uint_t reopen)
{
    ngx_uint_t                    i;
    ngx_bluebutton_redis_peer_t  *peer;

    for (i = 0; i < NGX_BLUEBUTTON_SENTINEL_PEERS; i++) {
        peer = s->peers[i];

        if (peer == NULL || peer->connection == NULL
            || (peer->socklen == s->socklen
                && ngx_memcmp(peer->sockaddr, s->sockaddr, s->socklen) == 0))
        {
            continue;
        }

        ngx_bluebutton_redis_close(peer, "the primary moved");
    }

    /* closing forgot the primary: it is the one named */
    s->known = 1;

    ngx_bluebutton_sentinel_found(s);

    for (i = 0; reopen && i < NGX_BLUEBUTTON_SENTINEL_PEERS; i++) {
        peer = s->peers[i];

        if (peer && !peer->open) {
            peer->next_attempt = ngx_current_msec;
            ngx_bluebutton_redis_open(peer);
        }
    }
}
