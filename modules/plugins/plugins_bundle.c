/*
 * Plugin bundles: the file format, its canonical digest, the Ed25519
 * signature, manifest validation and tenant config validation. Pure: no
 * I/O, no HTTP, no database. Faces uploads: fuzzed by
 * tests/fuzz/fuzz_bundle.c.
 *
 * The format. A bundle (".lxp") is one JSON object, UTF-8, at most
 * PLUGINS_BUNDLE_MAX (1 MiB):
 *
 *	{"format": "luxima-plugin/1",
 *	 "manifest": {...},
 *	 "files": {"routes/hello.lua": "<base64 of the file's bytes>", ...},
 *	 "signature": {"alg": "ed25519", "key_id": "<16 lowercase hex>",
 *	               "sig": "<base64 of 64 bytes>"}}
 *
 * "signature" is absent in an unsigned bundle. Unknown or repeated members
 * are refused everywhere, naming the member. The text must be UTF-8 with
 * no raw control character inside strings, no "\u0000", nesting at most
 * 16 deep, and every number an integer written without fraction or
 * exponent.
 *
 * The manifest: name and publisher ^[a-z][a-z0-9-]{1,63}$; version and
 * min_luxima Semantic Versioning 2.0.0; description 1..500 bytes without
 * control characters; permissions an array of distinct names known to
 * edge_perm_by_name() (may be empty); hooks [{"event", "file"}] with
 * distinct events of enum plugins_event; routes [{"method", "path",
 * "file"}] (GET, POST, PUT, PATCH or DELETE; a path "/" or "/" followed by
 * at most 8 segments of [a-z0-9._-]+, none "." or "..", at most 200 bytes;
 * method + path distinct; at most 64 routes); config {"<field>": {"type",
 * "required", "default", "max"}} (at most 32 fields named
 * ^[a-z][a-z0-9_]{0,63}$; type string, integer, boolean or number;
 * required a boolean, false by default; max only for strings, 1..65536
 * bytes; default of the field's type, within max; numbers, defaults of
 * type number too, are integers within +-(2^53 - 1)). name, version,
 * description, publisher, min_luxima and permissions are required, and at
 * least one hook or route.
 *
 * The files: paths ^[a-z0-9_][a-z0-9_/.-]*\.lua$ without "..", "//" or a
 * "." segment, at most 200 bytes; at most 64 files of at most 256 KiB
 * each once decoded, UTF-8 text without NUL. Base64 is the standard
 * alphabet with padding, strictly (no whitespace, no stray bits). Every
 * file a hook or route names must be there ("missing_file") and every
 * file must be named by one ("unused_file").
 *
 * The canonical digest is SHA-256 over
 *
 *	"luxima-plugin/1\n" + canonical manifest JSON + "\n" +
 *	for each file in byte order of path:
 *	    path + "\n" + decimal decoded length + "\n" + bytes + "\n"
 *
 * where the canonical JSON of a value has object keys in byte order, no
 * whitespace, arrays in their order, integers in decimal, true, false and
 * null as such, and strings with only '"', '\\' and the bytes below 0x20
 * escaped: \b \f \n \r \t by name, the others as \u00xx (lowercase hex);
 * everything else as the raw UTF-8 bytes. The signature is Ed25519
 * (crypto_sign_detached) over the 32-byte digest; the key id is the first
 * 8 bytes of SHA-256(public key) in lowercase hex. plugins_bundle_
 * serialize writes the whole bundle as canonical JSON, so a bundle parsed
 * and written again is byte for byte the same.
 *
 * Key files are read and written by plugins_keys.c, versions checked by
 * plugins_semver.c, the JSON text read and the canonical JSON written by
 * plugins_json.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "edge.h"
#include "plugins_int.h"

#define B64 sodium_base64_VARIANT_ORIGINAL
#define WHERE_MAX 128 /* bytes of a field path in an error */

_Static_assert(PLUGINS_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(PLUGINS_SK_BYTES == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(PLUGINS_SIG_BYTES == crypto_sign_BYTES, "sig size");
_Static_assert(PLUGINS_DIGEST_BYTES == crypto_hash_sha256_BYTES, "digest");

static const char *const event_names[PLUGINS_EVENT_COUNT] = {
	"invoice.created",
	"invoice.finalized",
	"invoice.paid",
	"invoice.voided",
	"subscription.created",
	"subscription.updated",
	"subscription.canceled",
	"member.added",
	"member.removed",
};

static const char *const method_names[] = { "GET", "POST", "PUT", "PATCH",
	"DELETE" };

static const char *const config_types[] = { "string", "integer", "boolean",
	"number" };

static const char *const bundle_members[] = { "format", "manifest", "files",
	"signature", NULL };
static const char *const manifest_members[] = { "name", "version",
	"description", "publisher", "min_luxima", "permissions", "hooks",
	"routes", "config", NULL };
static const char *const hook_members[] = { "event", "file", NULL };
static const char *const route_members[] = { "method", "path", "file", NULL };
static const char *const field_members[] = { "type", "required", "default",
	"max", NULL };
static const char *const sig_members[] = { "alg", "key_id", "sig", NULL };

/* --- errors and small helpers --- */

/* Copies s into buf for an error message: at most 64 bytes, printable
 * ASCII only (anything else, quotes and backslashes as '?'). Returns buf. */
static const char *
printable(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 64 && i + 4 < size; i++)
		buf[i] =
		    (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
		    ? '?'
		    : s[i];
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return (buf);
}

/* Writes "<where>.<name>" into w (WHERE_MAX bytes), cut short with "..."
 * if need be. Returns w. */
static const char *
where_join(char *w, const char *where, const char *name)
{
	if (snprintf(w, WHERE_MAX, "%s.%s", where, name) >= WHERE_MAX)
		memcpy(w + WHERE_MAX - 4, "...", 4);
	return (w);
}

static int
is_lower_digit(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
}

/* --- names: events, methods, paths --- */

const char *
plugins_event_name(enum plugins_event ev)
{
	if ((int)ev < 0 || ev >= PLUGINS_EVENT_COUNT)
		return (NULL);
	return (event_names[ev]);
}

int
plugins_event_by_name(const char *name, enum plugins_event *ev)
{
	int i;

	for (i = 0; i < PLUGINS_EVENT_COUNT; i++)
		if (name != NULL && strcmp(name, event_names[i]) == 0) {
			*ev = (enum plugins_event)i;
			return (0);
		}
	return (-1);
}

const char *
plugins_method_name(unsigned method)
{
	size_t i;

	for (i = 0; i < LX_NELEM(method_names); i++)
		if (method == 1u << i)
			return (method_names[i]);
	return (NULL);
}

unsigned
plugins_method_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < LX_NELEM(method_names); i++)
		if (name != NULL && strcmp(name, method_names[i]) == 0)
			return (1u << i);
	return (0);
}

