
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The lookup script costs Redis several times what a plain read does, and
 * Redis is shared by every worker of every gateway.  Once a token's record
 * has been read, the worker remembers the client and patient it named, so
 * that the next request for that token reads the record and that grant
 * with one MGET.  Nothing read is kept: the record and the grant are both
 * read on every request, and a record that names another grant than the
 * one remembered is read again through the script.
 *
 * A direct-mapped table: a token whose slot another token took is only
 * read through the script again.  Its size never changes.
 */

#include <string.h>

#include "ngx_bluebutton_memo.h"


static bb_memo_entry_t  bb_memo[BB_MEMO_SLOTS];


static bb_memo_entry_t *
bb_memo_slot(const char *token_hash)
{
    int       i;
    unsigned  c, index;

    /* the hash is uniform: its first twelve bits pick the slot */

    index = 0;

    for (i = 0; i < 3; i++) {
        c = (unsigned char) token_hash[i];
        index = index << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }

    return &bb_memo[index & (BB_MEMO_SLOTS - 1)];
}


const bb_memo_entry_t *
bb_memo_find(const char *token_hash)
{
    bb_memo_entry_t  *e;

    e = bb_memo_slot(token_hash);

    return memcmp(e->token_hash, token_hash, sizeof(e->token_hash)) == 0
           ? e : NULL;
}


void
bb_memo_store(const char *token_hash, const char *client_id,
    const char *patient)
{
    size_t            client_len, patient_len;
    bb_memo_entry_t  *e;

    client_len = strlen(client_id);
    patient_len = strlen(patient);

    if (client_len > BB_CLIENT_MAX || patient_len > BB_PATIENT_MAX) {
        return;
    }

    e = bb_memo_slot(token_hash);

    memcpy(e->token_hash, token_hash, sizeof(e->token_hash));
    memcpy(e->client_id, client_id, client_len + 1);
    memcpy(e->patient, patient, patient_len + 1);
}


void
bb_memo_forget(const char *token_hash)
{
    bb_memo_entry_t  *e;

    e = bb_memo_slot(token_hash);

    if (memcmp(e->token_hash, token_hash, sizeof(e->token_hash)) == 0) {
        memset(e->token_hash, 0, sizeof(e->token_hash));
    }
}
