
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * An RFC 7662 token introspection answer, read as strictly as a token
 * record: "active" first; for an active token the client, the patient
 * (SMART's "patient" or a member the operator names), the scopes and the
 * expiry take the place of the record stored in Redis.  Pure C.
 */

#ifndef _NGX_BLUEBUTTON_INTROSPECT_H_INCLUDED_
#define _NGX_BLUEBUTTON_INTROSPECT_H_INCLUDED_


#include <stddef.h>

#include "ngx_bluebutton_consent.h"


/* an answer larger than this is refused unread */
#define BB_INTROSPECTION_MAX  16384


typedef struct {
    int          active;
    int          other_audience;  /* active, but not for this audience */
    bb_token_t   token;           /* when active */
} bb_introspection_t;


/*
 * Reads an introspection answer; patient names the member that holds the
 * patient ("patient" when NULL).  An active token needs a valid
 * client_id, patient and exp; scope and iat may be absent.  With an
 * audience, an active token whose "aud" does not name it is taken as not
 * active, other_audience set (RFC 7662 section 4: a token meant for
 * another resource server).  Returns 0, or -1 with a static reason in
 * *err.
 */
int bb_introspection_parse(const char *json, size_t len, const char *patient,
    const char *audience, bb_introspection_t *out, const char **err);


#endif /* _NGX_BLUEBUTTON_INTROSPECT_H_INCLUDED_ */
