
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Routes of the Blue Button API, after nginx's URI normalization:
 *
 *   /vN/fhir/metadata, /.well-known/...   public
 *   /vN/connect/userinfo                   profile
 *   /vN/fhir/<Type>                        search: patient/<Type>.s
 *   /vN/fhir/<Type>/<id>                   read:   patient/<Type>.r
 *
 * N is 1, 2 or 3.  Everything else is not a route.
 */

#include <ctype.h>
#include <string.h>

#include "ngx_bluebutton_fhir.h"


static int bb_fhir_hex(int c);
static int bb_fhir_names_patient(const char *value, size_t len,
    const char *patient);


int
bb_fhir_route(const char *path, size_t len, const char *const *types,
    size_t ntypes, bb_fhir_route_t *route)
{
    size_t       i, tlen, rest;
    const char  *p, *end, *slash;

    memset(route, 0, sizeof(bb_fhir_route_t));
    route->kind = BB_FHIR_UNKNOWN;

    p = path;
    end = path + len;

    if (len >= 13 && memcmp(p, "/.well-known/", 13) == 0) {
        route->kind = BB_FHIR_PUBLIC;
        return route->kind;
    }

    if (len < 4 || p[0] != '/' || p[1] != 'v' || p[2] < '1' || p[2] > '3'
        || p[3] != '/')
    {
        return route->kind;
    }

    p += 4;
    rest = end - p;

    if (rest == 16 && memcmp(p, "connect/userinfo", 16) == 0) {
        route->kind = BB_FHIR_USERINFO;
        return route->kind;
    }

    if (rest < 5 || memcmp(p, "fhir/", 5) != 0) {
        return route->kind;
    }

    p += 5;
    rest = end - p;

    if (rest == 8 && memcmp(p, "metadata", 8) == 0) {
        route->kind = BB_FHIR_PUBLIC;
        return route->kind;
    }

    slash = memchr(p, '/', rest);
    tlen = slash ? (size_t) (slash - p) : rest;

    for (i = 0; i < ntypes; i++) {
        if (strlen(types[i]) == tlen && memcmp(types[i], p, tlen) == 0) {
            break;
        }
    }

    if (i == ntypes || tlen > BB_SCOPE_TYPE_MAX) {
        return route->kind;
    }

    memcpy(route->type, p, tlen);
    route->type[tlen] = '\0';

    if (slash == NULL || slash + 1 == end) {
        route->kind = BB_FHIR_SEARCH;
        return route->kind;
    }

    p = slash + 1;
    rest = end - p;

    /* one more segment, a FHIR id, and nothing after it but one "/" */

    if (rest > 1 && p[rest - 1] == '/') {
        rest--;
    }

    if (!bb_patient_id_valid(p, rest)) {
        route->type[0] = '\0';
        return route->kind;
    }

    memcpy(route->id, p, rest);
    route->id[rest] = '\0';
    route->kind = BB_FHIR_READ;

    return route->kind;
}


int
bb_fhir_required_scope(const bb_fhir_route_t *route, bb_scope_t *scope)
{
    memset(scope, 0, sizeof(bb_scope_t));

    switch (route->kind) {

    case BB_FHIR_USERINFO:
        scope->context = BB_SCOPE_PLAIN;
        scope->text = "profile";
        scope->len = 7;
        return 0;

    case BB_FHIR_READ:
    case BB_FHIR_SEARCH:
        scope->context = BB_SCOPE_PATIENT;
        scope->perms = route->kind == BB_FHIR_READ ? BB_PERM_R : BB_PERM_S;
        memcpy(scope->type, route->type, sizeof(scope->type));
        return 0;

    default:
        return -1;
    }
}


const char *
bb_fhir_patient_param(const char *type)
{
    if (strcmp(type, "Patient") == 0) {
        return "_id";
    }

    if (strcmp(type, "Coverage") == 0) {
        return "beneficiary";
    }

    return "patient";
}


static int
bb_fhir_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


