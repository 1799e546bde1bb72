/*
 * The renewal job (billing.renew) and `luxima billing renew`: closes each
 * subscription period once its end has come, in one transaction per
 * period: the period's invoice (a draft of it finalized, a finalized one
 * kept, else one built and finalized), then the next period on the
 * subscription's plan, or the end of a subscription canceled at its
 * period's end. A crash at any point leaves all of a period's closing or
 * none, and a rerun finds a closed period no longer due: each period is
 * invoiced exactly once. System code on the base tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "billing.h"
#include "jobs.h"
#include "tenants.h"

#define RENEW_JOB "billing.renew"
#define RENEW_EVERY_MS (15 * 60 * 1000) /* longest wait between runs */

static void
finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	snprintf(out, len, "%s", s != NULL ? s : "");
}

static const char sql_due[] =
    "SELECT id, current_period_end FROM subscriptions "
    "WHERE status != 'canceled' AND current_period_end <= ?1 "
    "AND (current_period_end > ?2 OR (current_period_end = ?2 AND id > ?3)) "
    "ORDER BY current_period_end, id LIMIT 1";
static const char sql_key_inv[] =
    "SELECT id, status FROM invoices WHERE renewal_key = ?1";
static const char sql_sub_advance[] =
    "UPDATE subscriptions SET status = ?2, period_plan_id = plan_id, "
    "current_period_start = ?3, current_period_end = ?4, canceled_at = ?5, "
    "updated_at = ?6 WHERE id = ?1 AND current_period_end = ?7";
static const char sql_default_code[] =
    "SELECT code FROM plans WHERE is_default = 1";
static const char sql_plan_set[] = "UPDATE tenants SET plan = ?2 WHERE id = ?1";
static const char sql_tenant_status[] =
    "SELECT status FROM tenants WHERE id = ?1";
/* Open invoices of the subscription past their due date (as text). */
static const char sql_overdue[] =
    "SELECT count(*) FROM invoices WHERE subscription_id = ?1 "
    "AND status = 'open' AND due_at < CAST(unixepoch('subsec') * 1000 AS "
    "INTEGER)";

/* Runs sql with one text binding and copies the first column of its row
 * into out ("" when no row). */
static int
one_text(struct lx_conn *c, const char *sql, const char *arg, char *out,
    size_t len, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	out[0] = '\0';
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		col_copy(st, 0, out, len);
	finish(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "renewal read", err));
	return (0);
}

/*
 * Closes one due period of subscription id as of now, in one transaction:
 * its invoice (a draft of the period is finalized, a finalized one kept,
 * else one is built and finalized), then the next period, or the end of a
 * subscription canceled at its period's end (the tenant back on the
 * default plan). A period no longer due (closed by another run) is left.
 */
static int
renew_one(struct lx_conn *c, const char *id, int64_t now, int *closed,
    struct lx_err *err)
{
	struct billing_subscription s;
	struct billing_invoice iv;
	struct billing_plan p;
	struct audit_entry e;
	sqlite3_stmt *st;
	char key[80], inv[40], inv_status[16], status[12], code[48];
	char detail[256];
	int64_t start, end, next;
	int rc, trial, ended;

