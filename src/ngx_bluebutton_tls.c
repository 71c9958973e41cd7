
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * TLS to Redis through nginx's SSL layer.  As with proxy_ssl_verify, the
 * handshake itself does not fail on an untrusted certificate: the result
 * is checked once it ends, so that the log names it, and a connection
 * that fails the check is closed before any command is written.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <openssl/x509v3.h>

#include "ngx_bluebutton_tls.h"


static ngx_uint_t ngx_bluebutton_tls_is_address(ngx_str_t *name);


ngx_conf_bitmask_t  ngx_bluebutton_tls_protocols[] = {
    { ngx_string("TLSv1"), NGX_SSL_TLSv1 },
    { ngx_string("TLSv1.1"), NGX_SSL_TLSv1_1 },
    { ngx_string("TLSv1.2"), NGX_SSL_TLSv1_2 },
    { ngx_string("TLSv1.3"), NGX_SSL_TLSv1_3 },
    { ngx_null_string, 0 }
};


void
ngx_bluebutton_tls_init_conf(ngx_bluebutton_tls_conf_t *tls)
{
    /*
     * set by ngx_pcalloc():
     *
     *     tls->trusted_certificate = { 0, NULL };
     *     tls->certificate = { 0, NULL };
     *     tls->certificate_key = { 0, NULL };
     *     tls->name = { 0, NULL };
     *     tls->ciphers = { 0, NULL };
     *     tls->protocols = 0;
     *     tls->ssl = NULL;
     */

    tls->enable = NGX_CONF_UNSET;
    tls->verify = NGX_CONF_UNSET;
    tls->verify_depth = NGX_CONF_UNSET_UINT;
    tls->session_reuse = NGX_CONF_UNSET;
}


ngx_uint_t
ngx_bluebutton_tls_configured(ngx_bluebutton_tls_conf_t *tls)
{
    return tls->enable != NGX_CONF_UNSET
           || tls->verify != NGX_CONF_UNSET
           || tls->verify_depth != NGX_CONF_UNSET_UINT
           || tls->session_reuse != NGX_CONF_UNSET
           || tls->trusted_certificate.data != NULL
           || tls->certificate.data != NULL
           || tls->certificate_key.data != NULL
           || tls->name.data != NULL
           || tls->ciphers.data != NULL
           || tls->protocols != 0;
}


