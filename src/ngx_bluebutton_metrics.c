
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Every counter is one atomic word in shared memory: the request path
 * adds to it without a lock, and a scrape reads each word once.  A
 * histogram keeps a count per bucket and makes them cumulative when it is
 * shown, so that one observation is one increment.  The zone is found
 * again on a reload with the same configuration of it (nginx keeps a zone
 * of the same name, size and owner), so counters survive HUP.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <time.h>

#include "ngx_bluebutton_metrics.h"
#include "ngx_bluebutton_version.h"
#include "ngx_bluebutton_cache.h"     /* its statuses, counted here */
#include "ngx_bluebutton_resp.h"      /* the reply bounds, by name */


/* what the cache zones hold, asked of the cache (set by the module) */
ngx_uint_t  (*ngx_bluebutton_metrics_entries)(ngx_http_request_t *r);


#define NGX_BLUEBUTTON_DECISIONS  (BB_DECISION_BAD_ANSWER + 1)
#define NGX_BLUEBUTTON_BUCKETS    14      /* 13 bounds and +Inf */
#define NGX_BLUEBUTTON_CACHE_STATUSES  NGX_BLUEBUTTON_CACHE_BYPASS


typedef struct {
    ngx_atomic_t   bucket[NGX_BLUEBUTTON_BUCKETS];
    ngx_atomic_t   sum;                   /* microseconds */
} ngx_bluebutton_histogram_t;


typedef struct {
    ngx_atomic_t                  requests[NGX_BLUEBUTTON_DECISIONS];
    ngx_atomic_t                  redis_commands[NGX_BLUEBUTTON_REDIS_RESULTS];
    ngx_atomic_t                  redis_connections[NGX_BLUEBUTTON_REDIS_STATES];
    ngx_atomic_t                  redis_reconnects;
    ngx_bluebutton_histogram_t    histograms[NGX_BLUEBUTTON_HISTOGRAMS];
    ngx_atomic_t                  keys_loaded;
    ngx_atomic_t                  reload_time;
    ngx_atomic_t                  cache[NGX_BLUEBUTTON_CACHE_STATUSES];
    ngx_atomic_t                  cache_events[NGX_BLUEBUTTON_CACHE_EVENTS];
    ngx_atomic_t                  answers[NGX_BLUEBUTTON_ANSWER_VERDICTS];
    ngx_atomic_t                  redis_refused[BB_RESP_REASONS];
} ngx_bluebutton_metrics_t;


typedef struct {
    ngx_str_t                     name;
    ngx_str_t                     help;
} ngx_bluebutton_family_t;


static ngx_int_t ngx_bluebutton_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_bluebutton_metrics_handler(ngx_http_request_t *r);
static u_char *ngx_bluebutton_metrics_text(u_char *p, u_char *last,
    ngx_bluebutton_metrics_t *m, ngx_uint_t entries);
static u_char *ngx_bluebutton_metrics_json(u_char *p, u_char *last,
    ngx_bluebutton_metrics_t *m, ngx_uint_t entries);
static u_char *ngx_bluebutton_metrics_family(u_char *p, u_char *last,
    ngx_bluebutton_family_t *f, const char *type);
static u_char *ngx_bluebutton_metrics_text_histogram(u_char *p, u_char *last,
    ngx_bluebutton_family_t *f, ngx_bluebutton_histogram_t *h);
static u_char *ngx_bluebutton_metrics_json_histogram(u_char *p, u_char *last,
    ngx_bluebutton_histogram_t *h);
static u_char *ngx_bluebutton_metrics_seconds(u_char *p, u_char *last,
    ngx_atomic_uint_t usec);


static ngx_bluebutton_metrics_t  *ngx_bluebutton_metrics;
static ngx_uint_t                 ngx_bluebutton_metrics_keys;

static ngx_str_t  ngx_bluebutton_metrics_zone_name =
    ngx_string("bluebutton_metrics");


/* upper bounds in microseconds, and as Prometheus shows them */
static ngx_atomic_uint_t  ngx_bluebutton_bounds[NGX_BLUEBUTTON_BUCKETS - 1] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000
};

