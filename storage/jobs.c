/*
 * The durable job queue: rows in the jobs table (migration 001), claimed by
 * worker threads with a lease in one UPDATE ... RETURNING, retried with
 * exponential backoff and jitter, dead-lettered after max_attempts with the
 * last error kept. A job whose lease ran out (its process died) is claimed
 * again. Idle workers sleep on a condition variable, woken by an enqueue
 * from this process or by the poll interval / next due time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <sodium.h>

#include "db_int.h"
#include "jobs.h"

#define MAX_KINDS 64
#define DEFAULT_MAX_ATTEMPTS 8
#define DEFAULT_BACKOFF_MS 1000
#define DEFAULT_CAP_MS (3600 * 1000)
#define DEFAULT_LEASE_MS (300 * 1000)
#define DEFAULT_POLL_MS 1000

static const char sql_enqueue[] =
    "INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_at, "
    "created_at, updated_at) VALUES (?1, ?2, 'queued', 0, ?3, ?4, ?5, ?5)";
static const char sql_claim[] =
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
    "lease_until = ?1 + ?2, updated_at = ?1 "
    "WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' AND run_at <= "
    "?1) OR (state = 'running' AND lease_until <= ?1) ORDER BY run_at, id "
    "LIMIT 1) RETURNING id, kind, payload, attempts, max_attempts";
static const char sql_done[] =
    "UPDATE jobs SET state = 'done', lease_until = NULL, last_error = NULL, "
    "updated_at = ?2 WHERE id = ?1 AND state = 'running' AND attempts = ?3";
static const char sql_fail[] =
    "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' "
    "ELSE 'queued' END, run_at = ?4, lease_until = NULL, last_error = ?5, "
    "updated_at = ?2 WHERE id = ?1 AND state = 'running' AND attempts = ?3";
static const char sql_next_due[] =
    "SELECT min(t) FROM (SELECT min(run_at) AS t FROM jobs WHERE state = "
    "'queued' UNION ALL SELECT min(lease_until) FROM jobs WHERE state = "
    "'running')";
static const char sql_stats[] =
    "SELECT state, count(*) FROM jobs GROUP BY state";
static const char sql_list[] =
    "SELECT id, kind, payload, state, attempts, max_attempts, run_at, "
    "lease_until, last_error, created_at, updated_at FROM jobs "
    "WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2";

static struct {
	char kind[64];
	lx_job_fn fn;
} kinds[MAX_KINDS];
static int nkinds;

/* The workers of this process. */
static struct {
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv; /* idle workers wait here */
	int running; /* cv initialised, threads started */
	int stopping; /* lx_jobs_stop asked the workers to leave */
	uint64_t wakes; /* bumped by lx_jobs_wake */
	pthread_t *threads;
	int nthreads;
	struct lx_db *db;
} jq = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int64_t backoff_base_ms, backoff_cap_ms, lease_ms;
static int poll_ms;

/* A claimed job, owned by one worker. */
struct job {
	int64_t id;
	char *kind;
	char *payload;
	int attempts;
	int max_attempts;
};

void
lx_jobs_register(const char *kind, lx_job_fn fn)
{
	int i;

	for (i = 0; i < nkinds; i++)
		if (strcmp(kinds[i].kind, kind) == 0) {
			kinds[i].fn = fn;
			return;
		}
	if (nkinds == MAX_KINDS || strlen(kind) >= sizeof(kinds[0].kind)) {
		lx_log(LX_LOG_ERROR, "jobs: cannot register kind %s", kind);
		abort();
	}
	snprintf(kinds[nkinds].kind, sizeof(kinds[0].kind), "%s", kind);
	kinds[nkinds].fn = fn;
	nkinds++;
}

