/*
 * The billing module's hook scripts (lua_scripts/billing/, run by
 * modules/functions/functions_hooks.c; contracts in lua_scripts/README.md):
 *
 *	billing/createInvoice	   the lines of an invoice built from a
 *				   subscription (POST /invoices, renewal)
 *	billing/updateSubscription before a plan change, cancel or resume
 *				   (PATCH /subscriptions/{id})
 *	billing/webhookHandler	   a payment provider's verified event in our
 *				   terms (POST /billing/webhooks/{provider})
 *
 * Each builds the script's request and reads its answer strictly: what a
 * script returns is checked here as any client input would be (integers
 * only, one currency, amount = quantity x unit_amount, known actions and
 * members), and totals are always summed here. Without a script each
 * applies the default the built-in script implements. createInvoice fails
 * open (the lines stay as built); updateSubscription and webhookHandler
 * fail closed (503 "hook_failed": nothing changes, the client or the
 * provider retries).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "auth.h"
#include "billing.h"
#include "functions.h"

#define HOOK_INVOICE "billing/createInvoice"
#define HOOK_SUB "billing/updateSubscription"
#define HOOK_EVENT "billing/webhookHandler"
#define LINES_MAX 100 /* lines a script may return */
#define QUANTITY_MAX 1000000000000LL
#define INT_EXACT 9007199254740991LL /* 2^53 - 1 */
#define MS_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* --- shared readers --- */

/* o.name as an integer in [min, max] into *v: 0; 1 when absent or null;
 * -1 when not such an integer. */
static int
int_of(const cJSON *o, const char *name, int64_t min, int64_t max, int64_t *v)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
	double d;

	if (m == NULL || cJSON_IsNull(m))
		return (1);
	if (!cJSON_IsNumber(m))
		return (-1);
	d = m->valuedouble;
	if (!(d >= (double)min && d <= (double)max) || d != floor(d))
		return (-1);
	*v = (int64_t)d;
	return (0);
}

/* o.name as a string into *s: 0; 1 when absent or null; -1 otherwise. */
static int
str_of(const cJSON *o, const char *name, const char **s)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	if (m == NULL || cJSON_IsNull(m))
		return (1);
	if (!cJSON_IsString(m))
		return (-1);
	*s = m->valuestring;
	return (0);
}

/* 1 if s is 1..max bytes of printable ASCII without spaces. */
static int
token_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n == max || s[n] <= ' ' || s[n] > '~')
			return (0);
	return (n > 0);
}

/* 1 if s is 1..max bytes without control characters. */
static int
text_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n == max || (unsigned char)s[n] < ' ' || s[n] == 0x7f)
			return (0);
	return (n > 0);
}

/* The name of the first member of o not in names (NULL-terminated), or
 * NULL; null members are skipped. */
static const char *
unknown_member(const cJSON *o, const char *const *names)
{
	const cJSON *m;
	size_t i;

	cJSON_ArrayForEach(m, o)
	{
		if (cJSON_IsNull(m))
			continue;
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(m->string, names[i]) == 0)
				break;
		if (names[i] == NULL)
			return (m->string);
	}
	return (NULL);
}

/* --- billing/createInvoice --- */

static void
lines_json(struct lx_buf *b, const struct billing_invoice *iv)
{
	const struct billing_line *l;
	int i;

	lx_buf_adds(b, "[");
	for (i = 0; i < iv->nlines; i++) {
		l = &iv->lines[i];
		lx_buf_adds(b, i > 0 ? ",{\"kind\":" : "{\"kind\":");
		lx_buf_add_json_str(b, l->kind);
		lx_buf_adds(b, ",\"description\":");
		lx_buf_add_json_str(b, l->description);
		lx_buf_adds(b, ",\"metric\":");
		lx_buf_add_json_str_or_null(b, l->metric);
		lx_buf_addf(b,
		    ",\"quantity\":%lld,\"unit_amount\":%lld,\"amount\":%lld,"
		    "\"currency\":\"%s\"",
		    (long long)l->quantity, (long long)l->unit_amount,
		    (long long)l->amount, iv->currency);
		lx_buf_adds(b, ",\"period_start\":");
		lx_buf_add_time_json(b, l->period_start);
		lx_buf_adds(b, ",\"period_end\":");
		lx_buf_add_time_json(b, l->period_end);
		lx_buf_adds(b, "}");
	}
	lx_buf_adds(b, "]");
}

