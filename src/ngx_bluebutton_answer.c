
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The claims backend returns whatever it is asked for, so its answer is
 * judged before any of it reaches the client.  The header filter holds
 * the header; the body filter copies each buffer once into buffers of
 * the request's pool (sized by Content-Length where the backend gave
 * one, so that a whole answer is one buffer), feeds the copy to the
 * compartment reader, and marks the backend's buffers consumed so that
 * proxying goes on.  At the last buffer the verdict is known: the header
 * and the held buffers are sent, or the gateway's own answer instead.
 *
 * This filter sits below the copy filter (nginx's order for a filter
 * module), so buffers arrive in memory, and above gzip and the HTTP/2
 * framing, which see only what was judged.  Holding the whole answer is
 * what proxy_buffering off cannot change: the answer is buffered here,
 * up to bluebutton_fhir_answer_max_size, whatever proxy_buffering says.
 */

#include "ngx_bluebutton_answer.h"
#include "ngx_bluebutton_context.h"
#include "ngx_bluebutton_response.h"
#include "ngx_bluebutton_metrics.h"


/* the first buffer when the backend names no length; then doubled */
#define NGX_BLUEBUTTON_ANSWER_CHUNK      16384
#define NGX_BLUEBUTTON_ANSWER_CHUNK_MAX  (1024 * 1024)


struct ngx_bluebutton_answer_s {
    bb_compartment_t      check;
    ngx_chain_t          *held;
    ngx_chain_t         **last;
    ngx_buf_t            *buf;       /* the one being filled */
    off_t                 size;
    size_t                next_size;
    ngx_uint_t            status;    /* the backend's */
    ngx_uint_t            verdict;   /* ngx_bluebutton_answer_verdict_e */
    const char           *why;
    unsigned              discard:1; /* judged already: read, not kept */
    unsigned              judged:1;
    unsigned              sent:1;
};


static ngx_int_t ngx_bluebutton_answer_init(ngx_conf_t *cf);
static ngx_int_t ngx_bluebutton_answer_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_bluebutton_answer_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_bluebutton_answer_keep(ngx_http_request_t *r,
    ngx_bluebutton_answer_t *a, ngx_bluebutton_loc_conf_t *blcf,
    u_char *p, size_t len);
static void ngx_bluebutton_answer_refuse(ngx_bluebutton_answer_t *a,
    ngx_uint_t verdict, const char *why);
static void ngx_bluebutton_answer_free(ngx_http_request_t *r,
    ngx_bluebutton_answer_t *a);
static ngx_int_t ngx_bluebutton_answer_send(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_answer_t *a);
static ngx_int_t ngx_bluebutton_answer_replace(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_answer_t *a);
static ngx_int_t ngx_bluebutton_answer_no_store(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf);
static ngx_uint_t ngx_bluebutton_answer_verdict(ngx_bluebutton_answer_t *a,
    int verdict);
static ngx_array_t *ngx_bluebutton_answer_default_rules(ngx_conf_t *cf);


