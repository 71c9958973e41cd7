
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Variables read the request's decision state; they are empty where the
 * module did not run, and token facts stay empty unless the token was
 * found, so that a log never shows what an unverified client claimed.
 */

#include "ngx_bluebutton_variables.h"
#include "ngx_bluebutton_context.h"
#include "ngx_bluebutton_cache.h"
#include "ngx_bluebutton_token.h"
#include "ngx_bluebutton_answer.h"


enum {
    NGX_BLUEBUTTON_VAR_PATIENT = 0,
    NGX_BLUEBUTTON_VAR_CLIENT,
    NGX_BLUEBUTTON_VAR_APP,
    NGX_BLUEBUTTON_VAR_SCOPE,
    NGX_BLUEBUTTON_VAR_TOKEN_HASH,
    NGX_BLUEBUTTON_VAR_DECISION,
    NGX_BLUEBUTTON_VAR_RESOURCE_TYPE,
    NGX_BLUEBUTTON_VAR_CACHE_STATUS,
    NGX_BLUEBUTTON_VAR_REFUSAL_CAUSE,
    NGX_BLUEBUTTON_VAR_ANSWER
};


static ngx_int_t ngx_bluebutton_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_bluebutton_jwt_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


/* a claim's value given at most, as auth_jwt's $jwt_claim_ */
#define NGX_BLUEBUTTON_CLAIM_MAX  4096


static ngx_http_variable_t  ngx_bluebutton_vars[] = {

    { ngx_string("bluebutton_patient"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_PATIENT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_client_id"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_CLIENT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_app"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_APP, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_scope"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_SCOPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_token_hash"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_TOKEN_HASH, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_decision"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_DECISION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_resource_type"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_RESOURCE_TYPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_cache_status"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_CACHE_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_refusal_cause"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_REFUSAL_CAUSE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_answer"), NULL, ngx_bluebutton_variable,
      NGX_BLUEBUTTON_VAR_ANSWER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("bluebutton_jwt_claim_"), NULL,
      ngx_bluebutton_jwt_claim_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_bluebutton_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_bluebutton_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_bluebutton_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    const char            *s;
    ngx_bluebutton_ctx_t  *ctx;

    ctx = ngx_bluebutton_get_ctx(r);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = NULL;

    switch (data) {

    case NGX_BLUEBUTTON_VAR_DECISION:
        s = (ctx->decision == BB_DECISION_NONE
             && ctx->route.kind == BB_FHIR_PUBLIC)
            ? "public" : bb_decision_name(ctx->decision);
        break;

    case NGX_BLUEBUTTON_VAR_REFUSAL_CAUSE:
        s = bb_refusal_cause(ctx->decision, ctx->why);
        if (*s == '\0') {
            s = NULL;
        }
        break;

    case NGX_BLUEBUTTON_VAR_ANSWER:
        s = ngx_bluebutton_answer_name(ctx);
        if (*s == '\0') {
            s = NULL;
        }
        break;

    case NGX_BLUEBUTTON_VAR_CACHE_STATUS:
        s = ngx_bluebutton_cache_status_name(ctx->cache_status);
        if (*s == '\0') {
            s = NULL;
        }
        break;

    case NGX_BLUEBUTTON_VAR_RESOURCE_TYPE:
        s = ctx->route.kind == BB_FHIR_USERINFO ? "userinfo"
            : ctx->route.kind == BB_FHIR_PUBLIC ? NULL : ctx->route.type;
        if (s && *s == '\0') {
            s = NULL;
        }
        break;

    case NGX_BLUEBUTTON_VAR_TOKEN_HASH:
        if (ctx->hashed) {
            v->data = ctx->token_hash;
            v->len = NGX_BLUEBUTTON_HASH_SHOWN;
            goto found;
        }
        break;

    default:
        if (ctx->token == NULL) {
            break;
        }

        s = data == NGX_BLUEBUTTON_VAR_PATIENT ? ctx->token->patient
            : data == NGX_BLUEBUTTON_VAR_CLIENT ? ctx->token->client_id
            : data == NGX_BLUEBUTTON_VAR_APP ? ctx->token->app
            : ctx->token->scope;
    }

    if (s == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = (u_char *) s;
    v->len = ngx_strlen(s);

found:

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * $bluebutton_jwt_claim_NAME: a claim of the request's JWT, once its
 * signature was verified (now, or when the cached decision was made under
 * the same keys and policy); empty for opaque tokens and refused JWTs.
 */
static ngx_int_t
ngx_bluebutton_jwt_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *var = (ngx_str_t *) data;

    u_char                *out;
    long                   n;
    char                   name[128];
    size_t                 len;
    ngx_str_t              token;
    ngx_bluebutton_ctx_t  *ctx;

    len = var->len - (sizeof("bluebutton_jwt_claim_") - 1);
    ctx = ngx_bluebutton_get_ctx(r);

    if (ctx == NULL || !ctx->jwt || ctx->token == NULL
        || len == 0 || len >= sizeof(name)
        || ngx_bluebutton_token_text(ctx->authorization, &token) != NGX_OK)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_memcpy(name, var->data + sizeof("bluebutton_jwt_claim_") - 1, len);
    name[len] = '\0';

    out = ngx_pnalloc(r->pool, NGX_BLUEBUTTON_CLAIM_MAX);
    if (out == NULL) {
        return NGX_ERROR;
    }

    n = bb_jwt_claim((const char *) token.data, token.len, name,
                     (char *) out, NGX_BLUEBUTTON_CLAIM_MAX);

    if (n < 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = out;
    v->len = n;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
