
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * One round trip per request.  For a token the worker has not seen, an
 * EVALSHA: the script reads the token record and, when it names a client
 * and a patient, the grant of that patient to that client, and returns
 * the client and patient it used.  The script only finds those two
 * values; the record is parsed strictly here, and a grant read for any
 * other client or patient than the record's is refused.  Keys derived
 * inside the script keep it to one Redis: on a cluster (and with a
 * cache) the record and the grant are read with GETs of their own.
 *
 * For a token seen before, one MGET of its record and of the grant its
 * record named then (see ngx_bluebutton_memo.c); if the record now names
 * another grant, the script is sent as EVAL, a second and last round trip.
 */

#include "ngx_bluebutton_lookup.h"
#include "ngx_bluebutton_cache.h"
#include "ngx_bluebutton_keyspace.h"
#include "ngx_bluebutton_memo.h"
#include "ngx_bluebutton_metrics.h"

#include <openssl/evp.h>


static void ngx_bluebutton_lookup_reply(void *data, redisReply *reply,
    const char *err);
static ngx_int_t ngx_bluebutton_lookup_plain(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf);
static void ngx_bluebutton_lookup_record_reply(void *data, redisReply *reply,
    const char *err);
static void ngx_bluebutton_lookup_grant_reply(void *data, redisReply *reply,
    const char *err);
static ngx_int_t ngx_bluebutton_lookup_pair(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf,
    const bb_memo_entry_t *memo);
static void ngx_bluebutton_lookup_pair_reply(void *data, redisReply *reply,
    const char *err);
static ngx_uint_t ngx_bluebutton_lookup_pair_done(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *reply);
static bb_token_t *ngx_bluebutton_lookup_record(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *t);
static void ngx_bluebutton_lookup_jwt_reply(void *data, redisReply *reply,
    const char *err);
static void ngx_bluebutton_lookup_jwt_done(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *reply);
static void ngx_bluebutton_lookup_decide(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *gr);
static ngx_uint_t ngx_bluebutton_lookup_failed(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *reply, const char *err);
static void ngx_bluebutton_lookup_resume(ngx_bluebutton_ctx_t *ctx);
static ngx_int_t ngx_bluebutton_lookup_send(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf,
    ngx_uint_t eval);
static void ngx_bluebutton_lookup_done(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *reply);
static ngx_int_t ngx_bluebutton_lookup_ask(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf,
    ngx_bluebutton_redis_handler_pt handler, int argc, const char **argv,
    const size_t *argvlen);
static ngx_int_t ngx_bluebutton_lookup_ttls(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf, int argc,
    const char **argv, const size_t *argvlen, const char **err);
static void ngx_bluebutton_lookup_ttl_reply(void *data, redisReply *reply,
    const char *err);
static ngx_int_t ngx_bluebutton_lookup_unavailable(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, const char *what);
static ngx_uint_t ngx_bluebutton_lookup_same(redisReply *rr, const char *s);
static void ngx_bluebutton_lookup_unknown(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx);
static ngx_int_t ngx_bluebutton_lookup_grant_key(ngx_http_request_t *r,
    ngx_str_t *prefix, const char *client, const char *patient,
    ngx_str_t *key);


/* patterns, not cjson: a JSON decode per request would double its cost */
static ngx_str_t  ngx_bluebutton_lookup_script = ngx_string(
    "local t = redis.call('GET', KEYS[1])\n"
    "if not t then return {} end\n"
    "local c = string.match(t, '\"client_id\"%s*:%s*\"([^\"\\\\]+)\"')\n"
    "local p = string.match(t, '\"patient\"%s*:%s*\"([^\"\\\\]+)\"')\n"
    "if not c or not p then return {t} end\n"
    "return {t, redis.call('GET', ARGV[1] .. 'grant:' .. c .. ':' .. p),"
    " c, p}\n");

static u_char  ngx_bluebutton_lookup_sha[40];


