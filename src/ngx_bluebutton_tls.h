
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * TLS to Redis and its sentinels with nginx's own SSL layer, configured
 * as proxy_ssl_* is: certificates and keys are read at configuration
 * time, the handshake runs on the connection's events.
 */

#ifndef _NGX_BLUEBUTTON_TLS_H_INCLUDED_
#define _NGX_BLUEBUTTON_TLS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


typedef struct {
    ngx_flag_t                    enable;
    ngx_flag_t                    verify;
    ngx_uint_t                    verify_depth;
    ngx_str_t                     trusted_certificate;
    ngx_str_t                     certificate;
    ngx_str_t                     certificate_key;
    ngx_str_t                     name;      /* empty: the address' host */
    ngx_str_t                     ciphers;
    ngx_uint_t                    protocols;
    ngx_flag_t                    session_reuse;
    ngx_ssl_t                    *ssl;
} ngx_bluebutton_tls_conf_t;


extern ngx_conf_bitmask_t  ngx_bluebutton_tls_protocols[];


void ngx_bluebutton_tls_init_conf(ngx_bluebutton_tls_conf_t *tls);

/* anything said at this level, so that it is not the parent's Redis */
ngx_uint_t ngx_bluebutton_tls_configured(ngx_bluebutton_tls_conf_t *tls);

char *ngx_bluebutton_tls_merge(ngx_conf_t *cf,
    ngx_bluebutton_tls_conf_t *conf, ngx_bluebutton_tls_conf_t *prev);

/* the SSL context, once per Redis in use */
ngx_int_t ngx_bluebutton_tls_create(ngx_conf_t *cf,
    ngx_bluebutton_tls_conf_t *tls);

/*
 * Starts the handshake on a connected socket, offering session to resume.
 * NGX_OK: handshaked; NGX_AGAIN: handler is called when it ends;
 * NGX_ERROR: failed.  save is called when the server gives a session.
 */
ngx_int_t ngx_bluebutton_tls_handshake(ngx_bluebutton_tls_conf_t *tls,
    ngx_connection_t *c, ngx_str_t *name, ngx_ssl_session_t *session,
    ngx_connection_handler_pt handler, ngx_connection_handler_pt save);

/*
 * After the handshake: NGX_OK when the certificate is trusted and names
 * the server (or verification is off); else *err says why.
 */
ngx_int_t ngx_bluebutton_tls_verify(ngx_bluebutton_tls_conf_t *tls,
    ngx_connection_t *c, ngx_str_t *name, u_char *err, size_t len);


#endif /* _NGX_BLUEBUTTON_TLS_H_INCLUDED_ */
