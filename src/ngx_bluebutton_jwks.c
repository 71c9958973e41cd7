
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The JWKS is fetched by a subrequest to a location of the server, so
 * that TLS, timeouts, the resolver and keepalive to the authorization
 * server are the operator's usual proxy_* configuration.  A subrequest
 * needs a request to hang on: fetches are started by requests that carry
 * a JWT.
 *
 * - Before any keys: the request waits for the fetch (a waited
 *   subrequest, the worker is not blocked), then is verified; if the
 *   fetch failed, it gets 503.  Requests that come while that fetch is
 *   under way (in any worker) look again every 50 ms, for up to 5 s.
 * - Keys older than their refresh time: a background subrequest, the
 *   request goes on with the keys it has.
 * - A key id the keys do not have: at most once per min_refresh, the
 *   request waits for a fetch and is verified again; otherwise 401.
 *
 * The zone holds the JWKS text, its version and the schedule, for all
 * workers; each worker parses a new version once.  One fetch at a time:
 * a fetch in progress is left alone for 30 s.  A failed fetch keeps the
 * keys there are and is tried again after 1, 2, 4 ... seconds, at most
 * 60 (and at most refresh).
 */

#include "ngx_bluebutton_jwks.h"
#include "ngx_bluebutton_subrequest.h"


#define NGX_BLUEBUTTON_JWKS_ZONE       (256 * 1024)
#define NGX_BLUEBUTTON_JWKS_STUCK      30
#define NGX_BLUEBUTTON_JWKS_BACKOFF    60

/* a request without keys looks again this often, this many times */
#define NGX_BLUEBUTTON_JWKS_POLL       50
#define NGX_BLUEBUTTON_JWKS_POLLS      100


struct ngx_bluebutton_jwks_sh_s {
    ngx_uint_t                    version;     /* 0: never fetched */
    time_t                        next;        /* a fetch is due then */
    time_t                        attempted;   /* the last fetch began */
    time_t                        fetching;    /* one is under way since */
    ngx_uint_t                    failures;
    size_t                        len;
    u_char                        text[NGX_BLUEBUTTON_JWKS_MAX];
};


typedef struct {
    ngx_bluebutton_jwks_t        *jwks;
    ngx_bluebutton_ctx_t         *ctx;         /* of a waiting request */
} ngx_bluebutton_jwks_fetch_t;


static ngx_int_t ngx_bluebutton_jwks_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_bluebutton_jwks_cleanup(void *data);
static void ngx_bluebutton_jwks_poll(ngx_event_t *ev);
static void ngx_bluebutton_jwks_sync(ngx_http_request_t *r,
    ngx_bluebutton_jwks_t *jwks);
static ngx_int_t ngx_bluebutton_jwks_fetch(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_jwks_t *jwks, ngx_uint_t wait);
static ngx_int_t ngx_bluebutton_jwks_remember(ngx_conf_t *cf,
    ngx_str_t *uri);
static ngx_uint_t ngx_bluebutton_jwks_served(
    ngx_http_location_tree_node_t *node, ngx_str_t *uri);
static ngx_int_t ngx_bluebutton_jwks_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static time_t ngx_bluebutton_jwks_max_age(ngx_http_request_t *sr);
static void ngx_bluebutton_jwks_failed(ngx_http_request_t *sr,
    ngx_bluebutton_jwks_t *jwks, const char *fmt, ...);


