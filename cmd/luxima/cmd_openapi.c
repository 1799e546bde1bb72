/*
 * luxima openapi: prints the embedded OpenAPI 3.1 document, or with
 * `routes` the route table every module registered (one `METHOD PATH` line
 * per method), which tests/spec compares with api/openapi.yaml.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "embed.h"

static const struct {
	unsigned bit;
	const char *name;
} methods[] = {
	{ M_GET, "GET" },
	{ M_HEAD, "HEAD" },
	{ M_POST, "POST" },
	{ M_PUT, "PUT" },
	{ M_PATCH, "PATCH" },
	{ M_DELETE, "DELETE" },
	{ M_OPTIONS, "OPTIONS" },
};

static void
print_routes(void)
{
	const struct lx_route *r;
	size_t i, m;

	for (i = 0; lx_modules[i] != NULL; i++)
		for (r = lx_modules[i]->routes; r != NULL && r->path != NULL;
		     r++)
			for (m = 0; m < LX_NELEM(methods); m++)
				if (r->methods & methods[m].bit)
					printf("%s %s %s\n", methods[m].name,
					    r->path, lx_modules[i]->name);
}

int
cmd_openapi(int argc, char **argv)
{
	struct cli_settings s;
	const struct lx_embed *doc;
	char *pos[1];
	int npos = 1, rc;

	if ((rc = cli_parse(
	         "openapi", "[routes]", argc, argv, NULL, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (npos == 1 && strcmp(pos[0], "routes") == 0) {
		print_routes();
		return (0);
	}
	if (npos == 1) {
		fprintf(stderr, "luxima openapi: unknown '%s' (see --help)\n",
		    pos[0]);
		return (2);
	}
	if ((doc = lx_embed_find(lx_embed_api, "openapi.json")) == NULL) {
		fprintf(stderr, "luxima openapi: no document embedded\n");
		return (1);
	}
	fwrite(doc->data, 1, doc->len, stdout);
	return (0);
}
