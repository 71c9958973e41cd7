
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * SMART App Launch scopes: "<context>/<Type>.<permissions>", where the
 * permissions are v1 "read", "write", "*" or v2 "cruds" letters in order.
 */

#include <string.h>

#include "ngx_bluebutton_scope.h"


static int bb_scope_char(unsigned char c);
static int bb_scope_perms(const char *p, size_t len, unsigned *perms);


static int
bb_scope_char(unsigned char c)
{
    /* RFC 6749 section 3.3: %x21 / %x23-5B / %x5D-7E */
    return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}


static int
bb_scope_perms(const char *p, size_t len, unsigned *perms)
{
    size_t             i, k;
    unsigned           bit;
    static const char  order[] = "cruds";

    if (len == 4 && memcmp(p, "read", 4) == 0) {
        *perms = BB_PERM_R | BB_PERM_S;
        return 0;
    }

    if (len == 5 && memcmp(p, "write", 5) == 0) {
        *perms = BB_PERM_C | BB_PERM_U | BB_PERM_D;
        return 0;
    }

    if (len == 1 && p[0] == '*') {
        *perms = BB_PERM_ALL;
        return 0;
    }

    if (len == 0 || len > 5) {
        return -1;
    }

    /* v2: letters of "cruds", each at most once, in that order */

    *perms = 0;
    k = 0;

    for (i = 0; i < len; i++) {
        while (k < 5 && order[k] != p[i]) {
            k++;
        }

        if (k == 5) {
            return -1;
        }

        bit = 1u << k;
        *perms |= bit;
        k++;
    }

    return 0;
}


int
bb_scope_parse(const char *s, size_t len, bb_scope_t *out)
{
    size_t       i, clen;
    const char  *slash, *dot, *type, *end;

    if (len == 0) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (!bb_scope_char((unsigned char) s[i])) {
            return -1;
        }
    }

    memset(out, 0, sizeof(bb_scope_t));
    out->text = s;
    out->len = len;
    out->context = BB_SCOPE_PLAIN;

    slash = memchr(s, '/', len);
    if (slash == NULL) {
        return 0;
    }

    clen = slash - s;

    if (clen == 7 && memcmp(s, "patient", 7) == 0) {
        out->context = BB_SCOPE_PATIENT;

    } else if (clen == 4 && memcmp(s, "user", 4) == 0) {
        out->context = BB_SCOPE_USER;

    } else if (clen == 6 && memcmp(s, "system", 6) == 0) {
        out->context = BB_SCOPE_SYSTEM;

    } else {
        /* e.g. "launch/patient": an ordinary scope */
        return 0;
    }

    type = slash + 1;
    end = s + len;

    if (memchr(type, '?', end - type) != NULL) {
        /* v2 granular constraints narrow a scope: never treated as full */
        return -1;
    }

    dot = memchr(type, '.', end - type);
    if (dot == NULL || dot == type
        || (size_t) (dot - type) > BB_SCOPE_TYPE_MAX)
    {
        return -1;
    }

    if (!(dot - type == 1 && type[0] == '*')) {
        for (i = 0; type + i < dot; i++) {
            if (!((type[i] >= 'A' && type[i] <= 'Z')
                  || (type[i] >= 'a' && type[i] <= 'z')))
            {
                return -1;
            }
        }
    }

    memcpy(out->type, type, dot - type);
    out->type[dot - type] = '\0';

    return bb_scope_perms(dot + 1, end - dot - 1, &out->perms);
}


int
bb_scope_satisfied(const char *granted, size_t len,
    const bb_scope_t *required)
{
    unsigned     perms;
    bb_scope_t   g;
    const char  *p, *end, *word;

    perms = 0;
    p = granted;
    end = granted + len;

    while (p < end) {

        while (p < end && *p == ' ') {
            p++;
        }

        word = p;

        while (p < end && *p != ' ') {
            p++;
        }

        if (p == word || bb_scope_parse(word, p - word, &g) != 0) {
            continue;
        }

        if (required->context == BB_SCOPE_PLAIN) {
            if (g.context == BB_SCOPE_PLAIN && g.len == required->len
                && memcmp(g.text, required->text, g.len) == 0)
            {
                return 1;
            }

            continue;
        }

        if (g.context != required->context) {
            continue;
        }

        if (strcmp(g.type, "*") == 0 || strcmp(g.type, required->type) == 0)
        {
            perms |= g.perms;

            if ((perms & required->perms) == required->perms) {
                return 1;
            }
        }
    }

    return 0;
}


int
bb_scope_list_valid(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] != ' ' && !bb_scope_char((unsigned char) s[i])) {
            return 0;
        }
    }

    return 1;
}