char *
ngx_bluebutton_jwks_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_bluebutton_loc_conf_t  *blcf = conf;

    ngx_str_t  *value;

    if (blcf->jwks != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    blcf->jwks = ngx_bluebutton_jwks_add(cf, &value[1], &value[2],
                                         cf->args->nelts - 2);
    if (blcf->jwks == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_bluebutton_jwks_t *
ngx_bluebutton_jwks_add(ngx_conf_t *cf, ngx_str_t *uri, ngx_str_t *params,
    ngx_uint_t n)
{
    time_t                  refresh, min_refresh, *tp;
    ngx_str_t               name, s;
    ngx_uint_t              i;
    ngx_shm_zone_t         *shm_zone;
    ngx_pool_cleanup_t     *cln;
    ngx_bluebutton_jwks_t  *jwks;

    if (uri->len == 0 || uri->data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must be a location of this server, such "
                           "as /_jwks, that proxies to the authorization "
                           "server's JWKS", uri);
        return NULL;
    }

    refresh = 600;
    min_refresh = 30;

    for (i = 0; i < n; i++) {

        if (ngx_strncmp(params[i].data, "refresh=", 8) == 0) {
            s.data = params[i].data + 8;
            s.len = params[i].len - 8;
            tp = &refresh;

        } else if (ngx_strncmp(params[i].data, "min_refresh=", 12) == 0) {
            s.data = params[i].data + 12;
            s.len = params[i].len - 12;
            tp = &min_refresh;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &params[i]);
            return NULL;
        }

        *tp = ngx_parse_time(&s, 1);

        if (*tp == (time_t) NGX_ERROR || *tp == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"%V\": a time of a second or more "
                               "is needed", &params[i]);
            return NULL;
        }
    }

    if (min_refresh > refresh) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"min_refresh\" must not exceed \"refresh\"");
        return NULL;
    }

    if (ngx_bluebutton_jwks_remember(cf, uri) != NGX_OK) {
        return NULL;
    }

    /* one zone per location asked: its keys are shared by every user */

    name.len = sizeof("bluebutton_jwks:") - 1 + uri->len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NULL;
    }

    ngx_sprintf(name.data, "bluebutton_jwks:%V", uri);

    shm_zone = ngx_shared_memory_add(cf, &name, NGX_BLUEBUTTON_JWKS_ZONE,
                                     &ngx_bluebutton_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    jwks = shm_zone->data;

    if (jwks) {
        if (jwks->refresh != refresh || jwks->min_refresh != min_refresh) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" is already used with other "
                               "\"refresh\" or \"min_refresh\"", uri);
            return NULL;
        }

        return jwks;
    }

    jwks = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_jwks_t));
    if (jwks == NULL) {
        return NULL;
    }

    /* a worker's keys go with its configuration */

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_bluebutton_jwks_cleanup;
    cln->data = jwks;

    jwks->uri = *uri;
    jwks->refresh = refresh;
    jwks->min_refresh = min_refresh;
    jwks->shm_zone = shm_zone;

    shm_zone->init = ngx_bluebutton_jwks_init_zone;
    shm_zone->data = jwks;

    return jwks;
}


static void
ngx_bluebutton_jwks_cleanup(void *data)
{
    ngx_bluebutton_jwks_t  *jwks = data;

    if (jwks->keys) {
        bb_keyset_free(jwks->keys);
        ngx_free(jwks->keys);
        jwks->keys = NULL;
    }
}


static ngx_int_t
ngx_bluebutton_jwks_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_bluebutton_jwks_t  *ojwks = data;

    ngx_bluebutton_jwks_t  *jwks;

    jwks = shm_zone->data;

    if (ojwks) {
        /* a reload keeps the keys fetched */
        jwks->sh = ojwks->sh;
        jwks->shpool = ojwks->shpool;
        return NGX_OK;
    }

    jwks->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        jwks->sh = jwks->shpool->data;
        return NGX_OK;
    }

    jwks->sh = ngx_slab_calloc(jwks->shpool,
                               sizeof(ngx_bluebutton_jwks_sh_t));
    if (jwks->sh == NULL) {
        return NGX_ERROR;
    }

    jwks->shpool->data = jwks->sh;

    return NGX_OK;
}


ngx_int_t
ngx_bluebutton_jwks_get(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_jwks_t *jwks, ngx_uint_t unknown_kid, bb_keyset_t **keys,
    ngx_uint_t *version)
{
    time_t                     now;
    ngx_uint_t                 start, wait, busy;
    ngx_bluebutton_jwks_sh_t  *sh;

    ngx_bluebutton_jwks_sync(r, jwks);

    sh = jwks->sh;
    now = ngx_time();

    /*
     * Keys there and not due: the common case takes no lock.  A stale read
     * of "next" only sends the request to the locked decision below.
     */

    if (jwks->keys && !unknown_kid && now < sh->next) {
        *keys = jwks->keys;
        *version = jwks->version;
        return NGX_OK;
    }

    start = 0;
    wait = 0;
    busy = 0;

    ngx_shmtx_lock(&jwks->shpool->mutex);

    if (sh->fetching && now - sh->fetching < NGX_BLUEBUTTON_JWKS_STUCK) {
        /* another request, here or in another worker, is fetching */
        busy = 1;

    } else if (jwks->keys == NULL) {
        start = now >= sh->next;
        wait = 1;

    } else if (unknown_kid) {
        start = now - sh->attempted >= jwks->min_refresh;
        wait = 1;

    } else {
        start = now >= sh->next;
    }

    if (start) {
        sh->fetching = now;
        sh->attempted = now;
    }

    ngx_shmtx_unlock(&jwks->shpool->mutex);

    if (start) {
        if (ngx_bluebutton_jwks_fetch(r, ctx, jwks, wait) == NGX_OK) {
            if (wait) {
                return NGX_AGAIN;
            }

        } else {
            ngx_shmtx_lock(&jwks->shpool->mutex);
            sh->fetching = 0;
            ngx_shmtx_unlock(&jwks->shpool->mutex);
        }

    } else if (busy && jwks->keys == NULL) {

        /* the first keys are on their way: wait for them, not 503 */

        if (ctx->jwks_polls < NGX_BLUEBUTTON_JWKS_POLLS) {
            ctx->jwks_polls++;
            ctx->waiting = 1;

            ctx->jwks_poll.handler = ngx_bluebutton_jwks_poll;
            ctx->jwks_poll.data = ctx;
            ctx->jwks_poll.log = r->connection->log;

            ngx_add_timer(&ctx->jwks_poll, NGX_BLUEBUTTON_JWKS_POLL);

            return NGX_AGAIN;
        }

    } else if (unknown_kid) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "bluebutton: a token names a key \"%V\" does not "
                      "have; the keys were asked for %T s ago, again no "
                      "sooner than min_refresh (%T s)",
                      &jwks->uri, now - sh->attempted, jwks->min_refresh);
    }

    *keys = jwks->keys;
    *version = jwks->version;

    return NGX_OK;
}


