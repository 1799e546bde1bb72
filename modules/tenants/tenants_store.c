/*
 * Tenant statements, all through the policy views (p_tenants,
 * p_memberships) of the request's context: the authorizer refuses the base
 * tables anyway. users is not a tenant table and is read directly.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "tenants.h"

#define TENANT_COLS \
	"t.id, t.slug, t.name, t.owner_id, t.plan, t.status, t.created_at, " \
	"t.updated_at, coalesce(t.deleted_at, 0), coalesce(t.purge_at, 0)"

static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	snprintf(out, len, "%s", s != NULL ? s : "");
}

static void
tenant_row(sqlite3_stmt *st, struct tenant *t)
{
	col_copy(st, 0, t->id, sizeof(t->id));
	col_copy(st, 1, t->slug, sizeof(t->slug));
	col_copy(st, 2, t->name, sizeof(t->name));
	col_copy(st, 3, t->owner_id, sizeof(t->owner_id));
	col_copy(st, 4, t->plan, sizeof(t->plan));
	col_copy(st, 5, t->status, sizeof(t->status));
	t->created_at = sqlite3_column_int64(st, 6);
	t->updated_at = sqlite3_column_int64(st, 7);
	t->deleted_at = sqlite3_column_int64(st, 8);
	t->purge_at = sqlite3_column_int64(st, 9);
	col_copy(st, 10, t->role, sizeof(t->role));
}

static void
finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static const char sql_list_mine[] =
    "SELECT " TENANT_COLS ", m.role FROM p_tenants t "
    "JOIN p_memberships m ON m.tenant_id = t.id "
    "AND m.user_id = current_user_id() "
    "WHERE t.status != 'deleted' AND t.id > ?1 ORDER BY t.id LIMIT ?2";

int
tenants_store_list_mine(struct lx_conn *c, const char *after, int limit,
    struct tenant *out, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_list_mine, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < limit)
		tenant_row(st, &out[(*n)++]);
	finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "list tenants", err));
	return (0);
}

static const char sql_insert[] =
    "INSERT INTO p_tenants (id, slug, name, owner_id, plan, status, "
    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?6)";

/* A unique violation on slug is the client's 409, not a server fault. */
static int
slug_error(struct lx_conn *c, int rc, const char *what, struct lx_err *err)
{
	if (sqlite3_extended_errcode(lx_conn_sqlite(c))
	    == SQLITE_CONSTRAINT_UNIQUE)
		return (lx_err_set(err, 409, "slug_taken",
		    "another tenant already uses this slug"));
	return (lx_conn_error(c, rc, what, err));
}

int
tenants_store_insert(
    struct lx_conn *c, const struct tenant *t, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_insert, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->plan, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, t->created_at);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		slug_error(c, rc, "insert tenant", err);
	finish(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

static const char sql_get[] =
    "SELECT " TENANT_COLS ", coalesce(current_tenant_role(), '') "
    "FROM p_tenants t WHERE t.id = ?1 AND t.status != 'deleted'";

int
tenants_store_get(
    struct lx_conn *c, const char *id, struct tenant *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_get, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		tenant_row(st, out);
	finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "not_found", "no such tenant"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "read tenant", err));
	return (0);
}

static const char sql_update[] =
    "UPDATE p_tenants SET name = ?2, slug = ?3, status = ?4, "
    "updated_at = ?5, owner_id = ?6, deleted_at = ?7, purge_at = ?8 "
    "WHERE id = ?1";

int
tenants_store_update(
    struct lx_conn *c, const struct tenant *t, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_update, err)) == NULL)
		return (-1);
	(void)lx_conn_policy_changes(c);
	sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, t->updated_at);
	sqlite3_bind_text(st, 6, t->owner_id, -1, SQLITE_STATIC);
	if (t->deleted_at > 0) {
		sqlite3_bind_int64(st, 7, t->deleted_at);
		sqlite3_bind_int64(st, 8, t->purge_at);
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		slug_error(c, rc, "update tenant", err);
	finish(st);
	if (rc != SQLITE_DONE)
		return (-1);
	if (lx_conn_policy_changes(c) != 1)
		return (lx_err_set(err, 404, "not_found", "no such tenant"));
	return (0);
}

static const char sql_members[] =
    "SELECT m.user_id, u.email, m.role, m.created_at FROM p_memberships m "
    "JOIN users u ON u.id = m.user_id "
    "WHERE m.tenant_id = current_tenant() AND m.user_id > ?1 "
    "ORDER BY m.user_id LIMIT ?2";

int
tenants_store_members(struct lx_conn *c, const char *after, int limit,
    struct member *out, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	struct member *m;
	int rc;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_members, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < limit) {
		m = &out[(*n)++];
		col_copy(st, 0, m->user_id, sizeof(m->user_id));
		col_copy(st, 1, m->email, sizeof(m->email));
		col_copy(st, 2, m->role, sizeof(m->role));
		m->created_at = sqlite3_column_int64(st, 3);
	}
	finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "list members", err));
	return (0);
}