/* ^[a-z][a-z0-9-]{1,63}$: a plugin's name or publisher. */
static int
name_ok(const char *s)
{
	size_t i;

	if (s[0] < 'a' || s[0] > 'z')
		return (0);
	for (i = 1; s[i] != '\0'; i++)
		if (!is_lower_digit(s[i]) && s[i] != '-')
			return (0);
	return (i >= 2 && i <= PLUGINS_NAME_MAX);
}

/* ^[a-z][a-z0-9_]{0,63}$: a config field's name. */
static int
field_name_ok(const char *s)
{
	size_t i;

	if (s[0] < 'a' || s[0] > 'z')
		return (0);
	for (i = 1; s[i] != '\0'; i++)
		if (!is_lower_digit(s[i]) && s[i] != '_')
			return (0);
	return (i <= PLUGINS_CONFIG_NAME_MAX);
}

/* NULL if s is a valid file path for a bundle, else what is wrong. */
static const char *
file_path_why(const char *s)
{
	size_t i, n = strlen(s);

	if (n > PLUGINS_PATH_MAX)
		return ("is longer than 200 bytes");
	if (s[0] == '/')
		return ("must be relative (no leading '/')");
	if (!is_lower_digit(s[0]) && s[0] != '_')
		return ("must start with one of [a-z0-9_]");
	for (i = 0; i < n; i++)
		if (!is_lower_digit(s[i]) && strchr("_/.-", s[i]) == NULL)
			return ("may only hold [a-z0-9_/.-]");
	if (strstr(s, "..") != NULL)
		return ("must not contain \"..\"");
	if (strstr(s, "//") != NULL)
		return ("must not contain \"//\"");
	if (strstr(s, "/./") != NULL)
		return ("must not contain a \".\" segment");
	if (n < 5 || strcmp(s + n - 4, ".lua") != 0)
		return ("must end in .lua");
	return (NULL);
}

/* NULL if s is a valid route path, else what is wrong. */
static const char *
route_path_why(const char *s)
{
	const char *p, *e;
	size_t i, len, nseg = 0;

	if (s[0] != '/')
		return ("must start with '/'");
	if (strlen(s) > PLUGINS_PATH_MAX)
		return ("is longer than 200 bytes");
	if (s[1] == '\0')
		return (NULL);
	for (p = s + 1;; p = e + 1) {
		e = p + strcspn(p, "/");
		len = (size_t)(e - p);
		if (len == 0)
			return ("must not hold an empty segment or end in '/'");
		for (i = 0; i < len; i++)
			if (!is_lower_digit(p[i])
			    && strchr("._-", p[i]) == NULL)
				return ("segments may only hold [a-z0-9._-]");
		if ((len == 1 && p[0] == '.')
		    || (len == 2 && p[0] == '.' && p[1] == '.'))
			return ("must not hold a \".\" or \"..\" segment");
		if (++nseg > PLUGINS_SEGMENTS_MAX)
			return ("has more than 8 segments");
		if (*e == '\0')
			return (NULL);
	}
}

/* --- the manifest --- */

/* Refuses members of object obj not listed in names (NULL-terminated, at
 * most 32) and members given twice; 400 code, "where: ...". */
static int
members_check(const cJSON *obj, const char *const *names, const char *code,
    const char *where, struct lx_err *err)
{
	const cJSON *c;
	uint32_t seen = 0;
	size_t i;
	char pb[80];

	for (c = obj->child; c != NULL; c = c->next) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(c->string, names[i]) == 0)
				break;
		if (names[i] == NULL)
			return (plugins_fail(err, 400, code, where,
			    "unknown member \"%s\"",
			    printable(c->string, pb, sizeof(pb))));
		if (seen & (1u << i))
			return (plugins_fail(err, 400, code, where,
			    "member \"%s\" appears twice", names[i]));
		seen |= 1u << i;
	}
	return (0);
}

/* The string member name of obj, or NULL with err ("where.name: ...")
 * when it is missing or not a string. */
static const char *
str_member(const cJSON *obj, const char *name, const char *code,
    const char *where, struct lx_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char w[WHERE_MAX];

	where_join(w, where, name);
	if (v == NULL)
		plugins_fail(err, 400, code, w, "is missing");
	else if (!cJSON_IsString(v))
		plugins_fail(err, 400, code, w, "must be a string");
	else
		return (v->valuestring);
	return (NULL);
}

/* The member name of obj (NULL when absent) in *v; -1 with err when it is
 * there but not an array (object: 1) or too long (more than max). */
static int
list_member(const cJSON *obj, const char *name, int object, size_t max,
    const cJSON **v, size_t *n, struct lx_err *err)
{
	const cJSON *c;
	char w[WHERE_MAX];

	*n = 0;
	snprintf(w, sizeof(w), "manifest.%s", name);
	if ((*v = cJSON_GetObjectItemCaseSensitive(obj, name)) == NULL)
		return (0);
	if (object ? !cJSON_IsObject(*v) : !cJSON_IsArray(*v))
		return (plugins_fail(err, 400, "invalid_manifest", w,
		    "must be an %s", object ? "object" : "array"));
	for (c = (*v)->child; c != NULL; c = c->next)
		if (++*n > max)
			return (plugins_fail(err, 400, "invalid_manifest", w,
			    "has more than %zu entries", max));
	return (0);
}

