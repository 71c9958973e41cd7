
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Scope parsing and matching on arbitrary bytes: the first line is the
 * required scope, the rest the granted list.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_bluebutton_scope.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       n;
    bb_scope_t   required;
    const char  *nl;

    nl = memchr(data, '\n', size);
    n = nl ? (size_t) (nl - (const char *) data) : size;

    (void) bb_scope_list_valid((const char *) data, size);

    if (bb_scope_parse((const char *) data, n, &required) == 0) {
        (void) bb_scope_satisfied(nl ? nl + 1 : "",
                                  nl ? size - n - 1 : 0, &required);
    }

    return 0;
}
