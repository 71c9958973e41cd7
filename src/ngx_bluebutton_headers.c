
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The request's own header list is rewritten, so that proxy, fastcgi,
 * uwsgi, scgi and grpc all pass on the same, verified identity.  Every
 * client header named "BlueButton-..." is dropped, whatever the configured
 * names, as are the configured names themselves, in any case and with
 * "_" for "-".  With bluebutton_fhir, so are the headers that widen what
 * the claims backend returns (IncludeAddressFields, IncludeIdentifiers,
 * IncludeTaxNumbers: the gateway sends its own includeAddressFields),
 * and, where answers are checked, those that would make the backend
 * answer with less than a whole, plain answer: Accept-Encoding, Range and
 * the conditionals.
 */

#include "ngx_bluebutton_headers.h"


static ngx_uint_t ngx_bluebutton_header_managed(ngx_table_elt_t *h,
    ngx_bluebutton_loc_conf_t *blcf);
static ngx_uint_t ngx_bluebutton_header_listed(ngx_table_elt_t *h,
    ngx_str_t *names);
static ngx_uint_t ngx_bluebutton_header_is(ngx_str_t *key, ngx_str_t *name);
static ngx_uint_t ngx_bluebutton_header_folds(u_char *a, u_char *b,
    size_t len);
static ngx_int_t ngx_bluebutton_header_add(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_int_t ngx_bluebutton_headers_original(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf);
static ngx_int_t ngx_bluebutton_headers_client_url(ngx_http_request_t *r,
    ngx_str_t *url);


ngx_int_t
ngx_bluebutton_headers_strip(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf)
{
    ngx_uint_t        i, n;
    ngx_list_t        old;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *copy;

    /* the old parts stay where they are; only the list head is new */

    old = r->headers_in.headers;

    /* room for what is kept and the identity headers, not nginx's 20 */

    n = 4;

    for (part = &old.part; part; part = part->next) {
        n += part->nelts;
    }

    if (ngx_list_init(&r->headers_in.headers, r->pool, n,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part = &old.part;
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

        if (ngx_bluebutton_header_managed(&h[i], blcf)) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "bluebutton: removed client header \"%V: %V\"",
                           &h[i].key, &h[i].value);
            continue;
        }

        if (!blcf->pass_authorization
            && h[i].key.len == sizeof("Authorization") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Authorization",
                               sizeof("Authorization") - 1) == 0)
        {
            continue;
        }

        copy = ngx_list_push(&r->headers_in.headers);
        if (copy == NULL) {
            return NGX_ERROR;
        }

        *copy = h[i];
    }

    if (!blcf->pass_authorization) {
        r->headers_in.authorization = NULL;
    }

    if (blcf->fhir && blcf->answers) {
        r->headers_in.if_modified_since = NULL;
        r->headers_in.if_unmodified_since = NULL;
        r->headers_in.if_match = NULL;
        r->headers_in.if_none_match = NULL;
        r->headers_in.range = NULL;
        r->headers_in.if_range = NULL;

        /* Accept-Encoding stays known to gzip, towards the client */
    }

    return NGX_OK;
}


