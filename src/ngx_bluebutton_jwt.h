
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * JWT access tokens (RFC 9068): JWS compact serialization verified with
 * OpenSSL against a configured key set, then strict claim checks.
 * Pure C on OpenSSL and jansson.
 */

#ifndef _NGX_BLUEBUTTON_JWT_H_INCLUDED_
#define _NGX_BLUEBUTTON_JWT_H_INCLUDED_


#include <stddef.h>

#include "ngx_bluebutton_consent.h"
#include "ngx_bluebutton_keys.h"


#define BB_ALG_RS256   0x0001
#define BB_ALG_RS384   0x0002
#define BB_ALG_RS512   0x0004
#define BB_ALG_PS256   0x0008
#define BB_ALG_PS384   0x0010
#define BB_ALG_PS512   0x0020
#define BB_ALG_ES256   0x0040
#define BB_ALG_ES384   0x0080
#define BB_ALG_ES512   0x0100
#define BB_ALG_EDDSA   0x0200
#define BB_ALG_HS256   0x0400
#define BB_ALG_HS384   0x0800
#define BB_ALG_HS512   0x1000

/* asymmetric algorithms only: HMAC must be asked for by name */
#define BB_ALG_DEFAULT  0x03ff

#define BB_JWT_HEADER_MAX   2048     /* decoded */
#define BB_JWT_PAYLOAD_MAX  8192     /* decoded */


typedef struct {
    unsigned     algorithms;
    long long    leeway;
    const char  *issuer;             /* NULL: not checked */
    const char  *audience;           /* NULL: not checked */
} bb_jwt_policy_t;


/* Releases the digests fetched while verifying. */
void bb_jwt_exit(void);

/* The bit of an algorithm name, or 0. */
unsigned bb_jwt_algorithm(const char *name, size_t len);

/*
 * The kid of a JWT's header and the iss of its claims, unverified, for
 * the log line of its refusal: "" where absent or not a valid string.
 * With kid NULL the header is not read (the iss alone picks an issuer).
 * Returns -1 when the token is not three segments.
 */
int bb_jwt_peek(const char *token, size_t len, char *kid, size_t kid_size,
    char *iss, size_t iss_size);

/*
 * A claim of a JWT verified before: a string as it is, an integer or a
 * boolean as text.  Returns its length, or -1 when absent, of another
 * type, or longer than size - 1.  out is not NUL-terminated.
 */
long bb_jwt_claim(const char *token, size_t len, const char *name,
    char *out, size_t size);

/* The BB_ALG_* bits of the algorithms some key of the set can verify. */
unsigned bb_jwt_keyset_algorithms(const bb_keyset_t *keys);

/*
 * Returns 1 when bb_jwt_verify() refused for want of a key: the token
 * names a key id the set does not have, or no key fits its algorithm.
 */
int bb_jwt_key_unknown(const char *why);

/* 1 for the characters a JWT is made of: base64url, "." and "=" */
extern const unsigned char  bb_jwt_chars[256];

/* the dots between three segments (JWS) or five (JWE) */
#define bb_jwt_segments(dots)  ((dots) == 2 || (dots) == 4)

/*
 * Returns 1 for three (JWS) or five (JWE) base64url segments: every
 * character in bb_jwt_chars, bb_jwt_segments() of dots.
 */
int bb_jwt_looks_like(const char *token, size_t len);

/*
 * Verifies the token and fills *out from its claims.  Returns
 * BB_DECISION_ALLOW (signature and claims good; consent still to check),
 * or BB_DECISION_INVALID_TOKEN or BB_DECISION_TOKEN_EXPIRED with *why.
 */
int bb_jwt_verify(const char *token, size_t len, const bb_keyset_t *keys,
    const bb_jwt_policy_t *policy, long long now, bb_token_t *out,
    const char **why);


#endif /* _NGX_BLUEBUTTON_JWT_H_INCLUDED_ */
