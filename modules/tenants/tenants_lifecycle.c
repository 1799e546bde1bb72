/*
 * A tenant's life after creation: ownership transfer, soft deletion with a
 * grace period, restoration by a platform admin within it, and the purge
 * job that removes a deleted tenant once the grace period is over.
 *
 * DELETE /tenants/{id} marks the tenant deleted (it disappears from every
 * route at once: the core answers 404 for it, its service keys stop
 * working) and enqueues a tenants.purge job, in the same transaction, to
 * run at purge_at = deletion + tenants.delete_grace_s. The job deletes the
 * row only if it is still deleted and its purge_at has come, so a restore
 * (or a restore and a second deletion, which enqueues its own job) makes
 * an earlier job a no-op. Audit records outlive the tenant.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "audit.h"
#include "jobs.h"
#include "tenants.h"

#define GRACE_DEFAULT_S (30 * 86400) /* tenants.delete_grace_s */
#define GRACE_MAX_S (365 * 86400)
#define PURGE_JOB "tenants.purge"

/* Only an owner (or a platform admin) deletes or gives away a tenant. */
static int
owner_only(const struct lx_req *req, const char *what, struct lx_err *err)
{
	if (strcmp(req->tenant.role, "owner") != 0
	    && !req->tenant.platform_admin)
		return (lx_err_set(err, 403, "forbidden",
		    "only an owner may %s the tenant", what));
	return (0);
}

