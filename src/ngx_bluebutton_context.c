
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

#include "ngx_bluebutton_context.h"
#include "ngx_bluebutton_issuer.h"
#include "ngx_bluebutton_cache.h"


static ngx_uint_t ngx_bluebutton_same_token_rules(
    ngx_bluebutton_loc_conf_t *a, ngx_bluebutton_loc_conf_t *b);
static void ngx_bluebutton_cleanup(void *data);
static void ngx_bluebutton_resume(ngx_event_t *ev);


ngx_bluebutton_ctx_t *
ngx_bluebutton_ctx_create(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *prev)
{
    ngx_pool_cleanup_t    *cln;
    ngx_bluebutton_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_bluebutton_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_bluebutton_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->conf = blcf;
    ctx->uri_changes = r->uri_changes;
    ctx->resume.handler = ngx_bluebutton_resume;
    ctx->resume.data = r;
    ctx->resume.log = r->connection->log;

    ngx_http_set_ctx(r, ctx, ngx_bluebutton_module);

    if (prev == NULL) {
        ctx->client_headers = r->headers_in.headers;
        ctx->authorization = r->headers_in.authorization;
        return ctx;
    }

    /*
     * Checked before, elsewhere: what that check removed and set is
     * undone, so that this location strips and sets its own headers.
     */

    ctx->client_headers = prev->client_headers;
    ctx->authorization = prev->authorization;

    r->headers_in.headers = ctx->client_headers;
    r->headers_in.authorization = ctx->authorization;

    if (prev->head && r->method == NGX_HTTP_GET) {
        /* asked of a backend as GET there; the client asked HEAD */
        r->method = NGX_HTTP_HEAD;
        ngx_str_set(&r->method_name, "HEAD");
    }

    if (prev->looked_up && ngx_bluebutton_same_token_rules(prev->conf, blcf))
    {
        ctx->reused = 1;
        ctx->lookup = prev->lookup;
        ctx->looked_up = 1;
        ctx->decision = prev->lookup;
        ctx->why = prev->why;
        ctx->cause = prev->cause;
        ctx->missing = prev->missing;
        ctx->hashed = prev->hashed;
        ngx_memcpy(ctx->token_hash, prev->token_hash, 64);
        ctx->token = prev->token;
        ctx->entry = prev->entry;
        ctx->jwt = prev->jwt;
        ctx->cache_status = prev->cache_status;
        ctx->cache_policy = prev->cache_policy;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "bluebutton: checked again in a new location, "
                   "lookup %s, uri \"%V\"",
                   ctx->reused ? "reused" : "made again", &r->uri);

    return ctx;
}


/*
 * Whether a token looked up for one location stands in another: the same
 * keys, JWT policy, introspection and size limit judge it alike.
 */
static ngx_uint_t
ngx_bluebutton_same_token_rules(ngx_bluebutton_loc_conf_t *a,
    ngx_bluebutton_loc_conf_t *b)
{
    return ngx_bluebutton_issuer_same(a, b)
           && a->introspection == b->introspection
           && a->max_token_size == b->max_token_size;
}


ngx_bluebutton_ctx_t *
ngx_bluebutton_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t    *cln;
    ngx_bluebutton_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_bluebutton_module);

    if (ctx || !(r->internal || r->filter_finalize || r != r->main)) {
        return ctx;
    }

    /*
     * An internal redirect cleared the module contexts; ours survive in
     * the pool, which subrequests share: the newest of this request's.
     */

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_bluebutton_cleanup) {
            ctx = cln->data;

            if (ctx->request == r) {
                ngx_http_set_ctx(r, ctx, ngx_bluebutton_module);
                return ctx;
            }
        }
    }

    /* a subrequest not checked itself speaks for its parent */

    return r != r->main ? ngx_bluebutton_get_ctx(r->parent) : NULL;
}


static void
ngx_bluebutton_cleanup(void *data)
{
    ngx_bluebutton_ctx_t  *ctx = data;

    ngx_uint_t  i;

    /* the request is gone: its reply, if it still comes, is dropped */

    if (ctx->cmd) {
        ngx_bluebutton_store_cancel(ctx->store, ctx->cmd);
        ctx->cmd = NULL;
    }

    for (i = 0; i < ctx->nttl; i++) {
        if (ctx->ttls[i].cmd) {
            ngx_bluebutton_store_cancel(ctx->store, ctx->ttls[i].cmd);
            ctx->ttls[i].cmd = NULL;
        }
    }

    if (ctx->resume.posted) {
        ngx_delete_posted_event(&ctx->resume);
    }

    if (ctx->jwks_poll.timer_set) {
        ngx_del_timer(&ctx->jwks_poll);
    }

    ngx_bluebutton_flight_land(ctx);
}


static void
ngx_bluebutton_resume(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ev->data;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}
