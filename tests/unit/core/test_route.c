/*
 * Unit tests for core_route.c: literal and {param} matching, specificity,
 * method sets and 405, HEAD and OPTIONS, percent-decoding and refusals.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "core.h"
#include "lxtest.h"

static int
h(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	(void)req;
	(void)resp;
	(void)err;
	return (0);
}

static const struct lx_route routes_a[] = {
	{ "/", M_GET, NEED_ANON, NULL, h },
	{ "/tenants", M_GET | M_POST, NEED_ANON, NULL, h },
	{ "/tenants/{id}", M_GET | M_DELETE, NEED_ANON, NULL, h },
	{ "/tenants/me", M_GET, NEED_ANON, NULL, h },
	{ "/tenants/{id}/members/{uid}", M_PUT, NEED_ANON, NULL, h },
	{ NULL, 0, NEED_ANON, NULL, NULL },
};
static const struct lx_route routes_b[] = {
	{ "/tenants/{tid}", M_PATCH, NEED_ANON, NULL, h },
	{ NULL, 0, NEED_ANON, NULL, NULL },
};

static struct lx_router *
router(void)
{
	struct lx_router *r = lx_router_create();
	struct lx_err err;

	CHECK(lx_router_add(r, routes_a, &err) == 0);
	CHECK(lx_router_add(r, routes_b, &err) == 0);
	return (r);
}

static void
test_literal_and_params(void)
{
	struct lx_router *r = router();
	struct lx_match m;
	struct lx_buf s;
	struct lx_req req;

	lx_buf_init(&s);
	CHECK(lx_router_match(r, "/", M_GET, &m, &s) == LX_MATCH_OK);
	CHECK_STR(m.route->path, "/");
	CHECK(lx_router_match(r, "/tenants", M_POST, &m, &s) == LX_MATCH_OK);
	CHECK(lx_router_match(r, "/tenants/abc", M_GET, &m, &s) == LX_MATCH_OK);
	CHECK_STR(m.route->path, "/tenants/{id}");
	CHECK(m.nparams == 1);
	CHECK_STR(m.param_names[0], "id");
	CHECK_STR(m.param_values[0], "abc");
	memset(&req, 0, sizeof(req));
	req.nparams = m.nparams;
	memcpy(req.param_names, m.param_names, sizeof(req.param_names));
	memcpy(req.param_values, m.param_values, sizeof(req.param_values));
	CHECK_STR(lx_req_param(&req, "id"), "abc");
	CHECK(lx_req_param(&req, "nope") == NULL);

	CHECK(lx_router_match(r, "/tenants/t1/members/u%20x", M_PUT, &m, &s)
	    == LX_MATCH_OK);
	CHECK(m.nparams == 2);
	CHECK_STR(m.param_values[0], "t1");
	CHECK_STR(m.param_values[1], "u x");
	lx_buf_cleanup(&s);
	lx_router_free(r);
}

static void
test_specific_wins(void)
{
	struct lx_router *r = router();
	struct lx_match m;
	struct lx_buf s;

	lx_buf_init(&s);
	CHECK(lx_router_match(r, "/tenants/me", M_GET, &m, &s) == LX_MATCH_OK);
	CHECK_STR(m.route->path, "/tenants/me");
	CHECK(m.nparams == 0);
	/* The literal's method set is its own: DELETE is a 405 there. */
	CHECK(lx_router_match(r, "/tenants/me", M_DELETE, &m, &s)
	    == LX_MATCH_METHOD);
	CHECK(m.allowed == (M_GET | M_HEAD | M_OPTIONS));
	lx_buf_cleanup(&s);
	lx_router_free(r);
}

