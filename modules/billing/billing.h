/*
 * Billing: plans and their limits, each tenant's subscription, invoices
 * with gapless numbers, payments and the renewal job. Money is an int64
 * amount of minor units beside an ISO 4217 code; no floating point touches
 * an amount.
 *
 * Files: billing.c (rules: billing periods, proration, invoice numbers,
 * money text; no SQL, no HTTP), billing_store.c (statements: plans as
 * system tables, tenant rows through the policy views), billing_http.c (the
 * route table: /plans, /admin/plans, /subscriptions), billing_invoices.c
 * (/invoices, invoice creation, finalization, payment, HTML, the renewal
 * job), billing_provider.c, billing_stripe.c and billing_paddle.c
 * (incoming payment-provider webhooks), billing_hooks.c (the
 * billing/createInvoice, updateSubscription and webhookHandler hook
 * scripts).
 *
 * Subscriptions are billed in arrears: a period's invoice holds the fee of
 * the plan the period began on, the proration items of plan changes within
 * it (a credit for the old plan's unused time, a charge for the new plan's)
 * and metered usage beyond what the plan includes. The renewal job closes
 * each period once, in one transaction with its invoice.
 */
#ifndef LX_BILLING_H
#define LX_BILLING_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "storage.h"

#define BILLING_CODE_MAX 40 /* bytes of a plan code */
#define BILLING_NAME_MAX 200
#define BILLING_DESC_MAX 2000
#define BILLING_AMOUNT_MAX 100000000000LL /* minor units of one price */
#define BILLING_NMETRICS 6

/* The metrics a plan limits, in display order. */
extern const char *const billing_metrics[BILLING_NMETRICS];
/* The index of metric in billing_metrics, or -1. */
int billing_metric_index(const char *metric);

struct billing_limit {
	int set; /* 1: the plan has a row for this metric */
	int64_t quota; /* hard cap; -1: none */
	int64_t included; /* units in the price (per period) */
	int64_t unit_amount; /* minor units per started block beyond */
	int64_t unit_size; /* units per block, > 0 */
};

struct billing_plan {
	char id[40];
	char code[BILLING_CODE_MAX + 1];
	char name[BILLING_NAME_MAX + 1];
	char description[BILLING_DESC_MAX + 1];
	int64_t amount; /* minor units per interval */
	char currency[4]; /* "USD" */
	char interval[8]; /* month, year */
	int trial_days;
	char status[12]; /* active, archived */
	int is_default;
	int position;
	int64_t created_at;
	int64_t updated_at;
	struct billing_limit limits[BILLING_NMETRICS]; /* by billing_metrics */
};

struct billing_subscription {
	char id[40];
	char tenant_id[40];
	char plan_id[40];
	char period_plan_id[40]; /* the plan the current period began on */
	char status[12]; /* trialing, active, past_due, canceled */
	int64_t current_period_start; /* ms */
	int64_t current_period_end;
	int64_t trial_end; /* 0: none */
	int cancel_at_period_end;
	int64_t canceled_at; /* 0: not canceled */
	char provider[16]; /* "" or "stripe" */
	char provider_ref[128];
	int64_t created_at;
	int64_t updated_at;
};

struct billing_line {
	char id[40];
	int position;
	char kind[16]; /* subscription, proration, usage, adjustment */
	char description[320];
	char metric[32]; /* "" unless usage */
	int64_t quantity;
	int64_t unit_amount;
	int64_t amount; /* signed minor units */
	int64_t period_start; /* 0: none */
	int64_t period_end;
};

struct billing_invoice {
	char id[40];
	char tenant_id[40];
	char subscription_id[40]; /* "" if none */
	char number[24]; /* "" while draft */
	char status[16]; /* draft, open, paid, void, uncollectible */
	char billing_reason[24];
	char currency[4];
	int64_t subtotal;
	int64_t total;
	int64_t amount_paid;
	int64_t period_start;
	int64_t period_end;
	int64_t due_at; /* 0: none */
	int64_t finalized_at;
	int64_t paid_at;
	int64_t voided_at;
	int64_t created_at;
	int64_t updated_at;
	int nlines;
	struct billing_line *lines; /* heap, nlines; billing_invoice_cleanup */
};