	*closed = 0;
	memset(&iv, 0, sizeof(iv));
	if (lx_conn_begin(c, err) == -1)
		return (-1);
	if (billing_store_sub_read(c, id, &s, err) == -1) {
		if (err->status != 404)
			goto fail;
		lx_conn_rollback(c);
		return (0);
	}
	if (strcmp(s.status, "canceled") == 0 || s.current_period_end > now) {
		lx_conn_rollback(c);
		return (0);
	}
	start = s.current_period_start;
	end = s.current_period_end;
	trial = strcmp(s.status, "trialing") == 0;
	snprintf(key, sizeof(key), "%s:%lld", s.id, (long long)start);
	if (one_text(c, sql_key_inv, key, inv, sizeof(inv), err) == -1)
		goto fail;
	if (inv[0] != '\0') {
		/* Invoiced by hand during the period: finalize a draft. */
		if (billing_inv_get(c, BILLING_TABLES, inv, NULL, &iv, err)
		    == -1)
			goto fail;
		snprintf(inv_status, sizeof(inv_status), "%s", iv.status);
		if (strcmp(inv_status, "draft") == 0
		    && (billing_inv_finalize(c, BILLING_TABLES, &iv, now, err)
		            == -1
		        || billing_emit_invoice(
		               c, &iv, "invoice.finalized", err)
		            == -1))
			goto fail;
	} else {
		rc = billing_inv_build(c, BILLING_TABLES, &s, start, end, trial,
		    "subscription_cycle", &iv, err);
		if (rc == -1
		    || (rc == 0
		        && (billing_inv_finalize(
		                c, BILLING_TABLES, &iv, now, err)
		                == -1
		            || billing_emit_invoice(
		                   c, &iv, "invoice.created", err)
		                == -1
		            || billing_emit_invoice(
		                   c, &iv, "invoice.finalized", err)
		                == -1)))
			goto fail;
	}
	/* The next period, on the subscription's plan now; none for a
	 * subscription canceled at its period's end or a deleted tenant's
	 * (the period it was deleted in is billed, nothing after it). */
	if (one_text(c, sql_tenant_status, s.tenant_id, inv_status,
	        sizeof(inv_status), err)
	    == -1)
		goto fail;
	ended = s.cancel_at_period_end || strcmp(inv_status, "deleted") == 0;
	if (billing_store_plan_by_id(c, s.plan_id, &p, err) == -1)
		goto fail;
	next = billing_period_add(end, p.interval);
	snprintf(status, sizeof(status), "%s",
	    ended ? "canceled" : (trial ? "active" : s.status));
	if (!ended && !trial) {
		if (one_text(c, sql_overdue, s.id, code, sizeof(code), err)
		    == -1)
			goto fail;
		if (strcmp(code, "0") != 0)
			snprintf(status, sizeof(status), "past_due");
	}
	if ((st = lx_conn_stmt(c, sql_sub_advance, err)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, s.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ended ? start : end);
	sqlite3_bind_int64(st, 4, ended ? end : next);
	if (ended)
		sqlite3_bind_int64(st, 5, end);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, end);
	if (lx_conn_step_done(c, st, "advance subscription", err) == -1)
		goto fail;
	if (ended) {
		if (one_text(c, sql_default_code, NULL, code, sizeof(code), err)
		        == -1
		    || (st = lx_conn_stmt(c, sql_plan_set, err)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, s.tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
		if (lx_conn_step_done(c, st, "default plan", err) == -1)
			goto fail;
	}
	snprintf(detail, sizeof(detail),
	    "{\"period_start\":%lld,\"period_end\":%lld,\"invoice\":%s%s%s,"
	    "\"status\":\"%s\"}",
	    (long long)start, (long long)end, iv.id[0] != '\0' ? "\"" : "",
	    iv.id[0] != '\0' ? iv.id : "null", iv.id[0] != '\0' ? "\"" : "",
	    status);
	memset(&e, 0, sizeof(e));
	e.actor = "system";
	e.tenant = s.tenant_id;
	e.action = ended ? "subscription.end" : "subscription.renew";
	e.target = s.id;
	e.detail_json = detail;
	if (audit_record(c, &e, err) == -1
	    || billing_store_sub_read(c, s.id, &s, err) == -1
	    || billing_emit_sub(c, &s, p.code,
	           ended ? "subscription.canceled" : "subscription.updated",
	           err)
	        == -1
	    || lx_conn_commit(c, err) == -1)
		goto fail;
	billing_invoice_cleanup(&iv);
	billing_meter_forget(s.tenant_id);
	*closed = 1;
	return (0);
fail:
	billing_invoice_cleanup(&iv);
	lx_conn_rollback(c);
	return (-1);
}

int
billing_renew(struct lx_conn *c, int64_t now, int *nclosed, int *nfailed,
    struct lx_err *err)
{
	sqlite3_stmt *st;
	char id[40], after_id[40] = "";
	int64_t after_end = 0, pause_ms = 0;
	const char *v;
	int rc, closed, n;

	*nclosed = *nfailed = 0;
	/* A pause between subscriptions, for tests that kill a run between
	 * two of them. */
	if ((v = getenv("LUXIMA_BILLING_RENEW_PAUSE_MS")) != NULL)
		pause_ms = strtoll(v, NULL, 10);
	/* Bounded: a subscription far behind closes one period a turn. */
	for (n = 0; n < 100000; n++) {
		if ((st = lx_conn_stmt(c, sql_due, err)) == NULL)
			return (-1);
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, after_end);
		sqlite3_bind_text(st, 3, after_id, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			col_copy(st, 0, id, sizeof(id));
			after_end = sqlite3_column_int64(st, 1);
		}
		finish(st);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW)
			return (lx_conn_error(c, rc, "due subscriptions", err));
		snprintf(after_id, sizeof(after_id), "%s", id);
		if (renew_one(c, id, now, &closed, err) == -1) {
			lx_log(LX_LOG_ERROR, "renewal of subscription %s: %s",
			    id, err->detail);
			(*nfailed)++;
			continue;
		}
		*nclosed += closed;
		/* The same subscription may still be due (several periods
		 * behind): look at it again. */
		if (closed) {
			after_end = 0;
			after_id[0] = '\0';
		}
		if (pause_ms > 0 && pause_ms < 10000)
			usleep((useconds_t)(pause_ms * 1000));
	}
	return (0);
}

