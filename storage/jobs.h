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

struct lx_jobs_stats {
	int64_t queued; /* waiting, including retries */
	int64_t running;
	int64_t done;
	int64_t dead; /* dead-lettered */
};
int lx_jobs_stats(
    struct lx_conn *c, struct lx_jobs_stats *out, struct lx_err *err);

#endif
