/*
 * Build information for `GET /version`, `luxima version` and the
 * luxima_build_info metric (core_version.c).
 */
#ifndef LX_VERSION_H
#define LX_VERSION_H

#include "lx.h"

/* Luxima's version, e.g. "0.1.0". Static string. */
const char *lx_version(void);
/* Appends a JSON object {name, version, built, compiler, libraries{...}}
 * describing this binary to out. Thread-safe. */
void lx_build_info(struct lx_buf *out);

#endif
