
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * A streaming check of RESP2 headers.  States: the type byte of the next
 * element, the rest of a status, error or integer line, the length of a
 * bulk string or array, the body of a bulk string.
 */

#include <stdio.h>
#include <string.h>

#include "ngx_bluebutton_resp.h"


enum {
    BB_RESP_TYPE = 0,
    BB_RESP_LINE,         /* +, -, : up to LF */
    BB_RESP_LENGTH,       /* $, * up to CR */
    BB_RESP_LENGTH_LF,    /* the LF after it */
    BB_RESP_BULK          /* s->skip bytes of body and CRLF */
};


/*
 * A lookup's reply is a handful of elements; ROLE on a primary lists its
 * replicas, three deep (a subscriber asks it too, with Sentinel).  A
 * subscriber's invalidation names many keys at once (a transaction's or a
 * script's), never more than fit in a reply.
 */
const bb_resp_limits_t  bb_resp_command_limits = {
    1024, 1024 * 1024, 16 * 1024 * 1024, 3
};

const bb_resp_limits_t  bb_resp_subscriber_limits = {
    262144, 1024 * 1024, 16 * 1024 * 1024, 3
};

/* CLUSTER SHARDS: shards of nodes of fields; 16384 slot ranges at most */
const bb_resp_limits_t  bb_resp_topology_limits = {
    65536, 4096, 16 * 1024 * 1024, 4
};

/* the least an element takes on the wire: a type byte and CRLF */
#define BB_RESP_ELEMENT_MIN  3


static int bb_resp_header(bb_resp_t *s);
static int bb_resp_element_done(bb_resp_t *s);
static int bb_resp_refuse(bb_resp_t *s, bb_resp_reason_e reason,
    const char *what, long long n);


static const char  *bb_resp_reason_names[BB_RESP_REASONS] = {
    "", "elements", "depth", "length", "size", "protocol"
};


const char *
bb_resp_reason_name(bb_resp_reason_e reason)
{
    return (unsigned) reason < BB_RESP_REASONS ? bb_resp_reason_names[reason]
                                               : "";
}


void
bb_resp_init(bb_resp_t *s, const bb_resp_limits_t *limits)
{
    memset(s, 0, sizeof(bb_resp_t));
    s->limits = *limits;
}


int
bb_resp_scan(bb_resp_t *s, const char *buf, size_t len)
{
    size_t     n;
    long long  take;

    if (s->error[0]) {
        return -1;
    }

    for (n = 0; n < len; /* void */) {

        if (s->state == BB_RESP_BULK) {
            take = (long long) (len - n) < s->skip ? (long long) (len - n)
                                                   : s->skip;
            s->skip -= take;
            s->bytes += take;
            n += (size_t) take;

            if (s->skip == 0) {
                s->state = BB_RESP_TYPE;

                if (bb_resp_element_done(s) != 0) {
                    return -1;
                }
            }

            continue;
        }

        s->bytes++;

        if (s->bytes > s->limits.bytes) {
            return bb_resp_refuse(s, BB_RESP_REFUSED_SIZE,
                                  "a reply larger than", s->limits.bytes);
        }

        switch (s->state) {

        case BB_RESP_TYPE:
            s->type = buf[n];
            s->line_len = 0;
            s->cr = 0;

            switch (s->type) {
            case '+':
            case '-':
            case ':':
                s->state = BB_RESP_LINE;
                break;

            case '$':
            case '*':
                s->state = BB_RESP_LENGTH;
                break;

            default:
                return bb_resp_refuse(s, BB_RESP_REFUSED_PROTOCOL,
                                      "a reply of unknown type", -1);
            }

            break;

        case BB_RESP_LINE:
            /* as hiredis reads it: the line ends at CRLF, not at LF */

            if (buf[n] == '\n' && s->cr) {
                s->state = BB_RESP_TYPE;

                if (bb_resp_element_done(s) != 0) {
                    return -1;
                }

                break;
            }

            s->cr = (buf[n] == '\r');

            if ((long long) ++s->line_len > s->limits.bulk) {
                return bb_resp_refuse(s, BB_RESP_REFUSED_LENGTH,
                                      "a status line longer than",
                                      s->limits.bulk);
            }

            break;

        case BB_RESP_LENGTH:
            if (buf[n] == '\r') {
                s->state = BB_RESP_LENGTH_LF;
                break;
            }

            if (s->line_len == sizeof(s->line) - 1) {
                return bb_resp_refuse(s, BB_RESP_REFUSED_PROTOCOL,
                                      "a malformed length", -1);
            }

            s->line[s->line_len++] = buf[n];
            break;

        case BB_RESP_LENGTH_LF:
            if (buf[n] != '\n') {
                return bb_resp_refuse(s, BB_RESP_REFUSED_PROTOCOL,
                                      "a malformed length", -1);
            }

            if (bb_resp_header(s) != 0) {
                return -1;
            }

            break;
        }

        n++;
    }

    return 0;
}


