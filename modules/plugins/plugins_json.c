/*
 * The JSON of plugin bundles: the error helper the module's files share,
 * the checks a bundle's text must pass beyond what cJSON checks (UTF-8, no
 * NUL, no raw control character in a string, limited nesting, integers
 * only), and the canonical JSON writer behind the bundle digest (object
 * keys in byte order, no whitespace, minimal string escapes; the rules are
 * at the top of plugins_bundle.c). Pure; fuzzed through
 * tests/fuzz/fuzz_bundle.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "plugins_int.h"

#define DEPTH_MAX 16 /* nesting of [ and { in a bundle's text */

int
plugins_fail(struct lx_err *err, int status, const char *code,
    const char *where, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (where == NULL)
		return (lx_err_set(err, status, code, "%s", msg));
	return (lx_err_set(err, status, code, "%s: %s", where, msg));
}

int
plugins_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			n = 1, cp = s[i] & 0x1f;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 2, cp = s[i] & 0x0f;
		else if ((s[i] & 0xf8) == 0xf0)
			n = 3, cp = s[i] & 0x07;
		else
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
int
plugins_is_int(double d)
{
	return (isfinite(d) && d == floor(d) && fabs(d) <= PLUGINS_INT_MAX);
}

/*
 * Checks what cJSON lets through: UTF-8, no NUL, no raw control character
 * in a string, no "\u0000" (it would cut a string short), nesting within
 * DEPTH_MAX, numbers without fraction or exponent. Fills err with 400
 * code and "what: ..." on failure.
 */
static int
text_check(const char *text, size_t n, const char *code, const char *what,
    struct lx_err *err)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i, depth = 0;
	int in_str = 0;

	if (!plugins_utf8_valid(s, n) || memchr(s, '\0', n) != NULL)
		return (
		    plugins_fail(err, 400, code, what, "is not UTF-8 text"));
	for (i = 0; i < n; i++) {
		if (in_str) {
			if (s[i] < 0x20)
				return (plugins_fail(err, 400, code, what,
				    "holds a raw control character in a "
				    "string at byte %zu",
				    i));
			if (s[i] == '\\' && i + 5 < n && s[i + 1] == 'u'
			    && memcmp(s + i + 2, "0000", 4) == 0)
				return (plugins_fail(err, 400, code, what,
				    "holds \\u0000 at byte %zu", i));
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
			continue;
		}
		if (s[i] == '"')
			in_str = 1;
		else if ((s[i] == '[' || s[i] == '{') && ++depth > DEPTH_MAX)
			return (plugins_fail(err, 400, code, what,
			    "is nested more than %d deep", DEPTH_MAX));
		else if ((s[i] == ']' || s[i] == '}') && depth > 0)
			depth--;
		else if (s[i] == '.' || s[i] == 'E'
		    || (s[i] == 'e' && i > 0 && s[i - 1] >= '0'
		        && s[i - 1] <= '9'))
			return (plugins_fail(err, 400, code, what,
			    "holds a number that is not an integer written "
			    "plainly, at byte %zu",
			    i));
	}
	return (0);
}

/* Parses text (n bytes) as one JSON value after text_check. Returns the
 * tree (cJSON_Delete it) or NULL with err filled (400 code). */
cJSON *
plugins_json_parse(const char *text, size_t n, const char *code,
    const char *what, struct lx_err *err)
{
	const char *end = NULL;
	cJSON *v;

	if (text_check(text, n, code, what, err) == -1)
		return (NULL);
	if ((v = cJSON_ParseWithLengthOpts(text, n, &end, 0)) == NULL) {
		if (end != NULL && end >= text && end <= text + n)
			plugins_fail(err, 400, code, what,
			    "is not JSON (at byte %zu)", (size_t)(end - text));
		else
			plugins_fail(err, 400, code, what, "is not JSON");
		return (NULL);
	}
	while (end < text + n
	    && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != text + n) {
		cJSON_Delete(v);
		plugins_fail(
		    err, 400, code, what, "has text after the JSON value");
		return (NULL);
	}
	return (v);
}

