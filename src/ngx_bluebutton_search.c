
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * A parameter the schema does not name is dropped, as the Blue Button
 * server drops it (voluptuous REMOVE_EXTRA): excludeSAMHSA, _format and
 * anything else a client sends to steer the backend never reach it.  A
 * parameter that takes one value and is given twice is refused, where
 * the Blue Button server would silently keep one of them.  Values are
 * passed on as the client encoded them, once they decode to what the
 * schema allows.
 */

#include <string.h>
#include <strings.h>

#include "ngx_bluebutton_search.h"
#include "ngx_bluebutton_fhir.h"


typedef enum {
    BB_SEARCH_TEXT = 0,
    BB_SEARCH_INTEGER,
    BB_SEARCH_COUNT,
    BB_SEARCH_PREFIXED,       /* lt|le|gt|ge and a date */
    BB_SEARCH_CLAIM_TYPES
} bb_search_kind_t;


typedef struct {
    const char        *name;
    const char        *type;   /* NULL: every type */
    bb_search_kind_t   kind;
    int                many;   /* may be given more than once */
    const char        *err;
} bb_search_param_t;


static const bb_search_param_t  bb_search_params[] = {
    { "_count", NULL, BB_SEARCH_COUNT, 0,
      "The _count parameter must be a whole number from 0 to 50" },
    { "startIndex", NULL, BB_SEARCH_INTEGER, 0,
      "The startIndex parameter must be a whole number" },
    { "_lastUpdated", NULL, BB_SEARCH_PREFIXED, 1,
      "The _lastUpdated operator is not valid" },
    { "_id", "Patient", BB_SEARCH_TEXT, 0, NULL },
    { "identifier", "Patient", BB_SEARCH_TEXT, 0, NULL },
    { "beneficiary", "Coverage", BB_SEARCH_TEXT, 0, NULL },
    { "patient", "ExplanationOfBenefit", BB_SEARCH_TEXT, 0, NULL },
    { "type", "ExplanationOfBenefit", BB_SEARCH_CLAIM_TYPES, 0,
      "The type parameter value is not valid" },
    { "service-date", "ExplanationOfBenefit", BB_SEARCH_PREFIXED, 1,
      "The service-date operator is not valid" },
    { "_tag", "ExplanationOfBenefit", BB_SEARCH_TEXT, 1, NULL },
    { "_source", "ExplanationOfBenefit", BB_SEARCH_TEXT, 1, NULL },
    { "_security:not", "ExplanationOfBenefit", BB_SEARCH_TEXT, 0, NULL },
    { "_offset", "ExplanationOfBenefit", BB_SEARCH_INTEGER, 0,
      "The _offset parameter must be a whole number" },
    { NULL, NULL, 0, 0, NULL }
};

#define BB_SEARCH_PARAMS  (sizeof(bb_search_params)                          \
                           / sizeof(bb_search_params[0]) - 1)

/* ExplanationOfBenefit's claim types, alone or as system|code */
static const char  *bb_search_claim_types[] = {
    "carrier", "pde", "dme", "hha", "hospice", "inpatient", "outpatient",
    "snf", NULL
};

#define BB_SEARCH_EOB_TYPE_SYSTEM                                            \
    "https://bluebutton.cms.gov/resources/codesystem/eob-type|"

#define BB_SEARCH_FORMAT   "_format=application%2Ffhir%2Bjson"
#define BB_SEARCH_SOURCES  "_source=NCH%2CDDPS"


static int bb_search_valid(const bb_search_param_t *param, const char *v,
    size_t len);
static int bb_search_claim_type(const char *v, size_t len);
static char *bb_search_append(char *p, const char *s, size_t len,
    int *first);


