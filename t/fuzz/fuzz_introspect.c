
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Introspection answers: any bytes are read or refused, never past their
 * end; an active token taken has a valid patient and client, an exp, and
 * NUL-terminated fields.  The first byte picks the patient's member and
 * whether an audience is asked for; one taken for another audience is
 * never active.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_bluebutton_introspect.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char          *err, *patient, *audience;
    bb_introspection_t   in;

    if (size == 0) {
        return 0;
    }

    patient = (data[0] & 1) ? "bb_patient" : NULL;
    audience = (data[0] & 2) ? "https://bb" : NULL;

    if (bb_introspection_parse((const char *) data + 1, size - 1, patient,
                               audience, &in, &err)
        != 0)
    {
        if (err == NULL) {
            abort();
        }

        return 0;
    }

    if (in.other_audience && (in.active || audience == NULL)) {
        abort();
    }

    if (!in.active) {
        return 0;
    }

    if (!bb_patient_id_valid(in.token.patient, strlen(in.token.patient))
        || !bb_client_id_valid(in.token.client_id,
                               strlen(in.token.client_id))
        || in.token.exp < 0
        || memchr(in.token.scope, '\0', sizeof(in.token.scope)) == NULL)
    {
        abort();
    }

    return 0;
}