static char  *ngx_bluebutton_bound_names[NGX_BLUEBUTTON_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"
};

static char  *ngx_bluebutton_result_names[NGX_BLUEBUTTON_REDIS_RESULTS] = {
    "ok", "error", "timeout"
};

static char  *ngx_bluebutton_state_names[NGX_BLUEBUTTON_REDIS_STATES] = {
    "connected", "connecting", "down"
};

/* $bluebutton_cache_status, lower case, from HIT on */
static char  *ngx_bluebutton_cache_names[NGX_BLUEBUTTON_CACHE_STATUSES] = {
    "hit", "miss", "expired", "stale", "bypass"
};


static char  *ngx_bluebutton_answer_names[NGX_BLUEBUTTON_ANSWER_VERDICTS] = {
    "passed", "other_patient", "unbound", "unexpected_type", "duplicate",
    "not_json", "too_large", "encoded", "backend_error", "outcome"
};


static ngx_bluebutton_family_t  ngx_bluebutton_families[] = {
    { ngx_string("bluebutton_requests_total"),
      ngx_string("Requests decided by the consent gate, by decision.") },
    { ngx_string("bluebutton_redis_commands_total"),
      ngx_string("Redis commands sent for requests, by result.") },
    { ngx_string("bluebutton_redis_connections"),
      ngx_string("Worker connections to Redis, by state.") },
    { ngx_string("bluebutton_redis_reconnects_total"),
      ngx_string("Connections to Redis opened again after a failure or "
                 "loss.") },
    { ngx_string("bluebutton_lookup_duration_seconds"),
      ngx_string("Time from sending a request's Redis lookup to its "
                 "answer.") },
    { ngx_string("bluebutton_jwt_verify_duration_seconds"),
      ngx_string("Time to verify a JWT access token's signature and "
                 "claims.") },
    { ngx_string("bluebutton_jwt_keys_loaded"),
      ngx_string("JWT verification keys read by the running "
                 "configuration.") },
    { ngx_string("bluebutton_config_reload_timestamp_seconds"),
      ngx_string("When the running configuration was loaded, in seconds "
                 "since the epoch.") },
    { ngx_string("bluebutton_cache_requests_total"),
      ngx_string("Requests that looked in the decision cache, by "
                 "outcome.") },
    { ngx_string("bluebutton_cache_entries"),
      ngx_string("Tokens held in the decision cache zones.") },
    { ngx_string("bluebutton_cache_invalidations_total"),
      ngx_string("Cache entries removed because Redis announced a change "
                 "to what they were read from.") },
    { ngx_string("bluebutton_cache_evictions_total"),
      ngx_string("Cache entries removed to make room in a full zone.") },
    { ngx_string("bluebutton_cache_feed_losses_total"),
      ngx_string("Losses of a worker's invalidation feed from Redis.") },
    { ngx_string("bluebutton_answers_total"),
      ngx_string("Backend answers checked against the token's patient, by "
                 "verdict.") },
    { ngx_string("bluebutton_redis_replies_refused_total"),
      ngx_string("Redis replies refused unread for breaking a bound, by "
                 "reason; each closed its connection.") },
    { ngx_string("bluebutton_build_info"),
      ngx_string("The module's version, as a label; always 1.") }
};


ngx_int_t
ngx_bluebutton_metrics_init_conf(ngx_conf_t *cf)
{
    ngx_shm_zone_t  *shm_zone;

    ngx_bluebutton_metrics_keys = 0;

    shm_zone = ngx_shared_memory_add(cf, &ngx_bluebutton_metrics_zone_name,
                                     8 * ngx_pagesize,
                                     &ngx_bluebutton_metrics_zone_name);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_bluebutton_metrics_init_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_bluebutton_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t           *shpool;
    ngx_bluebutton_metrics_t  *m;

    m = data;

    if (m == NULL) {
        shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            m = shpool->data;

        } else {
            m = ngx_slab_calloc(shpool, sizeof(ngx_bluebutton_metrics_t));
            if (m == NULL) {
                return NGX_ERROR;
            }

            shpool->data = m;
        }
    }

    shm_zone->data = m;

    m->keys_loaded = ngx_bluebutton_metrics_keys;
    m->reload_time = ngx_time();

    ngx_bluebutton_metrics = m;

    return NGX_OK;
}