static const char sql_next_due[] =
    "SELECT min(current_period_end) FROM subscriptions "
    "WHERE status != 'canceled'";
static const char sql_renew_queued[] =
    "SELECT count(*) FROM jobs WHERE kind = '" RENEW_JOB "' "
    "AND state = 'queued'";

/* Enqueues the next run, at the next period end or within
 * RENEW_EVERY_MS, unless one is queued already. */
static int
renew_schedule(struct lx_conn *c, int64_t now, struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t at = now + RENEW_EVERY_MS, due = 0, queued = 0;

	if ((st = lx_conn_stmt(c, sql_renew_queued, err)) == NULL
	    || lx_conn_step_int(c, st, "renewal schedule", &queued, err) == -1)
		return (-1);
	if (queued > 0)
		return (0);
	if ((st = lx_conn_stmt(c, sql_next_due, err)) == NULL
	    || lx_conn_step_int(c, st, "renewal schedule", &due, err) == -1)
		return (-1);
	if (due > 0 && due < at)
		at = due > now ? due : now;
	return (lx_jobs_enqueue(c, RENEW_JOB, "{}", at, 3, NULL, err));
}

static int
renew_job(struct lx_conn *c, const char *payload, struct lx_err *err)
{
	int64_t now = lx_now_ms();
	int closed, failed;

	(void)payload;
	if (billing_renew(c, now, &closed, &failed, err) == -1)
		return (-1);
	if (closed > 0 || failed > 0)
		lx_log(LX_LOG_INFO,
		    "billing renewal: %d periods closed, %d failed", closed,
		    failed);
	/* The next run is queued before this one is acknowledged: a crash
	 * in between leaves two, which the next run's check collapses. */
	return (renew_schedule(c, lx_now_ms(), err));
}

int
billing_invoices_init(struct lx_server *srv, struct lx_err *err)
{
	struct lx_conn *c = lx_db_conn(lx_server_db(srv));

	billing_configure(
	    tenants_conf_int(srv, "billing.invoice_due_days", 14, 0, 365));
	lx_jobs_register(RENEW_JOB, renew_job);
	return (renew_schedule(c, lx_now_ms(), err));
}
