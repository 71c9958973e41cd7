
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Configuration and per-request state shared by the module's parts.
 */

#ifndef _NGX_BLUEBUTTON_H_INCLUDED_
#define _NGX_BLUEBUTTON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_bluebutton_decision.h"
#include "ngx_bluebutton_consent.h"
#include "ngx_bluebutton_scope.h"
#include "ngx_bluebutton_fhir.h"
#include "ngx_bluebutton_compartment.h"
#include "ngx_bluebutton_jwt.h"
#include "ngx_bluebutton_entry.h"
#include "ngx_bluebutton_store.h"


/* keys one read of a lookup names: record and grant, or grant and jti */
#define NGX_BLUEBUTTON_LOOKUP_KEYS  NGX_BLUEBUTTON_REDIS_SOURCES

/* hex digits of the token hash shown in logs and $bluebutton_token_hash */
#define NGX_BLUEBUTTON_HASH_SHOWN  16


typedef struct {
    ngx_array_t                   stores;    /* ngx_bluebutton_store_t * */
    ngx_array_t                   storeless; /* caches of no store */
    ngx_int_t                     request_id_index;
    ngx_array_t                  *jwks_uses; /* ngx_bluebutton_jwks_use_t */
} ngx_bluebutton_main_conf_t;


/* a JWKS URI, checked once every location is known */
typedef struct {
    ngx_str_t                     uri;
    ngx_str_t                     directive;
    ngx_http_core_srv_conf_t     *cscf;
    ngx_str_t                     file;
    ngx_uint_t                    line;
} ngx_bluebutton_jwks_use_t;


typedef struct ngx_bluebutton_cache_s  ngx_bluebutton_cache_t;
typedef struct ngx_bluebutton_jwks_s   ngx_bluebutton_jwks_t;
typedef struct ngx_bluebutton_issuer_s ngx_bluebutton_issuer_t;
typedef struct ngx_bluebutton_introspection_s
    ngx_bluebutton_introspection_t;
typedef struct ngx_bluebutton_answer_s ngx_bluebutton_answer_t;


typedef struct {
    ngx_bluebutton_redis_conf_t   redis;
    ngx_bluebutton_tls_conf_t     tls;
    ngx_str_t                     prefix;
    ngx_bluebutton_store_t       *store;
    ngx_bluebutton_cache_t       *cache;
} ngx_bluebutton_srv_conf_t;


typedef struct ngx_bluebutton_ctx_s  ngx_bluebutton_ctx_t;

/* a PTTL sent ahead of a read */
typedef struct {
    ngx_bluebutton_ctx_t         *ctx;
    ngx_bluebutton_store_cmd_t   *cmd;       /* until it is answered */
} ngx_bluebutton_ttl_t;


typedef struct {
    ngx_flag_t                    enable;
    ngx_str_t                     realm;
    ngx_array_t                  *scopes;    /* bb_scope_t */
    ngx_str_t                     scope_text;
    ngx_flag_t                    pass_authorization;
    ngx_str_t                     patient_header;
    ngx_str_t                     client_header;
    ngx_str_t                     app_header;
    size_t                        max_token_size;
    time_t                        retry_after;
    ngx_uint_t                    log_level;  /* of refusals but 503s */
    ngx_flag_t                    fhir;
    ngx_array_t                  *fhir_types;  /* char *, NUL-terminated */
    ngx_http_complex_value_t     *original_url;
    bb_keyset_t                  *jwt_keys;
    ngx_bluebutton_jwks_t        *jwks;      /* bluebutton_jwt_keys_url */
    ngx_bluebutton_introspection_t  *introspection;
    ngx_uint_t                    jwt_algorithms;
    time_t                        jwt_leeway;
    ngx_array_t                  *jwt_issuers; /* bluebutton_jwt_issuer */
    ngx_str_t                     jwt_audience;
    ngx_msec_t                    stale_if_error;
    ngx_bluebutton_issuer_t      *issuers;   /* trusted, with their keys */
    ngx_uint_t                    nissuers;  /* 0: JWTs are not verified */
    ngx_flag_t                    answers;   /* bluebutton_fhir_answers */
    size_t                        answer_max_size;
    ngx_array_t                  *references; /* bb_compartment_rule_t */
    ngx_flag_t                    no_store;
    ngx_flag_t                    address_fields;
} ngx_bluebutton_loc_conf_t;


