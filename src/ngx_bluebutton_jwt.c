
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Everything cheap comes first: sizes, base64url, JSON depth, "alg" and
 * key selection are checked before any signature is computed, and claims
 * are believed only after it verified.
 */

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "ngx_bluebutton_jwt.h"
#include "ngx_bluebutton_base64url.h"
#include "ngx_bluebutton_decision.h"
#include "ngx_bluebutton_json.h"
#include "ngx_bluebutton_record.h"
#include "ngx_bluebutton_scope.h"


typedef struct {
    const char  *name;
    unsigned     bit;
    int          family;
    const char  *md;
    int          curve;          /* ES*: 256, 384, 521 */
    int          pss;
} bb_jwt_alg_t;


static const bb_jwt_alg_t  bb_jwt_algs[] = {
    { "RS256", BB_ALG_RS256, BB_KEY_RSA, "SHA256", 0, 0 },
    { "RS384", BB_ALG_RS384, BB_KEY_RSA, "SHA384", 0, 0 },
    { "RS512", BB_ALG_RS512, BB_KEY_RSA, "SHA512", 0, 0 },
    { "PS256", BB_ALG_PS256, BB_KEY_RSA, "SHA256", 0, 1 },
    { "PS384", BB_ALG_PS384, BB_KEY_RSA, "SHA384", 0, 1 },
    { "PS512", BB_ALG_PS512, BB_KEY_RSA, "SHA512", 0, 1 },
    { "ES256", BB_ALG_ES256, BB_KEY_EC, "SHA256", 256, 0 },
    { "ES384", BB_ALG_ES384, BB_KEY_EC, "SHA384", 384, 0 },
    { "ES512", BB_ALG_ES512, BB_KEY_EC, "SHA512", 521, 0 },
    { "EdDSA", BB_ALG_EDDSA, BB_KEY_OKP, NULL, 0, 0 },
    { "HS256", BB_ALG_HS256, BB_KEY_OCT, "SHA256", 0, 0 },
    { "HS384", BB_ALG_HS384, BB_KEY_OCT, "SHA384", 0, 0 },
    { "HS512", BB_ALG_HS512, BB_KEY_OCT, "SHA512", 0, 0 },
    { NULL, 0, 0, NULL, 0, 0 }
};


/* the refusals that a newer key set could turn into an allow */
static const char  bb_jwt_unknown_kid[] =
    "The access token's key id is not known";
static const char  bb_jwt_unknown_alg_key[] =
    "No key of the access token's algorithm is known";


static const bb_jwt_alg_t *bb_jwt_alg(const char *name, size_t len);
static EVP_MD *bb_jwt_md(const char *name);
static const bb_key_t *bb_jwt_key(const bb_keyset_t *keys,
    const bb_jwt_alg_t *alg, const char *kid, int has_kid, const char **why);
static int bb_jwt_signature_check(const bb_jwt_alg_t *alg,
    const bb_key_t *key, const unsigned char *data, size_t len,
    const unsigned char *sig, size_t siglen);
static int bb_jwt_signature_ok(const bb_jwt_alg_t *alg, const bb_key_t *key,
    const unsigned char *data, size_t len, const unsigned char *sig,
    size_t siglen);
static int bb_jwt_claims(json_t *claims, const bb_jwt_policy_t *policy,
    long long now, bb_token_t *out, const char **why);
static int bb_jwt_audience_ok(json_t *aud, const char *audience);
static int bb_jwt_scopes(json_t *claims, char *buf, size_t size);


int
bb_jwt_key_unknown(const char *why)
{
    return why == bb_jwt_unknown_kid || why == bb_jwt_unknown_alg_key;
}


/* one segment decoded and read as a JSON object, or NULL */
static json_t *
bb_jwt_segment(const char *p, size_t len, unsigned char *buf, size_t size)
{
    long         n;
    const char  *err;

    n = bb_base64url_decode(p, len, buf, size);

    if (n <= 0) {
        return NULL;
    }

    return bb_json_object((const char *) buf, n, size, BB_JSON_MAX_DEPTH,
                          &err);
}