ngx_int_t
ngx_bluebutton_lookup_init(ngx_conf_t *cf)
{
    int            ok;
    u_char         md[EVP_MAX_MD_SIZE];
    EVP_MD        *sha1;
    unsigned int   n;

    /* Redis names scripts by their SHA-1; fetched and released here */

    sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);

    ok = sha1 != NULL
         && EVP_Digest(ngx_bluebutton_lookup_script.data,
                       ngx_bluebutton_lookup_script.len, md, &n, sha1, NULL)
            == 1;

    EVP_MD_free(sha1);

    if (!ok) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "bluebutton: SHA-1 is not available");
        return NGX_ERROR;
    }

    ngx_hex_dump(ngx_bluebutton_lookup_sha, md, n);

    return NGX_OK;
}


ngx_int_t
ngx_bluebutton_lookup_start(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf)
{
    u_char                 *key;
    const bb_memo_entry_t  *memo;

    /* both ways of asking read the record by this key */

    key = ngx_pnalloc(r->pool, bscf->prefix.len + sizeof("token:") - 1 + 64);
    if (key == NULL) {
        return ngx_bluebutton_lookup_unavailable(r, ctx, "out of memory");
    }

    ctx->token_key.data = key;
    ctx->token_key.len = ngx_bluebutton_token_key(key,
                                                  key + bscf->prefix.len
                                                  + sizeof("token:") - 1 + 64,
                                                  &bscf->prefix,
                                                  ctx->token_hash)
                         - key;

    memo = bb_memo_find((const char *) ctx->token_hash);

    if (memo != NULL) {
        return ngx_bluebutton_lookup_pair(r, ctx, bscf, memo);
    }

    if (bscf->cache || bscf->store->conf.cluster) {
        return ngx_bluebutton_lookup_plain(r, ctx, bscf);
    }

    return ngx_bluebutton_lookup_send(r, ctx, bscf, 0);
}


/*
 * With a cache, reads are plain GETs: Redis tracks the keys a script
 * reads only when they are passed as its KEYS, and the grant's key is
 * known only from the record.  So on a cluster too, where the record and
 * the grant sit in different slots.  The record first, then its grant.
 */
static ngx_int_t
ngx_bluebutton_lookup_plain(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_srv_conf_t *bscf)
{
    size_t       argvlen[2];
    const char  *argv[2];

    argv[0] = "GET";
    argvlen[0] = 3;

    argv[1] = (const char *) ctx->token_key.data;
    argvlen[1] = ctx->token_key.len;

    return ngx_bluebutton_lookup_ask(r, ctx, bscf,
                                     ngx_bluebutton_lookup_record_reply,
                                     2, argv, argvlen);
}


static void
ngx_bluebutton_lookup_record_reply(void *data, redisReply *reply,
    const char *err)
{
    ngx_bluebutton_ctx_t  *ctx = data;

    size_t                      argvlen[2];
    ngx_str_t                   grant;
    bb_token_t                 *token;
    const char                 *argv[2];
    ngx_http_request_t         *r;
    ngx_bluebutton_srv_conf_t  *bscf;

    r = ctx->request;
    ctx->cmd = NULL;

    if (ngx_bluebutton_lookup_failed(r, ctx, reply, err)) {
        goto done;
    }

    if (reply->type == REDIS_REPLY_NIL) {
        ngx_bluebutton_lookup_unknown(r, ctx);
        goto done;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        ngx_bluebutton_set_cause(r, ctx, "unexpected reply of type %d",
                                 reply->type);
        ctx->decision = BB_DECISION_UNAVAILABLE;
        goto done;
    }

    token = ngx_bluebutton_lookup_record(r, ctx, reply);
    if (token == NULL) {
        goto done;
    }

    ctx->token = token;

    bscf = ngx_http_get_module_srv_conf(r, ngx_bluebutton_module);

    if (ngx_bluebutton_lookup_grant_key(r, &bscf->prefix, token->client_id,
                                        token->patient, &grant)
        != NGX_OK)
    {
        (void) ngx_bluebutton_lookup_unavailable(r, ctx, "out of memory");
        goto done;
    }

    argv[0] = "GET";
    argvlen[0] = 3;

    argv[1] = (const char *) grant.data;
    argvlen[1] = grant.len;

    bb_memo_store((const char *) ctx->token_hash, token->client_id,
                  token->patient);

    if (ngx_bluebutton_lookup_ask(r, ctx, bscf,
                                  ngx_bluebutton_lookup_grant_reply,
                                  2, argv, argvlen)
        == NGX_AGAIN)
    {
        return;
    }

done:

    ngx_bluebutton_lookup_resume(ctx);
}


