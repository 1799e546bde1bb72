/*
 * Invoices: creation from a subscription's period (the createInvoice rule:
 * the fee of the plan the period began on, the period's pending proration
 * items, metered usage beyond what the plan includes), finalization with a
 * gapless number, voiding, payment, the printable HTML page, and the
 * renewal job that closes every due period once.
 *
 * Exactly once: an invoice of a subscription's period carries renewal_key
 * "<subscription id>:<period start ms>" (UNIQUE), and the renewal job
 * closes a period (its invoice, the subscription's next period) in one
 * transaction, so a crash at any point leaves either all of it or none,
 * and a rerun finds the period already closed. Numbers come from
 * invoice_sequences in the finalizing transaction: a rollback returns the
 * number, so the numbers given have no gaps.
 *
 * Request handlers read and write through the policy views (p_invoices,
 * p_invoice_lines, p_invoice_items); the job and billing_invoice_pay run as
 * system code on the base tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "audit.h"
#include "auth.h"
#include "billing.h"
#include "jobs.h"
#include "tenants.h"
#include "webhooks.h"

/* Where an invoice statement reads: the policy views for requests, the
 * base tables for system code. Each statement is a pair, [VIEWS] and
 * [TABLES], made by one macro from the same text. */
#define VIEWS 0
#define TABLES 1
#define PAIR(macro) \
	{ \
		macro("p_"), macro("") \
	}

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

void
billing_invoice_cleanup(struct billing_invoice *iv)
{
	if (iv == NULL)
		return;
	lx_free(iv->lines);
	iv->lines = NULL;
	iv->nlines = 0;
}

#define INV_COLS \
	"id, tenant_id, coalesce(subscription_id, ''), coalesce(number, ''), " \
	"status, billing_reason, currency, subtotal, total, amount_paid, " \
	"period_start, period_end, coalesce(due_at, 0), " \
	"coalesce(finalized_at, 0), coalesce(paid_at, 0), " \
	"coalesce(voided_at, 0), created_at, updated_at"

static void
inv_row(sqlite3_stmt *st, struct billing_invoice *iv)
{
	memset(iv, 0, sizeof(*iv));
	col_copy(st, 0, iv->id, sizeof(iv->id));
	col_copy(st, 1, iv->tenant_id, sizeof(iv->tenant_id));
	col_copy(st, 2, iv->subscription_id, sizeof(iv->subscription_id));
	col_copy(st, 3, iv->number, sizeof(iv->number));
	col_copy(st, 4, iv->status, sizeof(iv->status));
	col_copy(st, 5, iv->billing_reason, sizeof(iv->billing_reason));
	col_copy(st, 6, iv->currency, sizeof(iv->currency));
	iv->subtotal = sqlite3_column_int64(st, 7);
	iv->total = sqlite3_column_int64(st, 8);
	iv->amount_paid = sqlite3_column_int64(st, 9);
	iv->period_start = sqlite3_column_int64(st, 10);
	iv->period_end = sqlite3_column_int64(st, 11);
	iv->due_at = sqlite3_column_int64(st, 12);
	iv->finalized_at = sqlite3_column_int64(st, 13);
	iv->paid_at = sqlite3_column_int64(st, 14);
	iv->voided_at = sqlite3_column_int64(st, 15);
	iv->created_at = sqlite3_column_int64(st, 16);
	iv->updated_at = sqlite3_column_int64(st, 17);
}

#define SQL_LINES(p) \
	"SELECT id, position, kind, description, coalesce(metric, ''), " \
	"quantity, unit_amount, amount, coalesce(period_start, 0), " \
	"coalesce(period_end, 0) FROM " p \
	"invoice_lines WHERE invoice_id = ?1 " \
	"ORDER BY position"
static const char *const sql_lines[2] = PAIR(SQL_LINES);

static int
lines_load(
    struct lx_conn *c, int mode, struct billing_invoice *iv, struct lx_err *err)
{
	struct billing_line *l;
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_lines[mode], err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, iv->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		iv->lines = lx_realloc(
		    iv->lines, sizeof(*iv->lines) * (size_t)(iv->nlines + 1));
		l = &iv->lines[iv->nlines++];
		memset(l, 0, sizeof(*l));
		col_copy(st, 0, l->id, sizeof(l->id));
		l->position = sqlite3_column_int(st, 1);
		col_copy(st, 2, l->kind, sizeof(l->kind));
		col_copy(st, 3, l->description, sizeof(l->description));
		col_copy(st, 4, l->metric, sizeof(l->metric));
		l->quantity = sqlite3_column_int64(st, 5);
		l->unit_amount = sqlite3_column_int64(st, 6);
		l->amount = sqlite3_column_int64(st, 7);
		l->period_start = sqlite3_column_int64(st, 8);
		l->period_end = sqlite3_column_int64(st, 9);
	}
	finish(st);
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "invoice lines", err));
	return (0);
}

#define SQL_INV_GET(p) "SELECT " INV_COLS " FROM " p "invoices WHERE id = ?1"
static const char *const sql_inv_get[2] = PAIR(SQL_INV_GET);

/* The invoice id with its lines; 404 "invoice_not_found". Through the
 * views, the context's tenant only (the view's policy, and the tenant
 * check below for platform admins acting in one tenant). */