/* --- rules (billing.c) --- */

/* The end of a period of interval ("month" or "year") starting at start
 * (ms, UTC): the same day and time one month or year later, the day clamped
 * to the month's last (31 Jan + 1 month = 28/29 Feb). */
int64_t billing_period_add(int64_t start, const char *interval);
/* amount * part / whole, rounded half away from zero, for proration
 * (amount's sign kept); whole > 0, 0 <= part <= whole. Exact in int64 for
 * |amount| <= BILLING_AMOUNT_MAX and part, whole in seconds of a year. */
int64_t billing_prorate(int64_t amount, int64_t part, int64_t whole);
/* The overage charge of used units against l: each started block of
 * l->unit_size units beyond l->included costs l->unit_amount; 0 when
 * within. *blocks gets the number of blocks charged. */
int64_t billing_overage(
    const struct billing_limit *l, int64_t used, int64_t *blocks);
/* The key of a usage period in usage_counters: its start, UTC, as
 * "2026-12-03T10:00:00Z" (out: 24 bytes). A subscribed tenant's periods
 * are its subscription's; other tenants count by calendar month. */
void billing_period_key(int64_t start, char out[24]);
/* The first instant (ms) of the UTC calendar month holding ms. */
int64_t billing_month_start(int64_t ms);
/* Writes "LX-<year>-<seq, 6+ digits>" into out (24 bytes). */
void billing_number_format(int year, int64_t seq, char out[24]);
/* The UTC year of ms. */
int billing_year(int64_t ms);
/* "12.34 USD" style text of amount in currency (two decimals except for
 * zero-decimal currencies such as JPY), into out. */
void billing_money_format(
    int64_t amount, const char *currency, char *out, size_t len);
/* Checks a plan code, currency, interval: 0 or -1 with a 422 err. */
int billing_code_check(const char *code, struct lx_err *err);
int billing_currency_check(const char *currency, struct lx_err *err);
int billing_interval_check(const char *interval, struct lx_err *err);
/* Sums the lines' amounts into *total; -1 with err on overflow. */
int billing_lines_total(const struct billing_line *lines, int n, int64_t *total,
    struct lx_err *err);

/* --- statements (billing_store.c) --- */

/* Plans are instance-wide (no policy): readable under any context. */
int billing_store_plan_by_code(struct lx_conn *c, const char *code,
    struct billing_plan *out, struct lx_err *err);
int billing_store_plan_by_id(struct lx_conn *c, const char *id,
    struct billing_plan *out, struct lx_err *err);
/* Active plans (archived too if all), by position then code; *out is an
 * lx_calloc array (lx_free) of *n plans. */
int billing_store_plans(struct lx_conn *c, int all, struct billing_plan **out,
    int *n, struct lx_err *err);
/* Inserts p and its limits; 409 "plan_exists" on a taken code. */
int billing_store_plan_insert(
    struct lx_conn *c, const struct billing_plan *p, struct lx_err *err);
/* Writes p's mutable fields (name, description, trial_days, status,
 * is_default, position, updated_at) and replaces its limits. Making p the
 * default clears the previous default. */
int billing_store_plan_update(
    struct lx_conn *c, const struct billing_plan *p, struct lx_err *err);
/* The default plan. */
int billing_store_plan_default(
    struct lx_conn *c, struct billing_plan *out, struct lx_err *err);

/* The plan a tenant is on (its live subscription's, else tenants.plan),
 * read as system code; 404 if the tenant is unknown. */
int billing_store_tenant_plan(struct lx_conn *c, const char *tenant_id,
    struct billing_plan *out, struct lx_err *err);
