
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The answer check: any bytes, fed whole and in pieces, get the same
 * verdict; nothing jansson refuses as JSON is ever passed; and where
 * jansson reads the answer without duplicate members, a checker written
 * on jansson's tree passes it exactly when the streaming reader does.
 * The first byte picks what the answer must be and where it is cut.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ngx_bluebutton_compartment.h"


#define PATIENT  "-2014"

static int reference(json_t *answer, const bb_compartment_rule_t *rules,
    size_t nrules, int expect, const char *type);
static int reference_resource(json_t *res, int top,
    const bb_compartment_rule_t *rules, size_t nrules, int expect,
    const char *type);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                     expect, whole, pieces, ok;
    size_t                  nrules, cut, i;
    json_t                 *j;
    const char             *type;
    json_error_t            err;
    bb_compartment_t        c;
    bb_compartment_rule_t   rules[5];

    static const int     expects[] = {
        BB_COMPARTMENT_READ, BB_COMPARTMENT_SEARCH,
        BB_COMPARTMENT_USERINFO, BB_COMPARTMENT_OUTCOME
    };
    static const char   *types[] = {
        "ExplanationOfBenefit", "Patient", "Coverage", "Observation"
    };

    if (size == 0) {
        return 0;
    }

    expect = expects[data[0] & 3];
    type = types[(data[0] >> 2) & 3];
    cut = data[0] >> 4;
    data++;
    size--;

    nrules = bb_compartment_default_rules(rules);
    if (bb_compartment_rule(&rules[nrules++], "Observation",
                            "subject.of.reference", 0) != 0
        || bb_compartment_rule(&rules[nrules++], "Claim", "patient", 1) != 0)
    {
        abort();
    }

    bb_compartment_init(&c, rules, nrules, expect, type, PATIENT);
    (void) bb_compartment_feed(&c, (const char *) data, size);
    whole = bb_compartment_end(&c);

    if (whole == BB_COMPARTMENT_MORE) {
        abort();
    }

    /* in pieces: byte by byte for short answers, else cut at "cut" */

    bb_compartment_init(&c, rules, nrules, expect, type, PATIENT);

    if (size < 512) {
        for (i = 0; i < size; i++) {
            (void) bb_compartment_feed(&c, (const char *) data + i, 1);
        }

    } else {
        cut = cut * size / 16;
        (void) bb_compartment_feed(&c, (const char *) data, cut);
        (void) bb_compartment_feed(&c, (const char *) data + cut,
                                   size - cut);
    }

    pieces = bb_compartment_end(&c);

    if (pieces != whole) {
        abort();
    }

    if (whole == BB_COMPARTMENT_DEEP) {
        return 0;   /* jansson allows deeper nesting */
    }

#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
    return 0;       /* jansson is not instrumented */
#endif
#endif

    j = json_loadb((const char *) data, size, JSON_ALLOW_NUL, &err);

    if (j == NULL) {
        /* numbers jansson cannot hold, NULs in names: JSON all the same */
        if (strstr(err.text, "too big") || strstr(err.text, "overflow")
            || strstr(err.text, "NUL"))
        {
            return 0;
        }

        if (whole == BB_COMPARTMENT_OK) {
            abort();
        }

        return 0;
    }

    json_decref(j);

    j = json_loadb((const char *) data, size,
                   JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        return 0;
    }

    ok = reference(j, rules, nrules, expect, type);
    json_decref(j);

    if (ok != (whole == BB_COMPARTMENT_OK)) {
        abort();
    }

    return 0;
}


static int
reference(json_t *answer, const bb_compartment_rule_t *rules, size_t nrules,
    int expect, const char *type)
{
    size_t   i;
    json_t  *entries, *entry, *res;

    if (!json_is_object(answer)) {
        return 0;
    }

    entries = json_object_get(answer, "entry");

    if (expect == BB_COMPARTMENT_SEARCH && entries != NULL) {
        if (!json_is_array(entries)) {
            return 0;
        }

        json_array_foreach(entries, i, entry) {
            if (!json_is_object(entry)) {
                return 0;
            }

            res = json_object_get(entry, "resource");

            if (res != NULL
                && !reference_resource(res, 0, rules, nrules, expect, type))
            {
                return 0;
            }
        }
    }

    return reference_resource(answer, 1, rules, nrules, expect, type);
}


static int
reference_resource(json_t *res, int top, const bb_compartment_rule_t *rules,
    size_t nrules, int expect, const char *type)
{
    size_t       i, k, len;
    json_t      *t, *v;
    const char  *s, *rt;

    static const bb_compartment_rule_t  userinfo = {
        "", { "patient" }, 1, 1
    };

    if (!json_is_object(res)) {
        return 0;
    }

    t = json_object_get(res, "resourceType");

    if (t && (!json_is_string(t) || json_string_length(t) > 64)) {
        return 0;
    }

    if (expect == BB_COMPARTMENT_USERINFO) {
        rules = &userinfo;
        i = 0;
        goto bound;
    }

    if (t == NULL) {
        return 0;
    }

    rt = json_string_value(t);

    if (strcmp(rt, "OperationOutcome") == 0
        && !(top && expect == BB_COMPARTMENT_SEARCH
             && json_object_get(res, "entry")))
    {
        return 1;
    }

    if (top) {
        if (expect == BB_COMPARTMENT_OUTCOME) {
            return 0;
        }

        if (expect == BB_COMPARTMENT_SEARCH) {
            return strcmp(rt, "Bundle") == 0;
        }

        if (strcmp(rt, type) != 0) {
            return 0;
        }
    }

    for (i = 0; i < nrules; i++) {
        if (strcmp(rules[i].type, rt) == 0) {
            break;
        }
    }

    if (i == nrules) {
        return 0;
    }

bound:

    v = res;

    for (k = 0; k < rules[i].npath; k++) {
        if (!json_is_object(v)) {
            return 0;
        }

        v = json_object_get(v, rules[i].path[k]);
        if (v == NULL) {
            return 0;
        }
    }

    if (!json_is_string(v)) {
        return 0;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (!rules[i].bare) {
        if (len < 8 || memcmp(s, "Patient/", 8) != 0) {
            return 0;
        }

        s += 8;
        len -= 8;
    }

    return len == sizeof(PATIENT) - 1 && memcmp(s, PATIENT, len) == 0;
}
