
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Bounded JSON reading.  The depth check runs before jansson so that a
 * hostile document costs a linear scan and nothing more.
 */

#include <string.h>

#include "ngx_bluebutton_json.h"
#include "ngx_bluebutton_record.h"


int
bb_json_depth_ok(const char *text, size_t len, int max)
{
    int     depth, in_string;
    size_t  i;

    depth = 0;
    in_string = 0;

    for (i = 0; i < len; i++) {

        if (in_string) {
            if (text[i] == '\\') {
                i++;

            } else if (text[i] == '"') {
                in_string = 0;
            }

            continue;
        }

        switch (text[i]) {

        case '"':
            in_string = 1;
            break;

        case '{':
        case '[':
            if (++depth > max) {
                return 0;
            }
            break;

        case '}':
        case ']':
            depth--;
            break;
        }
    }

    return 1;
}


json_t *
bb_json_object(const char *text, size_t len, size_t max_len, int max_depth,
    const char **err)
{
    json_t        *obj;
    json_error_t   error;

    if (len > max_len) {
        *err = "JSON too large";
        return NULL;
    }

    if (!bb_json_depth_ok(text, len, max_depth)) {
        *err = "JSON nested too deeply";
        return NULL;
    }

    obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);

    if (obj == NULL) {
        *err = "not valid JSON";
        return NULL;
    }

    if (!json_is_object(obj)) {
        json_decref(obj);
        *err = "JSON is not an object";
        return NULL;
    }

    return obj;
}


int
bb_json_string(json_t *obj, const char *key, char *buf, size_t size)
{
    size_t       len;
    json_t      *v;
    const char  *s;

    /* absent or refused, the buffer says so: nothing earlier stays in it */
    buf[0] = '\0';

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    if (!json_is_string(v)) {
        return -1;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len >= size || !bb_record_text_ok(s, len)) {
        return -1;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    return 1;
}


int
bb_json_seconds(json_t *obj, const char *key, long long *value)
{
    json_t  *v;

    *value = 0;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    if (json_is_real(v)) {
        if (bb_record_real_seconds(json_real_value(v), value) != 1) {
            *value = 0;
            return -1;
        }

        return 1;
    }

    if (!json_is_integer(v)) {
        return -1;
    }

    *value = json_integer_value(v);

    if (*value < 0) {
        *value = 0;
        return -1;
    }

    return 1;
}
