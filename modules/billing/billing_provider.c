/*
 * Incoming payment-provider webhooks: POST /billing/webhooks/{provider}.
 * The checks, in order, each refusing early: the provider is known (404
 * "unknown_provider"), has a signing secret (503
 * "provider_not_configured"), the signature holds over the body's exact
 * bytes (the route takes them raw, lx_raw_body) and is fresh (400), the
 * body is an event (400); then one transaction records the event id in
 * provider_events with the state change it makes, so a replayed event
 * changes nothing and answers {"received": true, "replay": true}. Events
 * not mapped, or about objects we do not have, are recorded as "ignored:
 * <why>" and answered 200 (a provider retries anything else for days). A
 * mapping that the state refuses (a void invoice paid) answers its 4xx and
 * records nothing, so the provider's retries and dashboard show it.
 *
 * The providers live in one table: the built-in Stripe (billing_stripe.c),
 * the example "paddle" (billing_paddle.c) and whatever a deployment
 * registers (billing_provider_register). The signature is checked here in
 * C; what an event means in our terms (struct billing_event) comes from
 * the billing/webhookHandler hook script (billing_hooks.c), or, when that
 * hook has no script, from the provider's C reader. Applying it to our
 * state (billing_provider_apply) is shared and provider-neutral; a
 * provider may bring its own. System code on the base tables.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "billing.h"
#include "tenants.h"

#define PROVIDERS_MAX 8
#define TOLERANCE_DEFAULT_S 300

struct slot {
	const struct billing_provider *p;
	char *secret; /* sodium_malloc, read-only; NULL: not configured */
	int64_t tolerance_s; /* seconds a signature's timestamp may be off */
};

/* Filled before the server starts, read-only while it runs. */
static struct slot slots[PROVIDERS_MAX] = {
	{ &billing_stripe_provider, NULL, TOLERANCE_DEFAULT_S },
	{ &billing_paddle_provider, NULL, TOLERANCE_DEFAULT_S },
};
static int nslots = 2;

static struct slot *
slot_find(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < nslots; i++)
		if (strcmp(slots[i].p->name, name) == 0)
			return (&slots[i]);
	return (NULL);
}

int
billing_provider_register(const struct billing_provider *p, struct lx_err *err)
{
	struct slot *s;

	if ((s = slot_find(p->name)) != NULL) {
		s->p = p;
		return (0);
	}
	if (nslots == PROVIDERS_MAX)
		return (lx_err_set(err, 500, "too_many_providers",
		    "at most %d payment providers", PROVIDERS_MAX));
	slots[nslots].p = p;
	slots[nslots].secret = NULL;
	slots[nslots].tolerance_s = TOLERANCE_DEFAULT_S;
	nslots++;
	return (0);
}

void
billing_provider_shutdown(void)
{
	int i;

	for (i = 0; i < nslots; i++) {
		sodium_free(slots[i].secret); /* wipes */
		slots[i].secret = NULL;
	}
}

/* "LUXIMA_STRIPE_WEBHOOK_SECRET" for "stripe". */
static void
secret_env(const char *name, char *out, size_t len)
{
	size_t i;

	snprintf(out, len, "LUXIMA_%s_WEBHOOK_SECRET", name);
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
}

int
billing_provider_init(struct lx_server *srv, struct lx_err *err)
{
	char env[96], key[96];
	const char *v;
	size_t n;
	int i;

	(void)err;
	billing_provider_shutdown();
	for (i = 0; i < nslots; i++) {
		secret_env(slots[i].p->name, env, sizeof(env));
		snprintf(key, sizeof(key), "billing.%s_webhook_secret",
		    slots[i].p->name);
		if ((v = getenv(env)) == NULL || *v == '\0')
			v = lx_server_conf(srv, key);
		snprintf(key, sizeof(key), "billing.%s_tolerance_s",
		    slots[i].p->name);
		slots[i].tolerance_s =
		    tenants_conf_int(srv, key, TOLERANCE_DEFAULT_S, 1, 86400);
		if (v == NULL || *v == '\0') {
			lx_log(LX_LOG_DEBUG,
			    "billing: no %s or billing.%s_webhook_secret: "
			    "POST /billing/webhooks/%s answers 503",
			    env, slots[i].p->name, slots[i].p->name);
			continue;
		}
		n = strlen(v);
		if ((slots[i].secret = sodium_malloc(n + 1)) == NULL)
			abort();
		memcpy(slots[i].secret, v, n + 1);
		sodium_mprotect_readonly(slots[i].secret);
		lx_log(LX_LOG_INFO,
		    "billing: %s webhooks accepted at /billing/webhooks/%s "
		    "(timestamp tolerance %lld s)",
		    slots[i].p->name, slots[i].p->name,
		    (long long)slots[i].tolerance_s);
	}
	return (0);
}

