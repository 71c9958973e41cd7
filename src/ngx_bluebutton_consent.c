/*
 * Token records and grants as documented in docs/redis-data-model.md.
 * Anything that does not match the contract is refused, never coerced:
 * the caller answers 503, since a broken record is the authorization
 * server's fault, not the client's.
 */

#include <string.h>

#include "ngx_bluebutton_consent.h"
#include "ngx_bluebutton_json.h"
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


int
bb_token_record_parse(const char *json, size_t len, bb_token_t *token,
    const char **err)
{
    int      rc;
    json_t  *obj;

    memset(token, 0, sizeof(bb_token_t));

    obj = bb_json_object(json, len, BB_RECORD_MAX, 2, err);
    if (obj == NULL) {
        return -1;
    }

    rc = -1;

    if (bb_json_string(obj, "patient", token->patient,
                       sizeof(token->patient)) != 1
        || !bb_patient_id_valid(token->patient, strlen(token->patient)))
    {
        *err = "token record has no valid \"patient\"";
        goto done;
    }

    if (bb_json_string(obj, "client_id", token->client_id,
                       sizeof(token->client_id)) != 1
        || !bb_client_id_valid(token->client_id, strlen(token->client_id)))
    {
        *err = "token record has no valid \"client_id\"";
        goto done;
    }

    if (bb_json_string(obj, "app", token->app, sizeof(token->app)) < 0) {
        *err = "token record has an invalid \"app\"";
        goto done;
    }

    if (bb_json_string(obj, "scope", token->scope, sizeof(token->scope)) < 0
        || !bb_scope_list_valid(token->scope, strlen(token->scope)))
    {
        *err = "token record has an invalid \"scope\"";
        goto done;
    }

    if (bb_json_seconds(obj, "exp", &token->exp) != 1) {
        *err = "token record has no valid \"exp\"";
        goto done;
    }

    if (bb_json_seconds(obj, "iat", &token->iat) < 0) {
        *err = "token record has an invalid \"iat\"";
        goto done;
    }

    rc = 0;

done:

    json_decref(obj);

    return rc;
}


int
bb_grant_parse(const char *json, size_t len, bb_grant_t *grant,
    const char **err)
{
    int      rc;
    json_t  *obj, *v;

    memset(grant, 0, sizeof(bb_grant_t));

    obj = bb_json_object(json, len, BB_RECORD_MAX, 2, err);
    if (obj == NULL) {
        return -1;
    }

    rc = -1;

    if (bb_json_seconds(obj, "created", &grant->created) != 1) {
        *err = "grant has no valid \"created\"";
        goto done;
    }

    v = json_object_get(obj, "expires");

    if (v != NULL && !json_is_null(v)
        && bb_json_seconds(obj, "expires", &grant->expires) != 1)
    {
        *err = "grant has an invalid \"expires\"";
        goto done;
    }

    v = json_object_get(obj, "data_access_type");

    if (v != NULL && !json_is_string(v)) {
        *err = "grant has an invalid \"data_access_type\"";
        goto done;
    }

    rc = 0;

done:

    json_decref(obj);

    return rc;
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
