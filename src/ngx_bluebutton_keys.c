
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * A gateway verifies and never signs: key sets holding private material
 * are refused, as are RSA keys under 2048 bits and HMAC secrets under 32
 * bytes.
 */

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "ngx_bluebutton_keys.h"
#include "ngx_bluebutton_base64url.h"
#include "ngx_bluebutton_json.h"


#define BB_JWK_FIELD_MAX  1024       /* an 8192-bit modulus, decoded */


static int bb_keyset_read(const char *text, size_t len, bb_keyset_t *set,
    char *err, size_t errlen);
static int bb_jwk_parse(json_t *jwk, bb_key_t *key, char *err,
    size_t errlen);
static long bb_jwk_bytes(json_t *jwk, const char *name, unsigned char *out,
    size_t size);
static EVP_PKEY *bb_jwk_rsa(json_t *jwk, const char **why);
static EVP_PKEY *bb_jwk_ec(json_t *jwk, int *curve, const char **why);
static EVP_PKEY *bb_jwk_okp(json_t *jwk, const char **why);
static int bb_pem_parse(const char *text, size_t len, bb_keyset_t *set,
    char *err, size_t errlen);
static int bb_key_check(bb_key_t *key, const char **why);
static int bb_contains(const char *text, size_t len, const char *what);


int
bb_keyset_parse(const char *text, size_t len, bb_keyset_t *set, char *err,
    size_t errlen)
{
    int  rc;

    rc = bb_keyset_read(text, len, set, err, errlen);

    /*
     * Reading PEM ends on an error by design (no further key), and a key
     * refused leaves OpenSSL's reasons: a key set fetched by a worker must
     * leave nothing queued for the worker's next TLS call to report.
     */
    ERR_clear_error();

    return rc;
}


static int
bb_keyset_read(const char *text, size_t len, bb_keyset_t *set, char *err,
    size_t errlen)
{
    size_t       i, j;
    json_t      *doc, *keys;
    const char  *why;

    while (len && (*text == ' ' || *text == '\n' || *text == '\r'
                   || *text == '\t'))
    {
        text++;
        len--;
    }

    if (len == 0 || *text != '{') {
        return bb_pem_parse(text, len, set, err, errlen);
    }

    doc = bb_json_object(text, len, 1024 * 1024, 6, &why);
    if (doc == NULL) {
        snprintf(err, errlen, "is not a JWKS: %s", why);
        return -1;
    }

    keys = json_object_get(doc, "keys");

    if (!json_is_array(keys)) {
        snprintf(err, errlen, "is not a JWKS: no \"keys\" array");
        json_decref(doc);
        return -1;
    }

    if (json_array_size(keys) == 0) {
        snprintf(err, errlen, "is an empty key set: \"keys\" lists none");
        json_decref(doc);
        return -1;
    }

    if (json_array_size(keys) > BB_KEYS_MAX) {
        snprintf(err, errlen, "has more than %d keys", BB_KEYS_MAX);
        json_decref(doc);
        return -1;
    }

    for (i = 0; i < json_array_size(keys); i++) {
        if (bb_jwk_parse(json_array_get(keys, i), &set->keys[set->n], err,
                         errlen)
            != 0)
        {
            char  what[64];

            snprintf(what, sizeof(what), "%s", err);
            snprintf(err, errlen, "key #%zu%s%s%s: %s", i + 1,
                     set->keys[set->n].kid[0] ? " (kid \"" : "",
                     set->keys[set->n].kid,
                     set->keys[set->n].kid[0] ? "\")" : "", what);
            bb_keyset_free(set);
            json_decref(doc);
            return -1;
        }

        /* a kid must say which key: never two that differ */

        for (j = 0; j < set->n; j++) {
            if (set->keys[set->n].kid[0]
                && strcmp(set->keys[j].kid, set->keys[set->n].kid) == 0)
            {
                snprintf(err, errlen, "has two keys with kid \"%s\" "
                         "(#%zu and #%zu)", set->keys[j].kid, j + 1, i + 1);
                set->n++;
                bb_keyset_free(set);
                json_decref(doc);
                return -1;
            }
        }

        set->n++;
    }

    json_decref(doc);

    return 0;
}