long
bb_url_decode(const char *in, size_t len, char *out, size_t size)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {

        if (n == size) {
            return -1;
        }

        if (in[i] == '%') {
            if (i + 2 >= len) {
                return -1;
            }

            hi = bb_fhir_hex((unsigned char) in[i + 1]);
            lo = bb_fhir_hex((unsigned char) in[i + 2]);

            if (hi < 0 || lo < 0) {
                return -1;
            }

            out[n++] = (char) (hi << 4 | lo);
            i += 2;

        } else if (in[i] == '+') {
            out[n++] = ' ';

        } else {
            out[n++] = in[i];
        }
    }

    return (long) n;
}


static int
bb_fhir_names_patient(const char *value, size_t len, const char *patient)
{
    size_t       plen, n;
    const char  *p, *end, *comma;

    plen = strlen(patient);
    p = value;
    end = value + len;

    if (len == 0) {
        return 0;
    }

    /* "a,b" means a or b: every one of them must be the patient */

    for ( ;; ) {
        comma = memchr(p, ',', end - p);
        n = comma ? (size_t) (comma - p) : (size_t) (end - p);

        if (n > 8 && memcmp(p, "Patient/", 8) == 0) {
            p += 8;
            n -= 8;
        }

        if (n != plen || memcmp(p, patient, plen) != 0) {
            return 0;
        }

        if (comma == NULL) {
            return 1;
        }

        p = comma + 1;
    }
}


/*
 * Whether a parameter name other than param itself may be read as it:
 * 1 for param with a modifier or chain (":", "."), 2 for a name that
 * folds to it (case, leading spaces and control characters) and has
 * nothing after it or what no name goes on with ("[]", NUL, spaces), 0
 * otherwise.
 */
static int
bb_fhir_param_like(const char *name, long nlen, const char *param,
    size_t plen)
{
    int     c;
    size_t  i, skip;

    for (skip = 0; skip < (size_t) nlen; skip++) {
        if ((unsigned char) name[skip] > 0x20
            && (unsigned char) name[skip] != 0x7f)
        {
            break;
        }
    }

    if ((size_t) nlen - skip < plen) {
        return 0;
    }

    for (i = 0; i < plen; i++) {
        if (tolower((unsigned char) name[skip + i]) != param[i]) {
            return 0;
        }
    }

    if (skip == 0 && (size_t) nlen > plen
        && memcmp(name, param, plen) == 0
        && (name[plen] == ':' || name[plen] == '.'))
    {
        return 1;
    }

    /* "patients" or "patient-name" is another parameter */

    c = (size_t) nlen > skip + plen ? (unsigned char) name[skip + plen] : 0;

    if (isalnum(c) || c == '_' || c == '-') {
        return 0;
    }

    return 2;
}


int
bb_fhir_query_bind(const char *args, size_t len, const char *param,
    const char *patient)
{
    int          found;
    long         nlen, vlen;
    char         name[BB_FHIR_PARAM_MAX], value[BB_FHIR_PARAM_MAX];
    size_t       plen;
    const char  *p, *end, *amp, *eq;

    found = 0;
    plen = param ? strlen(param) : 0;
    p = args;
    end = args + len;

    if (len && memchr(args, ';', len) != NULL) {
        return BB_FHIR_AMBIGUOUS;
    }

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);

        nlen = bb_url_decode(p, (eq ? eq : amp) - p, name, sizeof(name));
        vlen = eq ? bb_url_decode(eq + 1, amp - eq - 1, value, sizeof(value))
                  : 0;

        if (nlen < 0 || vlen < 0) {
            return BB_FHIR_BAD_QUERY;
        }

        if (nlen == 12 && memcmp(name, "access_token", 12) == 0) {
            return BB_FHIR_ACCESS_TOKEN;
        }

        if (param && (size_t) nlen == plen && memcmp(name, param, plen) == 0)
        {
            if (!bb_fhir_names_patient(value, vlen, patient)) {
                return BB_FHIR_BIND_MISMATCH;
            }

            found = 1;

        } else if (param) {
            switch (bb_fhir_param_like(name, nlen, param, plen)) {

            case 1:
                /* modifiers and chains could widen the search */
                return BB_FHIR_BIND_MISMATCH;

            case 2:
                return BB_FHIR_AMBIGUOUS;
            }
        }

        p = amp + 1;
    }

    return found ? BB_FHIR_BIND_MATCH : BB_FHIR_BIND_ABSENT;
}
