
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * ngx_bluebutton: health-data consent enforced at the gateway.
 *
 * The access-phase handler takes the bearer token, asks Redis (without
 * blocking) whether the token and the beneficiary's grant to the app are
 * still live, checks the location's scopes, and hands the request on with
 * verified identity headers.  Anything else is refused, closed by default.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_bluebutton.h"
#include "ngx_bluebutton_context.h"
#include "ngx_bluebutton_token.h"
#include "ngx_bluebutton_lookup.h"
#include "ngx_bluebutton_headers.h"
#include "ngx_bluebutton_route.h"
#include "ngx_bluebutton_response.h"
#include "ngx_bluebutton_variables.h"
#include "ngx_bluebutton_version.h"
#include "ngx_bluebutton_metrics.h"
#include "ngx_bluebutton_cache.h"
#include "ngx_bluebutton_jwks.h"
#include "ngx_bluebutton_issuer.h"
#include "ngx_bluebutton_introspection.h"
#include "ngx_bluebutton_tls.h"
#include "ngx_bluebutton_sentinel.h"
#include "ngx_bluebutton_cluster.h"
#include "ngx_bluebutton_answer.h"


static ngx_int_t ngx_bluebutton_handler(ngx_http_request_t *r);
static ngx_int_t ngx_bluebutton_subrequest_handler(ngx_http_request_t *r);
static ngx_int_t ngx_bluebutton_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_bluebutton_decide(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx);
static void ngx_bluebutton_stale(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx);
static ngx_int_t ngx_bluebutton_jwt_check(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx,
    ngx_str_t *token, ngx_bluebutton_issuer_t *is, bb_keyset_t *keys);
static void ngx_bluebutton_jwt_seen(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx, ngx_str_t *token);
static ngx_int_t ngx_bluebutton_log_quote(ngx_pool_t *pool, const char *s,
    ngx_str_t *out);

static ngx_int_t ngx_bluebutton_introspected(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_srv_conf_t *bscf,
    ngx_bluebutton_ctx_t *ctx, ngx_str_t *token);

static ngx_int_t ngx_bluebutton_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_bluebutton_init(ngx_conf_t *cf);
static void *ngx_bluebutton_create_main_conf(ngx_conf_t *cf);
static void *ngx_bluebutton_create_srv_conf(ngx_conf_t *cf);
static char *ngx_bluebutton_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void *ngx_bluebutton_create_loc_conf(ngx_conf_t *cf);
static char *ngx_bluebutton_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_bluebutton_store_t *ngx_bluebutton_add_store(ngx_conf_t *cf,
    ngx_bluebutton_redis_conf_t *rcf);
static ngx_int_t ngx_bluebutton_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_bluebutton_init_process(ngx_cycle_t *cycle);
static void ngx_bluebutton_exit_process(ngx_cycle_t *cycle);

