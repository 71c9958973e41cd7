/*
 * Decision names, as logged and exposed in $bluebutton_decision.
 */

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
    "patient_mismatch"
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
