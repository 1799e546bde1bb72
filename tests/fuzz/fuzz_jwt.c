/*
 * libFuzzer target for the access-token verifier (auth_jwt_verify and
 * auth_jwt_identity): any bytes must be refused with a 401 or, for the
 * rare input that carries a valid signature, give claims from which an
 * identity is read; never a crash, a leak or another status. The first
 * byte picks the key set (none; the fixed Ed25519 key "k1"; that, a
 * retired key and the ES256 key "e1"), so the paths after the kid lookup
 * (alg/key mismatch, both signature checks) are reached too; with a first
 * byte of 3 (EdDSA) or 4 (ES256) the rest is signed as a payload first,
 * so the claim checks after the signature are fuzzed as well.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int nkeys_of[3] = { 0, 1, 3 };
	static struct auth_jwk keys[3];
	static unsigned char sk[64], *es_sk;
	static int ready;
	const char *tok;
	char *signed_tok = NULL, *payload;
	size_t len;
	struct lx_identity id;
	struct lx_err err;
	cJSON *claims = NULL;
	int nkeys;

	if (!ready) {
		unsigned char pk[32], seed[32];

		if (sodium_init() < 0)
			abort();
		memset(seed, 1, sizeof(seed));
		crypto_sign_seed_keypair(pk, sk, seed);
		memcpy(keys[0].kid, "k1", 3);
		memcpy(keys[0].pk, pk, 32);
		memcpy(keys[1].kid, "old", 4);
		memcpy(keys[1].pk, pk, 32);
		keys[1].not_after = 1;
		memcpy(keys[2].kid, "e1", 3);
		keys[2].alg = AUTH_ALG_ES256;
		if ((es_sk = sodium_malloc(AUTH_SK_MAX)) == NULL
		    || auth_jwt_keypair(AUTH_ALG_ES256, keys[2].pk, es_sk, &err)
		        == -1)
			abort();
		ready = 1;
	}
	if (size == 0)
		return (0);
	nkeys = nkeys_of[data[0] % 3];
	tok = (const char *)data + 1;
	len = size - 1;
	lx_err_clear(&err);
	if (data[0] == 3 || data[0] == 4) {
		payload = lx_strndup(tok, len);
		if ((data[0] == 3 ? auth_jwt_sign(
		         "k1", AUTH_ALG_EDDSA, sk, payload, &signed_tok, &err)
		                  : auth_jwt_sign("e1", AUTH_ALG_ES256, es_sk,
		                      payload, &signed_tok, &err))
		    == -1)
			abort();
		lx_free(payload);
		tok = signed_tok;
		len = strlen(signed_tok);
		nkeys = 3;
	}
	if (auth_jwt_verify(tok, len, keys, nkeys, "luxima", "authenticated",
	        1700000000, &claims, &err)
	    == 0) {
		if (claims == NULL)
			abort();
		memset(&id, 0, sizeof(id));
		if (auth_jwt_identity(claims, &id, &err) == -1
		    && err.status != 401)
			abort();
		cJSON_Delete(claims);
	} else if (claims != NULL || err.status != 401)
		abort();
	lx_free(signed_tok);
	return (0);
}
