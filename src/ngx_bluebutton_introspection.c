
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * RFC 7662 token introspection by an in-memory subrequest to a location
 * of the same server that proxies to the authorization server, as
 * bluebutton_jwt_keys_url fetches keys: TLS, client authentication,
 * timeouts and keepalive are that location's proxy_* lines.  The token
 * goes in a POST body only; none of the client's request goes along.
 * The request waits for the answer like auth_request and runs its access
 * phase again once it is in.
 */

#include "ngx_bluebutton_introspection.h"
#include "ngx_bluebutton_context.h"
#include "ngx_bluebutton_lookup.h"
#include "ngx_bluebutton_introspect.h"
#include "ngx_bluebutton_record.h"
#include "ngx_bluebutton_subrequest.h"


static ngx_int_t ngx_bluebutton_introspection_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_bluebutton_introspection_failed(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, const char *fmt, ...);
static size_t ngx_bluebutton_introspection_escape(u_char *dst, u_char *src,
    size_t len);


static ngx_str_t  ngx_bluebutton_introspection_type =
    ngx_string("application/x-www-form-urlencoded");


char *
ngx_bluebutton_introspection_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_bluebutton_loc_conf_t  *blcf = conf;

    ngx_str_t                       *value, s;
    ngx_uint_t                       i;
    ngx_bluebutton_introspection_t  *in;

    if (blcf->introspection != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0 && cf->args->nelts == 2) {
        blcf->introspection = NULL;
        return NGX_CONF_OK;
    }

    if (value[1].len == 0 || value[1].data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is not a location of this server: the "
                           "introspection endpoint is reached through one "
                           "that proxies to it", &value[1]);
        return NGX_CONF_ERROR;
    }

    in = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_introspection_t));
    if (in == NULL) {
        return NGX_CONF_ERROR;
    }

    in->uri = value[1];

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "patient=", 8) == 0) {
            in->patient.data = value[i].data + 8;
            in->patient.len = value[i].len - 8;

            /* a member name, as the answer's reader looks for it */
            if (in->patient.len == 0 || in->patient.len >= BB_RECORD_NAME_MAX
                || ngx_strlchr(in->patient.data,
                               in->patient.data + in->patient.len, '"'))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": a member name of 1 to "
                                   "31 characters is expected", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "audience=", 9) == 0) {
            in->audience.data = value[i].data + 9;
            in->audience.len = value[i].len - 9;

            if (in->audience.len == 0
                || in->audience.len > BB_RECORD_NAMED_MAX)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": an audience of 1 to "
                                   "%d characters is expected", &value[i],
                                   BB_RECORD_NAMED_MAX);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            in->ttl = ngx_parse_time(&s, 0);

            if (in->ttl == (ngx_msec_t) NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    /* entries of another endpoint or reading are not this one's */

    ngx_crc32_init(in->policy);
    ngx_crc32_update(&in->policy, (u_char *) "introspection", 13);
    ngx_crc32_update(&in->policy, in->uri.data, in->uri.len);
    ngx_crc32_update(&in->policy, in->patient.data, in->patient.len);
    ngx_crc32_update(&in->policy, (u_char *) "", 1);
    ngx_crc32_update(&in->policy, in->audience.data, in->audience.len);
    ngx_crc32_final(in->policy);

    blcf->introspection = in;

    return NGX_CONF_OK;
}


/* the module's own subrequest is no client request to check */
ngx_uint_t
ngx_bluebutton_introspection_asking(ngx_http_request_t *r)
{
    return r->post_subrequest != NULL
           && r->post_subrequest->handler
              == ngx_bluebutton_introspection_done;
}