/* --- statements (system code, base tables) --- */

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

/* An invoice as the mapping needs it. */
struct inv {
	char id[40];
	char tenant_id[40];
	char sub_id[40]; /* "" if none */
	char status[16];
	char currency[4];
	char provider[16]; /* "" if none */
	char ref[BILLING_REF_MAX + 1]; /* the provider's id, "" if none */
	int64_t due; /* total less what was paid */
};

#define INV_COLS \
	"id, tenant_id, coalesce(subscription_id, ''), status, currency, " \
	"coalesce(provider, ''), coalesce(provider_ref, ''), " \
	"total - amount_paid"
static const char sql_inv_ref[] = "SELECT " INV_COLS " FROM invoices "
                                  "WHERE provider = ?1 AND provider_ref = ?2";
static const char sql_inv_id[] = "SELECT " INV_COLS " FROM invoices "
                                 "WHERE id = ?1";
static const char sql_inv_link[] =
    "UPDATE invoices SET provider = ?2, provider_ref = ?3, updated_at = ?4 "
    "WHERE id = ?1 AND provider_ref IS NULL";

static const char sql_sub_ref[] =
    "SELECT " BILLING_SUB_COLS " FROM subscriptions "
    "WHERE provider = ?1 AND provider_ref = ?2";
static const char sql_sub_id[] =
    "SELECT " BILLING_SUB_COLS " FROM subscriptions "
    "WHERE id = ?1";
static const char sql_sub_write[] =
    "UPDATE subscriptions SET status = ?2, cancel_at_period_end = ?3, "
    "current_period_start = ?4, current_period_end = ?5, canceled_at = ?6, "
    "provider = ?7, provider_ref = ?8, updated_at = ?9 WHERE id = ?1";

static const char sql_event_seen[] =
    "SELECT outcome FROM provider_events WHERE provider = ?1 "
    "AND event_id = ?2";
static const char sql_event_add[] =
    "INSERT INTO provider_events (provider, event_id, type, tenant_id, "
    "outcome, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static void
inv_row(sqlite3_stmt *st, struct inv *iv)
{
	memset(iv, 0, sizeof(*iv));
	col_copy(st, 0, iv->id, sizeof(iv->id));
	col_copy(st, 1, iv->tenant_id, sizeof(iv->tenant_id));
	col_copy(st, 2, iv->sub_id, sizeof(iv->sub_id));
	col_copy(st, 3, iv->status, sizeof(iv->status));
	col_copy(st, 4, iv->currency, sizeof(iv->currency));
	col_copy(st, 5, iv->provider, sizeof(iv->provider));
	col_copy(st, 6, iv->ref, sizeof(iv->ref));
	iv->due = sqlite3_column_int64(st, 7);
}

/*
 * Runs a lookup by (provider, ref) when ref is given, else by our id:
 * 1 with the row read by fill, 0 when none, -1 with err.
 */
static int
lookup(struct lx_conn *c, const char *sql_ref, const char *sql_id,
    const char *provider, const char *ref, const char *id,
    void (*fill)(sqlite3_stmt *, void *), void *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (ref[0] == '\0' && id[0] == '\0')
		return (0);
	if ((st = lx_conn_stmt(c, ref[0] != '\0' ? sql_ref : sql_id, err))
	    == NULL)
		return (-1);
	if (ref[0] != '\0') {
		sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
	} else
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fill(st, out);
	finish(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "provider lookup", err));
	return (rc == SQLITE_ROW);
}

static void
fill_inv(sqlite3_stmt *st, void *out)
{
	inv_row(st, out);
}

static void
fill_sub(sqlite3_stmt *st, void *out)
{
	billing_store_sub_row(st, out);
}

/*
 * Our invoice for (ref, id): by the provider's ref, else by our id from
 * the metadata, unless that row is linked to another object of the
 * provider. 1 found (*link: 1 when found by our id, so the ref is to be
 * recorded), 0 not (*iv zeroed), -1 err.
 */
