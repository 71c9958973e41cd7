
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The backend's query string, made as the Blue Button server makes it:
 * only the parameters each search names (its ACCEPTED_*_QUERY_PARAMS),
 * their values checked, "count" read as "_count" (10 when absent), and
 * _format=application/fhir+json on every call; a v3 ExplanationOfBenefit
 * search without _source or _tag asks for _source=NCH,DDPS.  Pure C.
 */

#ifndef _NGX_BLUEBUTTON_SEARCH_H_INCLUDED_
#define _NGX_BLUEBUTTON_SEARCH_H_INCLUDED_


#include <stddef.h>


/* room the parameters added may take beyond the client's */
#define BB_SEARCH_EXTRA  96


/*
 * Rebuilds args (len bytes, already checked to decode) for a read
 * (search 0) or a search of type in API version 1, 2 or 3 into out
 * (size at least len + BB_SEARCH_EXTRA).  bound names the parameter that
 * binds the search to the patient (bb_fhir_patient_param()): kept for
 * any type, once.  Returns the length written, or -1 with a static
 * message for the client in *err.
 */
long bb_search_rebuild(const char *type, const char *bound, int search,
    int version, const char *args, size_t len, char *out, size_t size,
    const char **err);


#endif /* _NGX_BLUEBUTTON_SEARCH_H_INCLUDED_ */
