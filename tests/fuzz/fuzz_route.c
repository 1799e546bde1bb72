/*
 * libFuzzer target for the router (lx_router_match): the first byte picks
 * the method, the rest is the raw request path. Any input must give a
 * consistent answer: a match with a route and its parameters, a 405 with an
 * Allow set, or not found, never a crash. The same bytes go through the
 * query parser (lx_query_args) as a raw query string: accepted values are
 * NUL-terminated, fit their buffer and hold no control character.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
h(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	(void)req;
	(void)resp;
	(void)err;
	return (0);
}

static const struct lx_route routes[] = {
	{ "/", M_GET, NEED_ANON, NULL, h },
	{ "/healthz", M_GET, NEED_ANON, NULL, h },
	{ "/tenants", M_GET | M_POST, NEED_ANON, NULL, h },
	{ "/tenants/me", M_GET, NEED_ANON, NULL, h },
	{ "/tenants/{id}", M_GET | M_PATCH | M_DELETE, NEED_ANON, NULL, h },
	{ "/tenants/{id}/members/{uid}", M_PUT | M_DELETE, NEED_ANON, NULL, h },
	{ "/a/{b}/c/{d}/e/{f}/g/{h}", M_GET, NEED_ANON, NULL, h },
	{ NULL, 0, NEED_ANON, NULL, NULL },
};

static const unsigned methods[] = { M_GET, M_HEAD, M_POST, M_PUT, M_PATCH,
	M_DELETE, M_OPTIONS, 0 };

static void
query_check(const char *query)
{
	char a[8], b[40];
	struct lx_qarg args[] = {
		{ "limit", a, sizeof(a), 0 },
		{ "cursor", b, sizeof(b), 0 },
		{ NULL, NULL, 0, 0 },
	};
	struct lx_err err;
	size_t i, j;

	if (lx_query_args(query, args, &err) == -1) {
		if (err.status != 400)
			abort();
		return;
	}
	for (i = 0; args[i].name != NULL; i++) {
		if (strlen(args[i].val) >= args[i].size)
			abort();
		for (j = 0; args[i].val[j] != '\0'; j++)
			if ((unsigned char)args[i].val[j] < 0x20)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lx_router *r;
	struct lx_match m;
	struct lx_buf scratch;
	struct lx_err err;
	char *path;
	int i;

	if (r == NULL) {
		r = lx_router_create();
		if (lx_router_add(r, routes, &err) == -1)
			abort();
	}
	if (size == 0)
		return (0);
	path = lx_strndup((const char *)data + 1, size - 1);
	lx_buf_init(&scratch);
	switch (lx_router_match(r, path, methods[data[0] % 8], &m, &scratch)) {
	case LX_MATCH_OK:
		if (m.route == NULL || m.nparams < 0
		    || m.nparams > LX_MAX_PARAMS)
			abort();
		for (i = 0; i < m.nparams; i++)
			if (m.param_values[i] == NULL
			    || *m.param_values[i] == '\0'
			    || strchr(m.param_values[i], '/') != NULL)
				abort();
		break;
	case LX_MATCH_METHOD:
		if (m.route == NULL || (m.allowed & M_OPTIONS) == 0)
			abort();
		break;
	case LX_MATCH_NOT_FOUND:
		break;
	}
	lx_buf_cleanup(&scratch);
	query_check(path);
	lx_free(path);
	return (0);
}