int
bb_jwt_peek(const char *token, size_t len, char *kid, size_t kid_size,
    char *iss, size_t iss_size)
{
    json_t         *obj;
    const char     *dot1, *dot2, *end;
    unsigned char   buf[BB_JWT_PAYLOAD_MAX];

    iss[0] = '\0';

    end = token + len;
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', end - dot1 - 1) : NULL;

    if (dot1 == NULL || dot2 == NULL) {
        return -1;
    }

    if (kid != NULL) {
        kid[0] = '\0';

        obj = bb_jwt_segment(token, dot1 - token, buf, BB_JWT_HEADER_MAX);
        if (obj) {
            (void) bb_json_string(obj, "kid", kid, kid_size);
            json_decref(obj);
        }
    }

    obj = bb_jwt_segment(dot1 + 1, dot2 - dot1 - 1, buf, sizeof(buf));
    if (obj) {
        (void) bb_json_string(obj, "iss", iss, iss_size);
        json_decref(obj);
    }

    return 0;
}


long
bb_jwt_claim(const char *token, size_t len, const char *name, char *out,
    size_t size)
{
    int             n;
    long            rc;
    json_t         *claims, *v;
    const char     *dot1, *dot2, *end, *s;
    unsigned char   buf[BB_JWT_PAYLOAD_MAX];

    end = token + len;
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', end - dot1 - 1) : NULL;

    if (dot1 == NULL || dot2 == NULL || size == 0) {
        return -1;
    }

    claims = bb_jwt_segment(dot1 + 1, dot2 - dot1 - 1, buf, sizeof(buf));
    if (claims == NULL) {
        return -1;
    }

    rc = -1;
    v = json_object_get(claims, name);

    if (json_is_string(v)) {
        s = json_string_value(v);

        if (json_string_length(v) < size
            && bb_record_text_ok(s, json_string_length(v)))
        {
            memcpy(out, s, json_string_length(v));
            rc = (long) json_string_length(v);
        }

    } else if (json_is_integer(v) || json_is_boolean(v)) {
        n = json_is_integer(v)
            ? snprintf(out, size, "%lld", (long long) json_integer_value(v))
            : snprintf(out, size, "%s", json_is_true(v) ? "true" : "false");

        if (n > 0 && (size_t) n < size) {
            rc = n;
        }
    }

    json_decref(claims);

    return rc;
}


unsigned
bb_jwt_keyset_algorithms(const bb_keyset_t *keys)
{
    size_t               i;
    unsigned             bits;
    const bb_key_t      *k;
    const bb_jwt_alg_t  *a;

    bits = 0;

    for (i = 0; i < keys->n; i++) {
        k = &keys->keys[i];

        for (a = bb_jwt_algs; a->name; a++) {
            if (k->family == a->family
                && (k->alg[0] == '\0' || strcmp(k->alg, a->name) == 0)
                && (a->family != BB_KEY_EC || k->curve == a->curve))
            {
                bits |= a->bit;
            }
        }
    }

    return bits;
}


unsigned
bb_jwt_algorithm(const char *name, size_t len)
{
    const bb_jwt_alg_t  *a;

    a = bb_jwt_alg(name, len);

    return a ? a->bit : 0;
}


static const bb_jwt_alg_t *
bb_jwt_alg(const char *name, size_t len)
{
    const bb_jwt_alg_t  *a;

    for (a = bb_jwt_algs; a->name; a++) {
        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0) {
            return a;
        }
    }

    return NULL;
}


/* fetched once per process and kept: a fetch per token costs more */
static EVP_MD  *bb_jwt_sha256, *bb_jwt_sha384, *bb_jwt_sha512;


static EVP_MD *
bb_jwt_md(const char *name)
{
    EVP_MD  **md;

    md = strcmp(name, "SHA256") == 0 ? &bb_jwt_sha256
         : strcmp(name, "SHA384") == 0 ? &bb_jwt_sha384 : &bb_jwt_sha512;

    if (*md == NULL) {
        *md = EVP_MD_fetch(NULL, name, NULL);
    }

    return *md;
}


void
bb_jwt_exit(void)
{
    EVP_MD_free(bb_jwt_sha256);
    EVP_MD_free(bb_jwt_sha384);
    EVP_MD_free(bb_jwt_sha512);

    bb_jwt_sha256 = NULL;
    bb_jwt_sha384 = NULL;
    bb_jwt_sha512 = NULL;
}


/* by a table: a JWT is hundreds of characters, each looked at once */
const unsigned char  bb_jwt_chars[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};


int
bb_jwt_looks_like(const char *token, size_t len)
{
    size_t          i, dots;
    unsigned char   c;

    dots = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) token[i];

        if (!bb_jwt_chars[c]) {
            return 0;
        }

        dots += (c == '.');
    }

    /* padding is let in here to be refused as bad base64url by verify */

    /* five segments are JWE: taken as a JWT, to be refused as one */
    return bb_jwt_segments(dots);
}