void
ngx_bluebutton_metrics_keys_loaded(ngx_uint_t n)
{
    ngx_bluebutton_metrics_keys += n;
}


void
ngx_bluebutton_metrics_decision(bb_decision_t decision)
{
    if (ngx_bluebutton_metrics && decision > BB_DECISION_NONE
        && decision < NGX_BLUEBUTTON_DECISIONS)
    {
        (void) ngx_atomic_fetch_add(
                   &ngx_bluebutton_metrics->requests[decision], 1);
    }
}


void
ngx_bluebutton_metrics_answer(ngx_uint_t verdict)
{
    if (ngx_bluebutton_metrics && verdict < NGX_BLUEBUTTON_ANSWER_VERDICTS) {
        (void) ngx_atomic_fetch_add(&ngx_bluebutton_metrics->answers[verdict],
                                    1);
    }
}


const char *
ngx_bluebutton_metrics_answer_name(ngx_uint_t verdict)
{
    return verdict < NGX_BLUEBUTTON_ANSWER_VERDICTS
           ? ngx_bluebutton_answer_names[verdict] : "";
}


void
ngx_bluebutton_metrics_redis_refused(ngx_uint_t reason)
{
    if (ngx_bluebutton_metrics && reason > BB_RESP_ACCEPTED
        && reason < BB_RESP_REASONS)
    {
        (void) ngx_atomic_fetch_add(
                   &ngx_bluebutton_metrics->redis_refused[reason], 1);
    }
}


void
ngx_bluebutton_metrics_redis_command(ngx_uint_t result)
{
    if (ngx_bluebutton_metrics && result < NGX_BLUEBUTTON_REDIS_RESULTS) {
        (void) ngx_atomic_fetch_add(
                   &ngx_bluebutton_metrics->redis_commands[result], 1);
    }
}


void
ngx_bluebutton_metrics_redis_state(ngx_uint_t from, ngx_uint_t to)
{
    ngx_atomic_t  *c;

    if (ngx_bluebutton_metrics == NULL || from == to) {
        return;
    }

    c = ngx_bluebutton_metrics->redis_connections;

    if (from < NGX_BLUEBUTTON_REDIS_STATES) {
        (void) ngx_atomic_fetch_add(&c[from], (ngx_atomic_int_t) -1);
    }

    if (to < NGX_BLUEBUTTON_REDIS_STATES) {
        (void) ngx_atomic_fetch_add(&c[to], 1);
    }
}


void
ngx_bluebutton_metrics_redis_reconnect(void)
{
    if (ngx_bluebutton_metrics) {
        (void) ngx_atomic_fetch_add(
                   &ngx_bluebutton_metrics->redis_reconnects, 1);
    }
}


void
ngx_bluebutton_metrics_cache(ngx_uint_t status)
{
    if (ngx_bluebutton_metrics && status >= NGX_BLUEBUTTON_CACHE_HIT
        && status <= NGX_BLUEBUTTON_CACHE_BYPASS)
    {
        (void) ngx_atomic_fetch_add(
                   &ngx_bluebutton_metrics->cache[status
                                              - NGX_BLUEBUTTON_CACHE_HIT], 1);
    }
}


void
ngx_bluebutton_metrics_cache_event(ngx_uint_t event, ngx_uint_t n)
{
    if (ngx_bluebutton_metrics && event < NGX_BLUEBUTTON_CACHE_EVENTS && n) {
        (void) ngx_atomic_fetch_add(
                   &ngx_bluebutton_metrics->cache_events[event],
                   (ngx_atomic_int_t) n);
    }
}


