/*
 * luxima openapi: prints the embedded OpenAPI 3.1 document, or with
 * `routes` the route table every module registered, one `METHOD PATH MODULE
 * NEED` line per method, which tests/spec compares with api/openapi.yaml
 * and tests/integration/test_tenant_isolation.py turns into its cases. NEED
 * is what the core checks first: anon, user, platform_admin, user_ctx,
 * tenant:<permission> (the {id} path parameter) or tenant_ctx:<permission>
 * (the tenant-context rule), <permission> being "none" for membership
 * alone.
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

/* The NEED column of a route's line into buf. */
static void
need_format(enum lx_need need, char *buf, size_t len)
{
	static const char *const kinds[] = { "anon", "user", "platform_admin",
		"user_ctx", "tenant", "tenant_ctx", "tenant_ctx_opt" };
	unsigned kind = LX_NEED_KIND(need);
	const char *perm = lx_perm_name(LX_NEED_PERM(need));

	if (kind >= LX_NELEM(kinds))
		snprintf(buf, len, "unknown");
	else if (kind == NEED_TENANT || kind == NEED_TENANT_CTX
	    || kind == NEED_TENANT_CTX_OPT)
		snprintf(buf, len, "%s:%s", kinds[kind],
		    perm != NULL ? perm : "none");
	else
		snprintf(buf, len, "%s", kinds[kind]);
}

static void
print_routes(void)
{
	const struct lx_route *r;
	char need[64];
	size_t i, m;

	for (i = 0; lx_modules[i] != NULL; i++)
		for (r = lx_modules[i]->routes; r != NULL && r->path != NULL;
		     r++) {
			need_format(r->need, need, sizeof(need));
			for (m = 0; m < LX_NELEM(methods); m++)
				if (r->methods & methods[m].bit)
					printf("%s %s %s %s\n", methods[m].name,
					    r->path, lx_modules[i]->name, need);
		}
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
