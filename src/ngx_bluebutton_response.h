
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Refusals: status, RFC 6750 challenge, JSON body and the log line.
 */

#ifndef _NGX_BLUEBUTTON_RESPONSE_H_INCLUDED_
#define _NGX_BLUEBUTTON_RESPONSE_H_INCLUDED_


#include "ngx_bluebutton.h"


/*
 * Sends the refusal for ctx->decision and finalizes the request.  Returns
 * NGX_DONE for the access phase.
 */
ngx_int_t ngx_bluebutton_refuse(ngx_http_request_t *r,
    ngx_bluebutton_ctx_t *ctx);

/* Makes ctx an insufficient_scope refusal naming the required scopes. */
void ngx_bluebutton_scope_missing(ngx_bluebutton_ctx_t *ctx,
    ngx_str_t *required);


#endif /* _NGX_BLUEBUTTON_RESPONSE_H_INCLUDED_ */
