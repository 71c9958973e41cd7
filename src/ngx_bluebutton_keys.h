
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Verification keys for JWT access tokens, read from a JWKS or PEM text
 * at configuration time into OpenSSL keys.  Pure C on OpenSSL and jansson.
 */

#ifndef _NGX_BLUEBUTTON_KEYS_H_INCLUDED_
#define _NGX_BLUEBUTTON_KEYS_H_INCLUDED_


#include <stddef.h>
#include <openssl/evp.h>


#define BB_KEY_RSA   1
#define BB_KEY_EC    2
#define BB_KEY_OKP   3       /* Ed25519 */
#define BB_KEY_OCT   4       /* HMAC secret */

#define BB_KID_MAX   128
#define BB_KEYS_MAX  64


typedef struct {
    int             family;
    char            kid[BB_KID_MAX + 1];    /* "" when none */
    char            alg[16];                /* the JWK's "alg", or "" */
    int             curve;                  /* EC: 256, 384 or 521 */
    EVP_PKEY       *pkey;
    unsigned char  *secret;
    size_t          secret_len;
} bb_key_t;


typedef struct {
    bb_key_t        keys[BB_KEYS_MAX];
    size_t          n;
} bb_keyset_t;


/*
 * Reads every key of a JWKS ({"keys":[...]}) or of PEM public keys into
 * set, which the caller zeroes first.  Returns 0, or -1 with a message
 * naming the key in err.
 */
int bb_keyset_parse(const char *text, size_t len, bb_keyset_t *set,
    char *err, size_t errlen);

void bb_keyset_free(bb_keyset_t *set);


#endif /* _NGX_BLUEBUTTON_KEYS_H_INCLUDED_ */
