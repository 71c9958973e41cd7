
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The module's own in-memory subrequests to a location of the server
 * (the JWKS fetch, introspection): none of the client's request goes
 * along, and the answer is read where nginx left it.
 */

#ifndef _NGX_BLUEBUTTON_SUBREQUEST_H_INCLUDED_
#define _NGX_BLUEBUTTON_SUBREQUEST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * An in-memory subrequest of r to uri (flags: waited or in the
 * background) with no header of the client's: a GET, or with body a POST
 * of it with its Content-Type.  *srp is the subrequest.
 */
ngx_int_t ngx_bluebutton_subrequest(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_http_post_subrequest_t *ps, ngx_uint_t flags, ngx_buf_t *body,
    ngx_str_t *type, ngx_http_request_t **srp);

/* what a finished in-memory subrequest was answered (len 0: nothing) */
void ngx_bluebutton_subrequest_answer(ngx_http_request_t *sr,
    ngx_str_t *answer);


#endif /* _NGX_BLUEBUTTON_SUBREQUEST_H_INCLUDED_ */
