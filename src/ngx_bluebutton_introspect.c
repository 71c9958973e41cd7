
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Members of an introspection answer the gateway does not read (iss,
 * sub, token_type, cnf, ...) may be objects and arrays: three levels of
 * nesting are allowed, no more.  A member the gateway reads that appears
 * twice makes the answer ambiguous, and it is refused.
 */

#include <string.h>

#include "ngx_bluebutton_introspect.h"
#include "ngx_bluebutton_record.h"
#include "ngx_bluebutton_scope.h"


enum {
    BB_INTROSPECTION_ACTIVE = 0,
    BB_INTROSPECTION_CLIENT_ID,
    BB_INTROSPECTION_SCOPE,
    BB_INTROSPECTION_EXP,
    BB_INTROSPECTION_IAT,
    BB_INTROSPECTION_PATIENT,
    BB_INTROSPECTION_AUD,
    BB_INTROSPECTION_MEMBERS
};


int
bb_introspection_parse(const char *json, size_t len, const char *patient,
    const char *audience, bb_introspection_t *out, const char **err)
{
    bb_token_t          *t;
    const char          *names[BB_INTROSPECTION_MEMBERS];
    bb_record_member_t   m[BB_INTROSPECTION_MEMBERS];

    memset(out, 0, sizeof(bb_introspection_t));

    names[BB_INTROSPECTION_ACTIVE] = "active";
    names[BB_INTROSPECTION_CLIENT_ID] = "client_id";
    names[BB_INTROSPECTION_SCOPE] = "scope";
    names[BB_INTROSPECTION_EXP] = "exp";
    names[BB_INTROSPECTION_IAT] = "iat";
    names[BB_INTROSPECTION_PATIENT] = patient ? patient : "patient";
    names[BB_INTROSPECTION_AUD] = "aud";

    /* "aud" last: looked for, and so read once only, when it matters */

    m[BB_INTROSPECTION_AUD].type = BB_RECORD_ABSENT;

    if (bb_record_read(json, len, BB_INTROSPECTION_MAX, 3, names, m,
                       BB_INTROSPECTION_MEMBERS - (audience == NULL), err)
        != 0)
    {
        return -1;
    }

    if (m[BB_INTROSPECTION_ACTIVE].type != BB_RECORD_BOOLEAN) {
        *err = "the answer has no boolean \"active\"";
        return -1;
    }

    if (m[BB_INTROSPECTION_ACTIVE].value[0] != 't') {
        /* nothing else of an inactive token is worth reading */
        return 0;
    }

    if (audience != NULL
        && !bb_record_names(&m[BB_INTROSPECTION_AUD], audience))
    {
        /* active elsewhere, not here: no more is read of it */
        out->other_audience = 1;
        return 0;
    }

    t = &out->token;

    if (bb_record_string(&m[BB_INTROSPECTION_PATIENT], t->patient,
                         sizeof(t->patient)) != 1
        || !bb_patient_id_valid(t->patient, strlen(t->patient)))
    {
        *err = "an active token's answer has no valid patient";
        return -1;
    }

    if (bb_record_string(&m[BB_INTROSPECTION_CLIENT_ID], t->client_id,
                         sizeof(t->client_id)) != 1
        || !bb_client_id_valid(t->client_id, strlen(t->client_id)))
    {
        *err = "an active token's answer has no valid \"client_id\"";
        return -1;
    }

    if (bb_record_string(&m[BB_INTROSPECTION_SCOPE], t->scope,
                         sizeof(t->scope)) < 0
        || !bb_scope_list_valid(t->scope, strlen(t->scope)))
    {
        *err = "an active token's answer has an invalid \"scope\"";
        return -1;
    }

    /* the gateway must know when the token ends: no "exp", no token */

    if (bb_record_seconds(&m[BB_INTROSPECTION_EXP], &t->exp) != 1) {
        *err = "an active token's answer has no valid \"exp\"";
        return -1;
    }

    if (bb_record_seconds(&m[BB_INTROSPECTION_IAT], &t->iat) < 0) {
        *err = "an active token's answer has an invalid \"iat\"";
        return -1;
    }

    out->active = 1;

    return 0;
}
