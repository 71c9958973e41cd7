
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * FHIR routes and query strings on arbitrary bytes: the first line is a
 * path, the rest a query string checked against patient "-1".
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_bluebutton_fhir.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t            n;
    bb_scope_t        scope;
    const char       *nl, *args;
    bb_fhir_route_t   route;

    static const char  *types[] = {
        "Patient", "Coverage", "ExplanationOfBenefit"
    };

    nl = memchr(data, '\n', size);
    n = nl ? (size_t) (nl - (const char *) data) : size;
    args = nl ? nl + 1 : "";

    if (bb_fhir_route((const char *) data, n, types, 3, &route)
        != BB_FHIR_UNKNOWN)
    {
        (void) bb_fhir_required_scope(&route, &scope);

        if (route.kind == BB_FHIR_SEARCH) {
            (void) bb_fhir_query_bind(args, nl ? size - n - 1 : 0,
                                      bb_fhir_patient_param(route.type),
                                      "-1");
        }
    }

    (void) bb_fhir_query_bind(args, nl ? size - n - 1 : 0, NULL, NULL);

    return 0;
}
