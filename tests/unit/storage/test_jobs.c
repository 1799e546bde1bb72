/*
 * Unit tests for storage/jobs.c: retry with backoff until success, dead
 * letter after the last attempt, enqueue bound to the caller's transaction,
 * jobs surviving a close and reopen, reclaim of an expired lease, and stop
 * waiting for a running handler.
 */
#include <pthread.h>
#include <time.h>

#include "jobs.h"
#include "storage_test.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int flaky_calls, ok_calls, slow_done;

static int
flaky(struct lx_conn *c, const char *payload, struct lx_err *err)
{
	int n;

	(void)c;
	(void)payload;
	pthread_mutex_lock(&mu);
	n = ++flaky_calls;
	pthread_mutex_unlock(&mu);
	if (n <= 2)
		return (lx_err_set(err, 503, "flaky", "flaky failure %d", n));
	return (0);
}

static int
always_fails(struct lx_conn *c, const char *payload, struct lx_err *err)
{
	(void)c;
	(void)payload;
	return (lx_err_set(err, 502, "boom", "boom: upstream said no"));
}

static int
ok(struct lx_conn *c, const char *payload, struct lx_err *err)
{
	(void)c;
	(void)err;
	if (strstr(payload, "\"n\"") == NULL)
		return (-1);
	pthread_mutex_lock(&mu);
	ok_calls++;
	pthread_mutex_unlock(&mu);
	return (0);
}

static int
slow(struct lx_conn *c, const char *payload, struct lx_err *err)
{
	struct timespec ts = { 0, 300 * 1000000 };

	(void)c;
	(void)payload;
	(void)err;
	pthread_mutex_lock(&mu);
	slow_done = 1; /* started */
	pthread_mutex_unlock(&mu);
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&mu);
	slow_done = 2; /* finished */
	pthread_mutex_unlock(&mu);
	return (0);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Waits up to 5 s for the job's state; returns 1 if reached. */
static int
wait_state(struct lx_conn *c, int64_t id, const char *state)
{
	char sql[128], buf[32];
	int i;

	snprintf(sql, sizeof(sql), "SELECT state FROM jobs WHERE id = %lld",
	    (long long)id);
	for (i = 0; i < 500; i++) {
		if (strcmp(st_text(c, sql, buf, sizeof(buf)), state) == 0)
			return (1);
		sleep_ms(10);
	}
	return (0);
}