static ngx_http_module_t  ngx_bluebutton_answer_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_bluebutton_answer_init,            /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_bluebutton_answer_module = {
    NGX_MODULE_V1,
    &ngx_bluebutton_answer_module_ctx,     /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


void
ngx_bluebutton_answer_expect(ngx_bluebutton_loc_conf_t *blcf,
    ngx_bluebutton_ctx_t *ctx)
{
    ctx->answer_checked = blcf->fhir && blcf->answers && ctx->routed
                          && (ctx->route.kind == BB_FHIR_READ
                              || ctx->route.kind == BB_FHIR_SEARCH
                              || ctx->route.kind == BB_FHIR_USERINFO);
}


const char *
ngx_bluebutton_answer_name(ngx_bluebutton_ctx_t *ctx)
{
    if (ctx->answer == NULL || !ctx->answer->judged) {
        return "";
    }

    return ngx_bluebutton_metrics_answer_name(ctx->answer->verdict);
}


static ngx_int_t
ngx_bluebutton_answer_header_filter(ngx_http_request_t *r)
{
    int                         expect;
    ngx_uint_t                  status;
    ngx_bluebutton_ctx_t       *ctx;
    ngx_bluebutton_answer_t    *a;
    ngx_bluebutton_loc_conf_t  *blcf;

    static ngx_str_t  head = ngx_string("HEAD");

    ctx = ngx_bluebutton_get_ctx(r);

    /* the module's own refusals, and requests it does not check, pass */

    if (ctx == NULL || ctx->request != r || !ctx->answer_checked
        || ctx->decision != BB_DECISION_ALLOW || ctx->answer != NULL)
    {
        return ngx_http_next_header_filter(r);
    }

    blcf = ctx->conf;

    a = ngx_pcalloc(r->pool, sizeof(ngx_bluebutton_answer_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    ctx->answer = a;
    a->last = &a->held;
    a->next_size = NGX_BLUEBUTTON_ANSWER_CHUNK;

    if (ctx->head) {
        /* asked of the backend as GET, so that there is a body to judge */
        r->method = NGX_HTTP_HEAD;
        r->method_name = head;
    }

    status = r->headers_out.status;
    a->status = status;

    switch (ctx->route.kind) {
    case BB_FHIR_READ:
        expect = BB_COMPARTMENT_READ;
        break;
    case BB_FHIR_SEARCH:
        expect = BB_COMPARTMENT_SEARCH;
        break;
    default:
        expect = BB_COMPARTMENT_USERINFO;
    }

    if (status != NGX_HTTP_OK) {

        /* v3 passes the backend's OperationOutcome on; else it is mapped */

        if (status >= NGX_HTTP_BAD_REQUEST && status < 600
            && r->uri.len > 3 && ngx_strncmp(r->uri.data, "/v3/", 4) == 0)
        {
            expect = BB_COMPARTMENT_OUTCOME;

        } else {
            ngx_bluebutton_answer_refuse(a, NGX_BLUEBUTTON_ANSWER_BACKEND_ERROR,
                                         NULL);
        }
    }

    if (!a->discard && r->headers_out.content_encoding
        && r->headers_out.content_encoding->hash
        && !(r->headers_out.content_encoding->value.len == 8
             && ngx_strncasecmp(r->headers_out.content_encoding->value.data,
                                (u_char *) "identity", 8) == 0))
    {
        ngx_bluebutton_answer_refuse(a, NGX_BLUEBUTTON_ANSWER_ENCODED,
                                     "the backend sent an encoded answer");
    }

    if (!a->discard && r->headers_out.content_length_n > 0) {
        if ((size_t) r->headers_out.content_length_n > blcf->answer_max_size)
        {
            ngx_bluebutton_answer_refuse(a, NGX_BLUEBUTTON_ANSWER_TOO_LARGE,
                                         "the answer is larger than "
                                         "bluebutton_fhir_answer_max_size");

        } else {
            /* the whole answer in one buffer */
            a->next_size = (size_t) r->headers_out.content_length_n;
        }
    }

    bb_compartment_init(&a->check, blcf->references->elts,
                        blcf->references->nelts, expect, ctx->route.type,
                        ctx->token->patient);

    r->filter_need_in_memory = 1;

    /* held: the header goes out with the verdict */

    return NGX_OK;
}


static ngx_int_t
ngx_bluebutton_answer_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                      len;
    ngx_buf_t                  *b;
    ngx_uint_t                  last;
    ngx_chain_t                *cl;
    ngx_bluebutton_ctx_t       *ctx;
    ngx_bluebutton_answer_t    *a;

    ctx = ngx_bluebutton_get_ctx(r);

    if (ctx == NULL || ctx->request != r || ctx->answer == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    a = ctx->answer;
    last = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (!a->sent && !a->discard && ngx_buf_in_memory(b)) {
            len = b->last - b->pos;

            if (len && ngx_bluebutton_answer_keep(r, a, ctx->conf, b->pos,
                                                  len)
                       != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        /* consumed: the backend's buffers go back to proxying */

        b->pos = b->last;
        if (b->in_file) {
            b->file_pos = b->file_last;
        }

        if (b->last_buf || (r != r->main && b->last_in_chain)) {
            last = 1;
        }
    }

    if (!last || a->sent) {
        return NGX_OK;
    }

    a->sent = 1;

    return ngx_bluebutton_answer_send(r, ctx, a);
}


/* Copies len bytes into the held buffers and reads them there. */
static ngx_int_t
ngx_bluebutton_answer_keep(ngx_http_request_t *r, ngx_bluebutton_answer_t *a,
    ngx_bluebutton_loc_conf_t *blcf, u_char *p, size_t len)
{
    int           rc;
    size_t        n, room;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if ((size_t) a->size + len > blcf->answer_max_size) {
        ngx_bluebutton_answer_refuse(a, NGX_BLUEBUTTON_ANSWER_TOO_LARGE,
                                     "the answer is larger than "
                                     "bluebutton_fhir_answer_max_size");
        ngx_bluebutton_answer_free(r, a);
        return NGX_OK;
    }

    while (len) {
        b = a->buf;

        if (b == NULL || b->last == b->end) {
            room = blcf->answer_max_size - (size_t) a->size;
            n = ngx_min(ngx_max(a->next_size, len), room);

            b = ngx_create_temp_buf(r->pool, n);
            if (b == NULL) {
                return NGX_ERROR;
            }

            cl = ngx_alloc_chain_link(r->pool);
            if (cl == NULL) {
                return NGX_ERROR;
            }

            cl->buf = b;
            cl->next = NULL;
            *a->last = cl;
            a->last = &cl->next;
            a->buf = b;

            a->next_size = ngx_min(2 * n, NGX_BLUEBUTTON_ANSWER_CHUNK_MAX);
        }

        n = ngx_min(len, (size_t) (b->end - b->last));

        ngx_memcpy(b->last, p, n);
        rc = bb_compartment_feed(&a->check, (char *) b->last, n);

        b->last += n;
        a->size += n;
        p += n;
        len -= n;

        if (rc != BB_COMPARTMENT_MORE) {
            /* the verdict is in before the end: the rest is not kept */
            ngx_bluebutton_answer_refuse(a,
                                         ngx_bluebutton_answer_verdict(a, rc),
                                         NULL);
            ngx_bluebutton_answer_free(r, a);
            return NGX_OK;
        }
    }

    return NGX_OK;
}


static void
ngx_bluebutton_answer_refuse(ngx_bluebutton_answer_t *a, ngx_uint_t verdict,
    const char *why)
{
    a->verdict = verdict;
    a->why = why;
    a->discard = 1;
    a->judged = 1;
}


/* What was held is given back at once: a refused answer is never sent. */
static void
ngx_bluebutton_answer_free(ngx_http_request_t *r, ngx_bluebutton_answer_t *a)
{
    ngx_chain_t  *cl;

    for (cl = a->held; cl; cl = cl->next) {
        (void) ngx_pfree(r->pool, cl->buf->start);
    }

    a->held = NULL;
    a->buf = NULL;
}


static ngx_int_t
ngx_bluebutton_answer_send(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_bluebutton_answer_t *a)
{
    int           rc;
    ngx_int_t     sent;
    ngx_buf_t    *b;

    if (!a->discard) {
        rc = bb_compartment_end(&a->check);

        a->judged = 1;

        if (rc != BB_COMPARTMENT_OK) {
            ngx_bluebutton_answer_refuse(a,
                                         ngx_bluebutton_answer_verdict(a, rc),
                                         NULL);

        } else {
            a->verdict = (a->status == NGX_HTTP_OK)
                         ? NGX_BLUEBUTTON_ANSWER_PASSED
                         : NGX_BLUEBUTTON_ANSWER_OUTCOME;
        }
    }

    ngx_bluebutton_metrics_answer(a->verdict);

    if (a->discard) {
        return ngx_bluebutton_answer_replace(r, ctx, a);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "bluebutton: answer of %O bytes passed, %uz resources "
                   "bound to patient \"%s\"", a->size, a->check.checked,
                   ctx->token->patient);

    ngx_http_clear_content_length(r);
    r->headers_out.content_length_n = a->size;

    if (ngx_bluebutton_answer_no_store(r, ctx->conf) != NGX_OK) {
        return NGX_ERROR;
    }

    sent = ngx_http_next_header_filter(r);

    if (sent == NGX_ERROR || sent > NGX_OK || r->header_only) {
        return sent;
    }

    b = a->buf;

    if (b == NULL) {
        /* nothing held can pass: an empty answer is not JSON */
        return NGX_ERROR;
    }

    if (r == r->main) {
        b->last_buf = 1;
    }

    b->last_in_chain = 1;

    return ngx_http_next_body_filter(r, a->held);
}


/* The gateway's own answer in place of the backend's. */
static ngx_int_t
ngx_bluebutton_answer_replace(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_answer_t *a)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     diagnostics;
    ngx_uint_t    status, level;
    ngx_chain_t   out;
    const char   *code, *cause;

    level = NGX_LOG_ERR;

    if (a->verdict == NGX_BLUEBUTTON_ANSWER_BACKEND_ERROR) {

        /* as the Blue Button API maps what its backend says */

        if (a->status == NGX_HTTP_NOT_FOUND) {
            status = NGX_HTTP_NOT_FOUND;
            code = "not-found";
            ngx_str_set(&diagnostics, "Not found.");
            level = NGX_LOG_INFO;

        } else if (a->status >= NGX_HTTP_BAD_REQUEST
                   && a->status < NGX_HTTP_INTERNAL_SERVER_ERROR)
        {
            status = NGX_HTTP_BAD_REQUEST;
            code = "invalid";
            ngx_str_set(&diagnostics,
                        "An error occurred contacting the upstream server");

        } else {
            status = NGX_HTTP_BAD_GATEWAY;
            code = "exception";
            ngx_str_set(&diagnostics,
                        "A failure occurred contacting the upstream server");
        }

        ngx_log_error(level, r->connection->log, 0,
                      "bluebutton: the backend answered %ui, sent as %ui",
                      a->status, status);

    } else {
        /* as the Blue Button API: what is not the patient's is not there */

        if (ctx->route.kind == BB_FHIR_READ) {
            status = NGX_HTTP_NOT_FOUND;
            code = "not-found";
            ngx_str_set(&diagnostics, "Not found.");

        } else {
            status = NGX_HTTP_FORBIDDEN;
            code = "forbidden";
            ngx_str_set(&diagnostics, "The backend's answer was withheld: "
                                      "it is not the beneficiary's alone");
        }

        cause = a->why ? a->why
                       : bb_compartment_verdict_text(a->check.verdict);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "bluebutton: answer refused (%s): %s%s%s%s, "
                      "%O bytes read, patient \"%s\"",
                      ngx_bluebutton_metrics_answer_name(a->verdict), cause,
                      a->check.why[0] ? " \"" : "", a->check.why,
                      a->check.why[0] ? "\"" : "", a->size,
                      ctx->token->patient);

        ctx->decision = (a->verdict == NGX_BLUEBUTTON_ANSWER_OTHER_PATIENT)
                        ? BB_DECISION_PATIENT_MISMATCH
                        : BB_DECISION_BAD_ANSWER;
    }

    ctx->why = NULL;

    /* nothing of the backend's header stays: as ngx_http_clean_header() */

    ngx_memzero(&r->headers_out.status,
                sizeof(ngx_http_headers_out_t)
                    - offsetof(ngx_http_headers_out_t, status));

    r->headers_out.headers.part.nelts = 0;
    r->headers_out.headers.part.next = NULL;
    r->headers_out.headers.last = &r->headers_out.headers.part;
    r->headers_out.trailers.part.nelts = 0;
    r->headers_out.trailers.part.next = NULL;
    r->headers_out.trailers.last = &r->headers_out.trailers.part;
    r->headers_out.last_modified_time = -1;
    r->headers_out.status = status;

    b = ngx_bluebutton_outcome(r, code, &diagnostics);
    if (b == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&r->headers_out.content_type, "application/fhir+json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = b->last - b->pos;

    if (ngx_bluebutton_answer_no_store(r, ctx->conf) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


/* claims data is kept by no cache on the way, the browser's included */
static ngx_int_t
ngx_bluebutton_answer_no_store(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf)
{
    ngx_str_t         value;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (!blcf->no_store) {
        return NGX_OK;
    }

    /* the backend's own Cache-Control, Expires and Pragma go */

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        if ((h[i].key.len == sizeof("Cache-Control") - 1
             && ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                                h[i].key.len) == 0)
            || (h[i].key.len == sizeof("Expires") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Expires",
                                   h[i].key.len) == 0)
            || (h[i].key.len == sizeof("Pragma") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Pragma",
                                   h[i].key.len) == 0))
        {
            h[i].hash = 0;
        }
    }

    r->headers_out.expires = NULL;
#if (nginx_version >= 1023000)
    r->headers_out.cache_control = NULL;
#else
    r->headers_out.cache_control.nelts = 0;
#endif

    ngx_str_set(&value, "no-store");

    if (ngx_bluebutton_response_header(r, "Cache-Control", &value, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "no-cache");

    return ngx_bluebutton_response_header(r, "Pragma", &value, NULL);
}


static ngx_uint_t
ngx_bluebutton_answer_verdict(ngx_bluebutton_answer_t *a, int verdict)
{
    if (a->status != NGX_HTTP_OK) {
        /* an error that is not an OperationOutcome: mapped as any other */
        return NGX_BLUEBUTTON_ANSWER_BACKEND_ERROR;
    }

    switch (verdict) {
    case BB_COMPARTMENT_OTHER:
        return NGX_BLUEBUTTON_ANSWER_OTHER_PATIENT;
    case BB_COMPARTMENT_UNBOUND:
        return NGX_BLUEBUTTON_ANSWER_UNBOUND;
    case BB_COMPARTMENT_TYPE:
        return NGX_BLUEBUTTON_ANSWER_UNEXPECTED_TYPE;
    case BB_COMPARTMENT_DUPLICATE:
        return NGX_BLUEBUTTON_ANSWER_DUPLICATE;
    default:
        return NGX_BLUEBUTTON_ANSWER_NOT_JSON;
    }
}


char *
ngx_bluebutton_answer_reference_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_bluebutton_loc_conf_t  *blcf = conf;

    int                     bare;
    ngx_str_t              *value;
    ngx_uint_t              i;
    bb_compartment_rule_t   rule, *rules;

    value = cf->args->elts;
    bare = 0;

    if (cf->args->nelts == 4) {
        if (ngx_strcmp(value[3].data, "value=id") == 0) {
            bare = 1;

        } else if (ngx_strcmp(value[3].data, "value=reference") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": \"value=id\" "
                               "or \"value=reference\"", &value[3]);
            return NGX_CONF_ERROR;
        }
    }

    /* arguments are NUL-terminated by ngx_conf_read_token() */

    if (bb_compartment_rule(&rule, (char *) value[1].data,
                            (char *) value[2].data, bare)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid reference path \"%V\" for \"%V\": "
                           "at most %d member names of at most %d "
                           "characters, separated by \".\"",
                           &value[2], &value[1], BB_COMPARTMENT_PATH_MAX,
                           BB_COMPARTMENT_NAME_MAX);
        return NGX_CONF_ERROR;
    }

    if (blcf->references == NGX_CONF_UNSET_PTR) {
        blcf->references = ngx_bluebutton_answer_default_rules(cf);
        if (blcf->references == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    rules = blcf->references->elts;

    for (i = 0; i < blcf->references->nelts; i++) {
        if (ngx_strcmp(rules[i].type, rule.type) == 0) {
            /* a type's own line takes the place of the default */
            rules[i] = rule;
            return NGX_CONF_OK;
        }
    }

    if (blcf->references->nelts == BB_COMPARTMENT_RULES_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "at most %d resource types may have a reference "
                           "path", BB_COMPARTMENT_RULES_MAX);
        return NGX_CONF_ERROR;
    }

    rules = ngx_array_push(blcf->references);
    if (rules == NULL) {
        return NGX_CONF_ERROR;
    }

    *rules = rule;

    return NGX_CONF_OK;
}