int
billing_inv_get(struct lx_conn *c, int mode, const char *id, const char *tenant,
    struct billing_invoice *iv, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(iv, 0, sizeof(*iv));
	if ((st = lx_conn_stmt(c, sql_inv_get[mode], err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		inv_row(st, iv);
	finish(st);
	if (rc == SQLITE_ROW && tenant != NULL
	    && strcmp(iv->tenant_id, tenant) != 0)
		rc = SQLITE_DONE;
	if (rc == SQLITE_DONE)
		return (lx_err_set(
		    err, 404, "invoice_not_found", "no such invoice"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "read invoice", err));
	return (lines_load(c, mode, iv, err));
}

/* --- JSON and HTML --- */

static void
line_json(struct lx_buf *b, const struct billing_line *l)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, l->id);
	lx_buf_adds(b, ",\"kind\":");
	lx_buf_add_json_str(b, l->kind);
	lx_buf_adds(b, ",\"description\":");
	lx_buf_add_json_str(b, l->description);
	lx_buf_adds(b, ",\"metric\":");
	lx_buf_add_json_str_or_null(b, l->metric);
	lx_buf_addf(b,
	    ",\"quantity\":%lld,\"unit_amount\":%lld,\"amount\":%lld",
	    (long long)l->quantity, (long long)l->unit_amount,
	    (long long)l->amount);
	lx_buf_adds(b, ",\"period_start\":");
	lx_buf_add_time_json(b, l->period_start);
	lx_buf_adds(b, ",\"period_end\":");
	lx_buf_add_time_json(b, l->period_end);
	lx_buf_adds(b, "}");
}

int
billing_emit_invoice(struct lx_conn *c, const struct billing_invoice *iv,
    const char *type, struct lx_err *err)
{
	struct lx_buf b;
	int rc;

	lx_buf_init(&b);
	billing_invoice_json(&b, iv);
	rc = webhooks_emit(c, iv->tenant_id, type, b.data, err);
	lx_buf_cleanup(&b);
	return (rc);
}

void
billing_invoice_json(struct lx_buf *b, const struct billing_invoice *iv)
{
	int i;

	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, iv->id);
	lx_buf_adds(b, ",\"tenant_id\":");
	lx_buf_add_json_str(b, iv->tenant_id);
	lx_buf_adds(b, ",\"subscription_id\":");
	lx_buf_add_json_str_or_null(b, iv->subscription_id);
	lx_buf_adds(b, ",\"number\":");
	lx_buf_add_json_str_or_null(b, iv->number);
	lx_buf_adds(b, ",\"status\":");
	lx_buf_add_json_str(b, iv->status);
	lx_buf_adds(b, ",\"billing_reason\":");
	lx_buf_add_json_str(b, iv->billing_reason);
	lx_buf_adds(b, ",\"currency\":");
	lx_buf_add_json_str(b, iv->currency);
	lx_buf_addf(b,
	    ",\"subtotal\":%lld,\"total\":%lld,\"amount_paid\":%lld,"
	    "\"amount_due\":%lld",
	    (long long)iv->subtotal, (long long)iv->total,
	    (long long)iv->amount_paid,
	    (long long)(strcmp(iv->status, "void") == 0
	            ? 0
	            : iv->total - iv->amount_paid));
	lx_buf_adds(b, ",\"period_start\":");
	lx_buf_add_time_json(b, iv->period_start);
	lx_buf_adds(b, ",\"period_end\":");
	lx_buf_add_time_json(b, iv->period_end);
	lx_buf_adds(b, ",\"due_at\":");
	lx_buf_add_time_json(b, iv->due_at);
	lx_buf_adds(b, ",\"finalized_at\":");
	lx_buf_add_time_json(b, iv->finalized_at);
	lx_buf_adds(b, ",\"paid_at\":");
	lx_buf_add_time_json(b, iv->paid_at);
	lx_buf_adds(b, ",\"voided_at\":");
	lx_buf_add_time_json(b, iv->voided_at);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, iv->created_at);
	lx_buf_adds(b, ",\"lines\":[");
	for (i = 0; i < iv->nlines; i++) {
		if (i > 0)
			lx_buf_adds(b, ",");
		line_json(b, &iv->lines[i]);
	}
	lx_buf_adds(b, "]}");
}

/* Appends s with &, <, >, " and ' escaped. */
static void
html_esc(struct lx_buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			lx_buf_adds(b, "&amp;");
			break;
		case '<':
			lx_buf_adds(b, "&lt;");
			break;
		case '>':
			lx_buf_adds(b, "&gt;");
			break;
		case '"':
			lx_buf_adds(b, "&quot;");
			break;
		case '\'':
			lx_buf_adds(b, "&#39;");
			break;
		default:
			lx_buf_add(b, s, 1);
		}
}

static void
html_date(struct lx_buf *b, int64_t ms)
{
	struct lx_buf t;

	if (ms <= 0) {
		lx_buf_adds(b, "&mdash;");
		return;
	}
	lx_buf_init(&t);
	lx_buf_add_time_json(&t, ms);
	lx_buf_add(b, t.data + 1, 10);
	lx_buf_cleanup(&t);
}

static void
html_money(struct lx_buf *b, int64_t amount, const char *currency)
{
	char m[48];

	billing_money_format(amount, currency, m, sizeof(m));
	html_esc(b, m);
}

/* The printable invoice: one self-contained page (the console's CSP
 * allows its inline style), everything escaped. */
static void
invoice_html(
    struct lx_buf *b, const struct billing_invoice *iv, const struct tenant *t)
{
	const struct billing_line *l;
	int i;

