
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The consent contract: what a token asserts, what a beneficiary's grant
 * says, and whether the two together still allow access.  Pure C.
 */

#ifndef _NGX_BLUEBUTTON_CONSENT_H_INCLUDED_
#define _NGX_BLUEBUTTON_CONSENT_H_INCLUDED_


#include <stddef.h>

#include "ngx_bluebutton_decision.h"


#define BB_PATIENT_MAX     64      /* FHIR id: [A-Za-z0-9-.]{1,64} */
#define BB_CLIENT_MAX      128
#define BB_APP_MAX         256
#define BB_SCOPE_MAX       2048
#define BB_JTI_MAX         128

/* a stored token record or grant larger than this is refused unparsed */
#define BB_RECORD_MAX      8192


/* what a token says about itself, from Redis or from JWT claims */
typedef struct {
    char        patient[BB_PATIENT_MAX + 1];
    char        client_id[BB_CLIENT_MAX + 1];
    char        app[BB_APP_MAX + 1];
    char        scope[BB_SCOPE_MAX + 1];
    char        jti[BB_JTI_MAX + 1];
    long long   exp;
    long long   iat;              /* 0 when the issuer did not say */
} bb_token_t;


/* the grant's data_access_type, as the Blue Button server names them */
#define BB_ACCESS_UNKNOWN         0   /* absent, or a name not below */
#define BB_ACCESS_ONE_TIME        1
#define BB_ACCESS_RESEARCH_STUDY  2
#define BB_ACCESS_THIRTEEN_MONTH  3


/* a beneficiary's approval of one app */
typedef struct {
    long long   created;
    long long   expires;          /* 0: does not expire */
    int         access;           /* BB_ACCESS_* */
} bb_grant_t;


/* "ONE_TIME", "RESEARCH_STUDY", "THIRTEEN_MONTH", or NULL when unknown */
const char *bb_access_name(int access);


/*
 * Parse the JSON stored under <prefix>token:<hash>.  Return 0, or -1 with
 * a static reason in *err.
 */
int bb_token_record_parse(const char *json, size_t len, bb_token_t *token,
    const char **err);

/* Parse the JSON stored under <prefix>grant:<client_id>:<patient>. */
int bb_grant_parse(const char *json, size_t len, bb_grant_t *grant,
    const char **err);

/*
 * Decide whether the token and the grant (NULL when absent) allow access
 * at time now, leeway seconds of clock skew tolerated on expiry.  Scopes
 * are checked by the caller.  *why gets a description for the client.
 */
bb_decision_t bb_consent_decide(const bb_token_t *token,
    const bb_grant_t *grant, long long now, long long leeway,
    const char **why);

/* Return 1 for a valid FHIR resource id. */
int bb_patient_id_valid(const char *s, size_t len);

/* Return 1 for a client id we can put in a key, a header and a log. */
int bb_client_id_valid(const char *s, size_t len);


#endif /* _NGX_BLUEBUTTON_CONSENT_H_INCLUDED_ */
