/*
 * Files compiled into the binary by cmake/embed.cmake: the migrations and
 * seeds, the OpenAPI document, the web console and the built-in hook
 * scripts. Each table is sorted by
 * name and ends with an entry whose name is NULL.
 */
#ifndef LX_EMBED_H
#define LX_EMBED_H

#include <stddef.h>

struct lx_embed {
	const char *name; /* path relative to its folder */
	const unsigned char *data; /* contents, followed by one NUL */
	size_t len; /* length without the NUL */
};

extern const struct lx_embed lx_embed_migrations[]; /* migrations/ */
extern const struct lx_embed lx_embed_api[]; /* api/openapi.* */
extern const struct lx_embed lx_embed_web[]; /* web/ */
extern const struct lx_embed lx_embed_lua[]; /* lua_scripts/ */

/* Returns the entry called name in table, or NULL. */
const struct lx_embed *lx_embed_find(
    const struct lx_embed *table, const char *name);

#endif