ngx_int_t
ngx_bluebutton_headers_set(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx)
{
    ngx_str_t  value;

    static ngx_str_t  address_fields = ngx_string("includeAddressFields");
    static ngx_str_t  access_type =
                          ngx_string("BlueButton-ApplicationDataAccessType");

    if (ctx->headers_set) {
        return NGX_OK;
    }

    if (ngx_bluebutton_headers_strip(r, blcf) != NGX_OK) {
        return NGX_ERROR;
    }

    value.len = sizeof("patientId:") - 1 + ngx_strlen(ctx->token->patient);
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(value.data, "patientId:%s", ctx->token->patient);

    if (ngx_bluebutton_header_add(r, &blcf->patient_header, &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    value.data = (u_char *) ctx->token->client_id;
    value.len = ngx_strlen(value.data);

    if (ngx_bluebutton_header_add(r, &blcf->client_header, &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    value.data = (u_char *) ctx->token->app;
    value.len = ngx_strlen(value.data);

    if (value.len
        && ngx_bluebutton_header_add(r, &blcf->app_header, &value) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (blcf->fhir && ngx_bluebutton_headers_original(r, blcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (blcf->fhir && ctx->entry && ctx->entry->granted
        && bb_access_name(ctx->entry->grant.access))
    {
        /* the grant's, as the Blue Button server tells its backend */

        value.data = (u_char *) bb_access_name(ctx->entry->grant.access);
        value.len = ngx_strlen(value.data);

        if (ngx_bluebutton_header_add(r, &access_type, &value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (blcf->fhir) {
        /* as the Blue Button server: addresses only where configured */

        if (blcf->address_fields) {
            ngx_str_set(&value, "True");

        } else {
            ngx_str_set(&value, "False");
        }

        if (ngx_bluebutton_header_add(r, &address_fields, &value) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ctx->headers_set = 1;

    return NGX_OK;
}


/*
 * What the client asked for, before any forced search parameter, and the
 * request id, as the Blue Button API tells its backend.
 */
static ngx_int_t
ngx_bluebutton_headers_original(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf)
{
    u_char                      *q;
    ngx_str_t                    value, query;
    ngx_http_variable_value_t   *id;
    ngx_bluebutton_main_conf_t  *bmcf;

    static ngx_str_t  url = ngx_string("BlueButton-OriginalUrl");
    static ngx_str_t  query_name = ngx_string("BlueButton-OriginalQuery");
    static ngx_str_t  id_name = ngx_string("BlueButton-OriginalQueryId");

    if (blcf->original_url) {
        if (ngx_http_complex_value(r, blcf->original_url, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        for (q = value.data; q < value.data + value.len; q++) {
            if (*q < 0x20 || *q == 0x7f) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "bluebutton: \"bluebutton_original_url\" "
                              "gave a value with a control character");
                return NGX_ERROR;
            }
        }

    } else if (ngx_bluebutton_headers_client_url(r, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_bluebutton_header_add(r, &url, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    q = ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '?');

    query.data = q ? q + 1 : r->unparsed_uri.data;
    query.len = q ? (size_t) (r->unparsed_uri.data + r->unparsed_uri.len
                              - q - 1)
                  : 0;

    if (ngx_bluebutton_header_add(r, &query_name, &query) != NGX_OK) {
        return NGX_ERROR;
    }

    bmcf = ngx_http_get_module_main_conf(r, ngx_bluebutton_module);

    id = ngx_http_get_indexed_variable(r, bmcf->request_id_index);
    if (id == NULL || id->not_found) {
        return NGX_OK;
    }

    value.data = id->data;
    value.len = id->len;

    return ngx_bluebutton_header_add(r, &id_name, &value);
}


/*
 * The URL as this connection's client asked for it: the scheme of the
 * connection, the authority as sent (a port included), the raw URI.
 */
static ngx_int_t
ngx_bluebutton_headers_client_url(ngx_http_request_t *r, ngx_str_t *url)
{
    u_char     *p;
    ngx_str_t   authority;

    if (r->host_start && r->host_end) {
        /* absolute-form request target: its authority wins over Host */
        authority.data = r->host_start;

        for (p = r->host_end;
             p < r->request_end && (*p == ':' || (*p >= '0' && *p <= '9'));
             p++)
        {
            /* the port, if the target had one */
        }

        authority.len = p - r->host_start;

    } else if (r->headers_in.host) {
        /* nginx has validated it: no slash, space or control character */
        authority = r->headers_in.host->value;

    } else {
        authority = r->headers_in.server;
    }

    url->len = sizeof("https://") - 1 + authority.len + r->unparsed_uri.len;
    url->data = ngx_pnalloc(r->pool, url->len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    url->len = ngx_sprintf(url->data, "%s://%V%V",
#if (NGX_HTTP_SSL)
                           r->connection->ssl ? "https" : "http",
#else
                           "http",
#endif
                           &authority, &r->unparsed_uri)
               - url->data;

    return NGX_OK;
}


/*
 * With underscores_in_headers on (or ignore_invalid_headers off) a
 * backend may read "BlueButton_BeneficiaryId" as the header of that name
 * with dashes: names are compared as such a backend would, ignoring case
 * and taking "_" for "-".
 */
static ngx_uint_t
ngx_bluebutton_header_managed(ngx_table_elt_t *h,
    ngx_bluebutton_loc_conf_t *blcf)
{
    static u_char  prefix[] = "BlueButton-";

    static ngx_str_t  steering[] = {
        ngx_string("IncludeAddressFields"),
        ngx_string("IncludeIdentifiers"),
        ngx_string("IncludeTaxNumbers"),
        ngx_null_string
    };

    static ngx_str_t  partial[] = {
        ngx_string("Accept-Encoding"),
        ngx_string("Range"),
        ngx_string("If-Range"),
        ngx_string("If-Match"),
        ngx_string("If-None-Match"),
        ngx_string("If-Modified-Since"),
        ngx_string("If-Unmodified-Since"),
        ngx_null_string
    };

    return (h->key.len >= sizeof(prefix) - 1
            && ngx_bluebutton_header_folds(h->key.data, prefix,
                                           sizeof(prefix) - 1))
           || ngx_bluebutton_header_is(&h->key, &blcf->patient_header)
           || ngx_bluebutton_header_is(&h->key, &blcf->client_header)
           || ngx_bluebutton_header_is(&h->key, &blcf->app_header)
           || (blcf->fhir && ngx_bluebutton_header_listed(h, steering))
           || (blcf->fhir && blcf->answers
               && ngx_bluebutton_header_listed(h, partial));
}


static ngx_uint_t
ngx_bluebutton_header_listed(ngx_table_elt_t *h, ngx_str_t *names)
{
    for ( /* void */ ; names->len; names++) {
        if (ngx_bluebutton_header_is(&h->key, names)) {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_bluebutton_header_is(ngx_str_t *key, ngx_str_t *name)
{
    return key->len == name->len
           && ngx_bluebutton_header_folds(key->data, name->data, key->len);
}


static ngx_uint_t
ngx_bluebutton_header_folds(u_char *a, u_char *b, size_t len)
{
    u_char  ca, cb;
    size_t  i;

    for (i = 0; i < len; i++) {
        ca = (a[i] == '_') ? '-' : ngx_tolower(a[i]);
        cb = (b[i] == '_') ? '-' : ngx_tolower(b[i]);

        if (ca != cb) {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_bluebutton_header_add(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key = *name;
    h->value = *value;

    h->lowcase_key = ngx_pnalloc(r->pool, name->len);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, name->data, name->len);
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}
