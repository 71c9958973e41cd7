
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * What a Redis server may announce in a reply, checked on the bytes as
 * they arrive and before hiredis' reader sees them: element counts,
 * nesting, bulk lengths and the reply's size, each against bounds of the
 * connection it comes on.  hiredis allocates an array as soon as it reads
 * its header; nothing passes here that was not bounded first.  RESP2.
 * No nginx types here.
 */

#ifndef _NGX_BLUEBUTTON_RESP_H_INCLUDED_
#define _NGX_BLUEBUTTON_RESP_H_INCLUDED_


#include <stddef.h>


/* hiredis' own limit: arrays nested deeper are refused by its reader */
#define BB_RESP_DEPTH_MAX  7


/* which bound a refused stream broke: a metric's label */
typedef enum {
    BB_RESP_ACCEPTED = 0,
    BB_RESP_REFUSED_ELEMENTS,  /* an array of more elements than allowed */
    BB_RESP_REFUSED_DEPTH,     /* arrays nested too deep */
    BB_RESP_REFUSED_LENGTH,    /* a bulk string or status line too long */
    BB_RESP_REFUSED_SIZE,      /* a reply too large, or no room left in it */
    BB_RESP_REFUSED_PROTOCOL,  /* not RESP2: an unknown type, a bad length */
    BB_RESP_REASONS
} bb_resp_reason_e;


typedef struct {
    long long     elements;  /* in one array */
    long long     bulk;      /* bytes of one bulk string or status line */
    long long     bytes;     /* of one reply, all of it */
    unsigned      depth;     /* arrays within arrays, 1 for a flat one */
} bb_resp_limits_t;


typedef struct {
    bb_resp_limits_t  limits;
    int               state;
    char              type;
    char              line[24];   /* a length as it arrives */
    size_t            line_len;
    int               cr;         /* the last byte of a line was CR */
    long long         skip;       /* bulk bytes and CRLF still to come */
    long long         bytes;      /* of the reply being read */
    unsigned          depth;
    long long         left[BB_RESP_DEPTH_MAX];  /* elements to come */
    bb_resp_reason_e  reason;
    char              error[96];  /* why the stream was refused */
} bb_resp_t;


/* the bounds of a lookup connection, a subscriber's, a cluster map's */
extern const bb_resp_limits_t  bb_resp_command_limits;
extern const bb_resp_limits_t  bb_resp_subscriber_limits;
extern const bb_resp_limits_t  bb_resp_topology_limits;


void bb_resp_init(bb_resp_t *s, const bb_resp_limits_t *limits);

/*
 * Checks the next len bytes of the stream.  Returns 0 when they may be
 * given to the reader, -1 when the stream broke a bound or the protocol:
 * s->error says which, and the connection must not be read further.
 */
int bb_resp_scan(bb_resp_t *s, const char *buf, size_t len);

/* "elements", "depth", "length", "size", "protocol"; "" for none */
const char *bb_resp_reason_name(bb_resp_reason_e reason);


#endif /* _NGX_BLUEBUTTON_RESP_H_INCLUDED_ */