static void
ngx_bluebutton_lookup_grant_reply(void *data, redisReply *reply,
    const char *err)
{
    ngx_bluebutton_ctx_t  *ctx = data;

    ngx_http_request_t  *r;

    r = ctx->request;
    ctx->cmd = NULL;

    if (!ngx_bluebutton_lookup_failed(r, ctx, reply, err)) {

        if (reply->type == REDIS_REPLY_STRING
            || reply->type == REDIS_REPLY_NIL)
        {
            ngx_bluebutton_lookup_decide(r, ctx, reply);

        } else {
            ngx_bluebutton_set_cause(r, ctx, "unexpected reply of type %d",
                                     reply->type);
            ctx->decision = BB_DECISION_UNAVAILABLE;
        }
    }

    ngx_bluebutton_lookup_resume(ctx);
}


/* the record and the grant it named last time, in one MGET */
static ngx_int_t
ngx_bluebutton_lookup_pair(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_srv_conf_t *bscf, const bb_memo_entry_t *memo)
{
    size_t       argvlen[3];
    const char  *argv[3];

    /* kept: the memo entry may be taken by another token meanwhile */

    if (ngx_bluebutton_lookup_grant_key(r, &bscf->prefix, memo->client_id,
                                        memo->patient, &ctx->grant_key)
        != NGX_OK)
    {
        return ngx_bluebutton_lookup_unavailable(r, ctx, "out of memory");
    }

    argv[0] = "MGET";
    argvlen[0] = 4;

    argv[1] = (const char *) ctx->token_key.data;
    argvlen[1] = ctx->token_key.len;

    argv[2] = (const char *) ctx->grant_key.data;
    argvlen[2] = ctx->grant_key.len;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "bluebutton: token record read with \"%V\"",
                   &ctx->grant_key);

    return ngx_bluebutton_lookup_ask(r, ctx, bscf,
                                     ngx_bluebutton_lookup_pair_reply,
                                     3, argv, argvlen);
}


static void
ngx_bluebutton_lookup_pair_reply(void *data, redisReply *reply,
    const char *err)
{
    ngx_bluebutton_ctx_t  *ctx = data;

    ngx_http_request_t         *r;
    ngx_bluebutton_srv_conf_t  *bscf;

    r = ctx->request;
    ctx->cmd = NULL;

    if (!ngx_bluebutton_lookup_failed(r, ctx, reply, err)
        && !ngx_bluebutton_lookup_pair_done(r, ctx, reply))
    {
        /* the record names another grant now: ask the script, in full */

        ctx->eval_sent = 1;
        bscf = ngx_http_get_module_srv_conf(r, ngx_bluebutton_module);

        if ((bscf->cache || bscf->store->conf.cluster
             ? ngx_bluebutton_lookup_plain(r, ctx, bscf)
             : ngx_bluebutton_lookup_send(r, ctx, bscf, 1))
            == NGX_AGAIN)
        {
            return;
        }
    }

    ngx_bluebutton_lookup_resume(ctx);
}


/* returns 0 when the grant read is not the one the record names */
static ngx_uint_t
ngx_bluebutton_lookup_pair_done(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *reply)
{
    u_char                     *p, key[NGX_BLUEBUTTON_GRANT_KEY_MAX];
    bb_token_t                 *token;
    redisReply                 *t, *gr;
    ngx_bluebutton_srv_conf_t  *bscf;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        ngx_bluebutton_set_cause(r, ctx, "unexpected reply of type %d",
                                 reply->type);
        ctx->decision = BB_DECISION_UNAVAILABLE;
        return 1;
    }

    t = reply->element[0];
    gr = reply->element[1];

    if ((t->type != REDIS_REPLY_STRING && t->type != REDIS_REPLY_NIL)
        || (gr->type != REDIS_REPLY_STRING && gr->type != REDIS_REPLY_NIL))
    {
        ngx_bluebutton_set_cause(r, ctx, "unexpected reply element types");
        ctx->decision = BB_DECISION_UNAVAILABLE;
        return 1;
    }

    if (t->type == REDIS_REPLY_NIL) {
        bb_memo_forget((const char *) ctx->token_hash);
        ngx_bluebutton_lookup_unknown(r, ctx);
        return 1;
    }

    token = ngx_bluebutton_lookup_record(r, ctx, t);
    if (token == NULL) {
        return 1;
    }

    bscf = ngx_http_get_module_srv_conf(r, ngx_bluebutton_module);

    p = ngx_bluebutton_grant_key(key, key + sizeof(key), &bscf->prefix,
                                 token->client_id, token->patient);

    if ((size_t) (p - key) != ctx->grant_key.len
        || ngx_memcmp(key, ctx->grant_key.data, p - key) != 0)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "bluebutton: token record names \"%*s\" now",
                       p - key, key);
        bb_memo_forget((const char *) ctx->token_hash);
        ctx->entry = NULL;
        return 0;
    }

    ctx->token = token;

    ngx_bluebutton_lookup_decide(r, ctx, gr);

    return 1;
}


