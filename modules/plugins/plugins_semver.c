/*
 * Semantic Versioning 2.0.0 (semver.org): the grammar of a version
 * (plugins_semver_parse) and the precedence of two (plugins_semver_cmp),
 * for a plugin's version and min_luxima, downgrade checks and the oldest
 * Luxima a plugin runs on. Pure.
 */
#include <stdint.h>
#include <string.h>

#include "plugins.h"

/* 1 if c may appear in a pre-release or build identifier. */
static int
ident_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c == '-');
}

/* Reads a major, minor or patch number at *p ("0" or no leading zero),
 * advancing *p. 0, or -1 (also on overflow). */
static int
core_num(const char **p, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return (-1);
	for (; *s >= '0' && *s <= '9'; s++) {
		if (*v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return (-1);
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	return (0);
}

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return (0);
	return (1);
}

/* 1 if s[0..n) is dot-separated non-empty [0-9A-Za-z-] identifiers;
 * pre: numeric ones have no leading zero. */
static int
idents_ok(const char *s, size_t n, int pre)
{
	size_t i, start = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!ident_char(s[i]))
				return (0);
			continue;
		}
		if (i == start)
			return (0);
		if (pre && i - start > 1 && s[start] == '0'
		    && all_digits(s + start, i - start))
			return (0);
		start = i + 1;
	}
	return (1);
}

int
plugins_semver_parse(const char *s, struct plugin_semver *v)
{
	struct plugin_semver t;
	const char *p = s;

	memset(&t, 0, sizeof(t));
	if (s == NULL
	    || strnlen(s, PLUGINS_VERSION_MAX + 1) > PLUGINS_VERSION_MAX)
		return (-1);
	if (core_num(&p, &t.major) == -1 || *p++ != '.'
	    || core_num(&p, &t.minor) == -1 || *p++ != '.'
	    || core_num(&p, &t.patch) == -1)
		return (-1);
	if (*p == '-') {
		t.pre = ++p;
		t.pre_len = strcspn(p, "+");
		if (!idents_ok(t.pre, t.pre_len, 1))
			return (-1);
		p += t.pre_len;
	}
	if (*p == '+') {
		t.build = ++p;
		t.build_len = strlen(p);
		if (!idents_ok(t.build, t.build_len, 0))
			return (-1);
		p += t.build_len;
	}
	if (*p != '\0')
		return (-1);
	if (v != NULL)
		*v = t;
	return (0);
}

/* Compares two pre-release identifiers: numeric ones numerically and
 * before alphanumeric ones, which compare in ASCII order. */
static int
ident_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int anum = all_digits(a, an), bnum = all_digits(b, bn), c;

	if (anum && bnum) {
		if (an != bn)
			return (an < bn ? -1 : 1);
		return (memcmp(a, b, an));
	}
	if (anum || bnum)
		return (anum ? -1 : 1);
	if ((c = memcmp(a, b, an < bn ? an : bn)) != 0)
		return (c);
	return (an < bn ? -1 : an > bn);
}

/* Compares two pre-release strings identifier by identifier; a shorter
 * list that is a prefix of the other comes first. */
static int
pre_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t al, bl;
	int c;

	for (;;) {
		al = strcspn(a, ".+");
		bl = strcspn(b, ".+");
		if (al > an)
			al = an;
		if (bl > bn)
			bl = bn;
		if ((c = ident_cmp(a, al, b, bl)) != 0)
			return (c);
		if (al == an || bl == bn)
			return (al == an ? (bl == bn ? 0 : -1) : 1);
		a += al + 1, an -= al + 1;
		b += bl + 1, bn -= bl + 1;
	}
}

int
plugins_semver_cmp(const char *a, const char *b)
{
	struct plugin_semver x, y;
	int xa = plugins_semver_parse(a, &x), yb = plugins_semver_parse(b, &y);
	int c;

	if (xa == -1 || yb == -1)
		return (xa == yb ? 0 : xa == -1 ? -1 : 1);
	if (x.major != y.major)
		return (x.major < y.major ? -1 : 1);
	if (x.minor != y.minor)
		return (x.minor < y.minor ? -1 : 1);
	if (x.patch != y.patch)
		return (x.patch < y.patch ? -1 : 1);
	if (x.pre == NULL || y.pre == NULL)
		return (x.pre == y.pre ? 0 : x.pre == NULL ? 1 : -1);
	c = pre_cmp(x.pre, x.pre_len, y.pre, y.pre_len);
	return (c < 0 ? -1 : c > 0);
}
