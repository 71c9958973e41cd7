
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Redis Cluster: the first byte picks what the rest is.  A redirection
 * error, taken or refused, never points outside it; a reply (as hiredis
 * reads it, after the topology bounds let it through) read as CLUSTER
 * SHARDS or CLUSTER SLOTS gives ranges inside 0-16383 that never share
 * a slot, each with a usable address; a key's slot is always in range.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "ngx_bluebutton_resp.h"
#include "ngx_bluebutton_slots.h"


static bb_slot_range_t  ranges[BB_SLOTS];
static unsigned char    seen[BB_SLOTS];


static void
check_ranges(size_t n)
{
    size_t    i;
    unsigned  s;

    memset(seen, 0, sizeof(seen));

    for (i = 0; i < n; i++) {
        if (ranges[i].start > ranges[i].end || ranges[i].end >= BB_SLOTS
            || ranges[i].addr.port == 0 || ranges[i].addr.port > 65535
            || (ranges[i].addr.family != 4 && ranges[i].addr.family != 6))
        {
            abort();
        }

        for (s = ranges[i].start; s <= ranges[i].end; s++) {
            if (seen[s]++) {
                abort();
            }
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void             *reply;
    bb_resp_t         s;
    redisReader      *reader;
    bb_redirect_t     rd;
    bb_slots_read_t   sr;
    const char       *p;

    if (size == 0) {
        return 0;
    }

    p = (const char *) data + 1;
    size--;

    if (bb_slot(p, size) >= BB_SLOTS) {
        abort();
    }

    if (data[0] < 64) {
        if (bb_redirect_parse(p, size, &rd) == 0
            && (rd.slot >= BB_SLOTS || rd.port == 0 || rd.port > 65535
                || rd.host < p || rd.host + rd.host_len > p + size))
        {
            abort();
        }

        return 0;
    }

    bb_resp_init(&s, &bb_resp_topology_limits);

    if (bb_resp_scan(&s, p, size) != 0) {
        return 0;
    }

    reader = redisReaderCreate();
    if (reader == NULL || redisReaderFeed(reader, p, size) != REDIS_OK) {
        abort();
    }

    if (redisReaderGetReply(reader, &reply) == REDIS_OK && reply != NULL) {
        if (bb_shards_read(reply, data[0] & 1, ranges, BB_SLOTS, &sr) == 0) {
            check_ranges(sr.ranges);
        }

        if (bb_slots_read(reply, ranges, BB_SLOTS, &sr) == 0) {
            check_ranges(sr.ranges);
        }

        freeReplyObject(reply);
    }

    redisReaderFree(reader);

    return 0;
}
