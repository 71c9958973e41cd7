
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Token records and grants, read on every request.  jansson builds a tree
 * of allocated values and cost several microseconds per record, a fifth
 * of the gateway's work per request; records are small flat objects, so
 * they are validated in one pass here and the few members the gateway
 * reads are found in place.  The grammar is the whole of RFC 8259 with
 * jansson's strictness (UTF-8, no unpaired surrogate, no \u0000); nested
 * values are checked and skipped.  t/fuzz/fuzz_consent.c holds it to
 * jansson's reading.
 */

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_bluebutton_record.h"


typedef struct {
    const char  *p;
    const char  *end;
    int          depth;
    int          max_depth;
    int          too_deep;
} bb_record_scan_t;


static int bb_record_scan_value(bb_record_scan_t *s, bb_record_member_t *m);


static void
bb_record_scan_space(bb_record_scan_t *s)
{
    while (s->p < s->end
           && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n'
               || *s->p == '\r'))
    {
        s->p++;
    }
}


static int
bb_record_hex4(const char *p, const char *end, unsigned *cp)
{
    int       i;
    unsigned  c, v;

    if (end - p < 4) {
        return -1;
    }

    v = 0;

    for (i = 0; i < 4; i++) {
        c = (unsigned char) p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            return -1;
        }

        v = v << 4 | c;
    }

    *cp = v;

    return 0;
}


/* one UTF-8 sequence (RFC 3629) starting at p; returns its length or 0 */
static size_t
bb_record_utf8(const unsigned char *p, const unsigned char *end)
{
    size_t         n, i;
    unsigned char  lo, hi;

    if (p[0] < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        if (p[0] == 0xe0) {
            lo = 0xa0;          /* overlong */
        } else if (p[0] == 0xed) {
            hi = 0x9f;          /* surrogates */
        }

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        if (p[0] == 0xf0) {
            lo = 0x90;          /* overlong */
        } else if (p[0] == 0xf4) {
            hi = 0x8f;          /* above U+10FFFF */
        }

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


/* a string after its opening quote; *start and *len span its contents */
static int
bb_record_scan_string(bb_record_scan_t *s, const char **start, size_t *len)
{
    size_t       n;
    unsigned     cp, lo;
    const char  *p;

    p = s->p;

    while (p < s->end) {

        if (*p == '"') {
            *start = s->p;
            *len = p - s->p;
            s->p = p + 1;
            return 0;
        }

        if ((unsigned char) *p < 0x20) {
            return -1;
        }

        if (*p != '\\') {
            n = bb_record_utf8((const unsigned char *) p,
                             (const unsigned char *) s->end);
            if (n == 0) {
                return -1;
            }

            p += n;
            continue;
        }

        if (++p == s->end) {
            return -1;
        }

        switch (*p) {

        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            p++;
            continue;

        case 'u':
            break;

        default:
            return -1;
        }

        if (bb_record_hex4(p + 1, s->end, &cp) != 0 || cp == 0) {
            return -1;
        }

        p += 5;

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            return -1;
        }

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u'
                || bb_record_hex4(p + 2, s->end, &lo) != 0
                || lo < 0xdc00 || lo > 0xdfff)
            {
                return -1;
            }

            p += 6;
        }
    }

    return -1;
}


static int
bb_record_scan_digits(bb_record_scan_t *s)
{
    const char  *start;

    start = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        s->p++;
    }

    return s->p > start ? 0 : -1;
}


static int
bb_record_scan_number(bb_record_scan_t *s)
{
    if (*s->p == '-') {
        s->p++;
    }

    if (s->p < s->end && *s->p == '0') {
        s->p++;

    } else if (bb_record_scan_digits(s) != 0) {
        return -1;
    }

    if (s->p < s->end && *s->p == '.') {
        s->p++;

        if (bb_record_scan_digits(s) != 0) {
            return -1;
        }
    }

    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;

        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }

        if (bb_record_scan_digits(s) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
bb_record_scan_word(bb_record_scan_t *s, const char *word, size_t len)
{
    if ((size_t) (s->end - s->p) < len || memcmp(s->p, word, len) != 0) {
        return -1;
    }

    s->p += len;

    return 0;
}


/* an object or an array after its opening bracket, members unread */
static int
bb_record_scan_nested(bb_record_scan_t *s, char close)
{
    const char  *name;
    size_t       len;

    if (++s->depth > s->max_depth) {
        s->too_deep = 1;
        return -1;
    }

    bb_record_scan_space(s);

    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }

    for ( ;; ) {

        if (close == '}') {
            if (s->p == s->end || *s->p++ != '"'
                || bb_record_scan_string(s, &name, &len) != 0)
            {
                return -1;
            }

            bb_record_scan_space(s);

            if (s->p == s->end || *s->p++ != ':') {
                return -1;
            }
        }

        if (bb_record_scan_value(s, NULL) != 0) {
            return -1;
        }

        if (s->p == s->end) {
            return -1;
        }

        if (*s->p == close) {
            s->p++;
            s->depth--;
            return 0;
        }

        if (*s->p++ != ',') {
            return -1;
        }

        bb_record_scan_space(s);
    }
}