static const char sql_user_by_id[] = "SELECT id FROM users WHERE id = ?1";
static const char sql_user_by_email[] = "SELECT id FROM users WHERE email = ?1";

int
tenants_store_user(struct lx_conn *c, const char *user_id, const char *email,
    char *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	st = lx_conn_stmt(
	    c, user_id != NULL ? sql_user_by_id : sql_user_by_email, err);
	if (st == NULL)
		return (-1);
	sqlite3_bind_text(
	    st, 1, user_id != NULL ? user_id : email, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		col_copy(st, 0, out, 40);
	finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "user_not_found", "no such user"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "find user", err));
	return (0);
}

static const char sql_member_role[] =
    "SELECT role FROM p_memberships "
    "WHERE tenant_id = current_tenant() AND user_id = ?1";

int
tenants_store_member_role(
    struct lx_conn *c, const char *user_id, char *role, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_member_role, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		col_copy(st, 0, role, 16);
	finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "member_not_found",
		    "this user is not a member of the tenant"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "member role", err));
	return (0);
}

static const char sql_owners[] =
    "SELECT count(*) FROM p_memberships "
    "WHERE tenant_id = current_tenant() AND role = 'owner'";

int
tenants_store_owner_count(struct lx_conn *c, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t v;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_owners, err)) == NULL
	    || lx_conn_step_int(c, st, "count owners", &v, err) == -1)
		return (-1);
	*n = (int)v;
	return (0);
}

static const char sql_member_add[] =
    "INSERT INTO p_memberships (id, tenant_id, user_id, role, created_at, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";

int
tenants_store_member_add(struct lx_conn *c, const char *tenant,
    const char *user_id, const char *role, struct lx_err *err)
{
	sqlite3_stmt *st;
	char id[AUTH_ID_SIZE];
	int rc;

	if ((st = lx_conn_stmt(c, sql_member_add, err)) == NULL)
		return (-1);
	auth_uuid(id);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, lx_now_ms());
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		if (sqlite3_extended_errcode(lx_conn_sqlite(c))
		    == SQLITE_CONSTRAINT_UNIQUE)
			lx_err_set(err, 409, "already_member",
			    "this user is already a member of the tenant");
		else
			lx_conn_error(c, rc, "add member", err);
	}
	finish(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

static const char sql_member_set[] =
    "UPDATE p_memberships SET role = ?2, updated_at = ?3 "
    "WHERE tenant_id = current_tenant() AND user_id = ?1";
static const char sql_member_del[] =
    "DELETE FROM p_memberships "
    "WHERE tenant_id = current_tenant() AND user_id = ?1";

/* Steps a one-row write; 404 if the policy let no row through. */
static int
one_row(
    struct lx_conn *c, sqlite3_stmt *st, const char *what, struct lx_err *err)
{
	return (lx_conn_step_one(c, st, what, "member_not_found",
	    "this user is not a member of the tenant", err));
}

int
tenants_store_member_set_role(struct lx_conn *c, const char *user_id,
    const char *role, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_member_set, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, lx_now_ms());
	return (one_row(c, st, "change member role", err));
}

int
tenants_store_member_remove(
    struct lx_conn *c, const char *user_id, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_member_del, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	return (one_row(c, st, "remove member", err));
}

static const char sql_member_count[] =
    "SELECT count(*) FROM p_memberships WHERE tenant_id = current_tenant()";

int
tenants_store_member_count(struct lx_conn *c, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t v;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_member_count, err)) == NULL
	    || lx_conn_step_int(c, st, "count members", &v, err) == -1)
		return (-1);
	*n = (int)v;
	return (0);
}

/* --- invitations --- */

#define INVITE_COLS \
	"i.id, i.tenant_id, i.email, i.role, coalesce(i.invited_by, ''), " \
	"i.created_at, i.expires_at, coalesce(i.accepted_at, 0), " \
	"coalesce(i.revoked_at, 0)"

static void
invite_row(sqlite3_stmt *st, struct invitation *iv)
{
	col_copy(st, 0, iv->id, sizeof(iv->id));
	col_copy(st, 1, iv->tenant_id, sizeof(iv->tenant_id));
	col_copy(st, 2, iv->email, sizeof(iv->email));
	col_copy(st, 3, iv->role, sizeof(iv->role));
	col_copy(st, 4, iv->invited_by, sizeof(iv->invited_by));
	iv->created_at = sqlite3_column_int64(st, 5);
	iv->expires_at = sqlite3_column_int64(st, 6);
	iv->accepted_at = sqlite3_column_int64(st, 7);
	iv->revoked_at = sqlite3_column_int64(st, 8);
}

