
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Without bluebutton_jwt_issuer, a location trusts its own keys
 * (bluebutton_jwt_keys or bluebutton_jwt_keys_url) for any iss.  Each
 * bluebutton_jwt_issuer line names an iss the location trusts, with keys,
 * audience and algorithms of its own or else the location's.  One line
 * pins the location's keys to that iss; with several, the token's iss
 * picks the line before any signature is checked, so a token that claims
 * one issuer is verified with that issuer's keys only, and an iss no line
 * names is refused.
 */

#include "ngx_bluebutton_issuer.h"
#include "ngx_bluebutton_jwks.h"
#include "ngx_bluebutton_metrics.h"


static bb_keyset_t *ngx_bluebutton_issuer_read_keys(ngx_conf_t *cf,
    ngx_str_t *what, ngx_str_t *name);
static void ngx_bluebutton_issuer_keys_cleanup(void *data);
static ngx_int_t ngx_bluebutton_issuer_algorithm(ngx_conf_t *cf,
    ngx_str_t *what, u_char *name, size_t len, ngx_uint_t *bits);
static uint32_t ngx_bluebutton_issuer_policy(ngx_bluebutton_issuer_t *is);
static ngx_uint_t ngx_bluebutton_issuer_eq(ngx_str_t *a, ngx_str_t *b);


