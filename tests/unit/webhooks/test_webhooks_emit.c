/*
 * Unit tests for webhooks_emit (modules/webhooks/webhooks_store.c), the
 * contract other modules call: one message, one delivery and one
 * "webhooks.deliver" job per enabled endpoint of the tenant whose event
 * types cover the event, none for another tenant or a disabled endpoint;
 * written in the caller's transaction (a rollback leaves nothing) or in its
 * own; under a request context as system code, the context and its
 * authorizer as they were afterwards; bad input writes nothing. Then the
 * job stopping a delivery whose endpoint was disabled, and ignoring a
 * payload without a delivery.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "../storage/storage_test.h"
#include "webhooks.h"

#define TA "aaaaaaaa-0000-4000-8000-000000000001"
#define TB "bbbbbbbb-0000-4000-8000-000000000002"

static const char fixture[] =
    "INSERT INTO users (id, email, created_at, updated_at) VALUES"
    " ('ua', 'a@example.com', 1, 1), ('ub', 'b@example.com', 1, 1);"
    "INSERT INTO tenants (id, slug, name, owner_id, created_at, updated_at)"
    " VALUES ('" TA "', 'a', 'Tenant A', 'ua', 10, 10),"
    " ('" TB "', 'b', 'Tenant B', 'ub', 20, 20);"
    "INSERT INTO memberships (id, tenant_id, user_id, role, created_at,"
    " updated_at) VALUES ('ma', '" TA "', 'ua', 'owner', 1, 1),"
    " ('mb', '" TB "', 'ub', 'owner', 1, 1);"
    "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret,"
    " status, created_at, updated_at) VALUES"
    " ('a1', '" TA "', 'https://a.example/1', '[\"invoice.*\"]',"
    "  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'enabled', 1, 1),"
    " ('a2', '" TA "', 'https://a.example/2', '[\"subscription.updated\"]',"
    "  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'enabled', 1, 1),"
    " ('a3', '" TA "', 'https://a.example/3', '[\"*\"]',"
    "  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'disabled', 1, 1),"
    " ('a4', '" TA "', 'https://a.example/4', '[\"*\"]',"
    "  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'enabled', 1, 1),"
    " ('b1', '" TB "', 'https://b.example/1', '[\"*\"]',"
    "  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'enabled', 1, 1);";

static int64_t
count(struct lx_conn *c, const char *sql)
{
	return (st_int(c, sql));
}

static void
test_emit(void)
{
	struct lx_db_ctx ctx;
	struct lx_err err;
	struct lx_conn *c;
	struct lx_db *db;
	sqlite3_stmt *st = NULL;
	char buf[512];

	st_clean_env();
	db = st_open(lxtest_tmpdir("webhooks_emit"), 1, &err);
	CHECK(db != NULL);
	if (db == NULL)
		return;
	c = lx_db_conn(db);
	CHECK(lx_migrate_up(db, NULL, &err) == 0);
	CHECK(lx_seed_run(db, "defaults", &err) == 0);
	CHECK(lx_conn_exec(c, fixture, &err) == 0);

	/* System code, no transaction open: its own. */
	CHECK(webhooks_emit(c, TA, "invoice.paid", "{ \"id\": \"in_1\" }", &err)
	    == 0);
	CHECK(!lx_conn_in_tx(c));
	CHECK(count(c, "SELECT count(*) FROM webhook_messages") == 1);
	CHECK_STR(st_text(c,
	              "SELECT group_concat(endpoint_id) FROM (SELECT "
	              "endpoint_id FROM webhook_deliveries ORDER BY 1)",
	              buf, sizeof(buf)),
	    "a1,a4");
	CHECK(count(c,
	          "SELECT count(*) FROM webhook_deliveries WHERE status = "
	          "'pending' AND attempts = 0 AND tenant_id = '" TA "'")
	    == 2);
	CHECK(count(c,
	          "SELECT count(*) FROM jobs j JOIN webhook_deliveries d ON "
	          "json_extract(j.payload, '$.delivery_id') = d.id WHERE "
	          "j.kind = 'webhooks.deliver' AND j.max_attempts = 24 AND "
	          "json_extract(j.payload, '$.max_attempts') = 24")
	    == 2);
	st_text(c, "SELECT payload FROM webhook_messages", buf, sizeof(buf));
	CHECK(strncmp(buf, "{\"type\":\"invoice.paid\",\"timestamp\":\"", 36)
	    == 0);
	CHECK(strstr(buf, ",\"data\":{\"id\":\"in_1\"}}") != NULL);
	CHECK(strncmp(st_text(c, "SELECT id FROM webhook_messages", buf,
	                  sizeof(buf)),
	          "msg_", 4)
	    == 0);

	/* No endpoint wants it: nothing at all. */
	CHECK(webhooks_emit(c, TB, "webhook.test", "{}", &err) == 0);
	CHECK(webhooks_emit(c, TA, "subscription.canceled", "{}", &err) == 0);
	CHECK(count(c, "SELECT count(*) FROM webhook_messages") == 3);
	CHECK(webhooks_emit(c, "no-such-tenant", "invoice.paid", "{}", &err)
	    == 0);
	CHECK(count(c, "SELECT count(*) FROM webhook_messages") == 3);

	/* Bad input: nothing written. */
	lx_err_clear(&err);
	CHECK(webhooks_emit(c, TA, "invoice.refunded", "{}", &err) == -1);
	CHECK_STR(err.code, "unknown_event_type");
	CHECK(webhooks_emit(c, TA, NULL, "{}", &err) == -1);
	CHECK(webhooks_emit(c, TA, "invoice.paid", "[1]", &err) == -1);
	CHECK_STR(err.code, "invalid_event_data");
	CHECK(webhooks_emit(c, TA, "invoice.paid", "{", &err) == -1);
	CHECK(count(c, "SELECT count(*) FROM webhook_messages") == 3);
	CHECK(count(c, "SELECT count(*) FROM webhook_deliveries") == 4);

	/* Under a request context, in the caller's transaction. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.user_id = "ua";
	ctx.tenant_id = TA;
	ctx.role = "owner";
	CHECK(lx_conn_set_context(c, &ctx, &err) == 0);
	CHECK(lx_conn_begin(c, &err) == 0);
	CHECK(webhooks_emit(c, TA, "subscription.updated", "{\"x\":1}", &err)
	    == 0);
	CHECK(lx_conn_in_tx(c));
	/* a failed emit leaves the caller's transaction usable */
	CHECK(webhooks_emit(c, TA, "invoice.paid", "[]", &err) == -1);
	CHECK(lx_conn_in_tx(c));
	lx_conn_rollback(c);
	/* the context is still bound and guards the base tables again */
	CHECK(lx_conn_has_context(c));
	CHECK(sqlite3_prepare_v2(lx_conn_sqlite(c),
	          "SELECT count(*) FROM webhook_deliveries", -1, &st, NULL)
	    == SQLITE_AUTH);
	sqlite3_finalize(st);
	CHECK(count(c, "SELECT count(*) FROM p_webhook_deliveries") == 3);
	CHECK(lx_conn_begin(c, &err) == 0);
	CHECK(webhooks_emit(c, TA, "subscription.updated", "{\"x\":1}", &err)
	    == 0);
	CHECK(lx_conn_commit(c, &err) == 0);
	CHECK(count(c, "SELECT count(*) FROM p_webhook_deliveries") == 5);
	CHECK(count(c,
	          "SELECT count(*) FROM p_webhook_deliveries d JOIN "
	          "p_webhook_messages m ON m.id = d.message_id WHERE "
	          "m.event_type = 'subscription.updated'")
	    == 2);
	lx_conn_clear_context(c);
	CHECK(count(c, "SELECT count(*) FROM webhook_deliveries") == 6);

	lx_db_close(db);
}

