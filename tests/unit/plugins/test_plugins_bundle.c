/*
 * Unit tests for plugins_bundle.c: pack, sign, serialize, parse and verify
 * round trips; a digest fixed against an independent computation (Python's
 * json + hashlib); a failing case with its code for every format and
 * manifest rule; tampered files, manifests, signatures and key ids; the
 * SemVer 2.0.0 grammar and precedence; tenant config validation; key
 * files.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>
#include <sodium.h>

#include "lxtest.h"
#include "plugins.h"

#define HOOK_SRC "return function(ev) return { ok = true } end\n"
#define ROUTE_SRC \
	"return function(req) return { status = 200, json = { greeting = " \
	"'hi' } } end\n"
#define HOOK_B64 "cmV0dXJuIGZ1bmN0aW9uKGV2KSByZXR1cm4geyBvayA9IHRydWUgfSBlbmQK"
#define ROUTE_B64 \
	"cmV0dXJuIGZ1bmN0aW9uKHJlcSkgcmV0dXJuIHsgc3RhdHVzID0gMjAwLCBqc29uID0g" \
	"eyBncmVldGluZyA9ICdoaScgfSB9IGVuZAo="
#define FILES_OK \
	"{\"hooks/invoice.lua\":\"" HOOK_B64 \
	"\",\"routes/hello.lua\":\"" ROUTE_B64 "\"}"

static const char manifest_ok[] =
    "{\"name\":\"hello-world\",\"version\":\"1.2.0\","
    "\"description\":\"Says hello.\",\"publisher\":\"acme\","
    "\"min_luxima\":\"0.1.0\",\"permissions\":[\"docs.read\"],"
    "\"hooks\":[{\"event\":\"invoice.finalized\","
    "\"file\":\"hooks/invoice.lua\"}],"
    "\"routes\":[{\"method\":\"GET\",\"path\":\"/hello\","
    "\"file\":\"routes/hello.lua\"}],"
    "\"config\":{\"greeting\":{\"type\":\"string\",\"required\":false,"
    "\"default\":\"hi\",\"max\":100}}}";

/* manifest_ok in canonical form, as Python's json.dumps(sort_keys=True,
 * separators=(',', ':')) writes it. */
static const char manifest_canon[] =
    "{\"config\":{\"greeting\":{\"default\":\"hi\",\"max\":100,"
    "\"required\":false,\"type\":\"string\"}},"
    "\"description\":\"Says hello.\",\"hooks\":[{\"event\":"
    "\"invoice.finalized\",\"file\":\"hooks/invoice.lua\"}],"
    "\"min_luxima\":\"0.1.0\",\"name\":\"hello-world\","
    "\"permissions\":[\"docs.read\"],\"publisher\":\"acme\","
    "\"routes\":[{\"file\":\"routes/hello.lua\",\"method\":\"GET\","
    "\"path\":\"/hello\"}],\"version\":\"1.2.0\"}";

/* SHA-256 of the digest input for manifest_ok and its two files,
 * computed with Python's hashlib. */
static const char digest_ok[] =
    "ff030783033f61b81c9a299dd78484402725203c491f4b1ba489055921a53e0d";

static unsigned char pk1[PLUGINS_PK_BYTES], pk2[PLUGINS_PK_BYTES];
static unsigned char *sk1, *sk2;

/* A bundle text with manifest and files (JSON texts); lx_free it. */
static char *
mk(const char *manifest, const char *files)
{
	return (lx_asprintf("{\"format\":\"luxima-plugin/1\",\"manifest\":%s,"
	                    "\"files\":%s}",
	    manifest, files));
}

/* manifest_ok with member key set to the JSON text value (as written),
 * or removed when value is NULL; lx_free it. */
static char *
manifest_with(const char *key, const char *value)
{
	cJSON *m = cJSON_Parse(manifest_ok), *v = cJSON_CreateString("@@");
	char *s, *p, *r;

	cJSON_DeleteItemFromObjectCaseSensitive(m, key);
	if (value != NULL)
		cJSON_AddItemToObject(m, key, v);
	else
		cJSON_Delete(v);
	s = cJSON_PrintUnformatted(m);
	if (value != NULL && (p = strstr(s, "\"@@\"")) != NULL) {
		*p = '\0';
		r = lx_asprintf("%s%s%s", s, value, p + 4);
	} else
		r = lx_strdup(s);
	cJSON_free(s);
	cJSON_Delete(m);
	return (r);
}

/* Parses text and expects failure with code and a detail starting with
 * prefix (when not NULL), or success when code is NULL. */
static void
expect_text(int line, const char *text, size_t len, const char *code,
    const char *prefix)
{
	struct plugin_bundle *b = (struct plugin_bundle *)1;
	struct lx_err err;
	int rc;

	lx_err_clear(&err);
	rc = plugins_bundle_parse(text, len, &b, &err);
	if (code == NULL) {
		CHECK(rc == 0 && b != NULL);
		if (rc != 0)
			fprintf(stderr, "   line %d: got %s: %s\n", line,
			    err.code, err.detail);
		plugins_bundle_free(rc == 0 ? b : NULL);
		return;
	}
	CHECK(rc == -1 && b == NULL);
	CHECK(rc == -1 && err.status == 400);
	CHECK_STR(err.code, code);
	if (prefix != NULL)
		CHECK(strncmp(err.detail, prefix, strlen(prefix)) == 0);
	if (rc != -1 || strcmp(err.code, code) != 0
	    || (prefix && strncmp(err.detail, prefix, strlen(prefix)) != 0))
		fprintf(stderr, "   line %d: got %s: %s\n", line, err.code,
		    err.detail);
	if (rc == 0)
		plugins_bundle_free(b);
}

static void
expect_str(int line, const char *text, const char *code, const char *prefix)
{
	expect_text(line, text, strlen(text), code, prefix);
}

#define EXPECT(text, code, prefix) \
	expect_str(__LINE__, (text), (code), (prefix))

/* Expects the bundle of manifest_ok with key set to value to fail. */
static void
expect_member(int line, const char *key, const char *value, const char *code,
    const char *prefix)
{
	char *m = manifest_with(key, value), *t = mk(m, FILES_OK);

	expect_text(line, t, strlen(t), code, prefix);
	lx_free(t);
	lx_free(m);
}

#define EXPECT_M(key, value, prefix) \
	expect_member(__LINE__, (key), (value), "invalid_manifest", (prefix))

/* Parses text, expecting success. */
static struct plugin_bundle *
parse_ok(const char *text, size_t len)
{
	struct plugin_bundle *b = NULL;
	struct lx_err err;

	lx_err_clear(&err);
	if (plugins_bundle_parse(text, len, &b, &err) == -1)
		fprintf(stderr, "   parse: %s: %s\n", err.code, err.detail);
	CHECK(b != NULL);
	return (b);
}