/* Copies the string member name of mj into *out if check() accepts it,
 * else fails with "manifest.<name>: must be <rule>". */
static int
manifest_str(const cJSON *mj, const char *name, int (*check)(const char *),
    const char *rule, char **out, struct lx_err *err)
{
	const char *s;
	char w[WHERE_MAX];

	if ((s = str_member(mj, name, "invalid_manifest", "manifest", err))
	    == NULL)
		return (-1);
	snprintf(w, sizeof(w), "manifest.%s", name);
	if (!check(s))
		return (plugins_fail(
		    err, 400, "invalid_manifest", w, "must be %s", rule));
	*out = lx_strdup(s);
	return (0);
}

/* 1 if s is a semantic version. */
static int
semver_ok(const char *s)
{
	return (plugins_semver_parse(s, NULL) == 0);
}

/* 1 if s is a valid description: 1..500 bytes, no control characters. */
static int
desc_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (0);
	return (i >= 1 && i <= PLUGINS_DESC_MAX);
}

static int
manifest_strings(const cJSON *mj, struct plugin_manifest *m, struct lx_err *err)
{
	static const char name_rule[] = "2 to 64 of [a-z0-9-], starting with "
	                                "a letter";
	static const char semver_rule[] = "a semantic version such as "
	                                  "\"1.2.0\" (semver.org)";

	if (manifest_str(mj, "name", name_ok, name_rule, &m->name, err) == -1
	    || manifest_str(
	           mj, "version", semver_ok, semver_rule, &m->version, err)
	        == -1
	    || manifest_str(mj, "description", desc_ok,
	           "1 to 500 bytes without control characters", &m->description,
	           err)
	        == -1
	    || manifest_str(
	           mj, "publisher", name_ok, name_rule, &m->publisher, err)
	        == -1
	    || manifest_str(mj, "min_luxima", semver_ok, semver_rule,
	           &m->min_luxima, err)
	        == -1)
		return (-1);
	return (0);
}

static int
manifest_perms(const cJSON *mj, struct plugin_manifest *m, struct lx_err *err)
{
	const cJSON *v, *c;
	unsigned bit;
	size_t i = 0, n;
	char w[WHERE_MAX], pb[80];

	if (list_member(mj, "permissions", 0, 64, &v, &n, err) == -1)
		return (-1);
	if (v == NULL)
		return (plugins_fail(err, 400, "invalid_manifest",
		    "manifest.permissions", "is missing"));
	for (c = v->child; c != NULL; c = c->next, i++) {
		snprintf(w, sizeof(w), "manifest.permissions[%zu]", i);
		if (!cJSON_IsString(c))
			return (plugins_fail(err, 400, "invalid_manifest", w,
			    "must be a string"));
		if ((bit = edge_perm_by_name(c->valuestring)) == 0)
			return (plugins_fail(err, 400, "invalid_manifest", w,
			    "unknown permission \"%s\"",
			    printable(c->valuestring, pb, sizeof(pb))));
		if (m->perms & bit)
			return (plugins_fail(err, 400, "invalid_manifest", w,
			    "\"%s\" is listed twice", c->valuestring));
		m->perms |= bit;
	}
	return (0);
}

/* Copies the "file" member of entry (where "manifest.hooks[0]") into
 * *out after checking it is a valid path. */
static int
entry_file(
    const cJSON *entry, const char *where, char **out, struct lx_err *err)
{
	const char *s, *why;
	char w[WHERE_MAX];

	if ((s = str_member(entry, "file", "invalid_manifest", where, err))
	    == NULL)
		return (-1);
	where_join(w, where, "file");
	if ((why = file_path_why(s)) != NULL)
		return (
		    plugins_fail(err, 400, "invalid_manifest", w, "%s", why));
	*out = lx_strdup(s);
	return (0);
}

static int
manifest_hooks(const cJSON *mj, struct plugin_manifest *m, struct lx_err *err)
{
	const cJSON *v, *c;
	const char *ev;
	struct plugin_hook *h;
	unsigned seen = 0;
	size_t n;
	char w[WHERE_MAX], pb[80];

	if (list_member(mj, "hooks", 0, PLUGINS_EVENT_COUNT, &v, &n, err) == -1)
		return (-1);
	if (v == NULL)
		return (0);
	m->hooks = lx_calloc(n ? n : 1, sizeof(*m->hooks));
	for (c = v->child; c != NULL; c = c->next) {
		snprintf(w, sizeof(w), "manifest.hooks[%zu]", m->nhooks);
		if (!cJSON_IsObject(c))
			return (plugins_fail(err, 400, "invalid_manifest", w,
			    "must be an object"));
		if (members_check(c, hook_members, "invalid_manifest", w, err)
		        == -1
		    || (ev = str_member(c, "event", "invalid_manifest", w, err))
		        == NULL)
			return (-1);
		h = &m->hooks[m->nhooks++];
		if (plugins_event_by_name(ev, &h->event) == -1)
			return (plugins_fail(err, 400, "invalid_manifest", w,
			    "unknown event \"%s\"",
			    printable(ev, pb, sizeof(pb))));
		if (seen & (1u << h->event))
			return (plugins_fail(err, 400, "invalid_manifest", w,
			    "event \"%s\" is hooked twice", ev));
		seen |= 1u << h->event;
		if (entry_file(c, w, &h->file, err) == -1)
			return (-1);
	}
	return (0);
}

