
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Routes are read from r->uri, nginx's normalized path.  Where nginx
 * would pass the client's raw path upstream, a raw path that needed
 * decoding or dot-segment removal is refused, so the backend can never be
 * asked for anything other than what was checked here.
 */

#include "ngx_bluebutton_route.h"
#include "ngx_bluebutton_response.h"
#include "ngx_bluebutton_search.h"


/* what a lenient backend could read as another patient's search */
#define NGX_BLUEBUTTON_AMBIGUOUS_QUERY                                        \
    "Search parameters must be separated by \"&\" and named exactly"


static ngx_int_t ngx_bluebutton_route_refuse(ngx_bluebutton_ctx_t *ctx,
    bb_decision_t decision, const char *why);


ngx_int_t
ngx_bluebutton_route_classify(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx)
{
    u_char  *raw, *q;
    size_t   raw_len;

    raw = r->unparsed_uri.data;
    q = ngx_strlchr(raw, raw + r->unparsed_uri.len, '?');
    raw_len = q ? (size_t) (q - raw) : r->unparsed_uri.len;

    /*
     * only a URI nginx has not rewritten may go upstream in its raw form;
     * a rewritten one goes as r->uri, which is what is checked here
     */

    if (r->valid_unparsed_uri
        && (raw_len != r->uri.len
            || ngx_memcmp(raw, r->uri.data, raw_len) != 0))
    {
        return ngx_bluebutton_route_refuse(ctx, BB_DECISION_INVALID_REQUEST,
                   "The request path must be sent in normal form");
    }

    (void) bb_fhir_route((const char *) r->uri.data, r->uri.len,
                         blcf->fhir_types->elts, blcf->fhir_types->nelts,
                         &ctx->route);

    ctx->routed = 1;

    if (ctx->route.kind == BB_FHIR_UNKNOWN) {
        return ngx_bluebutton_route_refuse(ctx, BB_DECISION_NOT_FOUND,
                   "No such resource in this API");
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_bluebutton_route_refuse(ctx,
                   BB_DECISION_METHOD_NOT_ALLOWED,
                   "Only GET and HEAD are supported");
    }

    switch (bb_fhir_query_bind((const char *) r->args.data, r->args.len,
                               NULL, NULL))
    {
    case BB_FHIR_ACCESS_TOKEN:
        return ngx_bluebutton_route_refuse(ctx, BB_DECISION_INVALID_REQUEST,
                   "Access tokens are accepted in the Authorization header "
                   "only");

    case BB_FHIR_BAD_QUERY:
        return ngx_bluebutton_route_refuse(ctx, BB_DECISION_INVALID_REQUEST,
                   "The query string is malformed");

    case BB_FHIR_AMBIGUOUS:
        return ngx_bluebutton_route_refuse(ctx, BB_DECISION_INVALID_REQUEST,
                   NGX_BLUEBUTTON_AMBIGUOUS_QUERY);
    }

    return ctx->route.kind == BB_FHIR_PUBLIC ? NGX_DECLINED : NGX_OK;
}


ngx_int_t
ngx_bluebutton_route_bind(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx)
{
    u_char      *p;
    size_t       len;
    ngx_str_t    name;
    bb_scope_t   required;
    const char  *param, *patient;

    if (!ctx->routed) {
        return NGX_OK;
    }

    if (bb_fhir_required_scope(&ctx->route, &required) != 0) {
        return NGX_OK;
    }

    if (!bb_scope_satisfied(ctx->token->scope, ngx_strlen(ctx->token->scope),
                            &required))
    {
        /* named as the v1 scope every Blue Button app knows */

        if (ctx->route.kind == BB_FHIR_USERINFO) {
            ngx_str_set(&name, "profile");

        } else {
            name.len = sizeof("patient/.read") - 1
                       + ngx_strlen(ctx->route.type);
            name.data = ngx_pnalloc(r->pool, name.len);
            if (name.data == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(name.data, "patient/%s.read", ctx->route.type);
        }

        ngx_bluebutton_scope_missing(ctx, &name);

        return NGX_ABORT;
    }

    patient = ctx->token->patient;

    if (ctx->route.kind == BB_FHIR_READ) {
        if (ngx_strcmp(ctx->route.type, "Patient") == 0
            && ngx_strcmp(ctx->route.id, patient) != 0)
        {
            return ngx_bluebutton_route_refuse(ctx,
                       BB_DECISION_PATIENT_MISMATCH,
                       "No such resource for this beneficiary");
        }

        return NGX_OK;
    }

    if (ctx->route.kind != BB_FHIR_SEARCH) {
        return NGX_OK;
    }

    param = bb_fhir_patient_param(ctx->route.type);

    switch (bb_fhir_query_bind((const char *) r->args.data, r->args.len,
                               param, patient))
    {
    case BB_FHIR_BIND_MATCH:
        return NGX_OK;

    case BB_FHIR_BIND_ABSENT:
        break;

    case BB_FHIR_AMBIGUOUS:
        return ngx_bluebutton_route_refuse(ctx, BB_DECISION_INVALID_REQUEST,
                   NGX_BLUEBUTTON_AMBIGUOUS_QUERY);

    default:
        return ngx_bluebutton_route_refuse(ctx, BB_DECISION_PATIENT_MISMATCH,
                   "The search names another beneficiary");
    }

    /* the backend never runs a search outside the patient's records */

    len = r->args.len + 1 + ngx_strlen(param) + 1 + ngx_strlen(patient);
    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    r->args.len = ngx_sprintf(p, "%V%s%s=%s", &r->args,
                              r->args.len ? "&" : "", param, patient) - p;
    r->args.data = p;
    r->valid_unparsed_uri = 0;

    return NGX_OK;
}


/*
 * The backend's request, as the Blue Button server makes it: the query
 * string rebuilt from the parameters its schema names, and a HEAD asked
 * as GET where the answer is checked (a body is what is judged; the
 * client still gets the header alone).
 */
ngx_int_t
ngx_bluebutton_route_profile(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx)
{
    long         len;
    u_char      *p;
    const char  *err;

    if (ctx->profiled || !ctx->routed) {
        return NGX_OK;
    }

    ctx->profiled = 1;

    if (ctx->answer_checked && r->method == NGX_HTTP_HEAD) {
        r->method = NGX_HTTP_GET;
        r->method_name = ngx_http_core_get_method;
        ctx->head = 1;
    }

    if (ctx->route.kind != BB_FHIR_READ && ctx->route.kind != BB_FHIR_SEARCH)
    {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, r->args.len + BB_SEARCH_EXTRA);
    if (p == NULL) {
        return NGX_ERROR;
    }

    len = bb_search_rebuild(ctx->route.type,
                            bb_fhir_patient_param(ctx->route.type),
                            ctx->route.kind == BB_FHIR_SEARCH,
                            r->uri.data[2] - '0', (char *) r->args.data,
                            r->args.len, (char *) p,
                            r->args.len + BB_SEARCH_EXTRA, &err);
    if (len < 0) {
        return ngx_bluebutton_route_refuse(ctx, BB_DECISION_INVALID_REQUEST,
                                           err);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "bluebutton: backend query \"%*s\"", (size_t) len, p);

    r->args.data = p;
    r->args.len = len;
    r->valid_unparsed_uri = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_bluebutton_route_refuse(ngx_bluebutton_ctx_t *ctx,
    bb_decision_t decision, const char *why)
{
    ctx->decision = decision;
    ctx->why = why;

    return NGX_ABORT;
}
