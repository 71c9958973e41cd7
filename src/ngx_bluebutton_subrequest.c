
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

#include "ngx_bluebutton_subrequest.h"


ngx_int_t
ngx_bluebutton_subrequest(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_http_post_subrequest_t *ps, ngx_uint_t flags, ngx_buf_t *body,
    ngx_str_t *type, ngx_http_request_t **srp)
{
    ngx_chain_t              *cl;
    ngx_table_elt_t          *h;
    ngx_http_request_t       *sr;
    ngx_http_request_body_t  *rb;

    rb = NULL;

    if (body) {
        rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
        cl = ngx_alloc_chain_link(r->pool);

        if (rb == NULL || cl == NULL) {
            return NGX_ERROR;
        }

        cl->buf = body;
        cl->next = NULL;
        rb->bufs = cl;
    }

    if (ngx_http_subrequest(r, uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY | flags)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the client's request is not the gateway's: none of it goes along */

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, sr->pool, 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = -1;
    sr->headers_in.keep_alive_n = -1;
    sr->method = NGX_HTTP_GET;
    ngx_str_set(&sr->method_name, "GET");
    sr->request_body = rb;
    sr->header_only = 0;

    *srp = sr;

    if (body == NULL) {
        return NGX_OK;
    }

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&h->key, "Content-Type");
    h->value = *type;
    h->hash = 1;
    h->lowcase_key = (u_char *) "content-type";
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    sr->headers_in.content_type = h;

    sr->headers_in.content_length_n = body->last - body->pos;
    sr->method = NGX_HTTP_POST;
    ngx_str_set(&sr->method_name, "POST");

    return NGX_OK;
}


void
ngx_bluebutton_subrequest_answer(ngx_http_request_t *sr, ngx_str_t *answer)
{
    ngx_buf_t  *b;

    b = NULL;

    if (sr->out && sr->out->buf) {
        b = sr->out->buf;

    } else if (sr->upstream) {
        b = &sr->upstream->buffer;
    }

    answer->data = b ? b->pos : NULL;
    answer->len = b ? (size_t) (b->last - b->pos) : 0;
}