long
bb_search_rebuild(const char *type, const char *bound, int search,
    int version, const char *args, size_t len, char *out, size_t size,
    const char **err)
{
    int                       first, count_seen, sources, bound_seen;
    long                      nlen, vlen;
    size_t                    i, seen[BB_SEARCH_PARAMS];
    char                      name[BB_FHIR_PARAM_MAX];
    char                      value[BB_FHIR_PARAM_MAX];
    char                     *p;
    const char               *a, *end, *amp, *eq;
    const bb_search_param_t  *param;

    *err = "The query string is malformed";

    if (size < len + BB_SEARCH_EXTRA) {
        return -1;
    }

    p = out;
    first = 1;
    count_seen = 0;
    sources = 0;
    bound_seen = 0;

    memset(seen, 0, sizeof(seen));

    for (a = args, end = args + len; search && a < end; a = amp + 1) {
        amp = memchr(a, '&', end - a);
        if (amp == NULL) {
            amp = end;
        }

        if (amp == a) {
            continue;
        }

        eq = memchr(a, '=', amp - a);

        nlen = bb_url_decode(a, (eq ? eq : amp) - a, name, sizeof(name));
        vlen = eq ? bb_url_decode(eq + 1, amp - eq - 1, value, sizeof(value))
                  : 0;

        if (nlen < 0 || vlen < 0) {
            return -1;
        }

        /* as the Blue Button server's QUERY_TRANSFORMS */

        if (nlen == 5 && memcmp(name, "count", 5) == 0) {
            memcpy(name, "_count", 6);
            nlen = 6;
        }

        /* the parameter that binds the search is the route's, always */

        if (bound && strlen(bound) == (size_t) nlen
            && memcmp(bound, name, nlen) == 0)
        {
            if (bound_seen++) {
                *err = "A search parameter that takes one value is given "
                       "more than once";
                return -1;
            }

            p = bb_search_append(p, a, amp - a, &first);
            continue;
        }

        for (i = 0; i < BB_SEARCH_PARAMS; i++) {
            param = &bb_search_params[i];

            if (strlen(param->name) == (size_t) nlen
                && memcmp(param->name, name, nlen) == 0
                && (param->type == NULL || strcmp(param->type, type) == 0))
            {
                break;
            }
        }

        if (i == BB_SEARCH_PARAMS) {
            continue;
        }

        if (seen[i]++ && !param->many) {
            *err = "A search parameter that takes one value is given more "
                   "than once";
            return -1;
        }

        if (!bb_search_valid(param, value, (size_t) vlen)) {
            *err = param->err ? param->err : "The query string is malformed";
            return -1;
        }

        if (param->kind == BB_SEARCH_COUNT) {
            count_seen = 1;
            p = bb_search_append(p, "_count=", 7, &first);
            p = bb_search_append(p, eq + 1, amp - eq - 1, NULL);
            continue;
        }

        if (strcmp(param->name, "_source") == 0
            || strcmp(param->name, "_tag") == 0)
        {
            sources = 1;
        }

        p = bb_search_append(p, a, amp - a, &first);
    }

    if (search && !count_seen) {
        p = bb_search_append(p, "_count=10", 9, &first);
    }

    p = bb_search_append(p, BB_SEARCH_FORMAT, sizeof(BB_SEARCH_FORMAT) - 1,
                         &first);

    if (search && version == 3 && !sources
        && strcmp(type, "ExplanationOfBenefit") == 0)
    {
        p = bb_search_append(p, BB_SEARCH_SOURCES,
                             sizeof(BB_SEARCH_SOURCES) - 1, &first);
    }

    *err = NULL;

    return (long) (p - out);
}


static int
bb_search_valid(const bb_search_param_t *param, const char *v, size_t len)
{
    size_t  i;
    long    n;

    switch (param->kind) {

    case BB_SEARCH_TEXT:
        return 1;

    case BB_SEARCH_INTEGER:
    case BB_SEARCH_COUNT:
        if (len == 0 || len > 9) {
            return 0;
        }

        for (n = 0, i = 0; i < len; i++) {
            if (v[i] < '0' || v[i] > '9') {
                return 0;
            }

            n = n * 10 + (v[i] - '0');
        }

        return param->kind == BB_SEARCH_INTEGER || n <= 50;

    case BB_SEARCH_PREFIXED:
        if (len < 3 || (memcmp(v, "lt", 2) != 0 && memcmp(v, "le", 2) != 0
                        && memcmp(v, "gt", 2) != 0
                        && memcmp(v, "ge", 2) != 0))
        {
            return 0;
        }

        for (i = 2; i < len; i++) {
            if (!((v[i] >= '0' && v[i] <= '9') || v[i] == '-' || v[i] == ':'
                  || v[i] == 'T' || v[i] == '.' || v[i] == '+'
                  || v[i] == 'Z'))
            {
                return 0;
            }
        }

        return 1;

    case BB_SEARCH_CLAIM_TYPES:
        return bb_search_claim_type(v, len);
    }

    return 0;
}


/* A comma-separated list of claim types, in any case. */
static int
bb_search_claim_type(const char *v, size_t len)
{
    size_t       i, n, sys;
    const char  *end, *comma;

    sys = sizeof(BB_SEARCH_EOB_TYPE_SYSTEM) - 1;
    end = v + len;

    if (len == 0) {
        return 0;
    }

    for ( /* void */ ; v <= end; v = comma + 1) {
        comma = memchr(v, ',', end - v);
        if (comma == NULL) {
            comma = end;
        }

        while (v < comma && *v == ' ') {
            v++;
        }

        n = comma - v;

        while (n && v[n - 1] == ' ') {
            n--;
        }

        if (n >= sys && strncasecmp(v, BB_SEARCH_EOB_TYPE_SYSTEM, sys) == 0)
        {
            v += sys;
            n -= sys;

            if (n == 0) {
                /* the system alone: every type */
                continue;
            }
        }

        for (i = 0; bb_search_claim_types[i]; i++) {
            if (strlen(bb_search_claim_types[i]) == n
                && strncasecmp(v, bb_search_claim_types[i], n) == 0)
            {
                break;
            }
        }

        if (bb_search_claim_types[i] == NULL) {
            return 0;
        }

        if (comma == end) {
            break;
        }
    }

    return 1;
}


static char *
bb_search_append(char *p, const char *s, size_t len, int *first)
{
    if (first) {
        if (!*first) {
            *p++ = '&';
        }

        *first = 0;
    }

    memcpy(p, s, len);

    return p + len;
}