static int
digest_is(const struct plugin_bundle *b, const char *hex)
{
	char h[2 * PLUGINS_DIGEST_BYTES + 1];

	sodium_bin2hex(h, sizeof(h), b->digest, sizeof(b->digest));
	if (strcmp(h, hex) != 0)
		fprintf(stderr, "   digest %s, want %s\n", h, hex);
	return (strcmp(h, hex) == 0);
}

/* A reader for plugins_bundle_pack over the two files of manifest_ok;
 * *(int *)ud counts the reads. "big.lua" is one byte too large. */
static int
mem_read(
    void *ud, const char *path, char **data, size_t *len, struct lx_err *err)
{
	const char *src = NULL;

	(*(int *)ud)++;
	if (strcmp(path, "hooks/invoice.lua") == 0)
		src = HOOK_SRC;
	else if (strcmp(path, "routes/hello.lua") == 0)
		src = ROUTE_SRC;
	else if (strcmp(path, "big.lua") == 0) {
		*len = PLUGINS_FILE_MAX + 1;
		*data = lx_malloc(*len);
		memset(*data, '-', *len);
		return (0);
	}
	if (src == NULL)
		return (lx_err_set(
		    err, 404, "no_such_file", "%s: not found", path));
	*data = lx_strdup(src);
	*len = strlen(src);
	return (0);
}

static struct plugin_bundle *
pack_ok(const char *manifest)
{
	struct plugin_bundle *b = NULL;
	struct lx_err err;
	int reads = 0;

	if (plugins_bundle_pack(
	        manifest, strlen(manifest), mem_read, &reads, &b, &err)
	    == -1)
		fprintf(stderr, "   pack: %s: %s\n", err.code, err.detail);
	CHECK(b != NULL);
	return (b);
}

static void
test_digest_fixed(void)
{
	struct plugin_bundle *b, *c;
	char *t, *s, *want;
	size_t n;

	/* Parsed, packed, and from a text that is not canonical. */
	t = mk(manifest_ok, FILES_OK);
	b = parse_ok(t, strlen(t));
	CHECK(b != NULL && digest_is(b, digest_ok));
	CHECK(b != NULL && strcmp(b->manifest_json, manifest_canon) == 0);
	lx_free(t);
	c = pack_ok(manifest_ok);
	CHECK(c != NULL && digest_is(c, digest_ok));
	plugins_bundle_free(c);
	t = lx_asprintf(
	    " {\n\t\"files\" : {\"routes\\/hello.lua\": \"%s\", "
	    "\"hooks/invoice.lua\":\"%s\"},\r\n"
	    "\"manifest\": {\"version\":\"1.2.0\",\"name\":"
	    "\"hello-\\u0077orld\",\"description\":\"Says hello.\","
	    "\"publisher\":\"acme\",\"min_luxima\":\"0.1.0\","
	    "\"permissions\":[ \"docs.read\" ],\"config\":"
	    "{\"greeting\":{\"max\":100,\"default\":\"hi\","
	    "\"type\":\"string\",\"required\":false}},\"routes\":"
	    "[{\"path\":\"/hello\",\"method\":\"GET\",\"file\":"
	    "\"routes/hello.lua\"}],\"hooks\":[{\"file\":"
	    "\"hooks/invoice.lua\",\"event\":\"invoice.finalized\"}]},"
	    "\"format\":\"luxima-plugin/1\"}\n",
	    ROUTE_B64, HOOK_B64);
	c = parse_ok(t, strlen(t));
	CHECK(c != NULL && digest_is(c, digest_ok));
	lx_free(t);

	/* The canonical serialization, exactly. */
	want =
	    lx_asprintf("{\"files\":{\"hooks/invoice.lua\":\"" HOOK_B64
	                "\",\"routes/hello.lua\":\"" ROUTE_B64
	                "\"},\"format\":\"luxima-plugin/1\",\"manifest\":%s}",
	        manifest_canon);
	if (b != NULL && c != NULL) {
		s = plugins_bundle_serialize(c, &n);
		CHECK_STR(s, want);
		CHECK(n == strlen(want));
		lx_free(s);
	}
	lx_free(want);
	plugins_bundle_free(b);
	plugins_bundle_free(c);
}

static void
test_roundtrip(void)
{
	struct plugin_bundle *b, *c = NULL, *d = NULL;
	struct lx_err err;
	char *s1 = NULL, *s2 = NULL, *s3 = NULL;
	size_t n1, n2, n3;

	if ((b = pack_ok(manifest_ok)) == NULL)
		return;
	CHECK(!b->has_signature);
	CHECK(plugins_bundle_verify(b, pk1, &err) == -1);
	CHECK_STR(err.code, "unsigned_bundle");
	s1 = plugins_bundle_serialize(b, &n1);
	CHECK(strstr(s1, "signature") == NULL);
	CHECK(plugins_bundle_sign(b, sk1, &err) == 0);
	CHECK(b->has_signature);
	CHECK(plugins_bundle_verify(b, pk1, &err) == 0);
	s2 = plugins_bundle_serialize(b, &n2);
	CHECK(n2 > n1 && strncmp(s2, s1, n1 - 1) == 0);
	if ((c = parse_ok(s2, n2)) == NULL)
		goto out;
	CHECK(c->has_signature && strcmp(c->key_id, b->key_id) == 0);
	CHECK(memcmp(c->digest, b->digest, sizeof(b->digest)) == 0);
	CHECK(memcmp(c->sig, b->sig, sizeof(b->sig)) == 0);
	CHECK(plugins_bundle_verify(c, pk1, &err) == 0);
	s3 = plugins_bundle_serialize(c, &n3);
	CHECK(n3 == n2 && memcmp(s2, s3, n2) == 0);
	/* What the bundle holds. */
	CHECK_STR(c->manifest.name, "hello-world");
	CHECK_STR(c->manifest.version, "1.2.0");
	CHECK_STR(c->manifest.min_luxima, "0.1.0");
	CHECK(c->manifest.perms == 1u); /* EDGE_PERM_DOCS_READ */
	CHECK(c->manifest.nhooks == 1
	    && c->manifest.hooks[0].event == PLUGINS_EVENT_INVOICE_FINALIZED);
	CHECK(c->manifest.nroutes == 1
	    && c->manifest.routes[0].method == PLUGINS_METHOD_GET);
	CHECK(c->manifest.nconfig == 1 && c->manifest.config[0].max == 100);
	CHECK(c->nfiles == 2);
	CHECK(plugins_bundle_file(c, "routes/hello.lua") != NULL
	    && strcmp(
	           plugins_bundle_file(c, "routes/hello.lua")->data, ROUTE_SRC)
	        == 0);
	CHECK(plugins_bundle_file(c, "routes/nope.lua") == NULL);
	/* Signing again (another key) replaces the signature. */
	CHECK(plugins_bundle_sign(c, sk2, &err) == 0);
	CHECK(plugins_bundle_verify(c, pk2, &err) == 0);
	CHECK(plugins_bundle_verify(c, pk1, &err) == -1);
	CHECK_STR(err.code, "key_mismatch");
	/* A bundle of hooks only and one of routes only. */
	d = pack_ok("{\"name\":\"ho\",\"version\":\"0.0.1\",\"description\":"
	            "\"x\",\"publisher\":\"p0\",\"min_luxima\":\"0.1.0\","
	            "\"permissions\":[],\"hooks\":[{\"event\":\"member.added\","
	            "\"file\":\"hooks/invoice.lua\"},{\"event\":"
	            "\"member.removed\",\"file\":\"hooks/invoice.lua\"}]}");
	CHECK(d != NULL && d->nfiles == 1 && d->manifest.perms == 0);
out:
	plugins_bundle_free(b);
	plugins_bundle_free(c);
	plugins_bundle_free(d);
	lx_free(s1);
	lx_free(s2);
	lx_free(s3);
}

