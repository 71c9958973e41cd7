
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Strict, bounded readers for the JSON documents the gateway trusts:
 * JWT headers, claim sets and key sets.  Pure C on jansson.
 */

#ifndef _NGX_BLUEBUTTON_JSON_H_INCLUDED_
#define _NGX_BLUEBUTTON_JSON_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>


/* deeper documents are refused before they reach the parser */
#define BB_JSON_MAX_DEPTH  8


/*
 * Parses an object of at most max_len bytes and max_depth nesting levels.
 * Returns NULL and sets *err when the text is not such an object.
 */
json_t *bb_json_object(const char *text, size_t len, size_t max_len,
    int max_depth, const char **err);

/* Returns 1 when the text nests arrays and objects no deeper than max. */
int bb_json_depth_ok(const char *text, size_t len, int max);

/*
 * Copies a string member into buf (size bytes, NUL-terminated).
 * Returns 1 when copied, 0 when absent (or null, if null_ok), -1 when of
 * the wrong type, too long, or holding a control character; buf is then
 * "", never what an earlier call left.
 */
int bb_json_string(json_t *obj, const char *key, char *buf, size_t size);

/*
 * Reads a number member as whole seconds.  Returns 1 when read, 0 when
 * absent, -1 when of the wrong type or out of range; *value is then 0.
 */
int bb_json_seconds(json_t *obj, const char *key, long long *value);


#endif /* _NGX_BLUEBUTTON_JSON_H_INCLUDED_ */
