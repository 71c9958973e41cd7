
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Identity headers for the backend: what the client sent under our names
 * is removed, then what the gateway verified is set.
 */

#ifndef _NGX_BLUEBUTTON_HEADERS_H_INCLUDED_
#define _NGX_BLUEBUTTON_HEADERS_H_INCLUDED_


#include "ngx_bluebutton.h"


/* Removes client-sent identity headers (and Authorization, by default). */
ngx_int_t ngx_bluebutton_headers_strip(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf);

/* Strips, then sets the verified identity; once per request. */
ngx_int_t ngx_bluebutton_headers_set(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx);


#endif /* _NGX_BLUEBUTTON_HEADERS_H_INCLUDED_ */
