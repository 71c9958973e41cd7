
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * bluebutton_fhir: the request's FHIR route decides the scope it needs,
 * and a search is kept inside the token's patient compartment.
 */

#ifndef _NGX_BLUEBUTTON_ROUTE_H_INCLUDED_
#define _NGX_BLUEBUTTON_ROUTE_H_INCLUDED_


#include "ngx_bluebutton.h"


/*
 * Before the token is looked at.  Returns NGX_OK to go on, NGX_DECLINED
 * for a public route, or NGX_ABORT with ctx->decision set.
 */
ngx_int_t ngx_bluebutton_route_classify(ngx_http_request_t *r,
    ngx_bluebutton_loc_conf_t *blcf, ngx_bluebutton_ctx_t *ctx);

/*
 * After the consent allowed.  Returns NGX_OK, NGX_ABORT with
 * ctx->decision set, or NGX_ERROR.
 */
ngx_int_t ngx_bluebutton_route_bind(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx);


/*
 * After the decision: the backend's query string rebuilt from what the
 * route's schema names, HEAD asked as GET where the answer is checked.
 * NGX_ABORT with ctx->decision set for a parameter refused.
 */
ngx_int_t ngx_bluebutton_route_profile(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx);


#endif /* _NGX_BLUEBUTTON_ROUTE_H_INCLUDED_ */
