
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The backend's answer, checked against the token's patient before any
 * of it is sent: a streaming JSON reader that follows only the members a
 * verdict needs (resourceType, each type's patient reference, a Bundle's
 * entries) and checks the syntax of everything else, without building a
 * tree.  Fixed-size state: bytes may arrive in pieces of any size.  Pure
 * C: no nginx types.
 */

#ifndef _NGX_BLUEBUTTON_COMPARTMENT_H_INCLUDED_
#define _NGX_BLUEBUTTON_COMPARTMENT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_bluebutton_consent.h"
#include "ngx_bluebutton_scope.h"


#define BB_COMPARTMENT_RULES_MAX   16   /* types with a reference path */
#define BB_COMPARTMENT_PATH_MAX    4    /* members from the resource down */
#define BB_COMPARTMENT_NAME_MAX    64   /* a member name on a path */
#define BB_COMPARTMENT_DEPTH_MAX   64   /* nesting of the whole answer */

/* "Patient/" and an id: the longest reference value compared */
#define BB_COMPARTMENT_VALUE_MAX   (sizeof("Patient/") - 1 + BB_PATIENT_MAX)

/* what the answer must be */
#define BB_COMPARTMENT_READ        1    /* one resource of the route's type */
#define BB_COMPARTMENT_SEARCH      2    /* a Bundle, each entry by its type */
#define BB_COMPARTMENT_USERINFO    3    /* "patient" names the patient */
#define BB_COMPARTMENT_OUTCOME     4    /* an error: an OperationOutcome */

/* verdicts */
#define BB_COMPARTMENT_MORE        0    /* so far, so good: feed on */
#define BB_COMPARTMENT_OK          1
#define BB_COMPARTMENT_SYNTAX      2    /* not JSON, or cut short */
#define BB_COMPARTMENT_DEEP        3
#define BB_COMPARTMENT_NOT_OBJECT  4
#define BB_COMPARTMENT_OTHER       5    /* names another patient */
#define BB_COMPARTMENT_UNBOUND     6    /* names no patient */
#define BB_COMPARTMENT_TYPE        7    /* a type the route does not expect */
#define BB_COMPARTMENT_DUPLICATE   8    /* a member read twice */


typedef struct {
    char      type[BB_SCOPE_TYPE_MAX + 1];
    char      path[BB_COMPARTMENT_PATH_MAX][BB_COMPARTMENT_NAME_MAX + 1];
    size_t    npath;
    int       bare;     /* the value is the id itself, not "Patient/<id>" */
} bb_compartment_rule_t;


/* what is known of one resource while it is read */
typedef struct {
    char      type[BB_SCOPE_TYPE_MAX + 1];
    size_t    type_len;
    int       type_seen;
    int       type_bad;   /* resourceType not a short string */
    int       entries;    /* an "entry" member was read */
    char      value[BB_COMPARTMENT_RULES_MAX][BB_COMPARTMENT_VALUE_MAX + 1];
    size_t    value_len[BB_COMPARTMENT_RULES_MAX];
    uint8_t   value_state[BB_COMPARTMENT_RULES_MAX];
    uint8_t   seen[BB_COMPARTMENT_RULES_MAX][BB_COMPARTMENT_PATH_MAX];
} bb_compartment_resource_t;


typedef struct {
    uint8_t   kind;       /* '{' or '[' */
    uint8_t   role;
    uint8_t   depth;      /* members matched from the resource down */
    uint8_t   member;     /* the role of the value after the key read */
    uint8_t   res;        /* of a resource: 0 the answer, 1 an entry's */
    uint32_t  live;       /* rules whose path goes on inside */
    uint32_t  member_live;
} bb_compartment_frame_t;


typedef struct {
    const bb_compartment_rule_t  *rules;
    size_t                        nrules;
    int                           expect;
    const char                   *type;     /* the route's, for a read */
    const char                   *patient;
    size_t                        patient_len;

    int                           state;
    int                           verdict;
    size_t                        top;      /* frames in use */
    bb_compartment_frame_t        frames[BB_COMPARTMENT_DEPTH_MAX];

    /* the string or scalar being read */
    int                           key;      /* a member name */
    int                           capture;  /* decoded into buf */
    int                           esc;      /* after "\", or \u digits */
    uint32_t                      cp;       /* \u code point so far */
    uint32_t                      high;     /* a high surrogate before */
    int                           utf8;     /* continuation bytes due */
    uint8_t                       utf8_lo, utf8_hi;
    char                          buf[BB_COMPARTMENT_VALUE_MAX + 1];
    size_t                        len;
    int                           over;     /* longer than buf */
    const char                   *lit;      /* rest of true/false/null */
    int                           num;      /* number state */

    size_t                        checked;  /* resources found bound */
    size_t                        offset;   /* bytes read */
    char                          why[BB_COMPARTMENT_VALUE_MAX + 1];

    /* last: cleared as each resource opens, not by bb_compartment_init() */
    bb_compartment_resource_t     res[2];   /* the answer, a Bundle entry */
} bb_compartment_t;


/*
 * A rule from "Type" and a dotted path ("patient.reference"); bare for a
 * path whose value is the id itself.  Returns 0, or -1 for a type or a
 * path that is not a short list of member names.
 */
int bb_compartment_rule(bb_compartment_rule_t *rule, const char *type,
    const char *path, int bare);

/* The rules for Patient, ExplanationOfBenefit and Coverage; returns 3. */
size_t bb_compartment_default_rules(bb_compartment_rule_t *rules);

void bb_compartment_init(bb_compartment_t *c,
    const bb_compartment_rule_t *rules, size_t nrules, int expect,
    const char *type, const char *patient);

/* Reads len more bytes; BB_COMPARTMENT_MORE, or the verdict once known. */
int bb_compartment_feed(bb_compartment_t *c, const char *p, size_t len);

/* The answer is complete: its verdict. */
int bb_compartment_end(bb_compartment_t *c);

/* A verdict's words, for the log. */
const char *bb_compartment_verdict_text(int verdict);


#endif /* _NGX_BLUEBUTTON_COMPARTMENT_H_INCLUDED_ */