static ngx_int_t
ngx_bluebutton_lookup_send(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_srv_conf_t *bscf, ngx_uint_t eval)
{
    size_t       argvlen[5];
    const char  *argv[5];

    argv[0] = eval ? "EVAL" : "EVALSHA";
    argvlen[0] = eval ? 4 : 7;

    if (eval) {
        argv[1] = (const char *) ngx_bluebutton_lookup_script.data;
        argvlen[1] = ngx_bluebutton_lookup_script.len;

    } else {
        argv[1] = (const char *) ngx_bluebutton_lookup_sha;
        argvlen[1] = sizeof(ngx_bluebutton_lookup_sha);
    }

    argv[2] = "1";
    argvlen[2] = 1;

    argv[3] = (const char *) ctx->token_key.data;
    argvlen[3] = ctx->token_key.len;

    argv[4] = (const char *) bscf->prefix.data;
    argvlen[4] = bscf->prefix.len;

    return ngx_bluebutton_lookup_ask(r, ctx, bscf,
                                     ngx_bluebutton_lookup_reply,
                                     5, argv, argvlen);
}


static void
ngx_bluebutton_lookup_reply(void *data, redisReply *reply, const char *err)
{
    ngx_bluebutton_ctx_t  *ctx = data;

    ngx_http_request_t         *r;
    ngx_bluebutton_srv_conf_t  *bscf;

    r = ctx->request;
    ctx->cmd = NULL;

    if (reply && reply->type == REDIS_REPLY_ERROR
        && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0 && !ctx->eval_sent)
    {
        /* the server lost its script cache: send the script itself once */

        ctx->eval_sent = 1;
        bscf = ngx_http_get_module_srv_conf(r, ngx_bluebutton_module);

        if (ngx_bluebutton_lookup_send(r, ctx, bscf, 1) == NGX_AGAIN) {
            return;
        }

    } else if (!ngx_bluebutton_lookup_failed(r, ctx, reply, err)) {
        ngx_bluebutton_lookup_done(r, ctx, reply);
    }

    ngx_bluebutton_lookup_resume(ctx);
}


/* no reply or an error reply: Redis could not answer */
static ngx_uint_t
ngx_bluebutton_lookup_failed(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *reply, const char *err)
{
    if (reply == NULL) {
        (void) ngx_bluebutton_lookup_unavailable(r, ctx, err);
        return 1;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_bluebutton_set_cause(r, ctx, "redis answered: %s", reply->str);
        ctx->decision = BB_DECISION_UNAVAILABLE;
        return 1;
    }

    return 0;
}


/* the request goes on from a posted event, not from inside hiredis */
static void
ngx_bluebutton_lookup_resume(ngx_bluebutton_ctx_t *ctx)
{
    ngx_bluebutton_srv_conf_t  *bscf;

    ctx->waiting = 0;

    if (ctx->decision != BB_DECISION_UNAVAILABLE && ctx->entry) {
        bscf = ngx_http_get_module_srv_conf(ctx->request,
                                            ngx_bluebutton_module);
        ngx_bluebutton_cache_fill(ctx->request, ctx, bscf);
    }

    /* requests for the same token waited for this answer */
    ngx_bluebutton_flight_land(ctx);

    /* the whole round trip, a resent script included */
    ngx_bluebutton_metrics_observe(NGX_BLUEBUTTON_LOOKUP_DURATION,
                                   ctx->asked);
    ctx->asked = 0;

    ngx_post_event(&ctx->resume, &ngx_posted_events);
}