static void
test_methods(void)
{
	struct lx_router *r = router();
	struct lx_match m;
	struct lx_buf s;
	char allow[64];

	lx_buf_init(&s);
	CHECK(lx_router_match(r, "/tenants", M_DELETE, &m, &s)
	    == LX_MATCH_METHOD);
	lx_methods_format(m.allowed, allow, sizeof(allow));
	CHECK_STR(allow, "GET, HEAD, POST, OPTIONS");
	/* Two tables, one template shape: methods are merged. */
	CHECK(lx_router_match(r, "/tenants/x", M_PATCH, &m, &s) == LX_MATCH_OK);
	CHECK_STR(m.route->path, "/tenants/{tid}");
	CHECK_STR(m.param_names[0], "tid");
	CHECK(
	    lx_router_match(r, "/tenants/x", M_PUT, &m, &s) == LX_MATCH_METHOD);
	CHECK(m.allowed == (M_GET | M_HEAD | M_DELETE | M_PATCH | M_OPTIONS));
	CHECK(lx_router_match(r, "/tenants", M_HEAD, &m, &s) == LX_MATCH_OK);
	CHECK(lx_router_match(r, "/tenants/x/members/y", M_HEAD, &m, &s)
	    == LX_MATCH_METHOD);
	CHECK(lx_router_match(r, "/tenants/x/members/y", M_OPTIONS, &m, &s)
	    == LX_MATCH_OK);
	CHECK(lx_router_match(r, "/tenants", 0, &m, &s) == LX_MATCH_METHOD);
	CHECK(lx_method_bit("GET") == M_GET);
	CHECK(lx_method_bit("get") == 0);
	CHECK(lx_method_bit("PROPFIND") == 0);
	lx_methods_format(M_GET | M_POST, allow, 6);
	CHECK_STR(allow, "GET");
	lx_buf_cleanup(&s);
	lx_router_free(r);
}

static void
test_not_found(void)
{
	static const char *bad[] = { "", "tenants", "/tenants/", "//",
		"/tenants//members", "/tenants/%2F", "/tenants/%00",
		"/tenants/%zz", "/tenants/%4", "/nope", "/tenants/a/b",
		"/tenants/a/members/b/c", NULL };
	struct lx_router *r = router();
	struct lx_match m;
	struct lx_buf s;
	int i;

	lx_buf_init(&s);
	for (i = 0; bad[i] != NULL; i++) {
		if (lx_router_match(r, bad[i], M_GET, &m, &s)
		    != LX_MATCH_NOT_FOUND)
			fprintf(stderr, "matched: '%s'\n", bad[i]);
		CHECK(lx_router_match(r, bad[i], M_GET, &m, &s)
		    == LX_MATCH_NOT_FOUND);
	}
	CHECK(lx_router_match(r, NULL, M_GET, &m, &s) == LX_MATCH_NOT_FOUND);
	/* Encoded literals still match their route. */
	CHECK(lx_router_match(r, "/t%65nants", M_GET, &m, &s) == LX_MATCH_OK);
	lx_buf_cleanup(&s);
	lx_router_free(r);
}

static void
test_bad_tables(void)
{
	static const struct lx_route dup[] = {
		{ "/a/{x}", M_GET, NEED_ANON, NULL, h },
		{ "/a/{y}", M_GET | M_POST, NEED_ANON, NULL, h },
		{ NULL, 0, NEED_ANON, NULL, NULL },
	};
	static const struct lx_route rel[] = {
		{ "a", M_GET, NEED_ANON, NULL, h },
		{ NULL, 0, NEED_ANON, NULL, NULL },
	};
	static const struct lx_route empty[] = {
		{ "/a//b", M_GET, NEED_ANON, NULL, h },
		{ NULL, 0, NEED_ANON, NULL, NULL },
	};
	static const struct lx_route param[] = {
		{ "/a/{}", M_GET, NEED_ANON, NULL, h },
		{ NULL, 0, NEED_ANON, NULL, NULL },
	};
	struct lx_router *r;
	struct lx_err err;

	r = lx_router_create();
	CHECK(lx_router_add(r, dup, &err) == -1);
	CHECK_STR(err.code, "duplicate_route");
	CHECK(lx_router_add(r, rel, &err) == -1);
	CHECK(lx_router_add(r, empty, &err) == -1);
	CHECK(lx_router_add(r, param, &err) == -1);
	CHECK(lx_router_count(r) == 1);
	CHECK_STR(lx_router_route(r, 0)->path, "/a/{x}");
	CHECK(lx_router_route(r, 1) == NULL);
	lx_router_free(r);
}

/*
 * The tenant-context rule of NEED_TENANT_CTX routes (lx_tenant_pick): a
 * service key implies its tenant, a user names it with X-Tenant-Id or
 * tenant_id, else 400 tenant_required. No route uses the need yet; the
 * core's check_tenant() calls this, then checks membership as for
 * NEED_TENANT_PERM.
 */
