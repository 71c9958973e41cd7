
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * $bluebutton_* variables, for logs and other modules.
 */

#ifndef _NGX_BLUEBUTTON_VARIABLES_H_INCLUDED_
#define _NGX_BLUEBUTTON_VARIABLES_H_INCLUDED_


#include "ngx_bluebutton.h"


ngx_int_t ngx_bluebutton_add_variables(ngx_conf_t *cf);


#endif /* _NGX_BLUEBUTTON_VARIABLES_H_INCLUDED_ */
