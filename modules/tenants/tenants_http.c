/*
 * The /tenants routes: the route table and handlers turning validated
 * bodies into calls to the rules (tenants.c) and statements
 * (tenants_store.c). The core has checked identity, membership and
 * permission and bound the policy context before a handler runs; every
 * state change commits with its audit record in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "audit.h"
#include "auth.h"
#include "tenants.h"
#include "webhooks.h"

int
tenants_http_fail(
    const struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	if (err->status < 400 || err->status >= 500)
		return (-1);
	lx_resp_problem(
	    resp, err->status, err->code, err->detail, req->request_id);
	return (0);
}

int
tenants_http_fail_tx(
    const struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	lx_conn_rollback(req->db);
	return (tenants_http_fail(req, resp, err));
}

int
tenants_http_audit(const struct lx_req *req, const char *action,
    const char *target, const char *detail, struct lx_err *err)
{
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	e.actor = req->ident.actor;
	e.tenant = req->tenant.id[0] != '\0' ? req->tenant.id : NULL;
	e.action = action;
	e.target = target;
	e.request_id = req->request_id;
	e.address = req->remote_addr;
	e.detail_json = detail;
	return (audit_record(req->db, &e, err));
}

int
tenants_member_event(struct lx_conn *c, const char *tenant_id, const char *type,
    const char *user_id, const char *role, struct lx_err *err)
{
	struct lx_buf b;
	int rc;

	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"tenant_id\":");
	lx_buf_add_json_str(&b, tenant_id);
	lx_buf_adds(&b, ",\"user_id\":");
	lx_buf_add_json_str(&b, user_id);
	lx_buf_adds(&b, ",\"role\":");
	lx_buf_add_json_str_or_null(&b, role);
	lx_buf_adds(&b, "}");
	rc = webhooks_emit(c, tenant_id, type, b.data, err);
	lx_buf_cleanup(&b);
	return (rc);
}

/* An id-like cursor: the last id of the previous page. */
static int
cursor_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= 40)
		return (0);
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9')
		        || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-'))
			return (0);
	return (1);
}

int
tenants_limit_arg(const struct lx_qarg *a, int *limit, struct lx_err *err)
{
	char *end;
	long v;

	*limit = TENANTS_PAGE_DEFAULT;
	if (!a->seen)
		return (0);
	v = strtol(a->val, &end, 10);
	if (a->val[0] < '0' || a->val[0] > '9' || *end != '\0' || v < 1
	    || v > TENANTS_PAGE_MAX)
		return (lx_err_set(err, 400, "invalid_limit",
		    "limit must be an integer from 1 to %d", TENANTS_PAGE_MAX));
	*limit = (int)v;
	return (0);
}

int
tenants_page_args(
    const struct lx_req *req, int *limit, char after[40], struct lx_err *err)
{
	char num[24], cursor[80], tid[40];
	struct lx_qarg args[] = {
		{ "limit", num, sizeof(num), 0 },
		{ "cursor", cursor, sizeof(cursor), 0 },
		/* Read by the core on tenant-context routes. */
		{ "tenant_id", tid, sizeof(tid), 0 },
		{ NULL, NULL, 0, 0 },
	};

	if (LX_NEED_KIND(req->route->need) != NEED_TENANT_CTX)
		args[2].name = NULL;

	if (lx_query_args(req->query, args, err) == -1
	    || tenants_limit_arg(&args[0], limit, err) == -1)
		return (-1);
	if (args[1].seen && !cursor_ok(cursor, strlen(cursor)))
		return (lx_err_set(err, 400, "invalid_cursor",
		    "cursor must be a next_cursor value"));
	/* "" when absent, else cursor_ok's fewer than 40 bytes. */
	memcpy(after, cursor, strlen(cursor) + 1);
	return (0);
}

void
tenants_tenant_json(const struct tenant *t, struct lx_buf *b)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, t->id);
	lx_buf_adds(b, ",\"slug\":");
	lx_buf_add_json_str(b, t->slug);
	lx_buf_adds(b, ",\"name\":");
	lx_buf_add_json_str(b, t->name);
	lx_buf_adds(b, ",\"owner_id\":");
	lx_buf_add_json_str(b, t->owner_id);
	lx_buf_adds(b, ",\"plan\":");
	lx_buf_add_json_str(b, t->plan);
	lx_buf_adds(b, ",\"status\":");
	lx_buf_add_json_str(b, t->status);
	lx_buf_adds(b, ",\"role\":");
	lx_buf_add_json_str_or_null(b, t->role);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, t->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, t->updated_at);
	lx_buf_adds(b, "}");
}

