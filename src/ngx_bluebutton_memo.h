
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Which grant a token's record named when the worker last read it.  Pure
 * C, one table per process.
 */

#ifndef _NGX_BLUEBUTTON_MEMO_H_INCLUDED_
#define _NGX_BLUEBUTTON_MEMO_H_INCLUDED_


#include "ngx_bluebutton_consent.h"


/* tokens remembered per worker; a power of two */
#define BB_MEMO_SLOTS  4096


typedef struct {
    char  token_hash[64];                /* lowercase hex; empty: NUL */
    char  client_id[BB_CLIENT_MAX + 1];
    char  patient[BB_PATIENT_MAX + 1];
} bb_memo_entry_t;


/*
 * The entry of a token, by the hex SHA-256 of the token (64 characters),
 * or NULL.  The entry may be replaced by a later bb_memo_store().
 */
const bb_memo_entry_t *bb_memo_find(const char *token_hash);

/* Remembers a token's client and patient, replacing another token's. */
void bb_memo_store(const char *token_hash, const char *client_id,
    const char *patient);

void bb_memo_forget(const char *token_hash);


#endif /* _NGX_BLUEBUTTON_MEMO_H_INCLUDED_ */
