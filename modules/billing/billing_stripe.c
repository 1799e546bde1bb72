/*
 * The built-in Stripe provider, pure: no SQL, no HTTP, so the fuzzers link
 * it alone (lx_billing_stripe). Two parts:
 *
 * The Stripe-Signature scheme. Stripe sends
 * "Stripe-Signature: t=<unix seconds>,v1=<hex>,v1=<hex>,v0=<hex>": the
 * timestamp and one v1 entry per signing secret active on the endpoint (two
 * while a secret is rolled). A v1 is hex(HMAC-SHA256(secret, t + "." +
 * body)) over the body's exact bytes; any v1 equal to ours (compared in
 * constant time) passes; other schemes (v0, test keys) are skipped. The
 * timestamp must be within the tolerance of now either way, so a captured
 * request cannot be replayed later (a replay within the tolerance is caught
 * by the event id, see billing_provider.c).
 *
 * The event reader: a verified body {"id": "evt_...", "type", "data":
 * {"object": {...}}} into a struct billing_event in our terms: the invoice
 * or subscription it is about (the provider's id and our id from the
 * object's metadata.luxima_invoice_id / luxima_subscription_id), and what
 * it says (amount paid, subscription status, period, cancellation). Unix
 * seconds become ms. Both the fields before and after Stripe's 2025 API
 * (invoice.parent.subscription_details, the period on subscription items)
 * are read.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "billing.h"

#define HEADER_MAX 4096 /* bytes of a Stripe-Signature header */
#define SECONDS_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define AMOUNT_MAX 9007199254740991LL /* 2^53 - 1: exact in a double */

/* --- the signature --- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static int
garbled(const struct billing_sig_scheme *s, struct lx_err *err, const char *why)
{
	return (lx_err_set(err, 400, "invalid_signature_header",
	    "the %s header is not %s=<unix time>%c%s=<64 hex "
	    "digits>[%c%s=...]: "
	    "%s",
	    s->header, s->ts_key, s->sep, s->sig_key, s->sep, s->sig_key, why));
}

/* The timestamp value eq[1..1+vlen) into out. */
static int
sig_ts(const struct billing_sig_scheme *s, const char *v, size_t vlen,
    struct billing_stripe_sig *out, struct lx_err *err)
{
	char why[48];
	size_t i;

	snprintf(why, sizeof(why), "%s is not a unix time", s->ts_key);
	if (out->t[0] != '\0') {
		snprintf(why, sizeof(why), "%s is given twice", s->ts_key);
		return (garbled(s, err, why));
	}
	if (vlen == 0 || vlen >= sizeof(out->t))
		return (garbled(s, err, why));
	for (i = 0; i < vlen; i++) {
		if (!isdigit((unsigned char)v[i]))
			return (garbled(s, err, why));
		out->t_s = out->t_s * 10 + (v[i] - '0');
	}
	memcpy(out->t, v, vlen);
	out->t[vlen] = '\0';
	return (0);
}

/* One signature value v[0..vlen) appended to out. */
static int
sig_mac(const struct billing_sig_scheme *s, const char *v, size_t vlen,
    struct billing_stripe_sig *out, struct lx_err *err)
{
	char why[48];
	size_t i;
	int hi, lo;