/* Reads one route entry c (where "manifest.routes[i]") into r. */
static int
route_entry(
    const cJSON *c, const char *w, struct plugin_route *r, struct lx_err *err)
{
	const char *method, *path, *why;
	char pw[WHERE_MAX], pb[80];

	if (!cJSON_IsObject(c))
		return (plugins_fail(
		    err, 400, "invalid_manifest", w, "must be an object"));
	if (members_check(c, route_members, "invalid_manifest", w, err) == -1
	    || (method = str_member(c, "method", "invalid_manifest", w, err))
	        == NULL
	    || (path = str_member(c, "path", "invalid_manifest", w, err))
	        == NULL)
		return (-1);
	where_join(pw, w, "method");
	if ((r->method = plugins_method_by_name(method)) == 0)
		return (plugins_fail(err, 400, "invalid_manifest", pw,
		    "\"%s\" is not one of GET, POST, PUT, PATCH, DELETE",
		    printable(method, pb, sizeof(pb))));
	where_join(pw, w, "path");
	if ((why = route_path_why(path)) != NULL)
		return (
		    plugins_fail(err, 400, "invalid_manifest", pw, "%s", why));
	r->path = lx_strdup(path);
	return (entry_file(c, w, &r->file, err));
}

static int
manifest_routes(const cJSON *mj, struct plugin_manifest *m, struct lx_err *err)
{
	const cJSON *v, *c;
	struct plugin_route *r;
	size_t i, n;
	char w[WHERE_MAX];

	if (list_member(mj, "routes", 0, PLUGINS_ROUTES_MAX, &v, &n, err) == -1)
		return (-1);
	if (v == NULL)
		return (0);
	m->routes = lx_calloc(n ? n : 1, sizeof(*m->routes));
	for (c = v->child; c != NULL; c = c->next) {
		snprintf(w, sizeof(w), "manifest.routes[%zu]", m->nroutes);
		r = &m->routes[m->nroutes++];
		if (route_entry(c, w, r, err) == -1)
			return (-1);
		for (i = 0; i + 1 < m->nroutes; i++)
			if (m->routes[i].method == r->method
			    && strcmp(m->routes[i].path, r->path) == 0)
				return (plugins_fail(err, 400,
				    "invalid_manifest", w,
				    "%s %s is declared twice",
				    plugins_method_name(r->method), r->path));
	}
	return (0);
}

/*
 * Checks that v is a value for field f: of its type, strings UTF-8 and
 * within max bytes. In a manifest (in_manifest) errors are 400
 * "invalid_manifest" and numbers must be integers; else 422 "wrong_type"
 * or "too_long".
 */
static int
value_check(const struct plugin_config_field *f, const cJSON *v,
    int in_manifest, const char *where, struct lx_err *err)
{
	int st = in_manifest ? 400 : 422;
	const char *wrong = in_manifest ? "invalid_manifest" : "wrong_type";
	const char *toolong = in_manifest ? "invalid_manifest" : "too_long";

	switch (f->type) {
	case PLUGINS_CONFIG_STRING:
		if (!cJSON_IsString(v)
		    || !plugins_utf8_valid(
		        (const unsigned char *)v->valuestring,
		        strlen(v->valuestring)))
			return (plugins_fail(
			    err, st, wrong, where, "must be a string"));
		if (strlen(v->valuestring) > f->max)
			return (plugins_fail(err, st, toolong, where,
			    "is longer than %zu bytes", f->max));
		return (0);
	case PLUGINS_CONFIG_INTEGER:
		if (!cJSON_IsNumber(v) || !plugins_is_int(v->valuedouble))
			return (plugins_fail(err, st, wrong, where,
			    "must be an integer within +-(2^53 - 1)"));
		return (0);
	case PLUGINS_CONFIG_BOOLEAN:
		if (!cJSON_IsBool(v))
			return (plugins_fail(
			    err, st, wrong, where, "must be true or false"));
		return (0);
	case PLUGINS_CONFIG_NUMBER:
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)
		    || (in_manifest && !plugins_is_int(v->valuedouble)))
			return (plugins_fail(err, st, wrong, where,
			    "must be a%s",
			    in_manifest ? "n integer within +-(2^53 - 1) in a "
			                  "manifest"
			                : " number"));
		return (0);
	}
	return (plugins_fail(err, st, wrong, where, "has an unknown type"));
}

/* Reads the "type", "required" and "max" of config entry c into f. */
static int
field_head(const cJSON *c, const char *w, struct plugin_config_field *f,
    struct lx_err *err)
{
	const cJSON *v;
	const char *type;
	char fw[WHERE_MAX];
	size_t i;

	if ((type = str_member(c, "type", "invalid_manifest", w, err)) == NULL)
		return (-1);
	for (i = 0; i < LX_NELEM(config_types); i++)
		if (strcmp(type, config_types[i]) == 0)
			break;
	where_join(fw, w, "type");
	if (i == LX_NELEM(config_types))
		return (plugins_fail(err, 400, "invalid_manifest", fw,
		    "must be string, integer, boolean or number"));
	f->type = (enum plugins_config_type)i;
	where_join(fw, w, "required");
	if ((v = cJSON_GetObjectItemCaseSensitive(c, "required")) != NULL
	    && !cJSON_IsBool(v))
		return (plugins_fail(
		    err, 400, "invalid_manifest", fw, "must be true or false"));
	f->required = cJSON_IsTrue(v);
	where_join(fw, w, "max");
	if (f->type == PLUGINS_CONFIG_STRING)
		f->max = PLUGINS_CONFIG_STRING_MAX;
	if ((v = cJSON_GetObjectItemCaseSensitive(c, "max")) == NULL)
		return (0);
	if (f->type != PLUGINS_CONFIG_STRING)
		return (plugins_fail(err, 400, "invalid_manifest", fw,
		    "only string fields have a max"));
	if (!cJSON_IsNumber(v) || !plugins_is_int(v->valuedouble)
	    || v->valuedouble < 1 || v->valuedouble > PLUGINS_CONFIG_STRING_MAX)
		return (plugins_fail(err, 400, "invalid_manifest", fw,
		    "must be an integer from 1 to %d",
		    PLUGINS_CONFIG_STRING_MAX));
	f->max = (size_t)v->valuedouble;
	return (0);
}

