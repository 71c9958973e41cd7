
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The backend's answer, held until it is judged: a body filter reads it
 * into the request's memory, bb_compartment_feed() checks it as it
 * arrives, and only an answer bound to the token's patient is sent on.
 * The backend's errors become the gateway's own.
 */

#ifndef _NGX_BLUEBUTTON_ANSWER_H_INCLUDED_
#define _NGX_BLUEBUTTON_ANSWER_H_INCLUDED_


#include "ngx_bluebutton.h"


char *ngx_bluebutton_answer_reference_conf(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/* the post handler of bluebutton_fhir_answers: off is said aloud */
char *ngx_bluebutton_answer_off(ngx_conf_t *cf, void *post, void *data);

char *ngx_bluebutton_answer_merge(ngx_conf_t *cf,
    ngx_bluebutton_loc_conf_t *prev, ngx_bluebutton_loc_conf_t *conf);

/* Whether ctx's answer will be checked: set once the request is allowed. */
void ngx_bluebutton_answer_expect(ngx_bluebutton_loc_conf_t *blcf,
    ngx_bluebutton_ctx_t *ctx);

/* $bluebutton_answer: the verdict's name, "" before one is made. */
const char *ngx_bluebutton_answer_name(ngx_bluebutton_ctx_t *ctx);

extern ngx_module_t  ngx_bluebutton_answer_module;


#endif /* _NGX_BLUEBUTTON_ANSWER_H_INCLUDED_ */