static int
find_inv(struct lx_conn *c, const char *provider, const char *ref,
    const char *id, struct inv *iv, int *link, struct lx_err *err)
{
	int rc;

	memset(iv, 0, sizeof(*iv));
	*link = 0;
	if ((rc = lookup(c, sql_inv_ref, sql_inv_id, provider, ref, "",
	         fill_inv, iv, err))
	    != 0)
		return (rc);
	if ((rc = lookup(c, sql_inv_ref, sql_inv_id, provider, "", id, fill_inv,
	         iv, err))
	    != 1)
		return (rc);
	if (iv->ref[0] != '\0') {
		memset(iv, 0, sizeof(*iv));
		return (0);
	}
	*link = ref[0] != '\0';
	return (1);
}

/* As find_inv for a subscription. */
static int
find_sub(struct lx_conn *c, const char *provider, const char *ref,
    const char *id, struct billing_subscription *s, int *link,
    struct lx_err *err)
{
	int rc;

	memset(s, 0, sizeof(*s));
	*link = 0;
	if ((rc = lookup(c, sql_sub_ref, sql_sub_id, provider, ref, "",
	         fill_sub, s, err))
	    != 0)
		return (rc);
	if ((rc = lookup(c, sql_sub_ref, sql_sub_id, provider, "", id, fill_sub,
	         s, err))
	    != 1)
		return (rc);
	if (s->provider_ref[0] != '\0') {
		memset(s, 0, sizeof(*s));
		return (0);
	}
	*link = ref[0] != '\0';
	return (1);
}

static int
inv_link(struct lx_conn *c, const char *provider, const struct inv *iv,
    const char *ref, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_inv_link, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, iv->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, lx_now_ms());
	return (lx_conn_step_done(c, st, "link invoice", err));
}

static int
sub_write(
    struct lx_conn *c, const struct billing_subscription *s, struct lx_err *err)
{
	sqlite3_stmt *st;

