/*
 * Read-only views of a tenant: its audit log (GET /tenants/{id}/audit-logs,
 * through v_audit_logs, newest first, cursor-paginated and filtered by
 * actor, action and time), its summary (GET /tenants/{id}/summary, through
 * v_tenant_summary: what it holds against its limits and its last
 * activity) and the caller's tenant context (GET /context: the tenant the
 * tenant-context rule picked, the caller's role and permissions in it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenants.h"

#define AUDIT_ACTION_MAX 63 /* bytes of an action filter */

/* A cursor of the audit log: the decimal id of the last record shown. */
static int
audit_cursor(const struct lx_qarg *a, int64_t *id, struct lx_err *err)
{
	const char *s = a->val;
	char *end;
	long long v;

	*id = 0;
	if (!a->seen)
		return (0);
	v = strtoll(s, &end, 10);
	if (*end != '\0' || s[0] < '1' || s[0] > '9' || v <= 0)
		return (lx_err_set(err, 400, "invalid_cursor",
		    "cursor must be a next_cursor value"));
	*id = v;
	return (0);
}

/*
 * The action filter: an exact action ("member.add") or a prefix ending in
 * '*' ("member.*"); letters, digits, '.', '_' and '-' only. A prefix
 * becomes a LIKE pattern in like (escaping '_'), else action is set.
 */
static int
audit_action(const char *s, const char **action, char *like, size_t likesz,
    struct lx_err *err)
{
	size_t i, n = strlen(s), o = 0;
	int prefix = n > 0 && s[n - 1] == '*';

	*action = NULL;
	like[0] = '\0';
	if (n == 0)
		return (0);
	for (i = 0; i < n - (size_t)prefix; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z')
		        || (s[i] >= '0' && s[i] <= '9') || s[i] == '.'
		        || s[i] == '_' || s[i] == '-'))
			return (lx_err_set(err, 400, "invalid_parameter",
			    "action is an action name such as member.add, or "
			    "a prefix such as member.*"));
		if (prefix) {
			if (s[i] == '_')
				like[o++] = '\\';
			like[o++] = s[i];
		}
	}
	if (!prefix) {
		*action = s;
		return (0);
	}
	if (o + 2 > likesz)
		return (lx_err_set(err, 400, "invalid_parameter",
		    "the action prefix is too long"));
	like[o++] = '%';
	like[o] = '\0';
	return (0);
}

static int
audit_time(const char *name, const char *s, int64_t *ms, struct lx_err *err)
{
	*ms = 0;
	if (*s != '\0' && lx_time_parse(s, ms) == -1)
		return (lx_err_set(err, 400, "invalid_parameter",
		    "%s is an RFC 3339 time such as 2026-12-01T00:00:00Z",
		    name));
	return (0);
}

/* Parses the audit log's query into q (like: its LIKE pattern storage). */
static int
audit_query(const struct lx_req *req, struct tenant_audit_query *q,
    char actor[64], char action[AUDIT_ACTION_MAX + 2],
    char like[AUDIT_ACTION_MAX * 2 + 2], struct lx_err *err)
{
	char limit[24], cursor[24], since[40], until[40];
	struct lx_qarg args[] = {
		{ "limit", limit, sizeof(limit), 0 },
		{ "cursor", cursor, sizeof(cursor), 0 },
		{ "actor", actor, 64, 0 },
		{ "action", action, AUDIT_ACTION_MAX + 2, 0 },
		{ "since", since, sizeof(since), 0 },
		{ "until", until, sizeof(until), 0 },
		{ NULL, NULL, 0, 0 },
	};

	memset(q, 0, sizeof(*q));
	if (lx_query_args(req->query, args, err) == -1
	    || tenants_limit_arg(&args[0], &q->limit, err) == -1
	    || audit_cursor(&args[1], &q->before_id, err) == -1
	    || audit_action(
	           action, &q->action, like, AUDIT_ACTION_MAX * 2 + 2, err)
	        == -1
	    || audit_time("since", since, &q->since, err) == -1
	    || audit_time("until", until, &q->until, err) == -1)
		return (-1);
	if (q->since != 0 && q->until != 0 && q->until <= q->since)
		return (lx_err_set(err, 400, "invalid_parameter",
		    "until must be later than since"));
	q->actor = actor[0] != '\0' ? actor : NULL;
	q->action_like = like[0] != '\0' ? like : NULL;
	return (0);
}

static void
audit_json(struct lx_buf *b, const struct tenant_audit *a)
{
	lx_buf_adds(b, "{\"id\":\"");
	lx_buf_add_uint(b, (uint64_t)a->id);
	lx_buf_adds(b, "\",\"created_at\":");
	lx_buf_add_time_json(b, a->created_at);
	lx_buf_adds(b, ",\"actor\":");
	lx_buf_add_json_str(b, a->actor);
	lx_buf_adds(b, ",\"action\":");
	lx_buf_add_json_str(b, a->action);
	lx_buf_adds(b, ",\"target\":");
	lx_buf_add_json_str_or_null(b, a->target);
	lx_buf_adds(b, ",\"request_id\":");
	lx_buf_add_json_str_or_null(b, a->request_id);
	lx_buf_adds(b, ",\"address\":");
	lx_buf_add_json_str_or_null(b, a->address);
	/* detail is the JSON object the audit writer stored. */
	lx_buf_adds(b, ",\"detail\":");
	lx_buf_adds(b, a->detail[0] == '{' ? a->detail : "{}");
	lx_buf_adds(b, "}");
}

