/*
 * The durable job queue: jobs are rows in the encrypted store, enqueued
 * inside the caller's transaction (so a job exists if and only if the change
 * that wanted it committed), run by worker threads, retried with exponential
 * backoff and moved to a dead-letter state after their last attempt. A job
 * that was running when the process died is picked up again after restart.
 */
#ifndef LX_JOBS_H
#define LX_JOBS_H

#include <stdint.h>

#include "storage.h"

/*
 * A job handler. Runs outside any transaction on the worker's connection;
 * returns 0 when done, -1 (with err) to retry later. Handlers must be
 * idempotent: a crash between the work and its acknowledgement runs the
 * job again.
 */
typedef int (*lx_job_fn)(
    struct lx_conn *c, const char *payload_json, struct lx_err *err);

/* Registers the handler for kind; call before lx_jobs_start. */
void lx_jobs_register(const char *kind, lx_job_fn fn);

/*
 * Enqueues a job of kind with a JSON payload, to run no earlier than
 * run_at_ms (0: now), with at most max_attempts attempts (0: default 8).
 * Uses c's current transaction if one is open. Sets *id (may be NULL).
 */
int lx_jobs_enqueue(struct lx_conn *c, const char *kind,
    const char *payload_json, int64_t run_at_ms, int max_attempts, int64_t *id,
    struct lx_err *err);

/* Starts nworkers threads that poll for due jobs; stop with lx_jobs_stop,
 * which waits for running handlers to finish. */
int lx_jobs_start(struct lx_db *db, int nworkers, struct lx_err *err);
void lx_jobs_stop(void);

/*
 * Timing, for tests and tuning; 0 keeps a value's default. backoff_base_ms:
 * the first retry's delay (default 1000, or $LUXIMA_JOBS_BACKOFF_MS), doubled
 * per attempt up to backoff_cap_ms (default 1 hour), with jitter (the delay
 * is drawn from [d/2, d]). lease_ms: how long a claimed job belongs to its
 * worker before another may reclaim it (default 5 minutes). poll_ms: how
 * often idle workers look for due jobs (default 1000). Call before
 * lx_jobs_start.
 */
void lx_jobs_set_timing(int64_t backoff_base_ms, int64_t backoff_cap_ms,
    int64_t lease_ms, int poll_ms);

/* One job, as listed by lx_jobs_list. */
struct lx_job_info {
	int64_t id;
	char *kind;
	char *payload; /* JSON text */
	char *state; /* queued, running, done, dead */
	int attempts; /* attempts started so far */
	int max_attempts;
	int64_t run_at_ms; /* next run (queued) */
	int64_t lease_until_ms; /* running: lease expiry; 0 otherwise */
	char *last_error; /* NULL if none */
	int64_t created_at_ms;
	int64_t updated_at_ms;
};

/* Lists up to limit jobs (newest first), only those in state if not NULL.
 * Sets *out (free with lx_jobs_list_free) and returns the count, or -1. */
int lx_jobs_list(struct lx_conn *c, const char *state, int limit,
    struct lx_job_info **out, struct lx_err *err);
void lx_jobs_list_free(struct lx_job_info *jobs, int n);

struct lx_jobs_stats {
	int64_t queued; /* waiting, including retries */
	int64_t running;
	int64_t done;
	int64_t dead; /* dead-lettered */
};
int lx_jobs_stats(
    struct lx_conn *c, struct lx_jobs_stats *out, struct lx_err *err);

#endif