/* Appends s as a canonical JSON string. */
void
plugins_canon_str(struct lx_buf *b, const char *s)
{
	const char *run = s;
	unsigned char c;
	char esc[8];

	lx_buf_add(b, "\"", 1);
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		lx_buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"':
			lx_buf_add(b, "\\\"", 2);
			break;
		case '\\':
			lx_buf_add(b, "\\\\", 2);
			break;
		case '\b':
			lx_buf_add(b, "\\b", 2);
			break;
		case '\f':
			lx_buf_add(b, "\\f", 2);
			break;
		case '\n':
			lx_buf_add(b, "\\n", 2);
			break;
		case '\r':
			lx_buf_add(b, "\\r", 2);
			break;
		case '\t':
			lx_buf_add(b, "\\t", 2);
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			lx_buf_add(b, esc, 6);
		}
	}
	lx_buf_add(b, run, (size_t)(s - run));
	lx_buf_add(b, "\"", 1);
}

/* Appends d: an integer in decimal, else (floats only) the shortest of
 * %.15g and %.17g that reads back as d. -1 if d cannot be written. */
static int
canon_number(struct lx_buf *b, double d, int floats)
{
	char num[40];

	if (plugins_is_int(d)) {
		lx_buf_addf(b, "%lld", (long long)d);
		return (0);
	}
	if (!floats || !isfinite(d))
		return (-1);
	snprintf(num, sizeof(num), "%.15g", d);
	if (strtod(num, NULL) != d)
		snprintf(num, sizeof(num), "%.17g", d);
	lx_buf_adds(b, num);
	return (0);
}

static int
name_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a,
	            *y = *(const cJSON *const *)b;

	return (strcmp(x->string, y->string));
}

/* Appends object v with its members in byte order of name. */
static int
canon_object(struct lx_buf *b, const cJSON *v, int floats)
{
	const cJSON *c, **kids;
	size_t i, n = 0;
	int ret = -1;

	for (c = v->child; c != NULL; c = c->next)
		n++;
	kids = lx_calloc(n ? n : 1, sizeof(*kids));
	for (n = 0, c = v->child; c != NULL; c = c->next)
		kids[n++] = c;
	qsort(kids, n, sizeof(*kids), name_cmp);
	lx_buf_add(b, "{", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			lx_buf_add(b, ",", 1);
		plugins_canon_str(b, kids[i]->string);
		lx_buf_add(b, ":", 1);
		if (plugins_canon_write(b, kids[i], floats) == -1)
			goto out;
	}
	lx_buf_add(b, "}", 1);
	ret = 0;
out:
	lx_free(kids);
	return (ret);
}

/* Appends v as canonical JSON (see the format above); floats: write
 * numbers that are not integers too. -1 when v holds a number that
 * cannot be written. */
int
plugins_canon_write(struct lx_buf *b, const cJSON *v, int floats)
{
	const cJSON *c;

	if (cJSON_IsObject(v))
		return (canon_object(b, v, floats));
	if (cJSON_IsArray(v)) {
		lx_buf_add(b, "[", 1);
		for (c = v->child; c != NULL; c = c->next) {
			if (c != v->child)
				lx_buf_add(b, ",", 1);
			if (plugins_canon_write(b, c, floats) == -1)
				return (-1);
		}
		lx_buf_add(b, "]", 1);
		return (0);
	}
	if (cJSON_IsString(v))
		plugins_canon_str(b, v->valuestring);
	else if (cJSON_IsNumber(v))
		return (canon_number(b, v->valuedouble, floats));
	else if (cJSON_IsTrue(v))
		lx_buf_adds(b, "true");
	else if (cJSON_IsFalse(v))
		lx_buf_adds(b, "false");
	else if (cJSON_IsNull(v))
		lx_buf_adds(b, "null");
	else
		return (-1);
	return (0);
}