/* A time member (RFC 3339 text or null) into *ms (0: none); -1 if bad. */
static int
time_of(const cJSON *o, const char *name, int64_t *ms)
{
	const char *s;
	int rc;

	*ms = 0;
	if ((rc = str_of(o, name, &s)) != 0)
		return (rc == 1 ? 0 : -1);
	return (lx_time_parse(s, ms) == -1 || *ms <= 0 ? -1 : 0);
}

/* Reads line o into l for an invoice in currency: NULL, or why not. */
static const char *
line_read(const cJSON *o, const char *currency, struct billing_line *l)
{
	static const char *const members[] = { "kind", "description", "metric",
		"quantity", "unit_amount", "amount", "currency", "period_start",
		"period_end", NULL };
	static const char *const kinds[] = { "subscription", "proration",
		"usage", "adjustment" };
	const char *s;
	size_t i;
	int usage;

	memset(l, 0, sizeof(*l));
	if (!cJSON_IsObject(o))
		return ("a line is not a table");
	if (unknown_member(o, members) != NULL)
		return ("a line has a member other than kind, description, "
		        "metric, quantity, unit_amount, amount, currency, "
		        "period_start, period_end");
	if (str_of(o, "kind", &s) != 0)
		return ("a line has no kind");
	for (i = 0; i < LX_NELEM(kinds) && strcmp(s, kinds[i]) != 0; i++)
		;
	if (i == LX_NELEM(kinds))
		return ("a line's kind is not subscription, proration, usage "
		        "or adjustment");
	snprintf(l->kind, sizeof(l->kind), "%s", s);
	usage = strcmp(s, "usage") == 0;
	if (str_of(o, "description", &s) != 0
	    || !text_ok(s, sizeof(l->description) - 1))
		return ("a line's description is not 1 to 319 bytes of text");
	snprintf(l->description, sizeof(l->description), "%s", s);
	switch (str_of(o, "metric", &s)) {
	case -1:
		return ("a line's metric is not a string");
	case 0:
		if (*s != '\0'
		    && (!usage || billing_metric_index(s) < 0
		        || strlen(s) >= sizeof(l->metric)))
			return ("only a usage line has a metric, one of the "
			        "plan limits' metrics");
		snprintf(l->metric, sizeof(l->metric), "%s", s);
		break;
	}
	if (str_of(o, "currency", &s) == -1
	    || (str_of(o, "currency", &s) == 0 && strcmp(s, currency) != 0))
		return ("a line's currency is not the invoice's");
	l->quantity = 1;
	if (int_of(o, "quantity", 1, QUANTITY_MAX, &l->quantity) == -1
	    || int_of(o, "unit_amount", -BILLING_AMOUNT_MAX, BILLING_AMOUNT_MAX,
	           &l->unit_amount)
	        != 0
	    || int_of(o, "amount", -INT_EXACT, INT_EXACT, &l->amount) != 0)
		return ("a line's quantity, unit_amount and amount must be "
		        "integers (minor units) within bounds");
	if (l->unit_amount != 0
	    && l->quantity > INT_EXACT / llabs(l->unit_amount))
		return ("a line's quantity x unit_amount is too large");
	if (l->amount != l->quantity * l->unit_amount)
		return ("a line's amount is not quantity x unit_amount");
	if ((strcmp(l->kind, "subscription") == 0 || usage) && l->amount < 0)
		return ("a subscription or usage line cannot be negative");
	if (time_of(o, "period_start", &l->period_start) == -1
	    || time_of(o, "period_end", &l->period_end) == -1
	    || (l->period_start == 0) != (l->period_end == 0)
	    || l->period_end < l->period_start)
		return ("a line's period_start and period_end are not RFC "
		        "3339 times of a period (or both null)");
	return (NULL);
}

/* The lines of answer out for iv into *lines (lx_free), *n: NULL, or why
 * not. */
static const char *
lines_read(const cJSON *out, const struct billing_invoice *iv,
    struct billing_line **lines, int *n)
{
	static const char *const members[] = { "lines", NULL };
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(out, "lines"), *o;
	const char *why;
	int i = 0;

	*lines = NULL;
	*n = 0;
	if (unknown_member(out, members) != NULL)
		return ("the answer must be {lines = {...}} and nothing else");
	/* An empty Lua table encodes as {}: no lines. */
	if (cJSON_IsObject(arr) && cJSON_GetArraySize(arr) == 0)
		return (NULL);
	if (!cJSON_IsArray(arr))
		return ("lines must be an array of lines");
	if (cJSON_GetArraySize(arr) > LINES_MAX)
		return ("more than 100 lines");
	*lines =
	    lx_calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**lines));
	cJSON_ArrayForEach(o, arr)
	{
		if ((why = line_read(o, iv->currency, &(*lines)[i])) != NULL) {
			lx_free(*lines);
			*lines = NULL;
			return (why);
		}
		auth_uuid((*lines)[i].id);
		(*lines)[i].position = i + 1;
		i++;
	}
	*n = i;
	return (NULL);
}