char *
ngx_bluebutton_answer_off(ngx_conf_t *cf, void *post, void *data)
{
    ngx_flag_t  *fp = data;

    if (*fp == 0) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"bluebutton_fhir_answers off\": the backend's "
                           "answers reach clients unchecked, and the "
                           "backend alone must bind every answer to the "
                           "token's patient");
    }

    return NGX_CONF_OK;
}


char *
ngx_bluebutton_answer_merge(ngx_conf_t *cf, ngx_bluebutton_loc_conf_t *prev,
    ngx_bluebutton_loc_conf_t *conf)
{
    char                   **type;
    ngx_uint_t               i, k;
    bb_compartment_rule_t   *rules;

    ngx_conf_merge_value(conf->answers, prev->answers, 1);
    ngx_conf_merge_size_value(conf->answer_max_size, prev->answer_max_size,
                              16 * 1024 * 1024);
    ngx_conf_merge_value(conf->no_store, prev->no_store, 1);
    ngx_conf_merge_value(conf->address_fields, prev->address_fields, 0);

    if (conf->references == NGX_CONF_UNSET_PTR) {
        conf->references = prev->references;
    }

    if (conf->references == NGX_CONF_UNSET_PTR) {
        conf->references = ngx_bluebutton_answer_default_rules(cf);
        if (conf->references == NULL) {
            return NGX_CONF_ERROR;
        }

        /* the default is shared upwards, built once */
        prev->references = conf->references;
    }

    if (conf->answer_max_size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"bluebutton_fhir_answer_max_size\" must be "
                           "positive");
        return NGX_CONF_ERROR;
    }

    if (!conf->fhir || !conf->answers || conf->fhir_types == NULL) {
        return NGX_CONF_OK;
    }

    /* every type served must say where its answers name the patient */

    type = conf->fhir_types->elts;
    rules = conf->references->elts;

    for (i = 0; i < conf->fhir_types->nelts; i++) {
        for (k = 0; k < conf->references->nelts; k++) {
            if (ngx_strcmp(rules[k].type, type[i]) == 0) {
                break;
            }
        }

        if (k == conf->references->nelts) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "resource type \"%s\" has no reference path "
                               "to check its answers against the patient: "
                               "add \"bluebutton_fhir_reference %s PATH\"",
                               type[i], type[i]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_array_t *
ngx_bluebutton_answer_default_rules(ngx_conf_t *cf)
{
    ngx_array_t            *a;
    bb_compartment_rule_t  *rules;

    a = ngx_array_create(cf->pool, 4, sizeof(bb_compartment_rule_t));
    if (a == NULL) {
        return NULL;
    }

    rules = ngx_array_push_n(a, 3);
    if (rules == NULL) {
        return NULL;
    }

    (void) bb_compartment_default_rules(rules);

    return a;
}


static ngx_int_t
ngx_bluebutton_answer_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_bluebutton_answer_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_bluebutton_answer_body_filter;

    return NGX_OK;
}