int
tenants_delete(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct tenant t;
	struct lx_buf b;
	int64_t grace;

	memset(&t, 0, sizeof(t));
	lx_buf_init(&b);
	if (owner_only(req, "delete", err) == -1)
		return (tenants_http_fail(req, resp, err));
	grace = tenants_conf_int(req->srv, "tenants.delete_grace_s",
	    GRACE_DEFAULT_S, 0, GRACE_MAX_S);
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (tenants_store_get(req->db, req->tenant.id, &t, err) == -1)
		goto fail;
	snprintf(t.status, sizeof(t.status), "deleted");
	t.updated_at = t.deleted_at = lx_now_ms();
	t.purge_at = t.deleted_at + grace * 1000;
	lx_buf_adds(&b, "{\"tenant_id\":");
	lx_buf_add_json_str(&b, t.id);
	lx_buf_adds(&b, "}");
	if (tenants_store_update(req->db, &t, err) == -1
	    || lx_jobs_enqueue(
	           req->db, PURGE_JOB, b.data, t.purge_at, 0, NULL, err)
	        == -1)
		goto fail;
	lx_buf_reset(&b);
	lx_buf_adds(&b, "{\"purge_at\":");
	lx_buf_add_time_json(&b, t.purge_at);
	lx_buf_adds(&b, "}");
	if (tenants_http_audit(req, "tenant.delete", t.id, b.data, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	lx_buf_cleanup(&b);
	resp->status = 204;
	return (0);
fail:
	lx_buf_cleanup(&b);
	return (tenants_http_fail_tx(req, resp, err));
}

/*
 * The tenants.purge job: {"tenant_id": ...}. Idempotent: a tenant that was
 * restored, purged already or is not due yet is left alone (a later job
 * exists for a tenant deleted again).
 */
static int
purge_job(struct lx_conn *c, const char *payload, struct lx_err *err)
{
	struct audit_entry e;
	const cJSON *id;
	cJSON *p;
	int purged = 0, ret = -1;

	p = cJSON_Parse(payload);
	id = cJSON_GetObjectItemCaseSensitive(p, "tenant_id");
	if (!cJSON_IsString(id) || strlen(id->valuestring) >= 40) {
		/* Never retried: nothing would change. */
		lx_log(LX_LOG_ERROR, PURGE_JOB " job without a tenant id");
		ret = 0;
		goto out;
	}
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if (tenants_store_purge(c, id->valuestring, lx_now_ms(), &purged, err)
	    == -1)
		goto rollback;
	if (purged) {
		memset(&e, 0, sizeof(e));
		e.actor = "system";
		e.tenant = id->valuestring;
		e.action = "tenant.purge";
		e.target = id->valuestring;
		if (audit_record(c, &e, err) == -1)
			goto rollback;
	}
	if (lx_conn_commit(c, err) == -1)
		goto rollback;
	if (purged)
		lx_log(LX_LOG_INFO, "tenant %s purged", id->valuestring);
	ret = 0;
	goto out;
rollback:
	lx_conn_rollback(c);
out:
	cJSON_Delete(p);
	return (ret);
}

int
tenants_restore(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *id = lx_req_param(req, "id");
	struct lx_db_ctx ctx;
	struct tenant t;

	memset(&t, 0, sizeof(t));
	if (strlen(id) >= sizeof(req->tenant.id)) {
		lx_err_set(err, 404, "not_found", "no such tenant");
		return (tenants_http_fail(req, resp, err));
	}
	/* A platform admin's context in that tenant: the core binds none for
	 * NEED_PLATFORM_ADMIN and refuses deleted tenants on tenant routes. */
	snprintf(req->tenant.id, sizeof(req->tenant.id), "%s", id);
	req->tenant.platform_admin = 1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.user_id = req->ident.user_id;
	ctx.tenant_id = req->tenant.id;
	ctx.platform_admin = 1;
	if (lx_conn_set_context(req->db, &ctx, err) == -1
	    || lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (tenants_store_restore(req->db, id, lx_now_ms(), err) == -1
	    || tenants_http_audit(req, "tenant.restore", id, NULL, err) == -1
	    || tenants_store_get(req->db, id, &t, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	tenants_send_tenant(resp, 200, &t);
	return (0);
}

/*
 * Ownership transfer: the named member becomes an owner and the tenant's
 * primary owner (owner_id); the calling owner steps down to admin (a
 * platform admin acting without membership keeps none). One transaction
 * under the write lock, so the tenant always has an owner.
 */
int
tenants_transfer(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *to = lx_req_body_str(req, "user_id");
	struct tenant t;
	struct lx_buf d;
	char role[16], from[40];

	memset(&t, 0, sizeof(t));
	if (owner_only(req, "transfer", err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (strcmp(to, req->ident.user_id) == 0) {
		lx_err_set(err, 422, "invalid_member",
		    "transfer the tenant to another member");
		return (tenants_http_fail(req, resp, err));
	}
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (tenants_store_get(req->db, req->tenant.id, &t, err) == -1
	    || tenants_store_member_role(req->db, to, role, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	snprintf(from, sizeof(from), "%s", t.owner_id);
	if ((strcmp(role, "owner") != 0
	        && tenants_store_member_set_role(req->db, to, "owner", err)
	            == -1)
	    || (strcmp(req->tenant.role, "owner") == 0
	        && tenants_store_member_set_role(
	               req->db, req->ident.user_id, "admin", err)
	            == -1))
		return (tenants_http_fail_tx(req, resp, err));
	snprintf(t.owner_id, sizeof(t.owner_id), "%s", to);
	t.updated_at = lx_now_ms();
	if (tenants_store_update(req->db, &t, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	lx_buf_init(&d);
	lx_buf_adds(&d, "{\"from\":");
	lx_buf_add_json_str(&d, from);
	lx_buf_adds(&d, ",\"to\":");
	lx_buf_add_json_str(&d, to);
	lx_buf_adds(&d, "}");
	if (tenants_http_audit(req, "tenant.transfer", t.id, d.data, err) == -1
	    || lx_conn_commit(req->db, err) == -1) {
		lx_buf_cleanup(&d);
		return (tenants_http_fail_tx(req, resp, err));
	}
	lx_buf_cleanup(&d);
	snprintf(t.role, sizeof(t.role), "%s",
	    strcmp(req->tenant.role, "owner") == 0 ? "admin" : "");
	tenants_send_tenant(resp, 200, &t);
	return (0);
}

int
tenants_init(struct lx_server *srv, struct lx_err *err)
{
	lx_jobs_register(PURGE_JOB, purge_job);
	return (tenants_keys_init(srv, err));
}
