
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Strict base64url (RFC 4648 section 5) as JWS uses it: no padding, no
 * whitespace, zero trailing bits.  Pure C.
 */

#ifndef _NGX_BLUEBUTTON_BASE64URL_H_INCLUDED_
#define _NGX_BLUEBUTTON_BASE64URL_H_INCLUDED_


#include <stddef.h>


/* bytes needed to decode len characters */
#define bb_base64url_decoded_len(len)  (((len) / 4) * 3 + 2)


/*
 * Decodes into out (size bytes).  Returns the decoded length, or -1 for
 * anything but canonical unpadded base64url that fits.
 */
long bb_base64url_decode(const char *in, size_t len, unsigned char *out,
    size_t size);


#endif /* _NGX_BLUEBUTTON_BASE64URL_H_INCLUDED_ */
