/*
 * Route matching: every module's table of path templates ("/tenants/{id}")
 * is parsed once into segments; a request's raw path is split on '/', each
 * segment percent-decoded, and compared. Among templates that match, the
 * one with literals earliest wins ("/tenants/me" beats "/tenants/{id}");
 * all table entries with that same template form the path's method set,
 * so a known path with an unknown method is a 405 with its Allow list.
 * Faces the network: fuzzed by tests/fuzz/fuzz_route.c.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define MAX_SEGS 32 /* segments in a template or a matched path */

struct seg {
	const char *s; /* literal text or parameter name (not terminated) */
	size_t len;
	int param; /* 1: "{name}" */
};

struct entry {
	const struct lx_route *route;
	int nseg;
	struct seg segs[MAX_SEGS];
	uint32_t mask; /* bit (31 - i) set when segment i is a parameter */
	int nparams;
	char names[LX_MAX_PARAMS][32]; /* parameter names, terminated */
};

struct lx_router {
	struct entry *entries;
	int n; /* entries used */
	int cap; /* entries allocated */
};

struct lx_router *
lx_router_create(void)
{
	return (lx_calloc(1, sizeof(struct lx_router)));
}

void
lx_router_free(struct lx_router *r)
{
	if (r == NULL)
		return;
	lx_free(r->entries);
	lx_free(r);
}

int
lx_router_count(const struct lx_router *r)
{
	return (r->n);
}

const struct lx_route *
lx_router_route(const struct lx_router *r, int i)
{
	if (i < 0 || i >= r->n)
		return (NULL);
	return (r->entries[i].route);
}

/* Parses rt->path into e. */
static int
parse_template(const struct lx_route *rt, struct entry *e, struct lx_err *err)
{
	const char *p, *end;
	struct seg *sg;
	size_t len;

	memset(e, 0, sizeof(*e));
	e->route = rt;
	if (rt->path == NULL || rt->path[0] != '/')
		return (lx_err_set(err, 500, "bad_route",
		    "route path '%s' must start with '/'",
		    rt->path ? rt->path : "(null)"));
	if (rt->handler == NULL || rt->methods == 0)
		return (lx_err_set(err, 500, "bad_route",
		    "route '%s' needs methods and a handler", rt->path));
	p = rt->path + 1;
	if (*p == '\0')
		return (0); /* "/" */
	for (;;) {
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || e->nseg == MAX_SEGS)
			return (lx_err_set(err, 500, "bad_route",
			    "route '%s': empty segment or too many", rt->path));
		sg = &e->segs[e->nseg];
		if (p[0] == '{') {
			if (len < 3 || len - 2 >= sizeof(e->names[0])
			    || p[len - 1] != '}' || e->nparams == LX_MAX_PARAMS)
				return (lx_err_set(err, 500, "bad_route",
				    "route '%s': bad parameter", rt->path));
			memcpy(e->names[e->nparams], p + 1, len - 2);
			e->names[e->nparams][len - 2] = '\0';
			sg->s = NULL; /* the name is in e->names */
			sg->len = len - 2;
			sg->param = 1;
			e->mask |= 1u << (31 - e->nseg);
			e->nparams++;
		} else {
			sg->s = p;
			sg->len = len;
		}
		e->nseg++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return (0);
}

/* 1 if a and b have the same shape (same literals, parameters anywhere
 * the other has one). */
static int
same_template(const struct entry *a, const struct entry *b)
{
	int i;

	if (a->nseg != b->nseg || a->mask != b->mask)
		return (0);
	for (i = 0; i < a->nseg; i++)
		if (!a->segs[i].param
		    && (a->segs[i].len != b->segs[i].len
		        || memcmp(a->segs[i].s, b->segs[i].s, a->segs[i].len)
		            != 0))
			return (0);
	return (1);
}

int
lx_router_add(
    struct lx_router *r, const struct lx_route *routes, struct lx_err *err)
{
	struct entry e;
	int i, ret = -1;

	for (; routes != NULL && routes->path != NULL; routes++) {
		if (parse_template(routes, &e, err) == -1)
			goto out;
		for (i = 0; i < r->n; i++)
			if (same_template(&r->entries[i], &e)
			    && (r->entries[i].route->methods & routes->methods)
			        != 0) {
				lx_err_set(err, 500, "duplicate_route",
				    "route '%s' declared twice for one method",
				    routes->path);
				goto out;
			}
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 16;
			r->entries = lx_realloc(
			    r->entries, r->cap * sizeof(*r->entries));
		}
		r->entries[r->n++] = e;
	}
	ret = 0;