int
bb_jwt_verify(const char *token, size_t len, const bb_keyset_t *keys,
    const bb_jwt_policy_t *policy, long long now, bb_token_t *out,
    const char **why)
{
    int                  rc, has_kid;
    long                 hlen, plen, slen;
    char                 alg_name[16], kid[BB_KID_MAX + 1], typ[32];
    json_t              *header, *claims;
    const char          *dot1, *dot2, *end, *err;
    const bb_key_t      *key;
    unsigned char        hbuf[BB_JWT_HEADER_MAX], pbuf[BB_JWT_PAYLOAD_MAX];
    unsigned char        sbuf[512];
    const bb_jwt_alg_t  *alg;

    end = token + len;
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', end - dot1 - 1) : NULL;

    if (dot1 == NULL || dot2 == NULL) {
        *why = "The access token is not a signed JWT";
        return BB_DECISION_INVALID_TOKEN;
    }

    if (memchr(dot2 + 1, '.', end - dot2 - 1) != NULL) {
        *why = "Encrypted (JWE) access tokens are not accepted";
        return BB_DECISION_INVALID_TOKEN;
    }

    hlen = bb_base64url_decode(token, dot1 - token, hbuf, sizeof(hbuf));
    plen = bb_base64url_decode(dot1 + 1, dot2 - dot1 - 1, pbuf, sizeof(pbuf));
    slen = bb_base64url_decode(dot2 + 1, end - dot2 - 1, sbuf, sizeof(sbuf));

    if (hlen <= 0 || plen <= 0 || slen < 0) {
        *why = "The access token is not valid base64url";
        return BB_DECISION_INVALID_TOKEN;
    }

    header = bb_json_object((const char *) hbuf, hlen, sizeof(hbuf), 2,
                            &err);
    if (header == NULL) {
        *why = "The access token's header is not a valid JSON object";
        return BB_DECISION_INVALID_TOKEN;
    }

    rc = BB_DECISION_INVALID_TOKEN;
    claims = NULL;

    if (bb_json_string(header, "alg", alg_name, sizeof(alg_name)) != 1) {
        *why = "The access token names no algorithm";
        goto done;
    }

    if (json_object_get(header, "enc") != NULL) {
        *why = "Encrypted (JWE) access tokens are not accepted";
        goto done;
    }

    if (json_object_get(header, "crit") != NULL) {
        *why = "The access token has critical header parameters";
        goto done;
    }

    alg = bb_jwt_alg(alg_name, strlen(alg_name));

    if (alg == NULL || !(alg->bit & policy->algorithms)) {
        *why = "The access token's algorithm is not accepted";
        goto done;
    }

    if (bb_json_string(header, "typ", typ, sizeof(typ)) < 0
        || (typ[0] && strcasecmp(typ, "at+jwt") != 0
            && strcasecmp(typ, "application/at+jwt") != 0
            && strcasecmp(typ, "JWT") != 0))
    {
        *why = "The access token has an unexpected type";
        goto done;
    }

    has_kid = bb_json_string(header, "kid", kid, sizeof(kid));

    if (has_kid < 0) {
        *why = "The access token has an invalid key id";
        goto done;
    }

    key = bb_jwt_key(keys, alg, kid, has_kid, why);
    if (key == NULL) {
        goto done;
    }

    /* bounded before any signature is computed */

    claims = bb_json_object((const char *) pbuf, plen, sizeof(pbuf),
                            BB_JSON_MAX_DEPTH, &err);
    if (claims == NULL) {
        *why = "The access token's claims are not a valid JSON object";
        goto done;
    }

    if (!bb_jwt_signature_ok(alg, key, (const unsigned char *) token,
                             dot2 - token, sbuf, (size_t) slen))
    {
        *why = "The access token's signature is not valid";
        goto done;
    }

    rc = bb_jwt_claims(claims, policy, now, out, why);

done:

    json_decref(header);

    if (claims) {
        json_decref(claims);
    }

    return rc;
}