	if (out->nv1 == BILLING_STRIPE_SIGS_MAX) {
		snprintf(why, sizeof(why), "too many %s entries", s->sig_key);
		return (garbled(s, err, why));
	}
	snprintf(why, sizeof(why), "%s is not 64 hex digits", s->a_sig);
	if (vlen != 2 * crypto_auth_hmacsha256_BYTES)
		return (garbled(s, err, why));
	for (i = 0; i < crypto_auth_hmacsha256_BYTES; i++) {
		hi = hexval((unsigned char)v[2 * i]);
		lo = hexval((unsigned char)v[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return (garbled(s, err, why));
		out->v1[out->nv1][i] = (unsigned char)(hi << 4 | lo);
	}
	out->nv1++;
	return (0);
}

int
billing_sig_parse(const struct billing_sig_scheme *s, const char *header,
    struct billing_stripe_sig *out, struct lx_err *err)
{
	const char *p, *end, *eq;
	char why[48];
	size_t klen, vlen;

	memset(out, 0, sizeof(*out));
	if (header == NULL || *header == '\0')
		return (lx_err_set(err, 400, "invalid_signature_header",
		    "the request has no %s header", s->header));
	if (strlen(header) > HEADER_MAX)
		return (garbled(s, err, "too long"));
	for (p = header; *p != '\0'; p = *end == s->sep ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, s->sep)) == NULL)
			end = p + strlen(p);
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL || eq == p)
			return (garbled(s, err, "an element is not key=value"));
		klen = (size_t)(eq - p);
		vlen = (size_t)(end - eq - 1);
		if (klen == strlen(s->ts_key)
		    && strncmp(p, s->ts_key, klen) == 0) {
			if (sig_ts(s, eq + 1, vlen, out, err) == -1)
				return (-1);
		} else if (klen == strlen(s->sig_key)
		    && strncmp(p, s->sig_key, klen) == 0) {
			if (sig_mac(s, eq + 1, vlen, out, err) == -1)
				return (-1);
		}
		/* Other keys (Stripe's v0: test mode's) are not ours. */
	}
	if (out->t[0] == '\0') {
		snprintf(why, sizeof(why), "no %s", s->ts_key);
		return (garbled(s, err, why));
	}
	if (out->nv1 == 0) {
		snprintf(why, sizeof(why), "no %s signature", s->sig_key);
		return (garbled(s, err, why));
	}
	return (0);
}

