
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Packed cache entries: any bytes are read back or refused, never read
 * past; what is read back packs to exactly the same bytes.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_bluebutton_entry.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          n;
    bb_entry_t      e;
    const char     *why;
    unsigned char  *out;

    if (bb_entry_unpack(data, size, &e) != 0) {
        return 0;
    }

    (void) bb_entry_decide(&e, 1700000000, 30, &why);
    (void) bb_entry_ends(&e);

    n = bb_entry_size(&e);
    out = malloc(n);
    if (out == NULL) {
        return 0;
    }

    /* one packed form per entry */
    if (bb_entry_pack(&e, out) != n || n != size
        || memcmp(out, data, n) != 0)
    {
        abort();
    }

    free(out);

    return 0;
}
