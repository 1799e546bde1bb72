/*
 * The "paddle" payment provider: an example of a second provider beside
 * Stripe, after Paddle Billing's notifications. Only its signature lives
 * here, pure (no SQL, no HTTP): Paddle sends
 * "Paddle-Signature: ts=<unix seconds>;h1=<hex>", with one h1 per secret
 * while a secret is rotated; an h1 is hex(HMAC-SHA256(secret, ts + ":" +
 * body)) over the body's exact bytes. Any h1 equal to ours (compared in
 * constant time) passes, and ts must be within the tolerance of now (a
 * replay within it is caught by the event id, billing_provider.c).
 *
 * Its events ({"event_id", "event_type", "occurred_at", "data"}) are
 * mapped onto ours by lua_scripts/billing/webhookHandler.lua alone: the
 * provider has no C reader, so with that hook turned off its deliveries
 * answer 503 and Paddle retries them.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "billing.h"

#define HEADER_MAX 4096 /* bytes of a Paddle-Signature header */
#define SIGS_MAX 8 /* h1 entries in one header */

static int
garbled(struct lx_err *err, const char *why)
{
	return (lx_err_set(err, 400, "invalid_signature_header",
	    "the Paddle-Signature header is not ts=<unix time>;h1=<64 hex "
	    "digits>[;h1=...]: %s",
	    why));
}

/* The header's ts (digits as sent, and as a number) and h1 entries. */
struct sig {
	char ts[16];
	int64_t ts_s;
	int nh1;
	unsigned char h1[SIGS_MAX][crypto_auth_hmacsha256_BYTES];
};

static int
parse(const char *header, struct sig *out, struct lx_err *err)
{
	const char *p, *end, *eq;
	size_t klen, vlen, i;

	memset(out, 0, sizeof(*out));
	if (header == NULL || *header == '\0')
		return (lx_err_set(err, 400, "invalid_signature_header",
		    "the request has no Paddle-Signature header"));
	if (strlen(header) > HEADER_MAX)
		return (garbled(err, "too long"));
	for (p = header; *p != '\0'; p = *end == ';' ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL || eq == p)
			return (garbled(err, "an element is not key=value"));
		klen = (size_t)(eq - p);
		vlen = (size_t)(end - eq - 1);
		if (klen == 2 && strncmp(p, "ts", 2) == 0) {
			if (out->ts[0] != '\0')
				return (garbled(err, "ts is given twice"));
			if (vlen == 0 || vlen >= sizeof(out->ts))
				return (garbled(err, "ts is not a unix time"));
			for (i = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)eq[1 + i]))
					return (garbled(
					    err, "ts is not a unix time"));
				out->ts_s = out->ts_s * 10 + (eq[1 + i] - '0');
			}
			memcpy(out->ts, eq + 1, vlen);
			out->ts[vlen] = '\0';
		} else if (klen == 2 && strncmp(p, "h1", 2) == 0) {
			if (out->nh1 == SIGS_MAX)
				return (garbled(err, "too many h1 entries"));
			if (vlen != 2 * crypto_auth_hmacsha256_BYTES
			    || sodium_hex2bin(out->h1[out->nh1],
			           crypto_auth_hmacsha256_BYTES, eq + 1, vlen,
			           NULL, NULL, NULL)
			        != 0)
				return (
				    garbled(err, "an h1 is not 64 hex digits"));
			out->nh1++;
		}
		/* Other keys are not ours to check. */
	}
	if (out->ts[0] == '\0')
		return (garbled(err, "no ts"));
	if (out->nh1 == 0)
		return (garbled(err, "no h1 signature"));
	return (0);
}

int
billing_paddle_verify(const char *header, const char *body, size_t len,
    const char *secret, int64_t now, int64_t tolerance_s, struct lx_err *err)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	struct sig sig;
	int64_t skew;
	int i, match = 0, ret = -1;

	if (secret == NULL || *secret == '\0') {
		lx_err_set(err, 500, "provider_not_configured",
		    "no Paddle webhook secret");
		goto out;
	}
	if (parse(header, &sig, err) == -1)
		goto out;
	crypto_auth_hmacsha256_init(
	    &st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(
	    &st, (const unsigned char *)sig.ts, strlen(sig.ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	for (i = 0; i < sig.nh1; i++)
		match |= crypto_verify_32(mac, sig.h1[i]) == 0;
	if (!match) {
		lx_err_set(err, 400, "invalid_signature",
		    "no h1 signature of the Paddle-Signature header matches "
		    "the body under the configured secret");
		goto out;
	}
	skew = sig.ts_s > now ? sig.ts_s - now : now - sig.ts_s;
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

const struct billing_provider billing_paddle_provider = {
	"paddle", "Paddle-Signature", billing_paddle_verify,
	NULL, /* mapped by lua_scripts/billing/webhookHandler.lua */
	NULL, /* billing_provider_apply */
};