/* A tenant's usage as system code into used[BILLING_NMETRICS]: live
 * gauges (members, service keys; plugins and functions arrive with their
 * modules) and the counters of the usage period keyed period (see
 * billing_period_key). */
int billing_store_usage(struct lx_conn *c, const char *tenant_id,
    const char *period, int64_t used[BILLING_NMETRICS], struct lx_err *err);
/* The tenant's current usage period [*start, *end): its live
 * subscription's, else the calendar month's (UTC), as system code. */
int billing_store_usage_period(struct lx_conn *c, const char *tenant_id,
    int64_t now, int64_t *start, int64_t *end, struct lx_err *err);
/* Stores a usage counter's value (never lowering it), as system code. */
int billing_store_counter_set(struct lx_conn *c, const char *tenant_id,
    const char *metric, const char *period, int64_t value, struct lx_err *err);
/* Sets tenants.plan of the context's tenant (system code). */
int billing_store_tenant_set_plan(struct lx_conn *c, const char *tenant_id,
    const char *code, struct lx_err *err);

/* The columns of a subscription row in SELECTs, in the order
 * billing_store_sub_row reads them into s. */
#define BILLING_SUB_COLS \
	"id, tenant_id, plan_id, period_plan_id, status, " \
	"current_period_start, current_period_end, coalesce(trial_end, 0), " \
	"cancel_at_period_end, coalesce(canceled_at, 0), " \
	"coalesce(provider, ''), coalesce(provider_ref, ''), created_at, " \
	"updated_at"
void billing_store_sub_row(sqlite3_stmt *st, struct billing_subscription *s);
/* Subscriptions of the context's tenant (p_subscriptions). */
int billing_store_sub_get(struct lx_conn *c, const char *id,
    struct billing_subscription *out, struct lx_err *err);
/* Subscription id whatever the context (system code: the renewal). */
int billing_store_sub_read(struct lx_conn *c, const char *id,
    struct billing_subscription *out, struct lx_err *err);
int billing_store_subs(struct lx_conn *c, const char *after, int limit,
    struct billing_subscription *out, int *n, struct lx_err *err);
/* 409 "subscription_exists" when the tenant has a live one. */
int billing_store_sub_insert(struct lx_conn *c,
    const struct billing_subscription *s, struct lx_err *err);
int billing_store_sub_update(struct lx_conn *c,
    const struct billing_subscription *s, struct lx_err *err);
/* A pending invoice item (proration) for s. */
int billing_store_item_add(struct lx_conn *c,
    const struct billing_subscription *s, const char *kind,
    const char *description, int64_t amount, const char *currency,
    int64_t period_start, int64_t period_end, struct lx_err *err);

/* --- invoices (billing_invoices.c), shared with the renewal --- */

/* Where invoice statements read: the policy views (request code) or the
 * base tables (system code). */
#define BILLING_VIEWS 0
#define BILLING_TABLES 1
/* The invoice id with its lines (free with billing_invoice_cleanup);
 * tenant, when not NULL, must own it; 404 "invoice_not_found". */
int billing_inv_get(struct lx_conn *c, int mode, const char *id,
    const char *tenant, struct billing_invoice *iv, struct lx_err *err);
/*
 * Builds the draft invoice of s's period [start, end) in c's open
 * transaction: the fee of the plan the period began on (none for a
 * trial), the pending items, metered usage beyond what is included (none
 * for a trial). 1 when there is nothing to bill (nothing written), 0 with
 * iv filled, -1 with err (409 "invoice_exists" if the period has one).
 */
int billing_inv_build(struct lx_conn *c, int mode,
    const struct billing_subscription *s, int64_t start, int64_t end, int trial,
    const char *reason, struct billing_invoice *iv, struct lx_err *err);
/* Finalizes draft iv in c's open transaction: its lines must sum to its
 * total, it takes the year's next number, and is open (or paid at once
 * when its total is not positive; a credit goes to the next invoice). */
