/*
 * Tenant rules without SQL or HTTP: slugs (the stable, URL-safe handle of a
 * tenant), display names and tenant roles.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "tenants.h"

static int
slug_char(int ch)
{
	return ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'));
}

/* Folds s into out: lowercase, separators to single '-', others copied
 * (keep_bad) or dropped. Returns 1 if a character was neither. */
static int
slug_fold(const char *s, char *out, int keep_bad)
{
	size_t n = 0;
	int bad = 0, dash = 0, ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		if (ch == ' ' || ch == '_' || ch == '.' || ch == '-') {
			dash = n > 0;
			continue;
		}
		if (!slug_char(ch)) {
			bad = 1;
			if (!keep_bad)
				continue;
		}
		if (dash && n < TENANTS_SLUG_MAX)
			out[n++] = '-';
		dash = 0;
		if (n < TENANTS_SLUG_MAX)
			out[n++] = (char)ch;
		else
			bad |= keep_bad ? 2 : 0;
	}
	out[n] = '\0';
	return (bad);
}

int
tenants_slug_normalize(const char *in, char *out, struct lx_err *err)
{
	size_t n;
	int bad;

	out[0] = '\0';
	if (in == NULL || strlen(in) > TENANTS_SLUG_MAX * 2)
		return (lx_err_set(err, 422, "invalid_slug",
		    "a slug is 3 to %d characters", TENANTS_SLUG_MAX));
	bad = slug_fold(in, out, 1);
	n = strlen(out);
	if (bad & 1)
		return (lx_err_set(err, 422, "invalid_slug",
		    "a slug holds only letters a-z, digits and '-'"));
	if ((bad & 2) || n < 3 || n > TENANTS_SLUG_MAX)
		return (lx_err_set(err, 422, "invalid_slug",
		    "a slug is 3 to %d characters", TENANTS_SLUG_MAX));
	if (!(out[0] >= 'a' && out[0] <= 'z'))
		return (lx_err_set(
		    err, 422, "invalid_slug", "a slug starts with a letter"));
	return (0);
}

void
tenants_slug_from_name(const char *name, char *out)
{
	unsigned char rnd[4];
	char hex[9];
	size_t n;

	(void)slug_fold(name, out, 0);
	while (out[0] != '\0' && !(out[0] >= 'a' && out[0] <= 'z'))
		memmove(out, out + 1, strlen(out));
	if (out[0] == '-')
		memmove(out, out + 1, strlen(out));
	n = strlen(out);
	if (n > TENANTS_SLUG_MAX - 9)
		n = TENANTS_SLUG_MAX - 9;
	while (n > 0 && out[n - 1] == '-')
		n--;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	/* A suffix keeps slugs from names unique in practice. */
	if (n == 0)
		snprintf(out, TENANTS_SLUG_MAX + 1, "t-%s", hex);
	else
		snprintf(out + n, TENANTS_SLUG_MAX + 1 - n, "-%s", hex);
}

int
tenants_name_check(const char *name, struct lx_err *err)
{
	const unsigned char *p;
	int visible = 0;

	if (name == NULL || name[0] == '\0' || strlen(name) > TENANTS_NAME_MAX)
		return (lx_err_set(err, 422, "invalid_name",
		    "a name is 1 to %d bytes", TENANTS_NAME_MAX));
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return (lx_err_set(err, 422, "invalid_name",
			    "a name holds no control characters"));
		if (*p != ' ')
			visible = 1;
	}
	if (!visible)
		return (lx_err_set(
		    err, 422, "invalid_name", "a name is not only spaces"));
	return (0);
}

int
tenants_role_valid(const char *role)
{
	static const char *const roles[] = { "owner", "admin", "billing",
		"member", "viewer" };
	size_t i;

	for (i = 0; role != NULL && i < LX_NELEM(roles); i++)
		if (strcmp(role, roles[i]) == 0)
			return (1);
	return (0);
}