/* Replaces the first occurrence of from in s (same length) with to. */
static void
patch(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from);

	CHECK(p != NULL && strlen(from) == strlen(to));
	if (p != NULL)
		memcpy(p, to, strlen(to));
}

static void
expect_verify(const char *text, const unsigned char *pk, const char *code)
{
	struct plugin_bundle *b;
	struct lx_err err;

	if ((b = parse_ok(text, strlen(text))) == NULL)
		return;
	CHECK(plugins_bundle_verify(b, pk, &err) == -1);
	CHECK_STR(err.code, code);
	plugins_bundle_free(b);
}

static void
test_tamper(void)
{
	struct plugin_bundle *b;
	struct lx_err err;
	char *s, *t, *p, c;
	size_t n;

	if ((b = pack_ok(manifest_ok)) == NULL)
		return;
	CHECK(plugins_bundle_sign(b, sk1, &err) == 0);
	s = plugins_bundle_serialize(b, &n);

	/* One byte of a file (decoded: "return" -> "ret_rn"). */
	b->files[0].data[3] = '_';
	t = plugins_bundle_serialize(b, &n);
	expect_verify(t, pk1, "bad_signature");
	b->files[0].data[3] = 'u';
	lx_free(t);

	/* One byte of the manifest. */
	t = lx_strdup(s);
	patch(t, "Says hello.", "Says hellO.");
	expect_verify(t, pk1, "bad_signature");
	lx_free(t);

	/* One character of the signature (still base64 of 64 bytes). */
	t = lx_strdup(s);
	p = strstr(t, "\"sig\":\"") + 7;
	c = *p;
	*p = c == 'A' ? 'B' : 'A';
	expect_verify(t, pk1, "bad_signature");
	lx_free(t);

	/* The key id: names another key. */
	t = lx_strdup(s);
	p = strstr(t, "\"key_id\":\"") + 10;
	*p = *p == '0' ? '1' : '0';
	expect_verify(t, pk1, "key_mismatch");
	lx_free(t);

	/* Verified with the wrong key; and a signature by key 2 that claims
	 * key 1's id. */
	expect_verify(s, pk2, "key_mismatch");
	CHECK(plugins_bundle_sign(b, sk2, &err) == 0);
	plugins_key_id(pk1, b->key_id);
	t = plugins_bundle_serialize(b, &n);
	expect_verify(t, pk1, "bad_signature");
	lx_free(t);

	lx_free(s);
	plugins_bundle_free(b);
}