	lx_buf_adds(b,
	    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>Invoice ");
	html_esc(b, iv->number[0] != '\0' ? iv->number : "(draft)");
	lx_buf_adds(b,
	    "</title><style>body{font:14px/1.5 system-ui,sans-serif;"
	    "max-width:48rem;margin:2rem auto;color:#111}table{width:100%;"
	    "border-collapse:collapse}td,th{padding:.4rem;border-bottom:1px "
	    "solid #ddd;text-align:left}.n{text-align:right;white-space:"
	    "nowrap}.total td{font-weight:700;border-top:2px solid #111}"
	    "@media print{body{margin:0}}</style></head><body><h1>Invoice ");
	html_esc(b, iv->number[0] != '\0' ? iv->number : "(draft)");
	lx_buf_adds(b, "</h1><p>Billed to <strong>");
	html_esc(b, t->name);
	lx_buf_adds(b, "</strong> (");
	html_esc(b, t->slug);
	lx_buf_adds(b, ")<br>Status: ");
	html_esc(b, iv->status);
	lx_buf_adds(b, "<br>Period: ");
	html_date(b, iv->period_start);
	lx_buf_adds(b, " &ndash; ");
	html_date(b, iv->period_end);
	lx_buf_adds(b, "<br>Issued: ");
	html_date(b, iv->finalized_at);
	lx_buf_adds(b, "<br>Due: ");
	html_date(b, iv->due_at);
	lx_buf_adds(b,
	    "</p><table><thead><tr><th>Description</th><th "
	    "class=\"n\">Qty</th><th class=\"n\">Unit</th><th "
	    "class=\"n\">Amount</th></tr></thead><tbody>");
	for (i = 0; i < iv->nlines; i++) {
		l = &iv->lines[i];
		lx_buf_adds(b, "<tr><td>");
		html_esc(b, l->description);
		lx_buf_addf(b, "</td><td class=\"n\">%lld</td><td class=\"n\">",
		    (long long)l->quantity);
		html_money(b, l->unit_amount, iv->currency);
		lx_buf_adds(b, "</td><td class=\"n\">");
		html_money(b, l->amount, iv->currency);
		lx_buf_adds(b, "</td></tr>");
	}
	lx_buf_adds(b,
	    "</tbody><tfoot><tr class=\"total\"><td colspan=\"3\">"
	    "Total</td><td class=\"n\">");
	html_money(b, iv->total, iv->currency);
	lx_buf_adds(b,
	    "</td></tr><tr><td colspan=\"3\">Paid</td><td "
	    "class=\"n\">");
	html_money(b, iv->amount_paid, iv->currency);
	lx_buf_adds(b, "</td></tr></tfoot></table></body></html>\n");
}

/* --- building and finalizing --- */

#define SQL_ITEMS(p) \
	"SELECT kind, description, amount, coalesce(period_start, 0), " \
	"coalesce(period_end, 0) FROM " p "invoice_items " \
	"WHERE subscription_id = ?1 AND invoice_id IS NULL " \
	"ORDER BY created_at, amount, id"
static const char *const sql_items[2] = PAIR(SQL_ITEMS);
#define SQL_INV_INS(p) \
	"INSERT INTO " p "invoices (id, tenant_id, subscription_id, number, " \
	"status, billing_reason, currency, subtotal, total, amount_paid, " \
	"period_start, period_end, renewal_key, due_at, finalized_at, " \
	"paid_at, voided_at, provider, provider_ref, created_at, " \
	"updated_at) VALUES (?1, ?2, ?3, NULL, 'draft', ?4, ?5, ?6, ?6, 0, " \
	"?7, ?8, ?9, NULL, NULL, NULL, NULL, NULL, NULL, ?10, ?10)"
static const char *const sql_inv_ins[2] = PAIR(SQL_INV_INS);
#define SQL_LINE_INS(p) \
	"INSERT INTO " p "invoice_lines (id, invoice_id, tenant_id, " \
	"position, kind, description, metric, quantity, unit_amount, amount, " \
	"period_start, period_end) VALUES (?1, ?2, ?3, ?4, ?5, ?6, " \
	"nullif(?7, ''), ?8, ?9, ?10, nullif(?11, 0), nullif(?12, 0))"
static const char *const sql_line_ins[2] = PAIR(SQL_LINE_INS);
#define SQL_ITEMS_TAKE(p) \
	"UPDATE " p "invoice_items SET invoice_id = ?1 " \
	"WHERE subscription_id = ?2 AND invoice_id IS NULL"
static const char *const sql_items_take[2] = PAIR(SQL_ITEMS_TAKE);

static struct billing_line *
line_add(struct billing_invoice *iv)
{
	struct billing_line *l;

	iv->lines = lx_realloc(
	    iv->lines, sizeof(*iv->lines) * (size_t)(iv->nlines + 1));
	l = &iv->lines[iv->nlines++];
	memset(l, 0, sizeof(*l));
	auth_uuid(l->id);
	l->position = iv->nlines;
	l->quantity = 1;
	return (l);
}

static void
date_text(int64_t ms, char out[11])
{
	struct lx_buf t;

	lx_buf_init(&t);
	lx_buf_add_time_json(&t, ms);
	snprintf(out, 11, "%.10s", t.data + 1);
	lx_buf_cleanup(&t);
}

/* The period's pending items as lines. */
static int
lines_items(struct lx_conn *c, int mode, const struct billing_subscription *s,
    struct billing_invoice *iv, struct lx_err *err)
{
	struct billing_line *l;
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql_items[mode], err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		l = line_add(iv);
		col_copy(st, 0, l->kind, sizeof(l->kind));
		col_copy(st, 1, l->description, sizeof(l->description));
		l->amount = l->unit_amount = sqlite3_column_int64(st, 2);
		l->period_start = sqlite3_column_int64(st, 3);
		l->period_end = sqlite3_column_int64(st, 4);
	}
	finish(st);
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "pending items", err));
	return (0);
}