char *
ngx_bluebutton_tls_merge(ngx_conf_t *cf, ngx_bluebutton_tls_conf_t *conf,
    ngx_bluebutton_tls_conf_t *prev)
{
    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    /* verified unless said otherwise: a gateway trusts its Redis only so */
    ngx_conf_merge_value(conf->verify, prev->verify, 1);
    ngx_conf_merge_uint_value(conf->verify_depth, prev->verify_depth, 1);
    ngx_conf_merge_value(conf->session_reuse, prev->session_reuse, 1);
    ngx_conf_merge_str_value(conf->trusted_certificate,
                             prev->trusted_certificate, "");
    ngx_conf_merge_str_value(conf->certificate, prev->certificate, "");
    ngx_conf_merge_str_value(conf->certificate_key, prev->certificate_key,
                             "");
    ngx_conf_merge_str_value(conf->name, prev->name, "");
    ngx_conf_merge_str_value(conf->ciphers, prev->ciphers, "DEFAULT");
    ngx_conf_merge_bitmask_value(conf->protocols, prev->protocols,
                                 (NGX_CONF_BITMASK_SET|NGX_SSL_TLSv1_2
                                  |NGX_SSL_TLSv1_3));

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (conf->verify && conf->trusted_certificate.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"bluebutton_redis_ssl_trusted_certificate\" "
                           "for \"bluebutton_redis_ssl_verify\"; give the "
                           "CA that signed Redis' certificate, or say "
                           "\"bluebutton_redis_ssl_verify off\"");
        return NGX_CONF_ERROR;
    }

    if (conf->certificate.len && conf->certificate_key.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"bluebutton_redis_ssl_certificate_key\" for "
                           "\"bluebutton_redis_ssl_certificate\" \"%V\"",
                           &conf->certificate);
        return NGX_CONF_ERROR;
    }

    if (conf->certificate_key.len && conf->certificate.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"bluebutton_redis_ssl_certificate\" for "
                           "\"bluebutton_redis_ssl_certificate_key\" \"%V\"",
                           &conf->certificate_key);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_bluebutton_tls_create(ngx_conf_t *cf, ngx_bluebutton_tls_conf_t *tls)
{
    ngx_pool_cleanup_t  *cln;

    if (tls->ssl) {
        return NGX_OK;
    }

    tls->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (tls->ssl == NULL) {
        return NGX_ERROR;
    }

    tls->ssl->log = cf->log;

    if (ngx_ssl_create(tls->ssl, tls->protocols, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(tls->ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = tls->ssl;

    if (ngx_ssl_ciphers(cf, tls->ssl, &tls->ciphers, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (tls->certificate.len
        && ngx_ssl_certificate(cf, tls->ssl, &tls->certificate,
                               &tls->certificate_key, NULL)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (tls->verify
        && ngx_ssl_trusted_certificate(cf, tls->ssl,
                                       &tls->trusted_certificate,
                                       tls->verify_depth)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_ssl_client_session_cache(cf, tls->ssl, tls->session_reuse)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_bluebutton_tls_handshake(ngx_bluebutton_tls_conf_t *tls,
    ngx_connection_t *c, ngx_str_t *name, ngx_ssl_session_t *session,
    ngx_connection_handler_pt handler, ngx_connection_handler_pt save)
{
    u_char     sni[256];
    ngx_int_t  rc;

    if (ngx_ssl_create_connection(tls->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
        return NGX_ERROR;
    }

    /* RFC 6066: a name, never an address, goes in SNI */

    if (name->len && name->len < sizeof(sni)
        && !ngx_bluebutton_tls_is_address(name))
    {
        (void) ngx_cpystrn(sni, name->data, name->len + 1);

        if (SSL_set_tlsext_host_name(c->ssl->connection, (char *) sni) == 0)
        {
            ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                          "SSL_set_tlsext_host_name(\"%s\") failed", sni);
            return NGX_ERROR;
        }
    }

    if (tls->session_reuse) {
        c->ssl->save_session = save;

        if (session && ngx_ssl_set_session(c, session) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = handler;
    }

    return rc;
}


ngx_int_t
ngx_bluebutton_tls_verify(ngx_bluebutton_tls_conf_t *tls, ngx_connection_t *c,
    ngx_str_t *name, u_char *err, size_t len)
{
    long       rc;
    X509      *cert;
    u_char     ip[NGX_SOCKADDR_STRLEN + 1];
    ngx_int_t  ok;

    if (!tls->verify) {
        return NGX_OK;
    }

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_snprintf(err, len, "certificate verify error: (%l:%s)%Z",
                     rc, X509_verify_cert_error_string(rc));
        return NGX_ERROR;
    }

    cert = SSL_get_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        ngx_snprintf(err, len, "no certificate was given%Z");
        return NGX_ERROR;
    }

    /* an address names the server by an IP entry of its certificate */

    if (name->len < sizeof(ip) && ngx_bluebutton_tls_is_address(name)) {
        ngx_cpystrn(ip, name->data, name->len + 1);
        ok = X509_check_ip_asc(cert, (char *) ip, 0) == 1;
        X509_free(cert);

    } else {
        X509_free(cert);
        ok = ngx_ssl_check_host(c, name) == NGX_OK;
    }

    if (!ok) {
        /* a name that does not match may leave OpenSSL's reasons queued */
        ERR_clear_error();
        ngx_snprintf(err, len, "certificate does not match \"%V\"%Z", name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* SNI and the certificate check both ask whether the name is an address */
static ngx_uint_t
ngx_bluebutton_tls_is_address(ngx_str_t *name)
{
#if (NGX_HAVE_INET6)
    u_char  addr[16];

    if (ngx_inet6_addr(name->data, name->len, addr) == NGX_OK) {
        return 1;
    }
#endif

    return ngx_inet_addr(name->data, name->len) != INADDR_NONE;
}
