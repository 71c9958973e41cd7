
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Canonical base64url only: a token that can be written two ways could
 * carry one signature for two different texts.
 */

#include "ngx_bluebutton_base64url.h"


static int
bb_base64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


long
bb_base64url_decode(const char *in, size_t len, unsigned char *out,
    size_t size)
{
    int            v;
    size_t         i, n, need;
    unsigned long  acc;

    if (len % 4 == 1) {
        return -1;
    }

    need = (len / 4) * 3 + (len % 4 ? len % 4 - 1 : 0);

    if (need > size) {
        return -1;
    }

    acc = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        v = bb_base64url_value((unsigned char) in[i]);
        if (v < 0) {
            return -1;
        }

        acc = (acc << 6) | (unsigned long) v;

        if (i % 4 == 3) {
            out[n++] = (unsigned char) (acc >> 16);
            out[n++] = (unsigned char) (acc >> 8);
            out[n++] = (unsigned char) acc;
            acc = 0;
        }
    }

    switch (len % 4) {

    case 2:
        if (acc & 0x0f) {
            return -1;
        }
        out[n++] = (unsigned char) (acc >> 4);
        break;

    case 3:
        if (acc & 0x03) {
            return -1;
        }
        out[n++] = (unsigned char) (acc >> 10);
        out[n++] = (unsigned char) (acc >> 2);
        break;
    }

    return (long) n;
}