static const char sql_invite_pending[] =
    "SELECT count(*) FROM p_invitations WHERE tenant_id = current_tenant() "
    "AND email = ?1 AND accepted_at IS NULL AND revoked_at IS NULL "
    "AND expires_at > ?2";
static const char sql_invite_insert[] =
    "INSERT INTO p_invitations (id, tenant_id, email, role, token_hash, "
    "invited_by, created_at, expires_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

int
tenants_store_invite_insert(struct lx_conn *c, const struct invitation *iv,
    const char *token_hash, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc, n = 0;

	if ((st = lx_conn_stmt(c, sql_invite_pending, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, iv->email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, iv->created_at);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	finish(st);
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "pending invitations", err));
	if (n > 0)
		return (lx_err_set(err, 409, "invitation_pending",
		    "this email already has a pending invitation"));
	if ((st = lx_conn_stmt(c, sql_invite_insert, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, iv->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, iv->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, iv->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, iv->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, token_hash, -1, SQLITE_STATIC);
	if (iv->invited_by[0] != '\0')
		sqlite3_bind_text(st, 6, iv->invited_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, iv->created_at);
	sqlite3_bind_int64(st, 8, iv->expires_at);
	return (lx_conn_step_done(c, st, "insert invitation", err));
}

static const char sql_invites[] =
    "SELECT " INVITE_COLS " FROM p_invitations i "
    "WHERE i.tenant_id = current_tenant() AND i.accepted_at IS NULL "
    "AND i.revoked_at IS NULL AND i.expires_at > ?3 AND i.id > ?1 "
    "ORDER BY i.id LIMIT ?2";

int
tenants_store_invites(struct lx_conn *c, const char *after, int limit,
    int64_t now, struct invitation *out, int *n, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_invites, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_bind_int64(st, 3, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < limit)
		invite_row(st, &out[(*n)++]);
	finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "list invitations", err));
	return (0);
}

static const char sql_invite_revoke[] =
    "UPDATE p_invitations SET revoked_at = ?2 "
    "WHERE tenant_id = current_tenant() AND id = ?1 "
    "AND accepted_at IS NULL AND revoked_at IS NULL";
static const char sql_invite_accepted[] =
    "UPDATE p_invitations SET accepted_at = ?2 "
    "WHERE tenant_id = current_tenant() AND id = ?1 "
    "AND accepted_at IS NULL AND revoked_at IS NULL";

/* Steps a one-invitation write; 404 if no pending row was changed. */
static int
invite_write(struct lx_conn *c, const char *sql, const char *id, int64_t now,
    const char *what, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return (lx_conn_step_one(
	    c, st, what, "invitation_not_found", "no such invitation", err));
}

int
tenants_store_invite_revoke(
    struct lx_conn *c, const char *id, int64_t now, struct lx_err *err)
{
	return (invite_write(
	    c, sql_invite_revoke, id, now, "revoke invitation", err));
}

int
tenants_store_invite_accepted(
    struct lx_conn *c, const char *id, int64_t now, struct lx_err *err)
{
	return (invite_write(
	    c, sql_invite_accepted, id, now, "accept invitation", err));
}

/* System code (base tables): used only between lx_conn_system_begin and
 * lx_conn_system_end. */
static const char sql_invite_by_hash[] =
    "SELECT " INVITE_COLS " FROM invitations i "
    "JOIN tenants t ON t.id = i.tenant_id "
    "WHERE i.token_hash = ?1 AND t.status = 'active'";

int
tenants_store_invite_by_hash(struct lx_conn *c, const char *token_hash,
    struct invitation *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_invite_by_hash, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		invite_row(st, out);
	finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(
		    err, 404, "invitation_not_found", "no such invitation"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "find invitation", err));
	return (0);
}

/* --- ownership --- */

static const char sql_owner_fix[] =
    "UPDATE p_tenants SET owner_id = (SELECT m.user_id FROM p_memberships m "
    "WHERE m.tenant_id = current_tenant() AND m.role = 'owner' "
    "ORDER BY m.created_at, m.user_id LIMIT 1), updated_at = ?1 "
    "WHERE id = current_tenant() AND owner_id NOT IN (SELECT user_id "
    "FROM p_memberships WHERE tenant_id = current_tenant() "
    "AND role = 'owner')";

int
tenants_store_owner_fix(struct lx_conn *c, int64_t now, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_owner_fix, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, now);
	return (lx_conn_step_done(c, st, "reassign primary owner", err));
}

/* --- the summary and the audit log --- */

static const char sql_summary[] =
    "SELECT members_count, service_keys_count, invitations_pending, "
    "last_activity_at FROM v_tenant_summary WHERE id = current_tenant()";