int
billing_sig_verify(const struct billing_sig_scheme *s, const char *header,
    const char *body, size_t len, const char *secret, int64_t now,
    int64_t tolerance_s, struct lx_err *err)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	struct billing_stripe_sig sig;
	int64_t skew;
	int i, match = 0, ret = -1;

	if (secret == NULL || *secret == '\0') {
		lx_err_set(err, 500, "provider_not_configured",
		    "no %s webhook signing secret", s->name);
		goto out;
	}
	if (billing_sig_parse(s, header, &sig, err) == -1)
		goto out;
	crypto_auth_hmacsha256_init(
	    &st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(
	    &st, (const unsigned char *)sig.t, strlen(sig.t));
	crypto_auth_hmacsha256_update(
	    &st, (const unsigned char *)&s->joiner, 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	/* Every entry is compared, in constant time each. */
	for (i = 0; i < sig.nv1; i++)
		match |= crypto_verify_32(mac, sig.v1[i]) == 0;
	if (!match) {
		lx_err_set(err, 400, "invalid_signature",
		    "no %s signature of the %s header matches the body under "
		    "the configured signing secret",
		    s->sig_key, s->header);
		goto out;
	}
	/* Checked once the signature holds, as Stripe's libraries do:
	 * only then does the timestamp mean anything. */
	skew = sig.t_s > now ? sig.t_s - now : now - sig.t_s;
	if (skew > tolerance_s) {
		lx_err_set(err, 400, "stale_signature",
		    "the signature's timestamp is %lld s from now, beyond the "
		    "tolerance of %lld s",
		    (long long)skew, (long long)tolerance_s);
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
	return (ret);
}

const struct billing_sig_scheme billing_stripe_scheme = { "Stripe-Signature",
	"Stripe", ',', "t", "v1", "a v1", '.' };

int
billing_stripe_sig_parse(
    const char *header, struct billing_stripe_sig *out, struct lx_err *err)
{
	return (billing_sig_parse(&billing_stripe_scheme, header, out, err));
}

int
billing_stripe_verify(const char *header, const char *body, size_t len,
    const char *secret, int64_t now, int64_t tolerance_s, struct lx_err *err)
{
	return (billing_sig_verify(&billing_stripe_scheme, header, body, len,
	    secret, now, tolerance_s, err));
}

/* --- the event --- */

static int
invalid(struct lx_err *err, const char *why)
{
	return (lx_err_set(err, 400, "invalid_event",
	    "the body is not a Stripe event: %s", why));
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

/* The member name of o (NULL when o is not an object). */
static const cJSON *
member(const cJSON *o, const char *name)
{
	return (cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name)
	                          : NULL);
}

/* Copies the token o.name into out (size bytes): 0; 1 when absent or
 * null; -1 when present but not a token that fits. */
static int
token_member(const cJSON *o, const char *name, char *out, size_t size)
{
	const cJSON *v = member(o, name);

	if (v == NULL || cJSON_IsNull(v))
		return (1);
	if (!cJSON_IsString(v) || !token_ok(v->valuestring, size - 1))
		return (-1);
	snprintf(out, size, "%s", v->valuestring);
	return (0);
}

/* Our id from metadata.<key> of o, when it is one (a UUID's text fits
 * 39 bytes); anything else there is somebody else's and left alone. */
static void
our_id(const cJSON *o, const char *key, char out[40])
{
	if (token_member(member(o, "metadata"), key, out, 40) != 0)
		out[0] = '\0';
}

/* o.name as an integer in [min, max] into *out: 0; 1 when absent or
 * null; -1 otherwise. */
static int
int_member(
    const cJSON *o, const char *name, int64_t min, int64_t max, int64_t *out)
{
	const cJSON *v = member(o, name);
	double d;

	if (v == NULL || cJSON_IsNull(v))
		return (1);
	if (!cJSON_IsNumber(v))
		return (-1);
	d = v->valuedouble;
	if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d)
		return (-1);
	*out = (int64_t)d;
	return (0);
}

/* Unix seconds o.name as ms into *out (0 when absent). */
static int
time_member(const cJSON *o, const char *name, int64_t *out, struct lx_err *err)
{
	int64_t s = 0;
	int rc;

	*out = 0;
	if ((rc = int_member(o, name, 1, SECONDS_MAX, &s)) == -1)
		return (lx_err_set(err, 400, "invalid_event",
		    "the body is not a Stripe event: %s is not a unix time",
		    name));
	if (rc == 0)
		*out = s * 1000;
	return (0);
}

/* An invoice: its ids, its subscription's, and for invoice.paid what was
 * paid. */
static int
read_invoice(const cJSON *o, struct billing_event *ev, struct lx_err *err)
{
	const cJSON *sub, *details;
	int64_t n;
	size_t i;
	int rc;

	if (token_member(o, "id", ev->ref, sizeof(ev->ref)) != 0)
		return (invalid(err, "the invoice has no id"));
	our_id(o, "luxima_invoice_id", ev->our_id);
	/* Its subscription: "subscription" (a string, or an object when
	 * expanded) before the 2025 API, parent.subscription_details
	 * after. */
	sub = member(o, "subscription");
	if (cJSON_IsObject(sub))
		sub = member(sub, "id");
	if (cJSON_IsString(sub) && token_ok(sub->valuestring, BILLING_REF_MAX))
		snprintf(
		    ev->sub_ref, sizeof(ev->sub_ref), "%s", sub->valuestring);
	details = member(member(o, "parent"), "subscription_details");
	if (ev->sub_ref[0] == '\0'
	    && token_member(
	           details, "subscription", ev->sub_ref, sizeof(ev->sub_ref))
	        == -1)
		ev->sub_ref[0] = '\0';
	our_id(details, "luxima_subscription_id", ev->sub_our_id);
	if (ev->sub_our_id[0] == '\0')
		our_id(member(o, "subscription_details"),
		    "luxima_subscription_id", ev->sub_our_id);
	if (ev->kind != BILLING_EVENT_INVOICE_PAID)
		return (0);
	if ((rc = int_member(o, "amount_paid", 0, AMOUNT_MAX, &n)) == 1)
		rc = int_member(o, "amount_due", 0, AMOUNT_MAX, &n);
	if (rc == -1)
		return (invalid(err, "amount_paid is not an amount"));
	if (rc == 0)
		ev->amount = n;
	if ((rc = token_member(
	         o, "currency", ev->currency, sizeof(ev->currency)))
	    == -1)
		return (invalid(err, "currency is not an ISO 4217 code"));
	for (i = 0; rc == 0 && i < sizeof(ev->currency) - 1; i++) {
		if (!isalpha((unsigned char)ev->currency[i]))
			return (
			    invalid(err, "currency is not an ISO 4217 code"));
		ev->currency[i] = (char)toupper((unsigned char)ev->currency[i]);
	}
	return (0);
}

/* Stripe's subscription status in ours: "" keeps ours (incomplete,
 * incomplete_expired and paused have no equivalent). */
static const char *
status_of(const char *stripe)
{
	static const char *const map[][2] = {
		{ "trialing", "trialing" },
		{ "active", "active" },
		{ "past_due", "past_due" },
		{ "unpaid", "past_due" },
		{ "canceled", "canceled" },
	};
	size_t i;

	for (i = 0; i < LX_NELEM(map); i++)
		if (strcmp(stripe, map[i][0]) == 0)
			return (map[i][1]);
	return ("");
}

/* A subscription: its ids, status, cancellation and current period. */
static int
read_subscription(const cJSON *o, struct billing_event *ev, struct lx_err *err)
{
	const cJSON *v, *period = o;
	char status[32];
	int rc;

	if (token_member(o, "id", ev->ref, sizeof(ev->ref)) != 0)
		return (invalid(err, "the subscription has no id"));
	our_id(o, "luxima_subscription_id", ev->our_id);
	if ((rc = token_member(o, "status", status, sizeof(status))) == -1)
		return (invalid(err, "status is not a string"));
	if (rc == 0)
		snprintf(
		    ev->status, sizeof(ev->status), "%s", status_of(status));
	if ((v = member(o, "cancel_at_period_end")) != NULL
	    && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v))
			return (invalid(
			    err, "cancel_at_period_end is not a boolean"));
		ev->cancel_at_period_end = cJSON_IsTrue(v);
	}
	/* The period: on the subscription before the 2025 API, on its
	 * items (all alike for one billing cycle) after. */
	if (member(o, "current_period_end") == NULL)
		period =
		    cJSON_GetArrayItem(member(member(o, "items"), "data"), 0);
	if (time_member(period, "current_period_start", &ev->period_start, err)
	        == -1
	    || time_member(period, "current_period_end", &ev->period_end, err)
	        == -1)
		return (-1);
	if ((ev->period_start == 0) != (ev->period_end == 0)
	    || ev->period_end < ev->period_start
	    || (ev->period_end != 0 && ev->period_end == ev->period_start))
		return (invalid(err,
		    "current_period_start and current_period_end are not "
		    "a period"));
	if (time_member(o, "canceled_at", &ev->canceled_at, err) == -1)
		return (-1);
	if (ev->canceled_at == 0
	    && time_member(o, "ended_at", &ev->canceled_at, err) == -1)
		return (-1);
	return (0);
}

