/*
 * Tenant isolation: the row-level security model of the original design
 * (auth_rls.sql, tenant_rls.sql, audit_rls.sql), enforced inside SQLite and
 * mirrored to PostgreSQL from one declaration.
 *
 * The declarations are the C table `policies` below, not rows in the
 * database: they generate two things, the per-connection SQLite policy views
 * and the PostgreSQL DDL (`luxima migrate export-postgres`), so they must be
 * readable without a database, and keeping them out of the file means a
 * tightened policy takes effect with the binary, with no migration to
 * forget. The tables themselves stay in migrations/003_tenant_management.sql.
 *
 * A predicate is an SQL expression valid in both dialects over the context
 * functions current_user_id(), current_tenant(), current_tenant_role(),
 * has_permission(name) and is_platform_admin(); "$.col" names a column of
 * the row (rendered bare in views and PostgreSQL policies, as NEW.col or
 * OLD.col in the INSTEAD OF triggers).
 *
 * SQLite: every connection registers the context functions (user data: the
 * connection; they read its own state, so no lock and no global). Binding a
 * request context creates, once per connection, TEMP views: an inner view
 * per table named with a random per-connection prefix ("lxp_<hex>_") that
 * reads the table under its SELECT policy, the public view p_<table> (or
 * v_audit_logs) over it with INSTEAD OF triggers (same prefix) that RAISE
 * on a policy violation, and v_tenant_summary. It then installs an
 * authorizer that denies any access to a tenant table unless the innermost
 * view or trigger behind it (the authorizer's fourth argument) carries the
 * prefix, so no CTE or alias in request SQL can pass for one; it also
 * denies schema changes, ATTACH, PRAGMA assignments and reading the temp
 * schema (which would name the prefix). System code (no context) has no
 * authorizer and sees the tables as they are.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "db_int.h"

/* A column of a tenant table: its name and its PostgreSQL declaration. */
struct pol_col {
	const char *name;
	const char *pg; /* type and constraints in the PostgreSQL mirror */
};

/* One table's policies. NULL write predicates: no such writes at all. */
struct pol_table {
	const char *table; /* the base table (migration 003 or 001) */
	const char *view; /* its policy view */
	const char *key; /* primary key column, or columns "a,b" */
	const struct pol_col *cols; /* every column, NULL-terminated */
	const char *pg_extra; /* table constraints in PostgreSQL, or NULL */
	const char *sel; /* SELECT USING */
	const char *ins; /* INSERT WITH CHECK */
	const char *upd; /* UPDATE USING and WITH CHECK */
	const char *del; /* DELETE USING */
};

static const struct pol_col tenant_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "slug", "text NOT NULL UNIQUE" },
	{ "name", "text NOT NULL" },
	{ "owner_id", "text NOT NULL" },
	{ "plan", "text NOT NULL DEFAULT 'free'" },
	{ "status",
	    "text NOT NULL DEFAULT 'active' CHECK (status IN ('active', "
	    "'suspended', 'deleted'))" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ "deleted_at", "bigint" },
	{ "purge_at", "bigint" },
	{ NULL, NULL },
};

static const struct pol_col membership_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id",
	    "text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE" },
	{ "user_id", "text NOT NULL" },
	{ "role",
	    "text NOT NULL CHECK (role IN ('owner', 'admin', 'billing', "
	    "'member', 'viewer'))" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col invitation_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id",
	    "text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE" },
	{ "email", "text NOT NULL" },
	{ "role",
	    "text NOT NULL CHECK (role IN ('admin', 'billing', 'member', "
	    "'viewer'))" },
	{ "token_hash", "text NOT NULL UNIQUE" },
	{ "invited_by", "text" },
	{ "created_at", "bigint NOT NULL" },
	{ "expires_at", "bigint NOT NULL" },
	{ "accepted_at", "bigint" },
	{ "revoked_at", "bigint" },
	{ NULL, NULL },
};

static const struct pol_col service_key_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id",
	    "text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE" },
	{ "name", "text NOT NULL" },
	{ "prefix", "text NOT NULL UNIQUE" },
	{ "secret_hash", "text NOT NULL" },
	{ "permissions", "text NOT NULL DEFAULT '[]'" },
	{ "created_by", "text" },
	{ "created_at", "bigint NOT NULL" },
	{ "last_used_at", "bigint" },
	{ "expires_at", "bigint" },
	{ "revoked_at", "bigint" },
	{ NULL, NULL },
};

static const struct pol_col audit_cols[] = {
	{ "id", "bigint PRIMARY KEY" },
	{ "created_at", "bigint NOT NULL" },
	{ "actor", "text NOT NULL" },
	{ "tenant_id", "text" },
	{ "action", "text NOT NULL" },
	{ "target", "text" },
	{ "request_id", "text" },
	{ "address", "text" },
	{ "detail", "text NOT NULL DEFAULT '{}'" },
	{ "prev_hash", "text NOT NULL" },
	{ "hash", "text NOT NULL" },
	{ NULL, NULL },
};

#define TENANT_FK "text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE"