static void
ngx_bluebutton_lookup_done(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    redisReply *reply)
{
    bb_token_t  *token;
    redisReply  *t, *gr;

    if (reply->type != REDIS_REPLY_ARRAY
        || (reply->elements != 0 && reply->elements != 1
            && reply->elements != 4))
    {
        ngx_bluebutton_set_cause(r, ctx, "unexpected reply of type %d",
                                 reply->type);
        ctx->decision = BB_DECISION_UNAVAILABLE;
        return;
    }

    if (reply->elements == 0) {
        ngx_bluebutton_lookup_unknown(r, ctx);
        return;
    }

    t = reply->element[0];
    gr = reply->elements == 4 ? reply->element[1] : NULL;

    if (t->type != REDIS_REPLY_STRING
        || (gr && gr->type != REDIS_REPLY_STRING
            && gr->type != REDIS_REPLY_NIL)
        || (gr && (reply->element[2]->type != REDIS_REPLY_STRING
                   || reply->element[3]->type != REDIS_REPLY_STRING)))
    {
        ngx_bluebutton_set_cause(r, ctx, "unexpected reply element types");
        ctx->decision = BB_DECISION_UNAVAILABLE;
        return;
    }

    token = ngx_bluebutton_lookup_record(r, ctx, t);
    if (token == NULL) {
        return;
    }

    /* the grant must be the one of this record's client and patient */

    if (gr == NULL
        || !ngx_bluebutton_lookup_same(reply->element[2], token->client_id)
        || !ngx_bluebutton_lookup_same(reply->element[3], token->patient))
    {
        ngx_bluebutton_set_cause(r, ctx, "the token record is malformed "
                                 "(its client and patient cannot be read "
                                 "unambiguously)");
        ctx->decision = BB_DECISION_UNAVAILABLE;
        return;
    }

    ctx->token = token;

    bb_memo_store((const char *) ctx->token_hash, token->client_id,
                  token->patient);

    ngx_bluebutton_lookup_decide(r, ctx, gr);
}


/* the token record, strictly parsed, or NULL with the decision made */
static bb_token_t *
ngx_bluebutton_lookup_record(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *t)
{
    bb_token_t  *token;
    bb_entry_t  *e;
    const char  *err;

    e = ngx_bluebutton_lookup_entry(r, ctx, BB_ENTRY_OPAQUE);
    if (e == NULL) {
        return NULL;
    }

    e->found = 1;
    token = &e->token;

    if (bb_token_record_parse(t->str, t->len, token, &err) != 0) {
        ctx->entry = NULL;
        ngx_bluebutton_set_cause(r, ctx, "the token record is malformed "
                                 "(%s)", err);
        ctx->decision = BB_DECISION_UNAVAILABLE;
        return NULL;
    }

    return token;
}


/* the grant, NIL or a string, against the token in ctx */
static void
ngx_bluebutton_lookup_decide(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *gr)
{
    bb_entry_t  *e;
    const char  *err;

    e = ctx->entry;

    if (gr->type == REDIS_REPLY_STRING) {
        if (bb_grant_parse(gr->str, gr->len, &e->grant, &err) != 0) {
            ngx_bluebutton_set_cause(r, ctx, "the grant of client \"%s\" "
                                     "for patient \"%s\" is malformed (%s)",
                                     ctx->token->client_id,
                                     ctx->token->patient, err);
            ctx->decision = BB_DECISION_UNAVAILABLE;
            ctx->entry = NULL;
            return;
        }

        e->granted = 1;
    }

    ctx->decision = bb_entry_decide(e, (long long) ngx_time(),
                                    ctx->jwt ? ctx->jwt_leeway : 0,
                                    &ctx->why);
}


/* Redis has no record of the token */
static void
ngx_bluebutton_lookup_unknown(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx)
{
    bb_entry_t  *e;

    e = ngx_bluebutton_lookup_entry(r, ctx, BB_ENTRY_OPAQUE);
    if (e == NULL) {
        return;
    }

    ctx->decision = bb_entry_decide(e, (long long) ngx_time(), 0, &ctx->why);
}


