
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Token records and grants as documented in docs/redis-data-model.md.
 * Anything that does not match the contract is refused, never coerced:
 * the caller answers 503, since a broken record is the authorization
 * server's fault, not the client's.
 */

#include <string.h>

#include "ngx_bluebutton_consent.h"
#include "ngx_bluebutton_record.h"
#include "ngx_bluebutton_scope.h"


int
bb_patient_id_valid(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > BB_PATIENT_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
        {
            return 0;
        }
    }

    return 1;
}


int
bb_client_id_valid(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > BB_CLIENT_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        /*
         * visible ASCII: safe in a Redis key, a header and a log line;
         * no quote or backslash, so that it reads the same escaped or not
         */
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\') {
            return 0;
        }
    }

    return 1;
}


enum {
    BB_TOKEN_PATIENT = 0,
    BB_TOKEN_CLIENT_ID,
    BB_TOKEN_APP,
    BB_TOKEN_SCOPE,
    BB_TOKEN_EXP,
    BB_TOKEN_IAT,
    BB_TOKEN_MEMBERS
};

static const char *const  bb_token_members[] = {
    "patient", "client_id", "app", "scope", "exp", "iat"
};


int
bb_token_record_parse(const char *json, size_t len, bb_token_t *token,
    const char **err)
{
    bb_record_member_t  m[BB_TOKEN_MEMBERS];

    memset(token, 0, sizeof(bb_token_t));

    if (bb_record_read(json, len, BB_RECORD_MAX, 2, bb_token_members, m,
                       BB_TOKEN_MEMBERS, err)
        != 0)
    {
        return -1;
    }

    if (bb_record_string(&m[BB_TOKEN_PATIENT], token->patient,
                              sizeof(token->patient)) != 1
        || !bb_patient_id_valid(token->patient, strlen(token->patient)))
    {
        *err = "token record has no valid \"patient\"";
        return -1;
    }

    if (bb_record_string(&m[BB_TOKEN_CLIENT_ID], token->client_id,
                              sizeof(token->client_id)) != 1
        || !bb_client_id_valid(token->client_id, strlen(token->client_id)))
    {
        *err = "token record has no valid \"client_id\"";
        return -1;
    }

    if (bb_record_string(&m[BB_TOKEN_APP], token->app,
                              sizeof(token->app)) < 0)
    {
        *err = "token record has an invalid \"app\"";
        return -1;
    }

    if (bb_record_string(&m[BB_TOKEN_SCOPE], token->scope,
                              sizeof(token->scope)) < 0
        || !bb_scope_list_valid(token->scope, strlen(token->scope)))
    {
        *err = "token record has an invalid \"scope\"";
        return -1;
    }

    if (bb_record_seconds(&m[BB_TOKEN_EXP], &token->exp) != 1) {
        *err = "token record has no valid \"exp\"";
        return -1;
    }

    if (bb_record_seconds(&m[BB_TOKEN_IAT], &token->iat) < 0) {
        *err = "token record has an invalid \"iat\"";
        return -1;
    }

    return 0;
}


enum {
    BB_GRANT_CREATED = 0,
    BB_GRANT_EXPIRES,
    BB_GRANT_DATA_ACCESS_TYPE,
    BB_GRANT_MEMBERS
};

static const char *const  bb_grant_members[] = {
    "created", "expires", "data_access_type"
};


int
bb_grant_parse(const char *json, size_t len, bb_grant_t *grant,
    const char **err)
{
    int                 i;
    char                type[sizeof("RESEARCH_STUDY") + 1];
    bb_record_member_t  m[BB_GRANT_MEMBERS];

    memset(grant, 0, sizeof(bb_grant_t));

    if (bb_record_read(json, len, BB_RECORD_MAX, 2, bb_grant_members, m,
                       BB_GRANT_MEMBERS, err)
        != 0)
    {
        return -1;
    }

    if (bb_record_seconds(&m[BB_GRANT_CREATED], &grant->created) != 1) {
        *err = "grant has no valid \"created\"";
        return -1;
    }

    if (m[BB_GRANT_EXPIRES].type != BB_RECORD_NULL
        && bb_record_seconds(&m[BB_GRANT_EXPIRES], &grant->expires) < 0)
    {
        *err = "grant has an invalid \"expires\"";
        return -1;
    }

    if (m[BB_GRANT_DATA_ACCESS_TYPE].type != BB_RECORD_ABSENT
        && m[BB_GRANT_DATA_ACCESS_TYPE].type != BB_RECORD_STRING)
    {
        *err = "grant has an invalid \"data_access_type\"";
        return -1;
    }

    /* passed to the backend as the Blue Button server does; a name it
     * does not know is not passed on, and decides nothing */

    if (bb_record_string(&m[BB_GRANT_DATA_ACCESS_TYPE], type, sizeof(type))
        == 1)
    {
        for (i = BB_ACCESS_ONE_TIME; i <= BB_ACCESS_THIRTEEN_MONTH; i++) {
            if (strcmp(type, bb_access_name(i)) == 0) {
                grant->access = i;
            }
        }
    }

    return 0;
}


const char *
bb_access_name(int access)
{
    switch (access) {
    case BB_ACCESS_ONE_TIME:
        return "ONE_TIME";
    case BB_ACCESS_RESEARCH_STUDY:
        return "RESEARCH_STUDY";
    case BB_ACCESS_THIRTEEN_MONTH:
        return "THIRTEEN_MONTH";
    }

    return NULL;
}


bb_decision_t
bb_consent_decide(const bb_token_t *token, const bb_grant_t *grant,
    long long now, long long leeway, const char **why)
{
    if (now >= token->exp + leeway) {
        *why = "The access token expired";
        return BB_DECISION_TOKEN_EXPIRED;
    }

    if (grant == NULL) {
        *why = "The beneficiary revoked this application's access";
        return BB_DECISION_CONSENT_REVOKED;
    }

    if (grant->expires != 0 && now >= grant->expires) {
        *why = "The beneficiary's consent for this application expired";
        return BB_DECISION_CONSENT_EXPIRED;
    }

    if (token->iat != 0 && token->iat < grant->created) {
        *why = "The access token predates the beneficiary's current consent";
        return BB_DECISION_TOKEN_SUPERSEDED;
    }

    *why = NULL;

    return BB_DECISION_ALLOW;
}
