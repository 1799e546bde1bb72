/*
 * Lookup in the tables of files compiled into the binary (embed.h).
 */
#include <string.h>

#include "embed.h"

const struct lx_embed *
lx_embed_find(const struct lx_embed *table, const char *name)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return (table);
	return (NULL);
}
