/*
 * Unit tests for billing_stripe.c: the Stripe-Signature header parser, the
 * signature check against a vector computed outside this code, the
 * timestamp tolerance, and the event reader (Stripe's objects before and
 * after its 2025 API, status mapping, malformed events).
 */
#include <ctype.h>

#include <sodium.h>

#include "billing.h"
#include "lxtest.h"

#define SECRET "whsec_luxima_unit_test"
#define T 1700000000
#define BODY \
	"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"ping\"," \
	"\"data\":{\"object\":{}}}"
/*
 * HMAC-SHA256(SECRET, "1700000000." BODY), computed independently:
 *   printf '%s' '1700000000.{"id":"evt_1","object":"event","type":"ping",
 *     "data":{"object":{}}}' | openssl dgst -sha256 -hmac
 *     'whsec_luxima_unit_test'
 * (one line) and, identically, Python's
 *   hmac.new(b"whsec_luxima_unit_test", b"1700000000." + body,
 *            hashlib.sha256).hexdigest()
 */
#define GOOD "799f438034065c3e09e0eda3b896db95f962d74d3f3ce466f23a2268663b0af3"
#define OTHER "0000000000000000000000000000000000000000000000000000000000000000"

/* The status billing_stripe_verify gives header at now (0: accepted),
 * checking the code when one is given. */
static int
verify(const char *header, const char *body, const char *secret, int64_t now,
    const char *code)
{
	struct lx_err err;

	lx_err_clear(&err);
	if (billing_stripe_verify(
	        header, body, strlen(body), secret, now, 300, &err)
	    == 0)
		return (0);
	if (code != NULL)
		CHECK_STR(err.code, code);
	return (err.status);
}

static void
test_parse(void)
{
	static const char *const garbled[] = {
		"",
		"garbage",
		"t=1",
		"v1=" GOOD,
		"t=abc,v1=" GOOD,
		"t=-1,v1=" GOOD,
		"t=,v1=" GOOD,
		"t=1234567890123456,v1=" GOOD,
		"t=1,t=2,v1=" GOOD,
		"t=1,v1=" GOOD "0",
		"t=1,v1=abc",
		"t=1,v1="
		"zz9f438034065c3e09e0eda3b896db95f962d74d3f3ce466f23a22686"
		"63b0af3",
		"t=1,,v1=" GOOD,
		"t=1,=x,v1=" GOOD,
		"t=1,v0=" GOOD,
		"t=1,v1=" GOOD ",v1=" GOOD ",v1=" GOOD ",v1=" GOOD ",v1=" GOOD
		",v1=" GOOD ",v1=" GOOD ",v1=" GOOD ",v1=" GOOD,
	};
	struct billing_stripe_sig sig;
	struct lx_err err;
	char big[5000];
	size_t i;

	CHECK(billing_stripe_sig_parse(
	          "t=1700000000,v1=" OTHER ",v1=" GOOD ",v0=abc", &sig, &err)
	    == 0);
	CHECK_STR(sig.t, "1700000000");
	CHECK(sig.t_s == T);
	CHECK(sig.nv1 == 2);
	CHECK(sig.v1[1][0] == 0x79 && sig.v1[1][31] == 0xf3);
	/* Unknown keys and a trailing comma are skipped. */
	CHECK(billing_stripe_sig_parse("t=5,v1=" GOOD ",scheme=x,", &sig, &err)
	    == 0);
	CHECK(sig.t_s == 5 && sig.nv1 == 1);
	lx_err_clear(&err);
	CHECK(billing_stripe_sig_parse(NULL, &sig, &err) == -1);
	CHECK(err.status == 400);
	CHECK_STR(err.code, "invalid_signature_header");
	for (i = 0; i < LX_NELEM(garbled); i++) {
		lx_err_clear(&err);
		CHECK(billing_stripe_sig_parse(garbled[i], &sig, &err) == -1);
		CHECK(err.status == 400);
		CHECK_STR(err.code, "invalid_signature_header");
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "t=1,v1=" GOOD ",x=", 74);
	CHECK(billing_stripe_sig_parse(big, &sig, &err) == -1);
}

