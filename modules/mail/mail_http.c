/*
 * The outbox for platform admins: GET /admin/mail lists messages newest
 * first with cursor pagination (?limit=1..100, default 50; ?cursor= the
 * next_cursor of the previous page), GET /admin/mail/{id} shows one with
 * its text. With no SMTP relay configured this is where an offline
 * install finds its verification and reset links.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "mail.h"

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 100

/* Parses a positive decimal of n bytes at s into *out (at most max). */
static int
number(const char *s, size_t n, int64_t max, int64_t *out)
{
	char buf[24], *end;
	long long v;

	if (n == 0 || n >= sizeof(buf))
		return (-1);
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || buf[0] == '-' || buf[0] == '+'
	    || v < 1 || v > max)
		return (-1);
	*out = v;
	return (0);
}

/* Reads ?limit= and ?cursor=; anything else is refused. */
static int
page_of(const char *query, int64_t *limit, int64_t *cursor, char *field,
    size_t fsz, struct lx_err *err)
{
	const char *p, *eq;
	size_t n;

	*limit = LIMIT_DEFAULT;
	*cursor = 0;
	for (p = query; p != NULL && *p != '\0'; p += n + (p[n] == '&')) {
		n = strcspn(p, "&");
		if (n == 0)
			continue;
		eq = memchr(p, '=', n);
		if (eq != NULL && eq - p == 5 && strncmp(p, "limit", 5) == 0) {
			snprintf(field, fsz, "limit");
			if (number(eq + 1, n - 6, LIMIT_MAX, limit) == -1)
				return (
				    lx_err_set(err, 400, "invalid_parameter",
				        "limit must be a number from 1 to %d",
				        LIMIT_MAX));
		} else if (eq != NULL && eq - p == 6
		    && strncmp(p, "cursor", 6) == 0) {
			snprintf(field, fsz, "cursor");
			if (number(eq + 1, n - 7, INT64_MAX, cursor) == -1)
				return (
				    lx_err_set(err, 400, "invalid_parameter",
				        "cursor must be the next_cursor of a "
				        "previous page"));
		} else {
			snprintf(field, fsz, "%.*s",
			    (int)(eq != NULL ? (size_t)(eq - p) : n), p);
			return (lx_err_set(err, 400, "unknown_parameter",
			    "unknown query parameter; use limit and cursor"));
		}
	}
	return (0);
}

static void
problem(const struct lx_req *req, struct lx_resp *resp,
    const struct lx_err *err, const char *field)
{
	resp->status = err->status;
	resp->content_type = "application/problem+json";
	lx_buf_reset(&resp->body);
	lx_problem_json(&resp->body, err->status, err->code, err->detail,
	    req->request_id, field);
}

static int
h_list(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct mail_item *v = NULL;
	struct lx_buf b;
	int64_t limit, cursor;
	char field[64] = "";
	int i, n = 0;

	if (page_of(req->query, &limit, &cursor, field, sizeof(field), err)
	    == -1) {
		problem(req, resp, err, field);
		return (0);
	}
	if (mail_outbox_list(req->db, cursor, (int)limit, &v, &n, err) == -1)
		return (-1);
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"items\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			lx_buf_adds(&b, ",");
		mail_item_json(&v[i], 0, &b);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	if (n == limit && n > 0)
		lx_buf_addf(&b, "\"%lld\"}", (long long)v[n - 1].id);
	else
		lx_buf_adds(&b, "null}");
	mail_items_free(v, n);
	lx_resp_json(resp, 200, b.data);
	lx_resp_header(resp, "Cache-Control", "no-store");
	lx_buf_cleanup(&b);
	return (0);
}

static int
h_get(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct mail_item m;
	struct lx_buf b;
	const char *s = lx_req_param(req, "id");
	int64_t id;

	if (s == NULL || number(s, strlen(s), INT64_MAX, &id) == -1) {
		lx_err_set(err, 404, "not_found", "no such message");
		problem(req, resp, err, NULL);
		return (0);
	}
	if (mail_outbox_get(req->db, id, &m, err) == -1) {
		if (err->status != 404)
			return (-1);
		problem(req, resp, err, NULL);
		return (0);
	}
	lx_buf_init(&b);
	mail_item_json(&m, 1, &b);
	mail_item_cleanup(&m);
	lx_resp_json(resp, 200, b.data);
	lx_resp_header(resp, "Cache-Control", "no-store");
	lx_buf_cleanup(&b);
	return (0);
}

static const struct lx_route mail_routes[] = {
	{ "/admin/mail", M_GET, NEED_PLATFORM_ADMIN, NULL, h_list },
	{ "/admin/mail/{id}", M_GET, NEED_PLATFORM_ADMIN, NULL, h_get },
	{ NULL, 0, NEED_ANON, NULL, NULL },
};

const struct lx_module mail_module = {
	"mail",
	mail_routes,
	NULL,
	NULL,
};
