
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

/*
 * A FHIR OperationOutcome with one error issue, in a buffer of the
 * request's pool: {"resourceType":"OperationOutcome","issue":[{...}]}.
 */
ngx_buf_t *ngx_bluebutton_outcome(ngx_http_request_t *r, const char *code,
    ngx_str_t *diagnostics);

/* Adds a response header (name static); elt, if set, gets the entry. */
ngx_int_t ngx_bluebutton_response_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value, ngx_table_elt_t **elt);

/* Makes ctx an insufficient_scope refusal naming the required scopes. */
void ngx_bluebutton_scope_missing(ngx_bluebutton_ctx_t *ctx,
    ngx_str_t *required);


#endif /* _NGX_BLUEBUTTON_RESPONSE_H_INCLUDED_ */
