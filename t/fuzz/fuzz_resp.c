
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The bounds on Redis replies, in front of hiredis' reader as the module
 * uses them: the first byte picks the connection's bounds (a command
 * connection's or a subscriber's) and the size of the pieces the stream
 * arrives in.  Whatever the scan lets through, hiredis reads into replies
 * that keep the bounds, and the scan's verdict does not depend on how the
 * stream was cut.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "ngx_bluebutton_resp.h"


static void
check(const redisReply *r, const bb_resp_limits_t *limits, unsigned depth)
{
    size_t  i;

    if (r->type == REDIS_REPLY_ARRAY) {
        if ((r->elements > 0 && depth >= limits->depth)
            || (long long) r->elements > limits->elements)
        {
            abort();
        }

        for (i = 0; i < r->elements; i++) {
            check(r->element[i], limits, depth + 1);
        }

    } else if ((long long) r->len > limits->bulk) {
        abort();
    }
}


static int
scan(const bb_resp_limits_t *limits, const char *data, size_t size,
    size_t piece, redisReader *reader)
{
    size_t      n, at;
    void       *reply;
    bb_resp_t   s;

    bb_resp_init(&s, limits);

    for (at = 0; at < size; at += n) {
        n = size - at < piece ? size - at : piece;

        if (bb_resp_scan(&s, data + at, n) != 0) {
            return -1;
        }

        if (reader == NULL) {
            continue;
        }

        if (redisReaderFeed(reader, data + at, n) != REDIS_OK) {
            abort();
        }

        for ( ;; ) {
            if (redisReaderGetReply(reader, &reply) != REDIS_OK) {
                /* hiredis' own refusal (a bad integer line): not ours */
                return 0;
            }

            if (reply == NULL) {
                break;
            }

            check(reply, limits, 0);
            freeReplyObject(reply);
        }
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      whole;
    size_t                   piece;
    redisReader             *reader;
    bb_resp_limits_t         limits;

    if (size < 1) {
        return 0;
    }

    limits = (data[0] & 1) ? bb_resp_subscriber_limits
                           : bb_resp_command_limits;

    /* small bounds too, so that the fuzzer reaches them */
    if (data[0] & 2) {
        limits.elements = 4;
        limits.bulk = 16;
        limits.bytes = 64;
    }

    piece = 1 + (data[0] >> 2);

    data++;
    size--;

    whole = scan(&limits, (const char *) data, size, size ? size : 1, NULL);

    if (scan(&limits, (const char *) data, size, piece, NULL) != whole) {
        abort();
    }

    reader = redisReaderCreate();
    if (reader == NULL) {
        return 0;
    }

    (void) scan(&limits, (const char *) data, size, piece, reader);

    redisReaderFree(reader);

    return 0;
}
