/*
 * Unit tests for core_json.c: malformed JSON (400 invalid_json), depth
 * limit, UTF-8, and schema validation (422 naming the field).
 */
#include <cJSON.h>

#include "core.h"
#include "lxtest.h"

static const struct lx_field fields[] = {
	{ "name", F_STRING, 1, 8 },
	{ "age", F_INT, 0, 0 },
	{ "admin", F_BOOL, 0, 0 },
	{ "score", F_NUMBER, 0, 0 },
	{ "tags", F_ARRAY, 0, 0 },
	{ "meta", F_OBJECT, 0, 0 },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema schema = { fields };

/* Runs the parser on s; returns the HTTP status (200 when accepted). */
static int
try(const char *s, const char *code, const char *field)
{
	struct lx_err err;
	cJSON *out = NULL;
	char f[64];
	int rc;

	lx_err_clear(&err);
	rc = lx_json_body(s, strlen(s), &schema, &out, f, sizeof(f), &err);
	if (rc == 0) {
		CHECK(out != NULL);
		cJSON_Delete(out);
		return (200);
	}
	CHECK(out == NULL);
	if (code != NULL)
		CHECK_STR(err.code, code);
	if (field != NULL)
		CHECK_STR(f, field);
	return (err.status);
}

static void
test_valid(void)
{
	CHECK(try("{\"name\":\"ann\"}", NULL, NULL) == 200);
	CHECK(try(" {\"name\":\"ann\",\"age\":42,\"admin\":true,\"score\":1.5,"
	          "\"tags\":[1,2],\"meta\":{\"x\":[]}} \n",
	          NULL, NULL)
	    == 200);
	CHECK(try("{\"name\":\"12345678\"}", NULL, NULL) == 200);
	CHECK(try("{\"name\":\"\xc3\xa9t\xc3\xa9\"}", NULL, NULL) == 200);
	/* Optional members may be null. */
	CHECK(try("{\"name\":\"a\",\"age\":null}", NULL, NULL) == 200);
	CHECK(try("{\"name\":\"a\",\"age\":-9007199254740991}", NULL, NULL)
	    == 200);
}

static void
test_malformed(void)
{
	static const char *bad[] = { "", " ", "{", "{\"name\":}", "nul",
		"{\"name\":\"a\"} x", "{\"name\":\"a\"}{}", "{'name':'a'}",
		"{\"name\":\"a\",}", "\xff{}", "{\"name\":\"\xc3\"}",
		"{\"name\":\"\xed\xa0\x80\"}", "{\"name\":\"\xc0\xaf\"}",
		NULL };
	int i;

	for (i = 0; bad[i] != NULL; i++)
		CHECK(try(bad[i], "invalid_json", NULL) == 400);
	/* A NUL inside the buffer, raw or escaped. */
	{
		struct lx_err err;
		cJSON *out = NULL;

		CHECK(lx_json_body("{\"name\":\"a\"}\0", 13, &schema, &out,
		          NULL, 0, &err)
		    == -1);
		CHECK(err.status == 400);
		CHECK(try("{\"name\":\"a\\u0000b\"}", "invalid_json", NULL)
		    == 400);
	}
}

static void
test_depth(void)
{
	char deep[200];
	int i, n = LX_JSON_MAX_DEPTH;

	/* {"meta": [[[...]]]} at exactly the limit, then one more. */
	strcpy(deep, "{\"name\":\"a\",\"meta\":");
	for (i = 0; i < n - 1; i++)
		strcat(deep, "[");
	for (i = 0; i < n - 1; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	CHECK(try(deep, "wrong_type", "meta") == 422); /* depth ok */
	strcpy(deep, "{\"name\":\"a\",\"tags\":");
	for (i = 0; i < n; i++)
		strcat(deep, "[");
	for (i = 0; i < n; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	CHECK(try(deep, "invalid_json", NULL) == 400);
	/* Brackets inside strings do not count. */
	CHECK(
	    try("{\"name\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"}",
	        "too_long", "name")
	    == 422);
}

static void
test_schema(void)
{
	CHECK(try("[]", "wrong_type", NULL) == 422);
	CHECK(try("\"x\"", "wrong_type", NULL) == 422);
	CHECK(try("{}", "missing_field", "name") == 422);
	CHECK(try("{\"name\":null}", "missing_field", "name") == 422);
	CHECK(try("{\"name\":\"a\",\"role\":\"x\"}", "unknown_field", "role")
	    == 422);
	CHECK(try("{\"name\":5}", "wrong_type", "name") == 422);
	CHECK(try("{\"name\":\"a\",\"age\":1.5}", "wrong_type", "age") == 422);
	CHECK(
	    try("{\"name\":\"a\",\"age\":\"1\"}", "wrong_type", "age") == 422);
	CHECK(
	    try("{\"name\":\"a\",\"age\":1e300}", "wrong_type", "age") == 422);
	CHECK(
	    try("{\"name\":\"a\",\"admin\":1}", "wrong_type", "admin") == 422);
	CHECK(try("{\"name\":\"a\",\"score\":\"1\"}", "wrong_type", "score")
	    == 422);
	CHECK(try("{\"name\":\"a\",\"tags\":{}}", "wrong_type", "tags") == 422);
	CHECK(try("{\"name\":\"a\",\"meta\":[]}", "wrong_type", "meta") == 422);
	CHECK(try("{\"name\":\"123456789\"}", "too_long", "name") == 422);
	CHECK(try("{\"name\":\"a\",\"name\":\"b\"}", "duplicate_field", "name")
	    == 422);
}

static void
test_no_schema(void)
{
	struct lx_err err;
	cJSON *out = NULL;

	CHECK(lx_json_body("{\"any\":1}", 9, NULL, &out, NULL, 0, &err) == 0);
	CHECK(out != NULL);
	cJSON_Delete(out);
}

int
main(void)
{
	RUN(test_valid);
	RUN(test_malformed);
	RUN(test_depth);
	RUN(test_schema);
	RUN(test_no_schema);
	return (lxtest_done());
}
