/*
 * The audit writer and verifier. Each record is hashed over a canonical,
 * length-prefixed encoding of its fields together with the previous
 * record's hash, so editing, removing or reordering a row breaks every link
 * after it. The table is append-only by trigger (migration 001); writers are
 * serialized by SQLite's write lock (BEGIN IMMEDIATE), not by a mutex here.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>
#include <sodium.h>

#include "audit.h"

#define HASH_BYTES crypto_hash_sha256_BYTES
#define HASH_HEX (2 * HASH_BYTES + 1)
#define DETAIL_MAX 16384

static const char sql_last[] =
    "SELECT id, hash FROM audit_logs ORDER BY id DESC LIMIT 1";
static const char sql_insert[] =
    "INSERT INTO audit_logs (id, created_at, actor, tenant_id, action, "
    "target, request_id, address, detail, prev_hash, hash) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char sql_walk[] =
    "SELECT id, created_at, actor, tenant_id, action, target, request_id, "
    "address, detail, prev_hash, hash FROM audit_logs ORDER BY id";

/* Keys that name a secret; a detail carrying one is refused. */
static const char *const secret_keys[] = { "password", "passwd", "secret",
	"token", "access_token", "refresh_token", "api_key", "apikey",
	"private_key", "client_secret", "authorization", "cookie",
	"service_key", "db_key" };

/* The fields a record's hash covers, in hashing order. */
struct record {
	int64_t id;
	int64_t created_at;
	const char *text[7]; /* actor, tenant, action, target, request id,
				address, detail; NULL allowed but for 0, 2, 6 */
};

/* Parses 64 hex digits into out; 0 or -1. */
static int
hash_from_hex(const char *hex, unsigned char out[HASH_BYTES])
{
	size_t n = 0;

	if (hex == NULL || strlen(hex) != 2 * HASH_BYTES)
		return (-1);
	if (sodium_hex2bin(out, HASH_BYTES, hex, 2 * HASH_BYTES, NULL, &n, NULL)
	        != 0
	    || n != HASH_BYTES)
		return (-1);
	return (0);
}

static void
put_u64(crypto_hash_sha256_state *h, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	crypto_hash_sha256_update(h, b, sizeof(b));
}

/* hash = SHA-256("luxima-audit-v1" || prev || id || created_at || fields),
 * each text field as 0x00 (NULL) or 0x01, its 64-bit length, its bytes. */
static void
record_hash(const unsigned char prev[HASH_BYTES], const struct record *r,
    unsigned char out[HASH_BYTES])
{
	static const char tag[] = "luxima-audit-v1";
	crypto_hash_sha256_state h;
	unsigned char flag;
	size_t i, n;

	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(
	    &h, (const unsigned char *)tag, sizeof(tag) - 1);
	crypto_hash_sha256_update(&h, prev, HASH_BYTES);
	put_u64(&h, (uint64_t)r->id);
	put_u64(&h, (uint64_t)r->created_at);
	for (i = 0; i < LX_NELEM(r->text); i++) {
		flag = r->text[i] != NULL;
		crypto_hash_sha256_update(&h, &flag, 1);
		if (r->text[i] == NULL)
			continue;
		n = strlen(r->text[i]);
		put_u64(&h, (uint64_t)n);
		crypto_hash_sha256_update(
		    &h, (const unsigned char *)r->text[i], n);
	}
	crypto_hash_sha256_final(&h, out);
}

static int
is_secret_key(const char *k)
{
	size_t i;

	for (i = 0; i < LX_NELEM(secret_keys); i++)
		if (strcasecmp(k, secret_keys[i]) == 0)
			return (1);
	return (0);
}

/* Returns the first secret-looking key anywhere in j, or NULL. */
static const char *
find_secret(const cJSON *j)
{
	const cJSON *it;
	const char *k;

	for (it = j->child; it != NULL; it = it->next) {
		if (it->string != NULL && is_secret_key(it->string))
			return (it->string);
		if ((cJSON_IsObject(it) || cJSON_IsArray(it))
		    && (k = find_secret(it)) != NULL)
			return (k);
	}
	return (NULL);
}

/* Parses detail_json as an object without secrets and returns its compact
 * form (free with cJSON_free), or NULL with err. */
static char *
detail_canonical(const char *detail_json, struct lx_err *err)
{
	cJSON *j = NULL;
	const char *k;
	char *out = NULL;

	if (detail_json == NULL)
		detail_json = "{}";
	if (strlen(detail_json) > DETAIL_MAX) {
		lx_err_set(err, 500, "audit_detail",
		    "audit detail is larger than %d bytes", DETAIL_MAX);
		goto out;
	}
	if ((j = cJSON_Parse(detail_json)) == NULL || !cJSON_IsObject(j)) {
		lx_err_set(err, 500, "audit_detail",
		    "audit detail is not a JSON object");
		goto out;
	}
	if ((k = find_secret(j)) != NULL) {
		lx_err_set(err, 500, "audit_secret",
		    "audit detail has a field named '%s'; secrets never go to "
		    "the audit log",
		    k);
		goto out;
	}
	out = cJSON_PrintUnformatted(j);
out:
	cJSON_Delete(j);
	return (out);
}

