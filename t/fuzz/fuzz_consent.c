
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Token records and grants as they come from Redis: any bytes at all.
 * The record reader is also checked against jansson: what jansson reads,
 * it must read the same way, and it may accept only what jansson refuses
 * for duplicate or out-of-range members the gateway does not read.
 * jansson reads a NUL byte as nothing at all; the reader refuses it, so
 * such inputs are not compared.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_bluebutton_consent.h"
#include "ngx_bluebutton_json.h"
#include "ngx_bluebutton_scope.h"


/* the same contract read through jansson */
static int
reference_token(const char *json, size_t len, bb_token_t *token)
{
    int          rc;
    json_t      *obj;
    const char  *err;

    memset(token, 0, sizeof(bb_token_t));

    obj = bb_json_object(json, len, BB_RECORD_MAX, 2, &err);
    if (obj == NULL) {
        return -1;
    }

    rc = (bb_json_string(obj, "patient", token->patient,
                         sizeof(token->patient)) == 1
          && bb_patient_id_valid(token->patient, strlen(token->patient))
          && bb_json_string(obj, "client_id", token->client_id,
                            sizeof(token->client_id)) == 1
          && bb_client_id_valid(token->client_id, strlen(token->client_id))
          && bb_json_string(obj, "app", token->app, sizeof(token->app)) >= 0
          && bb_json_string(obj, "scope", token->scope,
                            sizeof(token->scope)) >= 0
          && bb_scope_list_valid(token->scope, strlen(token->scope))
          && bb_json_seconds(obj, "exp", &token->exp) == 1
          && bb_json_seconds(obj, "iat", &token->iat) >= 0)
         ? 0 : -1;

    json_decref(obj);

    return rc;
}


static int
reference_grant(const char *json, size_t len, bb_grant_t *grant)
{
    int          rc;
    json_t      *obj, *v, *d;
    const char  *err;

    memset(grant, 0, sizeof(bb_grant_t));

    obj = bb_json_object(json, len, BB_RECORD_MAX, 2, &err);
    if (obj == NULL) {
        return -1;
    }

    v = json_object_get(obj, "expires");
    d = json_object_get(obj, "data_access_type");

    rc = (bb_json_seconds(obj, "created", &grant->created) == 1
          && (v == NULL || json_is_null(v)
              || bb_json_seconds(obj, "expires", &grant->expires) == 1)
          && (d == NULL || json_is_string(d)))
         ? 0 : -1;

    if (rc == 0 && d != NULL) {
        grant->access =
            strcmp(json_string_value(d), "ONE_TIME") == 0 ? BB_ACCESS_ONE_TIME
            : strcmp(json_string_value(d), "RESEARCH_STUDY") == 0
              ? BB_ACCESS_RESEARCH_STUDY
            : strcmp(json_string_value(d), "THIRTEEN_MONTH") == 0
              ? BB_ACCESS_THIRTEEN_MONTH
            : BB_ACCESS_UNKNOWN;
    }

    json_decref(obj);

    return rc;
}


/* jansson refused the document for something the reader may ignore */
static int
jansson_stricter(const uint8_t *data, size_t size)
{
    json_t        *obj;
    json_error_t   error;

    obj = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES,
                     &error);

    if (obj != NULL) {
        json_decref(obj);
        return 0;
    }

    return strstr(error.text, "duplicate") != NULL
           || strstr(error.text, "too big") != NULL
           || strstr(error.text, "overflow") != NULL;
}


/* the reader's result (ours) against jansson's (theirs) for one input */
static void
compare(const uint8_t *data, size_t size, int ours, const void *read,
    int theirs, const void *reference, size_t n)
{
    if (memchr(data, '\0', size) != NULL) {
        return;
    }

    if (theirs == 0 && (ours != 0 || memcmp(read, reference, n) != 0)) {
        abort();
    }

    if (ours == 0 && theirs != 0 && !jansson_stricter(data, size)) {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          ours;
    bb_grant_t   grant, ref_grant;
    bb_token_t   token, ref_token;
    const char  *err, *why;

    (void) bb_json_depth_ok((const char *) data, size, BB_JSON_MAX_DEPTH);

    ours = bb_token_record_parse((const char *) data, size, &token, &err);
    compare(data, size, ours, &token,
            reference_token((const char *) data, size, &ref_token),
            &ref_token, sizeof(bb_token_t));

    if (ours == 0) {
        (void) bb_consent_decide(&token, NULL, 0, 0, &why);
    }

    ours = bb_grant_parse((const char *) data, size, &grant, &err);
    compare(data, size, ours, &grant,
            reference_grant((const char *) data, size, &ref_grant),
            &ref_grant, sizeof(bb_grant_t));

    if (ours == 0) {
        token.exp = 1;
        token.iat = 1;
        (void) bb_consent_decide(&token, &grant, 0, 0, &why);
    }

    return 0;
}