static void
test_tenant_pick(void)
{
	struct lx_identity user, key;
	struct lx_err err;
	char out[40];

	memset(&user, 0, sizeof(user));
	snprintf(user.user_id, sizeof(user.user_id), "u1");
	memset(&key, 0, sizeof(key));
	key.service_key = 1;
	snprintf(key.key_tenant, sizeof(key.key_tenant), "t-key");

	CHECK(lx_tenant_pick(&user, "t-h", "tenant_id=t-q", out, &err) == 0);
	CHECK_STR(out, "t-h");
	CHECK(lx_tenant_pick(&user, NULL, "a=1&tenant_id=t-q&b=2", out, &err)
	    == 0);
	CHECK_STR(out, "t-q");
	CHECK(lx_tenant_pick(&user, "", "tenant_id=t-q", out, &err) == 0);
	CHECK_STR(out, "t-q");
	CHECK(lx_tenant_pick(&user, NULL, NULL, out, &err) == -1);
	CHECK(err.status == 400);
	CHECK_STR(err.code, "tenant_required");
	CHECK(lx_tenant_pick(&user, NULL, "tenant_id=&x_tenant_id=t", out, &err)
	    == -1);
	CHECK_STR(err.code, "tenant_required");
	CHECK(
	    lx_tenant_pick(&user, NULL,
	        "tenant_id=0123456789012345678901234567890123456789", out, &err)
	    == -1);
	CHECK(err.status == 404);

	CHECK(lx_tenant_pick(&key, NULL, NULL, out, &err) == 0);
	CHECK_STR(out, "t-key");
	CHECK(lx_tenant_pick(&key, "t-key", NULL, out, &err) == 0);
	CHECK_STR(out, "t-key");
	CHECK(lx_tenant_pick(&key, "t-other", NULL, out, &err) == -1);
	CHECK(err.status == 404);
	CHECK_STR(err.code, "not_found");
	CHECK(lx_tenant_pick(&key, NULL, "tenant_id=t-other", out, &err) == -1);
	CHECK(err.status == 404);
}

/* Declared query parameters (lx_query_args): decoded, each once, nothing
 * undeclared, nothing that does not fit or holds a control character. */
static void
test_query_args(void)
{
	char limit[8], actor[16];
	struct lx_qarg args[] = {
		{ "limit", limit, sizeof(limit), 0 },
		{ "actor", actor, sizeof(actor), 0 },
		{ NULL, NULL, 0, 0 },
	};
	struct lx_err err;

	CHECK(lx_query_args(NULL, args, &err) == 0);
	CHECK(!args[0].seen && limit[0] == '\0' && actor[0] == '\0');
	CHECK(lx_query_args("", args, &err) == 0);
	CHECK(lx_query_args("limit=5&actor=a%20b+c%2A", args, &err) == 0);
	CHECK(args[0].seen && args[1].seen);
	CHECK_STR(limit, "5");
	CHECK_STR(actor, "a b c*");
	CHECK(lx_query_args("actor=&", args, &err) == 0);
	CHECK(args[1].seen && !args[0].seen && actor[0] == '\0');
	CHECK(lx_query_args("limit", args, &err) == 0 && args[0].seen);
	CHECK(lx_query_args("other=1", args, &err) == -1);
	CHECK(err.status == 400);
	CHECK_STR(err.code, "unknown_parameter");
	CHECK(strstr(err.detail, "other") != NULL);
	CHECK(lx_query_args("limit=1&limit=2", args, &err) == -1);
	CHECK_STR(err.code, "duplicate_parameter");
	CHECK(lx_query_args("limit=12345678", args, &err) == -1);
	CHECK_STR(err.code, "invalid_parameter");
	CHECK(lx_query_args("limit=1234567", args, &err) == 0);
	CHECK(lx_query_args("actor=%00", args, &err) == -1);
	CHECK_STR(err.code, "invalid_parameter");
	CHECK(lx_query_args("actor=%0a", args, &err) == -1);
	CHECK(lx_query_args("actor=%4", args, &err) == -1);
	CHECK(lx_query_args("actor=%zz", args, &err) == -1);
	CHECK(lx_query_args("actor=%", args, &err) == -1);
	CHECK(lx_query_args("actor=%41", args, &err) == 0);
	CHECK_STR(actor, "A");
	CHECK(lx_query_args("&&limit=3&", args, &err) == 0);
	CHECK_STR(limit, "3");
	CHECK(lx_query_args("=x", args, &err) == 0);
}

/* Every module in lx_modules[] would be checked by the server; here the
 * routes of this test stand in: a table registers in one router. */
int
main(void)
{
	RUN(test_literal_and_params);
	RUN(test_specific_wins);
	RUN(test_methods);
	RUN(test_not_found);
	RUN(test_bad_tables);
	RUN(test_tenant_pick);
	RUN(test_query_args);
	return (lxtest_done());
}