char *
ngx_bluebutton_issuer_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_bluebutton_loc_conf_t  *blcf = conf;

    u_char                   *p, *last, *comma;
    ngx_str_t                *value, file, uri, jwks_params[2], s;
    ngx_uint_t                i, njwks_params;
    ngx_bluebutton_issuer_t  *is;

    value = cf->args->elts;

    if (blcf->jwt_issuers == NGX_CONF_UNSET_PTR) {
        blcf->jwt_issuers = ngx_array_create(cf->pool, 2,
                                             sizeof(ngx_bluebutton_issuer_t));
        if (blcf->jwt_issuers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 0 || value[1].len > NGX_BLUEBUTTON_ISSUER_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the issuer in \"%V\" must be 1 to %d "
                           "characters", &cmd->name,
                           NGX_BLUEBUTTON_ISSUER_MAX);
        return NGX_CONF_ERROR;
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the issuer in \"%V\" must not contain "
                               "quotes, backslashes or control characters",
                               &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    is = blcf->jwt_issuers->elts;

    for (i = 0; i < blcf->jwt_issuers->nelts; i++) {
        if (is[i].iss.len == value[1].len
            && ngx_strncmp(is[i].iss.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the issuer \"%V\" is listed twice",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (blcf->jwt_issuers->nelts == NGX_BLUEBUTTON_ISSUERS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "more than %d \"%V\" lines in one block",
                           NGX_BLUEBUTTON_ISSUERS, &cmd->name);
        return NGX_CONF_ERROR;
    }

    is = ngx_array_push(blcf->jwt_issuers);
    if (is == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(is, sizeof(ngx_bluebutton_issuer_t));

    is->iss = value[1];

    ngx_str_null(&file);
    ngx_str_null(&uri);
    njwks_params = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "keys=", 5) == 0
            && file.data == NULL)
        {
            file.data = value[i].data + 5;
            file.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "keys_url=", 9) == 0
            && uri.data == NULL)
        {
            uri.data = value[i].data + 9;
            uri.len = value[i].len - 9;
            continue;
        }

        if ((ngx_strncmp(value[i].data, "refresh=", 8) == 0
             || ngx_strncmp(value[i].data, "min_refresh=", 12) == 0)
            && njwks_params < 2)
        {
            jwks_params[njwks_params++] = value[i];
            continue;
        }

        if (ngx_strncmp(value[i].data, "audience=", 9) == 0
            && !is->own_audience)
        {
            is->audience.data = value[i].data + 9;
            is->audience.len = value[i].len - 9;
            is->own_audience = 1;

            if (is->audience.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"audience=\" needs a value");
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "algorithms=", 11) == 0
            && !is->own_algorithms)
        {
            p = value[i].data + 11;
            last = value[i].data + value[i].len;

            for ( ;; ) {
                comma = ngx_strlchr(p, last, ',');
                if (comma == NULL) {
                    comma = last;
                }

                if (ngx_bluebutton_issuer_algorithm(cf, &cmd->name, p,
                                                    comma - p,
                                                    &is->algorithms)
                    != NGX_OK)
                {
                    return NGX_CONF_ERROR;
                }

                if (comma == last) {
                    break;
                }

                p = comma + 1;
            }

            is->own_algorithms = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "leeway=", 7) == 0 && !is->own_leeway) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            is->leeway = ngx_parse_time(&s, 1);

            if (is->leeway == (time_t) NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"leeway=\" time \"%V\"", &s);
                return NGX_CONF_ERROR;
            }

            is->own_leeway = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid or repeated parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (file.data && uri.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the issuer \"%V\" has \"keys=\" and "
                           "\"keys_url=\": its keys come from a file or "
                           "from its server, not both", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (njwks_params && uri.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"refresh=\" and \"min_refresh=\" go with "
                           "\"keys_url=\"");
        return NGX_CONF_ERROR;
    }

    if (file.data) {
        is->keys = ngx_bluebutton_issuer_read_keys(cf, &cmd->name, &file);
        if (is->keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (uri.data) {
        is->jwks = ngx_bluebutton_jwks_add(cf, &uri, jwks_params,
                                           njwks_params);
        if (is->jwks == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (is->keys && is->own_algorithms
        && !(is->algorithms & bb_jwt_keyset_algorithms(is->keys)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"algorithms=\" allows none of the algorithms "
                           "the keys of the issuer \"%V\" can verify: every "
                           "JWT it issues would be refused", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_bluebutton_issuer_keys_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_bluebutton_loc_conf_t  *blcf = conf;

    ngx_str_t  *value;

    if (blcf->jwt_keys != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    blcf->jwt_keys = ngx_bluebutton_issuer_read_keys(cf, &cmd->name,
                                                     &value[1]);
    if (blcf->jwt_keys == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_bluebutton_issuer_algorithms_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_bluebutton_loc_conf_t  *blcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (blcf->jwt_algorithms != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    blcf->jwt_algorithms = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_bluebutton_issuer_algorithm(cf, &cmd->name, value[i].data,
                                            value[i].len,
                                            &blcf->jwt_algorithms)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_bluebutton_issuer_algorithm(ngx_conf_t *cf, ngx_str_t *what,
    u_char *name, size_t len, ngx_uint_t *bits)
{
    unsigned  bit;

    bit = bb_jwt_algorithm((const char *) name, len);

    if (bit == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unsupported algorithm \"%*s\" in \"%V\"",
                           len, name, what);
        return NGX_ERROR;
    }

    *bits |= bit;

    return NGX_OK;
}


/* read once, here: workers never touch the file */
static bb_keyset_t *
ngx_bluebutton_issuer_read_keys(ngx_conf_t *cf, ngx_str_t *what,
    ngx_str_t *name)
{
    char                 err[256];
    u_char              *text;
    ssize_t              n;
    ngx_str_t            full;
    ngx_file_t           file;
    bb_keyset_t         *set;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    full = *name;

    if (full.len == 0 || ngx_conf_full_name(cf->cycle, &full, 1) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a key file", what);
        return NULL;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = full;
    file.log = cf->log;

    file.fd = ngx_open_file(full.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\" key file \"%V\" could not be opened",
                           what, &full);
        return NULL;
    }

    text = NULL;
    n = NGX_ERROR;

    if (ngx_fd_info(file.fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) <= 1024 * 1024)
    {
        text = ngx_pnalloc(cf->temp_pool, ngx_file_size(&fi) + 1);
        if (text) {
            n = ngx_read_file(&file, text, ngx_file_size(&fi), 0);
        }
    }

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &full);
    }

    if (n == NGX_ERROR || n != ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" key file \"%V\" could not be read, or is "
                           "larger than 1 MiB", what, &full);
        return NULL;
    }

    set = ngx_pcalloc(cf->pool, sizeof(bb_keyset_t));
    cln = ngx_pool_cleanup_add(cf->pool, 0);

    if (set == NULL || cln == NULL) {
        return NULL;
    }

    if (bb_keyset_parse((const char *) text, (size_t) n, set, err,
                        sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" key file \"%V\" %s", what, &full, err);
        return NULL;
    }

    /* freed with the configuration, so that a reload releases old keys */
    cln->handler = ngx_bluebutton_issuer_keys_cleanup;
    cln->data = set;

    ngx_bluebutton_metrics_keys_loaded(set->n);

    return set;
}


static void
ngx_bluebutton_issuer_keys_cleanup(void *data)
{
    bb_keyset_free(data);
}


char *
ngx_bluebutton_issuer_merge(ngx_conf_t *cf, ngx_bluebutton_loc_conf_t *prev,
    ngx_bluebutton_loc_conf_t *conf)
{
    ngx_uint_t                i, n, keyed;
    ngx_bluebutton_issuer_t  *is, *lines;

    ngx_conf_merge_ptr_value(conf->jwt_issuers, prev->jwt_issuers, NULL);

    if (conf->jwt_keys
        && !(conf->jwt_algorithms & bb_jwt_keyset_algorithms(conf->jwt_keys)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"bluebutton_jwt_algorithms\" allows none of the "
                           "algorithms the keys of \"bluebutton_jwt_keys\" "
                           "can verify: every JWT would be refused");
        return NGX_CONF_ERROR;
    }

    /* without bluebutton_jwt_issuer: the location's keys, any iss */

    n = conf->jwt_issuers ? conf->jwt_issuers->nelts : 1;
    lines = conf->jwt_issuers ? conf->jwt_issuers->elts : NULL;

    is = ngx_pcalloc(cf->pool, n * sizeof(ngx_bluebutton_issuer_t));
    if (is == NULL) {
        return NGX_CONF_ERROR;
    }

    keyed = 0;

    for (i = 0; i < n; i++) {
        if (lines) {
            is[i] = lines[i];
        }

        if (is[i].keys == NULL && is[i].jwks == NULL) {
            is[i].keys = conf->jwt_keys;
            is[i].jwks = conf->jwks;
        }

        if (!is[i].own_algorithms) {
            is[i].algorithms = conf->jwt_algorithms;
        }

        if (!is[i].own_audience) {
            is[i].audience = conf->jwt_audience;
        }

        if (!is[i].own_leeway) {
            is[i].leeway = conf->jwt_leeway;
        }

        if (is[i].keys == NULL && is[i].jwks == NULL) {
            continue;
        }

        keyed++;

        if (lines && is[i].keys && !is[i].own_algorithms
            && !(is[i].algorithms & bb_jwt_keyset_algorithms(is[i].keys)))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"bluebutton_jwt_algorithms\" allows none "
                               "of the algorithms the keys of the issuer "
                               "\"%V\" can verify: every JWT it issues "
                               "would be refused", &is[i].iss);
            return NGX_CONF_ERROR;
        }

        is[i].policy = ngx_bluebutton_issuer_policy(&is[i]);
    }

    conf->issuers = NULL;
    conf->nissuers = 0;

    if (keyed == 0) {
        /* JWTs are not verified here: they are looked up as opaque */
        return NGX_CONF_OK;
    }

    if (keyed < n) {
        if (!conf->enable) {
            return NGX_CONF_OK;
        }

        for (i = 0; is[i].keys || is[i].jwks; i++) { /* void */ }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the issuer \"%V\" has no keys here: give it "
                           "\"keys=\" or \"keys_url=\", or give the "
                           "location \"bluebutton_jwt_keys\" or "
                           "\"bluebutton_jwt_keys_url\"", &is[i].iss);
        return NGX_CONF_ERROR;
    }

    conf->issuers = is;
    conf->nissuers = n;

    return NGX_CONF_OK;
}


/* a cached JWT is served only where it was verified under the same rules */
static uint32_t
ngx_bluebutton_issuer_policy(ngx_bluebutton_issuer_t *is)
{
    uint32_t   crc;
    uintptr_t  keys;

    keys = is->jwks ? (uintptr_t) is->jwks : (uintptr_t) is->keys;

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, (u_char *) &keys, sizeof(keys));
    ngx_crc32_update(&crc, (u_char *) &is->algorithms,
                     sizeof(is->algorithms));
    ngx_crc32_update(&crc, (u_char *) &is->leeway, sizeof(is->leeway));
    ngx_crc32_update(&crc, is->iss.data, is->iss.len);
    ngx_crc32_update(&crc, (u_char *) "\0", 1);
    ngx_crc32_update(&crc, is->audience.data, is->audience.len);
    ngx_crc32_final(crc);

    /* 0 is the opaque tokens' */
    return crc ? crc : 1;
}


ngx_bluebutton_issuer_t *
ngx_bluebutton_issuer_pick(ngx_bluebutton_loc_conf_t *blcf, ngx_str_t *token)
{
    char                      iss[NGX_BLUEBUTTON_ISSUER_MAX + 1];
    size_t                    len;
    ngx_uint_t                i;
    ngx_bluebutton_issuer_t  *is;

    is = blcf->issuers;

    if (blcf->nissuers == 1) {
        /* its iss, if it names one, is checked with the signature */
        return is;
    }

    if (bb_jwt_peek((const char *) token->data, token->len, NULL, 0, iss,
                    sizeof(iss))
        != 0)
    {
        return NULL;
    }

    len = ngx_strlen(iss);

    for (i = 0; i < blcf->nissuers; i++) {
        if (is[i].iss.len == len
            && ngx_memcmp(is[i].iss.data, iss, len) == 0)
        {
            return &is[i];
        }
    }

    return NULL;
}


ngx_uint_t
ngx_bluebutton_issuer_same(ngx_bluebutton_loc_conf_t *a,
    ngx_bluebutton_loc_conf_t *b)
{
    ngx_uint_t                i;
    ngx_bluebutton_issuer_t  *x, *y;

    if (a->nissuers != b->nissuers) {
        return 0;
    }

    x = a->issuers;
    y = b->issuers;

    for (i = 0; i < a->nissuers; i++) {
        if (x[i].keys != y[i].keys
            || x[i].jwks != y[i].jwks
            || x[i].algorithms != y[i].algorithms
            || x[i].leeway != y[i].leeway
            || !ngx_bluebutton_issuer_eq(&x[i].iss, &y[i].iss)
            || !ngx_bluebutton_issuer_eq(&x[i].audience, &y[i].audience))
        {
            return 0;
        }
    }

    return 1;
}


static ngx_uint_t
ngx_bluebutton_issuer_eq(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == b->len
           && (a->len == 0 || ngx_memcmp(a->data, b->data, a->len) == 0);
}
