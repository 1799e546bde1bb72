/*
 * The invocation log writer. An invocation must not wait for a database
 * write (a trivial function would then cost a commit), so the invocation
 * path queues its record in memory and one writer thread inserts what is
 * queued in one transaction every 200 ms, or at once when the queue fills
 * half-way. The queue is bounded: beyond QUEUE_MAX records waiting, new
 * ones are counted as dropped (logged once per batch) rather than letting
 * memory grow under a flood. A crash loses at most the last 200 ms of
 * records; a graceful stop writes everything. The same queue carries the
 * records of installed plugins' runs (routes, hooks, jobs) to
 * plugin_invocations: rec.kind says which table.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "functions.h"

#define QUEUE_MAX 8192 /* records waiting */
#define BATCH_MS 200 /* writer period */

struct node {
	struct node *next;
	struct functions_invocation rec;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* the writer waits here */
	pthread_cond_t done_cv; /* flushers wait for a written batch */
	struct node *head, *tail; /* FIFO */
	int n; /* queued */
	int64_t dropped; /* since the last batch */
	int64_t added; /* records queued, ever */
	int64_t written; /* records handed to the database, ever */
	int stop; /* 1: write what is left and end */
	int running;
	pthread_t thread;
	struct lx_db *db;
} q = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.done_cv = PTHREAD_COND_INITIALIZER,
};

static const char sql_insert[] =
    "INSERT INTO function_invocations (tenant_id, function_id, version, "
    "started_at, duration_us, status, memory, error, log, request_id, "
    "actor) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE "
    "EXISTS (SELECT 1 FROM functions WHERE id = ?2)";

static const char sql_plugin_insert[] =
    "INSERT INTO plugin_invocations (tenant_id, plugin_id, version, "
    "started_at, duration_us, status, memory, error, log, request_id, "
    "actor, kind, target) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
    "?11, ?12, ?13 WHERE EXISTS (SELECT 1 FROM plugins WHERE id = ?2)";

/* The kind column of a plugin run's record. */
static const char *
plugin_kind(enum functions_log_kind k)
{
	switch (k) {
	case FUNCTIONS_LOG_PLUGIN_ROUTE:
		return ("route");
	case FUNCTIONS_LOG_PLUGIN_HOOK:
		return ("hook");
	default:
		return ("job");
	}
}

static void
rec_free(struct node *n)
{
	lx_free(n->rec.target);
	lx_free(n->rec.error);
	lx_free(n->rec.log);
	lx_free(n);
}

/* Inserts the records of list in one transaction (system code). A
 * function deleted meanwhile has its records skipped (a plugin's too). */
static void
write_batch(struct lx_conn *c, struct node *list)
{
	struct functions_invocation *r;
	struct lx_err err;
	sqlite3_stmt *st;
	struct node *n;

	if (lx_conn_begin(c, &err) == -1)
		goto fail;
	for (n = list; n != NULL; n = n->next) {
		r = &n->rec;
		if ((st = lx_conn_stmt(c,
		         r->kind == FUNCTIONS_LOG_FUNCTION ? sql_insert
		                                           : sql_plugin_insert,
		         &err))
		    == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, r->tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->function_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->version, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, r->started_at);
		sqlite3_bind_int64(st, 5, r->duration_us);
		sqlite3_bind_int(st, 6, r->status);
		sqlite3_bind_int64(st, 7, r->memory);
		if (r->error != NULL)
			sqlite3_bind_text(st, 8, r->error, -1, SQLITE_STATIC);
		sqlite3_bind_text(
		    st, 9, r->log != NULL ? r->log : "", -1, SQLITE_STATIC);
		if (r->request_id[0] != '\0')
			sqlite3_bind_text(
			    st, 10, r->request_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 11, r->actor, -1, SQLITE_STATIC);
		if (r->kind != FUNCTIONS_LOG_FUNCTION) {
			sqlite3_bind_text(
			    st, 12, plugin_kind(r->kind), -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 13,
			    r->target != NULL ? r->target : "", -1,
			    SQLITE_STATIC);
		}
		if (lx_conn_step_done(c, st, "invocation log", &err) == -1)
			goto fail;
	}
	if (lx_conn_commit(c, &err) == -1)
		goto fail;
	return;
fail:
	lx_conn_rollback(c);
	lx_log(LX_LOG_WARN, "invocation log not written: %s", err.detail);
}

static void *
writer(void *arg)
{
	struct lx_conn *c = lx_db_conn(q.db);
	struct timespec ts;
	struct node *list, *n;
	int64_t dropped, count;
	int stop;

	(void)arg;
	pthread_mutex_lock(&q.mu);
	for (;;) {
		if (!q.stop && q.n < QUEUE_MAX / 2) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += BATCH_MS * 1000000L;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&q.cv, &q.mu, &ts);
		}
		list = q.head;
		q.head = q.tail = NULL;
		count = q.n;
		q.n = 0;
		dropped = q.dropped;
		q.dropped = 0;
		stop = q.stop;
		pthread_mutex_unlock(&q.mu);
		if (dropped > 0)
			lx_log(LX_LOG_WARN,
			    "invocation log: %lld records dropped (queue full)",
			    (long long)dropped);
		if (list != NULL)
			write_batch(c, list);
		while ((n = list) != NULL) {
			list = n->next;
			rec_free(n);
		}
		pthread_mutex_lock(&q.mu);
		q.written += count;
		pthread_cond_broadcast(&q.done_cv);
		if (stop && q.head == NULL)
			break;
	}
	pthread_mutex_unlock(&q.mu);
	lx_db_thread_done(q.db);
	return (NULL);
}

int
functions_log_start(struct lx_db *db, struct lx_err *err)
{
	pthread_mutex_lock(&q.mu);
	q.db = db;
	q.stop = 0;
	if (pthread_create(&q.thread, NULL, writer, NULL) != 0) {
		pthread_mutex_unlock(&q.mu);
		return (lx_err_set(err, 500, "internal_error",
		    "cannot start the invocation log writer"));
	}
	q.running = 1;
	pthread_mutex_unlock(&q.mu);
	return (0);
}

void
functions_log_stop(void)
{
	pthread_mutex_lock(&q.mu);
	if (!q.running) {
		pthread_mutex_unlock(&q.mu);
		return;
	}
	q.stop = 1;
	pthread_cond_signal(&q.cv);
	pthread_mutex_unlock(&q.mu);
	pthread_join(q.thread, NULL);
	pthread_mutex_lock(&q.mu);
	q.running = 0;
	pthread_mutex_unlock(&q.mu);
}

void
functions_log_add(struct functions_invocation *rec)
{
	struct node *n = lx_malloc(sizeof(*n));

	n->next = NULL;
	n->rec = *rec;
	memset(rec, 0, sizeof(*rec));
	pthread_mutex_lock(&q.mu);
	if (!q.running || q.n >= QUEUE_MAX) {
		q.dropped++;
		pthread_mutex_unlock(&q.mu);
		rec_free(n);
		return;
	}
	if (q.tail != NULL)
		q.tail->next = n;
	else
		q.head = n;
	q.tail = n;
	q.added++;
	if (++q.n >= QUEUE_MAX / 2)
		pthread_cond_signal(&q.cv);
	pthread_mutex_unlock(&q.mu);
}

void
functions_log_flush(void)
{
	int64_t want;

	pthread_mutex_lock(&q.mu);
	want = q.added;
	pthread_cond_signal(&q.cv);
	while (q.running && q.written < want)
		pthread_cond_wait(&q.done_cv, &q.mu);
	pthread_mutex_unlock(&q.mu);
}