static void
ngx_bluebutton_jwks_poll(ngx_event_t *ev)
{
    ngx_bluebutton_ctx_t  *ctx = ev->data;

    /* the access phase asks again: keys, a failure, or still fetching */

    ctx->waiting = 0;
    ngx_post_event(&ctx->resume, &ngx_posted_events);
}


/* this worker's keys are parsed again when the zone has a new version */
static void
ngx_bluebutton_jwks_sync(ngx_http_request_t *r, ngx_bluebutton_jwks_t *jwks)
{
    char          err[256];
    u_char       *text;
    size_t        len;
    ngx_uint_t    version;
    bb_keyset_t  *set;

    if (jwks->sh->version == jwks->version) {
        return;
    }

    text = ngx_alloc(NGX_BLUEBUTTON_JWKS_MAX, r->connection->log);
    if (text == NULL) {
        return;
    }

    ngx_shmtx_lock(&jwks->shpool->mutex);

    version = jwks->sh->version;
    len = jwks->sh->len;
    ngx_memcpy(text, jwks->sh->text, len);

    ngx_shmtx_unlock(&jwks->shpool->mutex);

    set = ngx_calloc(sizeof(bb_keyset_t), r->connection->log);

    if (set == NULL
        || bb_keyset_parse((char *) text, len, set, err, sizeof(err)) != 0)
    {
        /* it was parsed before it was stored: only memory can fail */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "bluebutton: the keys from \"%V\" do not read back: %s",
                      &jwks->uri, set ? err : "out of memory");
        if (set) {
            bb_keyset_free(set);
            ngx_free(set);
        }

        ngx_free(text);
        return;
    }

    ngx_free(text);

    if (jwks->keys) {
        bb_keyset_free(jwks->keys);
        ngx_free(jwks->keys);
    }

    jwks->keys = set;
    jwks->version = version;
}


/*
 * Where the keys come from is checked once all locations are known: a
 * URI that only a catch-all location serves would send the fetch to the
 * claims backend, and every JWT would be refused at run time.
 */
static ngx_int_t
ngx_bluebutton_jwks_remember(ngx_conf_t *cf, ngx_str_t *uri)
{
    ngx_bluebutton_jwks_use_t   *use;
    ngx_bluebutton_main_conf_t  *bmcf;

    if (!(cf->cmd_type & (NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF))) {
        /* at http level: each server's own locations are not known here */
        return NGX_OK;
    }

    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_bluebutton_module);

    if (bmcf->jwks_uses == NULL) {
        bmcf->jwks_uses = ngx_array_create(cf->pool, 2,
                                           sizeof(ngx_bluebutton_jwks_use_t));
        if (bmcf->jwks_uses == NULL) {
            return NGX_ERROR;
        }
    }

    use = ngx_array_push(bmcf->jwks_uses);
    if (use == NULL) {
        return NGX_ERROR;
    }

    use->uri = *uri;
    use->directive = ((ngx_str_t *) cf->args->elts)[0];
    use->cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    use->file = cf->conf_file->file.name;
    use->line = cf->conf_file->line;

    return NGX_OK;
}


