/*
 * libFuzzer target for the Stripe webhook parsers (billing_stripe.c): the
 * Stripe-Signature header parser and check (billing_stripe_verify) and the
 * event reader (billing_stripe_read). The input is "<header>\n<body>";
 * any bytes must be refused with a 400 or accepted, never a crash, a leak
 * or another status. With an odd first byte the header is given a
 * timestamp and a v1 entry that truly signs the body, so the paths after
 * a matching signature (the tolerance, then the reader on a verified
 * body) are fuzzed too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "billing.h"

#define SECRET "whsec_fuzz"
#define NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ",v1=<hex HMAC-SHA256(SECRET, NOW "." body)>" into out (70 bytes). */
static void
true_v1(const char *body, size_t len, char out[70])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char t[16], hex[2 * sizeof(mac) + 1];

	snprintf(t, sizeof(t), "%d.", NOW);
	crypto_auth_hmacsha256_init(
	    &st, (const unsigned char *)SECRET, strlen(SECRET));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(out, 70, ",v1=%s", hex);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const char *in, *nl, *body;
	char *header, v1[70];
	struct billing_stripe_sig sig;
	struct billing_event ev;
	struct lx_err err;
	size_t hlen, blen;
	int rc;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	if (size == 0)
		return (0);
	in = (const char *)data + 1;
	size--;
	if ((nl = memchr(in, '\n', size)) == NULL)
		nl = in + size;
	hlen = (size_t)(nl - in);
	body = nl < in + size ? nl + 1 : nl;
	blen = size - (size_t)(body - in);
	if (data[0] & 1) {
		true_v1(body, blen, v1);
		header = lx_asprintf("t=%d,%.*s%s", NOW, (int)hlen, in, v1);
	} else
		header = lx_strndup(in, hlen);
	lx_err_clear(&err);
	if (billing_stripe_sig_parse(header, &sig, &err) == -1) {
		if (err.status != 400)
			abort();
	} else if (sig.nv1 < 1 || sig.nv1 > BILLING_STRIPE_SIGS_MAX
	    || sig.t[0] == '\0')
		abort();
	lx_err_clear(&err);
	rc = billing_stripe_verify(header, body, blen, SECRET, NOW, 300, &err);
	if (rc == -1 && err.status != 400)
		abort();
	lx_err_clear(&err);
	if (billing_stripe_read(body, blen, &ev, &err) == -1) {
		if (err.status != 400)
			abort();
	} else if (ev.id[0] == '\0' || ev.type[0] == '\0'
	    || (ev.kind != BILLING_EVENT_OTHER && ev.ref[0] == '\0')
	    || (ev.period_end != 0 && ev.period_end <= ev.period_start))
		abort();
	lx_free(header);
	return (0);
}