uint64_t
ngx_bluebutton_metrics_now(void)
{
    struct timespec  ts;

    /* nginx's cached time has only milliseconds, too coarse for Redis */
    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


void
ngx_bluebutton_metrics_observe(ngx_uint_t histogram, uint64_t since)
{
    uint64_t                     usec;
    ngx_uint_t                   i;
    ngx_bluebutton_histogram_t  *h;

    if (ngx_bluebutton_metrics == NULL || since == 0) {
        return;
    }

    usec = ngx_bluebutton_metrics_now() - since;
    h = &ngx_bluebutton_metrics->histograms[histogram];

    for (i = 0; i < NGX_BLUEBUTTON_BUCKETS - 1; i++) {
        if (usec <= ngx_bluebutton_bounds[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&h->bucket[i], 1);
    (void) ngx_atomic_fetch_add(&h->sum, (ngx_atomic_int_t) usec);
}


char *
ngx_bluebutton_metrics_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_bluebutton_metrics_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_bluebutton_metrics_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_bluebutton_metrics_handler(ngx_http_request_t *r)
{
    size_t        size;
    u_char       *last;
    ngx_int_t     rc, json;
    ngx_str_t     format;
    ngx_buf_t    *b;
    ngx_uint_t    entries;
    ngx_chain_t   out;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    json = 0;

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK) {
        if (format.len == 4 && ngx_strncmp(format.data, "json", 4) == 0) {
            json = 1;

        } else if (!(format.len == 10
                     && ngx_strncmp(format.data, "prometheus", 10) == 0))
        {
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    if (ngx_bluebutton_metrics == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /* every family fits well within this; the writers stop at the end */
    size = 16384;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = b->last + size;

    entries = ngx_bluebutton_metrics_entries
              ? ngx_bluebutton_metrics_entries(r) : 0;

    b->last = json
              ? ngx_bluebutton_metrics_json(b->last, last,
                                            ngx_bluebutton_metrics, entries)
              : ngx_bluebutton_metrics_text(b->last, last,
                                            ngx_bluebutton_metrics, entries);

    if (b->last == last) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "bluebutton: the metrics did not fit in %uz bytes",
                      size);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    if (json) {
        ngx_str_set(&r->headers_out.content_type, "application/json");

    } else {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static u_char *
ngx_bluebutton_metrics_text(u_char *p, u_char *last,
    ngx_bluebutton_metrics_t *m, ngx_uint_t entries)
{
    ngx_uint_t                i;
    ngx_bluebutton_family_t  *f;

    f = ngx_bluebutton_families;

    /* every decision is listed from the start, with 0 */

    p = ngx_bluebutton_metrics_family(p, last, &f[0], "counter");

    for (i = BB_DECISION_ALLOW; i < NGX_BLUEBUTTON_DECISIONS; i++) {
        p = ngx_slprintf(p, last, "%V{decision=\"%s\"} %uA\n", &f[0].name,
                         bb_decision_name(i), m->requests[i]);
    }

    p = ngx_bluebutton_metrics_family(p, last, &f[1], "counter");

    for (i = 0; i < NGX_BLUEBUTTON_REDIS_RESULTS; i++) {
        p = ngx_slprintf(p, last, "%V{result=\"%s\"} %uA\n", &f[1].name,
                         ngx_bluebutton_result_names[i],
                         m->redis_commands[i]);
    }

    p = ngx_bluebutton_metrics_family(p, last, &f[2], "gauge");

    for (i = 0; i < NGX_BLUEBUTTON_REDIS_STATES; i++) {
        p = ngx_slprintf(p, last, "%V{state=\"%s\"} %uA\n", &f[2].name,
                         ngx_bluebutton_state_names[i],
                         m->redis_connections[i]);
    }

    p = ngx_bluebutton_metrics_family(p, last, &f[3], "counter");
    p = ngx_slprintf(p, last, "%V %uA\n", &f[3].name, m->redis_reconnects);

    p = ngx_bluebutton_metrics_text_histogram(p, last, &f[4],
                         &m->histograms[NGX_BLUEBUTTON_LOOKUP_DURATION]);
    p = ngx_bluebutton_metrics_text_histogram(p, last, &f[5],
                         &m->histograms[NGX_BLUEBUTTON_JWT_VERIFY_DURATION]);

    p = ngx_bluebutton_metrics_family(p, last, &f[6], "gauge");
    p = ngx_slprintf(p, last, "%V %uA\n", &f[6].name, m->keys_loaded);

    p = ngx_bluebutton_metrics_family(p, last, &f[7], "gauge");
    p = ngx_slprintf(p, last, "%V %uA\n", &f[7].name, m->reload_time);

    p = ngx_bluebutton_metrics_family(p, last, &f[8], "counter");

    for (i = 0; i < NGX_BLUEBUTTON_CACHE_STATUSES; i++) {
        p = ngx_slprintf(p, last, "%V{status=\"%s\"} %uA\n", &f[8].name,
                         ngx_bluebutton_cache_names[i], m->cache[i]);
    }

    p = ngx_bluebutton_metrics_family(p, last, &f[9], "gauge");
    p = ngx_slprintf(p, last, "%V %ui\n", &f[9].name, entries);

    for (i = 0; i < NGX_BLUEBUTTON_CACHE_EVENTS; i++) {
        p = ngx_bluebutton_metrics_family(p, last, &f[10 + i], "counter");
        p = ngx_slprintf(p, last, "%V %uA\n", &f[10 + i].name,
                         m->cache_events[i]);
    }

    f = &f[10 + NGX_BLUEBUTTON_CACHE_EVENTS];

    p = ngx_bluebutton_metrics_family(p, last, f, "counter");

    for (i = 0; i < NGX_BLUEBUTTON_ANSWER_VERDICTS; i++) {
        p = ngx_slprintf(p, last, "%V{verdict=\"%s\"} %uA\n", &f->name,
                         ngx_bluebutton_answer_names[i], m->answers[i]);
    }

    f++;

    p = ngx_bluebutton_metrics_family(p, last, f, "counter");

    for (i = BB_RESP_ACCEPTED + 1; i < BB_RESP_REASONS; i++) {
        p = ngx_slprintf(p, last, "%V{reason=\"%s\"} %uA\n", &f->name,
                         bb_resp_reason_name(i), m->redis_refused[i]);
    }

    f++;

    p = ngx_bluebutton_metrics_family(p, last, f, "gauge");
    p = ngx_slprintf(p, last, "%V{version=\"%s\"} 1\n", &f->name,
                     NGX_BLUEBUTTON_VERSION);

    return p;
}


static u_char *
ngx_bluebutton_metrics_family(u_char *p, u_char *last,
    ngx_bluebutton_family_t *f, const char *type)
{
    return ngx_slprintf(p, last, "# HELP %V %V\n# TYPE %V %s\n",
                        &f->name, &f->help, &f->name, type);
}


static u_char *
ngx_bluebutton_metrics_text_histogram(u_char *p, u_char *last,
    ngx_bluebutton_family_t *f, ngx_bluebutton_histogram_t *h)
{
    ngx_uint_t         i;
    ngx_atomic_uint_t  count;

    p = ngx_bluebutton_metrics_family(p, last, f, "histogram");

    count = 0;

    for (i = 0; i < NGX_BLUEBUTTON_BUCKETS; i++) {
        count += h->bucket[i];
        p = ngx_slprintf(p, last, "%V_bucket{le=\"%s\"} %uA\n", &f->name,
                         ngx_bluebutton_bound_names[i], count);
    }

    p = ngx_slprintf(p, last, "%V_sum ", &f->name);
    p = ngx_bluebutton_metrics_seconds(p, last, h->sum);

    return ngx_slprintf(p, last, "\n%V_count %uA\n", &f->name, count);
}


static u_char *
ngx_bluebutton_metrics_json(u_char *p, u_char *last,
    ngx_bluebutton_metrics_t *m, ngx_uint_t entries)
{
    ngx_uint_t  i;

    p = ngx_slprintf(p, last, "{\"version\":\"%s\",\"requests\":{",
                     NGX_BLUEBUTTON_VERSION);

    for (i = BB_DECISION_ALLOW; i < NGX_BLUEBUTTON_DECISIONS; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%uA",
                         i == BB_DECISION_ALLOW ? "" : ",",
                         bb_decision_name(i), m->requests[i]);
    }

    p = ngx_slprintf(p, last, "},\"redis\":{\"commands\":{");

    for (i = 0; i < NGX_BLUEBUTTON_REDIS_RESULTS; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%uA", i ? "," : "",
                         ngx_bluebutton_result_names[i],
                         m->redis_commands[i]);
    }

    p = ngx_slprintf(p, last, "},\"connections\":{");

    for (i = 0; i < NGX_BLUEBUTTON_REDIS_STATES; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%uA", i ? "," : "",
                         ngx_bluebutton_state_names[i],
                         m->redis_connections[i]);
    }

    p = ngx_slprintf(p, last, "},\"reconnects\":%uA,\"replies_refused\":{",
                     m->redis_reconnects);

    for (i = BB_RESP_ACCEPTED + 1; i < BB_RESP_REASONS; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%uA",
                         i == BB_RESP_ACCEPTED + 1 ? "" : ",",
                         bb_resp_reason_name(i), m->redis_refused[i]);
    }

    p = ngx_slprintf(p, last, "}},\"lookup_duration_seconds\":");
    p = ngx_bluebutton_metrics_json_histogram(p, last,
                         &m->histograms[NGX_BLUEBUTTON_LOOKUP_DURATION]);
    p = ngx_slprintf(p, last, ",\"jwt_verify_duration_seconds\":");
    p = ngx_bluebutton_metrics_json_histogram(p, last,
                         &m->histograms[NGX_BLUEBUTTON_JWT_VERIFY_DURATION]);

    p = ngx_slprintf(p, last, ",\"jwt_keys_loaded\":%uA,"
                     "\"config_reload_timestamp_seconds\":%uA,"
                     "\"cache\":{\"requests\":{",
                     m->keys_loaded, m->reload_time);

    for (i = 0; i < NGX_BLUEBUTTON_CACHE_STATUSES; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%uA", i ? "," : "",
                         ngx_bluebutton_cache_names[i], m->cache[i]);
    }

    p = ngx_slprintf(p, last, "},\"entries\":%ui,\"invalidations\":%uA,"
                     "\"evictions\":%uA,\"feed_losses\":%uA},\"answers\":{",
                     entries,
                     m->cache_events[NGX_BLUEBUTTON_CACHE_INVALIDATED],
                     m->cache_events[NGX_BLUEBUTTON_CACHE_EVICTED],
                     m->cache_events[NGX_BLUEBUTTON_CACHE_FEED_LOST]);

    for (i = 0; i < NGX_BLUEBUTTON_ANSWER_VERDICTS; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":%uA", i ? "," : "",
                         ngx_bluebutton_answer_names[i], m->answers[i]);
    }

    return ngx_slprintf(p, last, "}}\n");
}


static u_char *
ngx_bluebutton_metrics_json_histogram(u_char *p, u_char *last,
    ngx_bluebutton_histogram_t *h)
{
    ngx_uint_t         i;
    ngx_atomic_uint_t  count;

    p = ngx_slprintf(p, last, "{\"buckets\":{");

    count = 0;

    for (i = 0; i < NGX_BLUEBUTTON_BUCKETS; i++) {
        count += h->bucket[i];
        p = ngx_slprintf(p, last, "%s\"%s\":%uA", i ? "," : "",
                         ngx_bluebutton_bound_names[i], count);
    }

    p = ngx_slprintf(p, last, "},\"sum\":");
    p = ngx_bluebutton_metrics_seconds(p, last, h->sum);

    return ngx_slprintf(p, last, ",\"count\":%uA}", count);
}


static u_char *
ngx_bluebutton_metrics_seconds(u_char *p, u_char *last,
    ngx_atomic_uint_t usec)
{
    return ngx_slprintf(p, last, "%uA.%06uA", usec / 1000000,
                        usec % 1000000);
}
