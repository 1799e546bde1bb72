/*
 * Request bodies: checks the text is UTF-8 and not nested too deeply, parses
 * it with cJSON, and validates the object against the route's schema. Input
 * is refused unless declared: unknown members, repeated members, wrong types,
 * over-long strings and missing required members are all 422 naming the
 * field; malformed JSON is 400 "invalid_json". A schema listing
 * LX_OTHER_FIELDS lets undeclared members through and then removes them.
 * Faces the network: fuzzed by
 * tests/fuzz/fuzz_json.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "core.h"

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return (0);
		if (i + n >= len)
			return (0);
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800)
		    || (n == 3 && cp < 0x10000) || cp > 0x10ffff
		    || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}

/* 1 if the nesting of [ and { outside strings stays within max and no
 * string holds an escaped NUL (which would cut it short in C). */
static int
scan_ok(const char *s, size_t len, int max)
{
	size_t i;
	int depth = 0, instr = 0;

	for (i = 0; i < len; i++) {
		if (instr) {
			if (s[i] == '\\') {
				if (i + 5 < len && s[i + 1] == 'u'
				    && memcmp(s + i + 2, "0000", 4) == 0)
					return (0);
				i++;
			} else if (s[i] == '"')
				instr = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			instr = 1;
			break;
		case '[':
		case '{':
			if (++depth > max)
				return (0);
			break;
		case ']':
		case '}':
			depth--;
			break;
		}
	}
	return (1);
}

static const char *
type_name(enum lx_ftype t)
{
	switch (t) {
	case F_STRING:
		return ("a string");
	case F_INT:
		return ("an integer");
	case F_BOOL:
		return ("a boolean");
	case F_OBJECT:
		return ("an object");
	case F_ARRAY:
		return ("an array");
	case F_NUMBER:
		return ("a number");
	}
	return ("a value");
}

/* 1 if item has the declared type. */
static int
type_ok(const cJSON *item, enum lx_ftype t)
{
	double d;

	switch (t) {
	case F_STRING:
		return (cJSON_IsString(item));
	case F_BOOL:
		return (cJSON_IsBool(item));
	case F_OBJECT:
		return (cJSON_IsObject(item));
	case F_ARRAY:
		return (cJSON_IsArray(item));
	case F_NUMBER:
		return (cJSON_IsNumber(item) && isfinite(item->valuedouble));
	case F_INT:
		if (!cJSON_IsNumber(item))
			return (0);
		d = item->valuedouble;
		/* Integers exactly representable in a double. */
		return (isfinite(d) && d == floor(d) && d <= 9007199254740991.0
		    && d >= -9007199254740991.0);
	}
	return (0);
}

static void
set_field(char *field, size_t fieldsz, const char *name)
{
	if (field != NULL && fieldsz > 0)
		snprintf(field, fieldsz, "%s", name);
}

/* The declaration of member name in schema, or NULL. */
static const struct lx_field *
declared(const struct lx_schema *schema, const char *name)
{
	const struct lx_field *f;

	for (f = schema->fields; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0
		    && strcmp(f->name, LX_OTHER_FIELDS) != 0)
			return (f);
	return (NULL);
}

/* 1 if schema lets undeclared members through (LX_OTHER_FIELDS). */
static int
open_schema(const struct lx_schema *schema)
{
	const struct lx_field *f;

	for (f = schema->fields; f->name != NULL; f++)
		if (strcmp(f->name, LX_OTHER_FIELDS) == 0)
			return (1);
	return (0);
}

/* Removes the members of obj that schema does not declare. */
static void
drop_undeclared(cJSON *obj, const struct lx_schema *schema)
{
	cJSON *item, *next;

	for (item = obj->child; item != NULL; item = next) {
		next = item->next;
		if (declared(schema, item->string) == NULL)
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, item));
	}
}

static int
validate(const cJSON *obj, const struct lx_schema *schema, char *field,
    size_t fieldsz, struct lx_err *err)
{
	const struct lx_field *f;
	const cJSON *item, *other;
	int open = open_schema(schema);

	/* Every member declared, once, with its type and size. */
	for (item = obj->child; item != NULL; item = item->next) {
		set_field(field, fieldsz, item->string);
		if ((f = declared(schema, item->string)) == NULL) {
			if (open)
				continue; /* dropped after validation */
			return (lx_err_set(err, 422, "unknown_field",
			    "field '%.64s' is not accepted here",
			    item->string));
		}
		/* Bounded by the schema's size: every earlier member was
		 * declared, so a repeat shows up within that many (an open
		 * schema: each declared member scans the body once, at most
		 * as many scans as the schema has fields). */
		for (other = obj->child; other != item; other = other->next)
			if (strcmp(other->string, item->string) == 0)
				return (lx_err_set(err, 422, "duplicate_field",
				    "field '%s' appears more than once",
				    f->name));
		if (cJSON_IsNull(item)) {
			if (f->required)
				return (lx_err_set(err, 422, "missing_field",
				    "field '%s' must not be null", f->name));
			continue;
		}
		if (!type_ok(item, f->type))
			return (lx_err_set(err, 422, "wrong_type",
			    "field '%s' must be %s", f->name,
			    type_name(f->type)));
		if (f->type == F_STRING && f->max > 0
		    && strlen(item->valuestring) > f->max)
			return (lx_err_set(err, 422, "too_long",
			    "field '%s' is longer than %zu bytes", f->name,
			    f->max));
	}
	for (f = schema->fields; f->name != NULL; f++) {
		if (!f->required)
			continue;
		set_field(field, fieldsz, f->name);
		if (cJSON_GetObjectItemCaseSensitive(obj, f->name) == NULL)
			return (lx_err_set(err, 422, "missing_field",
			    "field '%s' is required", f->name));
	}
	set_field(field, fieldsz, "");
	return (0);
}

int
lx_json_body(const char *data, size_t len, const struct lx_schema *schema,
    cJSON **out, char *field, size_t fieldsz, struct lx_err *err)
{
	cJSON *root = NULL;
	char *copy = NULL;
	int ret = -1;

	*out = NULL;
	set_field(field, fieldsz, "");
	if (memchr(data, '\0', len) != NULL
	    || !utf8_valid((const unsigned char *)data, len)) {
		lx_err_set(err, 400, "invalid_json",
		    "the body is not valid UTF-8 text");
		goto out;
	}
	if (!scan_ok(data, len, LX_JSON_MAX_DEPTH)) {
		lx_err_set(err, 400, "invalid_json",
		    "the body is nested more than %d levels deep or holds "
		    "a NUL character",
		    LX_JSON_MAX_DEPTH);
		goto out;
	}
	/* cJSON wants the terminating NUL inside the length to refuse
	 * trailing garbage; callers' buffers need not have one. */
	copy = lx_strndup(data, len);
	root = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, 1);
	if (root == NULL) {
		lx_err_set(
		    err, 400, "invalid_json", "the body is not valid JSON");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		lx_err_set(
		    err, 422, "wrong_type", "the body must be an object");
		goto out;
	}
	if (schema != NULL && validate(root, schema, field, fieldsz, err) == -1)
		goto out;
	if (schema != NULL && open_schema(schema))
		drop_undeclared(root, schema);
	*out = root;
	root = NULL;
	ret = 0;
out:
	cJSON_Delete(root);
	lx_free(copy);
	return (ret);
}