static void
test_job_stops(void)
{
	struct lx_err err;
	struct lx_conn *c;
	struct lx_db *db;
	char id[64], payload[160], buf[128];

	st_clean_env();
	db = st_open(lxtest_tmpdir("webhooks_job"), 1, &err);
	CHECK(db != NULL);
	if (db == NULL)
		return;
	c = lx_db_conn(db);
	CHECK(lx_migrate_up(db, NULL, &err) == 0);
	CHECK(lx_conn_exec(c, fixture, &err) == 0);
	CHECK(webhooks_emit(c, TA, "invoice.voided", "{}", &err) == 0);
	st_text(c, "SELECT id FROM webhook_deliveries WHERE endpoint_id = 'a1'",
	    id, sizeof(id));
	CHECK(lx_conn_exec(c,
	          "UPDATE webhook_endpoints SET status = 'disabled' WHERE id "
	          "= 'a1'",
	          &err)
	    == 0);
	snprintf(payload, sizeof(payload),
	    "{\"delivery_id\":\"%s\",\"max_attempts\":3}", id);
	lx_err_clear(&err);
	CHECK(webhooks_deliver_job(c, payload, &err) == 0);
	CHECK_STR(st_text(c,
	              "SELECT status || '|' || attempts || '|' || last_error "
	              "FROM webhook_deliveries WHERE endpoint_id = 'a1'",
	              buf, sizeof(buf)),
	    "failed|0|the endpoint was disabled");
	CHECK(count(c, "SELECT count(*) FROM webhook_attempts") == 0);
	/* done already: a rerun changes nothing */
	CHECK(webhooks_deliver_job(c, payload, &err) == 0);
	/* no delivery named, or one that is gone: dropped */
	CHECK(webhooks_deliver_job(c, "{}", &err) == 0);
	CHECK(webhooks_deliver_job(c, "not json", &err) == 0);
	CHECK(webhooks_deliver_job(c, "{\"delivery_id\":\"gone\"}", &err) == 0);
	/* attempts spent */
	st_text(c, "SELECT id FROM webhook_deliveries WHERE endpoint_id = 'a4'",
	    id, sizeof(id));
	CHECK(lx_conn_exec(c,
	          "UPDATE webhook_deliveries SET attempts = 3 WHERE "
	          "endpoint_id = 'a4'",
	          &err)
	    == 0);
	snprintf(payload, sizeof(payload),
	    "{\"delivery_id\":\"%s\",\"max_attempts\":3}", id);
	CHECK(webhooks_deliver_job(c, payload, &err) == 0);
	CHECK_STR(st_text(c,
	              "SELECT status || '|' || last_error FROM "
	              "webhook_deliveries WHERE endpoint_id = 'a4'",
	              buf, sizeof(buf)),
	    "failed|no attempts left");
	lx_db_close(db);
}

int
main(void)
{
	if (sodium_init() < 0)
		return (1);
	RUN(test_emit);
	RUN(test_job_stops);
	return (lxtest_done());
}