static void
test_bundle_rules(void)
{
	char *t, *m;
	struct lx_buf buf;
	int i;

	EXPECT("", "invalid_bundle", "bundle: is not JSON");
	EXPECT("{\"format\":", "invalid_bundle", "bundle: is not JSON");
	EXPECT("[1]", "invalid_bundle", "bundle: must be a JSON object");
	t = mk(manifest_ok, FILES_OK);
	CHECK(strlen(t) > 0);
	expect_text(__LINE__, t, strlen(t) - 1, "invalid_bundle", NULL);
	lx_free(t);
	m = mk(manifest_ok, FILES_OK);
	t = lx_asprintf("%s x", m);
	EXPECT(t, "invalid_bundle", "bundle: has text after");
	lx_free(t);
	lx_free(m);
	EXPECT("{\"format\":\"luxima-plugin/2\"}", "invalid_bundle",
	    "format: must be");
	EXPECT("{\"format\":1}", "invalid_bundle", "format: must be");
	EXPECT("{\"format\":\"luxima-plugin/1\",\"extra\":1}", "invalid_bundle",
	    "bundle: unknown member \"extra\"");
	EXPECT(
	    "{\"format\":\"luxima-plugin/1\",\"format\":\"luxima-plugin/1\"}",
	    "invalid_bundle", "bundle: member \"format\" appears twice");
	EXPECT("{\"format\":\"luxima-plugin/1\",\"files\":{}}",
	    "invalid_manifest", "manifest: is missing");
	t = lx_asprintf(
	    "{\"format\":\"luxima-plugin/1\",\"manifest\":%s}", manifest_ok);
	EXPECT(t, "invalid_bundle", "files: is missing");
	lx_free(t);

	/* The text: UTF-8, controls, NUL, nesting, numbers. */
	EXPECT(
	    "{\"format\":\"\xff\"}", "invalid_bundle", "bundle: is not UTF-8");
	EXPECT("{\"format\":\"a\tb\"}", "invalid_bundle",
	    "bundle: holds a raw control character");
	EXPECT("{\"format\":\"a\\u0000b\"}", "invalid_bundle",
	    "bundle: holds \\u0000");
	expect_text(__LINE__, "{\"format\":\"a\0\"}", 15, "invalid_bundle",
	    "bundle: is not UTF-8");
	EXPECT("{\"a\":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", "invalid_bundle",
	    "bundle: is nested more than 16 deep");
	EXPECT("{\"a\":1.5}", "invalid_bundle", "bundle: holds a number");
	EXPECT("{\"a\":1e3}", "invalid_bundle", "bundle: holds a number");
	EXPECT("{\"a\":1E3}", "invalid_bundle", "bundle: holds a number");

	/* Files. */
	EXPECT(t = mk(manifest_ok, "[]"), "invalid_bundle",
	    "files: must be an object");
	lx_free(t);
	static const struct {
		const char *path, *why;
	} bad_paths[] = {
		{ "Routes/x.lua", "must start with" },
		{ "/x.lua", "must be relative" },
		{ "a//b.lua", "must not contain \"//\"" },
		{ "a/../b.lua", "must not contain \"..\"" },
		{ "a/./b.lua", "must not contain a \".\" segment" },
		{ "a/b.txt", "must end in .lua" },
		{ "a b.lua", "may only hold" },
		{ ".lua", "must start with" },
	};
	for (i = 0; i < (int)LX_NELEM(bad_paths); i++) {
		t = lx_asprintf("{\"format\":\"luxima-plugin/1\",\"manifest\":"
		                "%s,\"files\":{\"%s\":\"\"}}",
		    manifest_ok, bad_paths[i].path);
		m = lx_asprintf(
		    "files[\"%s\"]: %s", bad_paths[i].path, bad_paths[i].why);
		EXPECT(t, "invalid_bundle", m);
		lx_free(m);
		lx_free(t);
	}
	lx_buf_init(&buf);
	lx_buf_adds(&buf, "{\"a");
	for (i = 0; i < 200; i++)
		lx_buf_adds(&buf, "a");
	lx_buf_adds(&buf, ".lua\":\"\"}");
	EXPECT(t = mk(manifest_ok, buf.data), "invalid_bundle", "files[\"aaaa");
	lx_free(t);
	lx_buf_cleanup(&buf);

	static const struct {
		const char *b64, *code, *why;
	} bad_b64[] = {
		{ "cmV0dXJu", NULL, NULL }, /* "return": fine, but unused */
		{ "cmV0dXJ", "invalid_bundle", "is not base64" },
		{ "cmV0dXJ=", "invalid_bundle", "is not base64" }, /* bits */
		{ "cmV0 dXJu", "invalid_bundle", "is not base64" },
		{ "cmV0dXJu\\n", "invalid_bundle", "is not base64" },
		{ "cm-0dXJu", "invalid_bundle", "is not base64" },
		{ "YQBi", "invalid_bundle", "holds a NUL byte" }, /* a\0b */
		{ "/w==", "invalid_bundle", "is not UTF-8 text" }, /* \xff */
	};
	for (i = 0; i < (int)LX_NELEM(bad_b64); i++) {
		t = lx_asprintf(
		    "{\"format\":\"luxima-plugin/1\",\"manifest\":"
		    "%s,\"files\":{\"hooks/invoice.lua\":\"%s\","
		    "\"routes/hello.lua\":\"%s\",\"x.lua\":\"%s\"}}",
		    manifest_ok, HOOK_B64, ROUTE_B64, bad_b64[i].b64);
		m = lx_asprintf("files[\"x.lua\"]: %s",
		    bad_b64[i].why ? bad_b64[i].why : "no hook");
		EXPECT(t, bad_b64[i].code ? bad_b64[i].code : "unused_file", m);
		lx_free(m);
		lx_free(t);
	}
	t = lx_asprintf("{\"format\":\"luxima-plugin/1\",\"manifest\":%s,"
	                "\"files\":{\"hooks/invoice.lua\":\"%s\","
	                "\"routes/hello.lua\":1}}",
	    manifest_ok, HOOK_B64);
	EXPECT(t, "invalid_bundle", "files[\"routes/hello.lua\"]: must be");
	lx_free(t);
	t = lx_asprintf(
	    "{\"format\":\"luxima-plugin/1\",\"manifest\":%s,"
	    "\"files\":{\"hooks/invoice.lua\":\"%s\","
	    "\"routes/hello.lua\":\"%s\",\"hooks/invoice.lua\":\"%s\"}}",
	    manifest_ok, HOOK_B64, ROUTE_B64, HOOK_B64);
	EXPECT(
	    t, "invalid_bundle", "files: \"hooks/invoice.lua\" appears twice");
	lx_free(t);
	EXPECT(t = mk(manifest_ok, "{\"hooks/invoice.lua\":\"" HOOK_B64 "\"}"),
	    "missing_file",
	    "manifest.routes[0].file: \"routes/hello.lua\" is not in");
	lx_free(t);

	/* Limits: 65 files, a file of 256 KiB + 1, a bundle of 1 MiB + 1. */
	lx_buf_init(&buf);
	lx_buf_adds(&buf, "{");
	for (i = 0; i < 65; i++)
		lx_buf_addf(&buf, "%s\"f%d.lua\":\"\"", i ? "," : "", i);
	lx_buf_adds(&buf, "}");
	EXPECT(t = mk(manifest_ok, buf.data), "too_large",
	    "files: more than 64 files");
	lx_free(t);
	/* "---" * (256 Ki / 3) + "-": exactly 256 KiB, then 3 bytes more. */
	lx_buf_reset(&buf);
	lx_buf_adds(&buf,
	    "{\"hooks/invoice.lua\":\"" HOOK_B64 "\",\"routes/hello.lua\":\"");
	for (i = 0; i < (int)(PLUGINS_FILE_MAX / 3); i++)
		lx_buf_adds(&buf, "LS0t");
	lx_buf_adds(&buf, "LQ==\"}");
	EXPECT(t = mk(manifest_ok, buf.data), NULL, NULL);
	lx_free(t);
	memcpy(buf.data + buf.len - 6, "LS0tLQ==\"}", 10);
	buf.len += 4;
	buf.data[buf.len] = '\0';
	EXPECT(t = mk(manifest_ok, buf.data), "too_large",
	    "files[\"routes/hello.lua\"]: is larger than 256 KiB");
	lx_free(t);
	lx_buf_reset(&buf);
	lx_buf_add(&buf, "{\"a\":\"", 6);
	while (buf.len < PLUGINS_BUNDLE_MAX - 1)
		lx_buf_adds(&buf, "x");
	lx_buf_adds(&buf, "\"}");
	expect_text(__LINE__, buf.data, buf.len, "too_large",
	    "bundle: is larger than 1 MiB");
	lx_buf_cleanup(&buf);

	/* The signature's shape. */
	static const struct {
		const char *sig, *why;
	} bad_sigs[] = {
		{ "[]", "signature: must be an object" },
		{ "{\"alg\":\"rsa\",\"key_id\":\"0123456789abcdef\",\"sig\":"
		  "\"\"}",
		    "signature.alg: must be" },
		{ "{\"alg\":\"ed25519\",\"key_id\":\"0123456789ABCDEF\","
		  "\"sig\":\"\"}",
		    "signature.key_id: must be" },
		{ "{\"alg\":\"ed25519\",\"key_id\":\"0123456789abcde\","
		  "\"sig\":\"\"}",
		    "signature.key_id: must be" },
		{ "{\"alg\":\"ed25519\",\"key_id\":\"0123456789abcdef\","
		  "\"sig\":\"AAAA\"}",
		    "signature.sig: must be" },
		{ "{\"alg\":\"ed25519\",\"key_id\":\"0123456789abcdef\"}",
		    "signature.sig: is missing" },
		{ "{\"alg\":\"ed25519\",\"key_id\":\"0123456789abcdef\","
		  "\"sig\":\"\",\"when\":1}",
		    "signature: unknown member \"when\"" },
	};
	for (i = 0; i < (int)LX_NELEM(bad_sigs); i++) {
		t = lx_asprintf("{\"format\":\"luxima-plugin/1\",\"manifest\":"
		                "%s,\"files\":%s,\"signature\":%s}",
		    manifest_ok, FILES_OK, bad_sigs[i].sig);
		EXPECT(t, "invalid_bundle", bad_sigs[i].why);
		lx_free(t);
	}
}