static void
send_buf(struct lx_resp *resp, int status, struct lx_buf *b)
{
	lx_resp_json(resp, status, b->data != NULL ? b->data : "{}");
	lx_buf_cleanup(b);
}

void
tenants_send_tenant(struct lx_resp *resp, int status, const struct tenant *t)
{
	struct lx_buf b;

	lx_buf_init(&b);
	tenants_tenant_json(t, &b);
	send_buf(resp, status, &b);
}

static void
next_cursor(struct lx_buf *b, const char *last)
{
	lx_buf_adds(b, "],\"next_cursor\":");
	lx_buf_add_json_str_or_null(b, last);
	lx_buf_adds(b, "}");
}

static int
h_list(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct tenant *rows;
	struct lx_buf b;
	char after[40];
	int i, n, limit;

	if (tenants_page_args(req, &limit, after, err) == -1)
		return (tenants_http_fail(req, resp, err));
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (tenants_store_list_mine(req->db, after, limit + 1, rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (tenants_http_fail(req, resp, err));
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"tenants\":[");
	for (i = 0; i < n && i < limit; i++) {
		if (i > 0)
			lx_buf_adds(&b, ",");
		tenants_tenant_json(&rows[i], &b);
	}
	next_cursor(&b, n > limit ? rows[limit - 1].id : NULL);
	lx_free(rows);
	send_buf(resp, 200, &b);
	return (0);
}

static int
h_create(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct lx_db_ctx ctx;
	struct tenant t;
	const char *slug;
	char detail[160];

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", lx_req_body_str(req, "name"));
	if (tenants_name_check(lx_req_body_str(req, "name"), err) == -1)
		return (tenants_http_fail(req, resp, err));
	if ((slug = lx_req_body_str(req, "slug")) != NULL) {
		if (tenants_slug_normalize(slug, t.slug, err) == -1)
			return (tenants_http_fail(req, resp, err));
	} else
		tenants_slug_from_name(t.name, t.slug);
	auth_uuid(t.id);
	snprintf(t.owner_id, sizeof(t.owner_id), "%s", req->ident.user_id);
	snprintf(t.status, sizeof(t.status), "active");
	snprintf(t.role, sizeof(t.role), "owner");
	t.created_at = t.updated_at = lx_now_ms();
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	/* Every new tenant starts on the instance's default plan. */
	if (tenants_store_default_plan(req->db, t.plan, sizeof(t.plan), err)
	    == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if (tenants_store_insert(req->db, &t, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	/* The creator becomes its owner: act in the new tenant from here. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.user_id = req->ident.user_id;
	ctx.tenant_id = t.id;
	ctx.role = "owner";
	if (lx_conn_set_context(req->db, &ctx, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	snprintf(req->tenant.id, sizeof(req->tenant.id), "%s", t.id);
	snprintf(req->tenant.role, sizeof(req->tenant.role), "owner");
	if (tenants_store_member_add(
	        req->db, t.id, req->ident.user_id, "owner", err)
	    == -1)
		return (tenants_http_fail_tx(req, resp, err));
	snprintf(detail, sizeof(detail), "{\"slug\":\"%s\"}", t.slug);
	if (tenants_http_audit(req, "tenant.create", t.id, detail, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	tenants_send_tenant(resp, 201, &t);
	return (0);
}

static int
h_get(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct tenant t;

	memset(&t, 0, sizeof(t));
	if (tenants_store_get(req->db, req->tenant.id, &t, err) == -1)
		return (tenants_http_fail(req, resp, err));
	tenants_send_tenant(resp, 200, &t);
	return (0);
}

static int
h_patch(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct tenant t;
	const char *name, *slug;
	struct lx_buf d;

	memset(&t, 0, sizeof(t));
	name = lx_req_body_str(req, "name");
	slug = lx_req_body_str(req, "slug");
	if (name != NULL && tenants_name_check(name, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (tenants_store_get(req->db, req->tenant.id, &t, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if (name != NULL)
		snprintf(t.name, sizeof(t.name), "%s", name);
	if (slug != NULL && tenants_slug_normalize(slug, t.slug, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	t.updated_at = lx_now_ms();
	if (tenants_store_update(req->db, &t, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	lx_buf_init(&d);
	lx_buf_adds(&d, "{\"name\":");
	lx_buf_add_json_str(&d, t.name);
	lx_buf_adds(&d, ",\"slug\":");
	lx_buf_add_json_str(&d, t.slug);
	lx_buf_adds(&d, "}");
	if (tenants_http_audit(req, "tenant.update", t.id, d.data, err) == -1
	    || lx_conn_commit(req->db, err) == -1) {
		lx_buf_cleanup(&d);
		return (tenants_http_fail_tx(req, resp, err));
	}
	lx_buf_cleanup(&d);
	tenants_send_tenant(resp, 200, &t);
	return (0);
}

static void
member_json(const struct member *m, struct lx_buf *b)
{
	lx_buf_adds(b, "{\"user_id\":");
	lx_buf_add_json_str(b, m->user_id);
	lx_buf_adds(b, ",\"email\":");
	lx_buf_add_json_str(b, m->email);
	lx_buf_adds(b, ",\"role\":");
	lx_buf_add_json_str(b, m->role);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, m->created_at);
	lx_buf_adds(b, "}");
}

static int
h_members(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct member *rows;
	struct lx_buf b;
	char after[40];
	int i, n, limit;

	if (tenants_page_args(req, &limit, after, err) == -1)
		return (tenants_http_fail(req, resp, err));
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (tenants_store_members(req->db, after, limit + 1, rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (tenants_http_fail(req, resp, err));
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"members\":[");
	for (i = 0; i < n && i < limit; i++) {
		if (i > 0)
			lx_buf_adds(&b, ",");
		member_json(&rows[i], &b);
	}
	next_cursor(&b, n > limit ? rows[limit - 1].user_id : NULL);
	lx_free(rows);
	send_buf(resp, 200, &b);
	return (0);
}

/* Only an owner (or a platform admin) grants or takes the owner role. */
static int
owner_rule(const struct lx_req *req, const char *from, const char *to,
    struct lx_err *err)
{
	int touches = (from != NULL && strcmp(from, "owner") == 0)
	    || (to != NULL && strcmp(to, "owner") == 0);

	if (touches && strcmp(req->tenant.role, "owner") != 0
	    && !req->tenant.platform_admin)
		return (lx_err_set(err, 403, "forbidden",
		    "only an owner may grant or remove the owner role"));
	return (0);
}

/* Inside the write transaction: refuses to leave the tenant ownerless. */
static int
last_owner_rule(const struct lx_req *req, const char *from, const char *to,
    struct lx_err *err)
{
	int n;

	if (strcmp(from, "owner") != 0
	    || (to != NULL && strcmp(to, "owner") == 0))
		return (0);
	if (tenants_store_owner_count(req->db, &n, err) == -1)
		return (-1);
	if (n <= 1)
		return (lx_err_set(err, 409, "last_owner",
		    "the last owner cannot be removed or demoted"));
	return (0);
}

/* After an owner was demoted or removed: owner_id names an owner. */
static int
primary_owner_rule(
    const struct lx_req *req, const char *from, struct lx_err *err)
{
	if (strcmp(from, "owner") != 0)
		return (0);
	return (tenants_store_owner_fix(req->db, lx_now_ms(), err));
}

static int
h_member_add(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *uid, *email, *role;
	struct member m;
	struct lx_buf b;
	char id[40];

	uid = lx_req_body_str(req, "user_id");
	email = lx_req_body_str(req, "email");
	role = lx_req_body_str(req, "role");
	if ((uid == NULL) == (email == NULL)) {
		lx_err_set(err, 422, "invalid_member",
		    "give exactly one of user_id and email");
		return (tenants_http_fail(req, resp, err));
	}
	if (!tenants_role_valid(role)) {
		lx_err_set(err, 422, "invalid_role",
		    "role is owner, admin, billing, member or viewer");
		return (tenants_http_fail(req, resp, err));
	}
	if (owner_rule(req, NULL, role, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (tenants_store_user(req->db, uid, email, id, err) == -1
	    || tenants_member_room(req->srv, req->db, req->tenant.id, err) == -1
	    || tenants_store_member_add(req->db, req->tenant.id, id, role, err)
	        == -1)
		return (tenants_http_fail_tx(req, resp, err));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"role\":");
	lx_buf_add_json_str(&b, role);
	lx_buf_adds(&b, "}");
	if (tenants_http_audit(req, "member.add", id, b.data, err) == -1
	    || tenants_member_event(
	           req->db, req->tenant.id, "member.added", id, role, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1) {
		lx_buf_cleanup(&b);
		return (tenants_http_fail_tx(req, resp, err));
	}
	lx_buf_reset(&b);
	memset(&m, 0, sizeof(m));
	snprintf(m.user_id, sizeof(m.user_id), "%s", id);
	snprintf(m.role, sizeof(m.role), "%s", role);
	lx_buf_adds(&b, "{\"tenant_id\":");
	lx_buf_add_json_str(&b, req->tenant.id);
	lx_buf_adds(&b, ",\"user_id\":");
	lx_buf_add_json_str(&b, m.user_id);
	lx_buf_adds(&b, ",\"role\":");
	lx_buf_add_json_str(&b, m.role);
	lx_buf_adds(&b, "}");
	send_buf(resp, 201, &b);
	return (0);
}

static int
h_member_patch(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *uid = lx_req_param(req, "user_id");
	const char *role = lx_req_body_str(req, "role");
	char from[16];
	struct lx_buf b;

	if (!tenants_role_valid(role)) {
		lx_err_set(err, 422, "invalid_role",
		    "role is owner, admin, billing, member or viewer");
		return (tenants_http_fail(req, resp, err));
	}
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (tenants_store_member_role(req->db, uid, from, err) == -1
	    || owner_rule(req, from, role, err) == -1
	    || last_owner_rule(req, from, role, err) == -1
	    || tenants_store_member_set_role(req->db, uid, role, err) == -1
	    || primary_owner_rule(req, from, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"from\":");
	lx_buf_add_json_str(&b, from);
	lx_buf_adds(&b, ",\"to\":");
	lx_buf_add_json_str(&b, role);
	lx_buf_adds(&b, "}");
	if (tenants_http_audit(req, "member.role", uid, b.data, err) == -1
	    || lx_conn_commit(req->db, err) == -1) {
		lx_buf_cleanup(&b);
		return (tenants_http_fail_tx(req, resp, err));
	}
	lx_buf_reset(&b);
	lx_buf_adds(&b, "{\"tenant_id\":");
	lx_buf_add_json_str(&b, req->tenant.id);
	lx_buf_adds(&b, ",\"user_id\":");
	lx_buf_add_json_str(&b, uid);
	lx_buf_adds(&b, ",\"role\":");
	lx_buf_add_json_str(&b, role);
	lx_buf_adds(&b, "}");
	send_buf(resp, 200, &b);
	return (0);
}

static int
h_member_delete(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *uid = lx_req_param(req, "user_id");
	char from[16];

	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (tenants_store_member_role(req->db, uid, from, err) == -1
	    || owner_rule(req, from, NULL, err) == -1
	    || last_owner_rule(req, from, NULL, err) == -1
	    || tenants_store_member_remove(req->db, uid, err) == -1
	    || primary_owner_rule(req, from, err) == -1
	    || tenants_http_audit(req, "member.remove", uid, NULL, err) == -1
	    || tenants_member_event(
	           req->db, req->tenant.id, "member.removed", uid, from, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	resp->status = 204;
	return (0);
}

static const struct lx_field create_fields[] = {
	{ "name", F_STRING, 1, TENANTS_NAME_MAX },
	{ "slug", F_STRING, 0, TENANTS_SLUG_MAX * 2 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema create_schema = { create_fields };
static const struct lx_field patch_fields[] = {
	{ "name", F_STRING, 0, TENANTS_NAME_MAX },
	{ "slug", F_STRING, 0, TENANTS_SLUG_MAX * 2 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema patch_schema = { patch_fields };
static const struct lx_field member_fields[] = {
	{ "user_id", F_STRING, 0, 64 },
	{ "email", F_STRING, 0, 254 },
	{ "role", F_STRING, 1, 16 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema member_schema = { member_fields };
static const struct lx_field role_fields[] = {
	{ "role", F_STRING, 1, 16 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema role_schema = { role_fields };
static const struct lx_field transfer_fields[] = {
	{ "user_id", F_STRING, 1, 64 },
	{ NULL, 0, 0, 0 },
};
static const struct lx_schema transfer_schema = { transfer_fields };

static const struct lx_route tenants_routes[] = {
	{ "/tenants", M_GET, NEED_USER_CTX, NULL, h_list },
	{ "/tenants", M_POST, NEED_USER_CTX, &create_schema, h_create },
	{ "/tenants/{id}", M_GET, NEED_TENANT_PERM(PERM_TENANTS_READ), NULL,
	    h_get },
	{ "/tenants/{id}", M_PATCH, NEED_TENANT_PERM(PERM_TENANTS_WRITE),
	    &patch_schema, h_patch },
	{ "/tenants/{id}", M_DELETE, NEED_TENANT_PERM(PERM_TENANTS_WRITE), NULL,
	    tenants_delete },
	{ "/tenants/{id}/transfer-ownership", M_POST,
	    NEED_TENANT_PERM(PERM_TENANTS_WRITE), &transfer_schema,
	    tenants_transfer },
	{ "/tenants/{id}/summary", M_GET, NEED_TENANT_PERM(PERM_TENANTS_READ),
	    NULL, tenants_summary },
	{ "/tenants/{id}/audit-logs", M_GET, NEED_TENANT_PERM(PERM_AUDIT_READ),
	    NULL, tenants_audit_list },
	{ "/admin/tenants/{id}/restore", M_POST, NEED_PLATFORM_ADMIN, NULL,
	    tenants_restore },
	{ "/context", M_GET, NEED_TENANT_CTX_PERM(PERM_TENANTS_READ), NULL,
	    tenants_context },
	{ "/tenants/{id}/members", M_GET, NEED_TENANT_PERM(PERM_MEMBERS_READ),
	    NULL, h_members },
	{ "/tenants/{id}/members", M_POST, NEED_TENANT_PERM(PERM_MEMBERS_WRITE),
	    &member_schema, h_member_add },
	{ "/tenants/{id}/members/{user_id}", M_PATCH,
	    NEED_TENANT_PERM(PERM_MEMBERS_WRITE), &role_schema,
	    h_member_patch },
	{ "/tenants/{id}/members/{user_id}", M_DELETE,
	    NEED_TENANT_PERM(PERM_MEMBERS_WRITE), NULL, h_member_delete },
	{ "/tenants/{id}/invitations", M_GET,
	    NEED_TENANT_PERM(PERM_MEMBERS_READ), NULL, tenants_invite_list },
	{ "/tenants/{id}/invitations", M_POST,
	    NEED_TENANT_PERM(PERM_MEMBERS_WRITE), &tenants_invite_schema,
	    tenants_invite_create },
	{ "/tenants/{id}/invitations/{invitation_id}", M_DELETE,
	    NEED_TENANT_PERM(PERM_MEMBERS_WRITE), NULL, tenants_invite_revoke },
	{ "/invitations/{token}/accept", M_POST, NEED_USER_CTX, NULL,
	    tenants_invite_accept },
	{ "/tenants/{id}/api-keys", M_GET,
	    NEED_TENANT_PERM(PERM_SERVICE_KEYS_READ), NULL, tenants_key_list },
	{ "/tenants/{id}/api-keys", M_POST,
	    NEED_TENANT_PERM(PERM_SERVICE_KEYS_WRITE), &tenants_key_schema,
	    tenants_key_create },
	{ "/tenants/{id}/api-keys/{key_id}", M_DELETE,
	    NEED_TENANT_PERM(PERM_SERVICE_KEYS_WRITE), NULL,
	    tenants_key_revoke },
	{ NULL, 0, 0, NULL, NULL },
};

const struct lx_module tenants_module = {
	"tenants",
	tenants_routes,
	tenants_init,
	NULL,
};