static int
field_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct plugin_config_field *)a)->name,
	    ((const struct plugin_config_field *)b)->name));
}

static int
manifest_config(const cJSON *mj, struct plugin_manifest *m, struct lx_err *err)
{
	const cJSON *v, *c, *d;
	struct plugin_config_field *f;
	size_t i, n;
	char w[WHERE_MAX], dw[WHERE_MAX], pb[80];

	if (list_member(mj, "config", 1, PLUGINS_CONFIG_MAX, &v, &n, err) == -1)
		return (-1);
	if (v == NULL)
		return (0);
	m->config = lx_calloc(n ? n : 1, sizeof(*m->config));
	for (c = v->child; c != NULL; c = c->next) {
		if (!field_name_ok(c->string))
			return (plugins_fail(err, 400, "invalid_manifest",
			    "manifest.config",
			    "field name \"%s\" must match "
			    "^[a-z][a-z0-9_]{0,63}$",
			    printable(c->string, pb, sizeof(pb))));
		snprintf(w, sizeof(w), "manifest.config.%s", c->string);
		for (i = 0; i < m->nconfig; i++)
			if (strcmp(m->config[i].name, c->string) == 0)
				return (
				    plugins_fail(err, 400, "invalid_manifest",
				        w, "is declared twice"));
		f = &m->config[m->nconfig++];
		f->name = lx_strdup(c->string);
		if (!cJSON_IsObject(c))
			return (plugins_fail(err, 400, "invalid_manifest", w,
			    "must be an object"));
		if (members_check(c, field_members, "invalid_manifest", w, err)
		        == -1
		    || field_head(c, w, f, err) == -1)
			return (-1);
		where_join(dw, w, "default");
		if ((d = cJSON_GetObjectItemCaseSensitive(c, "default"))
		    == NULL)
			continue;
		if (value_check(f, d, 1, dw, err) == -1)
			return (-1);
		f->def = cJSON_Duplicate(d, 1);
	}
	qsort(m->config, m->nconfig, sizeof(*m->config), field_cmp);
	return (0);
}

/* Validates manifest mj into m and sets *canon to its canonical JSON. */
static int
manifest_parse(const cJSON *mj, struct plugin_manifest *m, char **canon,
    struct lx_err *err)
{
	struct lx_buf b;
	int ret = -1;

	lx_buf_init(&b);
	if (mj == NULL || !cJSON_IsObject(mj)) {
		plugins_fail(err, 400, "invalid_manifest", "manifest",
		    mj == NULL ? "is missing" : "must be an object");
		goto out;
	}
	if (members_check(
	        mj, manifest_members, "invalid_manifest", "manifest", err)
	        == -1
	    || manifest_strings(mj, m, err) == -1
	    || manifest_perms(mj, m, err) == -1
	    || manifest_hooks(mj, m, err) == -1
	    || manifest_routes(mj, m, err) == -1
	    || manifest_config(mj, m, err) == -1)
		goto out;
	if (m->nhooks == 0 && m->nroutes == 0) {
		plugins_fail(err, 400, "invalid_manifest", "manifest",
		    "declares no hook and no route");
		goto out;
	}
	if (plugins_canon_write(&b, mj, 0) == -1) {
		plugins_fail(err, 400, "invalid_manifest", "manifest",
		    "holds a number that is not an integer");
		goto out;
	}
	*canon = lx_buf_take(&b);
	ret = 0;
out:
	lx_buf_cleanup(&b);
	return (ret);
}

static void
manifest_cleanup(struct plugin_manifest *m)
{
	size_t i;

	lx_free(m->name);
	lx_free(m->version);
	lx_free(m->description);
	lx_free(m->publisher);
	lx_free(m->min_luxima);
	for (i = 0; i < m->nhooks; i++)
		lx_free(m->hooks[i].file);
	lx_free(m->hooks);
	for (i = 0; i < m->nroutes; i++) {
		lx_free(m->routes[i].path);
		lx_free(m->routes[i].file);
	}
	lx_free(m->routes);
	for (i = 0; i < m->nconfig; i++) {
		lx_free(m->config[i].name);
		cJSON_Delete(m->config[i].def);
	}
	lx_free(m->config);
	memset(m, 0, sizeof(*m));
}

/* --- files, references, signature, digest --- */

static int
file_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct plugin_file *)a)->path,
	    ((const struct plugin_file *)b)->path));
}

/* Checks the decoded bytes of a file (where "files[\"x.lua\"]"). */
static int
content_check(
    const char *data, size_t len, const char *where, struct lx_err *err)
{
	if (len > PLUGINS_FILE_MAX)
		return (plugins_fail(
		    err, 400, "too_large", where, "is larger than 256 KiB"));
	if (memchr(data, '\0', len) != NULL)
		return (plugins_fail(
		    err, 400, "invalid_bundle", where, "holds a NUL byte"));
	if (!plugins_utf8_valid((const unsigned char *)data, len))
		return (plugins_fail(
		    err, 400, "invalid_bundle", where, "is not UTF-8 text"));
	return (0);
}

/* Decodes the base64 of one file into f (path already set). */
static int
file_decode(const char *b64, struct plugin_file *f, const char *where,
    struct lx_err *err)
{
	size_t n = strlen(b64);

	if (n > (PLUGINS_FILE_MAX + 2) / 3 * 4)
		return (plugins_fail(
		    err, 400, "too_large", where, "is larger than 256 KiB"));
	f->data = lx_malloc(n / 4 * 3 + 1);
	if (sodium_base642bin((unsigned char *)f->data, n / 4 * 3 + 1, b64, n,
	        NULL, &f->len, NULL, B64)
	    != 0)
		return (plugins_fail(err, 400, "invalid_bundle", where,
		    "is not base64 (standard alphabet, padded, no "
		    "whitespace)"));
	f->data[f->len] = '\0';
	return (content_check(f->data, f->len, where, err));
}

