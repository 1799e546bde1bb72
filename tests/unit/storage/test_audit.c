/*
 * Unit tests for modules/audit/audit.c: records chain by hash, details are
 * JSON objects without secrets, the table refuses UPDATE and DELETE, a
 * record rolls back with its transaction, tampering (triggers dropped) is
 * reported at the first broken record, concurrent writers keep the chain.
 */
#include <pthread.h>

#include "audit.h"
#include "storage_test.h"

static struct lx_db *
open_migrated(const char *dir)
{
	struct lx_err err;
	struct lx_db *db;

	if ((db = st_open(dir, 1, &err)) == NULL)
		return (NULL);
	if (lx_migrate_up(db, NULL, &err) == -1) {
		lx_db_close(db);
		return (NULL);
	}
	return (db);
}

static int
record(struct lx_conn *c, const char *action, const char *detail,
    struct lx_err *err)
{
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	e.actor = "user:1";
	e.tenant = "t1";
	e.action = action;
	e.target = "obj:9";
	e.request_id = "req-1";
	e.address = "127.0.0.1";
	e.detail_json = detail;
	return (audit_record(c, &e, err));
}

static void
test_chain_and_tamper(void)
{
	const char *dir = lxtest_tmpdir("audit");
	struct audit_entry e;
	struct lx_err err;
	struct lx_db *db;
	struct lx_conn *c;
	int64_t broken = -1, count = -1;

	st_clean_env();
	if ((db = open_migrated(dir)) == NULL) {
		CHECK(0);
		return;
	}
	c = lx_db_conn(db);
	CHECK(audit_verify(c, &broken, &count, &err) == 0);
	CHECK(broken == 0 && count == 0);
	CHECK(record(c, "tenant.create", "{\"name\": \"Acme\"}", &err) == 0);
	memset(&e, 0, sizeof(e));
	e.actor = "system";
	e.action = "instance.start";
	CHECK(audit_record(c, &e, &err) == 0);
	CHECK(
	    record(c, "tenant.rename", "{\"from\":\"Acme\",\"to\":\"B\"}", &err)
	    == 0);
	CHECK(record(c, "member.add", "{\"role\":\"admin\"}", &err) == 0);

	/* Refused details. */
	CHECK(record(c, "x", "[1,2]", &err) == -1);
	CHECK_STR(err.code, "audit_detail");
	CHECK(record(c, "x", "{not json", &err) == -1);
	CHECK(record(c, "x", "{\"user\":{\"Password\":\"hunter2\"}}", &err)
	    == -1);
	CHECK_STR(err.code, "audit_secret");

	/* Rolled back with the caller's transaction. */
	CHECK(lx_conn_begin(c, &err) == 0);
	CHECK(record(c, "tenant.delete", NULL, &err) == 0);
	lx_conn_rollback(c);
	CHECK(st_int(c, "SELECT count(*) FROM audit_logs") == 4);
	CHECK(st_int(c,
	          "SELECT detail = '{\"name\":\"Acme\"}' FROM audit_logs "
	          "WHERE id = 1")
	    == 1);

	CHECK(audit_verify(c, &broken, &count, &err) == 0);
	CHECK(broken == 0 && count == 4);

	/* Append-only. */
	CHECK(lx_conn_exec(
	          c, "UPDATE audit_logs SET action = 'x' WHERE id = 2", &err)
	    == -1);
	CHECK(strstr(err.detail, "append-only") != NULL);
	CHECK(
	    lx_conn_exec(c, "DELETE FROM audit_logs WHERE id = 4", &err) == -1);

	/* Tampering with the triggers dropped: found at that record. */
	CHECK(lx_conn_exec(c,
	          "DROP TRIGGER audit_logs_no_update; DROP TRIGGER "
	          "audit_logs_no_delete; UPDATE audit_logs SET target = "
	          "'obj:10' WHERE id = 3",
	          &err)
	    == 0);
	CHECK(audit_verify(c, &broken, &count, &err) == 0);
	CHECK(broken == 3 && count == 3);
	/* Restoring the field heals it; removing a record breaks the next. */
	CHECK(lx_conn_exec(c,
	          "UPDATE audit_logs SET target = 'obj:9' WHERE id = 3; "
	          "DELETE FROM audit_logs WHERE id = 2",
	          &err)
	    == 0);
	CHECK(audit_verify(c, &broken, &count, &err) == 0);
	CHECK(broken == 3);
	lx_db_close(db);
}

struct writer {
	struct lx_db *db;
	int fails;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct lx_err err;
	struct lx_conn *c = lx_db_conn(w->db);
	int i;

	for (i = 0; i < 25; i++)
		if (record(c, "load.test", "{\"i\":1}", &err) == -1) {
			fprintf(stderr, "%s\n", err.detail);
			w->fails++;
		}
	lx_db_thread_done(w->db);
	return (NULL);
}

static void
test_concurrent_writers(void)
{
	const char *dir = lxtest_tmpdir("audit_conc");
	struct writer w[4];
	pthread_t th[4];
	struct lx_err err;
	struct lx_db *db;
	int64_t broken = -1, count = -1;
	int i;

	if ((db = open_migrated(dir)) == NULL) {
		CHECK(0);
		return;
	}
	for (i = 0; i < 4; i++) {
		w[i].db = db;
		w[i].fails = 0;
		CHECK(pthread_create(&th[i], NULL, writer_main, &w[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(w[i].fails == 0);
	}
	CHECK(audit_verify(lx_db_conn(db), &broken, &count, &err) == 0);
	CHECK(broken == 0 && count == 100);
	lx_db_close(db);
}

int
main(void)
{
	RUN(test_chain_and_tamper);
	RUN(test_concurrent_writers);
	return (lxtest_done());
}