static const struct pol_col subscription_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "plan_id", "text NOT NULL" },
	{ "period_plan_id", "text NOT NULL" },
	{ "status",
	    "text NOT NULL CHECK (status IN ('trialing', 'active', "
	    "'past_due', 'canceled'))" },
	{ "current_period_start", "bigint NOT NULL" },
	{ "current_period_end", "bigint NOT NULL" },
	{ "trial_end", "bigint" },
	{ "cancel_at_period_end", "integer NOT NULL DEFAULT 0" },
	{ "canceled_at", "bigint" },
	{ "provider", "text" },
	{ "provider_ref", "text" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col invoice_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "subscription_id",
	    "text REFERENCES subscriptions (id) ON DELETE SET NULL" },
	{ "number", "text UNIQUE" },
	{ "status",
	    "text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', "
	    "'paid', 'void', 'uncollectible'))" },
	{ "billing_reason", "text NOT NULL DEFAULT 'manual'" },
	{ "currency", "text NOT NULL" },
	{ "subtotal", "bigint NOT NULL DEFAULT 0" },
	{ "total", "bigint NOT NULL DEFAULT 0" },
	{ "amount_paid", "bigint NOT NULL DEFAULT 0" },
	{ "period_start", "bigint NOT NULL" },
	{ "period_end", "bigint NOT NULL" },
	{ "renewal_key", "text UNIQUE" },
	{ "due_at", "bigint" },
	{ "finalized_at", "bigint" },
	{ "paid_at", "bigint" },
	{ "voided_at", "bigint" },
	{ "provider", "text" },
	{ "provider_ref", "text" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col invoice_line_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "invoice_id",
	    "text NOT NULL REFERENCES invoices (id) ON DELETE CASCADE" },
	{ "tenant_id", TENANT_FK },
	{ "position", "integer NOT NULL" },
	{ "kind", "text NOT NULL" },
	{ "description", "text NOT NULL" },
	{ "metric", "text" },
	{ "quantity", "bigint NOT NULL DEFAULT 1" },
	{ "unit_amount", "bigint NOT NULL DEFAULT 0" },
	{ "amount", "bigint NOT NULL" },
	{ "period_start", "bigint" },
	{ "period_end", "bigint" },
	{ NULL, NULL },
};

