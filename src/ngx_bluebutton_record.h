
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * A one-pass reader for the JSON objects stored in Redis: token records
 * and grants.  Pure C.
 */

#ifndef _NGX_BLUEBUTTON_RECORD_H_INCLUDED_
#define _NGX_BLUEBUTTON_RECORD_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


/* the longest member name a record reader can look for */
#define BB_RECORD_NAME_MAX  32

/* the longest value bb_record_names() can find */
#define BB_RECORD_NAMED_MAX  255


typedef enum {
    BB_RECORD_ABSENT = 0,
    BB_RECORD_NULL,
    BB_RECORD_BOOLEAN,
    BB_RECORD_NUMBER,
    BB_RECORD_STRING,
    BB_RECORD_OBJECT,
    BB_RECORD_ARRAY
} bb_record_type_t;


/* a member of a record, found in place in the text: nothing is copied */
typedef struct {
    bb_record_type_t   type;
    const char        *value;     /* a string's contents, still escaped */
    size_t             len;
} bb_record_member_t;


/*
 * Validates text as one JSON object of at most max_len bytes and
 * max_depth nesting levels, and fills members[i] with the top-level
 * member named names[i] (type BB_RECORD_ABSENT when there is none).  A
 * member looked for that appears twice makes the record invalid.
 * Returns 0, or -1 with a static reason in *err.
 */
int bb_record_read(const char *text, size_t len, size_t max_len,
    int max_depth, const char *const *names, bb_record_member_t *members,
    size_t n, const char **err);

/*
 * Copies a string member into buf (size bytes, NUL-terminated).  Returns
 * 1 when copied, 0 when absent, -1 when of another type, too long, or
 * holding a control character.
 */
int bb_record_string(const bb_record_member_t *m, char *buf, size_t size);

/*
 * Reads a number member as whole seconds, a fraction dropped.  Returns 1
 * when read, 0 when absent, -1 when of another type, negative or out of
 * range.
 */
int bb_record_seconds(const bb_record_member_t *m, long long *value);

/*
 * Whether a member names value as RFC 7519's "aud" does: a string equal to
 * it, or an array with such a string among its elements.  Returns 1 or 0;
 * another type, or an element that is no string, names nothing.
 */
int bb_record_names(const bb_record_member_t *m, const char *value);

/*
 * The rules both JSON readers apply to values.  bb_record_text_ok()
 * returns 1 when s holds no control character: these values end up in
 * headers and logs.  bb_record_real_seconds() takes a NumericDate with a
 * fraction (RFC 7519 section 2) as whole seconds: 1, or -1 when negative
 * or out of range.
 */
int bb_record_text_ok(const char *s, size_t len);
int bb_record_real_seconds(double d, long long *value);


#endif /* _NGX_BLUEBUTTON_RECORD_H_INCLUDED_ */
