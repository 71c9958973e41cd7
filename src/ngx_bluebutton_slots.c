
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The slot is CRC16-CCITT (XMODEM) of the key modulo 16384, or of what
 * lies between the first "{" and the first "}" after it when that is not
 * empty, as the Redis Cluster specification says.  Replies are read
 * strictly: a field of another type or a slot out of range refuses the
 * whole reply, so that a map is never half-made from a reply misread.
 */

#include <string.h>
#include <stdio.h>

#include "ngx_bluebutton_slots.h"


static int bb_slots_take(bb_slot_range_t *out, size_t max,
    bb_slots_read_t *rd, long long start, long long end,
    const bb_failover_t *addr);
static int bb_slots_address(const redisReply *ip, long long port,
    bb_failover_t *addr);
static int bb_slots_is(const redisReply *r, const char *s);


static const unsigned short  bb_crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
    0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
    0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de,
    0x2462, 0x3443, 0x0420, 0x1401, 0x64e6, 0x74c7, 0x44a4, 0x5485,
    0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4,
    0xb75b, 0xa77a, 0x9719, 0x8738, 0xf7df, 0xe7fe, 0xd79d, 0xc7bc,
    0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b,
    0x5af5, 0x4ad4, 0x7ab7, 0x6a96, 0x1a71, 0x0a50, 0x3a33, 0x2a12,
    0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41,
    0xedae, 0xfd8f, 0xcdec, 0xddcd, 0xad2a, 0xbd0b, 0x8d68, 0x9d49,
    0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78,
    0x9188, 0x81a9, 0xb1ca, 0xa1eb, 0xd10c, 0xc12d, 0xf14e, 0xe16f,
    0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e,
    0x02b1, 0x1290, 0x22f3, 0x32d2, 0x4235, 0x5214, 0x6277, 0x7256,
    0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
    0xa7db, 0xb7fa, 0x8799, 0x97b8, 0xe75f, 0xf77e, 0xc71d, 0xd73c,
    0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab,
    0x5844, 0x4865, 0x7806, 0x6827, 0x18c0, 0x08e1, 0x3882, 0x28a3,
    0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92,
    0xfd2e, 0xed0f, 0xdd6c, 0xcd4d, 0xbdaa, 0xad8b, 0x9de8, 0x8dc9,
    0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8,
    0x6e17, 0x7e36, 0x4e55, 0x5e74, 0x2e93, 0x3eb2, 0x0ed1, 0x1ef0
};


unsigned
bb_slot(const char *key, size_t len)
{
    size_t          i, open, close;
    unsigned short  crc;

    for (open = 0; open < len && key[open] != '{'; open++) { /* void */ }

    if (open < len) {
        for (close = open + 1; close < len && key[close] != '}'; close++) {
            /* void */
        }

        if (close < len && close > open + 1) {
            key += open + 1;
            len = close - open - 1;
        }
    }

    crc = 0;

    for (i = 0; i < len; i++) {
        crc = (unsigned short) (crc << 8)
              ^ bb_crc16_table[((crc >> 8) ^ (unsigned char) key[i]) & 0xff];
    }

    return crc & (BB_SLOTS - 1);
}


int
bb_redirect_parse(const char *err, size_t len, bb_redirect_t *r)
{
    size_t       n, i, colon;
    unsigned     slot;
    const char  *p, *last;

    if (len > 6 && memcmp(err, "MOVED ", 6) == 0) {
        r->ask = 0;
        p = err + 6;

    } else if (len > 4 && memcmp(err, "ASK ", 4) == 0) {
        r->ask = 1;
        p = err + 4;

    } else {
        return -1;
    }

    last = err + len;
    slot = 0;

    for (n = 0; p < last && *p >= '0' && *p <= '9' && n < 5; p++, n++) {
        slot = slot * 10 + (unsigned) (*p - '0');
    }

    if (n == 0 || slot >= BB_SLOTS || p == last || *p != ' ') {
        return -1;
    }

    p++;

    /* host:port, the host possibly empty or an IPv6 address: last colon */

    colon = (size_t) -1;

    for (i = 0; p + i < last; i++) {
        if (p[i] == ':') {
            colon = i;

        } else if (p[i] == ' ' || p[i] == '\0') {
            return -1;
        }
    }

    if (colon == (size_t) -1 || p + colon + 1 == last
        || last - (p + colon + 1) > 5)
    {
        return -1;
    }

    r->port = 0;

    for (i = colon + 1; p + i < last; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        r->port = r->port * 10 + (unsigned) (p[i] - '0');
    }

    if (r->port == 0 || r->port > 65535) {
        return -1;
    }

    r->slot = slot;
    r->host = p;
    r->host_len = colon;

    /* "?" is how Redis writes an endpoint it does not know */

    if (r->host_len == 1 && r->host[0] == '?') {
        r->host_len = 0;
    }

    return 0;
}


/*
 * [[ "slots", [start, end, ...], "nodes", [[ "id", ..., "port", n,
 * "tls-port", n, "ip", s, ..., "role", "master", ..., "health", s ], ...]]]
 */