int
audit_record(struct lx_conn *c, const struct audit_entry *e, struct lx_err *err)
{
	unsigned char prev[HASH_BYTES], hash[HASH_BYTES];
	char prev_hex[HASH_HEX], hash_hex[HASH_HEX];
	struct record r;
	sqlite3_stmt *st;
	const char *ph;
	char *detail = NULL;
	int own = 0, rc, i, ret = -1;

	if (e->actor == NULL || e->action == NULL) {
		lx_err_set(err, 500, "audit_entry",
		    "audit record needs an actor and an action");
		goto out;
	}
	if ((detail = detail_canonical(e->detail_json, err)) == NULL)
		goto out;
	/* Inside a request the tenant tables are policy-bound; the writer
	 * is system code and appends for every tenant. */
	lx_conn_system_begin(c);
	if (!lx_conn_in_tx(c)) {
		if (lx_conn_begin(c, err) == -1)
			goto out;
		own = 1;
	}

	memset(&r, 0, sizeof(r));
	memset(prev, 0, sizeof(prev));
	if ((st = lx_conn_stmt(c, sql_last, err)) == NULL)
		goto out;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		ph = (const char *)sqlite3_column_text(st, 1);
		if (hash_from_hex(ph, prev) == -1) {
			sqlite3_reset(st);
			lx_err_set(err, 500, "audit_chain",
			    "audit record %lld has a malformed hash",
			    (long long)r.id);
			goto out;
		}
	} else if (rc != SQLITE_DONE) {
		sqlite3_reset(st);
		lx_conn_error(c, rc, "audit log", err);
		goto out;
	}
	sqlite3_reset(st);

	r.id++;
	r.created_at = lx_now_ms();
	r.text[0] = e->actor;
	r.text[1] = e->tenant;
	r.text[2] = e->action;
	r.text[3] = e->target;
	r.text[4] = e->request_id;
	r.text[5] = e->address;
	r.text[6] = detail;
	record_hash(prev, &r, hash);
	sodium_bin2hex(prev_hex, sizeof(prev_hex), prev, sizeof(prev));
	sodium_bin2hex(hash_hex, sizeof(hash_hex), hash, sizeof(hash));

	if ((st = lx_conn_stmt(c, sql_insert, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, r.id);
	sqlite3_bind_int64(st, 2, r.created_at);
	for (i = 0; i < 7; i++)
		sqlite3_bind_text(st, 3 + i, r.text[i], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, prev_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, hash_hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "audit log", err);
		goto out;
	}
	if (own && lx_conn_commit(c, err) == -1) {
		own = 0;
		goto out;
	}
	own = 0;
	ret = 0;
out:
	if (own)
		lx_conn_rollback(c);
	lx_conn_system_end(c);
	cJSON_free(detail);
	return (ret);
}

int
audit_verify(
    struct lx_conn *c, int64_t *broken_id, int64_t *count, struct lx_err *err)
{
	unsigned char prev[HASH_BYTES], hash[HASH_BYTES], stored[HASH_BYTES];
	const char *ph, *hh;
	struct record r;
	sqlite3_stmt *st;
	int rc, i, ret = -1;

	*broken_id = 0;
	*count = 0;
	memset(prev, 0, sizeof(prev));
	if ((st = lx_conn_stmt(c, sql_walk, err)) == NULL)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(st, 0);
		r.created_at = sqlite3_column_int64(st, 1);
		for (i = 0; i < 7; i++)
			r.text[i] =
			    (const char *)sqlite3_column_text(st, 2 + i);
		ph = (const char *)sqlite3_column_text(st, 9);
		hh = (const char *)sqlite3_column_text(st, 10);
		(*count)++;
		/* The link to the previous record, then the record itself. */
		if (hash_from_hex(ph, stored) == -1
		    || sodium_memcmp(stored, prev, HASH_BYTES) != 0) {
			*broken_id = r.id;
			break;
		}
		record_hash(prev, &r, hash);
		if (hash_from_hex(hh, stored) == -1
		    || sodium_memcmp(stored, hash, HASH_BYTES) != 0) {
			*broken_id = r.id;
			break;
		}
		memcpy(prev, hash, HASH_BYTES);
	}
	if (*broken_id == 0 && rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "audit log", err);
		goto out;
	}
	ret = 0;
out:
	if (st != NULL)
		sqlite3_reset(st);
	return (ret);
}