/* a value with the space around it; m, when given, learns what it was */
static int
bb_record_scan_value(bb_record_scan_t *s, bb_record_member_t *m)
{
    int                rc;
    size_t             len;
    const char        *start, *str;
    bb_record_type_t   type;

    bb_record_scan_space(s);

    if (s->p == s->end) {
        return -1;
    }

    start = s->p;

    switch (*s->p) {

    case '"':
        s->p++;
        rc = bb_record_scan_string(s, &str, &len);
        type = BB_RECORD_STRING;
        break;

    case '{':
        s->p++;
        rc = bb_record_scan_nested(s, '}');
        type = BB_RECORD_OBJECT;
        break;

    case '[':
        s->p++;
        rc = bb_record_scan_nested(s, ']');
        type = BB_RECORD_ARRAY;
        break;

    case 't':
        rc = bb_record_scan_word(s, "true", 4);
        type = BB_RECORD_BOOLEAN;
        break;

    case 'f':
        rc = bb_record_scan_word(s, "false", 5);
        type = BB_RECORD_BOOLEAN;
        break;

    case 'n':
        rc = bb_record_scan_word(s, "null", 4);
        type = BB_RECORD_NULL;
        break;

    default:
        rc = bb_record_scan_number(s);
        type = BB_RECORD_NUMBER;
        break;
    }

    if (rc != 0) {
        return -1;
    }

    if (m != NULL) {
        m->type = type;

        if (type == BB_RECORD_STRING) {
            m->value = str;
            m->len = len;

        } else {
            m->value = start;
            m->len = s->p - start;
        }
    }

    bb_record_scan_space(s);

    return 0;
}