int
billing_hook_lines(struct lx_conn *c, const struct billing_subscription *s,
    const struct billing_plan *p, int64_t start, int64_t end, int trial,
    const char *reason, struct billing_invoice *iv, struct lx_err *err)
{
	struct billing_plan cur;
	struct billing_line *lines = NULL;
	struct lx_buf b;
	const char *why;
	cJSON *out = NULL;
	int n, ret = -1;

	if (!functions_hook_active(HOOK_INVOICE))
		return (0); /* the default: the lines as built */
	snprintf(iv->currency, sizeof(iv->currency), "%s", p->currency);
	cur = *p;
	if (strcmp(s->plan_id, p->id) != 0
	    && billing_store_plan_by_id(c, s->plan_id, &cur, err) == -1)
		return (-1);
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"subscription\":");
	billing_sub_json(&b, s, cur.code);
	lx_buf_adds(&b, ",\"plan\":");
	billing_plan_json(&b, p);
	lx_buf_adds(&b, ",\"period_start\":");
	lx_buf_add_time_json(&b, start);
	lx_buf_adds(&b, ",\"period_end\":");
	lx_buf_add_time_json(&b, end);
	lx_buf_addf(&b, ",\"trial\":%s,\"reason\":", trial ? "true" : "false");
	lx_buf_add_json_str(&b, reason);
	lx_buf_adds(&b, ",\"currency\":");
	lx_buf_add_json_str(&b, p->currency);
	lx_buf_adds(&b, ",\"lines\":");
	lines_json(&b, iv);
	lx_buf_adds(&b, "}");
	if (functions_hook(HOOK_INVOICE, b.data, &out, err) == -1)
		goto out;
	if (out == NULL) {
		ret = 0; /* failed open: the lines as built */
		goto out;
	}
	if ((why = lines_read(out, iv, &lines, &n)) != NULL) {
		ret = functions_hook_bad(HOOK_INVOICE, why, err);
		goto out;
	}
	lx_free(iv->lines);
	iv->lines = lines;
	iv->nlines = n;
	ret = 0;
out:
	cJSON_Delete(out);
	lx_buf_cleanup(&b);
	return (ret);
}

/* --- billing/updateSubscription --- */

int
billing_hook_sub_change(const struct billing_subscription *s,
    const struct billing_plan *from, const struct billing_plan *to,
    const char *action, struct lx_err *err)
{
	struct functions_decision d;
	struct lx_buf b;
	cJSON *out = NULL;
	int ret = -1;

	if (!functions_hook_active(HOOK_SUB))
		return (0); /* the default: allow */
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"action\":");
	lx_buf_add_json_str(&b, action);
	lx_buf_adds(&b, ",\"subscription\":");
	billing_sub_json(&b, s, from->code);
	lx_buf_adds(&b, ",\"from_plan\":");
	billing_plan_json(&b, from);
	lx_buf_adds(&b, ",\"to_plan\":");
	billing_plan_json(&b, to);
	lx_buf_adds(&b, "}");
	if (functions_hook(HOOK_SUB, b.data, &out, err) == -1)
		goto out;
	if (out != NULL) {
		if (functions_hook_decision(HOOK_SUB, out, 403,
		        "subscription_change_denied", &d, err)
		    == -1)
			goto out;
		if (!d.allow) {
			lx_log(LX_LOG_INFO, "hook %s refused %s of %s: %s",
			    HOOK_SUB, action, s->id, d.code);
			lx_err_set(err, d.status, d.code, "%s", d.reason);
			goto out;
		}
	}
	ret = 0;
out:
	cJSON_Delete(out);
	lx_buf_cleanup(&b);
	return (ret);
}

/* --- billing/webhookHandler --- */

#define A_PAID 0x01 /* invoice.paid */
#define A_FAILED 0x02 /* invoice.payment_failed */
#define A_SUB 0x0c /* subscription.updated, subscription.deleted */
#define A_IGNORE 0x10 /* ignore */
#define A_REJECT 0x20 /* reject */
#define A_INVOICE (A_PAID | A_FAILED)
#define A_EVENT (A_INVOICE | A_SUB | A_IGNORE)