struct ngx_bluebutton_ctx_s {
    ngx_http_request_t           *request;
    ngx_bluebutton_loc_conf_t    *conf;      /* the location checked for */
    ngx_uint_t                    uri_changes; /* and the request's state */
    ngx_list_t                    client_headers; /* as the client sent */
    ngx_table_elt_t              *authorization;
    bb_decision_t                 lookup;    /* what the token's lookup said */
    bb_decision_t                 decision;
    const char                   *why;       /* description for the client */
    ngx_str_t                     cause;     /* for the error log only */
    ngx_str_t                     required;  /* scope named in a 403 */
    ngx_str_t                     jwt_kid;   /* a refused JWT's, escaped */
    ngx_str_t                     jwt_iss;
    bb_fhir_route_t               route;     /* with bluebutton_fhir */
    u_char                        token_hash[64];
    bb_token_t                   *token;     /* known once looked up */
    bb_entry_t                   *entry;     /* what Redis said of it */
    bb_entry_t                   *stale;     /* for bluebutton_stale_if_error */
    ngx_msec_t                    stale_age;
    time_t                        jwt_leeway; /* the JWT's issuer's, or 0 */
    ngx_uint_t                    cache_status;
    uint32_t                      cache_policy;
    ngx_atomic_uint_t             fill_seq;
    ngx_bluebutton_redis_sources_t  sources; /* where each key was read */
    ngx_queue_t                   flight;    /* waiting for another lookup */
    ngx_queue_t                   waiters;   /* of this one's */
    ngx_str_t                     token_key; /* of an opaque token */
    ngx_str_t                     grant_key; /* read with a known token */
    ngx_bluebutton_store_t       *store;     /* asked, for cmd and ttls */
    ngx_bluebutton_store_cmd_t   *cmd;       /* in flight, or NULL */
    ngx_bluebutton_ttl_t          ttls[NGX_BLUEBUTTON_LOOKUP_KEYS];
    ngx_uint_t                    nttl;      /* PTTLs ahead of the read */
    ngx_uint_t                    ttl_due;   /* not answered yet */
    ngx_msec_t                    ttl_sent;
    ngx_msec_t                    expires;   /* of the first key to expire */
    uint64_t                      asked;     /* when Redis was asked, us */
    ngx_event_t                   resume;
    ngx_bluebutton_answer_t      *answer;    /* the backend's, held */
    ngx_event_t                   jwks_poll; /* for keys being fetched */
    ngx_uint_t                    jwks_polls;
    unsigned                      waiting:1;
    unsigned                      hashed:1;
    unsigned                      missing:1;  /* no bearer credentials */
    unsigned                      eval_sent:1;
    unsigned                      headers_set:1;
    unsigned                      routed:1;
    unsigned                      jwt:1;
    unsigned                      fill_set:1;
    unsigned                      leading:1;
    unsigned                      joined:1;
    unsigned                      flown:1;
    unsigned                      jwks_fetched:1;
    unsigned                      looked_up:1;
    unsigned                      reused:1;  /* an earlier check's lookup */
    unsigned                      expires_set:1;
    unsigned                      jwt_peeked:1;
    unsigned                      jwt_shaped:1; /* the token looks like one */
    unsigned                      ttl_unknown:1;
    unsigned                      introspected:1;
    unsigned                      answer_checked:1; /* to be checked */
    unsigned                      head:1;    /* HEAD, asked of it as GET */
    unsigned                      profiled:1; /* the backend's request made */
};


extern ngx_module_t  ngx_bluebutton_module;


#endif /* _NGX_BLUEBUTTON_H_INCLUDED_ */
