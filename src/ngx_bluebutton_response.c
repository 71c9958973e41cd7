
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Every refusal is answered the same way: a status, a WWW-Authenticate
 * challenge for 400/401/403 (RFC 6750 section 3), Retry-After for 503,
 * a JSON body, and one line in the error log.  The response is sent here
 * rather than by returning the status, so that "satisfy any" and
 * error_page cannot turn a refusal into something else.
 */

#include "ngx_bluebutton_response.h"


typedef struct {
    ngx_uint_t   status;
    const char  *error;        /* OAuth error code, or ours */
    const char  *issue;        /* FHIR OperationOutcome issue code */
    ngx_uint_t   challenge;    /* send WWW-Authenticate */
} ngx_bluebutton_refusal_t;


static ngx_bluebutton_refusal_t ngx_bluebutton_refusal(
    ngx_bluebutton_ctx_t *ctx);
static ngx_uint_t ngx_bluebutton_wants_fhir(ngx_http_request_t *r);
static u_char *ngx_bluebutton_json_string(u_char *p, const char *name,
    ngx_str_t *value);


static ngx_bluebutton_refusal_t
ngx_bluebutton_refusal(ngx_bluebutton_ctx_t *ctx)
{
    ngx_bluebutton_refusal_t  ref;

    ref.challenge = 1;

    switch (ctx->decision) {

    case BB_DECISION_INVALID_REQUEST:
        ref.status = ctx->missing ? NGX_HTTP_UNAUTHORIZED
                                  : NGX_HTTP_BAD_REQUEST;
        ref.error = "invalid_request";
        ref.issue = ctx->missing ? "login" : "invalid";
        break;

    case BB_DECISION_INSUFFICIENT_SCOPE:
        ref.status = NGX_HTTP_FORBIDDEN;
        ref.error = "insufficient_scope";
        ref.issue = "forbidden";
        break;

    case BB_DECISION_UNAVAILABLE:
        ref.status = NGX_HTTP_SERVICE_UNAVAILABLE;
        ref.error = "temporarily_unavailable";
        ref.issue = "transient";
        ref.challenge = 0;
        break;

    case BB_DECISION_NOT_FOUND:
        ref.status = NGX_HTTP_NOT_FOUND;
        ref.error = "not_found";
        ref.issue = "not-found";
        ref.challenge = 0;
        break;

    case BB_DECISION_METHOD_NOT_ALLOWED:
        ref.status = NGX_HTTP_NOT_ALLOWED;
        ref.error = "method_not_allowed";
        ref.issue = "not-supported";
        ref.challenge = 0;
        break;

    case BB_DECISION_PATIENT_MISMATCH:
        /* as the Blue Button API: another's resource does not exist */
        if (ctx->route.kind == BB_FHIR_READ
            || (ctx->route.kind == BB_FHIR_SEARCH
                && ngx_strcmp(ctx->route.type, "Patient") == 0))
        {
            ref.status = NGX_HTTP_NOT_FOUND;
            ref.error = "not_found";
            ref.issue = "not-found";

        } else {
            ref.status = NGX_HTTP_FORBIDDEN;
            ref.error = "forbidden";
            ref.issue = "forbidden";
        }

        ref.challenge = 0;
        break;

    default:
        ref.status = NGX_HTTP_UNAUTHORIZED;
        ref.error = "invalid_token";
        ref.issue = "login";
        break;
    }

    return ref;
}