static void
test_verify(void)
{
	char upper[sizeof(GOOD)], header[128];
	size_t i;

	CHECK(verify("t=1700000000,v1=" GOOD, BODY, SECRET, T, NULL) == 0);
	/* Any v1 entry may match, the others are ignored. */
	CHECK(
	    verify("t=1700000000,v1=" OTHER ",v1=" GOOD, BODY, SECRET, T, NULL)
	    == 0);
	CHECK(
	    verify("t=1700000000,v0=" OTHER ",v1=" GOOD, BODY, SECRET, T, NULL)
	    == 0);
	for (i = 0; i < sizeof(GOOD); i++)
		upper[i] = (char)toupper((unsigned char)GOOD[i]);
	snprintf(header, sizeof(header), "t=1700000000,v1=%s", upper);
	CHECK(verify(header, BODY, SECRET, T, NULL) == 0);
	CHECK(verify("", BODY, SECRET, T, "invalid_signature_header") == 400);
	/* The tolerance, both ways. */
	CHECK(
	    verify("t=1700000000,v1=" GOOD, BODY, SECRET, T + 300, NULL) == 0);
	CHECK(
	    verify("t=1700000000,v1=" GOOD, BODY, SECRET, T - 300, NULL) == 0);
	CHECK(verify("t=1700000000,v1=" GOOD, BODY, SECRET, T + 301,
	          "stale_signature")
	    == 400);
	CHECK(verify("t=1700000000,v1=" GOOD, BODY, SECRET, T - 400,
	          "stale_signature")
	    == 400);
	/* Forged: another secret, another body, another timestamp, no
	 * matching entry. */
	CHECK(verify("t=1700000000,v1=" GOOD, BODY, "whsec_other", T,
	          "invalid_signature")
	    == 400);
	CHECK(verify("t=1700000000,v1=" GOOD,
	          "{\"id\":\"evt_2\",\"object\":\"event\",\"type\":\"ping\","
	          "\"data\":{\"object\":{}}}",
	          SECRET, T, "invalid_signature")
	    == 400);
	CHECK(verify(
	          "t=1700000001,v1=" GOOD, BODY, SECRET, T, "invalid_signature")
	    == 400);
	CHECK(verify("t=1700000000,v1=" OTHER, BODY, SECRET, T,
	          "invalid_signature")
	    == 400);
	/* Stale and forged: the signature speaks first. */
	CHECK(verify("t=1,v1=" GOOD, BODY, SECRET, T, "invalid_signature")
	    == 400);
	CHECK(verify(NULL, BODY, SECRET, T, "invalid_signature_header") == 400);
	CHECK(verify("t=1700000000,v1=" GOOD, BODY, "", T, NULL) == 500);
}

/* Reads s; returns the status (200 when read). */
static int
rd(const char *s, struct billing_event *ev, const char *code)
{
	struct lx_err err;

	lx_err_clear(&err);
	if (billing_stripe_read(s, strlen(s), ev, &err) == 0)
		return (200);
	if (code != NULL)
		CHECK_STR(err.code, code);
	return (err.status);
}