static void
test_manifest_rules(void)
{
	char long_name[80], long_desc[520], seg9[64], path201[220];

	memset(long_name, 'a', 66); /* "aaa...": 65 bytes */
	long_name[0] = '"';
	long_name[66] = '"';
	long_name[67] = '\0';
	memset(long_desc, 'd', 503);
	long_desc[0] = '"';
	long_desc[502] = '"';
	long_desc[503] = '\0';

	EXPECT_M("name", NULL, "manifest.name: is missing");
	EXPECT_M("name", "1", "manifest.name: must be a string");
	EXPECT_M("name", "\"Hello\"", "manifest.name: must be 2 to 64");
	EXPECT_M("name", "\"h\"", "manifest.name: must be");
	EXPECT_M("name", "\"1abc\"", "manifest.name: must be");
	EXPECT_M("name", "\"hello_world\"", "manifest.name: must be");
	EXPECT_M("name", long_name, "manifest.name: must be");
	long_name[65] = '"'; /* 64 bytes */
	long_name[66] = '\0';
	expect_member(__LINE__, "name", long_name, NULL, NULL);
	EXPECT_M("version", "\"1.2\"", "manifest.version: must be a semantic");
	EXPECT_M("version", "\"01.2.0\"", "manifest.version: must be");
	EXPECT_M("version", "\"1.2.0-01\"", "manifest.version: must be");
	EXPECT_M("version", "\"v1.2.0\"", "manifest.version: must be");
	EXPECT_M("description", "\"\"", "manifest.description: must be 1 to");
	EXPECT_M("description", long_desc, "manifest.description: must be");
	EXPECT_M("description", "\"a\\u0001b\"", "manifest.description:");
	EXPECT_M("description", "\"a\\nb\"", "manifest.description:");
	EXPECT_M("publisher", "\"Acme\"", "manifest.publisher: must be");
	EXPECT_M("publisher", NULL, "manifest.publisher: is missing");
	EXPECT_M("min_luxima", "\"latest\"", "manifest.min_luxima: must be");
	EXPECT_M("min_luxima", NULL, "manifest.min_luxima: is missing");
	EXPECT_M("permissions", NULL, "manifest.permissions: is missing");
	EXPECT_M("permissions", "\"docs.read\"",
	    "manifest.permissions: must be an array");
	EXPECT_M("permissions", "[\"docs.delete\"]",
	    "manifest.permissions[0]: unknown permission \"docs.delete\"");
	EXPECT_M("permissions", "[\"docs.read\",\"docs.read\"]",
	    "manifest.permissions[1]: \"docs.read\" is listed twice");
	EXPECT_M("permissions", "[1]", "manifest.permissions[0]: must be a");
	EXPECT_M("homepage", "\"x\"", "manifest: unknown member \"homepage\"");

	/* Hooks. */
	EXPECT_M("hooks", "{}", "manifest.hooks: must be an array");
	EXPECT_M("hooks", "[1]", "manifest.hooks[0]: must be an object");
	EXPECT_M("hooks",
	    "[{\"event\":\"invoice.exploded\",\"file\":\"hooks/invoice.lua\"}]",
	    "manifest.hooks[0]: unknown event \"invoice.exploded\"");
	EXPECT_M("hooks",
	    "[{\"event\":\"invoice.paid\",\"file\":\"hooks/invoice.lua\"},"
	    "{\"event\":\"invoice.paid\",\"file\":\"hooks/invoice.lua\"}]",
	    "manifest.hooks[1]: event \"invoice.paid\" is hooked twice");
	EXPECT_M("hooks",
	    "[{\"event\":\"invoice.paid\",\"file\":\"hooks/invoice.lua\","
	    "\"when\":1}]",
	    "manifest.hooks[0]: unknown member \"when\"");
	EXPECT_M("hooks", "[{\"event\":\"invoice.paid\"}]",
	    "manifest.hooks[0].file: is missing");
	EXPECT_M("hooks",
	    "[{\"event\":\"invoice.paid\",\"file\":\"../x.lua\"}]",
	    "manifest.hooks[0].file: must start with");
	expect_member(__LINE__, "hooks",
	    "[{\"event\":\"invoice.paid\",\"file\":\"hooks/other.lua\"}]",
	    "missing_file", "manifest.hooks[0].file: \"hooks/other.lua\"");
	expect_member(__LINE__, "hooks", "[]", "unused_file",
	    "files[\"hooks/invoice.lua\"]: no hook or route uses it");

	/* Routes. */
	EXPECT_M("routes",
	    "[{\"method\":\"get\",\"path\":\"/a\","
	    "\"file\":\"routes/hello.lua\"}]",
	    "manifest.routes[0].method: \"get\" is not one of");
	EXPECT_M("routes",
	    "[{\"method\":\"HEAD\",\"path\":\"/a\","
	    "\"file\":\"routes/hello.lua\"}]",
	    "manifest.routes[0].method:");
	EXPECT_M("routes",
	    "[{\"method\":\"GET\",\"path\":\"hello\","
	    "\"file\":\"routes/hello.lua\"}]",
	    "manifest.routes[0].path: must start with '/'");
	EXPECT_M("routes",
	    "[{\"method\":\"GET\",\"path\":\"/Hello\","
	    "\"file\":\"routes/hello.lua\"}]",
	    "manifest.routes[0].path: segments may only hold");
	EXPECT_M("routes",
	    "[{\"method\":\"GET\",\"path\":\"/a//b\","
	    "\"file\":\"routes/hello.lua\"}]",
	    "manifest.routes[0].path: must not hold an empty segment");
	EXPECT_M("routes",
	    "[{\"method\":\"GET\",\"path\":\"/a/\","
	    "\"file\":\"routes/hello.lua\"}]",
	    "manifest.routes[0].path: must not hold an empty segment");
	EXPECT_M("routes",
	    "[{\"method\":\"GET\",\"path\":\"/a/../b\","
	    "\"file\":\"routes/hello.lua\"}]",
	    "manifest.routes[0].path: must not hold a \".\" or \"..\"");
	snprintf(seg9, sizeof(seg9), "/1/2/3/4/5/6/7/8/9");
	{
		char *r = lx_asprintf("[{\"method\":\"GET\",\"path\":\"%s\","
		                      "\"file\":\"routes/hello.lua\"}]",
		    seg9);
		EXPECT_M(
		    "routes", r, "manifest.routes[0].path: has more than 8");
		lx_free(r);
		memset(path201, 'a', sizeof(path201));
		path201[0] = '/';
		path201[201] = '\0';
		r = lx_asprintf("[{\"method\":\"GET\",\"path\":\"%s\","
		                "\"file\":\"routes/hello.lua\"}]",
		    path201);
		EXPECT_M(
		    "routes", r, "manifest.routes[0].path: is longer than 200");
		lx_free(r);
	}
	EXPECT_M("routes",
	    "[{\"method\":\"GET\",\"path\":\"/a\","
	    "\"file\":\"routes/hello.lua\"},{\"method\":\"GET\","
	    "\"path\":\"/a\",\"file\":\"routes/hello.lua\"}]",
	    "manifest.routes[1]: GET /a is declared twice");
	expect_member(__LINE__, "routes",
	    "[{\"method\":\"GET\",\"path\":\"/a\",\"file\":\"routes/"
	    "hello.lua\"},"
	    "{\"method\":\"POST\",\"path\":\"/a\",\"file\":\"routes/"
	    "hello.lua\"},"
	    "{\"method\":\"GET\",\"path\":\"/\",\"file\":\"routes/hello.lua\"},"
	    "{\"method\":\"DELETE\",\"path\":\"/a/b.c/d-e_f/x\","
	    "\"file\":\"routes/hello.lua\"}]",
	    NULL, NULL);

	/* Config. */
	EXPECT_M("config", "[]", "manifest.config: must be an object");
	EXPECT_M("config", "{\"Greeting\":{\"type\":\"string\"}}",
	    "manifest.config: field name \"Greeting\" must match");
	EXPECT_M("config", "{\"1x\":{\"type\":\"string\"}}",
	    "manifest.config: field name \"1x\"");
	EXPECT_M("config", "{\"g\":{\"type\":\"float\"}}",
	    "manifest.config.g.type: must be string, integer");
	EXPECT_M("config", "{\"g\":{}}", "manifest.config.g.type: is missing");
	EXPECT_M("config", "{\"g\":1}", "manifest.config.g: must be an object");
	EXPECT_M("config", "{\"g\":{\"type\":\"integer\",\"max\":3}}",
	    "manifest.config.g.max: only string fields have a max");
	EXPECT_M("config", "{\"g\":{\"type\":\"string\",\"max\":0}}",
	    "manifest.config.g.max: must be an integer from 1");
	EXPECT_M("config", "{\"g\":{\"type\":\"string\",\"max\":65537}}",
	    "manifest.config.g.max: must be an integer from 1");
	EXPECT_M("config", "{\"g\":{\"type\":\"string\",\"required\":\"yes\"}}",
	    "manifest.config.g.required: must be true or false");
	EXPECT_M("config", "{\"g\":{\"type\":\"string\",\"min\":1}}",
	    "manifest.config.g: unknown member \"min\"");
	EXPECT_M("config", "{\"g\":{\"type\":\"string\",\"default\":1}}",
	    "manifest.config.g.default: must be a string");
	EXPECT_M("config",
	    "{\"g\":{\"type\":\"string\",\"default\":\"abcd\",\"max\":3}}",
	    "manifest.config.g.default: is longer than 3 bytes");
	EXPECT_M("config", "{\"g\":{\"type\":\"integer\",\"default\":true}}",
	    "manifest.config.g.default: must be an integer");
	EXPECT_M("config",
	    "{\"g\":{\"type\":\"integer\",\"default\":9007199254740992}}",
	    "manifest.config.g.default: must be an integer");
	EXPECT_M("config", "{\"g\":{\"type\":\"boolean\",\"default\":0}}",
	    "manifest.config.g.default: must be true or false");
	EXPECT_M("config", "{\"g\":{\"type\":\"number\",\"default\":\"1\"}}",
	    "manifest.config.g.default: must be an integer");
	expect_member(__LINE__, "config",
	    "{\"g\":{\"type\":\"number\",\"default\":0.5}}", "invalid_bundle",
	    "bundle: holds a number that is not an integer");
	{
		struct lx_buf b;
		int i;

		lx_buf_init(&b);
		lx_buf_adds(&b, "{");
		for (i = 0; i < 33; i++)
			lx_buf_addf(&b, "%s\"f%d\":{\"type\":\"boolean\"}",
			    i ? "," : "", i);
		lx_buf_adds(&b, "}");
		EXPECT_M("config", b.data,
		    "manifest.config: has more than 32 entries");
		lx_buf_cleanup(&b);
	}

	/* At least one hook or route. */
	{
		char *m = manifest_with("hooks", NULL), *t;
		cJSON *j = cJSON_Parse(m);
		char *s;

		cJSON_DeleteItemFromObjectCaseSensitive(j, "routes");
		s = cJSON_PrintUnformatted(j);
		EXPECT(t = mk(s, "{}"), "invalid_manifest",
		    "manifest: declares no hook and no route");
		lx_free(t);
		cJSON_free(s);
		cJSON_Delete(j);
		lx_free(m);
	}
	EXPECT("{\"format\":\"luxima-plugin/1\",\"manifest\":{\"name\":\"ab\","
	       "\"name\":\"ab\"},\"files\":{}}",
	    "invalid_manifest", "manifest: member \"name\" appears twice");
}