int billing_inv_finalize(struct lx_conn *c, int mode,
    struct billing_invoice *iv, int64_t now, struct lx_err *err);

/* --- routes (billing_http.c, billing_invoices.c) --- */

/* The problem document for a plan whose limits are below a tenant's
 * usage: 409 "plan_limits_exceeded" with "exceeded": [{metric, usage,
 * quota}] for each metric over. Returns 1 and fills resp when some metric
 * exceeds, 0 when none does, -1 with err on a database error. */
int billing_limits_check(const struct lx_req *req,
    const struct billing_plan *to, struct lx_resp *resp, struct lx_err *err);
/* Renders a plan / a subscription / an invoice as the API's JSON. */
void billing_plan_json(struct lx_buf *b, const struct billing_plan *p);
void billing_sub_json(struct lx_buf *b, const struct billing_subscription *s,
    const char *plan_code);
void billing_invoice_json(struct lx_buf *b, const struct billing_invoice *iv);
void billing_invoice_cleanup(struct billing_invoice *iv);
/* Emits the webhook event type ("subscription.updated", "invoice.paid")
 * with the object as its data, in c's open transaction (webhooks_emit). */
int billing_emit_sub(struct lx_conn *c, const struct billing_subscription *s,
    const char *plan_code, const char *type, struct lx_err *err);
int billing_emit_invoice(struct lx_conn *c, const struct billing_invoice *iv,
    const char *type, struct lx_err *err);

/*
 * Marks open invoice id paid with amount minor units (must equal its
 * total less what was paid) by method ("manual", "stripe") with the
 * provider's reference (NULL for manual), inside c's open transaction:
 * a payments row, status paid, the subscription back to active if it was
 * past_due, an audit record (actor) and an invoice.paid webhook event. A
 * paid invoice with the same method and reference is a no-op (0); another
 * state is 409 "invalid_state". System code: reads and writes the tables
 * whatever c's context.
 */
int billing_invoice_pay(struct lx_conn *c, const char *invoice_id,
    int64_t amount, const char *method, const char *provider_ref,
    const char *actor, struct lx_err *err);