static lx_job_fn
handler_for(const char *kind)
{
	int i;

	for (i = 0; i < nkinds; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return (kinds[i].fn);
	return (NULL);
}

void
lx_jobs_set_timing(int64_t base_ms, int64_t cap_ms, int64_t lease, int poll)
{
	backoff_base_ms = base_ms;
	backoff_cap_ms = cap_ms;
	lease_ms = lease;
	poll_ms = poll;
}

static int64_t
base_delay(void)
{
	const char *v;
	long long n;

	if (backoff_base_ms > 0)
		return (backoff_base_ms);
	if ((v = getenv("LUXIMA_JOBS_BACKOFF_MS")) != NULL
	    && (n = strtoll(v, NULL, 10)) > 0)
		return ((int64_t)n);
	return (DEFAULT_BACKOFF_MS);
}

/* The delay before the retry that follows attempt n (1-based). */
static int64_t
retry_delay(int n)
{
	int64_t d = base_delay();
	int64_t cap = backoff_cap_ms > 0 ? backoff_cap_ms : DEFAULT_CAP_MS;
	int i;

	for (i = 1; i < n && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	if (d > UINT32_MAX / 2)
		d = UINT32_MAX / 2;
	return (d / 2 + (int64_t)randombytes_uniform((uint32_t)(d / 2 + 1)));
}

void
lx_jobs_wake(void)
{
	pthread_mutex_lock(&jq.mu);
	if (jq.running) {
		jq.wakes++;
		pthread_cond_broadcast(&jq.cv);
	}
	pthread_mutex_unlock(&jq.mu);
}

int
lx_jobs_enqueue(struct lx_conn *c, const char *kind, const char *payload_json,
    int64_t run_at_ms, int max_attempts, int64_t *id, struct lx_err *err)
{
	sqlite3_stmt *st;
	cJSON *j = NULL;
	int64_t now = lx_now_ms();
	int rc, ret = -1;

	if (payload_json == NULL)
		payload_json = "{}";
	if ((j = cJSON_Parse(payload_json)) == NULL) {
		lx_err_set(err, 500, "job_payload",
		    "job payload for %s is not JSON", kind);
		goto out;
	}
	if ((st = lx_conn_stmt(c, sql_enqueue, err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, payload_json, -1, SQLITE_STATIC);
	sqlite3_bind_int(
	    st, 3, max_attempts > 0 ? max_attempts : DEFAULT_MAX_ATTEMPTS);
	sqlite3_bind_int64(st, 4, run_at_ms > 0 ? run_at_ms : now);
	sqlite3_bind_int64(st, 5, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "enqueue job", err);
		goto out;
	}
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(lx_conn_sqlite(c));
	/* Inside a transaction the workers are woken by its commit. */
	if (lx_conn_in_tx(c))
		c->wake_jobs = 1;
	else
		lx_jobs_wake();
	ret = 0;
out:
	cJSON_Delete(j);
	return (ret);
}

static void
job_cleanup(struct job *j)
{
	lx_free(j->kind);
	lx_free(j->payload);
	memset(j, 0, sizeof(*j));
}

/* Claims one due job. Returns 1 with *j filled, 0 if none, -1 on error. */
static int
claim(struct lx_conn *c, struct job *j, struct lx_err *err)
{
	sqlite3_stmt *st;
	int64_t now = lx_now_ms();
	int rc, ret = -1;

	memset(j, 0, sizeof(*j));
	if ((st = lx_conn_stmt(c, sql_claim, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, lease_ms > 0 ? lease_ms : DEFAULT_LEASE_MS);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		j->id = sqlite3_column_int64(st, 0);
		j->kind = lx_strdup((const char *)sqlite3_column_text(st, 1));
		j->payload =
		    lx_strdup((const char *)sqlite3_column_text(st, 2));
		j->attempts = sqlite3_column_int(st, 3);
		j->max_attempts = sqlite3_column_int(st, 4);
		rc = sqlite3_step(st);
		ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	if (rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "claim job", err);
		job_cleanup(j);
		ret = -1;
	}
	sqlite3_reset(st);
	return (ret);
}

/* Records a job's outcome: done, or failed with why (retry or dead). */
static void
finish(struct lx_conn *c, const struct job *j, const char *why)
{
	struct lx_err err;
	sqlite3_stmt *st;
	int64_t now = lx_now_ms();
	int rc;

	lx_err_clear(&err);
	st = lx_conn_stmt(c, why == NULL ? sql_done : sql_fail, &err);
	if (st == NULL) {
		lx_log(LX_LOG_ERROR, "jobs: %s", err.detail);
		return;
	}
	sqlite3_bind_int64(st, 1, j->id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, j->attempts);
	if (why != NULL) {
		sqlite3_bind_int64(st, 4, now + retry_delay(j->attempts));
		sqlite3_bind_text(st, 5, why, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "finish job", &err);
		lx_log(LX_LOG_ERROR,
		    "jobs: job %lld: %s (its lease will expire)",
		    (long long)j->id, err.detail);
	} else if (why != NULL)
		lx_log(
		    j->attempts >= j->max_attempts ? LX_LOG_ERROR : LX_LOG_WARN,
		    "jobs: job %lld (%s) attempt %d/%d failed%s: %s",
		    (long long)j->id, j->kind, j->attempts, j->max_attempts,
		    j->attempts >= j->max_attempts ? ", dead-lettered" : "",
		    why);
}

static void
run(struct lx_conn *c, struct job *j)
{
	struct lx_err err;
	lx_job_fn fn;
	int rc;

	lx_err_clear(&err);
	if (j->attempts > j->max_attempts) {
		finish(c, j, "lease expired during the last attempt");
		return;
	}
	if ((fn = handler_for(j->kind)) == NULL) {
		lx_err_set(&err, 500, "job_kind", "no handler for job kind %s",
		    j->kind);
		finish(c, j, err.detail);
		return;
	}
	rc = fn(c, j->payload, &err);
	if (lx_conn_in_tx(c)) {
		lx_conn_rollback(c);
		if (rc == 0) {
			rc = -1;
			lx_err_set(&err, 500, "job_tx",
			    "handler left a transaction open");
		}
	}
	if (rc == 0)
		finish(c, j, NULL);
	else
		finish(c, j,
		    err.detail[0] != '\0' ? err.detail : "handler failed");
}

/* Milliseconds to sleep: until the next due job, at most the poll. */
static int64_t
idle_ms(struct lx_conn *c)
{
	sqlite3_stmt *st;
	int64_t wait = poll_ms > 0 ? poll_ms : DEFAULT_POLL_MS, due;

	if ((st = lx_conn_stmt(c, sql_next_due, NULL)) == NULL)
		return (wait);
	if (sqlite3_step(st) == SQLITE_ROW
	    && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		due = sqlite3_column_int64(st, 0) - lx_now_ms();
		if (due < wait)
			wait = due < 1 ? 1 : due;
	}
	sqlite3_reset(st);
	return (wait);
}

static void *
worker(void *arg)
{
	struct lx_conn *c;
	struct lx_err err;
	struct timespec ts;
	struct job j;
	uint64_t gen;
	int64_t ms;
	int r;

	(void)arg;
	c = lx_db_conn(jq.db);
	for (;;) {
		pthread_mutex_lock(&jq.mu);
		gen = jq.wakes;
		r = jq.stopping;
		pthread_mutex_unlock(&jq.mu);
		if (r)
			break;
		lx_err_clear(&err);
		if ((r = claim(c, &j, &err)) == 1) {
			run(c, &j);
			job_cleanup(&j);
			continue;
		}
		if (r == -1)
			lx_log(LX_LOG_ERROR, "jobs: %s", err.detail);
		ms = r == -1 ? (poll_ms > 0 ? poll_ms : DEFAULT_POLL_MS)
		             : idle_ms(c);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(ms / 1000);
		ts.tv_nsec += (long)(ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&jq.mu);
		while (!jq.stopping && jq.wakes == gen
		    && pthread_cond_timedwait(&jq.cv, &jq.mu, &ts) == 0)
			;
		pthread_mutex_unlock(&jq.mu);
	}
	lx_db_thread_done(jq.db);
	return (NULL);
}

int
lx_jobs_start(struct lx_db *db, int nworkers, struct lx_err *err)
{
	pthread_condattr_t ca;
	int i, ret = -1;

	if (nworkers <= 0)
		nworkers = 1;
	pthread_mutex_lock(&jq.mu);
	if (jq.running) {
		lx_err_set(err, 500, "jobs_running", "job workers already run");
		goto out;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&jq.cv, &ca);
	pthread_condattr_destroy(&ca);
	jq.db = db;
	jq.stopping = 0;
	jq.running = 1;
	jq.threads = lx_calloc((size_t)nworkers, sizeof(*jq.threads));
	for (i = 0; i < nworkers; i++) {
		if (pthread_create(&jq.threads[i], NULL, worker, NULL) != 0) {
			lx_err_set(err, 500, "jobs_thread",
			    "cannot start job worker: %s", strerror(errno));
			break;
		}
		jq.nthreads++;
	}
	ret = i == nworkers ? 0 : -1;
out:
	pthread_mutex_unlock(&jq.mu);
	if (ret == -1 && jq.running)
		lx_jobs_stop();
	return (ret);
}

void
lx_jobs_stop(void)
{
	int i, n;

	pthread_mutex_lock(&jq.mu);
	if (!jq.running) {
		pthread_mutex_unlock(&jq.mu);
		return;
	}
	jq.stopping = 1;
	pthread_cond_broadcast(&jq.cv);
	n = jq.nthreads;
	pthread_mutex_unlock(&jq.mu);
	/* Workers finish the handler they are running, then leave. */
	for (i = 0; i < n; i++)
		pthread_join(jq.threads[i], NULL);
	pthread_mutex_lock(&jq.mu);
	lx_free(jq.threads);
	jq.threads = NULL;
	jq.nthreads = 0;
	jq.running = 0;
	jq.db = NULL;
	pthread_cond_destroy(&jq.cv);
	pthread_mutex_unlock(&jq.mu);
}

int
lx_jobs_stats(struct lx_conn *c, struct lx_jobs_stats *out, struct lx_err *err)
{
	sqlite3_stmt *st;
	const char *s;
	int64_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((st = lx_conn_stmt(c, sql_stats, err)) == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = (const char *)sqlite3_column_text(st, 0);
		n = sqlite3_column_int64(st, 1);
		if (s == NULL)
			continue;
		if (strcmp(s, "queued") == 0)
			out->queued = n;
		else if (strcmp(s, "running") == 0)
			out->running = n;
		else if (strcmp(s, "done") == 0)
			out->done = n;
		else if (strcmp(s, "dead") == 0)
			out->dead = n;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "job stats", err));
	return (0);
}

static char *
dup_col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return (s != NULL ? lx_strdup(s) : NULL);
}

int
lx_jobs_list(struct lx_conn *c, const char *state, int limit,
    struct lx_job_info **out, struct lx_err *err)
{
	struct lx_job_info *v = NULL, *ji;
	sqlite3_stmt *st;
	int rc, n = 0, ret = -1;

	*out = NULL;
	if ((st = lx_conn_stmt(c, sql_list, err)) == NULL)
		goto out;
	if (state != NULL)
		sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = lx_realloc(v, sizeof(*v) * (size_t)(n + 1));
		ji = &v[n++];
		ji->id = sqlite3_column_int64(st, 0);
		ji->kind = dup_col(st, 1);
		ji->payload = dup_col(st, 2);
		ji->state = dup_col(st, 3);
		ji->attempts = sqlite3_column_int(st, 4);
		ji->max_attempts = sqlite3_column_int(st, 5);
		ji->run_at_ms = sqlite3_column_int64(st, 6);
		ji->lease_until_ms = sqlite3_column_int64(st, 7);
		ji->last_error = dup_col(st, 8);
		ji->created_at_ms = sqlite3_column_int64(st, 9);
		ji->updated_at_ms = sqlite3_column_int64(st, 10);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "list jobs", err);
		goto out;
	}
	*out = v;
	v = NULL;
	ret = n;
out:
	lx_jobs_list_free(v, n);
	return (ret);
}

void
lx_jobs_list_free(struct lx_job_info *jobs, int n)
{
	int i;

	if (jobs == NULL)
		return;
	for (i = 0; i < n; i++) {
		lx_free(jobs[i].kind);
		lx_free(jobs[i].payload);
		lx_free(jobs[i].state);
		lx_free(jobs[i].last_error);
	}
	lx_free(jobs);
}
