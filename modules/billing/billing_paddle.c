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
#include "billing.h"

static const struct billing_sig_scheme paddle_scheme = { "Paddle-Signature",
	"Paddle", ';', "ts", "h1", "an h1", ':' };

int
billing_paddle_verify(const char *header, const char *body, size_t len,
    const char *secret, int64_t now, int64_t tolerance_s, struct lx_err *err)
{
	return (billing_sig_verify(
	    &paddle_scheme, header, body, len, secret, now, tolerance_s, err));
}

const struct billing_provider billing_paddle_provider = {
	"paddle", "Paddle-Signature", billing_paddle_verify,
	NULL, /* mapped by lua_scripts/billing/webhookHandler.lua */
	NULL, /* billing_provider_apply */
};