/* The canonical form of strings: only '"', '\\' and controls escaped. */
static void
test_canonical_strings(void)
{
	struct plugin_bundle *b;
	char *m, *rest, *t;

	/* manifest_ok with "hi" replaced by a string full of escapes. */
	m = lx_strdup(manifest_ok);
	rest = strstr(m, "\"default\":\"hi\"");
	CHECK(rest != NULL);
	if (rest == NULL)
		return;
	rest[10] = '\0';
	t = lx_asprintf("{\"format\":\"luxima-plugin/1\",\"manifest\":%s"
	                "\"a\\u0001\\n\\t\\\"\\\\\\/\\u00e9\\ud83d\\ude00\"%s,"
	                "\"files\":" FILES_OK "}",
	    m, rest + 14);
	if ((b = parse_ok(t, strlen(t))) != NULL) {
		CHECK(strstr(b->manifest_json,
		          "\"default\":\"a\\u0001\\n\\t\\\"\\\\/\xc3\xa9"
		          "\xf0\x9f\x98\x80\"")
		    != NULL);
		plugins_bundle_free(b);
	}
	lx_free(t);
	lx_free(m);
}

static void
test_pack(void)
{
	struct plugin_bundle *b = NULL;
	struct lx_err err;
	char *m;
	int reads = 0;

	CHECK(plugins_bundle_pack("{", 1, mem_read, &reads, &b, &err) == -1);
	CHECK_STR(err.code, "invalid_manifest");
	CHECK(strncmp(err.detail, "manifest: is not JSON", 21) == 0);
	m = manifest_with("name", "\"X\"");
	CHECK(plugins_bundle_pack(m, strlen(m), mem_read, &reads, &b, &err)
	    == -1);
	CHECK_STR(err.code, "invalid_manifest");
	CHECK(reads == 0 && b == NULL);
	lx_free(m);
	m = manifest_with("hooks",
	    "[{\"event\":\"invoice.paid\",\"file\":\"hooks/none.lua\"}]");
	CHECK(plugins_bundle_pack(m, strlen(m), mem_read, &reads, &b, &err)
	    == -1);
	CHECK_STR(err.code, "no_such_file");
	lx_free(m);
	m = manifest_with(
	    "hooks", "[{\"event\":\"invoice.paid\",\"file\":\"big.lua\"}]");
	CHECK(plugins_bundle_pack(m, strlen(m), mem_read, &reads, &b, &err)
	    == -1);
	CHECK_STR(err.code, "too_large");
	lx_free(m);
	/* A file named twice is read once. */
	reads = 0;
	m = manifest_with("hooks",
	    "[{\"event\":\"invoice.paid\",\"file\":\"routes/hello.lua\"}]");
	CHECK(
	    plugins_bundle_pack(m, strlen(m), mem_read, &reads, &b, &err) == 0);
	CHECK(reads == 1 && b != NULL && b->nfiles == 1);
	plugins_bundle_free(b);
	lx_free(m);
}

