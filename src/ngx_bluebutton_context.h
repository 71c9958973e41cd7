
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The request context: made for a location and a state of the request,
 * found again after an internal redirect cleared the module contexts (it
 * lives in the request pool, with a cleanup), and undone with the
 * request: a lookup still in flight is cancelled, a flight landed.
 */

#ifndef _NGX_BLUEBUTTON_CONTEXT_H_INCLUDED_
#define _NGX_BLUEBUTTON_CONTEXT_H_INCLUDED_


#include "ngx_bluebutton.h"


/*
 * A context for the location of blcf; prev, the request's context of an
 * earlier location, hands over the client's headers and, when both
 * locations judge tokens alike, its lookup.
 */
ngx_bluebutton_ctx_t *ngx_bluebutton_ctx_create(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *prev);


/* the context that checks r: its own, or the one a redirect left */
ngx_bluebutton_ctx_t *ngx_bluebutton_get_ctx(ngx_http_request_t *r);


#endif /* _NGX_BLUEBUTTON_CONTEXT_H_INCLUDED_ */
