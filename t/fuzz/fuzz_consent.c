/*
 * Token records and grants as they come from Redis: any bytes at all.
 */

#include <stddef.h>
#include <stdint.h>

#include "ngx_bluebutton_consent.h"
#include "ngx_bluebutton_json.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bb_grant_t   grant;
    bb_token_t   token;
    const char  *err, *why;

    (void) bb_json_depth_ok((const char *) data, size, BB_JSON_MAX_DEPTH);

    if (bb_token_record_parse((const char *) data, size, &token, &err) == 0) {
        (void) bb_consent_decide(&token, NULL, 0, 0, &why);
    }

    if (bb_grant_parse((const char *) data, size, &grant, &err) == 0) {
        token.exp = 1;
        token.iat = 1;
        (void) bb_consent_decide(&token, &grant, 0, 0, &why);
    }

    return 0;
}
