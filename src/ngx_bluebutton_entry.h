
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * What Redis said about one token, as the decision cache keeps it: the
 * token's record or verified claims, its grant and its revocation.  The
 * decision is made again from it on every request, so that expiry is
 * judged at the time of the request.  Pure C.
 */

#ifndef _NGX_BLUEBUTTON_ENTRY_H_INCLUDED_
#define _NGX_BLUEBUTTON_ENTRY_H_INCLUDED_


#include <stddef.h>

#include "ngx_bluebutton_consent.h"


#define BB_ENTRY_OPAQUE  1
#define BB_ENTRY_JWT     2


typedef struct {
    unsigned char   kind;
    unsigned char   found;        /* an opaque token's record exists */
    unsigned char   granted;      /* the grant exists */
    unsigned char   revoked;      /* a JWT's jti is revoked */
    bb_grant_t      grant;        /* when granted */
    bb_token_t      token;        /* when found */
} bb_entry_t;


/* Bytes bb_entry_pack() needs for the entry. */
size_t bb_entry_size(const bb_entry_t *e);

/* Writes the entry into buf of bb_entry_size() bytes; returns that size. */
size_t bb_entry_pack(const bb_entry_t *e, unsigned char *buf);

/* Reads a packed entry back; returns 0, or -1 for bytes it did not write. */
int bb_entry_unpack(const unsigned char *buf, size_t len, bb_entry_t *e);

/*
 * The decision at time now.  An unknown or revoked token is
 * BB_DECISION_INVALID_TOKEN; otherwise bb_consent_decide() decides.
 */
bb_decision_t bb_entry_decide(const bb_entry_t *e, long long now,
    long long leeway, const char **why);

/*
 * When the entry stops being true by itself (the token's exp, the grant's
 * expires), or 0 when it has no such end (an unknown token).
 */
long long bb_entry_ends(const bb_entry_t *e);


#endif /* _NGX_BLUEBUTTON_ENTRY_H_INCLUDED_ */
