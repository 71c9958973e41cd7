
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The module's version, in this one place: the start-up notice, the
 * metrics' bluebutton_build_info and the Debian package (util/deb checks
 * debian/changelog against it) all take it from here.
 */

#ifndef _NGX_BLUEBUTTON_VERSION_H_INCLUDED_
#define _NGX_BLUEBUTTON_VERSION_H_INCLUDED_


#define NGX_BLUEBUTTON_VERSION  "0.2.0"


#endif /* _NGX_BLUEBUTTON_VERSION_H_INCLUDED_ */