ngx_int_t
ngx_bluebutton_refuse(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx)
{
    u_char                     *p;
    size_t                      len;
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    ngx_str_t                   error, why, value, *scope;
    ngx_uint_t                  level;
    ngx_chain_t                 out;
    ngx_bluebutton_refusal_t    ref;
    ngx_bluebutton_loc_conf_t  *blcf;

    blcf = ngx_http_get_module_loc_conf(r, ngx_bluebutton_module);

    ref = ngx_bluebutton_refusal(ctx);

    if (ctx->decision == BB_DECISION_UNAVAILABLE) {
        ctx->why = "The consent service is temporarily unavailable";
    }

    error.data = (u_char *) ref.error;
    error.len = ngx_strlen(ref.error);
    why.data = (u_char *) (ctx->why ? ctx->why : "");
    why.len = ngx_strlen(why.data);

    scope = ctx->decision == BB_DECISION_INSUFFICIENT_SCOPE
            ? &ctx->required : NULL;

    level = ctx->decision == BB_DECISION_UNAVAILABLE ? NGX_LOG_ERR
                                                     : blcf->log_level;

    ngx_log_error(level, r->connection->log, 0,
                  "bluebutton: %s (%s): %s%s%V, token %*s, cause %s%s%V%s%V%s",
                  ref.error, bb_decision_name(ctx->decision), why.data,
                  ctx->cause.len ? ": " : "", &ctx->cause,
                  (size_t) (ctx->hashed ? NGX_BLUEBUTTON_HASH_SHOWN : 1),
                  ctx->hashed ? ctx->token_hash : (u_char *) "-",
                  bb_refusal_cause(ctx->decision, ctx->why),
                  ctx->jwt_peeked ? ", kid \"" : "", &ctx->jwt_kid,
                  ctx->jwt_peeked ? "\", iss \"" : "", &ctx->jwt_iss,
                  ctx->jwt_peeked ? "\"" : "");

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    r->headers_out.status = ref.status;

    /* the challenge: realm, then error attributes unless none were sent */

    if (ref.challenge) {
        len = sizeof("Bearer realm=\"\", error=\"\", error_description=\"\", "
                     "scope=\"\"") - 1
              + blcf->realm.len + error.len + why.len
              + (scope ? scope->len : 0);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            goto failed;
        }

        value.data = p;
        p = ngx_sprintf(p, "Bearer realm=\"%V\"", &blcf->realm);

        if (!ctx->missing) {
            p = ngx_sprintf(p, ", error=\"%V\", error_description=\"%V\"",
                            &error, &why);
        }

        if (scope) {
            p = ngx_sprintf(p, ", scope=\"%V\"", scope);
        }

        value.len = p - value.data;

        if (ngx_bluebutton_response_header(r, "WWW-Authenticate", &value,
                                       &r->headers_out.www_authenticate)
            != NGX_OK)
        {
            goto failed;
        }
    }

    if (ref.status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (value.data == NULL) {
            goto failed;
        }

        value.len = ngx_sprintf(value.data, "%T", blcf->retry_after)
                    - value.data;

        if (ngx_bluebutton_response_header(r, "Retry-After", &value, NULL)
            != NGX_OK)
        {
            goto failed;
        }
    }

    if (ref.status == NGX_HTTP_NOT_ALLOWED) {
        ngx_str_set(&value, "GET, HEAD");

        if (ngx_bluebutton_response_header(r, "Allow", &value, NULL)
            != NGX_OK)
        {
            goto failed;
        }
    }

    ngx_str_set(&value, "no-store");

    if (ngx_bluebutton_response_header(r, "Cache-Control", &value, NULL)
        != NGX_OK)
    {
        goto failed;
    }

    /*
     * {"error":"...","error_description":"...","scope":"..."}, or for FHIR
     * clients {"resourceType":"OperationOutcome","issue":[{"severity":
     * "error","code":"...","diagnostics":"..."}]}
     */

    if (ngx_bluebutton_wants_fhir(r)) {
        b = ngx_bluebutton_outcome(r, ref.issue, &why);
        if (b == NULL) {
            goto failed;
        }

        ngx_str_set(&r->headers_out.content_type, "application/fhir+json");

    } else {
        len = sizeof("{\"error\":\"\",\"error_description\":\"\","
                     "\"scope\":\"\"}\n")
              + error.len + 6 * why.len + (scope ? 6 * scope->len : 0);

        b = ngx_create_temp_buf(r->pool, len);
        if (b == NULL) {
            goto failed;
        }

        p = b->last;

        *p++ = '{';
        p = ngx_bluebutton_json_string(p, "error", &error);
        *p++ = ',';
        p = ngx_bluebutton_json_string(p, "error_description", &why);

        if (scope) {
            *p++ = ',';
            p = ngx_bluebutton_json_string(p, "scope", scope);
        }

        *p++ = '}';
        *p++ = '\n';

        b->last = p;

        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    out.buf = b;
    out.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));

    return NGX_DONE;

failed:

    ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);

    return NGX_DONE;
}


ngx_buf_t *
ngx_bluebutton_outcome(ngx_http_request_t *r, const char *code,
    ngx_str_t *diagnostics)
{
    u_char     *p;
    ngx_buf_t  *b;
    ngx_str_t   issue;

    static u_char  head[] = "{\"resourceType\":\"OperationOutcome\","
                            "\"issue\":[{\"severity\":\"error\",";

    issue.data = (u_char *) code;
    issue.len = ngx_strlen(code);

    b = ngx_create_temp_buf(r->pool,
                            sizeof(head) + sizeof("\"code\":\"\","
                                                  "\"diagnostics\":\"\"}]}\n")
                            + 6 * issue.len + 6 * diagnostics->len);
    if (b == NULL) {
        return NULL;
    }

    p = ngx_cpymem(b->last, head, sizeof(head) - 1);
    p = ngx_bluebutton_json_string(p, "code", &issue);
    *p++ = ',';
    p = ngx_bluebutton_json_string(p, "diagnostics", diagnostics);
    b->last = ngx_cpymem(p, "}]}\n", 4);

    return b;
}


void
ngx_bluebutton_scope_missing(ngx_bluebutton_ctx_t *ctx, ngx_str_t *required)
{
    ctx->decision = BB_DECISION_INSUFFICIENT_SCOPE;
    ctx->why = "The access token does not grant the scope this resource "
               "requires";
    ctx->required = *required;
}


static ngx_uint_t
ngx_bluebutton_wants_fhir(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  fhir = ngx_string("application/fhir+json");

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Accept") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Accept",
                               sizeof("Accept") - 1) == 0
            && ngx_strlcasestrn(h[i].value.data,
                                h[i].value.data + h[i].value.len,
                                fhir.data, fhir.len - 1)
               != NULL)
        {
            return 1;
        }
    }
}


ngx_int_t
ngx_bluebutton_response_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value, ngx_table_elt_t **elt)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    if (elt) {
        *elt = h;
    }

    return NGX_OK;
}


static u_char *
ngx_bluebutton_json_string(u_char *p, const char *name, ngx_str_t *value)
{
    p = ngx_sprintf(p, "\"%s\":\"", name);
    p = (u_char *) ngx_escape_json(p, value->data, value->len);
    *p++ = '"';

    return p;
}
