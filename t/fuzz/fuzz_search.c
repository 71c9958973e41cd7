
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The backend's query string: any query is rebuilt or refused with a
 * reason, never written past its room; a rebuilt one carries _format and
 * the patient's parameter at most once, and nothing the schema drops.
 * The first byte picks the type, read or search, and the version.
 */

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_bluebutton_search.h"
#include "ngx_bluebutton_fhir.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long         n;
    char        *out, *p;
    size_t       room, bound;
    const char  *type, *err, *param;

    static const char  *types[] = {
        "ExplanationOfBenefit", "Patient", "Coverage", "Observation"
    };

    if (size == 0) {
        return 0;
    }

    type = types[data[0] & 3];
    param = bb_fhir_patient_param(type);
    room = size - 1 + BB_SEARCH_EXTRA;

    out = malloc(room);
    if (out == NULL) {
        return 0;
    }

    n = bb_search_rebuild(type, param, (data[0] >> 2) & 1,
                          1 + (data[0] >> 3) % 3, (const char *) data + 1,
                          size - 1, out, room, &err);

    if (n < 0) {
        if (err == NULL) {
            abort();
        }

        free(out);
        return 0;
    }

    if ((size_t) n > room || err != NULL
        || memmem(out, n, "_format=application%2Ffhir%2Bjson", 33) == NULL)
    {
        abort();
    }

    /* no name the schema drops; the patient's parameter once at most */

    bound = 0;

    for (p = out; p < out + n; p++) {
        if (p != out && p[-1] != '&') {
            continue;
        }

        if ((size_t) (out + n - p) > 13 && memcmp(p, "excludeSAMHSA", 13) == 0)
        {
            abort();
        }

        if ((size_t) (out + n - p) > strlen(param)
            && memcmp(p, param, strlen(param)) == 0
            && p[strlen(param)] == '=')
        {
            bound++;
        }
    }

    if (bound > 1) {
        abort();
    }

    free(out);

    return 0;
}