static int
files_parse(const cJSON *fj, struct plugin_bundle *b, struct lx_err *err)
{
	const cJSON *c;
	const char *why;
	struct plugin_file *f;
	size_t i, n = 0;
	char w[WHERE_MAX], pb[80];

	if (fj == NULL || !cJSON_IsObject(fj))
		return (plugins_fail(err, 400, "invalid_bundle", "files",
		    fj == NULL ? "is missing" : "must be an object"));
	for (c = fj->child; c != NULL; c = c->next)
		if (++n > PLUGINS_FILES_MAX)
			return (plugins_fail(err, 400, "too_large", "files",
			    "more than %d files", PLUGINS_FILES_MAX));
	b->files = lx_calloc(n ? n : 1, sizeof(*b->files));
	for (c = fj->child; c != NULL; c = c->next) {
		snprintf(w, sizeof(w), "files[\"%s\"]",
		    printable(c->string, pb, sizeof(pb)));
		if ((why = file_path_why(c->string)) != NULL)
			return (plugins_fail(
			    err, 400, "invalid_bundle", w, "%s", why));
		if (!cJSON_IsString(c))
			return (plugins_fail(err, 400, "invalid_bundle", w,
			    "must be a base64 string"));
		f = &b->files[b->nfiles++];
		f->path = lx_strdup(c->string);
		if (file_decode(c->valuestring, f, w, err) == -1)
			return (-1);
	}
	qsort(b->files, b->nfiles, sizeof(*b->files), file_cmp);
	for (i = 1; i < b->nfiles; i++)
		if (strcmp(b->files[i - 1].path, b->files[i].path) == 0)
			return (plugins_fail(err, 400, "invalid_bundle",
			    "files", "\"%s\" appears twice", b->files[i].path));
	return (0);
}

const struct plugin_file *
plugins_bundle_file(const struct plugin_bundle *b, const char *path)
{
	struct plugin_file key;

	if (b->nfiles == 0)
		return (NULL);
	key.path = (char *)path;
	return (
	    bsearch(&key, b->files, b->nfiles, sizeof(*b->files), file_cmp));
}

/* Marks the file path (named at where) as used; missing_file if absent. */
static int
ref_use(const struct plugin_bundle *b, const char *path, const char *where,
    unsigned char *used, struct lx_err *err)
{
	const struct plugin_file *f;

	if ((f = plugins_bundle_file(b, path)) == NULL)
		return (plugins_fail(err, 400, "missing_file", where,
		    "\"%s\" is not in the bundle's files", path));
	used[f - b->files] = 1;
	return (0);
}

/* Every file a hook or route names is there, and every file is named. */
static int
refs_check(const struct plugin_bundle *b, struct lx_err *err)
{
	const struct plugin_manifest *m = &b->manifest;
	unsigned char used[PLUGINS_FILES_MAX];
	char w[WHERE_MAX];
	size_t i;

	memset(used, 0, sizeof(used));
	for (i = 0; i < m->nhooks; i++) {
		snprintf(w, sizeof(w), "manifest.hooks[%zu].file", i);
		if (ref_use(b, m->hooks[i].file, w, used, err) == -1)
			return (-1);
	}
	for (i = 0; i < m->nroutes; i++) {
		snprintf(w, sizeof(w), "manifest.routes[%zu].file", i);
		if (ref_use(b, m->routes[i].file, w, used, err) == -1)
			return (-1);
	}
	for (i = 0; i < b->nfiles; i++)
		if (!used[i])
			return (plugins_fail(err, 400, "unused_file", NULL,
			    "files[\"%s\"]: no hook or route uses it",
			    b->files[i].path));
	return (0);
}

static int
sig_parse(const cJSON *sj, struct plugin_bundle *b, struct lx_err *err)
{
	const char *s;
	size_t i, n;

	if (sj == NULL)
		return (0);
	if (!cJSON_IsObject(sj))
		return (plugins_fail(err, 400, "invalid_bundle", "signature",
		    "must be an object"));
	if (members_check(sj, sig_members, "invalid_bundle", "signature", err)
	    == -1)
		return (-1);
	if ((s = str_member(sj, "alg", "invalid_bundle", "signature", err))
	    == NULL)
		return (-1);
	if (strcmp(s, "ed25519") != 0)
		return (plugins_fail(err, 400, "invalid_bundle",
		    "signature.alg", "must be \"ed25519\""));
	if ((s = str_member(sj, "key_id", "invalid_bundle", "signature", err))
	    == NULL)
		return (-1);
	for (i = 0; s[i] != '\0' && i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9')
		        || (s[i] >= 'a' && s[i] <= 'f')))
			break;
	if (i != 16 || s[i] != '\0')
		return (plugins_fail(err, 400, "invalid_bundle",
		    "signature.key_id", "must be 16 lowercase hex digits"));
	memcpy(b->key_id, s, sizeof(b->key_id));
	if ((s = str_member(sj, "sig", "invalid_bundle", "signature", err))
	    == NULL)
		return (-1);
	if (strlen(s) != sodium_base64_ENCODED_LEN(PLUGINS_SIG_BYTES, B64) - 1
	    || sodium_base642bin(
	           b->sig, sizeof(b->sig), s, strlen(s), NULL, &n, NULL, B64)
	        != 0
	    || n != sizeof(b->sig))
		return (plugins_fail(err, 400, "invalid_bundle",
		    "signature.sig", "must be the base64 of 64 bytes"));
	b->has_signature = 1;
	return (0);
}

/* The canonical digest of b's manifest and files (see the format). */
static void
digest_compute(const struct plugin_bundle *b, unsigned char out[32])
{
	crypto_hash_sha256_state st;
	char num[32];
	size_t i;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st,
	    (const unsigned char *)PLUGINS_FORMAT "\n", sizeof(PLUGINS_FORMAT));
	crypto_hash_sha256_update(&st, (const unsigned char *)b->manifest_json,
	    strlen(b->manifest_json));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	for (i = 0; i < b->nfiles; i++) {
		crypto_hash_sha256_update(&st,
		    (const unsigned char *)b->files[i].path,
		    strlen(b->files[i].path));
		snprintf(num, sizeof(num), "\n%zu\n", b->files[i].len);
		crypto_hash_sha256_update(
		    &st, (const unsigned char *)num, strlen(num));
		crypto_hash_sha256_update(&st,
		    (const unsigned char *)b->files[i].data, b->files[i].len);
		crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	}
	crypto_hash_sha256_final(&st, out);
}