/* Metered usage of the period beyond what the plan includes. */
static int
lines_usage(struct lx_conn *c, const struct billing_subscription *s,
    const struct billing_plan *p, int64_t start, int64_t end,
    struct billing_invoice *iv, struct lx_err *err)
{
	static const char *const what[BILLING_NMETRICS] = { NULL, NULL, NULL,
		NULL, "Function invocations", "API requests" };
	int64_t used[BILLING_NMETRICS], amount, blocks;
	const struct billing_limit *lim;
	struct billing_line *l;
	char key[24];
	int i;

	billing_period_key(start, key);
	if (billing_store_usage(c, s->tenant_id, key, used, err) == -1)
		return (-1);
	for (i = 0; i < BILLING_NMETRICS; i++) {
		lim = &p->limits[i];
		if (what[i] == NULL
		    || (amount = billing_overage(lim, used[i], &blocks)) == 0)
			continue;
		l = line_add(iv);
		snprintf(l->kind, sizeof(l->kind), "usage");
		snprintf(
		    l->metric, sizeof(l->metric), "%s", billing_metrics[i]);
		snprintf(l->description, sizeof(l->description),
		    "%s: %lld used, %lld included, %lld beyond in blocks of "
		    "%lld",
		    what[i], (long long)used[i], (long long)lim->included,
		    (long long)(used[i] - lim->included),
		    (long long)lim->unit_size);
		l->quantity = blocks;
		l->unit_amount = lim->unit_amount;
		l->amount = amount;
		l->period_start = start;
		l->period_end = end;
	}
	return (0);
}

/*
 * Builds the draft invoice of s's period [start, end) inside c's open
 * transaction: the period plan's fee (none for a trial), the pending
 * items, metered usage beyond the included amounts (none for a trial),
 * then the billing/createInvoice hook's rules over those lines (a hook
 * that leaves no line leaves nothing to bill); the total is summed here.
 * 1 when the period has nothing to bill (nothing written), 0 with iv
 * filled, -1 with err (409 "invoice_exists" if the period has one).
 */