/* a length has arrived whole: is it one the connection may be sent? */
static int
bb_resp_header(bb_resp_t *s)
{
    size_t     i;
    long long  v, room;
    int        negative;

    negative = s->line_len > 0 && s->line[0] == '-';
    i = negative ? 1 : 0;

    if (i == s->line_len || s->line_len - i > 18) {
        return bb_resp_refuse(s, BB_RESP_REFUSED_PROTOCOL,
                              "a malformed length", -1);
    }

    for (v = 0; i < s->line_len; i++) {
        if (s->line[i] < '0' || s->line[i] > '9') {
            return bb_resp_refuse(s, BB_RESP_REFUSED_PROTOCOL,
                                  "a malformed length", -1);
        }

        v = v * 10 + (s->line[i] - '0');
    }

    if (negative) {
        /* -1 alone is nil; anything else is no length at all */

        if (v != 1 || s->line_len != 2) {
            return bb_resp_refuse(s, BB_RESP_REFUSED_PROTOCOL,
                                  "a negative length", -1);
        }

        s->state = BB_RESP_TYPE;

        return bb_resp_element_done(s);
    }

    room = s->limits.bytes - s->bytes;

    if (s->type == '$') {
        if (v > s->limits.bulk) {
            return bb_resp_refuse(s, BB_RESP_REFUSED_LENGTH,
                                  "a bulk string longer than", s->limits.bulk);
        }

        if (v + 2 > room) {
            return bb_resp_refuse(s, BB_RESP_REFUSED_SIZE,
                                  "a bulk string larger than the "
                                  "reply's room of", room);
        }

        s->skip = v + 2;
        s->state = BB_RESP_BULK;

        return 0;
    }

    if (v > s->limits.elements) {
        return bb_resp_refuse(s, BB_RESP_REFUSED_ELEMENTS,
                              "an array of more elements than",
                              s->limits.elements);
    }

    if (v > room / BB_RESP_ELEMENT_MIN) {
        return bb_resp_refuse(s, BB_RESP_REFUSED_SIZE,
                              "an array larger than the reply's room of",
                              room);
    }

    s->state = BB_RESP_TYPE;

    if (v == 0) {
        return bb_resp_element_done(s);
    }

    if (s->depth == s->limits.depth) {
        return bb_resp_refuse(s, BB_RESP_REFUSED_DEPTH,
                              "arrays nested deeper than",
                              (long long) s->limits.depth);
    }

    s->left[s->depth++] = v;

    return 0;
}


/* an element ended: so may the arrays around it, and the reply */
static int
bb_resp_element_done(bb_resp_t *s)
{
    while (s->depth > 0) {
        if (--s->left[s->depth - 1] > 0) {
            return 0;
        }

        s->depth--;
    }

    s->bytes = 0;

    return 0;
}


static int
bb_resp_refuse(bb_resp_t *s, bb_resp_reason_e reason, const char *what,
    long long n)
{
    s->reason = reason;

    if (n >= 0) {
        snprintf(s->error, sizeof(s->error), "%s %lld", what, n);

    } else {
        snprintf(s->error, sizeof(s->error), "%s", what);
    }

    return -1;
}