static int
bb_jwk_parse(json_t *jwk, bb_key_t *key, char *err, size_t errlen)
{
    long         n;
    char         kty[8];
    const char  *why;

    memset(key, 0, sizeof(bb_key_t));

    if (!json_is_object(jwk)) {
        snprintf(err, errlen, "is not an object");
        return -1;
    }

    if (bb_json_string(jwk, "kid", key->kid, sizeof(key->kid)) < 0) {
        snprintf(err, errlen, "has an invalid \"kid\"");
        return -1;
    }

    if (bb_json_string(jwk, "alg", key->alg, sizeof(key->alg)) < 0) {
        snprintf(err, errlen, "has an invalid \"alg\"");
        return -1;
    }

    if (bb_json_string(jwk, "kty", kty, sizeof(kty)) != 1) {
        snprintf(err, errlen, "has no valid \"kty\"");
        return -1;
    }

    if (json_object_get(jwk, "d") || json_object_get(jwk, "p")) {
        snprintf(err, errlen, "holds private key material");
        return -1;
    }

    why = NULL;

    if (strcmp(kty, "RSA") == 0) {
        key->family = BB_KEY_RSA;
        key->pkey = bb_jwk_rsa(jwk, &why);

    } else if (strcmp(kty, "EC") == 0) {
        key->family = BB_KEY_EC;
        key->pkey = bb_jwk_ec(jwk, &key->curve, &why);

    } else if (strcmp(kty, "OKP") == 0) {
        key->family = BB_KEY_OKP;
        key->pkey = bb_jwk_okp(jwk, &why);

    } else if (strcmp(kty, "oct") == 0) {
        key->family = BB_KEY_OCT;
        key->secret = OPENSSL_malloc(BB_JWK_FIELD_MAX);

        if (key->secret == NULL) {
            why = "out of memory";

        } else {
            n = bb_jwk_bytes(jwk, "k", key->secret, BB_JWK_FIELD_MAX);

            if (n < 0) {
                why = "has no valid \"k\"";

            } else {
                key->secret_len = (size_t) n;
            }
        }

    } else {
        why = "has an unsupported \"kty\"";
    }

    if (why == NULL && key->family != BB_KEY_OCT && key->pkey == NULL) {
        why = "could not be built";
    }

    if (why == NULL) {
        (void) bb_key_check(key, &why);
    }

    if (why) {
        snprintf(err, errlen, "%s", why);

        if (key->pkey) {
            EVP_PKEY_free(key->pkey);
            key->pkey = NULL;
        }

        if (key->secret) {
            OPENSSL_clear_free(key->secret, BB_JWK_FIELD_MAX);
            key->secret = NULL;
        }

        return -1;
    }

    return 0;
}


static int
bb_key_check(bb_key_t *key, const char **why)
{
    if (key->family == BB_KEY_RSA && EVP_PKEY_get_bits(key->pkey) < 2048) {
        *why = "is an RSA key shorter than 2048 bits";
        return -1;
    }

    if (key->family == BB_KEY_OCT && key->secret_len < 32) {
        *why = "is an HMAC secret shorter than 32 bytes";
        return -1;
    }

    *why = NULL;

    return 0;
}


static long
bb_jwk_bytes(json_t *jwk, const char *name, unsigned char *out, size_t size)
{
    json_t  *v;

    v = json_object_get(jwk, name);

    if (!json_is_string(v)) {
        return -1;
    }

    return bb_base64url_decode(json_string_value(v), json_string_length(v),
                               out, size);
}


static EVP_PKEY *
bb_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY      *pkey;
    OSSL_PARAM    *params;
    EVP_PKEY_CTX  *ctx;

    pkey = NULL;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

    if (params == NULL || ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        pkey = NULL;
    }

    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);

    return pkey;
}


