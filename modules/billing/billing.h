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
 * job), billing_provider.c and billing_stripe.c (incoming payment-provider
 * webhooks).
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
/* 1 if metric is a monthly counter (api_requests, function_invocations),
 * 0 if a live gauge (members, service_keys, plugins, functions). */
int billing_metric_is_counter(const char *metric);
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
/* The number of live subscriptions on plan id. */
int billing_store_plan_subscribers(
    struct lx_conn *c, const char *plan_id, int64_t *n, struct lx_err *err);

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
/* The start of the tenant's current usage period (its live
 * subscription's, else the calendar month's), as system code. */
int billing_store_usage_period(struct lx_conn *c, const char *tenant_id,
    int64_t now, int64_t *start, struct lx_err *err);
/* Sets tenants.plan of the context's tenant (system code). */
int billing_store_tenant_set_plan(struct lx_conn *c, const char *tenant_id,
    const char *code, struct lx_err *err);

/* Subscriptions of the context's tenant (p_subscriptions). */
int billing_store_sub_get(struct lx_conn *c, const char *id,
    struct billing_subscription *out, struct lx_err *err);
/* The live one; 404 "no_subscription" if none. */
int billing_store_sub_live(
    struct lx_conn *c, struct billing_subscription *out, struct lx_err *err);
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

extern const struct lx_module billing_module;

#endif
