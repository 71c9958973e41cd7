
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Gateway decisions: the outcome of checking one request, shared by the
 * pure C checks and the nginx glue.  No nginx types here.
 */

#ifndef _NGX_BLUEBUTTON_DECISION_H_INCLUDED_
#define _NGX_BLUEBUTTON_DECISION_H_INCLUDED_


typedef enum {
    BB_DECISION_NONE = 0,
    BB_DECISION_ALLOW,
    BB_DECISION_INVALID_REQUEST,
    BB_DECISION_INVALID_TOKEN,
    BB_DECISION_TOKEN_EXPIRED,
    BB_DECISION_TOKEN_SUPERSEDED,
    BB_DECISION_CONSENT_REVOKED,
    BB_DECISION_CONSENT_EXPIRED,
    BB_DECISION_INSUFFICIENT_SCOPE,
    BB_DECISION_UNAVAILABLE,
    BB_DECISION_NOT_FOUND,
    BB_DECISION_METHOD_NOT_ALLOWED,
    BB_DECISION_PATIENT_MISMATCH,
    BB_DECISION_BAD_ANSWER           /* the backend's: not checked bound */
} bb_decision_t;


/* the value of $bluebutton_decision, "" for BB_DECISION_NONE */
const char *bb_decision_name(bb_decision_t decision);

/*
 * The value of $bluebutton_refusal_cause: one word of a documented list
 * for the refusal's description why, or the decision's name; "" for an
 * allow.
 */
const char *bb_refusal_cause(bb_decision_t decision, const char *why);


#endif /* _NGX_BLUEBUTTON_DECISION_H_INCLUDED_ */