/* the decoded contents of a valid string, or -1 when longer than size */
static ssize_t
bb_record_unescape(const char *p, size_t len, char *buf, size_t size)
{
    size_t       n, need;
    unsigned     cp, lo;
    const char  *end;

    end = p + len;
    n = 0;

    while (p < end) {

        if (*p != '\\') {
            if (n == size) {
                return -1;
            }

            buf[n++] = *p++;
            continue;
        }

        p++;

        switch (*p++) {

        case 'b':
            cp = '\b';
            break;

        case 'f':
            cp = '\f';
            break;

        case 'n':
            cp = '\n';
            break;

        case 'r':
            cp = '\r';
            break;

        case 't':
            cp = '\t';
            break;

        case 'u':
            if (bb_record_hex4(p, end, &cp) != 0) {
                return -1;
            }

            p += 4;

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (bb_record_hex4(p + 2, end, &lo) != 0) {
                    return -1;
                }

                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }

            break;

        default:
            /* \" \\ \/ */
            cp = (unsigned char) p[-1];
            break;
        }

        need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

        if (size - n < need) {
            return -1;
        }

        if (cp < 0x80) {
            buf[n++] = (char) cp;

        } else if (cp < 0x800) {
            buf[n++] = (char) (0xc0 | cp >> 6);
            buf[n++] = (char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            buf[n++] = (char) (0xe0 | cp >> 12);
            buf[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            buf[n++] = (char) (0x80 | (cp & 0x3f));

        } else {
            buf[n++] = (char) (0xf0 | cp >> 18);
            buf[n++] = (char) (0x80 | ((cp >> 12) & 0x3f));
            buf[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            buf[n++] = (char) (0x80 | (cp & 0x3f));
        }
    }

    return n;
}


int
bb_record_read(const char *text, size_t len, size_t max_len, int max_depth,
    const char *const *names, bb_record_member_t *members, size_t n,
    const char **err)
{
    char                 key[BB_RECORD_NAME_MAX];
    size_t               i, name_len;
    ssize_t              key_len;
    const char          *name, *key_data;
    bb_record_scan_t     s;
    bb_record_member_t   m;

    if (len > max_len) {
        *err = "JSON too large";
        return -1;
    }

    memset(members, 0, n * sizeof(bb_record_member_t));

    s.p = text;
    s.end = text + len;
    s.depth = 1;
    s.max_depth = max_depth;
    s.too_deep = 0;

    bb_record_scan_space(&s);

    if (s.p == s.end || *s.p != '{') {
        /* a valid document of another type, or no JSON at all */
        if (bb_record_scan_value(&s, NULL) == 0 && s.p == s.end) {
            *err = "JSON is not an object";
            return -1;
        }

        goto invalid;
    }

    s.p++;
    bb_record_scan_space(&s);

    if (s.p < s.end && *s.p == '}') {
        s.p++;
        goto end;
    }

    for ( ;; ) {

        if (s.p == s.end || *s.p++ != '"'
            || bb_record_scan_string(&s, &name, &name_len) != 0)
        {
            goto invalid;
        }

        bb_record_scan_space(&s);

        if (s.p == s.end || *s.p++ != ':'
            || bb_record_scan_value(&s, &m) != 0)
        {
            goto invalid;
        }

        if (memchr(name, '\\', name_len) == NULL) {
            key_len = name_len < sizeof(key) ? (ssize_t) name_len : -1;
            key_data = name;

        } else {
            key_len = bb_record_unescape(name, name_len, key, sizeof(key));
            key_data = key;
        }

        for (i = 0; key_len >= 0 && i < n; i++) {
            if (strlen(names[i]) == (size_t) key_len
                && memcmp(names[i], key_data, key_len) == 0)
            {
                if (members[i].type != BB_RECORD_ABSENT) {
                    *err = "JSON repeats a member";
                    return -1;
                }

                members[i] = m;
                break;
            }
        }

        if (s.p == s.end) {
            goto invalid;
        }

        if (*s.p == '}') {
            s.p++;
            break;
        }

        if (*s.p++ != ',') {
            goto invalid;
        }

        bb_record_scan_space(&s);
    }

end:

    bb_record_scan_space(&s);

    if (s.p == s.end) {
        return 0;
    }

invalid:

    *err = s.too_deep ? "JSON nested too deeply" : "not valid JSON";

    return -1;
}


int
bb_record_string(const bb_record_member_t *m, char *buf, size_t size)
{
    ssize_t  len;

    if (m->type == BB_RECORD_ABSENT) {
        return 0;
    }

    if (m->type != BB_RECORD_STRING || size == 0) {
        return -1;
    }

    len = bb_record_unescape(m->value, m->len, buf, size - 1);

    if (len < 0) {
        return -1;
    }

    if (!bb_record_text_ok(buf, len)) {
        return -1;
    }

    buf[len] = '\0';

    return 1;
}


int
bb_record_names(const bb_record_member_t *m, const char *value)
{
    size_t              len;
    bb_record_scan_t    s;
    bb_record_member_t  e;
    char                buf[BB_RECORD_NAMED_MAX + 2];

    len = strlen(value);

    if (len > BB_RECORD_NAMED_MAX) {
        return 0;
    }

    if (m->type == BB_RECORD_STRING) {
        return bb_record_string(m, buf, len + 2) == 1
               && strcmp(buf, value) == 0;
    }

    if (m->type != BB_RECORD_ARRAY) {
        return 0;
    }

    /* the array was validated by bb_record_read(): its brackets stand */

    memset(&s, 0, sizeof(bb_record_scan_t));
    s.p = m->value + 1;
    s.end = m->value + m->len - 1;
    s.max_depth = INT_MAX;

    bb_record_scan_space(&s);

    while (s.p < s.end) {

        if (bb_record_scan_value(&s, &e) != 0 || e.type != BB_RECORD_STRING) {
            return 0;
        }

        /* one longer than value: a longer element does not fit and fails */

        if (bb_record_string(&e, buf, len + 2) == 1
            && strcmp(buf, value) == 0)
        {
            return 1;
        }

        if (s.p < s.end && *s.p == ',') {
            s.p++;
        }
    }

    return 0;
}


int
bb_record_text_ok(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


int
bb_record_seconds(const bb_record_member_t *m, long long *value)
{
    char         buf[64], *copy;
    double       d;
    size_t       i;
    long long    v;
    const char  *p;

    if (m->type == BB_RECORD_ABSENT) {
        return 0;
    }

    if (m->type != BB_RECORD_NUMBER) {
        return -1;
    }

    p = m->value;
    i = (*p == '-');

    for (v = 0; i < m->len && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (LLONG_MAX - (p[i] - '0')) / 10) {
            return -1;
        }

        v = v * 10 + (p[i] - '0');
    }

    if (i == m->len) {
        /* an integer; -0 is zero, other negative ones are refused */
        if (*p == '-' && v != 0) {
            return -1;
        }

        *value = v;

        return 1;
    }

    /*
     * NumericDate may carry fractions (RFC 7519 section 2); strtod()
     * rounds as jansson does and wants a terminated copy, which only a
     * number of absurd length has to find on the heap
     */

    copy = m->len < sizeof(buf) ? buf : malloc(m->len + 1);
    if (copy == NULL) {
        return -1;
    }

    memcpy(copy, p, m->len);
    copy[m->len] = '\0';

    d = strtod(copy, NULL);

    if (copy != buf) {
        free(copy);
    }

    return bb_record_real_seconds(d, value);
}


int
bb_record_real_seconds(double d, long long *value)
{
    if (!(d > -1e15 && d < 1e15)) {
        return -1;
    }

    *value = (long long) floor(d);

    return *value < 0 ? -1 : 1;
}