int
bb_shards_read(const redisReply *reply, int tls, bb_slot_range_t *out,
    size_t max, bb_slots_read_t *rd)
{
    int                 primary, unhealthy, unaddressed;
    size_t              s, i, k, f;
    long long           port;
    const redisReply   *shard, *slots, *nodes, *node, *key, *val, *ip;
    const redisReply   *role, *health;
    bb_failover_t       addr;

    memset(rd, 0, sizeof(bb_slots_read_t));

    if (reply->type != REDIS_REPLY_ARRAY) {
        rd->error = "CLUSTER SHARDS did not answer an array";
        return -1;
    }

    for (s = 0; s < reply->elements; s++) {
        shard = reply->element[s];
        slots = NULL;
        nodes = NULL;

        if (shard->type != REDIS_REPLY_ARRAY || shard->elements % 2) {
            rd->error = "a shard is not a map";
            return -1;
        }

        for (f = 0; f < shard->elements; f += 2) {
            if (bb_slots_is(shard->element[f], "slots")) {
                slots = shard->element[f + 1];

            } else if (bb_slots_is(shard->element[f], "nodes")) {
                nodes = shard->element[f + 1];
            }
        }

        if (slots == NULL || nodes == NULL
            || slots->type != REDIS_REPLY_ARRAY || slots->elements % 2
            || nodes->type != REDIS_REPLY_ARRAY)
        {
            rd->error = "a shard has no slots or no nodes";
            return -1;
        }

        if (slots->elements == 0) {
            continue;
        }

        for (i = 0; i < slots->elements; i++) {
            if (slots->element[i]->type != REDIS_REPLY_INTEGER) {
                rd->error = "a shard's slot is not an integer";
                return -1;
            }
        }

        /*
         * The shard's primary: a node that says master and is online.
         * During a failover the failed primary may still be listed, as
         * master, beside the replica promoted in its place.
         */

        primary = 0;
        unhealthy = 0;
        unaddressed = 0;

        for (k = 0; k < nodes->elements && !primary; k++) {
            node = nodes->element[k];

            if (node->type != REDIS_REPLY_ARRAY || node->elements % 2) {
                rd->error = "a node is not a map";
                return -1;
            }

            ip = NULL;
            role = NULL;
            health = NULL;
            port = 0;

            for (f = 0; f < node->elements; f += 2) {
                key = node->element[f];
                val = node->element[f + 1];

                if (bb_slots_is(key, tls ? "tls-port" : "port")) {
                    if (val->type != REDIS_REPLY_INTEGER) {
                        rd->error = "a node's port is not an integer";
                        return -1;
                    }

                    port = val->integer;

                } else if (bb_slots_is(key, "ip")) {
                    ip = val;

                } else if (bb_slots_is(key, "role")) {
                    role = val;

                } else if (bb_slots_is(key, "health")) {
                    health = val;
                }
            }

            if (role == NULL || !bb_slots_is(role, "master")) {
                continue;
            }

            if (health && !bb_slots_is(health, "online")) {
                unhealthy = 1;
                continue;
            }

            if (ip == NULL || bb_slots_address(ip, port, &addr) != 0) {
                unaddressed = 1;
                continue;
            }

            primary = 1;
        }

        if (!primary) {
            /* its slots are served by nobody, as far as this node knows */
            rd->unhealthy += unhealthy;
            rd->unaddressed += unaddressed && !unhealthy;
            continue;
        }

        for (i = 0; i < slots->elements; i += 2) {
            if (bb_slots_take(out, max, rd, slots->element[i]->integer,
                              slots->element[i + 1]->integer, &addr)
                != 0)
            {
                return -1;
            }
        }
    }

    return 0;
}


/* [[start, end, [ip, port, id, ...], replicas ...], ...] */
int
bb_slots_read(const redisReply *reply, bb_slot_range_t *out, size_t max,
    bb_slots_read_t *rd)
{
    size_t             i;
    const redisReply  *e, *node;
    bb_failover_t      addr;

    memset(rd, 0, sizeof(bb_slots_read_t));

    if (reply->type != REDIS_REPLY_ARRAY) {
        rd->error = "CLUSTER SLOTS did not answer an array";
        return -1;
    }

    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3
            || e->element[0]->type != REDIS_REPLY_INTEGER
            || e->element[1]->type != REDIS_REPLY_INTEGER
            || e->element[2]->type != REDIS_REPLY_ARRAY
            || e->element[2]->elements < 2
            || e->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
        {
            rd->error = "a slot range of CLUSTER SLOTS is malformed";
            return -1;
        }

        node = e->element[2];

        if (bb_slots_address(node->element[0], node->element[1]->integer,
                             &addr)
            != 0)
        {
            rd->unaddressed++;
            continue;
        }

        if (bb_slots_take(out, max, rd, e->element[0]->integer,
                          e->element[1]->integer, &addr)
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
bb_slots_take(bb_slot_range_t *out, size_t max, bb_slots_read_t *rd,
    long long start, long long end, const bb_failover_t *addr)
{
    long long  slot;

    if (start < 0 || end < start || end >= BB_SLOTS) {
        rd->error = "a slot range is out of bounds";
        return -1;
    }

    for (slot = start; slot <= end; slot++) {
        if (rd->seen[slot >> 3] & (1 << (slot & 7))) {
            rd->error = "two primaries serve the same slot";
            return -1;
        }

        rd->seen[slot >> 3] |= (unsigned char) (1 << (slot & 7));
    }

    if (rd->ranges == max) {
        rd->error = "too many slot ranges";
        return -1;
    }

    out[rd->ranges].start = (unsigned) start;
    out[rd->ranges].end = (unsigned) end;
    out[rd->ranges].addr = *addr;
    rd->ranges++;

    return 0;
}


static int
bb_slots_address(const redisReply *ip, long long port, bb_failover_t *addr)
{
    int   n;
    char  text[8];

    if (ip->type != REDIS_REPLY_STRING || port <= 0 || port > 65535) {
        return -1;
    }

    n = snprintf(text, sizeof(text), "%lld", port);

    return bb_failover_address(ip->str, ip->len, text, (size_t) n, addr);
}


static int
bb_slots_is(const redisReply *r, const char *s)
{
    size_t  len;

    len = strlen(s);

    return (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
           && r->len == len && memcmp(r->str, s, len) == 0;
}