out:
	return (ret);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* The byte at s[*i] of s[0..len), a "%XX" escape decoded (*i then points
 * at its last character); -1 for a bad escape. */
static int
unescape(const char *s, size_t len, size_t *i)
{
	int hi, lo;

	if (s[*i] != '%')
		return ((unsigned char)s[*i]);
	if (*i + 2 >= len || (hi = hexval(s[*i + 1])) < 0
	    || (lo = hexval(s[*i + 2])) < 0)
		return (-1);
	*i += 2;
	return (hi << 4 | lo);
}

/* Decodes s in place (percent escapes); returns the new length or -1 for
 * a bad escape or a decoded NUL or '/'. */
static long
decode_seg(char *s, size_t len)
{
	size_t i, o;
	int c;

	for (i = 0, o = 0; i < len; i++, o++) {
		if ((c = unescape(s, len, &i)) <= 0 || c == '/')
			return (-1);
		s[o] = (char)c;
	}
	s[o] = '\0';
	return ((long)o);
}

enum lx_match_rc
lx_router_match(const struct lx_router *r, const char *path, unsigned method,
    struct lx_match *m, struct lx_buf *scratch)
{
	char *segs[MAX_SEGS], *p, *end;
	size_t lens[MAX_SEGS], plen;
	const struct entry *e, *best = NULL;
	long dl;
	int nseg = 0, i, j, k;
	unsigned want;

	memset(m, 0, sizeof(*m));
	m->route_index = -1;
	if (path == NULL || path[0] != '/')
		return (LX_MATCH_NOT_FOUND);
	plen = strlen(path);
	lx_buf_reset(scratch);
	lx_buf_add(scratch, path + 1, plen - 1);
	p = scratch->data;
	if (plen > 1) {
		for (;;) {
			if (nseg == MAX_SEGS)
				return (LX_MATCH_NOT_FOUND);
			end = strchr(p, '/');
			if (end != NULL)
				*end = '\0';
			if ((dl = decode_seg(p, strlen(p))) <= 0)
				return (LX_MATCH_NOT_FOUND);
			segs[nseg] = p;
			lens[nseg++] = (size_t)dl;
			if (end == NULL)
				break;
			p = end + 1;
		}
	}

	/* The most specific template matching the path. */
	for (i = 0; i < r->n; i++) {
		e = &r->entries[i];
		if (e->nseg != nseg || (best != NULL && e->mask >= best->mask))
			continue;
		for (j = 0; j < nseg; j++)
			if (!e->segs[j].param
			    && (e->segs[j].len != lens[j]
			        || memcmp(e->segs[j].s, segs[j], lens[j]) != 0))
				break;
		if (j == nseg)
			best = e;
	}
	if (best == NULL)
		return (LX_MATCH_NOT_FOUND);

	/* Its method set, and the entry serving method. */
	want = method == M_HEAD ? M_GET : method;
	e = NULL;
	for (i = 0; i < r->n; i++) {
		if (!same_template(&r->entries[i], best))
			continue;
		m->allowed |= r->entries[i].route->methods;
		if (e == NULL
		    && ((r->entries[i].route->methods & want) != 0
		        || method == M_OPTIONS)) {
			e = &r->entries[i];
			m->route_index = i;
		}
	}
	if (m->allowed & M_GET)
		m->allowed |= M_HEAD;
	m->allowed |= M_OPTIONS;
	if (e == NULL) {
		m->route = best->route;
		m->route_index = (int)(best - r->entries);
		return (LX_MATCH_METHOD);
	}
	m->route = e->route;
	for (j = 0, k = 0; j < nseg; j++)
		if (e->segs[j].param) {
			m->param_names[k] = e->names[k];
			m->param_values[k] = segs[j];
			k++;
		}
	m->nparams = k;
	return (LX_MATCH_OK);
}

const char *
lx_req_param(const struct lx_req *req, const char *name)
{
	int i;

	for (i = 0; i < req->nparams; i++)
		if (strcmp(req->param_names[i], name) == 0)
			return (req->param_values[i]);
	return (NULL);
}

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
	{ "GET", M_GET },
	{ "HEAD", M_HEAD },
	{ "POST", M_POST },
	{ "PUT", M_PUT },
	{ "PATCH", M_PATCH },
	{ "DELETE", M_DELETE },
	{ "OPTIONS", M_OPTIONS },
};

unsigned
lx_method_bit(const char *name)
{
	size_t i;

	for (i = 0; i < LX_NELEM(methods); i++)
		if (strcmp(methods[i].name, name) == 0)
			return (methods[i].bit);
	return (0);
}

