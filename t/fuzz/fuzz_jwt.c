
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The JWT verifier on arbitrary bytes, against an HMAC key set, and the
 * key set reader on the same bytes.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_bluebutton_base64url.h"
#include "ngx_bluebutton_jwt.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                    err[256], kid[129], iss[256], claim[64];
    long                    n;
    bb_token_t              token;
    const char             *why;
    unsigned char           buf[4096];
    bb_keyset_t             parsed;
    bb_jwt_policy_t         policy;

    static int              ready;
    static bb_keyset_t      set;
    static const char       jwks[] = "{\"keys\":[{\"kty\":\"oct\",\"kid\":"
        "\"hs\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIz\"}]}";

    if (!ready) {
        ready = bb_keyset_parse(jwks, sizeof(jwks) - 1, &set, err,
                                sizeof(err)) == 0;
    }

    (void) bb_base64url_decode((const char *) data, size, buf, sizeof(buf));

    policy.algorithms = BB_ALG_DEFAULT | BB_ALG_HS256;
    policy.leeway = 30;
    policy.issuer = "iss";
    policy.audience = "aud";

    if (bb_jwt_looks_like((const char *) data, size)) {
        (void) bb_jwt_verify((const char *) data, size, &set, &policy, 1000,
                             &token, &why);

        /* what a refusal's log line and the claim variables read */
        if (bb_jwt_peek((const char *) data, size, kid, sizeof(kid), iss,
                        sizeof(iss))
            == 0
            && (strlen(kid) >= sizeof(kid) || strlen(iss) >= sizeof(iss)))
        {
            abort();
        }

        n = bb_jwt_claim((const char *) data, size, "sub", claim,
                         sizeof(claim));
        if (n >= (long) sizeof(claim)) {
            abort();
        }
    }

    memset(&parsed, 0, sizeof(parsed));

    if (size < 4096
        && bb_keyset_parse((const char *) data, size, &parsed, err,
                           sizeof(err)) == 0)
    {
        bb_keyset_free(&parsed);
    }

    return 0;
}