static const struct {
	const char *name;
	unsigned bit;
	enum billing_event_kind kind;
} actions[] = {
	{ "invoice.paid", A_PAID, BILLING_EVENT_INVOICE_PAID },
	{ "invoice.payment_failed", A_FAILED, BILLING_EVENT_INVOICE_FAILED },
	{ "subscription.updated", 0x04, BILLING_EVENT_SUB_UPDATED },
	{ "subscription.deleted", 0x08, BILLING_EVENT_SUB_DELETED },
	{ "ignore", A_IGNORE, BILLING_EVENT_OTHER },
	{ "reject", A_REJECT, BILLING_EVENT_OTHER },
};

/* The members of an answer and the actions they belong to. */
static const struct {
	const char *name;
	unsigned actions;
} event_members[] = {
	{ "action", A_EVENT | A_REJECT },
	{ "id", A_EVENT },
	{ "type", A_EVENT },
	{ "ref", A_INVOICE | A_SUB },
	{ "our_id", A_INVOICE | A_SUB },
	{ "sub_ref", A_INVOICE },
	{ "sub_our_id", A_INVOICE },
	{ "amount", A_PAID },
	{ "currency", A_PAID },
	{ "status", A_SUB },
	{ "cancel_at_period_end", A_SUB },
	{ "period_start", A_SUB },
	{ "period_end", A_SUB },
	{ "canceled_at", A_SUB },
	{ "code", A_REJECT },
	{ "reason", A_REJECT },
};

/* Token member name of o into out (size bytes): NULL, or why not; absent
 * leaves out empty unless required. */
static const char *
token_into(
    const cJSON *o, const char *name, char *out, size_t size, int required)
{
	const char *s;
	int rc = str_of(o, name, &s);

	if (rc == 1 && !required)
		return (NULL);
	if (rc != 0 || !token_ok(s, size - 1))
		return ("id, type, ref, our_id, sub_ref and sub_our_id must "
		        "be printable ASCII without spaces, of their sizes");
	snprintf(out, size, "%s", s);
	return (NULL);
}

/* The subscription members of answer out into ev: NULL, or why not. */
static const char *
sub_read(const cJSON *out, struct billing_event *ev)
{
	static const char *const statuses[] = { "", "trialing", "active",
		"past_due", "canceled" };
	const cJSON *m;
	const char *s;
	size_t i;
	int rc;

	if ((rc = str_of(out, "status", &s)) == 0) {
		for (i = 0; i < LX_NELEM(statuses); i++)
			if (strcmp(s, statuses[i]) == 0)
				break;
		if (i == LX_NELEM(statuses))
			rc = -1;
		else
			snprintf(ev->status, sizeof(ev->status), "%s", s);
	}
	if (rc == -1)
		return ("status must be \"\", trialing, active, past_due or "
		        "canceled");
	m = cJSON_GetObjectItemCaseSensitive(out, "cancel_at_period_end");
	if (m != NULL && !cJSON_IsNull(m)) {
		if (!cJSON_IsBool(m))
			return ("cancel_at_period_end must be true or false");
		ev->cancel_at_period_end = cJSON_IsTrue(m);
	}
	if (int_of(out, "period_start", 1, MS_MAX, &ev->period_start) == -1
	    || int_of(out, "period_end", 1, MS_MAX, &ev->period_end) == -1
	    || int_of(out, "canceled_at", 1, MS_MAX, &ev->canceled_at) == -1)
		return ("period_start, period_end and canceled_at must be "
		        "integers, ms since the epoch");
	if ((ev->period_start == 0) != (ev->period_end == 0)
	    || ev->period_end < ev->period_start
	    || (ev->period_end != 0 && ev->period_end == ev->period_start))
		return ("period_start and period_end are not a period");
	return (NULL);
}