static void
test_names(void)
{
	enum plugins_event ev;
	int i;

	for (i = 0; i < PLUGINS_EVENT_COUNT; i++) {
		CHECK(plugins_event_by_name(
		          plugins_event_name((enum plugins_event)i), &ev)
		    == 0);
		CHECK((int)ev == i);
	}
	CHECK_STR(plugins_event_name(PLUGINS_EVENT_SUBSCRIPTION_CANCELED),
	    "subscription.canceled");
	CHECK(plugins_event_name(PLUGINS_EVENT_COUNT) == NULL);
	CHECK(plugins_event_by_name("invoice.cancelled", &ev) == -1);
	CHECK(plugins_method_by_name("PATCH") == PLUGINS_METHOD_PATCH);
	CHECK(plugins_method_by_name("patch") == 0);
	CHECK_STR(plugins_method_name(PLUGINS_METHOD_DELETE), "DELETE");
	CHECK(plugins_method_name(3) == NULL);
}

static void
test_semver(void)
{
	static const char *const valid[] = { "0.0.0", "1.0.0", "1.2.3-alpha",
		"1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0-x.7.z.92",
		"1.0.0-x-y-z.--", "1.0.0+20130313144700",
		"1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD",
		"1.0.0+001", "18446744073709551615.0.0" };
	static const char *const invalid[] = { "", "1", "1.2", "1.2.3.4",
		"01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3-01",
		"1.2.3-a..b", "1.2.3+", "1.2.3+a..b", "v1.2.3", "1.2.3 ",
		" 1.2.3", "1.2.3-a_b", "18446744073709551616.0.0", "-1.2.3",
		"1.2.3-\xce\xb1", "1..3", "1.2.3-+b" };
	/* semver.org section 11, and numeric order of the core. */
	static const char *const order[] = { "0.9.9", "1.0.0-alpha",
		"1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.9.0",
		"1.10.0", "1.11.0", "2.0.0", "2.1.0", "2.1.1" };
	struct plugin_semver v;
	size_t i, j;

	for (i = 0; i < LX_NELEM(valid); i++) {
		CHECK(plugins_semver_parse(valid[i], NULL) == 0);
		if (plugins_semver_parse(valid[i], NULL) != 0)
			fprintf(stderr, "   should be valid: %s\n", valid[i]);
	}
	for (i = 0; i < LX_NELEM(invalid); i++) {
		CHECK(plugins_semver_parse(invalid[i], NULL) == -1);
		if (plugins_semver_parse(invalid[i], NULL) != -1)
			fprintf(
			    stderr, "   should be invalid: %s\n", invalid[i]);
	}
	CHECK(plugins_semver_parse("1.22.333-rc.1+b.7", &v) == 0);
	CHECK(v.major == 1 && v.minor == 22 && v.patch == 333);
	CHECK(v.pre_len == 4 && strncmp(v.pre, "rc.1", 4) == 0);
	CHECK(v.build_len == 3 && strncmp(v.build, "b.7", 3) == 0);
	CHECK(plugins_semver_parse("1.2.3", &v) == 0 && v.pre == NULL
	    && v.build == NULL);
	for (i = 0; i < LX_NELEM(order); i++)
		for (j = 0; j < LX_NELEM(order); j++) {
			int c = plugins_semver_cmp(order[i], order[j]);
			int want = i < j ? -1 : i > j;

			CHECK(c == want);
			if (c != want)
				fprintf(stderr, "   cmp(%s, %s) = %d\n",
				    order[i], order[j], c);
		}
	CHECK(plugins_semver_cmp("1.0.0+a", "1.0.0+b") == 0);
	CHECK(plugins_semver_cmp("1.0.0-rc.1+x", "1.0.0-rc.1") == 0);
	CHECK(plugins_semver_cmp("1.0.0-a", "1.0.0-a.0") < 0);
	CHECK(plugins_semver_cmp("1.0.0-B", "1.0.0-a") < 0); /* ASCII */
	CHECK(plugins_semver_cmp("1.0.0-99", "1.0.0-100") < 0);
	CHECK(plugins_semver_cmp("bad", "0.0.0") < 0);
	CHECK(plugins_semver_cmp("0.0.0", "bad") > 0);
	CHECK(plugins_semver_cmp("bad", "worse") == 0);
}

/* Validates config (JSON text, or NULL) against the manifest of cfg_m;
 * expects want (normalized JSON) or the error code. */
static void
expect_config(int line, const struct plugin_manifest *m, const char *config,
    const char *want, const char *code)
{
	struct lx_err err;
	cJSON *c = config ? cJSON_Parse(config) : NULL;
	char *out = (char *)1;
	int rc;

	lx_err_clear(&err);
	rc = plugins_config_validate(m, c, &out, &err);
	if (want != NULL) {
		CHECK(rc == 0);
		CHECK_STR(out, want);
	} else {
		CHECK(rc == -1 && out == NULL && err.status == 422);
		CHECK_STR(err.code, code);
	}
	if ((want != NULL) != (rc == 0)
	    || (want == NULL && strcmp(err.code, code) != 0))
		fprintf(
		    stderr, "   line %d: %s: %s\n", line, err.code, err.detail);
	if (rc == 0)
		lx_free(out);
	cJSON_Delete(c);
}

#define EXPECT_CFG(config, want, code) \
	expect_config(__LINE__, &b->manifest, (config), (want), (code))

