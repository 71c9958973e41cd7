
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * What sentinels say of a primary, read without nginx: the address in a
 * get-master-addr-by-name answer, and the +switch-master and
 * +promoted-slave announcements.  Only IP addresses are taken: a worker
 * never resolves names.
 */

#ifndef _NGX_BLUEBUTTON_FAILOVER_H_INCLUDED_
#define _NGX_BLUEBUTTON_FAILOVER_H_INCLUDED_


#include <stddef.h>


#define BB_FAILOVER_IP_MAX  45     /* INET6_ADDRSTRLEN - 1 */


typedef struct {
    const char     *master;       /* the name the sentinels monitor */
    size_t          master_len;
    const char     *old_ip;       /* as announced, for logs */
    size_t          old_ip_len;
    const char     *old_port;
    size_t          old_port_len;

    /* the new primary */
    const char     *ip;
    size_t          ip_len;
    unsigned        port;
    int             family;       /* 4 or 6 */
    unsigned char   addr[16];     /* network order */
} bb_failover_t;


/* an IP address and a port 1-65535, as sentinels write them */
int bb_failover_address(const char *ip, size_t ip_len, const char *port,
    size_t port_len, bb_failover_t *f);

/*
 * A message on "+switch-master" ("<name> <old ip> <old port> <new ip>
 * <new port>") or "+promoted-slave" ("slave <ip:port> <ip> <port> @
 * <name> <old ip> <old port>").  0 when it is one, with a usable address;
 * the pointers are into payload.
 */
int bb_failover_parse(const char *channel, size_t channel_len,
    const char *payload, size_t len, bb_failover_t *f);


#endif /* _NGX_BLUEBUTTON_FAILOVER_H_INCLUDED_ */