int
tenants_store_summary(
    struct lx_conn *c, struct tenant_summary *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_summary, err)) == NULL)
		return (-1);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->members = sqlite3_column_int64(st, 0);
		out->service_keys = sqlite3_column_int64(st, 1);
		out->invitations_pending = sqlite3_column_int64(st, 2);
		out->last_activity_at = sqlite3_column_int64(st, 3);
	}
	finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "not_found", "no such tenant"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "tenant summary", err));
	return (0);
}

/* Newest first; every filter is optional (NULL or 0 leaves it out). The
 * action filter is exact, or a prefix when the caller passes "member.%"
 * (LIKE, with the caller's wildcards escaped). */
static const char sql_audit[] =
    "SELECT id, created_at, actor, action, coalesce(target, ''), "
    "coalesce(request_id, ''), coalesce(address, ''), detail "
    "FROM v_audit_logs WHERE tenant_id = current_tenant() "
    "AND (?1 = 0 OR id < ?1) AND (?2 IS NULL OR actor = ?2) "
    "AND (?3 IS NULL OR action = ?3) "
    "AND (?4 IS NULL OR action LIKE ?4 ESCAPE '\\') "
    "AND (?5 = 0 OR created_at >= ?5) AND (?6 = 0 OR created_at < ?6) "
    "ORDER BY id DESC LIMIT ?7";

int
tenants_store_audit(struct lx_conn *c, const struct tenant_audit_query *q,
    struct tenant_audit *out, int *n, struct lx_err *err)
{
	struct tenant_audit *a;
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((st = lx_conn_stmt(c, sql_audit, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, q->before_id);
	if (q->actor != NULL)
		sqlite3_bind_text(st, 2, q->actor, -1, SQLITE_STATIC);
	if (q->action != NULL)
		sqlite3_bind_text(st, 3, q->action, -1, SQLITE_STATIC);
	if (q->action_like != NULL)
		sqlite3_bind_text(st, 4, q->action_like, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, q->since);
	sqlite3_bind_int64(st, 6, q->until);
	sqlite3_bind_int(st, 7, q->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < q->limit) {
		a = &out[(*n)++];
		a->id = sqlite3_column_int64(st, 0);
		a->created_at = sqlite3_column_int64(st, 1);
		col_copy(st, 2, a->actor, sizeof(a->actor));
		col_copy(st, 3, a->action, sizeof(a->action));
		col_copy(st, 4, a->target, sizeof(a->target));
		col_copy(st, 5, a->request_id, sizeof(a->request_id));
		col_copy(st, 6, a->address, sizeof(a->address));
		a->detail = lx_strdup(sqlite3_column_text(st, 7) != NULL
		        ? (const char *)sqlite3_column_text(st, 7)
		        : "{}");
	}
	finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "read audit log", err));
	return (0);
}

void
tenants_audit_free(struct tenant_audit *rows, int n)
{
	int i;

	for (i = 0; rows != NULL && i < n; i++)
		lx_free(rows[i].detail);
	lx_free(rows);
}

/* --- deleted tenants: restore (a platform admin) and purge (the job) --- */

static const char sql_restore[] =
    "UPDATE p_tenants SET status = 'active', deleted_at = NULL, "
    "purge_at = NULL, updated_at = ?2 WHERE id = ?1 AND status = 'deleted'";

int
tenants_store_restore(
    struct lx_conn *c, const char *id, int64_t now, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_restore, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return (lx_conn_step_one(c, st, "restore tenant", "not_found",
	    "no deleted tenant with this id (restored, purged or never "
	    "deleted)",
	    err));
}

/* System code (no context): the foreign keys cascade to memberships,
 * invitations and service keys; audit records stay. */
static const char sql_purge[] =
    "DELETE FROM tenants WHERE id = ?1 AND status = 'deleted' "
    "AND purge_at <= ?2";

int
tenants_store_purge(struct lx_conn *c, const char *id, int64_t now, int *purged,
    struct lx_err *err)
{
	sqlite3_stmt *st;

	*purged = 0;
	if ((st = lx_conn_stmt(c, sql_purge, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (lx_conn_step_done(c, st, "purge tenant", err) == -1)
		return (-1);
	*purged = sqlite3_changes(lx_conn_sqlite(c)) > 0;
	return (0);
}

/* plans is an instance table (migration 004), readable under any
 * context; with no default plan row the tenant is on "free". */
static const char sql_default_plan[] =
    "SELECT code FROM plans WHERE is_default = 1";

int
tenants_store_default_plan(
    struct lx_conn *c, char *out, size_t len, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	snprintf(out, len, "free");
	if ((st = lx_conn_stmt(c, sql_default_plan, err)) == NULL)
		return (-1);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		col_copy(st, 0, out, len);
	finish(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "default plan", err));
	return (0);
}
