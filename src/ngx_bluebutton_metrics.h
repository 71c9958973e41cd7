
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Counters for operators, kept in a shared memory zone of their own so
 * that every worker adds to the same numbers, and served by
 * "bluebutton_status" in Prometheus' text format or as JSON.
 */

#ifndef _NGX_BLUEBUTTON_METRICS_H_INCLUDED_
#define _NGX_BLUEBUTTON_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_bluebutton_decision.h"


typedef enum {
    NGX_BLUEBUTTON_REDIS_OK = 0,
    NGX_BLUEBUTTON_REDIS_ERROR,
    NGX_BLUEBUTTON_REDIS_TIMEOUT,
    NGX_BLUEBUTTON_REDIS_RESULTS
} ngx_bluebutton_redis_result_e;


/* a worker's connection to one Redis: never tried yet is in no state */
typedef enum {
    NGX_BLUEBUTTON_REDIS_CONNECTED = 0,
    NGX_BLUEBUTTON_REDIS_CONNECTING,
    NGX_BLUEBUTTON_REDIS_DOWN,
    NGX_BLUEBUTTON_REDIS_UNTRIED,
    NGX_BLUEBUTTON_REDIS_STATES = NGX_BLUEBUTTON_REDIS_UNTRIED
} ngx_bluebutton_redis_state_e;


typedef enum {
    NGX_BLUEBUTTON_LOOKUP_DURATION = 0,
    NGX_BLUEBUTTON_JWT_VERIFY_DURATION,
    NGX_BLUEBUTTON_HISTOGRAMS
} ngx_bluebutton_histogram_e;


/* adds the zone; once per configuration, whatever uses the module */
ngx_int_t ngx_bluebutton_metrics_init_conf(ngx_conf_t *cf);

/* JWT keys read by this configuration, shown once its zone is ready */
void ngx_bluebutton_metrics_keys_loaded(ngx_uint_t n);

void ngx_bluebutton_metrics_decision(bb_decision_t decision);
void ngx_bluebutton_metrics_redis_command(ngx_uint_t result);
void ngx_bluebutton_metrics_redis_state(ngx_uint_t from, ngx_uint_t to);
void ngx_bluebutton_metrics_redis_reconnect(void);

/* a reply refused by its bound, bb_resp_reason_e */
void ngx_bluebutton_metrics_redis_refused(ngx_uint_t reason);

/* bluebutton_cache: a request's $bluebutton_cache_status, and events */
void ngx_bluebutton_metrics_cache(ngx_uint_t status);
void ngx_bluebutton_metrics_cache_event(ngx_uint_t event, ngx_uint_t n);

typedef enum {
    NGX_BLUEBUTTON_CACHE_INVALIDATED = 0,
    NGX_BLUEBUTTON_CACHE_EVICTED,
    NGX_BLUEBUTTON_CACHE_FEED_LOST,
    NGX_BLUEBUTTON_CACHE_EVENTS
} ngx_bluebutton_cache_event_e;

/* what became of an answer, for bluebutton_answers_total */
typedef enum {
    NGX_BLUEBUTTON_ANSWER_PASSED = 0,
    NGX_BLUEBUTTON_ANSWER_OTHER_PATIENT,
    NGX_BLUEBUTTON_ANSWER_UNBOUND,
    NGX_BLUEBUTTON_ANSWER_UNEXPECTED_TYPE,
    NGX_BLUEBUTTON_ANSWER_DUPLICATE,
    NGX_BLUEBUTTON_ANSWER_NOT_JSON,
    NGX_BLUEBUTTON_ANSWER_TOO_LARGE,
    NGX_BLUEBUTTON_ANSWER_ENCODED,
    NGX_BLUEBUTTON_ANSWER_BACKEND_ERROR,
    NGX_BLUEBUTTON_ANSWER_OUTCOME,
    NGX_BLUEBUTTON_ANSWER_VERDICTS
} ngx_bluebutton_answer_verdict_e;


void ngx_bluebutton_metrics_answer(ngx_uint_t verdict);

/* a verdict's label, and $bluebutton_answer */
const char *ngx_bluebutton_metrics_answer_name(ngx_uint_t verdict);

/* microseconds on a monotonic clock, for durations */
uint64_t ngx_bluebutton_metrics_now(void);
void ngx_bluebutton_metrics_observe(ngx_uint_t histogram, uint64_t since);

char *ngx_bluebutton_metrics_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/*
 * The entries of the decision caches, for bluebutton_status: the cache
 * sits above the counters (it counts its events here), so it is asked
 * through this, set when the configuration is read.
 */
extern ngx_uint_t  (*ngx_bluebutton_metrics_entries)(ngx_http_request_t *r);


#endif /* _NGX_BLUEBUTTON_METRICS_H_INCLUDED_ */