static const bb_key_t *
bb_jwt_key(const bb_keyset_t *keys, const bb_jwt_alg_t *alg,
    const char *kid, int has_kid, const char **why)
{
    size_t          i, found;
    const bb_key_t  *key, *k;

    key = NULL;
    found = 0;

    for (i = 0; i < keys->n; i++) {
        k = &keys->keys[i];

        if (has_kid) {
            if (strcmp(k->kid, kid) != 0) {
                continue;
            }

            /* the key named must be of the algorithm's kind, never "any" */
            if (k->family != alg->family) {
                *why = "The access token's algorithm does not match its key";
                return NULL;
            }

            key = k;
            found = 1;
            break;
        }

        if (k->family == alg->family) {
            key = k;
            found++;
        }
    }

    if (found == 0) {
        *why = has_kid ? bb_jwt_unknown_kid : bb_jwt_unknown_alg_key;
        return NULL;
    }

    if (found > 1) {
        *why = "The access token names no key id and several keys fit";
        return NULL;
    }

    if (key->alg[0] && strcmp(key->alg, alg->name) != 0) {
        *why = "The access token's algorithm does not match its key";
        return NULL;
    }

    if (alg->family == BB_KEY_EC && key->curve != alg->curve) {
        *why = "The access token's algorithm does not match its key";
        return NULL;
    }

    return key;
}


static int
bb_jwt_signature_ok(const bb_jwt_alg_t *alg, const bb_key_t *key,
    const unsigned char *data, size_t len, const unsigned char *sig,
    size_t siglen)
{
    int  ok;

    ok = bb_jwt_signature_check(alg, key, data, len, sig, siglen);

    /*
     * A refused signature leaves OpenSSL's reasons in the thread's error
     * queue: the worker's next TLS call, on any connection, would take
     * them for its own and log an alert.
     */
    ERR_clear_error();

    return ok;
}


static int
bb_jwt_signature_check(const bb_jwt_alg_t *alg, const bb_key_t *key,
    const unsigned char *data, size_t len, const unsigned char *sig,
    size_t siglen)
{
    int             ok;
    size_t          half;
    BIGNUM         *r, *s;
    EVP_MD         *md;
    ECDSA_SIG      *ecsig;
    EVP_MD_CTX     *ctx;
    EVP_PKEY_CTX   *pctx;
    unsigned int    maclen;
    unsigned char  *der, *p, mac[EVP_MAX_MD_SIZE];

    md = alg->md ? bb_jwt_md(alg->md) : NULL;

    if (alg->md && md == NULL) {
        return 0;
    }

    ok = 0;
    der = NULL;

    if (alg->family == BB_KEY_OCT) {
        if (HMAC(md, key->secret, (int) key->secret_len, data, len, mac,
                 &maclen) != NULL)
        {
            ok = siglen == maclen && CRYPTO_memcmp(mac, sig, maclen) == 0;
        }

        return ok;
    }

    if (alg->family == BB_KEY_EC) {
        /* JOSE: R || S, each the field size; OpenSSL wants DER */

        half = (size_t) (alg->curve + 7) / 8;

        if (siglen != 2 * half) {
            return 0;
        }

        ecsig = ECDSA_SIG_new();
        r = BN_bin2bn(sig, (int) half, NULL);
        s = BN_bin2bn(sig + half, (int) half, NULL);

        if (ecsig == NULL || r == NULL || s == NULL
            || ECDSA_SIG_set0(ecsig, r, s) != 1)
        {
            ECDSA_SIG_free(ecsig);
            BN_free(r);
            BN_free(s);
            return 0;
        }

        siglen = (size_t) i2d_ECDSA_SIG(ecsig, NULL);
        der = OPENSSL_malloc(siglen);
        p = der;

        if (der == NULL || i2d_ECDSA_SIG(ecsig, &p) <= 0) {
            ECDSA_SIG_free(ecsig);
            OPENSSL_free(der);
            return 0;
        }

        ECDSA_SIG_free(ecsig);
        sig = der;
    }

    ctx = EVP_MD_CTX_new();
    pctx = NULL;

    if (ctx && EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key->pkey) == 1
        && (!alg->pss
            || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0
                && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
                                                    RSA_PSS_SALTLEN_DIGEST)
                   > 0))
        && (alg->pss || alg->family != BB_KEY_RSA
            || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0))
    {
        ok = EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;
    }

    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);

    return ok;
}