ngx_int_t
ngx_bluebutton_jwks_check(ngx_conf_t *cf, ngx_array_t *uses)
{
    ngx_uint_t                  i;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_bluebutton_jwks_use_t  *use;

    if (uses == NULL) {
        return NGX_OK;
    }

    use = uses->elts;

    for (i = 0; i < uses->nelts; i++) {
        clcf = use[i].cscf->ctx->loc_conf[ngx_http_core_module.ctx_index];

        if (ngx_bluebutton_jwks_served(clcf->static_locations, &use[i].uri)) {
            continue;
        }

        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%V\" names \"%V\", but no location of this "
                      "server is \"location = %V\" or \"location %V\": "
                      "the keys would be asked of whatever serves it, in "
                      "%V:%ui", &use[i].directive, &use[i].uri, &use[i].uri,
                      &use[i].uri, &use[i].file, use[i].line);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a location named exactly so, prefix or exact, nested ones included */
static ngx_uint_t
ngx_bluebutton_jwks_served(ngx_http_location_tree_node_t *node,
    ngx_str_t *uri)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (node == NULL) {
        return 0;
    }

    clcf = node->exact ? node->exact : node->inclusive;

    if (clcf && clcf->name.len == uri->len
        && ngx_strncmp(clcf->name.data, uri->data, uri->len) == 0)
    {
        return 1;
    }

    return ngx_bluebutton_jwks_served(node->left, uri)
           || ngx_bluebutton_jwks_served(node->right, uri)
           || ngx_bluebutton_jwks_served(node->tree, uri)
           || (node->inclusive
               && ngx_bluebutton_jwks_served(node->inclusive->static_locations,
                                             uri));
}


/* the module's own fetch is no client request to check */
ngx_uint_t
ngx_bluebutton_jwks_fetching(ngx_http_request_t *r)
{
    return r->post_subrequest != NULL
           && r->post_subrequest->handler == ngx_bluebutton_jwks_done;
}


