
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Decision names, as logged and exposed in $bluebutton_decision, and the
 * finer causes of refusals, for $bluebutton_refusal_cause.
 */

#include <string.h>

#include "ngx_bluebutton_decision.h"


static const char  *bb_decision_names[] = {
    "",
    "allow",
    "invalid_request",
    "invalid_token",
    "token_expired",
    "token_superseded",
    "consent_revoked",
    "consent_expired",
    "insufficient_scope",
    "unavailable",
    "not_found",
    "method_not_allowed",
    "patient_mismatch",
    "bad_answer"
};


const char *
bb_decision_name(bb_decision_t decision)
{
    if ((unsigned) decision >= sizeof(bb_decision_names)
                               / sizeof(bb_decision_names[0]))
    {
        return "";
    }

    return bb_decision_names[decision];
}


/*
 * What a refusal said to the client, as one stable word: several causes
 * share a decision (invalid_token for a bad signature and an unknown kid
 * alike).  Descriptions not listed give the decision's own name.
 */
static const struct {
    const char  *why;
    const char  *cause;
} bb_refusal_causes[] = {

    /* the request and its token's form */
    { "The request carries no bearer token", "no_token" },
    { "The Bearer authorization header has no token", "empty_token" },
    { "The bearer token is malformed", "malformed_token" },
    { "The access token is too large", "token_too_large" },
    { "The request path must be sent in normal form", "path_not_normal" },
    { "Access tokens are accepted in the Authorization header only",
      "token_in_query" },
    { "The query string is malformed", "malformed_query" },
    { "Search parameters must be separated by \"&\" and named exactly",
      "ambiguous_query" },
    { "No such resource in this API", "unknown_route" },
    { "Only GET and HEAD are supported", "method" },

    /* search parameters out of the Blue Button server's schema */
    { "The _count parameter must be a whole number from 0 to 50",
      "bad_parameter" },
    { "The startIndex parameter must be a whole number", "bad_parameter" },
    { "The _offset parameter must be a whole number", "bad_parameter" },
    { "The _lastUpdated operator is not valid", "bad_parameter" },
    { "The service-date operator is not valid", "bad_parameter" },
    { "The type parameter value is not valid", "bad_parameter" },
    { "A search parameter that takes one value is given more than once",
      "bad_parameter" },

    /* what Redis says of it */
    { "The access token is unknown or was revoked", "unknown_token" },
    { "The access token was revoked", "jti_revoked" },

    /* a JWT */
    { "The access token is not a signed JWT", "jwt_malformed" },
    { "The access token is not valid base64url", "jwt_malformed" },
    { "The access token's header is not a valid JSON object",
      "jwt_malformed" },
    { "The access token's claims are not a valid JSON object",
      "jwt_malformed" },
    { "Encrypted (JWE) access tokens are not accepted", "jwt_encrypted" },
    { "The access token names no algorithm", "alg_not_accepted" },
    { "The access token's algorithm is not accepted", "alg_not_accepted" },
    { "The access token has critical header parameters", "jwt_crit" },
    { "The access token has an unexpected type", "jwt_type" },
    { "The access token has an invalid key id", "kid_invalid" },
    { "The access token's key id is not known", "kid_unknown" },
    { "No key of the access token's algorithm is known", "kid_unknown" },
    { "The access token's algorithm does not match its key",
      "key_mismatch" },
    { "The access token names no key id and several keys fit",
      "key_ambiguous" },
    { "The access token's signature is not valid", "bad_signature" },
    { "The access token has no valid \"exp\"", "exp_invalid" },
    { "The access token has an invalid \"nbf\"", "nbf_invalid" },
    { "The access token is not valid yet", "not_yet_valid" },
    { "The access token has an invalid \"iat\"", "iat_invalid" },
    { "The access token was issued in the future", "issued_in_future" },
    { "The access token is from another issuer", "wrong_issuer" },
    { "The access token is meant for another audience", "wrong_audience" },
    { "The access token names no valid patient", "no_patient" },
    { "The access token names no valid client", "no_client" },
    { "The access token has invalid scopes", "invalid_scopes" },
    { "The access token has an invalid \"jti\"", "jti_invalid" },

    { NULL, NULL }
};


const char *
bb_refusal_cause(bb_decision_t decision, const char *why)
{
    size_t  i;

    switch (decision) {

    case BB_DECISION_NONE:
    case BB_DECISION_ALLOW:
        return "";

    case BB_DECISION_INSUFFICIENT_SCOPE:
        return "missing_scope";

    case BB_DECISION_PATIENT_MISMATCH:
        return "other_patient";

    default:
        break;
    }

    if (why) {
        for (i = 0; bb_refusal_causes[i].why; i++) {
            if (strcmp(why, bb_refusal_causes[i].why) == 0) {
                return bb_refusal_causes[i].cause;
            }
        }
    }

    return bb_decision_name(decision);
}
