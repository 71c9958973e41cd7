
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Redis Cluster without nginx: the hash slot of a key (CRC16, hash tags),
 * the MOVED and ASK redirections, and which primary serves which slots as
 * CLUSTER SHARDS (Redis 7) or CLUSTER SLOTS tell it.  Only IP addresses
 * are taken: a worker never resolves a name.
 */

#ifndef _NGX_BLUEBUTTON_SLOTS_H_INCLUDED_
#define _NGX_BLUEBUTTON_SLOTS_H_INCLUDED_


#include <stddef.h>

#include <hiredis/hiredis.h>

#include "ngx_bluebutton_failover.h"


#define BB_SLOTS  16384


typedef struct {
    unsigned        start;        /* first and last slot, inclusive */
    unsigned        end;
    bb_failover_t   addr;         /* the primary; ip points into the reply */
} bb_slot_range_t;


typedef struct {
    int             ask;          /* ASK: this command only; else MOVED */
    unsigned        slot;
    const char     *host;         /* empty: the node that answered */
    size_t          host_len;
    unsigned        port;
} bb_redirect_t;


typedef struct {
    size_t          ranges;       /* taken */
    size_t          unaddressed;  /* primaries without an IP address */
    size_t          unhealthy;    /* primaries not "online" */
    const char     *error;        /* why the whole reply was refused */
    unsigned char   seen[BB_SLOTS / 8];  /* slots taken so far */
} bb_slots_read_t;


/* the slot of a key: the CRC16 of its hash tag, or of all of it */
unsigned bb_slot(const char *key, size_t len);

/* "MOVED <slot> <host>:<port>" or "ASK ...": 0 when it is one */
int bb_redirect_parse(const char *err, size_t len, bb_redirect_t *r);

/*
 * The primaries' slot ranges, at most max of them, from a CLUSTER SHARDS
 * reply (tls: the "tls-port" of each node rather than its "port") or a
 * CLUSTER SLOTS reply.  0 with rd->ranges set, or -1 with rd->error:
 * a reply of another shape, a slot out of range or served twice.
 */
int bb_shards_read(const redisReply *reply, int tls, bb_slot_range_t *out,
    size_t max, bb_slots_read_t *rd);
int bb_slots_read(const redisReply *reply, bb_slot_range_t *out, size_t max,
    bb_slots_read_t *rd);


#endif /* _NGX_BLUEBUTTON_SLOTS_H_INCLUDED_ */