static struct lx_db *
open_migrated(const char *dir, int create)
{
	struct lx_err err;
	struct lx_db *db;

	if ((db = st_open(dir, create, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.detail);
		return (NULL);
	}
	if (lx_migrate_up(db, NULL, &err) == -1) {
		fprintf(stderr, "%s\n", err.detail);
		lx_db_close(db);
		return (NULL);
	}
	return (db);
}

static void
test_retry_and_dead_letter(void)
{
	const char *dir = lxtest_tmpdir("jobs_retry");
	struct lx_jobs_stats s;
	struct lx_err err;
	struct lx_db *db;
	struct lx_conn *c;
	int64_t a = 0, b = 0;
	char buf[128];
	char sql[128];

	if ((db = open_migrated(dir, 1)) == NULL) {
		CHECK(0);
		return;
	}
	c = lx_db_conn(db);
	CHECK(lx_jobs_enqueue(c, "flaky", "{}", 0, 0, &a, &err) == 0);
	CHECK(lx_jobs_enqueue(c, "fails", NULL, 0, 3, &b, &err) == 0);
	CHECK(lx_jobs_enqueue(c, "x", "not json", 0, 0, NULL, &err) == -1);
	CHECK(lx_jobs_start(db, 2, &err) == 0);
	CHECK(wait_state(c, a, "done"));
	CHECK(wait_state(c, b, "dead"));
	lx_jobs_stop();

	CHECK(flaky_calls == 3);
	snprintf(sql, sizeof(sql), "SELECT attempts FROM jobs WHERE id = %lld",
	    (long long)a);
	CHECK(st_int(c, sql) == 3);
	snprintf(sql, sizeof(sql), "SELECT attempts FROM jobs WHERE id = %lld",
	    (long long)b);
	CHECK(st_int(c, sql) == 3);
	snprintf(sql, sizeof(sql),
	    "SELECT last_error FROM jobs WHERE id = %lld", (long long)b);
	CHECK(strstr(st_text(c, sql, buf, sizeof(buf)), "boom") != NULL);
	CHECK(lx_jobs_stats(c, &s, &err) == 0);
	CHECK(s.done == 1 && s.dead == 1 && s.queued == 0 && s.running == 0);
	lx_db_close(db);
}

static void
test_transaction_bound(void)
{
	const char *dir = lxtest_tmpdir("jobs_tx");
	struct lx_err err;
	struct lx_db *db;
	struct lx_conn *c;
	int64_t id = 0;

	if ((db = open_migrated(dir, 1)) == NULL) {
		CHECK(0);
		return;
	}
	c = lx_db_conn(db);
	CHECK(lx_jobs_start(db, 1, &err) == 0);
	/* Rolled back with its transaction: no job. */
	CHECK(lx_conn_begin(c, &err) == 0);
	CHECK(lx_jobs_enqueue(c, "ok", "{\"n\":1}", 0, 0, &id, &err) == 0);
	lx_conn_rollback(c);
	CHECK(st_int(c, "SELECT count(*) FROM jobs") == 0);
	/* Committed: the commit wakes a worker that runs it. */
	CHECK(lx_conn_begin(c, &err) == 0);
	CHECK(lx_jobs_enqueue(c, "ok", "{\"n\":2}", 0, 0, &id, &err) == 0);
	CHECK(lx_conn_commit(c, &err) == 0);
	CHECK(wait_state(c, id, "done"));
	lx_jobs_stop();
	CHECK(ok_calls == 1);
	lx_db_close(db);
}

static void
test_survives_reopen_and_reclaims(void)
{
	const char *d = lxtest_tmpdir("jobs_reopen");
	char dir[512], sql[256];
	struct lx_err err;
	struct lx_db *db;
	struct lx_conn *c;
	int64_t a = 0, b;

	snprintf(dir, sizeof(dir), "%s", d);
	if ((db = open_migrated(dir, 1)) == NULL) {
		CHECK(0);
		return;
	}
	c = lx_db_conn(db);
	CHECK(lx_jobs_enqueue(c, "ok", "{\"n\":3}", 0, 0, &a, &err) == 0);
	/* A job a crashed process left running, its lease expired. */
	snprintf(sql, sizeof(sql),
	    "INSERT INTO jobs (kind, payload, state, attempts, run_at, "
	    "lease_until, created_at, updated_at) VALUES ('ok', "
	    "'{\"n\":4}', 'running', 1, 0, %lld, 0, 0)",
	    (long long)(lx_now_ms() - 1000));
	CHECK(lx_conn_exec(c, sql, &err) == 0);
	b = sqlite3_last_insert_rowid(lx_conn_sqlite(c));
	/* And one whose lease still runs: left alone. */
	snprintf(sql, sizeof(sql),
	    "INSERT INTO jobs (kind, payload, state, attempts, run_at, "
	    "lease_until, created_at, updated_at) VALUES ('ok', "
	    "'{\"n\":5}', 'running', 1, 0, %lld, 0, 0)",
	    (long long)(lx_now_ms() + 60000));
	CHECK(lx_conn_exec(c, sql, &err) == 0);
	lx_db_close(db);

	ok_calls = 0;
	if ((db = open_migrated(dir, 0)) == NULL) {
		CHECK(0);
		return;
	}
	c = lx_db_conn(db);
	CHECK(lx_jobs_start(db, 2, &err) == 0);
	CHECK(wait_state(c, a, "done"));
	CHECK(wait_state(c, b, "done"));
	sleep_ms(100);
	lx_jobs_stop();
	CHECK(ok_calls == 2);
	snprintf(sql, sizeof(sql), "SELECT attempts FROM jobs WHERE id = %lld",
	    (long long)b);
	CHECK(st_int(c, sql) == 2);
	CHECK(st_int(c, "SELECT count(*) FROM jobs WHERE state = 'running'")
	    == 1);
	lx_db_close(db);
}

static void
test_stop_waits(void)
{
	const char *dir = lxtest_tmpdir("jobs_stop");
	struct lx_job_info *list = NULL;
	struct lx_err err;
	struct lx_db *db;
	struct lx_conn *c;
	int i, n, started = 0;

	if ((db = open_migrated(dir, 1)) == NULL) {
		CHECK(0);
		return;
	}
	c = lx_db_conn(db);
	CHECK(lx_jobs_start(db, 1, &err) == 0);
	CHECK(lx_jobs_enqueue(c, "slow", "{}", 0, 0, NULL, &err) == 0);
	for (i = 0; i < 500 && !started; i++) {
		pthread_mutex_lock(&mu);
		started = slow_done >= 1;
		pthread_mutex_unlock(&mu);
		sleep_ms(5);
	}
	CHECK(started);
	lx_jobs_stop();
	CHECK(slow_done == 2);
	CHECK(st_int(c, "SELECT count(*) FROM jobs WHERE state = 'done'") == 1);

	n = lx_jobs_list(c, "done", 10, &list, &err);
	CHECK(n == 1);
	if (n == 1) {
		CHECK_STR(list[0].kind, "slow");
		CHECK(list[0].attempts == 1);
	}
	lx_jobs_list_free(list, n);
	n = lx_jobs_list(c, "dead", 10, &list, &err);
	CHECK(n == 0);
	lx_jobs_list_free(list, n);
	lx_db_close(db);
}

int
main(void)
{
	st_clean_env();
	lx_jobs_register("flaky", flaky);
	lx_jobs_register("fails", always_fails);
	lx_jobs_register("ok", ok);
	lx_jobs_register("slow", slow);
	lx_jobs_set_timing(20, 200, 0, 20);
	RUN(test_retry_and_dead_letter);
	RUN(test_transaction_bound);
	RUN(test_survives_reopen_and_reclaims);
	RUN(test_stop_waits);
	return (lxtest_done());
}