static int
bb_jwt_claims(json_t *claims, const bb_jwt_policy_t *policy, long long now,
    bb_token_t *out, const char **why)
{
    int        rc;
    char       iss[512];
    json_t    *aud;
    long long  nbf;

    memset(out, 0, sizeof(bb_token_t));

    if (bb_json_seconds(claims, "exp", &out->exp) != 1) {
        *why = "The access token has no valid \"exp\"";
        return BB_DECISION_INVALID_TOKEN;
    }

    rc = bb_json_seconds(claims, "nbf", &nbf);

    if (rc < 0 || (rc == 1 && now + policy->leeway < nbf)) {
        *why = rc < 0 ? "The access token has an invalid \"nbf\""
                      : "The access token is not valid yet";
        return BB_DECISION_INVALID_TOKEN;
    }

    rc = bb_json_seconds(claims, "iat", &out->iat);

    if (rc < 0 || (rc == 1 && out->iat > now + policy->leeway)) {
        *why = rc < 0 ? "The access token has an invalid \"iat\""
                      : "The access token was issued in the future";
        return BB_DECISION_INVALID_TOKEN;
    }

    if (now >= out->exp + policy->leeway) {
        *why = "The access token expired";
        return BB_DECISION_TOKEN_EXPIRED;
    }

    if (policy->issuer
        && (bb_json_string(claims, "iss", iss, sizeof(iss)) != 1
            || strcmp(iss, policy->issuer) != 0))
    {
        *why = "The access token is from another issuer";
        return BB_DECISION_INVALID_TOKEN;
    }

    aud = json_object_get(claims, "aud");

    if (policy->audience && !bb_jwt_audience_ok(aud, policy->audience)) {
        *why = "The access token is meant for another audience";
        return BB_DECISION_INVALID_TOKEN;
    }

    rc = bb_json_string(claims, "patient", out->patient,
                        sizeof(out->patient));

    if (rc == 0) {
        rc = bb_json_string(claims, "sub", out->patient,
                            sizeof(out->patient));
    }

    if (rc != 1 || !bb_patient_id_valid(out->patient, strlen(out->patient))) {
        *why = "The access token names no valid patient";
        return BB_DECISION_INVALID_TOKEN;
    }

    rc = bb_json_string(claims, "client_id", out->client_id,
                        sizeof(out->client_id));

    if (rc == 0) {
        rc = bb_json_string(claims, "azp", out->client_id,
                            sizeof(out->client_id));
    }

    if (rc != 1
        || !bb_client_id_valid(out->client_id, strlen(out->client_id)))
    {
        *why = "The access token names no valid client";
        return BB_DECISION_INVALID_TOKEN;
    }

    if (bb_jwt_scopes(claims, out->scope, sizeof(out->scope)) != 0) {
        *why = "The access token has invalid scopes";
        return BB_DECISION_INVALID_TOKEN;
    }

    rc = bb_json_string(claims, "jti", out->jti, sizeof(out->jti));

    /* it becomes part of a Redis key: the client id's rules apply */
    if (rc < 0 || (rc == 1 && !bb_client_id_valid(out->jti,
                                                  strlen(out->jti))))
    {
        *why = "The access token has an invalid \"jti\"";
        return BB_DECISION_INVALID_TOKEN;
    }

    *why = NULL;

    return BB_DECISION_ALLOW;
}


static int
bb_jwt_audience_ok(json_t *aud, const char *audience)
{
    size_t   i;
    json_t  *v;

    if (json_is_string(aud)) {
        return strcmp(json_string_value(aud), audience) == 0;
    }

    if (!json_is_array(aud)) {
        return 0;
    }

    for (i = 0; i < json_array_size(aud); i++) {
        v = json_array_get(aud, i);

        if (!json_is_string(v)) {
            return 0;
        }

        if (strcmp(json_string_value(v), audience) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
bb_jwt_scopes(json_t *claims, char *buf, size_t size)
{
    size_t       i, n, len;
    json_t      *v, *s;
    const char  *str;

    s = json_object_get(claims, "scope");

    if (s != NULL) {
        return bb_json_string(claims, "scope", buf, size) == 1
               && bb_scope_list_valid(buf, strlen(buf))
               ? 0 : -1;
    }

    s = json_object_get(claims, "scp");
    buf[0] = '\0';

    if (s == NULL) {
        return 0;
    }

    if (!json_is_array(s)) {
        return -1;
    }

    n = 0;

    for (i = 0; i < json_array_size(s); i++) {
        v = json_array_get(s, i);

        if (!json_is_string(v)) {
            return -1;
        }

        str = json_string_value(v);
        len = json_string_length(v);

        if (len == 0 || memchr(str, ' ', len) != NULL
            || !bb_scope_list_valid(str, len) || n + len + 2 > size)
        {
            return -1;
        }

        if (n) {
            buf[n++] = ' ';
        }

        memcpy(buf + n, str, len);
        n += len;
        buf[n] = '\0';
    }

    return 0;
}