/* Handlers (billing_invoices.c). */
int billing_invoices_list(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int billing_invoice_get(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int billing_invoice_create(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int billing_invoice_finalize(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int billing_invoice_void(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int billing_invoice_mark_paid(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int billing_invoice_uncollectible(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int billing_invoice_delete(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
extern const struct lx_schema billing_invoice_schema;
extern const struct lx_schema billing_pay_schema;
/*
 * Closes every subscription period due at now (current_period_end <= now),
 * each in its own transaction: its invoice issued once (finalized, with a
 * number), the next period begun or the subscription ended. Runs on a
 * connection without a request context (the job, `luxima billing renew`).
 * Counts closed and failed periods; -1 only when the due list cannot be
 * read.
 */
int billing_renew(struct lx_conn *c, int64_t now, int *nclosed, int *nfailed,
    struct lx_err *err);
/* Sets the payment terms: an invoice is due this many days after it is
 * finalized (billing.invoice_due_days, default 14). Call before serving or
 * renewing; not thread-safe. */
void billing_configure(int64_t invoice_due_days);
/* Registers the renewal job (billing.renew) and its schedule. */
int billing_invoices_init(struct lx_server *srv, struct lx_err *err);

/* --- limits and the request meter (billing_meter.c) --- */

/* Registers the quota function and the request meter with the core. */
int billing_meter_init(struct lx_server *srv, struct lx_err *err);
/* Writes every counter back, then frees them (the module's shutdown). */
void billing_meter_shutdown(void);
/* Writes every changed counter back. */
void billing_meter_flush(void);
/* Makes the tenant's next request re-read its plan and period (after a
 * subscription change in this process; others wait up to 5 s). */
void billing_meter_forget(const char *tenant_id);
/* The tenant's count of a metered metric ("api_requests",
 * "function_invocations") in memory this period, -1 if none. */
int64_t billing_meter_count(const char *tenant_id, const char *metric);
/* GET /tenants/{id}/usage. */
int billing_usage(struct lx_req *req, struct lx_resp *resp, struct lx_err *err);

/* --- payment providers (billing_provider.c, billing_stripe.c) --- */

#define BILLING_EVENT_ID_MAX 127 /* bytes of a provider's event id */
#define BILLING_REF_MAX 127 /* bytes of a provider's object id */

/* What a provider's event asks of our state. */
enum billing_event_kind {
	BILLING_EVENT_OTHER, /* not mapped: recorded as ignored */
	BILLING_EVENT_INVOICE_PAID, /* pay the invoice */
	BILLING_EVENT_INVOICE_FAILED, /* its subscription to past_due */
	BILLING_EVENT_SUB_UPDATED, /* status, cancellation, period */
	BILLING_EVENT_SUB_DELETED, /* canceled; the tenant to the default */
};

/* A provider's event in our terms, read from its verified body. */
struct billing_event {
	char id[BILLING_EVENT_ID_MAX + 1]; /* the provider's event id */
	char type[64]; /* the provider's type ("invoice.paid") */
	enum billing_event_kind kind;
	char ref[BILLING_REF_MAX + 1]; /* the object's provider id (in_...) */
	char our_id[40]; /* our invoice / subscription id from the object's
			  * metadata; "" if none */
	char sub_ref[BILLING_REF_MAX + 1]; /* invoices: the provider's
					    * subscription id, "" if none */
	char sub_our_id[40]; /* invoices: our subscription id, "" */
	int64_t amount; /* INVOICE_PAID: minor units paid; -1: not given */
	char currency[4]; /* INVOICE_PAID: "USD"; "" not given */
	char status[12]; /* SUB_UPDATED: our status; "" keeps ours */
	int cancel_at_period_end; /* SUB_UPDATED: 0, 1; -1 not given */
	int64_t period_start; /* SUB_UPDATED: ms; 0 with period_end: none */
	int64_t period_end;
	int64_t canceled_at; /* ms; 0: not given (now) */
	const char *request_id; /* set by the route, for the audit */
	const char *address; /* the sender's address, for the audit */
	char tenant_id[40]; /* out of the mapping: the tenant touched */
	char outcome[160]; /* out: "applied" or "ignored: <why>" */
};

/*
 * A payment provider, served at POST /billing/webhooks/<name>. Its signing
 * secret comes from LUXIMA_<NAME>_WEBHOOK_SECRET, else the config key
 * billing.<name>_webhook_secret (none: 503 "provider_not_configured"); its
 * timestamp tolerance from billing.<name>_tolerance_s (default 300 s).
 */
struct billing_provider {
	const char *name; /* the path segment: "stripe" */
	const char *sig_header; /* the request header with the signature */
	/* Checks sig (the header's value, NULL when absent) over the body's
	 * exact bytes with secret at now (unix s): 0, or -1 with a 400 err.
	 * Pure, thread-safe. */
	int (*verify)(const char *sig, const char *body, size_t len,
	    const char *secret, int64_t now, int64_t tolerance_s,
	    struct lx_err *err);
	/* Reads the verified body into ev (cleared first): 0, or -1 with a
	 * 400 err ("invalid_json", "invalid_event"). Pure, thread-safe.
	 * The mapping used when the billing/webhookHandler hook has no
	 * script (the built-in script maps the same); NULL: the provider's
	 * events are mapped by the script only (503 without one). */
	int (*read)(const char *body, size_t len, struct billing_event *ev,
	    struct lx_err *err);
	/* Applies ev in c's open transaction as system code, filling
	 * ev->tenant_id and ev->outcome; NULL: billing_provider_apply. A
	 * 4xx err refuses the event (nothing recorded: the provider
	 * retries). */
	int (*map)(struct lx_conn *c, const struct billing_provider *p,
	    struct billing_event *ev, struct lx_err *err);
};

/* Adds p, or replaces the provider of the same name (the built-in
 * "stripe" too); call before the server starts, p outliving it. -1 with
 * err when the table is full. Not thread-safe. */
int billing_provider_register(
    const struct billing_provider *p, struct lx_err *err);
/* Reads every provider's secret (into guarded memory) and tolerance. */
int billing_provider_init(struct lx_server *srv, struct lx_err *err);
/* Wipes and frees the secrets. */
void billing_provider_shutdown(void);
/*
 * The mapping of the built-in providers, in c's open transaction as system
 * code: a subscription is found by (provider, provider_ref) or by our id
 * from the metadata, an invoice likewise (found by our id, it takes the
 * provider's ref). INVOICE_PAID pays the invoice (billing_invoice_pay,
 * method p->name; paid already: ignored), INVOICE_FAILED sets its
 * subscription past_due, SUB_UPDATED copies status, cancel_at_period_end
 * and the period, SUB_DELETED (or a canceled status) cancels it and puts
 * the tenant on the default plan; each change with an audit record (actor
 * "provider:<name>"). Nothing found, or nothing to change: 0 with outcome
 * "ignored: <why>".
 */
int billing_provider_apply(struct lx_conn *c, const struct billing_provider *p,
    struct billing_event *ev, struct lx_err *err);
/* POST /billing/webhooks/{provider} (route schema lx_raw_body). */
int billing_provider_webhook(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);

/* A provider's signature header, parsed (Stripe's names; any scheme). */
#define BILLING_STRIPE_SIGS_MAX 8 /* signatures in one header */
struct billing_stripe_sig {
	char t[16]; /* the timestamp's digits as sent (they are signed) */
	int64_t t_s; /* the same in unix seconds */
	int nv1; /* signature entries (v1, h1) */
	unsigned char v1[BILLING_STRIPE_SIGS_MAX][32]; /* their HMACs */
};
/*
 * A timestamped HMAC-SHA256 signature header, the shape Stripe's and
 * Paddle's share: "<ts_key>=<unix s><sep><sig_key>=<64 hex>[<sep>...]",
 * each signature hex(HMAC-SHA256(secret, ts <joiner> body)), one per
 * active secret; other keys are skipped.
 */
struct billing_sig_scheme {
	const char *header; /* "Stripe-Signature" */
	const char *name; /* "Stripe", in messages */
	char sep; /* between elements: ',' */
	const char *ts_key; /* "t" */
	const char *sig_key; /* "v1" */
	const char *a_sig; /* "a v1", in messages */
	char joiner; /* between the timestamp and the body: '.' */
};
extern const struct billing_sig_scheme billing_stripe_scheme;
/* Parses header by scheme s: 400 "invalid_signature_header" for a NULL
 * or malformed header (no timestamp, no signature, a repeated timestamp,
 * a malformed value, an element without '='). Pure; fuzzed. */
int billing_sig_parse(const struct billing_sig_scheme *s, const char *header,
    struct billing_stripe_sig *out, struct lx_err *err);
/* Some signature equals HMAC-SHA256(secret, ts joiner body) (else 400
 * "invalid_signature") and |now - ts| <= tolerance_s (else 400
 * "stale_signature"); 500 "provider_not_configured" without a secret.
 * Pure; wipes its HMAC state. */
int billing_sig_verify(const struct billing_sig_scheme *s, const char *header,
    const char *body, size_t len, const char *secret, int64_t now,
    int64_t tolerance_s, struct lx_err *err);
/* Parses "t=<digits>,v1=<64 hex>[,v1=...][,v0=...]" (other keys skipped;
 * no t, no v1, a repeated t, a malformed value or an element without '=':
 * 400 "invalid_signature_header", as is a NULL header). Pure; fuzzed. */
int billing_stripe_sig_parse(
    const char *header, struct billing_stripe_sig *out, struct lx_err *err);
/* Stripe's verify: some v1 equals HMAC-SHA256(secret, t "." body) (else
 * 400 "invalid_signature"), and |now - t| <= tolerance_s (else 400
 * "stale_signature"). Pure; wipes its HMAC state. */
int billing_stripe_verify(const char *header, const char *body, size_t len,
    const char *secret, int64_t now, int64_t tolerance_s, struct lx_err *err);
/* Stripe's read: an event {"id", "type", "data": {"object"}} into ev;
 * invoice.paid, invoice.payment_failed, customer.subscription.updated and
 * .deleted are mapped, other types are BILLING_EVENT_OTHER. Pure; fuzzed. */
int billing_stripe_read(
    const char *body, size_t len, struct billing_event *ev, struct lx_err *err);
/* The built-in Stripe provider. */
extern const struct billing_provider billing_stripe_provider;

/* Paddle Billing's signature (billing_paddle.c): "Paddle-Signature:
 * ts=<unix s>;h1=<hex>[;h1=...]", each h1 hex(HMAC-SHA256(secret, ts ":"
 * body)) (several while a secret is rotated); any h1 matching passes, and
 * ts must be within tolerance_s of now. 400 "invalid_signature_header",
 * "invalid_signature", "stale_signature"; 500 without a secret. Pure. */
int billing_paddle_verify(const char *header, const char *body, size_t len,
    const char *secret, int64_t now, int64_t tolerance_s, struct lx_err *err);
/* The "paddle" provider (an example of a second provider): its signature
 * in C, its event mapping only in lua_scripts/billing/webhookHandler.lua
 * (no C reader). Off until LUXIMA_PADDLE_WEBHOOK_SECRET or
 * billing.paddle_webhook_secret is set. */
extern const struct billing_provider billing_paddle_provider;

/* --- hook scripts (billing_hooks.c; lua_scripts/README.md) --- */

/*
 * billing/createInvoice, from billing_inv_build inside its transaction:
 * gives the script the subscription s, the period's plan p, the period,
 * trial and reason, and iv's lines; replaces iv's lines by the ones it
 * returns once each is checked (kind, description, integers, the
 * invoice's currency, amount = quantity x unit_amount, no negative
 * subscription or usage line; new ids and positions). The total is the
 * caller's to sum. Fails open: no script, a failure or an unusable answer
 * leaves the lines as built. 0, or -1 with err (a database error).
 */
int billing_hook_lines(struct lx_conn *c, const struct billing_subscription *s,
    const struct billing_plan *p, int64_t start, int64_t end, int trial,
    const char *reason, struct billing_invoice *iv, struct lx_err *err);
/*
 * billing/updateSubscription, before the change action ("change_plan",
 * "cancel", "resume") of s from plan from to plan to (the same plan for
 * cancel and resume): 0 to go on, -1 with err: the script's refusal (403
 * or 422 with its code) or 503 "hook_failed" (fails closed). No script:
 * 0.
 */
int billing_hook_sub_change(const struct billing_subscription *s,
    const struct billing_plan *from, const struct billing_plan *to,
    const char *action, struct lx_err *err);
/*
 * billing/webhookHandler, for provider p's verified body: when the hook
 * has a script, gives it {provider, event} and reads its answer into ev
 * (*mapped = 1): 0, or -1 with err: 400 "invalid_json"/"invalid_event"
 * (not a JSON object), 400 with the script's code (action "reject"), 503
 * "hook_failed" (the script failed or answered outside the contract:
 * fails closed, the provider retries). Without a script *mapped = 0 and
 * the caller uses p->read.
 */
int billing_hook_event(const struct billing_provider *p, const char *body,
    size_t len, struct billing_event *ev, int *mapped, struct lx_err *err);

extern const struct lx_module billing_module;

#endif