static ngx_int_t
ngx_bluebutton_jwks_fetch(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_jwks_t *jwks, ngx_uint_t wait)
{
    ngx_http_request_t           *sr;
    ngx_http_post_subrequest_t   *ps;
    ngx_bluebutton_jwks_fetch_t  *f;

    f = ngx_palloc(r->pool, sizeof(ngx_bluebutton_jwks_fetch_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));

    if (f == NULL || ps == NULL) {
        return NGX_ERROR;
    }

    f->jwks = jwks;
    f->ctx = wait ? ctx : NULL;

    ps->handler = ngx_bluebutton_jwks_done;
    ps->data = f;

    if (ngx_bluebutton_subrequest(r, &jwks->uri, ps,
                                  wait ? NGX_HTTP_SUBREQUEST_WAITED
                                       : NGX_HTTP_SUBREQUEST_BACKGROUND,
                                  NULL, NULL, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (wait && ctx) {
        ctx->waiting = 1;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "bluebutton: fetching keys from \"%V\"%s", &jwks->uri,
                   wait ? "" : " in the background");

    return NGX_OK;
}


static ngx_int_t
ngx_bluebutton_jwks_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_bluebutton_jwks_fetch_t  *f = data;

    char                       err[256];
    u_char                    *text;
    size_t                     len;
    time_t                     now, max_age, next;
    ngx_str_t                  answer;
    bb_keyset_t               *set;
    ngx_uint_t                 same, n, level;
    ngx_bluebutton_jwks_t     *jwks;
    ngx_bluebutton_jwks_sh_t  *sh;

    jwks = f->jwks;
    sh = jwks->sh;

    if (f->ctx) {
        /* the waiting request runs its access phase again */
        f->ctx->waiting = 0;
        f->ctx->jwks_fetched = 1;
        f->ctx = NULL;
    }

    if (sh->fetching == 0) {
        /* already done: a subrequest finalized twice */
        return NGX_OK;
    }

    if (rc != NGX_OK && rc != NGX_DONE && rc != NGX_HTTP_OK) {
        ngx_bluebutton_jwks_failed(sr, jwks, "the fetch failed (%i)", rc);
        return NGX_OK;
    }

    if (sr->headers_out.status != NGX_HTTP_OK) {
        ngx_bluebutton_jwks_failed(sr, jwks, "\"%V\" answered %ui",
                                   &jwks->uri, sr->headers_out.status);
        return NGX_OK;
    }

    ngx_bluebutton_subrequest_answer(sr, &answer);

    if (answer.len == 0) {
        ngx_bluebutton_jwks_failed(sr, jwks, "\"%V\" answered nothing",
                                   &jwks->uri);
        return NGX_OK;
    }

    len = answer.len;

    if (len > NGX_BLUEBUTTON_JWKS_MAX) {
        ngx_bluebutton_jwks_failed(sr, jwks, "its JWKS is larger than %uz "
                                   "bytes", (size_t) NGX_BLUEBUTTON_JWKS_MAX);
        return NGX_OK;
    }

    text = answer.data;

    /* the same checks as keys read from a file */

    set = ngx_calloc(sizeof(bb_keyset_t), sr->connection->log);
    if (set == NULL) {
        ngx_bluebutton_jwks_failed(sr, jwks, "out of memory");
        return NGX_OK;
    }

    if (bb_keyset_parse((char *) text, len, set, err, sizeof(err)) != 0) {
        bb_keyset_free(set);
        ngx_free(set);
        ngx_bluebutton_jwks_failed(sr, jwks, "%s", err);
        return NGX_OK;
    }

    n = set->n;
    bb_keyset_free(set);
    ngx_free(set);

    if (n == 0) {
        ngx_bluebutton_jwks_failed(sr, jwks, "it holds no key");
        return NGX_OK;
    }

    now = ngx_time();
    max_age = ngx_bluebutton_jwks_max_age(sr);

    /* Cache-Control: max-age may shorten refresh, not below min_refresh */

    next = jwks->refresh;

    if (max_age >= 0 && max_age < next) {
        next = ngx_max(max_age, jwks->min_refresh);
    }

    ngx_shmtx_lock(&jwks->shpool->mutex);

    same = sh->version && sh->len == len
           && ngx_memcmp(sh->text, text, len) == 0;

    if (!same) {
        ngx_memcpy(sh->text, text, len);
        sh->len = len;
        sh->version++;
    }

    sh->next = now + next;
    sh->failures = 0;
    sh->fetching = 0;

    ngx_shmtx_unlock(&jwks->shpool->mutex);

    level = same ? NGX_LOG_INFO : NGX_LOG_NOTICE;

    ngx_log_error(level, sr->connection->log, 0,
                  "bluebutton: %s %ui keys from \"%V\", next fetch in %T s",
                  same ? "the same" : "new", n, &jwks->uri, next);

    return NGX_OK;
}


/* max-age of the response's Cache-Control, or -1 */
static time_t
ngx_bluebutton_jwks_max_age(ngx_http_request_t *sr)
{
    u_char            *p, *last;
    time_t             age;
    ngx_uint_t         i, n;
    ngx_table_elt_t  **h;

#if (nginx_version >= 1023000)
    ngx_table_elt_t   *e, *list[16];

    n = 0;

    for (e = sr->headers_out.cache_control; e && n < 16; e = e->next) {
        list[n++] = e;
    }

    h = list;

#else
    n = sr->headers_out.cache_control.nelts;
    h = sr->headers_out.cache_control.elts;
#endif

    for (i = 0; i < n; i++) {
        p = h[i]->value.data;
        last = p + h[i]->value.len;

        p = ngx_strlcasestrn(p, last, (u_char *) "max-age=", 8 - 1);
        if (p == NULL) {
            continue;
        }

        p += 8;
        age = 0;

        while (p < last && *p >= '0' && *p <= '9' && age < 100000000) {
            age = age * 10 + (*p++ - '0');
        }

        return age;
    }

    return -1;
}


static void
ngx_bluebutton_jwks_failed(ngx_http_request_t *sr,
    ngx_bluebutton_jwks_t *jwks, const char *fmt, ...)
{
    u_char                    *p, buf[512];
    time_t                     backoff;
    va_list                    args;
    ngx_uint_t                 have;
    ngx_bluebutton_jwks_sh_t  *sh;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    sh = jwks->sh;

    ngx_shmtx_lock(&jwks->shpool->mutex);

    backoff = (time_t) 1 << ngx_min(sh->failures, 6);
    backoff = ngx_min(backoff, ngx_min(jwks->refresh,
                                       NGX_BLUEBUTTON_JWKS_BACKOFF));

    sh->failures++;
    sh->next = ngx_time() + backoff;
    sh->fetching = 0;
    have = sh->version != 0;

    ngx_shmtx_unlock(&jwks->shpool->mutex);

    ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                  "bluebutton: fetching keys from \"%V\" failed: %*s; %s, "
                  "tried again in %T s", &jwks->uri, p - buf, buf,
                  have ? "the keys fetched before stay in use"
                       : "JWTs get 503 until keys are fetched",
                  backoff);
}

