/*
 * What the files of modules/plugins share and no other module uses: the
 * error helper, UTF-8 and integer checks, the strict reader of a bundle's
 * JSON text and the canonical JSON writer behind the digest
 * (plugins_json.c).
 */
#ifndef LX_PLUGINS_INT_H
#define LX_PLUGINS_INT_H

#include <stddef.h>

#include <cJSON.h>

#include "plugins.h"

/* Fills err with status, code and "where: <fmt>" (just fmt when where is
 * NULL) and returns -1. */
int plugins_fail(struct lx_err *err, int status, const char *code,
    const char *where, const char *fmt, ...) LX_PRINTF(5, 6);

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int plugins_utf8_valid(const unsigned char *s, size_t len);

/* 1 if d is an integer a double holds exactly (|d| <= 2^53 - 1). */
int plugins_is_int(double d);

/* Parses text (n bytes, need not be NUL-terminated) as one JSON value
 * after the bundle text checks (UTF-8, no NUL, no raw control character
 * or \u0000 in a string, nesting at most 16 deep, numbers without
 * fraction or exponent). Returns the tree (cJSON_Delete it), or NULL with
 * err filled: 400 code, detail "what: ...". */
cJSON *plugins_json_parse(const char *text, size_t n, const char *code,
    const char *what, struct lx_err *err);

/* Appends s as a canonical JSON string: only '"', '\\' and bytes below
 * 0x20 escaped (\b \f \n \r \t by name, others as \u00xx). */
void plugins_canon_str(struct lx_buf *b, const char *s);

/* Appends v as canonical JSON: object keys in byte order, no whitespace,
 * integers in decimal; other numbers only when floats is set (shortest of
 * %.15g and %.17g that reads back). -1 when v holds a number that cannot
 * be written. */
int plugins_canon_write(struct lx_buf *b, const cJSON *v, int floats);

#endif