	if ((st = lx_conn_stmt(c, sql_sub_write, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, s->cancel_at_period_end);
	sqlite3_bind_int64(st, 4, s->current_period_start);
	sqlite3_bind_int64(st, 5, s->current_period_end);
	if (s->canceled_at > 0)
		sqlite3_bind_int64(st, 6, s->canceled_at);
	if (s->provider_ref[0] != '\0') {
		sqlite3_bind_text(st, 7, s->provider, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, s->provider_ref, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 9, s->updated_at);
	return (lx_conn_step_done(c, st, "provider subscription", err));
}

/* --- the mapping --- */

static void
ignored(struct billing_event *ev, const char *why)
{
	snprintf(ev->outcome, sizeof(ev->outcome), "ignored: %s", why);
}

/* An audit record of a change the provider made to subscription s. */
static int
sub_audit(struct lx_conn *c, const struct billing_provider *p,
    const struct billing_event *ev, const char *action,
    const struct billing_subscription *s, const char *invoice,
    struct lx_err *err)
{
	struct audit_entry e;
	struct lx_buf b;
	char actor[48];
	int rc;

	snprintf(actor, sizeof(actor), "provider:%s", p->name);
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"provider\":");
	lx_buf_add_json_str(&b, p->name);
	lx_buf_adds(&b, ",\"event\":");
	lx_buf_add_json_str(&b, ev->id);
	lx_buf_adds(&b, ",\"type\":");
	lx_buf_add_json_str(&b, ev->type);
	lx_buf_adds(&b, ",\"status\":");
	lx_buf_add_json_str(&b, s->status);
	lx_buf_adds(&b,
	    s->cancel_at_period_end ? ",\"cancel_at_period_end\":true"
	                            : ",\"cancel_at_period_end\":false");
	lx_buf_adds(&b, ",\"current_period_start\":");
	lx_buf_add_time_json(&b, s->current_period_start);
	lx_buf_adds(&b, ",\"current_period_end\":");
	lx_buf_add_time_json(&b, s->current_period_end);
	lx_buf_adds(&b, ",\"canceled_at\":");
	lx_buf_add_time_json(&b, s->canceled_at);
	lx_buf_adds(&b, ",\"provider_ref\":");
	lx_buf_add_json_str_or_null(&b, s->provider_ref);
	if (invoice != NULL) {
		lx_buf_adds(&b, ",\"invoice\":");
		lx_buf_add_json_str(&b, invoice);
	}
	lx_buf_adds(&b, "}");
	memset(&e, 0, sizeof(e));
	e.actor = actor;
	e.tenant = s->tenant_id;
	e.action = action;
	e.target = s->id;
	e.request_id = ev->request_id;
	e.address = ev->address;
	e.detail_json = b.data;
	rc = audit_record(c, &e, err);
	lx_buf_cleanup(&b);
	return (rc);
}

/* The outgoing webhook event (webhooks_emit) of subscription s. */
static int
emit_sub(struct lx_conn *c, const struct billing_subscription *s,
    const char *type, struct lx_err *err)
{
	struct billing_plan plan;

	if (billing_store_plan_by_id(c, s->plan_id, &plan, err) == -1)
		return (-1);
	return (billing_emit_sub(c, s, plan.code, type, err));
}

/* The outgoing "invoice.payment_failed" event of our invoice id. */
static int
emit_failed(struct lx_conn *c, const char *id, struct lx_err *err)
{
	struct billing_invoice iv;
	int rc;

	memset(&iv, 0, sizeof(iv));
	rc = billing_inv_get(c, BILLING_TABLES, id, NULL, &iv, err);
	if (rc == 0)
		rc =
		    billing_emit_invoice(c, &iv, "invoice.payment_failed", err);
	billing_invoice_cleanup(&iv);
	return (rc);
}

static int
invoice_paid(struct lx_conn *c, const struct billing_provider *p,
    struct billing_event *ev, struct lx_err *err)
{
	struct inv iv;
	char actor[48];
	int rc, link;

	if ((rc = find_inv(c, p->name, ev->ref, ev->our_id, &iv, &link, err))
	    != 1) {
		if (rc == 0)
			ignored(ev, "no matching invoice");
		return (rc);
	}
	snprintf(ev->tenant_id, sizeof(ev->tenant_id), "%s", iv.tenant_id);
	snprintf(actor, sizeof(actor), "provider:%s", p->name);
	if (strcmp(iv.status, "paid") == 0) {
		/* By this payment (a no-op), or by hand before it came. */
		if (billing_invoice_pay(
		        c, iv.id, iv.due, p->name, ev->ref, actor, err)
		    == -1) {
			if (err->status != 409)
				return (-1);
			lx_log(LX_LOG_WARN,
			    "billing: %s event %s pays invoice %s, which was "
			    "paid by other means: refund one of them",
			    p->name, ev->id, iv.id);
		}
		ignored(ev, "invoice already paid");
		return (0);
	}
	if (ev->currency[0] != '\0' && strcmp(ev->currency, iv.currency) != 0)
		return (lx_err_set(err, 422, "currency_mismatch",
		    "the invoice is in %s, the payment in %s", iv.currency,
		    ev->currency));
	if (link && inv_link(c, p->name, &iv, ev->ref, err) == -1)
		return (-1);
	if (billing_invoice_pay(c, iv.id, ev->amount >= 0 ? ev->amount : iv.due,
	        p->name, ev->ref[0] != '\0' ? ev->ref : NULL, actor, err)
	    == -1)
		return (-1);
	snprintf(ev->outcome, sizeof(ev->outcome), "applied");
	return (0);
}

static int
invoice_failed(struct lx_conn *c, const struct billing_provider *p,
    struct billing_event *ev, struct lx_err *err)
{
	struct billing_subscription s;
	struct inv iv;
	int rc, link = 0, sub_link = 0;

	if ((rc = find_inv(c, p->name, ev->ref, ev->our_id, &iv, &link, err))
	    == -1)
		return (-1);
	if (rc == 1) {
		snprintf(
		    ev->tenant_id, sizeof(ev->tenant_id), "%s", iv.tenant_id);
		if (strcmp(iv.status, "open") != 0) {
			ignored(ev, "the invoice is not open");
			return (0);
		}
	}
	/* Its subscription: our invoice's, else the provider's. */
	if (rc == 1 && iv.sub_id[0] != '\0')
		rc = lookup(c, sql_sub_ref, sql_sub_id, p->name, "", iv.sub_id,
		    fill_sub, &s, err);
	else
		rc = find_sub(c, p->name, ev->sub_ref, ev->sub_our_id, &s,
		    &sub_link, err);
	if (rc != 1) {
		if (rc == 0)
			ignored(ev, "no matching subscription");
		return (rc);
	}
	snprintf(ev->tenant_id, sizeof(ev->tenant_id), "%s", s.tenant_id);
	if (strcmp(s.status, "canceled") == 0) {
		ignored(ev, "the subscription is canceled");
		return (0);
	}
	if (strcmp(s.status, "past_due") == 0 && !link && !sub_link) {
		ignored(ev, "the subscription is past_due already");
		return (0);
	}
	if (link && inv_link(c, p->name, &iv, ev->ref, err) == -1)
		return (-1);
	if (sub_link) {
		snprintf(s.provider, sizeof(s.provider), "%s", p->name);
		snprintf(
		    s.provider_ref, sizeof(s.provider_ref), "%s", ev->sub_ref);
	}
	snprintf(s.status, sizeof(s.status), "past_due");
	s.updated_at = lx_now_ms();
	if (sub_write(c, &s, err) == -1
	    || sub_audit(c, p, ev, "subscription.past_due", &s,
	           iv.id[0] != '\0' ? iv.id : NULL, err)
	        == -1
	    || emit_sub(c, &s, "subscription.updated", err) == -1
	    || (iv.id[0] != '\0' && emit_failed(c, iv.id, err) == -1))
		return (-1);
	snprintf(ev->outcome, sizeof(ev->outcome), "applied");
	return (0);
}

static int
sub_changed(struct lx_conn *c, const struct billing_provider *p,
    struct billing_event *ev, struct lx_err *err)
{
	struct billing_subscription s, was;
	struct billing_plan def;
	int rc, link, cancel;

	if ((rc = find_sub(c, p->name, ev->ref, ev->our_id, &s, &link, err))
	    != 1) {
		if (rc == 0)
			ignored(ev, "no matching subscription");
		return (rc);
	}
	snprintf(ev->tenant_id, sizeof(ev->tenant_id), "%s", s.tenant_id);
	if (strcmp(s.status, "canceled") == 0) {
		ignored(ev, "the subscription is canceled");
		return (0);
	}
	was = s;
	cancel = ev->kind == BILLING_EVENT_SUB_DELETED
	    || strcmp(ev->status, "canceled") == 0;
	if (cancel) {
		snprintf(s.status, sizeof(s.status), "canceled");
		s.canceled_at =
		    ev->canceled_at > 0 ? ev->canceled_at : lx_now_ms();
	} else if (ev->status[0] != '\0')
		snprintf(s.status, sizeof(s.status), "%s", ev->status);
	if (ev->cancel_at_period_end >= 0)
		s.cancel_at_period_end = ev->cancel_at_period_end;
	if (ev->period_end > 0) {
		s.current_period_start = ev->period_start;
		s.current_period_end = ev->period_end;
	}
	if (link) {
		snprintf(s.provider, sizeof(s.provider), "%s", p->name);
		snprintf(s.provider_ref, sizeof(s.provider_ref), "%s", ev->ref);
	}
	if (!link && strcmp(s.status, was.status) == 0
	    && s.cancel_at_period_end == was.cancel_at_period_end
	    && s.current_period_start == was.current_period_start
	    && s.current_period_end == was.current_period_end) {
		ignored(ev, "nothing changed");
		return (0);
	}
	s.updated_at = lx_now_ms();
	if (sub_write(c, &s, err) == -1)
		return (-1);
	/* Canceled: the tenant is back on the default plan. */
	if (cancel
	    && (billing_store_plan_default(c, &def, err) == -1
	        || billing_store_tenant_set_plan(c, s.tenant_id, def.code, err)
	            == -1))
		return (-1);
	if (sub_audit(c, p, ev,
	        cancel ? "subscription.cancel" : "subscription.update", &s,
	        NULL, err)
	        == -1
	    || emit_sub(c, &s,
	           cancel ? "subscription.canceled" : "subscription.updated",
	           err)
	        == -1)
		return (-1);
	snprintf(ev->outcome, sizeof(ev->outcome), "applied");
	return (0);
}

int
billing_provider_apply(struct lx_conn *c, const struct billing_provider *p,
    struct billing_event *ev, struct lx_err *err)
{
	int rc = 0;

	lx_conn_system_begin(c);
	switch (ev->kind) {
	case BILLING_EVENT_INVOICE_PAID:
		rc = invoice_paid(c, p, ev, err);
		break;
	case BILLING_EVENT_INVOICE_FAILED:
		rc = invoice_failed(c, p, ev, err);
		break;
	case BILLING_EVENT_SUB_UPDATED:
	case BILLING_EVENT_SUB_DELETED:
		rc = sub_changed(c, p, ev, err);
		break;
	case BILLING_EVENT_OTHER:
		snprintf(
		    ev->outcome, sizeof(ev->outcome), "ignored: %s", ev->type);
		break;
	}
	lx_conn_system_end(c);
	return (rc);
}

/* --- the route --- */

/*
 * Records ev once, with its change, in one transaction: *replay 1 (and
 * ev->outcome the first delivery's) when its id was recorded before.
 */
static int
receive(struct lx_conn *c, const struct billing_provider *p,
    struct billing_event *ev, int *replay, struct lx_err *err)
{
	sqlite3_stmt *st;
	int rc, ret = -1;

	*replay = 0;
	lx_conn_system_begin(c);
	if (lx_conn_begin(c, err) == -1)
		goto out;
	if ((st = lx_conn_stmt(c, sql_event_seen, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_copy(st, 0, ev->outcome, sizeof(ev->outcome));
		*replay = 1;
	}
	finish(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "provider event", err);
		goto out;
	}
	if (*replay) {
		ret = 0;
		goto out;
	}
	if ((p->map != NULL ? p->map : billing_provider_apply)(c, p, ev, err)
	    == -1)
		goto out;
	if ((st = lx_conn_stmt(c, sql_event_add, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ev->type, -1, SQLITE_STATIC);
	if (ev->tenant_id[0] != '\0')
		sqlite3_bind_text(st, 4, ev->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ev->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, lx_now_ms());
	if (lx_conn_step_done(c, st, "record provider event", err) == -1
	    || lx_conn_commit(c, err) == -1)
		goto out;
	ret = 0;
out:
	lx_conn_rollback(c); /* none open after a commit */
	lx_conn_system_end(c);
	return (ret);
}

int
billing_provider_webhook(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *name = lx_req_param(req, "provider");
	struct billing_event ev;
	struct lx_buf b;
	struct slot *s;
	char env[96];
	int replay, mapped = 0;

	if ((s = slot_find(name)) == NULL) {
		lx_err_set(err, 404, "unknown_provider",
		    "no payment provider is called '%.40s'", name);
		goto refuse;
	}
	if (s->secret == NULL) {
		secret_env(s->p->name, env, sizeof(env));
		lx_err_set(err, 503, "provider_not_configured",
		    "%s webhooks are off: the server has no signing secret "
		    "(%s or billing.%s_webhook_secret)",
		    s->p->name, env, s->p->name);
		goto refuse;
	}
	if (s->p->verify(lx_req_header(req, s->p->sig_header), req->raw_body,
	        req->raw_len, s->secret, lx_now_ms() / 1000, s->tolerance_s,
	        err)
	        == -1
	    || billing_hook_event(
	           s->p, req->raw_body, req->raw_len, &ev, &mapped, err)
	        == -1)
		goto refuse;
	if (!mapped && s->p->read == NULL) {
		lx_err_set(err, 503, "provider_not_configured",
		    "%s events are mapped by the billing/webhookHandler hook, "
		    "which has no script here",
		    s->p->name);
		goto refuse;
	}
	if (!mapped && s->p->read(req->raw_body, req->raw_len, &ev, err) == -1)
		goto refuse;
	ev.request_id = req->request_id;
	ev.address = req->remote_addr;
	if (receive(req->db, s->p, &ev, &replay, err) == -1) {
		if (err->status >= 500)
			return (-1);
		lx_log(LX_LOG_WARN, "billing: %s event %s (%s) refused: %s: %s",
		    s->p->name, ev.id, ev.type, err->code, err->detail);
		goto refuse;
	}
	lx_log(LX_LOG_INFO, "billing: %s event %s (%s): %s%s", s->p->name,
	    ev.id, ev.type, replay ? "replay of " : "", ev.outcome);
	if (!replay && ev.tenant_id[0] != '\0'
	    && strcmp(ev.outcome, "applied") == 0)
		billing_meter_forget(ev.tenant_id);
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"received\":true,\"replay\":");
	lx_buf_adds(&b, replay ? "true" : "false");
	lx_buf_adds(&b, ",\"event\":");
	lx_buf_add_json_str(&b, ev.id);
	lx_buf_adds(&b, ",\"outcome\":");
	lx_buf_add_json_str(&b, ev.outcome);
	lx_buf_adds(&b, "}");
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
refuse:
	if (err->status >= 500 && err->status != 503)
		return (-1);
	lx_resp_problem(
	    resp, err->status, err->code, err->detail, req->request_id);
	return (0);
}
