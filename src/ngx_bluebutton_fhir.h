
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The Blue Button FHIR surface: which route a path is, which scope it
 * needs, and whether a search stays inside the token's patient
 * compartment.  Pure C: no nginx types.
 */

#ifndef _NGX_BLUEBUTTON_FHIR_H_INCLUDED_
#define _NGX_BLUEBUTTON_FHIR_H_INCLUDED_


#include <stddef.h>

#include "ngx_bluebutton_scope.h"
#include "ngx_bluebutton_consent.h"


#define BB_FHIR_UNKNOWN    0       /* not a route of the API: 404 */
#define BB_FHIR_PUBLIC     1       /* metadata, .well-known: no token */
#define BB_FHIR_READ       2       /* /vN/fhir/<Type>/<id> */
#define BB_FHIR_SEARCH     3       /* /vN/fhir/<Type> */
#define BB_FHIR_USERINFO   4       /* /vN/connect/userinfo */

#define BB_FHIR_BIND_ABSENT        0
#define BB_FHIR_BIND_MATCH         1
#define BB_FHIR_BIND_MISMATCH      2
#define BB_FHIR_BAD_QUERY          3
#define BB_FHIR_ACCESS_TOKEN       4
#define BB_FHIR_AMBIGUOUS          5

/* longest query parameter name or value looked at */
#define BB_FHIR_PARAM_MAX  1024


typedef struct {
    int    kind;
    char   type[BB_SCOPE_TYPE_MAX + 1];
    char   id[BB_PATIENT_MAX + 1];
} bb_fhir_route_t;


/*
 * Classifies a normalized path.  types lists the resource types served
 * (ntypes of them).  Returns route->kind.
 */
int bb_fhir_route(const char *path, size_t len, const char *const *types,
    size_t ntypes, bb_fhir_route_t *route);

/* The scope a route needs: patient/<Type>.r or .s, or profile. */
int bb_fhir_required_scope(const bb_fhir_route_t *route, bb_scope_t *scope);

/* The search parameter that names the patient for a type. */
const char *bb_fhir_patient_param(const char *type);

/*
 * Looks through a raw query string.  BB_FHIR_ACCESS_TOKEN when a token is
 * passed in it, BB_FHIR_BAD_QUERY when it does not decode,
 * BB_FHIR_AMBIGUOUS when it uses ';' (a separator to some backends).
 * With param set, every occurrence of it (values "<id>" or
 * "Patient/<id>", comma lists included) must name the patient:
 * BB_FHIR_BIND_MATCH, _ABSENT when there is none, _MISMATCH for anything
 * else, modifiers and chains too; a name that a lenient backend could
 * take for it (another case, trailing "[]", NUL or spaces) is
 * BB_FHIR_AMBIGUOUS.
 */
int bb_fhir_query_bind(const char *args, size_t len, const char *param,
    const char *patient);

/* Percent-decodes (and '+' to space); returns the length or -1. */
long bb_url_decode(const char *in, size_t len, char *out, size_t size);


#endif /* _NGX_BLUEBUTTON_FHIR_H_INCLUDED_ */