void
lx_methods_format(unsigned bits, char *buf, size_t len)
{
	size_t i, off = 0, n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < LX_NELEM(methods); i++) {
		if ((bits & methods[i].bit) == 0)
			continue;
		n = strlen(methods[i].name) + (off ? 2 : 0);
		if (off + n + 1 > len)
			break;
		if (off) {
			memcpy(buf + off, ", ", 2);
			off += 2;
		}
		memcpy(buf + off, methods[i].name, strlen(methods[i].name));
		off += strlen(methods[i].name);
		buf[off] = '\0';
	}
}

/* The raw value of parameter key in query (at most outsz - 1 bytes) into
 * out; 1 if present and non-empty, 0 if absent, -1 if too long. */
static int
query_value(const char *query, const char *key, char *out, size_t outsz)
{
	const char *q = query, *amp, *eq;
	size_t klen = strlen(key), vlen;

	while (q != NULL && *q != '\0') {
		if ((amp = strchr(q, '&')) == NULL)
			amp = q + strlen(q);
		eq = memchr(q, '=', (size_t)(amp - q));
		if (eq != NULL && (size_t)(eq - q) == klen
		    && strncmp(q, key, klen) == 0) {
			vlen = (size_t)(amp - eq - 1);
			if (vlen >= outsz)
				return (-1);
			memcpy(out, eq + 1, vlen);
			out[vlen] = '\0';
			return (vlen > 0);
		}
		q = *amp == '&' ? amp + 1 : amp;
	}
	return (0);
}

int
lx_query_decode(const char *src, size_t len, char *out, size_t size)
{
	size_t i, o = 0;
	int c;

	for (i = 0; i < len; i++) {
		c = src[i] == '+' ? ' ' : unescape(src, len, &i);
		if (c < 0x20 || c == 0x7f || o + 1 >= size)
			return (-1);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (0);
}

int
lx_query_args(const char *query, struct lx_qarg *args, struct lx_err *err)
{
	const char *q = query, *amp, *eq;
	struct lx_qarg *a;
	size_t klen;

	for (a = args; a->name != NULL; a++) {
		a->val[0] = '\0';
		a->seen = 0;
	}
	while (q != NULL && *q != '\0') {
		if ((amp = strchr(q, '&')) == NULL)
			amp = q + strlen(q);
		eq = memchr(q, '=', (size_t)(amp - q));
		klen = eq != NULL ? (size_t)(eq - q) : (size_t)(amp - q);
		for (a = args; a->name != NULL; a++)
			if (strlen(a->name) == klen
			    && strncmp(q, a->name, klen) == 0)
				break;
		if (klen > 0 && a->name == NULL)
			return (lx_err_set(err, 400, "unknown_parameter",
			    "the query parameter '%.*s' is not accepted here",
			    (int)(klen > 64 ? 64 : klen), q));
		if (klen > 0 && a->seen)
			return (lx_err_set(err, 400, "duplicate_parameter",
			    "the query parameter %s is given twice", a->name));
		if (klen > 0) {
			a->seen = 1;
			if (eq != NULL
			    && lx_query_decode(eq + 1, (size_t)(amp - eq - 1),
			           a->val, a->size)
			        == -1)
				return (lx_err_set(err, 400,
				    "invalid_parameter",
				    "the query parameter %s is malformed or "
				    "longer than %zu bytes",
				    a->name, a->size - 1));
		}
		q = *amp == '&' ? amp + 1 : amp;
	}
	return (0);
}

int
lx_tenant_pick(const struct lx_identity *id, const char *header,
    const char *query, char out[40], struct lx_err *err)
{
	char named[40];
	int rc = 0;

	named[0] = '\0';
	if (header != NULL && header[0] != '\0') {
		if (strlen(header) >= sizeof(named))
			rc = -1;
		else {
			snprintf(named, sizeof(named), "%s", header);
			rc = 1;
		}
	} else
		rc = query_value(query, "tenant_id", named, sizeof(named));
	if (rc == -1)
		return (lx_err_set(err, 404, "not_found", "no such tenant"));
	if (id->service_key) {
		if (rc == 1 && strcmp(named, id->key_tenant) != 0)
			return (lx_err_set(
			    err, 404, "not_found", "no such tenant"));
		snprintf(out, 40, "%s", id->key_tenant);
		return (0);
	}
	if (rc == 0)
		return (lx_err_set(err, 400, "tenant_required",
		    "name the tenant with the X-Tenant-Id header or the "
		    "tenant_id query parameter"));
	snprintf(out, 40, "%s", named);
	return (0);
}