/* --- bundles --- */

int
plugins_bundle_parse(const char *data, size_t len, struct plugin_bundle **out,
    struct lx_err *err)
{
	struct plugin_bundle *b = NULL;
	const cJSON *fmt;
	cJSON *root = NULL;
	int ret = -1;

	*out = NULL;
	if (len > PLUGINS_BUNDLE_MAX) {
		plugins_fail(
		    err, 400, "too_large", "bundle", "is larger than 1 MiB");
		goto out;
	}
	if ((root = plugins_json_parse(
	         data, len, "invalid_bundle", "bundle", err))
	    == NULL)
		goto out;
	if (!cJSON_IsObject(root)) {
		plugins_fail(err, 400, "invalid_bundle", "bundle",
		    "must be a JSON object");
		goto out;
	}
	if (members_check(root, bundle_members, "invalid_bundle", "bundle", err)
	    == -1)
		goto out;
	fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	if (!cJSON_IsString(fmt)
	    || strcmp(fmt->valuestring, PLUGINS_FORMAT) != 0) {
		plugins_fail(err, 400, "invalid_bundle", "format",
		    "must be \"" PLUGINS_FORMAT "\"");
		goto out;
	}
	b = lx_calloc(1, sizeof(*b));
	if (manifest_parse(cJSON_GetObjectItemCaseSensitive(root, "manifest"),
	        &b->manifest, &b->manifest_json, err)
	        == -1
	    || files_parse(
	           cJSON_GetObjectItemCaseSensitive(root, "files"), b, err)
	        == -1
	    || refs_check(b, err) == -1
	    || sig_parse(
	           cJSON_GetObjectItemCaseSensitive(root, "signature"), b, err)
	        == -1)
		goto out;
	digest_compute(b, b->digest);
	*out = b;
	b = NULL;
	ret = 0;
out:
	plugins_bundle_free(b);
	cJSON_Delete(root);
	return (ret);
}

static int
str_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* The distinct files b's hooks and routes name, in byte order; *n their
 * count. Free the array (not the strings) with lx_free. */
static char **
referenced_files(const struct plugin_manifest *m, size_t *n)
{
	char **v;
	size_t i, k = 0;

	v = lx_calloc(m->nhooks + m->nroutes + 1, sizeof(*v));
	for (i = 0; i < m->nhooks; i++)
		v[k++] = m->hooks[i].file;
	for (i = 0; i < m->nroutes; i++)
		v[k++] = m->routes[i].file;
	qsort(v, k, sizeof(*v), str_cmp);
	for (*n = 0, i = 0; i < k; i++)
		if (*n == 0 || strcmp(v[*n - 1], v[i]) != 0)
			v[(*n)++] = v[i];
	return (v);
}

/* Reads the files m names through read into b->files. */
static int
pack_files(struct plugin_bundle *b, plugins_read_fn reader, void *ud,
    struct lx_err *err)
{
	struct plugin_file *f;
	char **paths, w[WHERE_MAX];
	size_t i, n;
	int ret = -1;

	paths = referenced_files(&b->manifest, &n);
	if (n > PLUGINS_FILES_MAX) {
		plugins_fail(err, 400, "too_large", "files",
		    "more than %d files", PLUGINS_FILES_MAX);
		goto out;
	}
	b->files = lx_calloc(n ? n : 1, sizeof(*b->files));
	for (i = 0; i < n; i++) {
		f = &b->files[b->nfiles++];
		f->path = lx_strdup(paths[i]);
		snprintf(w, sizeof(w), "files[\"%s\"]", f->path);
		if (reader(ud, f->path, &f->data, &f->len, err) == -1)
			goto out;
		f->data = lx_realloc(f->data, f->len + 1);
		f->data[f->len] = '\0';
		if (content_check(f->data, f->len, w, err) == -1)
			goto out;
	}
	ret = 0;
out:
	lx_free(paths);
	return (ret);
}

int
plugins_bundle_pack(const char *manifest_json, size_t len,
    plugins_read_fn reader, void *ud, struct plugin_bundle **out,
    struct lx_err *err)
{
	struct plugin_bundle *b = NULL;
	cJSON *mj = NULL;
	char *text = NULL;
	size_t n;
	int ret = -1;

	*out = NULL;
	if (len > PLUGINS_BUNDLE_MAX) {
		plugins_fail(
		    err, 400, "too_large", "manifest", "is larger than 1 MiB");
		goto out;
	}
	if ((mj = plugins_json_parse(
	         manifest_json, len, "invalid_manifest", "manifest", err))
	    == NULL)
		goto out;
	b = lx_calloc(1, sizeof(*b));
	if (manifest_parse(mj, &b->manifest, &b->manifest_json, err) == -1
	    || pack_files(b, reader, ud, err) == -1)
		goto out;
	digest_compute(b, b->digest);
	text = plugins_bundle_serialize(b, &n);
	/* Leave room for the signature sign will add. */
	if (n + 160 > PLUGINS_BUNDLE_MAX) {
		plugins_fail(err, 400, "too_large", "bundle",
		    "would be larger than 1 MiB");
		goto out;
	}
	*out = b;
	b = NULL;
	ret = 0;
out:
	lx_free(text);
	plugins_bundle_free(b);
	cJSON_Delete(mj);
	return (ret);
}