static char *ngx_bluebutton_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_bluebutton_redis_auth(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_bluebutton_redis_cluster(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_bluebutton_redis_sentinel(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_bluebutton_auth_args(ngx_conf_t *cf, ngx_str_t *user,
    ngx_str_t *password);
static char *ngx_bluebutton_scope(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_bluebutton_fhir_types(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_bluebutton_quoted_string(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_bluebutton_header_name(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_bluebutton_prefix(ngx_conf_t *cf, void *post, void *data);
static char *ngx_bluebutton_database(ngx_conf_t *cf, void *post, void *data);


static char  *ngx_bluebutton_fhir_default_types[] = {
    "Patient", "Coverage", "ExplanationOfBenefit", NULL
};


static ngx_conf_enum_t  ngx_bluebutton_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_conf_post_handler_pt  ngx_bluebutton_realm_p =
    ngx_bluebutton_quoted_string;
static ngx_conf_post_handler_pt  ngx_bluebutton_header_name_p =
    ngx_bluebutton_header_name;
static ngx_conf_post_handler_pt  ngx_bluebutton_prefix_p =
    ngx_bluebutton_prefix;

static ngx_conf_post_handler_pt  ngx_bluebutton_database_p =
    ngx_bluebutton_database;

static ngx_conf_post_handler_pt  ngx_bluebutton_answers_p =
    ngx_bluebutton_answer_off;


static ngx_command_t  ngx_bluebutton_commands[] = {

    { ngx_string("bluebutton"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, enable),
      NULL },

    { ngx_string("bluebutton_realm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, realm),
      &ngx_bluebutton_realm_p },

    { ngx_string("bluebutton_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_bluebutton_scope,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_fhir"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, fhir),
      NULL },

    { ngx_string("bluebutton_fhir_types"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_bluebutton_fhir_types,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_fhir_answers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, answers),
      &ngx_bluebutton_answers_p },

    { ngx_string("bluebutton_fhir_answer_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, answer_max_size),
      NULL },

    { ngx_string("bluebutton_fhir_reference"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE23,
      ngx_bluebutton_answer_reference_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_fhir_no_store"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, no_store),
      NULL },

    { ngx_string("bluebutton_fhir_include_address_fields"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, address_fields),
      NULL },

    { ngx_string("bluebutton_original_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, original_url),
      NULL },

    { ngx_string("bluebutton_jwt_keys"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_bluebutton_issuer_keys_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_introspection"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_bluebutton_introspection_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_jwt_keys_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_bluebutton_jwks_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_jwt_algorithms"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_bluebutton_issuer_algorithms_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, jwt_leeway),
      NULL },

    { ngx_string("bluebutton_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_bluebutton_issuer_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, jwt_audience),
      NULL },

    { ngx_string("bluebutton_pass_authorization"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, pass_authorization),
      NULL },

    { ngx_string("bluebutton_patient_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, patient_header),
      &ngx_bluebutton_header_name_p },

    { ngx_string("bluebutton_client_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, client_header),
      &ngx_bluebutton_header_name_p },

    { ngx_string("bluebutton_app_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, app_header),
      &ngx_bluebutton_header_name_p },

    { ngx_string("bluebutton_max_token_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, max_token_size),
      NULL },

    { ngx_string("bluebutton_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, retry_after),
      NULL },

    { ngx_string("bluebutton_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, log_level),
      &ngx_bluebutton_log_levels },

    { ngx_string("bluebutton_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_bluebutton_cache_zone,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_stale_if_error"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_bluebutton_loc_conf_t, stale_if_error),
      NULL },

    { ngx_string("bluebutton_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_bluebutton_metrics_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_redis"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_bluebutton_redis,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, redis.timeout),
      NULL },

    { ngx_string("bluebutton_redis_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE12,
      ngx_bluebutton_redis_auth,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_redis_database"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, redis.database),
      &ngx_bluebutton_database_p },

    { ngx_string("bluebutton_redis_sentinel"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_2MORE,
      ngx_bluebutton_redis_sentinel,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_redis_cluster"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_bluebutton_redis_cluster,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("bluebutton_redis_sentinel_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE12,
      ngx_bluebutton_redis_auth,
      NGX_HTTP_SRV_CONF_OFFSET,
      1,
      NULL },

    { ngx_string("bluebutton_redis_ssl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.enable),
      NULL },

    { ngx_string("bluebutton_redis_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.verify),
      NULL },

    { ngx_string("bluebutton_redis_ssl_verify_depth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.verify_depth),
      NULL },

    { ngx_string("bluebutton_redis_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.trusted_certificate),
      NULL },

    { ngx_string("bluebutton_redis_ssl_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.certificate),
      NULL },

    { ngx_string("bluebutton_redis_ssl_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.certificate_key),
      NULL },

    { ngx_string("bluebutton_redis_ssl_name"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.name),
      NULL },

    { ngx_string("bluebutton_redis_ssl_ciphers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.ciphers),
      NULL },

    { ngx_string("bluebutton_redis_ssl_protocols"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_conf_set_bitmask_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.protocols),
      &ngx_bluebutton_tls_protocols },

    { ngx_string("bluebutton_redis_ssl_session_reuse"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, tls.session_reuse),
      NULL },

    { ngx_string("bluebutton_redis_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_bluebutton_srv_conf_t, prefix),
      &ngx_bluebutton_prefix_p },

      ngx_null_command
};


static ngx_http_module_t  ngx_bluebutton_module_ctx = {
    ngx_bluebutton_preconfiguration,       /* preconfiguration */
    ngx_bluebutton_init,                   /* postconfiguration */

    ngx_bluebutton_create_main_conf,       /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_bluebutton_create_srv_conf,        /* create server configuration */
    ngx_bluebutton_merge_srv_conf,         /* merge server configuration */

    ngx_bluebutton_create_loc_conf,        /* create location configuration */
    ngx_bluebutton_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_bluebutton_module = {
    NGX_MODULE_V1,
    &ngx_bluebutton_module_ctx,            /* module context */
    ngx_bluebutton_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_bluebutton_init_module,            /* init module */
    ngx_bluebutton_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_bluebutton_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_bluebutton_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_uint_t                  jwt, version;
    bb_keyset_t                *keys;
    ngx_bluebutton_issuer_t    *is;
    ngx_str_t                   token;
    ngx_bluebutton_ctx_t       *ctx;
    ngx_bluebutton_srv_conf_t  *bscf;
    ngx_bluebutton_loc_conf_t  *blcf;

    blcf = ngx_http_get_module_loc_conf(r, ngx_bluebutton_module);

    if (!blcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_bluebutton_get_ctx(r);

    if (ctx == NULL
        || ctx->request != r
        || ctx->conf != blcf
        || ctx->uri_changes != r->uri_changes)
    {
        /*
         * a first check, or the request came here by an internal redirect,
         * a named location or as a subrequest: this location's checks are
         * made afresh, on the headers as the client sent them
         */

        ctx = ngx_bluebutton_ctx_create(r, blcf, ctx);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else if (ctx->waiting) {
        return NGX_AGAIN;

    } else if (ctx->decision != BB_DECISION_NONE) {
        /* the lookup finished */
        return ngx_bluebutton_decide(r, blcf, ctx);
    }

    if (blcf->fhir) {
        rc = ngx_bluebutton_route_classify(r, blcf, ctx);

        if (rc == NGX_ABORT) {
            return ngx_bluebutton_refuse(r, ctx);
        }

        if (rc == NGX_DECLINED) {
            /* public: no token needed, and no identity passed on */
            ctx->decision = BB_DECISION_NONE;

            if (ngx_bluebutton_headers_strip(r, blcf) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return NGX_DECLINED;
        }
    }

    if (ctx->reused) {
        /* the token was looked up under the same rules before */
        return ngx_bluebutton_decide(r, blcf, ctx);
    }

    ctx->decision = ngx_bluebutton_token_get(r, blcf, ctx, &token);

    if (ctx->decision != BB_DECISION_NONE) {
        return ngx_bluebutton_refuse(r, ctx);
    }

    if (ngx_bluebutton_token_hash(ctx, &token, r->connection->log) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    bscf = ngx_http_get_module_srv_conf(r, ngx_bluebutton_module);

    /* bb_jwt_looks_like(), found while the token's syntax was checked */
    jwt = blcf->issuers != NULL && ctx->jwt_shaped;

    if (!jwt && blcf->introspection) {
        return ngx_bluebutton_introspected(r, blcf, bscf, ctx, &token);
    }

    keys = NULL;
    is = NULL;
    ctx->cache_policy = 0;
    ctx->jwt_leeway = 0;

    if (jwt) {
        is = ngx_bluebutton_issuer_pick(blcf, &token);

        if (is == NULL) {
            /* no keys to try: what it claims is not trusted here */
            ctx->jwt = 1;
            ctx->decision = BB_DECISION_INVALID_TOKEN;
            ctx->why = "The access token is from another issuer";
            ngx_bluebutton_jwt_seen(r, ctx, &token);
            return ngx_bluebutton_refuse(r, ctx);
        }

        ctx->cache_policy = is->policy;
        ctx->jwt_leeway = is->leeway;
        keys = is->keys;
    }

    if (is && is->jwks) {
        rc = ngx_bluebutton_jwks_get(r, ctx, is->jwks, 0, &keys, &version);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (keys == NULL) {
            /* the keys are missing, not the token: 503, never 401 */
            ngx_bluebutton_set_cause(r, ctx, "no signing keys were fetched "
                                     "from \"%V\" yet", &is->jwks->uri);
            ctx->decision = BB_DECISION_UNAVAILABLE;
            return ngx_bluebutton_refuse(r, ctx);
        }

        /* entries verified with other keys are not this policy's */
        ctx->cache_policy ^= (uint32_t) (version * 2654435761u);
    }

    ngx_bluebutton_cache_find(r, ctx, bscf,
                              jwt ? BB_ENTRY_JWT : BB_ENTRY_OPAQUE,
                              ctx->cache_policy, blcf->stale_if_error);

    if (ctx->cache_status == NGX_BLUEBUTTON_CACHE_HIT) {
        /* no Redis, no signature: the decision is made again from it */

        ctx->jwt = jwt;
        ctx->token = ctx->entry->found ? &ctx->entry->token : NULL;
        ctx->decision = bb_entry_decide(ctx->entry, (long long) ngx_time(),
                                        ctx->jwt_leeway,
                                        &ctx->why);

        return ngx_bluebutton_decide(r, blcf, ctx);
    }

    if (ctx->cache_status != NGX_BLUEBUTTON_CACHE_BYPASS
        && ngx_bluebutton_flight_join(ctx))
    {
        return NGX_AGAIN;
    }

    if (jwt) {
        /* verified here; Redis only says whether consent still stands */

        rc = ngx_bluebutton_jwt_check(r, blcf, ctx, &token, is, keys);

        if (rc == NGX_ABORT && is->jwks && !ctx->jwks_fetched
            && bb_jwt_key_unknown(ctx->why))
        {
            /* a key rotated in since the last fetch: ask once more */

            if (ngx_bluebutton_jwks_get(r, ctx, is->jwks, 1, &keys,
                                        &version)
                == NGX_AGAIN)
            {
                ctx->decision = BB_DECISION_NONE;
                ctx->why = NULL;
                return NGX_AGAIN;
            }
        }

        if (rc != NGX_OK) {
            return rc == NGX_ABORT ? ngx_bluebutton_refuse(r, ctx) : rc;
        }

        rc = ngx_bluebutton_lookup_jwt_start(r, ctx, bscf);

    } else {
        rc = ngx_bluebutton_lookup_start(r, ctx, bscf);
    }

    if (rc == NGX_AGAIN) {
        if (bscf->cache) {
            ngx_bluebutton_flight_lead(ctx);
        }

        return NGX_AGAIN;
    }

    return ngx_bluebutton_decide(r, blcf, ctx);
}


/*
 * An opaque token asked of the authorization server; with a ttl and a
 * cache, its answer is kept that long at most (never past the token's
 * exp), and the grant read with it stays exact by Redis' invalidations.
 * The grant is read from Redis where the server has one; where it has
 * none, the server's answer alone decides.
 */
static ngx_int_t
ngx_bluebutton_introspected(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_srv_conf_t *bscf,
    ngx_bluebutton_ctx_t *ctx, ngx_str_t *token)
{
    ngx_int_t                        rc;
    bb_entry_t                      *e;
    ngx_bluebutton_introspection_t  *in;

    in = blcf->introspection;

    if (!ctx->introspected) {
        ctx->cache_policy = in->policy;
        ctx->cache_status = NGX_BLUEBUTTON_CACHE_BYPASS;

        if (in->ttl && bscf->cache) {
            ngx_bluebutton_cache_find(r, ctx, bscf, BB_ENTRY_OPAQUE,
                                      in->policy, blcf->stale_if_error);
        }

        if (ctx->cache_status == NGX_BLUEBUTTON_CACHE_HIT) {
            ctx->token = ctx->entry->found ? &ctx->entry->token : NULL;
            ctx->decision = bb_entry_decide(ctx->entry,
                                            (long long) ngx_time(), 0,
                                            &ctx->why);

            return ngx_bluebutton_decide(r, blcf, ctx);
        }

        if (ctx->cache_status != NGX_BLUEBUTTON_CACHE_BYPASS
            && ngx_bluebutton_flight_join(ctx))
        {
            return NGX_AGAIN;
        }
    }

    rc = ngx_bluebutton_introspection_get(r, ctx, blcf, token);

    if (rc == NGX_AGAIN) {
        if (ctx->cache_status != NGX_BLUEBUTTON_CACHE_BYPASS) {
            /* what changes in Redis from now on keeps it out of the zone */
            ngx_bluebutton_cache_sending(ctx, bscf);
            ngx_bluebutton_flight_lead(ctx);
        }

        return NGX_AGAIN;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    e = ctx->entry;

    if (ctx->decision != BB_DECISION_NONE || e == NULL) {
        ngx_bluebutton_flight_land(ctx);
        return ngx_bluebutton_decide(r, blcf, ctx);
    }

    /* kept no longer than the ttl, counted from when the server was asked */
    ctx->expires = ngx_current_msec + in->ttl;
    ctx->expires_set = 1;

    if (e->found && bscf->store) {
        /* the beneficiary's grant still stands, or not: Redis says */

        rc = ngx_bluebutton_lookup_jwt_start(r, ctx, bscf);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        ngx_bluebutton_flight_land(ctx);

        return ngx_bluebutton_decide(r, blcf, ctx);
    }

    if (e->found) {
        /* no consent store: the grant is the server's, and it said active */
        e->granted = 1;
    }

    ctx->decision = bb_entry_decide(e, (long long) ngx_time(), 0, &ctx->why);

    if (ctx->cache_status != NGX_BLUEBUTTON_CACHE_BYPASS) {
        ngx_bluebutton_cache_fill(r, ctx, bscf);
    }

    ngx_bluebutton_flight_land(ctx);

    return ngx_bluebutton_decide(r, blcf, ctx);
}


/*
 * nginx runs no access phase for subrequests (SSI, addition, auth_request,
 * mirror): one that enters a bluebutton location is checked here instead,
 * before try_files and the content handler.
 */
static ngx_int_t
ngx_bluebutton_subrequest_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r == r->main || ngx_bluebutton_jwks_fetching(r)
        || ngx_bluebutton_introspection_asking(r))
    {
        return NGX_DECLINED;
    }

    rc = ngx_bluebutton_handler(r);

    /* allowed: the rest of this phase (try_files) still runs */
    return rc == NGX_OK ? NGX_DECLINED : rc;
}


static ngx_int_t
ngx_bluebutton_decide(ngx_http_request_t *r, ngx_bluebutton_loc_conf_t *blcf,
    ngx_bluebutton_ctx_t *ctx)
{
    size_t       granted;
    ngx_int_t    rc;
    ngx_uint_t   i;
    bb_scope_t  *required;

    if (ctx->decision == BB_DECISION_UNAVAILABLE && ctx->stale) {
        ngx_bluebutton_stale(r, blcf, ctx);
    }

    if (!ctx->looked_up) {
        /* kept apart from the route's and scopes' verdict on it */
        ctx->lookup = ctx->decision;
        ctx->looked_up = 1;
    }

    if (ctx->decision != BB_DECISION_ALLOW) {
        return ngx_bluebutton_refuse(r, ctx);
    }

    rc = ngx_bluebutton_route_bind(r, ctx);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_ABORT) {
        return ngx_bluebutton_refuse(r, ctx);
    }

    if (blcf->scopes) {
        required = blcf->scopes->elts;
        granted = ngx_strlen(ctx->token->scope);

        for (i = 0; i < blcf->scopes->nelts; i++) {
            if (!bb_scope_satisfied(ctx->token->scope, granted, &required[i]))
            {
                ngx_bluebutton_scope_missing(ctx, &blcf->scope_text);
                return ngx_bluebutton_refuse(r, ctx);
            }
        }
    }

    if (ngx_bluebutton_headers_set(r, blcf, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_bluebutton_answer_expect(blcf, ctx);

    rc = ngx_bluebutton_route_profile(r, ctx);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_ABORT) {
        return ngx_bluebutton_refuse(r, ctx);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "bluebutton: allow client \"%s\" patient \"%s\"",
                   ctx->token->client_id, ctx->token->patient);

    return NGX_OK;
}


/*
 * Redis cannot answer: an allow it confirmed within stale_if_error may
 * stand in for its answer.  Only an allow, and only for a token Redis
 * knew: everything else is still refused.
 */
static void
ngx_bluebutton_stale(ngx_http_request_t *r, ngx_bluebutton_loc_conf_t *blcf,
    ngx_bluebutton_ctx_t *ctx)
{
    const char     *why;
    bb_decision_t   decision;

    if (ctx->stale_age >= blcf->stale_if_error) {
        return;
    }

    decision = bb_entry_decide(ctx->stale, (long long) ngx_time(),
                               ctx->jwt ? ctx->jwt_leeway : 0, &why);

    if (decision != BB_DECISION_ALLOW) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "bluebutton: redis cannot answer (%V): serving the allow "
                  "it confirmed %M ms ago, within bluebutton_stale_if_error",
                  &ctx->cause, ctx->stale_age);

    ctx->entry = ctx->stale;
    ctx->token = &ctx->stale->token;
    ctx->decision = BB_DECISION_ALLOW;
    ctx->cache_status = NGX_BLUEBUTTON_CACHE_STALE;
}


/* each request that reached a decision counts once, whatever redirected */
static ngx_int_t
ngx_bluebutton_log_handler(ngx_http_request_t *r)
{
    ngx_bluebutton_ctx_t       *ctx;
    ngx_bluebutton_srv_conf_t  *bscf;

    ctx = ngx_bluebutton_get_ctx(r);

    if (ctx == NULL) {
        return NGX_OK;
    }

    ngx_bluebutton_metrics_decision(ctx->decision);

    /* the cache's outcomes where there is a cache to speak of */

    bscf = ngx_http_get_module_srv_conf(r, ngx_bluebutton_module);

    if (bscf->cache) {
        ngx_bluebutton_metrics_cache(ctx->cache_status);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_bluebutton_jwt_check(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx,
    ngx_str_t *token, ngx_bluebutton_issuer_t *is, bb_keyset_t *keys)
{
    uint64_t          started;
    bb_token_t       *t;
    bb_entry_t       *e;
    bb_jwt_policy_t   policy;

    e = ngx_bluebutton_lookup_entry(r, ctx, BB_ENTRY_JWT);
    if (e == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    e->found = 1;
    t = &e->token;

    policy.algorithms = is->algorithms;
    policy.leeway = is->leeway;
    policy.issuer = is->iss.len ? (const char *) is->iss.data : NULL;
    policy.audience = is->audience.len
                      ? (const char *) is->audience.data : NULL;

    ctx->jwt = 1;
    started = ngx_bluebutton_metrics_now();

    ctx->decision = bb_jwt_verify((const char *) token->data, token->len,
                                  keys, &policy,
                                  (long long) ngx_time(), t, &ctx->why);

    ngx_bluebutton_metrics_observe(NGX_BLUEBUTTON_JWT_VERIFY_DURATION,
                                   started);

    /* the Redis timeout must count from now, not from before the crypto */
    ngx_time_update();

    if (ctx->decision != BB_DECISION_ALLOW) {
        ctx->entry = NULL;
        ngx_bluebutton_jwt_seen(r, ctx, token);
        return NGX_ABORT;
    }

    ctx->decision = BB_DECISION_NONE;
    ctx->token = t;

    return NGX_OK;
}


/*
 * What a refused JWT said it was, unverified, for the refusal's log line:
 * the kid and iss, bounded by their readers, quotes and backslashes
 * escaped (control characters are refused by the readers).
 */
static void
ngx_bluebutton_jwt_seen(ngx_http_request_t *r, ngx_bluebutton_ctx_t *ctx,
    ngx_str_t *token)
{
    char  kid[BB_KID_MAX + 1], iss[256];

    if (bb_jwt_peek((const char *) token->data, token->len, kid, sizeof(kid),
                    iss, sizeof(iss))
        != 0)
    {
        return;
    }

    ctx->jwt_peeked = 1;

    (void) ngx_bluebutton_log_quote(r->pool, kid, &ctx->jwt_kid);
    (void) ngx_bluebutton_log_quote(r->pool, iss, &ctx->jwt_iss);
}


static ngx_int_t
ngx_bluebutton_log_quote(ngx_pool_t *pool, const char *s, ngx_str_t *out)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(s);

    p = ngx_pnalloc(pool, 4 * len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    for ( /* void */ ; *s; s++) {
        if (*s == '"' || *s == '\\') {
            *p++ = '\\';
            *p++ = (u_char) *s;

        } else if ((u_char) *s < 0x20 || (u_char) *s > 0x7e) {
            p = ngx_sprintf(p, "\\x%02xd", (u_char) *s);

        } else {
            *p++ = (u_char) *s;
        }
    }

    out->len = p - out->data;

    return NGX_OK;
}


static ngx_int_t
ngx_bluebutton_preconfiguration(ngx_conf_t *cf)
{
    if (ngx_bluebutton_add_variables(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_bluebutton_metrics_init_conf(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_bluebutton_lookup_init(cf);
}


static ngx_int_t
ngx_bluebutton_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_bluebutton_main_conf_t  *bmcf;

    static ngx_str_t  request_id = ngx_string("request_id");

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_bluebutton_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_bluebutton_subrequest_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_bluebutton_log_handler;

    ngx_bluebutton_metrics_entries = ngx_bluebutton_cache_entries;

    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_bluebutton_module);

    bmcf->request_id_index = ngx_http_get_variable_index(cf, &request_id);
    if (bmcf->request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    return ngx_bluebutton_jwks_check(cf, bmcf->jwks_uses);
}


static void *
ngx_bluebutton_create_main_conf(ngx_conf_t *cf)
{
    ngx_bluebutton_main_conf_t  *bmcf;

    bmcf = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_main_conf_t));
    if (bmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&bmcf->stores, cf->pool, 2,
                       sizeof(ngx_bluebutton_store_t *))
        != NGX_OK
        || ngx_array_init(&bmcf->storeless, cf->pool, 1,
                          sizeof(ngx_bluebutton_cache_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return bmcf;
}


static void *
ngx_bluebutton_create_srv_conf(ngx_conf_t *cf)
{
    ngx_bluebutton_srv_conf_t  *bscf;

    bscf = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_srv_conf_t));
    if (bscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     bscf->redis.addr = { 0, NULL };
     *     bscf->redis.host = { 0, NULL };
     *     bscf->redis.sockaddr = NULL;
     *     bscf->redis.user = { 0, NULL };
     *     bscf->redis.password = { 0, NULL };
     *     bscf->redis.sentinel = NULL;
     *     bscf->redis.cluster = NULL;
     *     bscf->redis.sentinel_user = { 0, NULL };
     *     bscf->redis.sentinel_password = { 0, NULL };
     *     bscf->prefix = { 0, NULL };
     *     bscf->store = NULL;
     */

    bscf->cache = NGX_CONF_UNSET_PTR;

    bscf->redis.timeout = NGX_CONF_UNSET_MSEC;
    bscf->redis.database = NGX_CONF_UNSET;

    ngx_bluebutton_tls_init_conf(&bscf->tls);

    return bscf;
}


static char *
ngx_bluebutton_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_bluebutton_srv_conf_t  *prev = parent;
    ngx_bluebutton_srv_conf_t  *conf = child;

    ngx_uint_t  own;

    own = conf->redis.addr.data != NULL
          || conf->redis.timeout != NGX_CONF_UNSET_MSEC
          || conf->redis.password.data != NULL
          || conf->redis.database != NGX_CONF_UNSET
          || conf->redis.sentinel_password.data != NULL
          || ngx_bluebutton_tls_configured(&conf->tls);

    /* bluebutton_redis, _sentinel or _cluster: one replaces the others */

    if (conf->redis.addr.data == NULL) {
        conf->redis.addr = prev->redis.addr;
        conf->redis.host = prev->redis.host;
        conf->redis.sockaddr = prev->redis.sockaddr;
        conf->redis.socklen = prev->redis.socklen;
        conf->redis.sentinel = prev->redis.sentinel;
        conf->redis.cluster = prev->redis.cluster;
    }

    if (conf->redis.password.data == NULL) {
        conf->redis.user = prev->redis.user;
        conf->redis.password = prev->redis.password;
    }

    if (conf->redis.sentinel_password.data == NULL) {
        conf->redis.sentinel_user = prev->redis.sentinel_user;
        conf->redis.sentinel_password = prev->redis.sentinel_password;
    }

    if (ngx_bluebutton_tls_merge(cf, &conf->tls, &prev->tls)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_msec_value(conf->redis.timeout, prev->redis.timeout, 300);

    if (conf->redis.timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"bluebutton_redis_timeout\" must be positive");
        return NGX_CONF_ERROR;
    }
    ngx_conf_merge_value(conf->redis.database, prev->redis.database, 0);
    ngx_conf_merge_str_value(conf->prefix, prev->prefix, "bb:");
    ngx_conf_merge_ptr_value(conf->cache, prev->cache, NULL);

    if (conf->redis.addr.data == NULL) {
        return NGX_CONF_OK;
    }

    if (conf->redis.sentinel_password.len && conf->redis.sentinel == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"bluebutton_redis_sentinel_auth\" is set but "
                           "Redis is \"%V\", not found through "
                           "\"bluebutton_redis_sentinel\"",
                           &conf->redis.addr);
        return NGX_CONF_ERROR;
    }

    if (conf->redis.cluster && conf->redis.database != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"bluebutton_redis_database\" is %i but a Redis "
                           "Cluster has database 0 only",
                           conf->redis.database);
        return NGX_CONF_ERROR;
    }

    conf->redis.tls = NULL;

    if (conf->tls.enable) {
        if (conf->redis.sentinel == NULL && conf->redis.cluster == NULL
            && conf->redis.sockaddr->sa_family == AF_UNIX)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"bluebutton_redis_ssl\" is on but "
                               "\"bluebutton_redis\" is the unix socket "
                               "\"%V\": Redis speaks TLS over TCP only",
                               &conf->redis.addr);
            return NGX_CONF_ERROR;
        }

        conf->redis.tls = &conf->tls;
    }

    if (own) {
        conf->store = ngx_bluebutton_add_store(cf, &conf->redis);

    } else {
        /* servers that say nothing of Redis share the http-level one */

        if (prev->store == NULL) {
            prev->store = ngx_bluebutton_add_store(cf, &conf->redis);
        }

        conf->store = prev->store;
    }

    if (conf->store == NULL) {
        return NGX_CONF_ERROR;
    }

    return ngx_bluebutton_cache_bind(cf, conf);
}


static ngx_bluebutton_store_t *
ngx_bluebutton_add_store(ngx_conf_t *cf, ngx_bluebutton_redis_conf_t *rcf)
{
    ngx_bluebutton_store_t       *store, **sp;
    ngx_bluebutton_main_conf_t   *bmcf;

    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_bluebutton_module);

    store = ngx_bluebutton_store_create(cf, rcf);
    if (store == NULL) {
        return NULL;
    }

    sp = ngx_array_push(&bmcf->stores);
    if (sp == NULL) {
        return NULL;
    }

    *sp = store;

    return store;
}


static void *
ngx_bluebutton_create_loc_conf(ngx_conf_t *cf)
{
    ngx_bluebutton_loc_conf_t  *blcf;

    blcf = ngx_pcalloc(cf->pool, sizeof(ngx_bluebutton_loc_conf_t));
    if (blcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     blcf->realm = { 0, NULL };
     *     blcf->scope_text = { 0, NULL };
     *     blcf->patient_header = { 0, NULL };
     *     blcf->client_header = { 0, NULL };
     *     blcf->app_header = { 0, NULL };
     */

    blcf->enable = NGX_CONF_UNSET;
    blcf->scopes = NGX_CONF_UNSET_PTR;
    blcf->pass_authorization = NGX_CONF_UNSET;
    blcf->max_token_size = NGX_CONF_UNSET_SIZE;
    blcf->retry_after = NGX_CONF_UNSET;
    blcf->log_level = NGX_CONF_UNSET_UINT;
    blcf->fhir = NGX_CONF_UNSET;
    blcf->fhir_types = NGX_CONF_UNSET_PTR;
    blcf->original_url = NGX_CONF_UNSET_PTR;
    blcf->jwt_keys = NGX_CONF_UNSET_PTR;
    blcf->jwks = NGX_CONF_UNSET_PTR;
    blcf->jwt_issuers = NGX_CONF_UNSET_PTR;
    blcf->introspection = NGX_CONF_UNSET_PTR;
    blcf->jwt_algorithms = NGX_CONF_UNSET_UINT;
    blcf->jwt_leeway = NGX_CONF_UNSET;
    blcf->stale_if_error = NGX_CONF_UNSET_MSEC;
    blcf->answers = NGX_CONF_UNSET;
    blcf->answer_max_size = NGX_CONF_UNSET_SIZE;
    blcf->references = NGX_CONF_UNSET_PTR;
    blcf->no_store = NGX_CONF_UNSET;
    blcf->address_fields = NGX_CONF_UNSET;

    return blcf;
}


static char *
ngx_bluebutton_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_bluebutton_loc_conf_t  *prev = parent;
    ngx_bluebutton_loc_conf_t  *conf = child;

    char                       **tp, **type;
    ngx_bluebutton_srv_conf_t   *bscf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->realm, prev->realm, "bluebutton");

    if (conf->scopes == NGX_CONF_UNSET_PTR) {
        conf->scopes = prev->scopes;
        conf->scope_text = prev->scope_text;
    }

    if (conf->scopes == NGX_CONF_UNSET_PTR) {
        conf->scopes = NULL;
    }

    ngx_conf_merge_value(conf->pass_authorization, prev->pass_authorization,
                         0);
    ngx_conf_merge_str_value(conf->patient_header, prev->patient_header,
                             "BlueButton-BeneficiaryId");
    ngx_conf_merge_str_value(conf->client_header, prev->client_header,
                             "BlueButton-ApplicationId");
    ngx_conf_merge_str_value(conf->app_header, prev->app_header,
                             "BlueButton-Application");
    ngx_conf_merge_size_value(conf->max_token_size, prev->max_token_size,
                              8192);
    ngx_conf_merge_sec_value(conf->retry_after, prev->retry_after, 5);
    ngx_conf_merge_uint_value(conf->log_level, prev->log_level, NGX_LOG_INFO);
    ngx_conf_merge_ptr_value(conf->jwt_keys, prev->jwt_keys, NULL);
    ngx_conf_merge_ptr_value(conf->jwks, prev->jwks, NULL);
    ngx_conf_merge_ptr_value(conf->introspection, prev->introspection, NULL);

    if (conf->jwt_keys && conf->jwks) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"bluebutton_jwt_keys\" and "
                           "\"bluebutton_jwt_keys_url\" are both in force "
                           "here: keys come from a file or from the "
                           "authorization server, not both");
        return NGX_CONF_ERROR;
    }
    ngx_conf_merge_uint_value(conf->jwt_algorithms, prev->jwt_algorithms,
                              BB_ALG_DEFAULT);
    ngx_conf_merge_sec_value(conf->jwt_leeway, prev->jwt_leeway, 30);
    ngx_conf_merge_str_value(conf->jwt_audience, prev->jwt_audience, "");
    ngx_conf_merge_value(conf->fhir, prev->fhir, 0);
    ngx_conf_merge_ptr_value(conf->fhir_types, prev->fhir_types, NULL);
    ngx_conf_merge_ptr_value(conf->original_url, prev->original_url, NULL);
    ngx_conf_merge_msec_value(conf->stale_if_error, prev->stale_if_error, 0);

    if (ngx_bluebutton_issuer_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->fhir_types == NULL) {
        conf->fhir_types = ngx_array_create(cf->pool, 3, sizeof(char *));
        if (conf->fhir_types == NULL) {
            return NGX_CONF_ERROR;
        }

        for (type = ngx_bluebutton_fhir_default_types; *type; type++) {
            tp = ngx_array_push(conf->fhir_types);
            if (tp == NULL) {
                return NGX_CONF_ERROR;
            }

            *tp = *type;
        }

        /* the default is shared upwards, built once */
        prev->fhir_types = conf->fhir_types;
    }

    if (conf->max_token_size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"bluebutton_max_token_size\" must be positive");
        return NGX_CONF_ERROR;
    }

    if (ngx_bluebutton_answer_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->enable) {
        bscf = ngx_http_conf_get_module_srv_conf(cf, ngx_bluebutton_module);

        if (bscf->store == NULL && conf->introspection == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"bluebutton\" is on but no "
                               "\"bluebutton_redis\", "
                               "\"bluebutton_redis_sentinel\", "
                               "\"bluebutton_redis_cluster\" or "
                               "\"bluebutton_introspection\" is "
                               "configured for this server");
            return NGX_CONF_ERROR;
        }

        if (bscf->store == NULL && conf->issuers) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"bluebutton\" is on with JWT keys but no "
                               "Redis, which holds the grants and "
                               "revocations JWTs are checked against; "
                               "only \"bluebutton_introspection\" works "
                               "without Redis");
            return NGX_CONF_ERROR;
        }

        if (bscf->store == NULL && bscf->cache && conf->introspection
            && conf->introspection->ttl
            && ngx_bluebutton_cache_bind_storeless(cf, bscf->cache)
               != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        if (conf->stale_if_error && bscf->cache == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"bluebutton_stale_if_error\" serves what "
                               "\"bluebutton_cache\" remembers, and this "
                               "server has no \"bluebutton_cache\"");
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* once per configuration loaded: which module it was, for the operator */
static ngx_int_t
ngx_bluebutton_init_module(ngx_cycle_t *cycle)
{
    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "ngx_bluebutton/" NGX_BLUEBUTTON_VERSION);

    return NGX_OK;
}


static ngx_int_t
ngx_bluebutton_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_bluebutton_store_t      **stores;
    ngx_bluebutton_main_conf_t   *bmcf;

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_bluebutton_module);

    if (bmcf == NULL) {
        return NGX_OK;
    }

    stores = bmcf->stores.elts;

    for (i = 0; i < bmcf->stores.nelts; i++) {
        if (ngx_bluebutton_store_init_process(stores[i], cycle) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_bluebutton_token_init(cycle->log);
}


static void
ngx_bluebutton_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_bluebutton_store_t      **stores;
    ngx_bluebutton_main_conf_t   *bmcf;

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_bluebutton_module);

    if (bmcf == NULL) {
        return;
    }

    stores = bmcf->stores.elts;

    for (i = 0; i < bmcf->stores.nelts; i++) {
        ngx_bluebutton_store_exit_process(stores[i]);
    }

    ngx_bluebutton_token_exit();
    bb_jwt_exit();
}


/* bluebutton_redis, _sentinel and _cluster: the one already in the block */
static char *
ngx_bluebutton_redis_conflict(ngx_bluebutton_srv_conf_t *bscf)
{
    if (bscf->redis.sentinel) {
        return "cannot be used with \"bluebutton_redis_sentinel\" in the "
               "same block: give one Redis, its sentinels or a cluster's "
               "nodes";
    }

    if (bscf->redis.cluster) {
        return "cannot be used with \"bluebutton_redis_cluster\" in the "
               "same block: give one Redis, its sentinels or a cluster's "
               "nodes";
    }

    if (bscf->redis.addr.data) {
        return "cannot be used with \"bluebutton_redis\" in the same block: "
               "give one Redis, its sentinels or a cluster's nodes";
    }

    return NGX_CONF_OK;
}


static char *
ngx_bluebutton_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_bluebutton_srv_conf_t  *bscf = conf;

    char       *rv;
    ngx_str_t  *value;

    if (bscf->redis.addr.data && !bscf->redis.sentinel
        && !bscf->redis.cluster)
    {
        return "is duplicate";
    }

    rv = ngx_bluebutton_redis_conflict(bscf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    value = cf->args->elts;

    return ngx_bluebutton_redis_parse_addr(cf, &bscf->redis, &value[1]);
}


static char *
ngx_bluebutton_redis_sentinel(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_bluebutton_srv_conf_t  *bscf = conf;

    char  *rv;

    if (bscf->redis.sentinel) {
        return "is duplicate";
    }

    rv = ngx_bluebutton_redis_conflict(bscf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    return ngx_bluebutton_sentinel_conf(cf, &bscf->redis);
}


static char *
ngx_bluebutton_redis_cluster(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_bluebutton_srv_conf_t  *bscf = conf;

    char  *rv;

    if (bscf->redis.cluster) {
        return "is duplicate";
    }

    rv = ngx_bluebutton_redis_conflict(bscf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    return ngx_bluebutton_cluster_conf(cf, &bscf->redis);
}


/* bluebutton_redis_auth, and bluebutton_redis_sentinel_auth (offset 1) */
static char *
ngx_bluebutton_redis_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_bluebutton_srv_conf_t  *bscf = conf;

    if (cmd->offset) {
        return ngx_bluebutton_auth_args(cf, &bscf->redis.sentinel_user,
                                        &bscf->redis.sentinel_password);
    }

    return ngx_bluebutton_auth_args(cf, &bscf->redis.user,
                                    &bscf->redis.password);
}


static char *
ngx_bluebutton_auth_args(ngx_conf_t *cf, ngx_str_t *user, ngx_str_t *password)
{
    ngx_str_t  *value;

    if (password->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 3) {
        *user = value[1];
        *password = value[2];

    } else {
        *password = value[1];
    }

    if (password->len == 0 || (cf->args->nelts == 3 && user->len == 0)) {
        return "takes a non-empty user and password";
    }

    return NGX_CONF_OK;
}


static char *
ngx_bluebutton_scope(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_bluebutton_loc_conf_t  *blcf = conf;

    u_char      *p;
    size_t       len;
    ngx_str_t   *value;
    ngx_uint_t   i;
    bb_scope_t  *scope;

    if (blcf->scopes != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    blcf->scopes = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                    sizeof(bb_scope_t));
    if (blcf->scopes == NULL) {
        return NGX_CONF_ERROR;
    }

    len = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        scope = ngx_array_push(blcf->scopes);
        if (scope == NULL) {
            return NGX_CONF_ERROR;
        }

        /*
         * a SMART scope names a FHIR type as FHIR spells it: one in lower
         * case would be refused to every token at run time
         */

        if (bb_scope_parse((const char *) value[i].data, value[i].len, scope)
            != 0
            || (scope->context != BB_SCOPE_PLAIN
                && scope->type[0] != '*'
                && (scope->type[0] < 'A' || scope->type[0] > 'Z')))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid scope \"%V\" in \"%V\": a scope "
                               "is a word such as \"profile\", or "
                               "patient|user|system/Type.read|.rs|.* with "
                               "Type a FHIR resource type (\"Coverage\") "
                               "or \"*\"",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        len += value[i].len + 1;
    }

    /* the challenge lists what is required, space-separated */

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    blcf->scope_text.data = p;

    for (i = 1; i < cf->args->nelts; i++) {
        if (i > 1) {
            *p++ = ' ';
        }

        p = ngx_cpymem(p, value[i].data, value[i].len);
    }

    blcf->scope_text.len = p - blcf->scope_text.data;

    return NGX_CONF_OK;
}


static char *
ngx_bluebutton_fhir_types(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_bluebutton_loc_conf_t  *blcf = conf;

    char        **tp;
    ngx_str_t    *value;
    ngx_uint_t    i, k;

    if (blcf->fhir_types != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    blcf->fhir_types = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                        sizeof(char *));
    if (blcf->fhir_types == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        /* a FHIR resource type: a capital, then letters */

        if (value[i].len == 0 || value[i].len > BB_SCOPE_TYPE_MAX
            || value[i].data[0] < 'A' || value[i].data[0] > 'Z')
        {
            goto invalid;
        }

        for (k = 1; k < value[i].len; k++) {
            if (!((value[i].data[k] >= 'A' && value[i].data[k] <= 'Z')
                  || (value[i].data[k] >= 'a' && value[i].data[k] <= 'z')))
            {
                goto invalid;
            }
        }

        tp = ngx_array_push(blcf->fhir_types);
        if (tp == NULL) {
            return NGX_CONF_ERROR;
        }

        /* ngx_conf_read_token() leaves every argument NUL-terminated */
        *tp = (char *) value[i].data;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid resource type \"%V\" in \"%V\"",
                       &value[i], &cmd->name);
    return NGX_CONF_ERROR;
}


static char *
ngx_bluebutton_quoted_string(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    ngx_uint_t  i;

    /* it goes into a quoted-string of the challenge */

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '"' || s->data[i] == '\\' || s->data[i] < 0x20
            || s->data[i] == 0x7f)
        {
            return "must not contain quotes, backslashes or control "
                   "characters";
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_bluebutton_header_name(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    ngx_uint_t  i;

    if (s->len == 0) {
        return "must not be empty";
    }

    for (i = 0; i < s->len; i++) {
        if (!((s->data[i] >= 'A' && s->data[i] <= 'Z')
              || (s->data[i] >= 'a' && s->data[i] <= 'z')
              || (s->data[i] >= '0' && s->data[i] <= '9')
              || s->data[i] == '-'))
        {
            return "must be letters, digits and dashes";
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_bluebutton_prefix(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    ngx_uint_t  i;

    if (s->len > 64) {
        return "is longer than 64 characters";
    }

    for (i = 0; i < s->len; i++) {
        if (s->data[i] <= 0x20 || s->data[i] >= 0x7f) {
            return "must be visible ASCII";
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_bluebutton_database(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    if (*np < 0 || *np > 65535) {
        return "must be between 0 and 65535";
    }

    return NGX_CONF_OK;
}
