
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Sentinel announcements are single-space separated fields; anything else
 * (another field count, a port that is not a number in range, a host name
 * where an address should be) is refused whole.
 */

#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "ngx_bluebutton_failover.h"


#define BB_FAILOVER_FIELDS  8


static size_t bb_failover_split(const char *p, size_t len,
    const char **field, size_t *field_len);


int
bb_failover_address(const char *ip, size_t ip_len, const char *port,
    size_t port_len, bb_failover_t *f)
{
    char      text[BB_FAILOVER_IP_MAX + 1];
    size_t    i;
    unsigned  n;

    if (ip_len == 0 || ip_len > BB_FAILOVER_IP_MAX
        || port_len == 0 || port_len > 5)
    {
        return -1;
    }

    n = 0;

    for (i = 0; i < port_len; i++) {
        if (port[i] < '0' || port[i] > '9') {
            return -1;
        }

        n = n * 10 + (unsigned) (port[i] - '0');
    }

    if (n == 0 || n > 65535) {
        return -1;
    }

    memcpy(text, ip, ip_len);
    text[ip_len] = '\0';

    if (memchr(ip, '\0', ip_len) != NULL) {
        return -1;
    }

    if (inet_pton(AF_INET, text, f->addr) == 1) {
        f->family = 4;

    } else if (inet_pton(AF_INET6, text, f->addr) == 1) {
        f->family = 6;

    } else {
        return -1;
    }

    f->ip = ip;
    f->ip_len = ip_len;
    f->port = n;

    return 0;
}


int
bb_failover_parse(const char *channel, size_t channel_len,
    const char *payload, size_t len, bb_failover_t *f)
{
    size_t       n, name, old, ip;
    size_t       field_len[BB_FAILOVER_FIELDS];
    const char  *field[BB_FAILOVER_FIELDS];

    n = bb_failover_split(payload, len, field, field_len);

    if (channel_len == 14 && memcmp(channel, "+switch-master", 14) == 0
        && n == 5)
    {
        name = 0; old = 1; ip = 3;

    } else if (channel_len == 15
               && memcmp(channel, "+promoted-slave", 15) == 0
               && n == 8 && field_len[4] == 1 && field[4][0] == '@')
    {
        name = 5; old = 6; ip = 2;

    } else {
        return -1;
    }

    if (field_len[name] == 0) {
        return -1;
    }

    if (bb_failover_address(field[ip], field_len[ip], field[ip + 1],
                            field_len[ip + 1], f)
        != 0)
    {
        return -1;
    }

    f->master = field[name];
    f->master_len = field_len[name];
    f->old_ip = field[old];
    f->old_ip_len = field_len[old];
    f->old_port = field[old + 1];
    f->old_port_len = field_len[old + 1];

    return 0;
}


/* the field count, or 0 when there are more, or empty ones */
static size_t
bb_failover_split(const char *p, size_t len, const char **field,
    size_t *field_len)
{
    size_t       n;
    const char  *last, *start;

    last = p + len;
    n = 0;

    while (p < last) {
        if (n == BB_FAILOVER_FIELDS) {
            return 0;
        }

        start = p;

        while (p < last && *p != ' ') {
            p++;
        }

        if (p == start) {
            return 0;
        }

        field[n] = start;
        field_len[n++] = (size_t) (p - start);

        if (p < last && ++p == last) {
            /* a trailing space */
            return 0;
        }
    }

    return n;
}