static void
test_read(void)
{
	struct billing_event ev;

	CHECK(rd(BODY, &ev, NULL) == 200);
	CHECK_STR(ev.id, "evt_1");
	CHECK_STR(ev.type, "ping");
	CHECK(ev.kind == BILLING_EVENT_OTHER);
	/* invoice.paid before the 2025 API. */
	CHECK(
	    rd("{\"id\":\"evt_p\",\"type\":\"invoice.paid\",\"data\":{"
	       "\"object\":{\"id\":\"in_1\",\"object\":\"invoice\","
	       "\"amount_due\":2900,\"amount_paid\":2900,\"currency\":\"usd\","
	       "\"subscription\":\"sub_1\",\"metadata\":{"
	       "\"luxima_invoice_id\":\"7b1c\"},\"subscription_details\":{"
	       "\"metadata\":{\"luxima_subscription_id\":\"5d2e\"}}}}}",
	        &ev, NULL)
	    == 200);
	CHECK(ev.kind == BILLING_EVENT_INVOICE_PAID);
	CHECK_STR(ev.ref, "in_1");
	CHECK_STR(ev.our_id, "7b1c");
	CHECK_STR(ev.sub_ref, "sub_1");
	CHECK_STR(ev.sub_our_id, "5d2e");
	CHECK(ev.amount == 2900);
	CHECK_STR(ev.currency, "USD");
	/* ... and after: parent.subscription_details, amount_due only. */
	CHECK(rd("{\"id\":\"evt_q\",\"type\":\"invoice.paid\",\"data\":{"
	         "\"object\":{\"id\":\"in_2\",\"amount_due\":100,"
	         "\"currency\":\"eur\",\"metadata\":{\"luxima_invoice_id\":7},"
	         "\"parent\":{\"subscription_details\":{\"subscription\":"
	         "\"sub_2\",\"metadata\":{\"luxima_subscription_id\":\"x\"}}}"
	         "}}}",
	          &ev, NULL)
	    == 200);
	CHECK_STR(ev.our_id, ""); /* not a string: not ours */
	CHECK_STR(ev.sub_ref, "sub_2");
	CHECK_STR(ev.sub_our_id, "x");
	CHECK(ev.amount == 100);
	CHECK(rd("{\"id\":\"e\",\"type\":\"invoice.payment_failed\",\"data\":"
	         "{\"object\":{\"id\":\"in_3\",\"subscription\":{\"id\":"
	         "\"sub_3\"}}}}",
	          &ev, NULL)
	    == 200);
	CHECK(ev.kind == BILLING_EVENT_INVOICE_FAILED);
	CHECK_STR(ev.sub_ref, "sub_3");
	CHECK(ev.amount == -1);
	/* Subscriptions: seconds to ms, statuses, the period on items. */
	CHECK(rd("{\"id\":\"e\",\"type\":\"customer.subscription.updated\","
	         "\"data\":{\"object\":{\"id\":\"sub_1\",\"status\":\"unpaid\","
	         "\"cancel_at_period_end\":true,\"current_period_start\":"
	         "1700000000,\"current_period_end\":1702592000,\"metadata\":{"
	         "\"luxima_subscription_id\":\"5d2e\"}}}}",
	          &ev, NULL)
	    == 200);
	CHECK(ev.kind == BILLING_EVENT_SUB_UPDATED);
	CHECK_STR(ev.status, "past_due");
	CHECK(ev.cancel_at_period_end == 1);
	CHECK(ev.period_start == 1700000000000LL);
	CHECK(ev.period_end == 1702592000000LL);
	CHECK_STR(ev.our_id, "5d2e");
	CHECK(
	    rd("{\"id\":\"e\",\"type\":\"customer.subscription.updated\","
	       "\"data\":{\"object\":{\"id\":\"sub_1\",\"status\":"
	       "\"incomplete\",\"items\":{\"data\":[{\"current_period_start\":"
	       "10,\"current_period_end\":20}]}}}}",
	        &ev, NULL)
	    == 200);
	CHECK_STR(ev.status, "");
	CHECK(ev.cancel_at_period_end == -1);
	CHECK(ev.period_start == 10000 && ev.period_end == 20000);
	CHECK(
	    rd("{\"id\":\"e\",\"type\":\"customer.subscription.deleted\","
	       "\"data\":{\"object\":{\"id\":\"sub_1\",\"status\":\"canceled\","
	       "\"canceled_at\":null,\"ended_at\":1700000000}}}",
	        &ev, NULL)
	    == 200);
	CHECK(ev.kind == BILLING_EVENT_SUB_DELETED);
	CHECK_STR(ev.status, "canceled");
	CHECK(ev.canceled_at == 1700000000000LL);
	/* Malformed. */
	CHECK(rd("{\"id\":", &ev, "invalid_json") == 400);
	CHECK(rd("[1]", &ev, "invalid_event") == 400);
	CHECK(rd("{\"type\":\"ping\",\"data\":{\"object\":{}}}", &ev,
	          "invalid_event")
	    == 400);
	CHECK(
	    rd("{\"id\":\"e\",\"data\":{\"object\":{}}}", &ev, "invalid_event")
	    == 400);
	CHECK(rd("{\"id\":\"e\",\"type\":\"ping\",\"data\":{}}", &ev,
	          "invalid_event")
	    == 400);
	CHECK(rd("{\"id\":\"e v\",\"type\":\"ping\",\"data\":{\"object\":{}}}",
	          &ev, "invalid_event")
	    == 400);
	CHECK(rd("{\"id\":\"e\",\"object\":\"v2.core.event\",\"type\":\"p\","
	         "\"data\":{\"object\":{}}}",
	          &ev, "invalid_event")
	    == 400);
	CHECK(rd("{\"id\":\"e\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
	         "{}}}",
	          &ev, "invalid_event")
	    == 400);
	CHECK(rd("{\"id\":\"e\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
	         "{\"id\":\"in_1\",\"amount_paid\":-5}}}",
	          &ev, "invalid_event")
	    == 400);
	CHECK(rd("{\"id\":\"e\",\"type\":\"invoice.paid\",\"data\":{\"object\":"
	         "{\"id\":\"in_1\",\"currency\":\"us1\"}}}",
	          &ev, "invalid_event")
	    == 400);
	CHECK(rd("{\"id\":\"e\",\"type\":\"customer.subscription.updated\","
	         "\"data\":{\"object\":{\"id\":\"s\",\"cancel_at_period_end\":"
	         "\"yes\"}}}",
	          &ev, "invalid_event")
	    == 400);
	CHECK(rd("{\"id\":\"e\",\"type\":\"customer.subscription.updated\","
	         "\"data\":{\"object\":{\"id\":\"s\",\"current_period_start\":"
	         "20,\"current_period_end\":20}}}",
	          &ev, "invalid_event")
	    == 400);
	CHECK(rd("{\"id\":\"e\",\"type\":\"customer.subscription.updated\","
	         "\"data\":{\"object\":{\"id\":\"s\",\"current_period_end\":"
	         "20.5,\"current_period_start\":1}}}",
	          &ev, "invalid_event")
	    == 400);
}

int
main(void)
{
	if (sodium_init() < 0)
		return (1);
	RUN(test_parse);
	RUN(test_verify);
	RUN(test_read);
	return (lxtest_done());
}
