
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * OAuth scope parsing and SMART App Launch scope matching.
 * Pure C: no nginx types, unit-tested and fuzzed alone.
 */

#ifndef _NGX_BLUEBUTTON_SCOPE_H_INCLUDED_
#define _NGX_BLUEBUTTON_SCOPE_H_INCLUDED_


#include <stddef.h>


/* SMART v2 permissions; v1 ".read" is r|s, ".write" is c|u|d */
#define BB_PERM_C        0x01
#define BB_PERM_R        0x02
#define BB_PERM_U        0x04
#define BB_PERM_D        0x08
#define BB_PERM_S        0x10
#define BB_PERM_ALL      0x1f

#define BB_SCOPE_PLAIN    0
#define BB_SCOPE_PATIENT  1
#define BB_SCOPE_USER     2
#define BB_SCOPE_SYSTEM   3

/* longest resource type we accept; FHIR's longest is far shorter */
#define BB_SCOPE_TYPE_MAX  64


typedef struct {
    int          context;       /* BB_SCOPE_PLAIN or a SMART context */
    const char  *text;          /* the whole scope, for plain scopes */
    size_t       len;
    char         type[BB_SCOPE_TYPE_MAX + 1];   /* "*" is the wildcard */
    unsigned     perms;
} bb_scope_t;


/*
 * Parses one scope token.  Returns 0, or -1 when the token is not a valid
 * RFC 6749 scope-token, or looks like a SMART scope but is not a valid
 * one.  out->text points into s.
 */
int bb_scope_parse(const char *s, size_t len, bb_scope_t *out);

/*
 * Returns 1 when the space-separated granted scopes together satisfy
 * the required one, 0 otherwise.  SMART permissions of every granted
 * scope of the same context whose type is equal or "*" are added up.
 * Granted scopes that do not parse, or that carry v2 query constraints,
 * grant nothing.
 */
int bb_scope_satisfied(const char *granted, size_t len,
    const bb_scope_t *required);

/* Returns 1 when s is a space-separated list of valid scope tokens. */
int bb_scope_list_valid(const char *s, size_t len);


#endif /* _NGX_BLUEBUTTON_SCOPE_H_INCLUDED_ */