int
billing_stripe_read(
    const char *body, size_t len, struct billing_event *ev, struct lx_err *err)
{
	static const struct {
		const char *type;
		enum billing_event_kind kind;
	} kinds[] = {
		{ "invoice.paid", BILLING_EVENT_INVOICE_PAID },
		{ "invoice.payment_failed", BILLING_EVENT_INVOICE_FAILED },
		{ "customer.subscription.updated", BILLING_EVENT_SUB_UPDATED },
		{ "customer.subscription.deleted", BILLING_EVENT_SUB_DELETED },
	};
	const cJSON *obj, *v;
	cJSON *root = NULL;
	size_t i;
	int ret = -1;

	memset(ev, 0, sizeof(*ev));
	ev->amount = -1;
	ev->cancel_at_period_end = -1;
	if (lx_json_body(body, len, NULL, &root, NULL, 0, err) == -1) {
		if (err != NULL && err->status != 400)
			invalid(err, "it is not a JSON object");
		goto out;
	}
	if ((v = member(root, "object")) != NULL
	    && (!cJSON_IsString(v) || strcmp(v->valuestring, "event") != 0)) {
		invalid(err, "its object is not \"event\"");
		goto out;
	}
	if (token_member(root, "id", ev->id, sizeof(ev->id)) != 0) {
		invalid(err, "no id");
		goto out;
	}
	if (token_member(root, "type", ev->type, sizeof(ev->type)) != 0) {
		invalid(err, "no type");
		goto out;
	}
	obj = member(member(root, "data"), "object");
	if (!cJSON_IsObject(obj)) {
		invalid(err, "no data.object");
		goto out;
	}
	ev->kind = BILLING_EVENT_OTHER;
	for (i = 0; i < LX_NELEM(kinds); i++)
		if (strcmp(ev->type, kinds[i].type) == 0)
			ev->kind = kinds[i].kind;
	switch (ev->kind) {
	case BILLING_EVENT_INVOICE_PAID:
	case BILLING_EVENT_INVOICE_FAILED:
		if (read_invoice(obj, ev, err) == -1)
			goto out;
		break;
	case BILLING_EVENT_SUB_UPDATED:
	case BILLING_EVENT_SUB_DELETED:
		if (read_subscription(obj, ev, err) == -1)
			goto out;
		break;
	case BILLING_EVENT_OTHER:
		break;
	}
	ret = 0;
out:
	cJSON_Delete(root);
	return (ret);
}

const struct billing_provider billing_stripe_provider = {
	"stripe", "Stripe-Signature", billing_stripe_verify,
	billing_stripe_read, NULL, /* billing_provider_apply */
};