static const struct pol_col invoice_item_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "subscription_id",
	    "text NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE" },
	{ "kind", "text NOT NULL" },
	{ "description", "text NOT NULL" },
	{ "amount", "bigint NOT NULL" },
	{ "currency", "text NOT NULL" },
	{ "period_start", "bigint" },
	{ "period_end", "bigint" },
	{ "invoice_id", "text REFERENCES invoices (id) ON DELETE SET NULL" },
	{ "created_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col payment_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "invoice_id",
	    "text NOT NULL REFERENCES invoices (id) ON DELETE CASCADE" },
	{ "amount", "bigint NOT NULL CHECK (amount >= 0)" },
	{ "currency", "text NOT NULL" },
	{ "method", "text NOT NULL" },
	{ "provider_ref", "text" },
	{ "created_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col usage_cols[] = {
	{ "tenant_id", TENANT_FK },
	{ "metric", "text NOT NULL" },
	{ "period", "text NOT NULL" },
	{ "value", "bigint NOT NULL DEFAULT 0" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col endpoint_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "url", "text NOT NULL" },
	{ "description", "text NOT NULL DEFAULT ''" },
	{ "event_types", "text NOT NULL DEFAULT '[\"*\"]'" },
	{ "secret", "text NOT NULL" },
	{ "status", "text NOT NULL DEFAULT 'enabled'" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col message_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "event_type", "text NOT NULL" },
	{ "payload", "text NOT NULL" },
	{ "created_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col delivery_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "endpoint_id",
	    "text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE "
	    "CASCADE" },
	{ "message_id",
	    "text NOT NULL REFERENCES webhook_messages (id) ON DELETE "
	    "CASCADE" },
	{ "status", "text NOT NULL DEFAULT 'pending'" },
	{ "attempts", "integer NOT NULL DEFAULT 0" },
	{ "last_status", "integer" },
	{ "last_error", "text" },
	{ "next_attempt_at", "bigint" },
	{ "delivered_at", "bigint" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col attempt_cols[] = {
	{ "id", "bigint PRIMARY KEY" },
	{ "delivery_id",
	    "text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE "
	    "CASCADE" },
	{ "tenant_id", TENANT_FK },
	{ "attempted_at", "bigint NOT NULL" },
	{ "status", "integer" },
	{ "duration_ms", "integer NOT NULL" },
	{ "error", "text" },
	{ NULL, NULL },
};

static const struct pol_col function_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "name", "text NOT NULL" },
	{ "public", "integer NOT NULL DEFAULT 0" },
	{ "active_version", "text NOT NULL" },
	{ "created_by", "text" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col function_version_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "function_id",
	    "text NOT NULL REFERENCES functions (id) ON DELETE CASCADE" },
	{ "version", "text NOT NULL" },
	{ "source", "text NOT NULL" },
	{ "sha256", "text NOT NULL" },
	{ "size", "bigint NOT NULL" },
	{ "created_by", "text" },
	{ "created_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col invocation_cols[] = {
	{ "id", "bigint PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "function_id",
	    "text NOT NULL REFERENCES functions (id) ON DELETE CASCADE" },
	{ "version", "text NOT NULL" },
	{ "started_at", "bigint NOT NULL" },
	{ "duration_us", "bigint NOT NULL" },
	{ "status", "integer NOT NULL" },
	{ "memory", "bigint NOT NULL" },
	{ "error", "text" },
	{ "log", "text NOT NULL DEFAULT ''" },
	{ "request_id", "text" },
	{ "actor", "text" },
	{ NULL, NULL },
};

static const struct pol_col secret_cols[] = {
	{ "tenant_id", TENANT_FK },
	{ "name", "text NOT NULL" },
	{ "value", "text NOT NULL" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col document_cols[] = {
	{ "tenant_id", TENANT_FK },
	{ "namespace", "text NOT NULL" },
	{ "collection", "text NOT NULL" },
	{ "key", "text NOT NULL" },
	{ "value", "text NOT NULL" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

static const struct pol_col installation_cols[] = {
	{ "id", "text PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "plugin_id", "text NOT NULL" },
	{ "version_id", "text NOT NULL" },
	{ "version", "text NOT NULL" },
	{ "status", "text NOT NULL DEFAULT 'enabled'" },
	{ "config", "text NOT NULL DEFAULT '{}'" },
	{ "installed_by", "text" },
	{ "created_at", "bigint NOT NULL" },
	{ "updated_at", "bigint NOT NULL" },
	{ NULL, NULL },
};

/* A plugin run's record: written by the log writer (system code). The
 * plugins table is instance-wide, not mirrored: plugin_id is plain text. */
static const struct pol_col plugin_invocation_cols[] = {
	{ "id", "bigint PRIMARY KEY" },
	{ "tenant_id", TENANT_FK },
	{ "plugin_id", "text NOT NULL" },
	{ "version", "text NOT NULL" },
	{ "kind", "text NOT NULL CHECK (kind IN ('route', 'hook', 'job'))" },
	{ "target", "text NOT NULL" },
	{ "started_at", "bigint NOT NULL" },
	{ "duration_us", "bigint NOT NULL" },
	{ "status", "integer NOT NULL" },
	{ "memory", "bigint NOT NULL" },
	{ "error", "text" },
	{ "log", "text NOT NULL DEFAULT ''" },
	{ "request_id", "text" },
	{ "actor", "text" },
	{ NULL, NULL },
};

/* In the caller's tenant with permission p (a string literal). */
#define IN_TENANT(col, p) \
	"($." col " = current_tenant() AND has_permission('" p "'))"

/* Billing tables: billing.read sees a tenant's rows, billing.write
 * changes them; counters, webhook messages, deliveries and attempts are
 * written by system code only (the meter, the emitter, the delivery job). */
#define BILLING_READ \
	"is_platform_admin() OR " IN_TENANT("tenant_id", "billing.read")
#define BILLING_WRITE \
	"is_platform_admin() OR " IN_TENANT("tenant_id", "billing.write")

/* Edge functions: functions.read sees a tenant's functions, versions and
 * invocation log, functions.write deploys, rolls back and sets secrets.
 * Invocations are written by the log writer (system code). Secrets and
 * documents are read (and documents written) by the scripts of whoever
 * acts in the tenant, invoking a function or a plugin route, anonymous
 * callers of a public function included: the tenant is the boundary. */
#define FN_READ \
	"is_platform_admin() OR " IN_TENANT("tenant_id", "functions.read")
#define FN_WRITE \
	"is_platform_admin() OR " IN_TENANT("tenant_id", "functions.write")
#define IN_CURRENT "$.tenant_id = current_tenant()"
#define PLUGINS_READ \
	"is_platform_admin() OR " IN_TENANT("tenant_id", "plugins.read")
#define PLUGINS_WRITE \
	"is_platform_admin() OR " IN_TENANT("tenant_id", "plugins.write")

/*
 * The policies. Tenants: a member with tenants.read sees the tenant acted
 * in, and a user sees the tenants they belong to (GET /tenants); a user
 * may create a tenant they own; tenants.write changes it, status 'deleted'
 * included. Rows are never deleted through a view: the
 * foreign-key cascade to memberships, invitations and service keys runs
 * outside any policy object (the authorizer would refuse it), so purging a
 * tenant is system code. Memberships: members.read/.write in the tenant, and
 * a user sees and may leave (delete) their own membership. Invitations and
 * service keys: their own permission pairs. Audit records: audit.read in
 * the tenant, never written through a view (the audit chain appends as
 * system code). A platform admin passes every policy.
 */
static const struct pol_table policies[] = {
	{ "tenants", "p_tenants", "id", tenant_cols,
	    "CHECK ((status = 'deleted') = (deleted_at IS NOT NULL AND "
	    "purge_at IS NOT NULL))",
	    "is_platform_admin() OR " IN_TENANT("id",
	        "tenants.read") " OR "
	                        "$.id IN (SELECT tenant_id FROM memberships "
	                        "WHERE user_id = current_user_id())",
	    "is_platform_admin() OR $.owner_id = current_user_id()",
	    "is_platform_admin() OR " IN_TENANT("id", "tenants.write"), NULL },
	{ "memberships", "p_memberships", "id", membership_cols,
	    "UNIQUE (tenant_id, user_id)",
	    "is_platform_admin() OR " IN_TENANT("tenant_id",
	        "members.read") " OR $.user_id = current_user_id()",
	    "is_platform_admin() OR " IN_TENANT("tenant_id", "members.write"),
	    "is_platform_admin() OR " IN_TENANT("tenant_id", "members.write"),
	    "is_platform_admin() OR " IN_TENANT("tenant_id",
	        "members.write") " OR $.user_id = current_user_id()" },
	{ "invitations", "p_invitations", "id", invitation_cols, NULL,
	    "is_platform_admin() OR " IN_TENANT("tenant_id", "members.read"),
	    "is_platform_admin() OR " IN_TENANT("tenant_id", "members.write"),
	    "is_platform_admin() OR " IN_TENANT("tenant_id", "members.write"),
	    "is_platform_admin() OR " IN_TENANT("tenant_id", "members.write") },
	{ "service_keys", "p_service_keys", "id", service_key_cols, NULL,
	    "is_platform_admin() OR " IN_TENANT(
	        "tenant_id", "service_keys.read"),
	    "is_platform_admin() OR " IN_TENANT(
	        "tenant_id", "service_keys.write"),
	    "is_platform_admin() OR " IN_TENANT(
	        "tenant_id", "service_keys.write"),
	    "is_platform_admin() OR " IN_TENANT(
	        "tenant_id", "service_keys.write") },
	{ "audit_logs", "v_audit_logs", "id", audit_cols, NULL,
	    "is_platform_admin() OR " IN_TENANT("tenant_id", "audit.read"),
	    NULL, NULL, NULL },
	{ "subscriptions", "p_subscriptions", "id", subscription_cols, NULL,
	    BILLING_READ, BILLING_WRITE, BILLING_WRITE, NULL },
	{ "invoices", "p_invoices", "id", invoice_cols, NULL, BILLING_READ,
	    BILLING_WRITE, BILLING_WRITE, BILLING_WRITE },
	{ "invoice_lines", "p_invoice_lines", "id", invoice_line_cols,
	    "UNIQUE (invoice_id, position)", BILLING_READ, BILLING_WRITE, NULL,
	    BILLING_WRITE },
	{ "invoice_items", "p_invoice_items", "id", invoice_item_cols, NULL,
	    BILLING_READ, BILLING_WRITE, BILLING_WRITE, NULL },
	{ "payments", "p_payments", "id", payment_cols, NULL, BILLING_READ,
	    BILLING_WRITE, NULL, NULL },
	{ "usage_counters", "p_usage_counters", "tenant_id", usage_cols,
	    "PRIMARY KEY (tenant_id, metric, period)", BILLING_READ, NULL, NULL,
	    NULL },
	{ "webhook_endpoints", "p_webhook_endpoints", "id", endpoint_cols, NULL,
	    BILLING_READ, BILLING_WRITE, BILLING_WRITE, BILLING_WRITE },
	{ "webhook_messages", "p_webhook_messages", "id", message_cols, NULL,
	    BILLING_READ, NULL, NULL, NULL },
	{ "webhook_deliveries", "p_webhook_deliveries", "id", delivery_cols,
	    "UNIQUE (endpoint_id, message_id)", BILLING_READ, NULL, NULL,
	    NULL },
	{ "webhook_attempts", "p_webhook_attempts", "id", attempt_cols, NULL,
	    BILLING_READ, NULL, NULL, NULL },
	{ "plugin_installations", "p_plugin_installations", "id",
	    installation_cols, "UNIQUE (tenant_id, plugin_id)", PLUGINS_READ,
	    PLUGINS_WRITE, PLUGINS_WRITE, PLUGINS_WRITE },
	{ "plugin_invocations", "p_plugin_invocations", "id",
	    plugin_invocation_cols, NULL, PLUGINS_READ, NULL, NULL, NULL },
	{ "functions", "p_functions", "id", function_cols,
	    "UNIQUE (tenant_id, name)", FN_READ, FN_WRITE, FN_WRITE, FN_WRITE },
	{ "function_versions", "p_function_versions", "id",
	    function_version_cols, "UNIQUE (function_id, version)", FN_READ,
	    FN_WRITE, NULL, FN_WRITE },
	{ "function_invocations", "p_function_invocations", "id",
	    invocation_cols, NULL, FN_READ, NULL, NULL, NULL },
	{ "function_secrets", "p_function_secrets", "tenant_id,name",
	    secret_cols, "PRIMARY KEY (tenant_id, name)", IN_CURRENT, FN_WRITE,
	    FN_WRITE, FN_WRITE },
	{ "function_documents", "p_function_documents",
	    "tenant_id,namespace,collection,key", document_cols,
	    "PRIMARY KEY (tenant_id, namespace, collection, key)", IN_CURRENT,
	    IN_CURRENT, IN_CURRENT, IN_CURRENT },
};
#define NPOLICIES (sizeof(policies) / sizeof(policies[0]))

/*
 * The tenant summary over the visible tenants (%s: the tenants relation):
 * what a tenant holds against its plan's limits (members, live service
 * keys, pending invitations; metered usage joins with billing) and its last
 * activity, the latest audit record of the tenant or its last change.
 * now_ms() is the clock in both dialects.
 */
static const char summary_sql[] =
    "SELECT t.id AS id, t.slug AS slug, t.name AS name, t.plan AS plan, "
    "t.status AS status, "
    "(SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id) "
    "AS members_count, "
    "(SELECT count(*) FROM service_keys k WHERE k.tenant_id = t.id "
    "AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR "
    "k.expires_at > now_ms())) AS service_keys_count, "
    "(SELECT count(*) FROM invitations i WHERE i.tenant_id = t.id "
    "AND i.accepted_at IS NULL AND i.revoked_at IS NULL "
    "AND i.expires_at > now_ms()) AS invitations_pending, "
    "CASE WHEN a.last > t.updated_at THEN a.last ELSE t.updated_at END "
    "AS last_activity_at "
    "FROM %s t LEFT JOIN (SELECT tenant_id, max(created_at) AS last "
    "FROM audit_logs GROUP BY tenant_id) a ON a.tenant_id = t.id";
#define SUMMARY_VIEW "v_tenant_summary"

/* A connection's request context (owned by the connection). */
struct lx_policy_state {
	char *user_id; /* NULL: none */
	char *tenant_id;
	char *role;
	char **perms; /* permission names */
	int nperms;
	int admin; /* platform admin */
	int active; /* 1: a context is bound */
	int guard; /* 1: between set and clear (also when setting failed):
		    * the authorizer guards the tenant tables */
	int auth_on; /* 1: the authorizer is installed (for good: removing
		      * it would expire every cached statement) */
	int system; /* depth of lx_conn_system_begin/_end */
	int64_t changes; /* rows written through the policy views */
	char prefix[24]; /* "lxp_<16 random hex>_": inner view names */
	char cache_role[32]; /* the role whose permissions are cached */
	char **cache_perms; /* its permission names */
	int ncache;
	int64_t cache_at; /* lx_mono_ns() when read; 0: nothing cached */
};

static void
state_reset(struct lx_policy_state *p)
{
	int i;

	lx_free(p->user_id);
	lx_free(p->tenant_id);
	lx_free(p->role);
	for (i = 0; i < p->nperms; i++)
		lx_free(p->perms[i]);
	lx_free(p->perms);
	p->user_id = p->tenant_id = p->role = NULL;
	p->perms = NULL;
	p->nperms = 0;
	p->admin = 0;
	p->active = 0;
	p->changes = 0;
}

static void
cache_reset(struct lx_policy_state *p)
{
	int i;

	for (i = 0; i < p->ncache; i++)
		lx_free(p->cache_perms[i]);
	lx_free(p->cache_perms);
	p->cache_perms = NULL;
	p->ncache = 0;
	p->cache_at = 0;
}

void
lx_policy_state_free(struct lx_policy_state *p)
{
	if (p == NULL)
		return;
	state_reset(p);
	cache_reset(p);
	lx_free(p);
}

/* The bound context of the connection a function runs on, or NULL. */
static const struct lx_policy_state *
fn_state(sqlite3_context *cx)
{
	struct lx_conn *c = sqlite3_user_data(cx);

	return (c->pol != NULL && c->pol->active ? c->pol : NULL);
}

static void
result_str(sqlite3_context *cx, const char *s)
{
	if (s == NULL)
		sqlite3_result_null(cx);
	else
		sqlite3_result_text(cx, s, -1, SQLITE_TRANSIENT);
}

static void
fn_user(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const struct lx_policy_state *p = fn_state(cx);

	(void)argc;
	(void)argv;
	result_str(cx, p != NULL ? p->user_id : NULL);
}

static void
fn_tenant(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const struct lx_policy_state *p = fn_state(cx);

	(void)argc;
	(void)argv;
	result_str(cx, p != NULL ? p->tenant_id : NULL);
}

static void
fn_role(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const struct lx_policy_state *p = fn_state(cx);

	(void)argc;
	(void)argv;
	result_str(cx, p != NULL ? p->role : NULL);
}

static void
fn_admin(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const struct lx_policy_state *p = fn_state(cx);

	(void)argc;
	(void)argv;
	sqlite3_result_int(cx, p != NULL && p->admin);
}

static void
fn_perm(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const struct lx_policy_state *p = fn_state(cx);
	const char *want = (const char *)sqlite3_value_text(argv[0]);
	int i, yes = 0;

	(void)argc;
	if (p != NULL && p->admin)
		yes = 1;
	for (i = 0; p != NULL && want != NULL && !yes && i < p->nperms; i++)
		yes = strcmp(p->perms[i], want) == 0;
	sqlite3_result_int(cx, yes);
}

static void
fn_now(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int64(cx, lx_now_ms());
}

/* Called by the INSTEAD OF triggers once per row written. */
static void
fn_row(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	struct lx_conn *c = sqlite3_user_data(cx);

	(void)argc;
	(void)argv;
	if (c->pol != NULL)
		c->pol->changes++;
	sqlite3_result_null(cx);
}

int
lx_policy_conn_init(struct lx_conn *c)
{
	static const struct {
		const char *name;
		int nargs;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
		{ "current_user_id", 0, fn_user },
		{ "current_tenant", 0, fn_tenant },
		{ "current_tenant_role", 0, fn_role },
		{ "is_platform_admin", 0, fn_admin },
		{ "has_permission", 1, fn_perm },
		{ "lx_policy_row", 0, fn_row },
		{ "now_ms", 0, fn_now },
	};
	size_t i;
	int rc = SQLITE_OK;

	/* Not deterministic: the answer changes with the bound context. */
	for (i = 0; rc == SQLITE_OK && i < sizeof(fns) / sizeof(fns[0]); i++)
		rc = sqlite3_create_function_v2(c->h, fns[i].name, fns[i].nargs,
		    SQLITE_UTF8, c, fns[i].fn, NULL, NULL, NULL);
	return (rc);
}

/* Appends pred with "$." replaced by prefix ("", "NEW.", "OLD."). */
static void
add_pred(struct lx_buf *b, const char *pred, const char *prefix)
{
	const char *s;

	while ((s = strstr(pred, "$.")) != NULL) {
		lx_buf_add(b, pred, (size_t)(s - pred));
		lx_buf_adds(b, prefix);
		pred = s + 2;
	}
	lx_buf_adds(b, pred);
}

/* Appends the column list, each name prefixed with prefix. */
static void
add_cols(struct lx_buf *b, const struct pol_table *t, const char *prefix)
{
	const struct pol_col *col;

	for (col = t->cols; col->name != NULL; col++)
		lx_buf_addf(
		    b, "%s%s%s", col == t->cols ? "" : ", ", prefix, col->name);
}

/* " WHERE key = OLD.key" for the table's key; a composite key "a,b" as
 * the row value "(a, b) = (OLD.a, OLD.b)". */
static void
add_key_match(struct lx_buf *b, const struct pol_table *t)
{
	const char *p, *e;
	int pass;

	if (strchr(t->key, ',') == NULL) {
		lx_buf_addf(b, " WHERE %s = OLD.%s", t->key, t->key);
		return;
	}
	lx_buf_adds(b, " WHERE (");
	for (pass = 0; pass < 2; pass++) {
		for (p = t->key; *p != '\0'; p = *e == ',' ? e + 1 : e) {
			e = p + strcspn(p, ",");
			lx_buf_addf(b, "%s%s%.*s", p == t->key ? "" : ", ",
			    pass ? "OLD." : "", (int)(e - p), p);
		}
		lx_buf_adds(b, pass ? ")" : ") = (");
	}
}

/* "SELECT RAISE(ABORT, ...) WHERE NOT (pred);" for a trigger body. */
static void
add_raise(struct lx_buf *b, const struct pol_table *t, const char *what,
    const char *pred, const char *prefix)
{
	lx_buf_addf(b,
	    " SELECT RAISE(ABORT, 'policy violation: %s on %s') "
	    "WHERE NOT coalesce((",
	    what, t->table);
	add_pred(b, pred, prefix);
	lx_buf_adds(b, "), 0);");
}

/*
 * The SQLite DDL of one table's TEMP views and INSTEAD OF triggers: the
 * inner view <prefix><table> reads the table under the SELECT policy, the
 * public view over it is what request code names; the triggers, on the
 * public view, are named <prefix><table>_ins/_upd/_del. Only objects whose
 * name starts with the connection's random prefix may touch the tables, so
 * no CTE or alias written in request SQL can pass for one.
 */
static void
sqlite_view(struct lx_buf *b, const struct pol_table *t, const char *pfx)
{
	const struct pol_col *col;

	lx_buf_addf(b, "CREATE TEMP VIEW %s%s AS SELECT ", pfx, t->table);
	add_cols(b, t, "");
	lx_buf_addf(b, " FROM main.%s WHERE coalesce((", t->table);
	add_pred(b, t->sel, "");
	lx_buf_adds(b, "), 0);\n");
	lx_buf_addf(b, "CREATE TEMP VIEW %s AS SELECT ", t->view);
	add_cols(b, t, "");
	lx_buf_addf(b, " FROM %s%s;\n", pfx, t->table);
	if (t->ins != NULL) {
		lx_buf_addf(b,
		    "CREATE TEMP TRIGGER %s%s_ins INSTEAD OF INSERT ON %s "
		    "BEGIN",
		    pfx, t->table, t->view);
		add_raise(b, t, "insert", t->ins, "NEW.");
		lx_buf_addf(b, " INSERT INTO %s (", t->table);
		add_cols(b, t, "");
		lx_buf_adds(b, ") VALUES (");
		add_cols(b, t, "NEW.");
		lx_buf_adds(b, "); SELECT lx_policy_row(); END;\n");
	}
	if (t->upd != NULL) {
		lx_buf_addf(b,
		    "CREATE TEMP TRIGGER %s%s_upd INSTEAD OF UPDATE ON %s "
		    "BEGIN",
		    pfx, t->table, t->view);
		add_raise(b, t, "update", t->upd, "OLD.");
		add_raise(b, t, "update", t->upd, "NEW.");
		lx_buf_addf(b, " UPDATE %s SET ", t->table);
		for (col = t->cols; col->name != NULL; col++)
			lx_buf_addf(b, "%s%s = NEW.%s",
			    col == t->cols ? "" : ", ", col->name, col->name);
		add_key_match(b, t);
		lx_buf_adds(b, "; SELECT lx_policy_row(); END;\n");
	}
	if (t->del != NULL) {
		lx_buf_addf(b,
		    "CREATE TEMP TRIGGER %s%s_del INSTEAD OF DELETE ON %s "
		    "BEGIN",
		    pfx, t->table, t->view);
		add_raise(b, t, "delete", t->del, "OLD.");
		lx_buf_addf(b, " DELETE FROM %s", t->table);
		add_key_match(b, t);
		lx_buf_adds(b, "; SELECT lx_policy_row(); END;\n");
	}
}

static const char sql_views_made[] =
    "SELECT count(*) FROM sqlite_temp_master WHERE type = 'view' AND "
    "name = '" SUMMARY_VIEW "'";

/* Creates c's TEMP policy views unless they exist. */
static int
views_make(struct lx_conn *c, struct lx_err *err)
{
	struct lx_buf b;
	sqlite3_stmt *st;
	size_t i;
	int rc, ret = -1;

	lx_buf_init(&b);
	if ((st = lx_conn_stmt(c, sql_views_made, err)) == NULL)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int(st, 0) > 0) {
		sqlite3_reset(st);
		ret = 0;
		goto out;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		lx_conn_error(c, rc, "policy views", err);
		goto out;
	}
	/* All or nothing, inside the caller's transaction if one is open. */
	lx_buf_adds(&b, "SAVEPOINT lx_policy_views;\n");
	for (i = 0; i < NPOLICIES; i++)
		sqlite_view(&b, &policies[i], c->pol->prefix);
	lx_buf_addf(&b, "CREATE TEMP VIEW %ssummary AS ", c->pol->prefix);
	lx_buf_addf(&b, summary_sql, "p_tenants");
	lx_buf_addf(&b,
	    ";\nCREATE TEMP VIEW " SUMMARY_VIEW " AS SELECT * FROM %ssummary;\n"
	    "RELEASE lx_policy_views;\n",
	    c->pol->prefix);
	if ((rc = sqlite3_exec(c->h, b.data, NULL, NULL, NULL)) != SQLITE_OK) {
		lx_conn_error(c, rc, "policy views", err);
		(void)sqlite3_exec(c->h,
		    "ROLLBACK TO lx_policy_views; RELEASE lx_policy_views",
		    NULL, NULL, NULL);
		goto out;
	}
	ret = 0;
out:
	lx_buf_cleanup(&b);
	return (ret);
}

/* 1 if name is a table under policy. */
static int
is_policy_table(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NPOLICIES; i++)
		if (strcmp(policies[i].table, name) == 0)
			return (1);
	return (0);
}

/* 1 if name is one of c's inner policy views or triggers. */
static int
is_policy_object(const struct lx_conn *c, const char *name)
{
	const char *pfx = c->pol->prefix;

	return (name != NULL && strncmp(name, pfx, strlen(pfx)) == 0);
}

/*
 * The authorizer of a connection with a request context: tenant tables only
 * through the policy objects, no schema changes, no ATTACH, no PRAGMA
 * assignment. Runs at prepare time.
 */
static int
authorize(void *arg, int action, const char *a1, const char *a2, const char *db,
    const char *via)
{
	const struct lx_conn *c = arg;

	/* System code, between requests or (the audit writer) inside one:
	 * its statements are cached apart from request code's
	 * (lx_policy_guarded), so they are never used under a context. */
	if (!lx_policy_guarded(c))
		return (SQLITE_OK);
	switch (action) {
	case SQLITE_READ:
		/* The temp schema would name the inner views. */
		if (db != NULL && strcmp(db, "temp") == 0 && a1 != NULL
		    && strncmp(a1, "sqlite_", 7) == 0)
			return (SQLITE_DENY);
		/* FALLTHROUGH */
	case SQLITE_UPDATE:
	case SQLITE_INSERT:
	case SQLITE_DELETE:
		if (is_policy_table(a1) && !is_policy_object(c, via))
			return (SQLITE_DENY);
		return (SQLITE_OK);
	case SQLITE_PRAGMA:
		return (a2 == NULL ? SQLITE_OK : SQLITE_DENY);
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
	case SQLITE_ALTER_TABLE:
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TABLE:
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_VIEW:
	case SQLITE_CREATE_VTABLE:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_VIEW:
	case SQLITE_DROP_VTABLE:
		return (SQLITE_DENY);
	default:
		return (SQLITE_OK);
	}
}

static const char sql_role_perms[] =
    "SELECT p.name FROM role_permissions rp "
    "JOIN roles r ON r.id = rp.role_id "
    "JOIN permissions p ON p.id = rp.permission_id WHERE r.name = ?1";

/* How long a connection trusts the permissions it read for a role. Roles
 * and their permissions come from the seeds, never from the API, so a
 * change reaches a connection within this much. */
#define ROLE_CACHE_NS ((int64_t)5000000000)

/* Fills p's permissions from the role_permissions of role, read once per
 * ROLE_CACHE_NS per connection (the role of the last request). */
static int
perms_of_role(struct lx_conn *c, struct lx_policy_state *p, const char *role,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t now = lx_mono_ns();
	int i, rc;

	if (p->cache_at == 0 || now - p->cache_at > ROLE_CACHE_NS
	    || strcmp(p->cache_role, role) != 0) {
		cache_reset(p);
		if ((st = lx_conn_stmt(c, sql_role_perms, err)) == NULL)
			return (-1);
		sqlite3_bind_text(st, 1, role, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			p->cache_perms = lx_realloc(p->cache_perms,
			    sizeof(char *) * (size_t)(p->ncache + 1));
			p->cache_perms[p->ncache++] =
			    lx_strdup((const char *)sqlite3_column_text(st, 0));
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE) {
			cache_reset(p);
			return (lx_conn_error(c, rc, "role permissions", err));
		}
		snprintf(p->cache_role, sizeof(p->cache_role), "%s", role);
		p->cache_at = now;
	}
	p->perms =
	    lx_calloc(p->ncache > 0 ? (size_t)p->ncache : 1, sizeof(*p->perms));
	for (i = 0; i < p->ncache; i++)
		p->perms[p->nperms++] = lx_strdup(p->cache_perms[i]);
	return (0);
}

int
lx_conn_has_perm(struct lx_conn *c, const char *perm)
{
	const struct lx_policy_state *p = c->pol;
	int i;

	if (p == NULL || !p->active)
		return (0);
	if (p->admin)
		return (1);
	for (i = 0; i < p->nperms; i++)
		if (strcmp(p->perms[i], perm) == 0)
			return (1);
	return (0);
}

static char *
dup_or_null(const char *s)
{
	return (s != NULL ? lx_strdup(s) : NULL);
}

int
lx_conn_set_context(
    struct lx_conn *c, const struct lx_db_ctx *ctx, struct lx_err *err)
{
	struct lx_policy_state *p;
	unsigned char rnd[8];
	int i, ret = -1;

	if (c->pol == NULL) {
		c->pol = lx_calloc(1, sizeof(*c->pol));
		randombytes_buf(rnd, sizeof(rnd));
		memcpy(c->pol->prefix, "lxp_", 4);
		sodium_bin2hex(c->pol->prefix + 4, 17, rnd, sizeof(rnd));
		c->pol->prefix[20] = '_';
	}
	p = c->pol;
	state_reset(p);
	if (!p->auth_on && views_make(c, err) == -1)
		goto out;
	p->user_id = dup_or_null(ctx->user_id);
	p->tenant_id = dup_or_null(ctx->tenant_id);
	p->role = dup_or_null(ctx->role);
	p->admin = ctx->platform_admin != 0;
	if (ctx->perms != NULL) {
		p->perms = lx_calloc(
		    ctx->nperms > 0 ? (size_t)ctx->nperms : 1, sizeof(char *));
		for (i = 0; i < ctx->nperms; i++)
			if (ctx->perms[i] != NULL)
				p->perms[p->nperms++] =
				    lx_strdup(ctx->perms[i]);
	} else if (ctx->role != NULL
	    && perms_of_role(c, p, ctx->role, err) == -1)
		goto out;
	if (!p->auth_on) {
		/* Once per connection: expires its prepared statements. */
		sqlite3_set_authorizer(c->h, authorize, c);
		p->auth_on = 1;
	}
	p->active = 1;
	ret = 0;
out:
	if (ret == -1) {
		/* Fail closed: no context, but the tables stay guarded. */
		state_reset(p);
		if (!p->auth_on) {
			sqlite3_set_authorizer(c->h, authorize, c);
			p->auth_on = 1;
		}
	}
	p->guard = 1;
	return (ret);
}

void
lx_conn_clear_context(struct lx_conn *c)
{
	if (c->pol == NULL)
		return;
	/* A system section left open would leave the next request's
	 * connection without its authorizer: close it, loudly. */
	if (c->pol->system != 0) {
		lx_log(LX_LOG_ERROR, "a system section was left open");
		c->pol->system = 0;
	}
	state_reset(c->pol);
	c->pol->guard = 0;
}

int
lx_policy_guarded(const struct lx_conn *c)
{
	return (c->pol != NULL && c->pol->guard && c->pol->system == 0);
}

int
lx_conn_has_context(struct lx_conn *c)
{
	return (c->pol != NULL && c->pol->active);
}

void
lx_conn_system_begin(struct lx_conn *c)
{
	if (c->pol != NULL)
		c->pol->system++;
}

void
lx_conn_system_end(struct lx_conn *c)
{
	if (c->pol != NULL && c->pol->system > 0)
		c->pol->system--;
}

int64_t
lx_conn_policy_changes(struct lx_conn *c)
{
	int64_t n;

	if (c->pol == NULL)
		return (0);
	n = c->pol->changes;
	c->pol->changes = 0;
	return (n);
}

/* The PostgreSQL context functions: the request's settings app.user_id,
 * app.tenant_id, app.role, app.permissions (comma-separated) and
 * app.platform_admin, set per transaction with set_config(..., true). */
static const char pg_functions[] =
    "CREATE FUNCTION current_user_id() RETURNS text LANGUAGE sql STABLE\n"
    "    AS $$ SELECT nullif(current_setting('app.user_id', true), '') $$;\n"
    "CREATE FUNCTION current_tenant() RETURNS text LANGUAGE sql STABLE\n"
    "    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '') "
    "$$;\n"
    "CREATE FUNCTION current_tenant_role() RETURNS text LANGUAGE sql "
    "STABLE\n"
    "    AS $$ SELECT nullif(current_setting('app.role', true), '') $$;\n"
    "CREATE FUNCTION is_platform_admin() RETURNS boolean LANGUAGE sql "
    "STABLE\n"
    "    AS $$ SELECT coalesce(current_setting('app.platform_admin', "
    "true), '')\n"
    "        IN ('1', 'on', 'true') $$;\n"
    "CREATE FUNCTION now_ms() RETURNS bigint LANGUAGE sql VOLATILE\n"
    "    AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint "
    "$$;\n"
    "CREATE FUNCTION has_permission(p text) RETURNS boolean LANGUAGE sql "
    "STABLE\n"
    "    AS $$ SELECT is_platform_admin() OR p = ANY (string_to_array(\n"
    "        coalesce(current_setting('app.permissions', true), ''), ',')) "
    "$$;\n";

/* One table of the mirror: its DDL. */
static void
pg_table(struct lx_buf *b, const struct pol_table *t)
{
	const struct pol_col *col;

	lx_buf_addf(b, "\nCREATE TABLE %s (\n", t->table);
	for (col = t->cols; col->name != NULL; col++)
		lx_buf_addf(b, "\t%s %s%s\n", col->name, col->pg,
		    col[1].name != NULL || t->pg_extra != NULL ? "," : "");
	if (t->pg_extra != NULL)
		lx_buf_addf(b, "\t%s\n", t->pg_extra);
	lx_buf_adds(b, ");\n");
}

/* Its RLS, policies and view: after every table, since a predicate may
 * name another tenant table (tenants reads memberships). */
static void
pg_policies(struct lx_buf *b, const struct pol_table *t)
{
	lx_buf_addf(
	    b, "\nALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", t->table);
	lx_buf_addf(b, "CREATE POLICY %s_select ON %s FOR SELECT\n    USING (",
	    t->table, t->table);
	add_pred(b, t->sel, "");
	lx_buf_adds(b, ");\n");
	if (t->ins != NULL) {
		lx_buf_addf(b,
		    "CREATE POLICY %s_insert ON %s FOR INSERT\n"
		    "    WITH CHECK (",
		    t->table, t->table);
		add_pred(b, t->ins, "");
		lx_buf_adds(b, ");\n");
	}
	if (t->upd != NULL) {
		lx_buf_addf(b,
		    "CREATE POLICY %s_update ON %s FOR UPDATE\n    USING (",
		    t->table, t->table);
		add_pred(b, t->upd, "");
		lx_buf_adds(b, ")\n    WITH CHECK (");
		add_pred(b, t->upd, "");
		lx_buf_adds(b, ");\n");
	}
	if (t->del != NULL) {
		lx_buf_addf(b,
		    "CREATE POLICY %s_delete ON %s FOR DELETE\n    USING (",
		    t->table, t->table);
		add_pred(b, t->del, "");
		lx_buf_adds(b, ");\n");
	}
	/* The same view names as SQLite, so request SQL runs on both. */
	lx_buf_addf(b,
	    "CREATE VIEW %s WITH (security_invoker = true) AS\n    SELECT ",
	    t->view);
	add_cols(b, t, "");
	lx_buf_addf(b, " FROM %s;\n", t->table);
}

int
lx_policy_export_postgres(FILE *f)
{
	struct lx_buf b;
	size_t i;
	int ret = -1;

	lx_buf_init(&b);
	lx_buf_adds(&b,
	    "-- Luxima tenant tables and row-level security policies for the\n"
	    "-- PostgreSQL mirror, generated from storage/policy.c (the same\n"
	    "-- declarations the SQLite policy views come from). The owner of\n"
	    "-- these tables (system code) is not subject to the policies;\n"
	    "-- request roles must be neither superuser nor BYPASSRLS and set\n"
	    "-- app.user_id, app.tenant_id, app.role, app.permissions and\n"
	    "-- app.platform_admin per transaction (set_config(..., true)).\n"
	    "-- users are not mirrored here: user ids are plain text.\n"
	    "BEGIN;\n");
	lx_buf_adds(&b, pg_functions);
	for (i = 0; i < NPOLICIES; i++)
		pg_table(&b, &policies[i]);
	for (i = 0; i < NPOLICIES; i++)
		pg_policies(&b, &policies[i]);
	lx_buf_adds(&b,
	    "\n"
	    "CREATE VIEW " SUMMARY_VIEW " WITH (security_invoker = true) AS\n"
	    "    ");
	lx_buf_addf(&b, summary_sql, "tenants");
	lx_buf_adds(&b, ";\nCOMMIT;\n");
	if (fwrite(b.data, 1, b.len, f) == b.len && fflush(f) == 0)
		ret = 0;
	lx_buf_cleanup(&b);
	return (ret);
}
