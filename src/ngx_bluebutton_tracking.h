
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Server-assisted invalidation for the decision cache: each worker's
 * lookup connection has Redis track the keys it reads, and Redis pushes
 * a message to the same worker's subscriber whenever one of them changes.
 */

#ifndef _NGX_BLUEBUTTON_TRACKING_H_INCLUDED_
#define _NGX_BLUEBUTTON_TRACKING_H_INCLUDED_


#include "ngx_bluebutton.h"


/* in a worker, for a Redis with caches: starts both connections */
ngx_int_t ngx_bluebutton_tracking_init(ngx_bluebutton_redis_peer_t *peer,
    ngx_cycle_t *cycle);

void ngx_bluebutton_tracking_exit(ngx_bluebutton_redis_peer_t *peer);


#endif /* _NGX_BLUEBUTTON_TRACKING_H_INCLUDED_ */