static void
test_config(void)
{
	struct plugin_bundle *b;
	struct lx_err err;
	char *m, *t;

	m = manifest_with("config",
	    "{\"greeting\":{\"type\":\"string\",\"default\":\"hi\",\"max\":5},"
	    "\"count\":{\"type\":\"integer\",\"required\":true},"
	    "\"loud\":{\"type\":\"boolean\"},"
	    "\"ratio\":{\"type\":\"number\",\"default\":1},"
	    "\"tag\":{\"type\":\"string\"}}");
	t = mk(m, FILES_OK);
	if ((b = parse_ok(t, strlen(t))) == NULL)
		goto out;
	CHECK(b->manifest.nconfig == 5);
	CHECK_STR(b->manifest.config[0].name, "count");
	CHECK(b->manifest.config[4].max == PLUGINS_CONFIG_STRING_MAX);
	EXPECT_CFG("{\"count\":3}",
	    "{\"count\":3,\"greeting\":\"hi\","
	    "\"ratio\":1}",
	    NULL);
	EXPECT_CFG("{\"ratio\":0.25,\"loud\":true,\"count\":-7,"
	           "\"greeting\":\"yo\\n\",\"tag\":\"\"}",
	    "{\"count\":-7,\"greeting\":\"yo\\n\",\"loud\":true,"
	    "\"ratio\":0.25,\"tag\":\"\"}",
	    NULL);
	EXPECT_CFG("{\"count\":1,\"ratio\":0.1}",
	    "{\"count\":1,\"greeting\":\"hi\",\"ratio\":0.1}", NULL);
	EXPECT_CFG("{}", NULL, "missing_field");
	EXPECT_CFG(NULL, NULL, "missing_field");
	EXPECT_CFG("[]", NULL, "invalid_config");
	EXPECT_CFG("{\"count\":\"3\"}", NULL, "wrong_type");
	EXPECT_CFG("{\"count\":1.5}", NULL, "wrong_type");
	EXPECT_CFG("{\"count\":null}", NULL, "wrong_type");
	EXPECT_CFG("{\"count\":1,\"loud\":1}", NULL, "wrong_type");
	EXPECT_CFG("{\"count\":1,\"ratio\":\"x\"}", NULL, "wrong_type");
	EXPECT_CFG("{\"count\":1,\"greeting\":\"abcdef\"}", NULL, "too_long");
	EXPECT_CFG("{\"count\":1,\"greeting\":\"abcde\"}",
	    "{\"count\":1,\"greeting\":\"abcde\",\"ratio\":1}", NULL);
	EXPECT_CFG("{\"count\":1,\"x\":1}", NULL, "unknown_field");
	EXPECT_CFG("{\"count\":1,\"count\":2}", NULL, "duplicate_field");
	lx_err_clear(&err);
	{
		cJSON *c = cJSON_Parse("{\"count\":1,\"x\":1}");
		char *o;

		CHECK(plugins_config_validate(&b->manifest, c, &o, &err) == -1);
		CHECK(strncmp(err.detail, "config.x: unknown field", 23) == 0);
		cJSON_Delete(c);
	}
	plugins_bundle_free(b);
out:
	lx_free(t);
	lx_free(m);
}

static void
test_keys(void)
{
	const char *dir = lxtest_tmpdir("plugins_keys");
	unsigned char pk[PLUGINS_PK_BYTES], *sk = sodium_malloc(64);
	struct plugin_bundle *b;
	struct lx_err err;
	char prefix[600], path[620], kid[PLUGINS_KEY_ID_SIZE], kid2[17];
	FILE *f;

	snprintf(prefix, sizeof(prefix), "%s/k", dir);
	CHECK(plugins_keygen(prefix, kid, &err) == 0);
	CHECK(strlen(kid) == 16);
	snprintf(path, sizeof(path), "%s.pub", prefix);
	CHECK(plugins_key_read_public(path, pk, &err) == 0);
	plugins_key_id(pk, kid2);
	CHECK_STR(kid2, kid);
	snprintf(path, sizeof(path), "%s.key", prefix);
	{
		struct stat st;

		CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	}
	CHECK(plugins_key_read_secret(path, sk, &err) == 0);
	if ((b = pack_ok(manifest_ok)) != NULL) {
		CHECK(plugins_bundle_sign(b, sk, &err) == 0);
		CHECK_STR(b->key_id, kid);
		CHECK(plugins_bundle_verify(b, pk, &err) == 0);
		plugins_bundle_free(b);
	}
	/* Never overwritten; a half-existing pair leaves nothing behind. */
	CHECK(plugins_keygen(prefix, kid2, &err) == -1);
	CHECK_STR(err.code, "key_exists");
	CHECK(plugins_key_read_secret(path, sk, &err) == 0);
	snprintf(prefix, sizeof(prefix), "%s/k2", dir);
	snprintf(path, sizeof(path), "%s.pub", prefix);
	f = fopen(path, "w");
	fclose(f);
	CHECK(plugins_keygen(prefix, kid2, &err) == -1);
	CHECK_STR(err.code, "key_exists");
	snprintf(path, sizeof(path), "%s.key", prefix);
	CHECK(access(path, F_OK) == -1);
	snprintf(path, sizeof(path), "%s.pub", prefix);
	CHECK(plugins_key_read_public(path, pk, &err) == -1);
	CHECK_STR(err.code, "invalid_key");

	/* A secret key others may read; a corrupt one; a missing one. */
	snprintf(path, sizeof(path), "%s/k.key", dir);
	chmod(path, 0640);
	CHECK(plugins_key_read_secret(path, sk, &err) == -1);
	CHECK_STR(err.code, "invalid_key");
	CHECK(strstr(err.detail, "chmod 600") != NULL);
	snprintf(path, sizeof(path), "%s/bad.key", dir);
	f = fopen(path, "w");
	fprintf(f, "luxima-ed25519-secret %s\n",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AA"
	    "AAAAAAAAAAAAAAAAAA==");
	fclose(f);
	chmod(path, 0600);
	CHECK(plugins_key_read_secret(path, sk, &err) == -1);
	CHECK_STR(err.code, "invalid_key");
	CHECK(strstr(err.detail, "corrupt") != NULL);
	snprintf(path, sizeof(path), "%s/k.pub", dir);
	CHECK(plugins_key_read_secret(path, sk, &err) == -1); /* 0644 */
	snprintf(path, sizeof(path), "%s/none.key", dir);
	CHECK(plugins_key_read_secret(path, sk, &err) == -1);
	CHECK_STR(err.code, "io_error");
	sodium_free(sk);
}

int
main(void)
{
	if (sodium_init() < 0)
		return (1);
	sk1 = sodium_malloc(PLUGINS_SK_BYTES);
	sk2 = sodium_malloc(PLUGINS_SK_BYTES);
	crypto_sign_keypair(pk1, sk1);
	crypto_sign_keypair(pk2, sk2);
	RUN(test_digest_fixed);
	RUN(test_roundtrip);
	RUN(test_tamper);
	RUN(test_bundle_rules);
	RUN(test_manifest_rules);
	RUN(test_canonical_strings);
	RUN(test_pack);
	RUN(test_names);
	RUN(test_semver);
	RUN(test_config);
	RUN(test_keys);
	sodium_free(sk1);
	sodium_free(sk2);
	return (lxtest_done());
}