ngx_int_t
ngx_bluebutton_introspection_get(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_bluebutton_loc_conf_t *blcf,
    ngx_str_t *token)
{
    size_t                       len;
    u_char                      *p;
    ngx_buf_t                   *b;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    static u_char  hint[] = "&token_type_hint=access_token";

    if (ctx->introspected) {
        return NGX_OK;
    }

    /* token=<the token, percent-encoded>&token_type_hint=access_token */

    len = sizeof("token=") - 1 + 3 * token->len + sizeof(hint) - 1;

    b = ngx_create_temp_buf(r->pool, len);
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));

    if (b == NULL || ps == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(b->last, "token=", sizeof("token=") - 1);
    p += ngx_bluebutton_introspection_escape(p, token->data, token->len);
    b->last = ngx_cpymem(p, hint, sizeof(hint) - 1);
    b->last_buf = 1;

    ps->handler = ngx_bluebutton_introspection_done;
    ps->data = ctx;

    if (ngx_bluebutton_subrequest(r, &blcf->introspection->uri, ps,
                                  NGX_HTTP_SUBREQUEST_WAITED, b,
                                  &ngx_bluebutton_introspection_type, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->waiting = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "bluebutton: introspecting the token at \"%V\"",
                   &blcf->introspection->uri);

    return NGX_AGAIN;
}


static ngx_int_t
ngx_bluebutton_introspection_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_bluebutton_ctx_t  *ctx = data;

    bb_entry_t                 *e;
    ngx_str_t                   answer;
    const char                 *err, *patient, *audience;
    ngx_http_request_t         *r;
    bb_introspection_t          in;
    ngx_bluebutton_loc_conf_t  *blcf;

    r = ctx->request;

    if (ctx->introspected) {
        /* a subrequest finalized twice */
        return NGX_OK;
    }

    ctx->introspected = 1;
    ctx->waiting = 0;

    blcf = ctx->conf;

    if (rc != NGX_OK && rc != NGX_DONE && rc != NGX_HTTP_OK) {
        /* the proxy's own 502 or 504: refused, reset, timed out */
        ngx_bluebutton_introspection_failed(r, ctx, "\"%V\" gave no answer "
                                            "(%i)",
                                            &blcf->introspection->uri, rc);
        return NGX_OK;
    }

    if (sr->headers_out.status != NGX_HTTP_OK) {
        ngx_bluebutton_introspection_failed(r, ctx, "\"%V\" answered %ui",
                                            &blcf->introspection->uri,
                                            sr->headers_out.status);
        return NGX_OK;
    }

    ngx_bluebutton_subrequest_answer(sr, &answer);

    if (answer.len == 0) {
        ngx_bluebutton_introspection_failed(r, ctx, "\"%V\" answered "
                                            "nothing",
                                            &blcf->introspection->uri);
        return NGX_OK;
    }

    /* the directive's own arguments, NUL-terminated as nginx reads them */

    patient = blcf->introspection->patient.len
              ? (const char *) blcf->introspection->patient.data : NULL;
    audience = blcf->introspection->audience.len
               ? (const char *) blcf->introspection->audience.data : NULL;

    if (bb_introspection_parse((const char *) answer.data, answer.len,
                               patient, audience, &in, &err)
        != 0)
    {
        ngx_bluebutton_introspection_failed(r, ctx, "the answer of \"%V\" "
                                            "could not be read: %s",
                                            &blcf->introspection->uri, err);
        return NGX_OK;
    }

    e = ngx_bluebutton_lookup_entry(r, ctx, BB_ENTRY_OPAQUE);
    if (e == NULL) {
        return NGX_OK;
    }

    if (in.other_audience) {
        /* refused as an unknown token; the log says why */
        ngx_bluebutton_set_cause(r, ctx, "the answer of \"%V\" is for "
                                 "another audience than \"%V\"",
                                 &blcf->introspection->uri,
                                 &blcf->introspection->audience);
    }

    if (in.active) {
        e->found = 1;
        e->token = in.token;
        ctx->token = &e->token;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "bluebutton: the token is %s",
                   in.active ? "active" : "not active");

    return NGX_OK;
}


static void
ngx_bluebutton_introspection_failed(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, const char *fmt, ...)
{
    u_char   *p, buf[512];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    /* the server could not say: 503, never 401 */
    ngx_bluebutton_set_cause(r, ctx, "%*s", p - buf, buf);
    ctx->decision = BB_DECISION_UNAVAILABLE;
}


/* application/x-www-form-urlencoded: all but the unreserved characters */
static size_t
ngx_bluebutton_introspection_escape(u_char *dst, u_char *src, size_t len)
{
    u_char  *p, c;
    size_t   i;

    static u_char  hex[] = "0123456789ABCDEF";

    p = dst;

    for (i = 0; i < len; i++) {
        c = src[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~')
        {
            *p++ = c;
            continue;
        }

        *p++ = '%';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 0xf];
    }

    return p - dst;
}
