
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Sentinel announcements: any channel and payload (split at the first
 * NUL) is taken or refused, never read past; what is taken points into
 * the payload and names a port in range.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_bluebutton_failover.h"


static int
within(const char *p, size_t n, const char *start, size_t len)
{
    return p >= start && p + n <= start + len;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          clen;
    const char     *channel, *payload, *nul;
    bb_failover_t   f;

    channel = (const char *) data;
    nul = memchr(data, '\0', size);
    clen = nul ? (size_t) (nul - channel) : size;
    payload = nul ? nul + 1 : channel + size;

    if (bb_failover_parse(channel, clen, payload,
                          size - (size_t) (payload - channel), &f)
        != 0)
    {
        return 0;
    }

    size -= (size_t) (payload - channel);

    if (f.port == 0 || f.port > 65535
        || (f.family != 4 && f.family != 6)
        || f.master_len == 0 || f.ip_len == 0
        || f.ip_len > BB_FAILOVER_IP_MAX
        || !within(f.master, f.master_len, payload, size)
        || !within(f.ip, f.ip_len, payload, size)
        || !within(f.old_ip, f.old_ip_len, payload, size)
        || !within(f.old_port, f.old_port_len, payload, size)
        || memchr(f.ip, ' ', f.ip_len) != NULL)
    {
        abort();
    }

    return 0;
}