char *
plugins_bundle_serialize(const struct plugin_bundle *b, size_t *len)
{
	struct lx_buf o;
	char *b64;
	size_t i, cap = 0, need;

	lx_buf_init(&o);
	b64 = NULL;
	lx_buf_adds(&o, "{\"files\":{");
	for (i = 0; i < b->nfiles; i++) {
		need = sodium_base64_ENCODED_LEN(b->files[i].len, B64);
		if (need > cap)
			b64 = lx_realloc(b64, cap = need);
		sodium_bin2base64(b64, cap,
		    (const unsigned char *)b->files[i].data, b->files[i].len,
		    B64);
		if (i > 0)
			lx_buf_add(&o, ",", 1);
		plugins_canon_str(&o, b->files[i].path);
		lx_buf_add(&o, ":\"", 2);
		lx_buf_add(&o, b64, need - 1);
		lx_buf_add(&o, "\"", 1);
	}
	lx_buf_adds(&o, "},\"format\":\"" PLUGINS_FORMAT "\",\"manifest\":");
	lx_buf_adds(&o, b->manifest_json);
	if (b->has_signature) {
		b64 = lx_realloc(b64, cap = 128);
		sodium_bin2base64(b64, cap, b->sig, sizeof(b->sig), B64);
		lx_buf_addf(&o,
		    ",\"signature\":{\"alg\":\"ed25519\",\"key_id\":\"%s\","
		    "\"sig\":\"%s\"}",
		    b->key_id, b64);
	}
	lx_buf_add(&o, "}", 1);
	lx_free(b64);
	*len = o.len;
	return (lx_buf_take(&o));
}

void
plugins_bundle_free(struct plugin_bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	manifest_cleanup(&b->manifest);
	for (i = 0; i < b->nfiles; i++) {
		lx_free(b->files[i].path);
		lx_free(b->files[i].data);
	}
	lx_free(b->files);
	lx_free(b->manifest_json);
	lx_free(b);
}

/* --- signatures --- */

int
plugins_bundle_sign(
    struct plugin_bundle *b, const unsigned char *sk, struct lx_err *err)
{
	unsigned char pk[PLUGINS_PK_BYTES], d[PLUGINS_DIGEST_BYTES];

	digest_compute(b, d);
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (crypto_sign_detached(b->sig, NULL, d, sizeof(d), sk) != 0)
		return (lx_err_set(
		    err, 500, "sign_failed", "the bundle could not be signed"));
	memcpy(b->digest, d, sizeof(d));
	plugins_key_id(pk, b->key_id);
	b->has_signature = 1;
	return (0);
}

int
plugins_bundle_verify(const struct plugin_bundle *b,
    const unsigned char pk[PLUGINS_PK_BYTES], struct lx_err *err)
{
	unsigned char d[PLUGINS_DIGEST_BYTES];
	char kid[PLUGINS_KEY_ID_SIZE];

	if (!b->has_signature)
		return (lx_err_set(
		    err, 400, "unsigned_bundle", "the bundle is not signed"));
	plugins_key_id(pk, kid);
	if (strcmp(kid, b->key_id) != 0)
		return (lx_err_set(err, 400, "key_mismatch",
		    "the bundle was signed by key %s, not by key %s", b->key_id,
		    kid));
	digest_compute(b, d);
	if (crypto_sign_verify_detached(b->sig, d, sizeof(d), pk) != 0)
		return (lx_err_set(err, 400, "bad_signature",
		    "the signature does not match the bundle's contents "
		    "(changed after signing?)"));
	return (0);
}

/* --- tenant config --- */

static const struct plugin_config_field *
field_find(const struct plugin_manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nconfig; i++)
		if (strcmp(m->config[i].name, name) == 0)
			return (&m->config[i]);
	return (NULL);
}

/* Refuses members of config that m does not declare, or given twice. */
static int
config_members(
    const struct plugin_manifest *m, const cJSON *config, struct lx_err *err)
{
	const cJSON *c, *d;
	char w[WHERE_MAX], pb[80];

	for (c = config->child; c != NULL; c = c->next) {
		snprintf(w, sizeof(w), "config.%s",
		    printable(c->string, pb, sizeof(pb)));
		if (field_find(m, c->string) == NULL)
			return (plugins_fail(
			    err, 422, "unknown_field", w, "unknown field"));
		for (d = config->child; d != c; d = d->next)
			if (strcmp(d->string, c->string) == 0)
				return (plugins_fail(err, 422,
				    "duplicate_field", w, "is given twice"));
	}
	return (0);
}

int
plugins_config_validate(const struct plugin_manifest *m,
    const struct cJSON *config, char **normalized_json, struct lx_err *err)
{
	const struct plugin_config_field *f;
	const cJSON *v;
	struct lx_buf b;
	char w[WHERE_MAX];
	size_t i;
	int first = 1, ret = -1;

	*normalized_json = NULL;
	lx_buf_init(&b);
	if (config != NULL && !cJSON_IsObject(config)) {
		plugins_fail(err, 422, "invalid_config", "config",
		    "must be a JSON object");
		goto out;
	}
	if (config != NULL && config_members(m, config, err) == -1)
		goto out;
	lx_buf_add(&b, "{", 1);
	for (i = 0; i < m->nconfig; i++) {
		f = &m->config[i];
		snprintf(w, sizeof(w), "config.%s", f->name);
		v = config ? cJSON_GetObjectItemCaseSensitive(config, f->name)
		           : NULL;
		if (v == NULL && (v = f->def) == NULL) {
			if (!f->required)
				continue;
			plugins_fail(
			    err, 422, "missing_field", w, "is required");
			goto out;
		}
		if (value_check(f, v, 0, w, err) == -1)
			goto out;
		if (!first)
			lx_buf_add(&b, ",", 1);
		first = 0;
		plugins_canon_str(&b, f->name);
		lx_buf_add(&b, ":", 1);
		if (plugins_canon_write(&b, v, 1) == -1) {
			plugins_fail(
			    err, 422, "wrong_type", w, "cannot be written");
			goto out;
		}
	}
	lx_buf_add(&b, "}", 1);
	*normalized_json = lx_buf_take(&b);
	ret = 0;
out:
	lx_buf_cleanup(&b);
	return (ret);
}