int
tenants_audit_list(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct tenant_audit_query q;
	struct tenant_audit *rows;
	struct lx_buf b;
	char actor[64], action[AUDIT_ACTION_MAX + 2];
	char like[AUDIT_ACTION_MAX * 2 + 2];
	int i, n = 0, limit;

	if (audit_query(req, &q, actor, action, like, err) == -1)
		return (tenants_http_fail(req, resp, err));
	limit = q.limit;
	q.limit = limit + 1;
	rows = lx_calloc((size_t)q.limit, sizeof(*rows));
	if (tenants_store_audit(req->db, &q, rows, &n, err) == -1) {
		tenants_audit_free(rows, n);
		return (tenants_http_fail(req, resp, err));
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"audit_logs\":[");
	for (i = 0; i < n && i < limit; i++) {
		if (i > 0)
			lx_buf_adds(&b, ",");
		audit_json(&b, &rows[i]);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	if (n > limit) {
		lx_buf_adds(&b, "\"");
		lx_buf_add_uint(&b, (uint64_t)rows[limit - 1].id);
		lx_buf_adds(&b, "\"");
	} else
		lx_buf_adds(&b, "null");
	lx_buf_adds(&b, "}");
	tenants_audit_free(rows, n);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

int
tenants_summary(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct lx_qarg none[] = { { NULL, NULL, 0, 0 } };
	struct tenant_summary s;
	int64_t limit;
	struct tenant t;
	struct lx_buf b;

	memset(&t, 0, sizeof(t));
	memset(&s, 0, sizeof(s));
	if (lx_query_args(req->query, none, err) == -1
	    || tenants_store_get(req->db, req->tenant.id, &t, err) == -1
	    || tenants_store_summary(req->db, &s, err) == -1
	    || tenants_member_limit(
	           req->srv, req->db, req->tenant.id, &limit, err)
	        == -1)
		return (tenants_http_fail(req, resp, err));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"tenant_id\":");
	lx_buf_add_json_str(&b, t.id);
	lx_buf_adds(&b, ",\"slug\":");
	lx_buf_add_json_str(&b, t.slug);
	lx_buf_adds(&b, ",\"name\":");
	lx_buf_add_json_str(&b, t.name);
	lx_buf_adds(&b, ",\"plan\":");
	lx_buf_add_json_str(&b, t.plan);
	lx_buf_adds(&b, ",\"status\":");
	lx_buf_add_json_str(&b, t.status);
	lx_buf_adds(&b, ",\"usage\":{\"members\":");
	lx_buf_add_uint(&b, (uint64_t)s.members);
	lx_buf_adds(&b, ",\"service_keys\":");
	lx_buf_add_uint(&b, (uint64_t)s.service_keys);
	lx_buf_adds(&b, ",\"invitations_pending\":");
	lx_buf_add_uint(&b, (uint64_t)s.invitations_pending);
	lx_buf_adds(&b, "},\"limits\":{\"members\":");
	if (limit >= 0)
		lx_buf_add_uint(&b, (uint64_t)limit);
	else
		lx_buf_adds(&b, "null");
	lx_buf_adds(&b, "},\"created_at\":");
	lx_buf_add_time_json(&b, t.created_at);
	lx_buf_adds(&b, ",\"last_activity_at\":");
	lx_buf_add_time_json(&b, s.last_activity_at);
	lx_buf_adds(&b, "}");
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

int
tenants_context(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	char tid[40];
	struct lx_qarg args[] = {
		{ "tenant_id", tid, sizeof(tid), 0 },
		{ NULL, NULL, 0, 0 },
	};
	lx_perm_set perms;
	struct tenant t;
	struct lx_buf b;

	memset(&t, 0, sizeof(t));
	if (lx_query_args(req->query, args, err) == -1
	    || tenants_store_get(req->db, req->tenant.id, &t, err) == -1
	    || tenants_caller_perms(req, &perms, err) == -1)
		return (tenants_http_fail(req, resp, err));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"actor\":");
	lx_buf_add_json_str(&b, req->ident.actor);
	lx_buf_adds(&b, ",\"user_id\":");
	lx_buf_add_json_str_or_null(
	    &b, req->ident.service_key ? NULL : req->ident.user_id);
	lx_buf_adds(&b, ",\"service_key_id\":");
	lx_buf_add_json_str_or_null(
	    &b, req->ident.service_key ? req->ident.key_id : NULL);
	lx_buf_adds(&b, ",\"role\":");
	lx_buf_add_json_str_or_null(&b, req->tenant.role);
	lx_buf_adds(&b, ",\"platform_admin\":");
	lx_buf_adds(&b, req->tenant.platform_admin ? "true" : "false");
	lx_buf_adds(&b, ",\"permissions\":");
	tenants_perms_json(&b, perms);
	lx_buf_adds(&b, ",\"tenant\":");
	tenants_tenant_json(&t, &b);
	lx_buf_adds(&b, "}");
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}
