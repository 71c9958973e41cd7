
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The packed form is a fixed header followed by the token's strings, each
 * with a 16-bit length: a typical entry takes a few hundred bytes of the
 * shared zone, not the size of bb_token_t.
 */

#include <string.h>

#include "ngx_bluebutton_entry.h"


#define BB_ENTRY_HEADER  (4 + 5 * 8)


static unsigned char *bb_entry_put_num(unsigned char *p, long long n);
static long long bb_entry_get_num(const unsigned char *p);


static const size_t  bb_entry_string_max[] = {
    BB_PATIENT_MAX, BB_CLIENT_MAX, BB_APP_MAX, BB_SCOPE_MAX, BB_JTI_MAX
};


static void
bb_entry_strings(const bb_token_t *t, const char *s[5])
{
    s[0] = t->patient;
    s[1] = t->client_id;
    s[2] = t->app;
    s[3] = t->scope;
    s[4] = t->jti;
}


size_t
bb_entry_size(const bb_entry_t *e)
{
    int          i;
    size_t       n;
    const char  *s[5];

    n = BB_ENTRY_HEADER;

    if (e->found) {
        bb_entry_strings(&e->token, s);

        for (i = 0; i < 5; i++) {
            n += 2 + strlen(s[i]);
        }
    }

    return n;
}


size_t
bb_entry_pack(const bb_entry_t *e, unsigned char *buf)
{
    int             i;
    size_t          len;
    const char     *s[5];
    unsigned char  *p;

    p = buf;

    *p++ = e->kind;
    *p++ = e->found;
    *p++ = e->granted;
    *p++ = e->revoked;

    p = bb_entry_put_num(p, e->granted ? e->grant.created : 0);
    p = bb_entry_put_num(p, e->granted ? e->grant.expires : 0);
    p = bb_entry_put_num(p, e->found ? e->token.exp : 0);
    p = bb_entry_put_num(p, e->found ? e->token.iat : 0);
    p = bb_entry_put_num(p, e->granted ? e->grant.access : 0);

    if (e->found) {
        bb_entry_strings(&e->token, s);

        for (i = 0; i < 5; i++) {
            len = strlen(s[i]);
            *p++ = (unsigned char) (len >> 8);
            *p++ = (unsigned char) len;
            memcpy(p, s[i], len);
            p += len;
        }
    }

    return p - buf;
}


int
bb_entry_unpack(const unsigned char *buf, size_t len, bb_entry_t *e)
{
    int                   i;
    long long             access;
    char                 *s[5];
    size_t                n;
    const unsigned char  *p, *end;

    if (len < BB_ENTRY_HEADER) {
        return -1;
    }

    p = buf;
    end = buf + len;

    /* every member is written below: no memset of its 2.6 KB of strings */

    e->kind = *p++;
    e->found = *p++;
    e->granted = *p++;
    e->revoked = *p++;

    if ((e->kind != BB_ENTRY_OPAQUE && e->kind != BB_ENTRY_JWT)
        || e->found > 1 || e->granted > 1 || e->revoked > 1)
    {
        return -1;
    }

    e->grant.created = bb_entry_get_num(p);
    e->grant.expires = bb_entry_get_num(p + 8);
    e->token.exp = bb_entry_get_num(p + 16);
    e->token.iat = bb_entry_get_num(p + 24);
    access = bb_entry_get_num(p + 32);
    e->grant.access = (int) access;

    /* what bb_entry_pack() writes as 0 must read as 0: one form only */

    if (access < BB_ACCESS_UNKNOWN || access > BB_ACCESS_THIRTEEN_MONTH
        || (!e->granted && (e->grant.created || e->grant.expires
                            || e->grant.access))
        || (!e->found && (e->token.exp || e->token.iat || e->granted
                          || e->revoked)))
    {
        return -1;
    }

    p += 5 * 8;

    if (!e->found) {
        e->token.patient[0] = '\0';
        e->token.client_id[0] = '\0';
        e->token.app[0] = '\0';
        e->token.scope[0] = '\0';
        e->token.jti[0] = '\0';

        return p == end ? 0 : -1;
    }

    s[0] = e->token.patient;
    s[1] = e->token.client_id;
    s[2] = e->token.app;
    s[3] = e->token.scope;
    s[4] = e->token.jti;

    for (i = 0; i < 5; i++) {
        if (end - p < 2) {
            return -1;
        }

        n = (size_t) p[0] << 8 | p[1];
        p += 2;

        if (n > bb_entry_string_max[i] || (size_t) (end - p) < n
            || memchr(p, '\0', n) != NULL)
        {
            return -1;
        }

        memcpy(s[i], p, n);
        s[i][n] = '\0';
        p += n;
    }

    return p == end ? 0 : -1;
}


bb_decision_t
bb_entry_decide(const bb_entry_t *e, long long now, long long leeway,
    const char **why)
{
    if (!e->found) {
        *why = "The access token is unknown or was revoked";
        return BB_DECISION_INVALID_TOKEN;
    }

    if (e->revoked) {
        *why = "The access token was revoked";
        return BB_DECISION_INVALID_TOKEN;
    }

    return bb_consent_decide(&e->token, e->granted ? &e->grant : NULL, now,
                             leeway, why);
}


long long
bb_entry_ends(const bb_entry_t *e)
{
    long long  end;

    if (!e->found) {
        return 0;
    }

    end = e->token.exp;

    if (e->granted && e->grant.expires != 0 && e->grant.expires < end) {
        end = e->grant.expires;
    }

    return end;
}


static unsigned char *
bb_entry_put_num(unsigned char *p, long long n)
{
    int                 i;
    unsigned long long  u;

    u = (unsigned long long) n;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char) u;
        u >>= 8;
    }

    return p + 8;
}


static long long
bb_entry_get_num(const unsigned char *p)
{
    int                 i;
    unsigned long long  u;

    u = 0;

    for (i = 0; i < 8; i++) {
        u = u << 8 | p[i];
    }

    return (long long) u;
}