int
billing_inv_build(struct lx_conn *c, int mode,
    const struct billing_subscription *s, int64_t start, int64_t end, int trial,
    const char *reason, struct billing_invoice *iv, struct lx_err *err)
{
	struct billing_line *l;
	struct billing_plan p;
	sqlite3_stmt *st;
	char key[80], from[11], to[11];
	int i, rc;

	memset(iv, 0, sizeof(*iv));
	if (billing_store_plan_by_id(c, s->period_plan_id, &p, err) == -1)
		return (-1);
	if (!trial && p.amount > 0) {
		l = line_add(iv);
		date_text(start, from);
		date_text(end, to);
		snprintf(l->kind, sizeof(l->kind), "subscription");
		snprintf(l->description, sizeof(l->description),
		    "%s plan, %s to %s", p.name, from, to);
		l->unit_amount = l->amount = p.amount;
		l->period_start = start;
		l->period_end = end;
	}
	if (lines_items(c, mode, s, iv, err) == -1
	    || (!trial && lines_usage(c, s, &p, start, end, iv, err) == -1)
	    || (iv->nlines > 0
	        && billing_hook_lines(
	               c, s, &p, start, end, trial, reason, iv, err)
	            == -1))
		goto fail;
	if (iv->nlines == 0) {
		billing_invoice_cleanup(iv);
		return (1);
	}
	auth_uuid(iv->id);
	snprintf(iv->tenant_id, sizeof(iv->tenant_id), "%s", s->tenant_id);
	snprintf(iv->subscription_id, sizeof(iv->subscription_id), "%s", s->id);
	snprintf(iv->status, sizeof(iv->status), "draft");
	snprintf(iv->billing_reason, sizeof(iv->billing_reason), "%s", reason);
	snprintf(iv->currency, sizeof(iv->currency), "%s", p.currency);
	iv->period_start = start;
	iv->period_end = end;
	iv->created_at = iv->updated_at = lx_now_ms();
	if (billing_lines_total(iv->lines, iv->nlines, &iv->total, err) == -1)
		goto fail;
	iv->subtotal = iv->total;
	snprintf(key, sizeof(key), "%s:%lld", s->id, (long long)start);
	if ((st = lx_conn_stmt(c, sql_inv_ins[mode], err)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, iv->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, iv->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, iv->currency, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, iv->total);
	sqlite3_bind_int64(st, 7, start);
	sqlite3_bind_int64(st, 8, end);
	sqlite3_bind_text(st, 9, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, iv->created_at);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		if (sqlite3_extended_errcode(lx_conn_sqlite(c))
		    == SQLITE_CONSTRAINT_UNIQUE)
			lx_err_set(err, 409, "invoice_exists",
			    "the subscription's current period already has an "
			    "invoice");
		else
			lx_conn_error(c, rc, "insert invoice", err);
	}
	finish(st);
	if (rc != SQLITE_DONE)
		goto fail;
	for (i = 0; i < iv->nlines; i++) {
		l = &iv->lines[i];
		if ((st = lx_conn_stmt(c, sql_line_ins[mode], err)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, l->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, iv->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, iv->tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, l->position);
		sqlite3_bind_text(st, 5, l->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, l->description, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, l->metric, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, l->quantity);
		sqlite3_bind_int64(st, 9, l->unit_amount);
		sqlite3_bind_int64(st, 10, l->amount);
		sqlite3_bind_int64(st, 11, l->period_start);
		sqlite3_bind_int64(st, 12, l->period_end);
		if (lx_conn_step_done(c, st, "insert invoice line", err) == -1)
			goto fail;
	}
	if ((st = lx_conn_stmt(c, sql_items_take[mode], err)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, iv->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->id, -1, SQLITE_STATIC);
	if (lx_conn_step_done(c, st, "bill pending items", err) == -1)
		goto fail;
	return (0);
fail:
	billing_invoice_cleanup(iv);
	return (-1);
}

static const char sql_seq_next[] =
    "INSERT INTO invoice_sequences (year, last) VALUES (?1, 1) "
    "ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last";
#define SQL_LINES_SUM(p) \
	"SELECT coalesce(sum(amount), 0) FROM " p "invoice_lines " \
	"WHERE invoice_id = ?1"
static const char *const sql_lines_sum[2] = PAIR(SQL_LINES_SUM);
#define SQL_FINALIZE(p) \
	"UPDATE " p \
	"invoices SET number = ?2, status = ?3, finalized_at = ?4, " \
	"due_at = ?5, paid_at = ?6, amount_paid = ?7, updated_at = ?4 " \
	"WHERE id = ?1 AND status = 'draft'"
static const char *const sql_finalize[2] = PAIR(SQL_FINALIZE);

#define SQL_CREDIT(p) \
	"INSERT INTO " p "invoice_items (id, tenant_id, subscription_id, " \
	"kind, description, amount, currency, period_start, period_end, " \
	"invoice_id, created_at) VALUES (?1, ?2, ?3, 'adjustment', ?4, ?5, " \
	"?6, NULL, NULL, NULL, ?7)"
static const char *const sql_credit[2] = PAIR(SQL_CREDIT);

static int
credit_forward(struct lx_conn *c, int mode, const struct billing_invoice *iv,
    int64_t now, struct lx_err *err)
{
	sqlite3_stmt *st;
	char id[40], what[96];

	if ((st = lx_conn_stmt(c, sql_credit[mode], err)) == NULL)
		return (-1);
	auth_uuid(id);
	snprintf(
	    what, sizeof(what), "Credit carried from invoice %s", iv->number);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, iv->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, iv->subscription_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, what, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, iv->total);
	sqlite3_bind_text(st, 6, iv->currency, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	return (lx_conn_step_done(c, st, "carry credit", err));
}

/* The payment terms: days from finalization to due. */
static int64_t due_days = 14;

void
billing_configure(int64_t invoice_due_days)
{
	due_days = invoice_due_days;
}

/*
 * Finalizes draft iv inside c's open transaction: its lines must sum to
 * its total (else 500: a broken invoice is never sent), it takes the next
 * number of the year, and is open until paid, or paid at once when its
 * total is zero or less (nothing to collect).
 */
int
billing_inv_finalize(struct lx_conn *c, int mode, struct billing_invoice *iv,
    int64_t now, struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t sum = 0, seq = 0;
	int rc;

	if (strcmp(iv->status, "draft") != 0)
		return (lx_err_set(err, 409, "invalid_state",
		    "only a draft invoice is finalized; this one is %s",
		    iv->status));
	if ((st = lx_conn_stmt(c, sql_lines_sum[mode], err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, iv->id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		sum = sqlite3_column_int64(st, 0);
	finish(st);
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "sum invoice lines", err));
	if (sum != iv->total)
		return (lx_err_set(err, 500, "invoice_total",
		    "invoice %s: lines sum to %lld, total is %lld", iv->id,
		    (long long)sum, (long long)iv->total));
	if ((st = lx_conn_stmt(c, sql_seq_next, err)) == NULL)
		return (-1);
	sqlite3_bind_int(st, 1, billing_year(now));
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	finish(st);
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "invoice number", err));
	billing_number_format(billing_year(now), seq, iv->number);
	iv->finalized_at = iv->updated_at = now;
	iv->due_at = now + due_days * 86400000;
	if (iv->total <= 0) {
		snprintf(iv->status, sizeof(iv->status), "paid");
		iv->paid_at = now;
		/* A credit beyond the charges is not lost: it goes to the
		 * subscription's next invoice. */
		if (iv->total < 0 && iv->subscription_id[0] != '\0'
		    && credit_forward(c, mode, iv, now, err) == -1)
			return (-1);
	} else
		snprintf(iv->status, sizeof(iv->status), "open");
	if ((st = lx_conn_stmt(c, sql_finalize[mode], err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, iv->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, iv->number, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, iv->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, iv->due_at);
	if (iv->paid_at > 0)
		sqlite3_bind_int64(st, 6, iv->paid_at);
	sqlite3_bind_int64(st, 7, iv->amount_paid);
	return (lx_conn_step_done(c, st, "finalize invoice", err));
}

/* --- payment (system code) --- */

static const char sql_pay_read[] =
    "SELECT status, total, amount_paid, currency, tenant_id, "
    "coalesce(subscription_id, '') FROM invoices WHERE id = ?1";
static const char sql_pay_seen[] =
    "SELECT count(*) FROM payments WHERE invoice_id = ?1 AND method = ?2 "
    "AND provider_ref IS ?3";
static const char sql_pay_ins[] =
    "INSERT INTO payments (id, tenant_id, invoice_id, amount, currency, "
    "method, provider_ref, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
    "?8)";
static const char sql_pay_inv[] =
    "UPDATE invoices SET status = 'paid', amount_paid = total, paid_at = ?2, "
    "updated_at = ?2 WHERE id = ?1 AND status = 'open'";
static const char sql_pay_sub[] =
    "UPDATE subscriptions SET status = 'active', updated_at = ?2 "
    "WHERE id = ?1 AND status = 'past_due'";

static int
emit_paid(struct lx_conn *c, const char *invoice_id, struct lx_err *err)
{
	struct billing_invoice iv;
	int rc;

	if (billing_inv_get(c, TABLES, invoice_id, NULL, &iv, err) == -1)
		return (-1);
	rc = billing_emit_invoice(c, &iv, "invoice.paid", err);
	billing_invoice_cleanup(&iv);
	return (rc);
}

/* The body of pay: c is in system mode. */
static int
pay(struct lx_conn *c, const char *invoice_id, int64_t amount,
    const char *method, const char *provider_ref, const char *actor,
    struct lx_err *err)
{
	char status[16], currency[4], tenant[40], sub[40], id[40], detail[160];
	struct audit_entry e;
	sqlite3_stmt *st;
	int64_t total = 0, paid = 0, now = lx_now_ms();
	int rc, seen = 0;

	if ((st = lx_conn_stmt(c, sql_pay_read, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, invoice_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_copy(st, 0, status, sizeof(status));
		total = sqlite3_column_int64(st, 1);
		paid = sqlite3_column_int64(st, 2);
		col_copy(st, 3, currency, sizeof(currency));
		col_copy(st, 4, tenant, sizeof(tenant));
		col_copy(st, 5, sub, sizeof(sub));
	}
	finish(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(
		    err, 404, "invoice_not_found", "no such invoice"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "read invoice", err));
	if (strcmp(status, "paid") == 0) {
		if ((st = lx_conn_stmt(c, sql_pay_seen, err)) == NULL)
			return (-1);
		sqlite3_bind_text(st, 1, invoice_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, method, -1, SQLITE_STATIC);
		if (provider_ref != NULL)
			sqlite3_bind_text(
			    st, 3, provider_ref, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			seen = sqlite3_column_int(st, 0) > 0;
		finish(st);
		if (rc != SQLITE_ROW)
			return (lx_conn_error(c, rc, "read payments", err));
		if (seen && provider_ref != NULL)
			return (0);
	}
	if (strcmp(status, "open") != 0)
		return (lx_err_set(err, 409, "invalid_state",
		    "only an open invoice is paid; this one is %s", status));
	if (amount != total - paid)
		return (lx_err_set(err, 422, "amount_mismatch",
		    "the invoice is due %lld, not %lld (minor units of %s)",
		    (long long)(total - paid), (long long)amount, currency));
	if ((st = lx_conn_stmt(c, sql_pay_ins, err)) == NULL)
		return (-1);
	auth_uuid(id);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, invoice_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, amount);
	sqlite3_bind_text(st, 5, currency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, method, -1, SQLITE_STATIC);
	if (provider_ref != NULL)
		sqlite3_bind_text(st, 7, provider_ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	if (lx_conn_step_done(c, st, "insert payment", err) == -1)
		return (-1);
	if ((st = lx_conn_stmt(c, sql_pay_inv, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, invoice_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (lx_conn_step_done(c, st, "mark invoice paid", err) == -1)
		return (-1);
	if (sub[0] != '\0') {
		if ((st = lx_conn_stmt(c, sql_pay_sub, err)) == NULL)
			return (-1);
		sqlite3_bind_text(st, 1, sub, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		if (lx_conn_step_done(c, st, "reactivate subscription", err)
		    == -1)
			return (-1);
	}
	snprintf(detail, sizeof(detail),
	    "{\"amount\":%lld,\"currency\":\"%s\",\"method\":\"%s\"}",
	    (long long)amount, currency, method);
	memset(&e, 0, sizeof(e));
	e.actor = actor;
	e.tenant = tenant;
	e.action = "invoice.paid";
	e.target = invoice_id;
	e.detail_json = detail;
	if (audit_record(c, &e, err) == -1)
		return (-1);
	return (emit_paid(c, invoice_id, err));
}

int
billing_invoice_pay(struct lx_conn *c, const char *invoice_id, int64_t amount,
    const char *method, const char *provider_ref, const char *actor,
    struct lx_err *err)
{
	int rc;

	lx_conn_system_begin(c);
	rc = pay(c, invoice_id, amount, method, provider_ref, actor, err);
	lx_conn_system_end(c);
	return (rc);
}

/* --- handlers --- */

static int
inv_audit(const struct lx_req *req, const char *action,
    const struct billing_invoice *iv, struct lx_err *err)
{
	struct audit_entry e;
	char detail[160];

	snprintf(detail, sizeof(detail),
	    "{\"number\":\"%s\",\"status\":\"%s\",\"total\":%lld,"
	    "\"currency\":\"%s\"}",
	    iv->number, iv->status, (long long)iv->total, iv->currency);
	memset(&e, 0, sizeof(e));
	e.actor = req->ident.actor;
	e.tenant = req->tenant.id;
	e.action = action;
	e.target = iv->id;
	e.request_id = req->request_id;
	e.address = req->remote_addr;
	e.detail_json = detail;
	return (audit_record(req->db, &e, err));
}

static void
send_invoice(struct lx_resp *resp, int status, struct billing_invoice *iv)
{
	struct lx_buf b;

	lx_buf_init(&b);
	billing_invoice_json(&b, iv);
	lx_resp_json(resp, status, b.data);
	lx_buf_cleanup(&b);
	billing_invoice_cleanup(iv);
}

static const char sql_list[] =
    "SELECT " INV_COLS " FROM p_invoices WHERE tenant_id = current_tenant() "
    "AND id > ?1 AND (?3 IS NULL OR status = ?3) "
    "AND (?4 IS NULL OR subscription_id = ?4) ORDER BY id LIMIT ?2";

int
billing_invoices_list(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	static const char *const states[] = { "draft", "open", "paid", "void",
		"uncollectible" };
	char num[24], cursor[48], status[16], sub[48], tid[40];
	struct lx_qarg args[] = {
		{ "limit", num, sizeof(num), 0 },
		{ "cursor", cursor, sizeof(cursor), 0 },
		{ "status", status, sizeof(status), 0 },
		{ "subscription_id", sub, sizeof(sub), 0 },
		{ "tenant_id", tid, sizeof(tid), 0 },
		{ NULL, NULL, 0, 0 },
	};
	struct billing_invoice iv;
	struct lx_buf b;
	sqlite3_stmt *st;
	size_t i;
	int n = 0, limit, rc, ok = 0;
	char last[40] = "";

	if (lx_query_args(req->query, args, err) == -1
	    || tenants_limit_arg(&args[0], &limit, err) == -1)
		return (tenants_http_fail(req, resp, err));
	for (i = 0; i < LX_NELEM(states) && status[0] != '\0'; i++)
		ok |= strcmp(states[i], status) == 0;
	if (status[0] != '\0' && !ok) {
		lx_err_set(err, 400, "invalid_parameter",
		    "status is draft, open, paid, void or uncollectible");
		return (tenants_http_fail(req, resp, err));
	}
	if ((st = lx_conn_stmt(req->db, sql_list, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, cursor, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit + 1);
	if (status[0] != '\0')
		sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	if (sub[0] != '\0')
		sqlite3_bind_text(st, 4, sub, -1, SQLITE_STATIC);
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"invoices\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < limit) {
		inv_row(st, &iv);
		if (n++ > 0)
			lx_buf_adds(&b, ",");
		billing_invoice_json(&b, &iv);
		snprintf(last, sizeof(last), "%s", iv.id);
	}
	finish(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		lx_buf_cleanup(&b);
		return (lx_conn_error(req->db, rc, "list invoices", err));
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	lx_buf_add_json_str_or_null(&b, rc == SQLITE_ROW ? last : NULL);
	lx_buf_adds(&b, "}");
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

/* 1 if the client prefers HTML (a browser opening the invoice). */
static int
wants_html(const struct lx_req *req)
{
	const char *a = lx_req_header(req, "Accept");

	return (a != NULL && strstr(a, "text/html") != NULL
	    && (strstr(a, "application/json") == NULL
	        || strstr(a, "text/html") < strstr(a, "application/json")));
}

int
billing_invoice_get(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct billing_invoice iv;
	struct tenant t;
	struct lx_buf b;

	memset(&t, 0, sizeof(t));
	if (billing_inv_get(req->db, VIEWS, lx_req_param(req, "id"),
	        req->tenant.id, &iv, err)
	    == -1)
		return (tenants_http_fail(req, resp, err));
	if (!wants_html(req)) {
		send_invoice(resp, 200, &iv);
		return (0);
	}
	if (tenants_store_get(req->db, req->tenant.id, &t, err) == -1) {
		billing_invoice_cleanup(&iv);
		return (tenants_http_fail(req, resp, err));
	}
	lx_buf_init(&b);
	invoice_html(&b, &iv, &t);
	billing_invoice_cleanup(&iv);
	lx_resp_json(resp, 200, b.data);
	resp->content_type = "text/html; charset=utf-8";
	lx_buf_cleanup(&b);
	return (0);
}

int
billing_invoice_create(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct billing_subscription s;
	struct billing_invoice iv;
	int rc;

	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_store_sub_get(
	        req->db, lx_req_body_str(req, "subscription_id"), &s, err)
	    == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if (strcmp(s.status, "canceled") == 0) {
		lx_err_set(err, 409, "invalid_state",
		    "the subscription is canceled; its last period was "
		    "invoiced when it ended");
		return (tenants_http_fail_tx(req, resp, err));
	}
	rc = billing_inv_build(req->db, VIEWS, &s, s.current_period_start,
	    s.current_period_end, strcmp(s.status, "trialing") == 0, "manual",
	    &iv, err);
	if (rc == 1) {
		lx_err_set(err, 409, "nothing_to_invoice",
		    "the current period has nothing to bill yet (a trial, a "
		    "free plan and no usage beyond it)");
		return (tenants_http_fail_tx(req, resp, err));
	}
	if (rc == -1 || inv_audit(req, "invoice.create", &iv, err) == -1
	    || billing_emit_invoice(req->db, &iv, "invoice.created", err) == -1
	    || lx_conn_commit(req->db, err) == -1) {
		billing_invoice_cleanup(&iv);
		return (tenants_http_fail_tx(req, resp, err));
	}
	send_invoice(resp, 201, &iv);
	return (0);
}

int
billing_invoice_finalize(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct billing_invoice iv;

	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_inv_get(req->db, VIEWS, lx_req_param(req, "id"),
	        req->tenant.id, &iv, err)
	        == -1
	    || billing_inv_finalize(req->db, VIEWS, &iv, lx_now_ms(), err) == -1
	    || inv_audit(req, "invoice.finalize", &iv, err) == -1
	    || billing_emit_invoice(req->db, &iv, "invoice.finalized", err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1) {
		billing_invoice_cleanup(&iv);
		return (tenants_http_fail_tx(req, resp, err));
	}
	send_invoice(resp, 200, &iv);
	return (0);
}

static const char sql_void[] =
    "UPDATE p_invoices SET status = ?2, voided_at = ?3, renewal_key = "
    "CASE WHEN ?2 = 'void' THEN NULL ELSE renewal_key END, updated_at = ?4 "
    "WHERE id = ?1 AND tenant_id = current_tenant() AND status IN (?5, ?6)";

/* open|uncollectible -> void, open -> uncollectible. A voided period may
 * be invoiced again (its renewal key is released). */
static int
inv_close(struct lx_req *req, struct lx_resp *resp, const char *to,
    struct lx_err *err)
{
	int is_void = strcmp(to, "void") == 0;
	struct billing_invoice iv;
	sqlite3_stmt *st;
	int64_t now = lx_now_ms();

	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_inv_get(req->db, VIEWS, lx_req_param(req, "id"),
	        req->tenant.id, &iv, err)
	    == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if (strcmp(iv.status, "open") != 0
	    && !(is_void && strcmp(iv.status, "uncollectible") == 0)) {
		lx_err_set(err, 409, "invalid_state",
		    "%s the invoice needs it %s; it is %s",
		    is_void ? "voiding" : "marking uncollectible",
		    is_void ? "open or uncollectible" : "open", iv.status);
		billing_invoice_cleanup(&iv);
		return (tenants_http_fail_tx(req, resp, err));
	}
	if ((st = lx_conn_stmt(req->db, sql_void, err)) == NULL) {
		billing_invoice_cleanup(&iv);
		return (tenants_http_fail_tx(req, resp, err));
	}
	sqlite3_bind_text(st, 1, iv.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	if (is_void)
		sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_text(st, 5, "open", -1, SQLITE_STATIC);
	sqlite3_bind_text(
	    st, 6, is_void ? "uncollectible" : "open", -1, SQLITE_STATIC);
	snprintf(iv.status, sizeof(iv.status), "%s", to);
	if (is_void)
		iv.voided_at = now;
	iv.updated_at = now;
	if (lx_conn_step_done(req->db, st, "close invoice", err) == -1
	    || inv_audit(req,
	           is_void ? "invoice.void" : "invoice.uncollectible", &iv, err)
	        == -1
	    || billing_emit_invoice(req->db, &iv,
	           is_void ? "invoice.voided" : "invoice.marked_uncollectible",
	           err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1) {
		billing_invoice_cleanup(&iv);
		return (tenants_http_fail_tx(req, resp, err));
	}
	send_invoice(resp, 200, &iv);
	return (0);
}

int
billing_invoice_void(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	return (inv_close(req, resp, "void", err));
}

int
billing_invoice_uncollectible(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	return (inv_close(req, resp, "uncollectible", err));
}

/* System code: the foreign-key actions of a deleted invoice (lines
 * cascade, items set free) run outside any policy object, which the
 * authorizer refuses, so the deletion runs on the base tables once the
 * view has shown the draft is the caller's. */
static const char sql_draft_del[] =
    "DELETE FROM invoices WHERE id = ?1 AND status = 'draft'";

/* A draft is deleted, not voided: its pending items wait for the next
 * invoice again and its period may be invoiced anew. */
int
billing_invoice_delete(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct billing_invoice iv;
	sqlite3_stmt *st;
	int rc;

	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_inv_get(req->db, VIEWS, lx_req_param(req, "id"),
	        req->tenant.id, &iv, err)
	    == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if (strcmp(iv.status, "draft") != 0) {
		lx_err_set(err, 409, "invalid_state",
		    "only a draft invoice is deleted; void a finalized one");
		billing_invoice_cleanup(&iv);
		return (tenants_http_fail_tx(req, resp, err));
	}
	lx_conn_system_begin(req->db);
	if ((st = lx_conn_stmt(req->db, sql_draft_del, err)) != NULL) {
		sqlite3_bind_text(st, 1, iv.id, -1, SQLITE_STATIC);
		rc = lx_conn_step_done(req->db, st, "delete draft", err);
	} else
		rc = -1;
	lx_conn_system_end(req->db);
	if (rc == -1)
		goto fail;
	if (inv_audit(req, "invoice.delete", &iv, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		goto fail;
	billing_invoice_cleanup(&iv);
	resp->status = 204;
	return (0);
fail:
	billing_invoice_cleanup(&iv);
	return (tenants_http_fail_tx(req, resp, err));
}

int
billing_invoice_mark_paid(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(req->body, "amount");
	const char *ref = lx_req_body_str(req, "reference");
	struct billing_invoice iv;
	int64_t amount;

	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (billing_inv_get(req->db, VIEWS, lx_req_param(req, "id"),
	        req->tenant.id, &iv, err)
	    == -1)
		return (tenants_http_fail_tx(req, resp, err));
	amount = a != NULL && cJSON_IsNumber(a) ? (int64_t)a->valuedouble
	                                        : iv.total - iv.amount_paid;
	billing_invoice_cleanup(&iv);
	if (billing_invoice_pay(req->db, lx_req_param(req, "id"), amount,
	        "manual", ref, req->ident.actor, err)
	        == -1
	    || billing_inv_get(req->db, VIEWS, lx_req_param(req, "id"),
	           req->tenant.id, &iv, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1) {
		billing_invoice_cleanup(&iv);
		return (tenants_http_fail_tx(req, resp, err));
	}
	send_invoice(resp, 200, &iv);
	return (0);
}

static const struct lx_field invoice_fields[] = {
	{ "subscription_id", F_STRING, 1, 64 },
	{ NULL, 0, 0, 0 },
};
const struct lx_schema billing_invoice_schema = { invoice_fields };
static const struct lx_field pay_fields[] = {
	{ "amount", F_INT, 0, 0 },
	{ "reference", F_STRING, 0, 200 },
	{ NULL, 0, 0, 0 },
};
const struct lx_schema billing_pay_schema = { pay_fields };