static EVP_PKEY *
bb_jwk_rsa(json_t *jwk, const char **why)
{
    long             nlen, elen;
    BIGNUM          *n, *e;
    EVP_PKEY        *pkey;
    unsigned char    nb[BB_JWK_FIELD_MAX], eb[16];
    OSSL_PARAM_BLD  *bld;

    nlen = bb_jwk_bytes(jwk, "n", nb, sizeof(nb));
    elen = bb_jwk_bytes(jwk, "e", eb, sizeof(eb));

    if (nlen <= 0 || elen <= 0) {
        *why = "has no valid \"n\" and \"e\"";
        return NULL;
    }

    n = BN_bin2bn(nb, (int) nlen, NULL);
    e = BN_bin2bn(eb, (int) elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    pkey = NULL;

    if (n && e && bld
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
    {
        pkey = bb_pkey_fromdata("RSA", bld);
    }

    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);

    return pkey;
}


static EVP_PKEY *
bb_jwk_ec(json_t *jwk, int *curve, const char **why)
{
    long             xlen, ylen;
    char             crv[8];
    size_t           field;
    EVP_PKEY        *pkey;
    const char      *group;
    unsigned char    x[80], y[80], point[1 + 2 * 66];
    OSSL_PARAM_BLD  *bld;

    if (bb_json_string(jwk, "crv", crv, sizeof(crv)) != 1) {
        *why = "has no valid \"crv\"";
        return NULL;
    }

    if (strcmp(crv, "P-256") == 0) {
        group = "prime256v1"; field = 32; *curve = 256;

    } else if (strcmp(crv, "P-384") == 0) {
        group = "secp384r1"; field = 48; *curve = 384;

    } else if (strcmp(crv, "P-521") == 0) {
        group = "secp521r1"; field = 66; *curve = 521;

    } else {
        *why = "has an unsupported \"crv\"";
        return NULL;
    }

    xlen = bb_jwk_bytes(jwk, "x", x, sizeof(x));
    ylen = bb_jwk_bytes(jwk, "y", y, sizeof(y));

    if (xlen != (long) field || ylen != (long) field) {
        *why = "has no valid \"x\" and \"y\" for its curve";
        return NULL;
    }

    point[0] = 0x04;
    memcpy(point + 1, x, field);
    memcpy(point + 1 + field, y, field);

    bld = OSSL_PARAM_BLD_new();
    pkey = NULL;

    if (bld
        && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                           group, 0)
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                            point, 1 + 2 * field))
    {
        pkey = bb_pkey_fromdata("EC", bld);
    }

    OSSL_PARAM_BLD_free(bld);

    if (pkey == NULL) {
        *why = "is not a point on its curve";
    }

    return pkey;
}


static EVP_PKEY *
bb_jwk_okp(json_t *jwk, const char **why)
{
    long           xlen;
    char           crv[16];
    unsigned char  x[64];

    if (bb_json_string(jwk, "crv", crv, sizeof(crv)) != 1
        || strcmp(crv, "Ed25519") != 0)
    {
        *why = "is an OKP key that is not Ed25519";
        return NULL;
    }

    xlen = bb_jwk_bytes(jwk, "x", x, sizeof(x));

    if (xlen != 32) {
        *why = "has no valid \"x\"";
        return NULL;
    }

    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
}


static int
bb_pem_parse(const char *text, size_t len, bb_keyset_t *set, char *err,
    size_t errlen)
{
    BIO          *bio;
    EVP_PKEY     *pkey;
    bb_key_t     *key;
    const char   *why;

    if (bb_contains(text, len, "PRIVATE KEY-----")) {
        snprintf(err, errlen, "holds a private key");
        return -1;
    }

    bio = BIO_new_mem_buf(text, (int) len);
    if (bio == NULL) {
        snprintf(err, errlen, "could not be read");
        return -1;
    }

    while ((pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) != NULL) {

        if (set->n == BB_KEYS_MAX) {
            EVP_PKEY_free(pkey);
            snprintf(err, errlen, "has more than %d keys", BB_KEYS_MAX);
            goto failed;
        }

        key = &set->keys[set->n];
        memset(key, 0, sizeof(bb_key_t));
        key->pkey = pkey;

        switch (EVP_PKEY_get_base_id(pkey)) {

        case EVP_PKEY_RSA:
        case EVP_PKEY_RSA_PSS:
            key->family = BB_KEY_RSA;
            break;

        case EVP_PKEY_EC:
            key->family = BB_KEY_EC;
            key->curve = EVP_PKEY_get_bits(pkey);
            break;

        case EVP_PKEY_ED25519:
            key->family = BB_KEY_OKP;
            break;

        default:
            EVP_PKEY_free(pkey);
            snprintf(err, errlen, "PEM key #%zu is of an unsupported type",
                     set->n + 1);
            goto failed;
        }

        set->n++;

        if (bb_key_check(key, &why) != 0) {
            snprintf(err, errlen, "PEM key #%zu %s", set->n, why);
            goto failed;
        }
    }

    BIO_free(bio);

    if (set->n == 0) {
        snprintf(err, errlen, "holds no PEM public key and is not a JWKS");
        return -1;
    }

    return 0;

failed:

    BIO_free(bio);
    bb_keyset_free(set);

    return -1;
}


static int
bb_contains(const char *text, size_t len, const char *what)
{
    size_t  i, n;

    n = strlen(what);

    for (i = 0; i + n <= len; i++) {
        if (memcmp(text + i, what, n) == 0) {
            return 1;
        }
    }

    return 0;
}


void
bb_keyset_free(bb_keyset_t *set)
{
    size_t  i;

    for (i = 0; i < set->n; i++) {
        EVP_PKEY_free(set->keys[i].pkey);

        if (set->keys[i].secret) {
            OPENSSL_clear_free(set->keys[i].secret, BB_JWK_FIELD_MAX);
        }
    }

    set->n = 0;
}