bb_entry_t *
ngx_bluebutton_lookup_entry(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_uint_t kind)
{
    bb_entry_t  *e;

    e = ngx_pcalloc(r->pool, sizeof(bb_entry_t));
    if (e == NULL) {
        ngx_bluebutton_set_cause(r, ctx, "out of memory");
        ctx->decision = BB_DECISION_UNAVAILABLE;
        return NULL;
    }

    e->kind = (unsigned char) kind;
    ctx->entry = e;

    return e;
}


ngx_int_t
ngx_bluebutton_lookup_jwt_start(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_srv_conf_t *bscf)
{
    int          argc;
    size_t       len, argvlen[3];
    u_char      *revoked;
    ngx_str_t    grant;
    const char  *argv[3];
    bb_token_t  *t;

    t = ctx->token;

    len = bscf->prefix.len + sizeof("revoked:") - 1 + ngx_strlen(t->jti);

    revoked = ngx_pnalloc(r->pool, len);

    if (revoked == NULL
        || ngx_bluebutton_lookup_grant_key(r, &bscf->prefix, t->client_id,
                                           t->patient, &grant)
           != NGX_OK)
    {
        return ngx_bluebutton_lookup_unavailable(r, ctx, "out of memory");
    }

    argc = 0;
    argv[argc] = "MGET";
    argvlen[argc++] = 4;

    argv[argc] = (const char *) grant.data;
    argvlen[argc++] = grant.len;

    if (t->jti[0]) {
        argv[argc] = (const char *) revoked;
        argvlen[argc++] = ngx_bluebutton_revoked_key(revoked, revoked + len,
                                                     &bscf->prefix, t->jti)
                          - revoked;
    }

    return ngx_bluebutton_lookup_ask(r, ctx, bscf,
                                     ngx_bluebutton_lookup_jwt_reply,
                                     argc, argv, argvlen);
}


static void
ngx_bluebutton_lookup_jwt_reply(void *data, redisReply *reply,
    const char *err)
{
    ngx_bluebutton_ctx_t  *ctx = data;

    ngx_http_request_t  *r;

    r = ctx->request;
    ctx->cmd = NULL;

    if (!ngx_bluebutton_lookup_failed(r, ctx, reply, err)) {
        ngx_bluebutton_lookup_jwt_done(r, ctx, reply);
    }

    ngx_bluebutton_lookup_resume(ctx);
}


static void
ngx_bluebutton_lookup_jwt_done(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, redisReply *reply)
{
    size_t       i, want;
    redisReply  *e;

    want = ctx->token->jti[0] ? 2 : 1;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != want) {
        ngx_bluebutton_set_cause(r, ctx, "unexpected reply of type %d",
                                 reply->type);
        ctx->decision = BB_DECISION_UNAVAILABLE;
        return;
    }

    for (i = 0; i < want; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_NIL) {
            ngx_bluebutton_set_cause(r, ctx, "unexpected reply element "
                                     "types");
            ctx->decision = BB_DECISION_UNAVAILABLE;
            return;
        }
    }

    ctx->entry->revoked = want == 2
                          && reply->element[1]->type == REDIS_REPLY_STRING;

    ngx_bluebutton_lookup_decide(r, ctx, reply->element[0]);
}


static ngx_int_t
ngx_bluebutton_lookup_grant_key(ngx_http_request_t *r, ngx_str_t *prefix,
    const char *client, const char *patient, ngx_str_t *key)
{
    key->data = ngx_pnalloc(r->pool, NGX_BLUEBUTTON_GRANT_KEY_MAX);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    key->len = ngx_bluebutton_grant_key(key->data,
                                        key->data
                                        + NGX_BLUEBUTTON_GRANT_KEY_MAX,
                                        prefix, client, patient)
               - key->data;

    return NGX_OK;
}


static ngx_uint_t
ngx_bluebutton_lookup_same(redisReply *rr, const char *s)
{
    return rr->len == ngx_strlen(s) && ngx_memcmp(rr->str, s, rr->len) == 0;
}