/* Answer out into ev (the kind in *bit): NULL, or why not. */
static const char *
event_read(const cJSON *out, struct billing_event *ev, unsigned *bit)
{
	const cJSON *m;
	const char *s, *why;
	size_t i, k;

	if (str_of(out, "action", &s) != 0)
		return ("the answer has no action");
	for (i = 0; i < LX_NELEM(actions) && strcmp(s, actions[i].name); i++)
		;
	if (i == LX_NELEM(actions))
		return ("unknown action: not invoice.paid, "
		        "invoice.payment_failed, subscription.updated, "
		        "subscription.deleted, ignore or reject");
	*bit = actions[i].bit;
	ev->kind = actions[i].kind;
	cJSON_ArrayForEach(m, out)
	{
		if (cJSON_IsNull(m))
			continue;
		for (k = 0; k < LX_NELEM(event_members)
		     && strcmp(m->string, event_members[k].name) != 0;
		     k++)
			;
		if (k == LX_NELEM(event_members)
		    || (event_members[k].actions & *bit) == 0)
			return ("the answer has a member its action does not "
			        "take (lua_scripts/README.md)");
	}
	if (*bit == A_REJECT)
		return (NULL);
	if ((why = token_into(out, "id", ev->id, sizeof(ev->id), 1)) != NULL
	    || (why = token_into(out, "type", ev->type, sizeof(ev->type), 1))
	        != NULL
	    || (why = token_into(out, "ref", ev->ref, sizeof(ev->ref), 0))
	        != NULL
	    || (why = token_into(
	            out, "our_id", ev->our_id, sizeof(ev->our_id), 0))
	        != NULL
	    || (why = token_into(
	            out, "sub_ref", ev->sub_ref, sizeof(ev->sub_ref), 0))
	        != NULL
	    || (why = token_into(out, "sub_our_id", ev->sub_our_id,
	            sizeof(ev->sub_our_id), 0))
	        != NULL)
		return (why);
	if (int_of(out, "amount", 0, INT_EXACT, &ev->amount) == -1)
		return ("amount must be an integer of minor units");
	if (str_of(out, "currency", &s) == 0) {
		for (i = 0; i < 3 && isalpha((unsigned char)s[i]); i++)
			ev->currency[i] = (char)toupper((unsigned char)s[i]);
		if (i != 3 || s[3] != '\0')
			return ("currency must be an ISO 4217 code");
	} else if (str_of(out, "currency", &s) == -1)
		return ("currency must be an ISO 4217 code");
	return ((*bit & A_SUB) != 0 ? sub_read(out, ev) : NULL);
}

/* A refusal the script asked for (action "reject"): 400 with its code. */
static int
rejected(const cJSON *out, struct lx_err *err)
{
	const char *code = "invalid_event", *reason = "the event is refused";
	const char *s;
	size_t i;

	if (str_of(out, "code", &s) == 0 && *s >= 'a' && *s <= 'z'
	    && strlen(s) < sizeof(err->code)) {
		for (i = 0; s[i] != '\0'
		     && (islower((unsigned char)s[i])
		         || isdigit((unsigned char)s[i]) || s[i] == '_');
		     i++)
			;
		if (s[i] == '\0')
			code = s;
	}
	if (str_of(out, "reason", &s) == 0 && text_ok(s, 400))
		reason = s;
	return (lx_err_set(err, 400, code, "%s", reason));
}

int
billing_hook_event(const struct billing_provider *p, const char *body,
    size_t len, struct billing_event *ev, int *mapped, struct lx_err *err)
{
	struct lx_buf b;
	const char *why;
	unsigned bit = 0;
	cJSON *root = NULL, *out = NULL;
	int ret = -1;

	*mapped = 0;
	memset(ev, 0, sizeof(*ev));
	ev->amount = -1;
	ev->cancel_at_period_end = -1;
	lx_buf_init(&b);
	if (!functions_hook_active(HOOK_EVENT))
		return (0); /* the default: the provider's C reader */
	/* The body as an event: a JSON object (as the C readers want). */
	if (lx_json_body(body, len, NULL, &root, NULL, 0, err) == -1) {
		if (err->status != 400)
			lx_err_set(err, 400, "invalid_event",
			    "the body is not an event: it is not a JSON "
			    "object");
		goto out;
	}
	lx_buf_adds(&b, "{\"provider\":");
	lx_buf_add_json_str(&b, p->name);
	lx_buf_adds(&b, ",\"event\":");
	lx_buf_add(&b, body, len);
	lx_buf_adds(&b, "}");
	if (functions_hook(HOOK_EVENT, b.data, &out, err) == -1)
		goto out;
	if (out == NULL) {
		ret = 0; /* no script after all: the C reader */
		goto out;
	}
	*mapped = 1;
	if ((why = event_read(out, ev, &bit)) != NULL) {
		memset(ev, 0, sizeof(*ev));
		ret = functions_hook_bad(HOOK_EVENT, why, err);
		if (ret == 0) /* fails open: not this hook, but be safe */
			ret = lx_err_set(err, 503, "hook_failed",
			    "the %s hook failed", HOOK_EVENT);
		goto out;
	}
	if (bit == A_REJECT) {
		rejected(out, err);
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(root);
	cJSON_Delete(out);
	lx_buf_cleanup(&b);
	return (ret);
}