/* queues the request's command: NGX_AGAIN, or NGX_DECLINED as decided */
static ngx_int_t
ngx_bluebutton_lookup_ask(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_srv_conf_t *bscf, ngx_bluebutton_redis_handler_pt handler,
    int argc, const char **argv, const size_t *argvlen)
{
    const char  *err;

    if (bscf->cache && ctx->cache_status != NGX_BLUEBUTTON_CACHE_BYPASS
        && ngx_bluebutton_lookup_ttls(r, ctx, bscf, argc, argv, argvlen,
                                      &err)
           != NGX_OK)
    {
        return ngx_bluebutton_lookup_unavailable(r, ctx, err);
    }

    ctx->store = bscf->store;
    ctx->cmd = ngx_bluebutton_store_command(bscf->store, r->connection->log,
                                            handler, ctx, argc, argv, argvlen,
                                            bscf->cache ? &ctx->sources : NULL,
                                            &err);
    if (ctx->cmd == NULL) {
        return ngx_bluebutton_lookup_unavailable(r, ctx, err);
    }

    if (ctx->asked == 0) {
        ctx->asked = ngx_bluebutton_metrics_now();
    }

    ngx_bluebutton_cache_sending(ctx, bscf);

    ctx->waiting = 1;

    return NGX_AGAIN;
}


/*
 * A cached entry must not outlive the keys it was read from, and Redis
 * announces an expired key only once it deletes it, which may be much
 * later.  PTTL of each key goes ahead of the read, in the same round
 * trip; counted from when it was sent, it errs early whatever the two
 * clocks say.
 */
static ngx_int_t
ngx_bluebutton_lookup_ttls(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_srv_conf_t *bscf, int argc, const char **argv,
    const size_t *argvlen, const char **err)
{
    int                    i;
    size_t                 len[2];
    const char            *ttl[2];
    ngx_bluebutton_ttl_t  *t;

    ctx->store = bscf->store;
    ctx->ttl_sent = ngx_current_msec;
    ctx->nttl = 0;
    ctx->ttl_due = 0;

    ttl[0] = "PTTL";
    len[0] = 4;

    for (i = 1; i < argc && ctx->nttl < NGX_BLUEBUTTON_LOOKUP_KEYS; i++) {
        ttl[1] = argv[i];
        len[1] = argvlen[i];

        t = &ctx->ttls[ctx->nttl];
        t->ctx = ctx;

        /* on a cluster to the key's primary, where its read goes next */

        t->cmd = ngx_bluebutton_store_command(bscf->store,
                                              r->connection->log,
                                              ngx_bluebutton_lookup_ttl_reply,
                                              t, 2, ttl, len, NULL, err);
        if (t->cmd == NULL) {
            return NGX_ERROR;
        }

        ctx->nttl++;
        ctx->ttl_due++;
    }

    return NGX_OK;
}


static void
ngx_bluebutton_lookup_ttl_reply(void *data, redisReply *reply,
    const char *err)
{
    ngx_bluebutton_ttl_t  *t = data;

    ngx_msec_t             at;
    ngx_bluebutton_ctx_t  *ctx;

    static ngx_uint_t  logged;

    ctx = t->ctx;
    t->cmd = NULL;
    ctx->ttl_due--;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        /* not known, so not cached: the read itself still decides */
        ctx->ttl_unknown = 1;

        if (reply && reply->type == REDIS_REPLY_ERROR && !logged) {
            ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                          "bluebutton: redis refused PTTL, so nothing is "
                          "cached: %s", reply->str);
            logged = 1;
        }

        return;
    }

    /* -1: the key has no expiry; -2: there is no key, as the read says */

    if (reply->integer < 0) {
        return;
    }

    at = ctx->ttl_sent + (ngx_msec_t) reply->integer;

    if (!ctx->expires_set || (ngx_msec_int_t) (at - ctx->expires) < 0) {
        ctx->expires = at;
        ctx->expires_set = 1;
    }
}


static ngx_int_t
ngx_bluebutton_lookup_unavailable(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, const char *what)
{
    ngx_bluebutton_set_cause(r, ctx, "%s", what);
    ctx->decision = BB_DECISION_UNAVAILABLE;

    return NGX_DECLINED;
}


void
ngx_bluebutton_set_cause(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    const char *fmt, ...)
{
    u_char   *p, buf[512];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    ctx->cause.data = ngx_pnalloc(r->pool, p - buf);
    if (ctx->cause.data == NULL) {
        ctx->cause.len = 0;
        return;
    }

    ctx->cause.len = p - buf;
    ngx_memcpy(ctx->cause.data, buf, p - buf);
}
