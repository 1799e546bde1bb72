/*
 * The encrypted store: opening the SQLCipher database in the data folder
 * with a key from the environment (never the command line), one connection
 * per thread with a prepared-statement cache, transactions, the migration
 * runner and seeds, and the tenant policies (request contexts bound to a
 * connection, policy views, the PostgreSQL export). The durable job queue
 * lives in jobs.h, the audit chain in modules/audit/audit.h.
 */
#ifndef LX_STORAGE_H
#define LX_STORAGE_H

#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "lx.h"

struct lx_db; /* the process-wide store: path, key, settings, connections */
struct lx_conn; /* one SQLite connection, owned by one thread */

struct lx_db_config {
	const char *data_dir; /* folder holding luxima.db (created) */
	int create; /* 1: create folder/db/key if absent */
	int synchronous_full; /* 1 (default): PRAGMA synchronous=FULL */
	int busy_timeout_ms; /* 0: default 5000 */
	int memory_security; /* 1: PRAGMA cipher_memory_security=ON (slower) */
};

/*
 * Opens (or, with cfg->create, creates) <data_dir>/luxima.db. The key comes,
 * in order, from the file named by LUXIMA_DB_KEY_FILE,
 * $CREDENTIALS_DIRECTORY/db.key, LUXIMA_DB_KEY; otherwise from
 * <data_dir>/luxima.key, generated (256 random bits, mode 0600, with a
 * warning) when the database does not exist yet. Verifies the key, sets WAL,
 * synchronous, busy timeout and foreign keys. Wrong key, missing key,
 * corrupt file, read-only or full disk fail with a one-line err and leave
 * the existing file byte-for-byte unchanged. Does not migrate.
 * On success sets *out (free with lx_db_close) and returns 0.
 */
int lx_db_open(
    const struct lx_db_config *cfg, struct lx_db **out, struct lx_err *err);
/* Closes every connection (checkpointing the WAL) and frees db. NULL ok. */
void lx_db_close(struct lx_db *db);
const char *lx_db_path(const struct lx_db *db);

/*
 * The calling thread's connection, opened on first use and kept until
 * lx_db_thread_done() or lx_db_close(). Never NULL after a successful
 * lx_db_open (failure to open a further connection aborts with a log line).
 * No application-level lock is taken for reads.
 */
struct lx_conn *lx_db_conn(struct lx_db *db);
/* Closes the calling thread's connection, if any (worker thread exit). */
void lx_db_thread_done(struct lx_db *db);
sqlite3 *lx_conn_sqlite(struct lx_conn *c);

/*
 * A prepared statement for sql from c's cache (prepared on first use, keyed
 * by the pointer value of sql, so pass string literals). The statement is
 * reset and its bindings cleared; the caller must not finalize it. Returns
 * NULL and fills err on a prepare failure (a programming error: status 500).
 */
sqlite3_stmt *lx_conn_stmt(
    struct lx_conn *c, const char *sql, struct lx_err *err);

/* Transactions: begin takes the write lock at once (BEGIN IMMEDIATE) so a
 * writer never fails halfway on a busy upgrade. Rollback accepts being
 * called when no transaction is open. */
int lx_conn_begin(struct lx_conn *c, struct lx_err *err);
int lx_conn_commit(struct lx_conn *c, struct lx_err *err);
void lx_conn_rollback(struct lx_conn *c);
/* 1 if c has a transaction open, else 0. */
int lx_conn_in_tx(struct lx_conn *c);
/* Steps a cached statement that returns no rows (INSERT, UPDATE, DELETE),
 * then resets it and clears its bindings; on failure fills err through
 * lx_conn_error (what names the step). */
int lx_conn_step_done(
    struct lx_conn *c, sqlite3_stmt *st, const char *what, struct lx_err *err);
/*
 * A number that changes whenever a row of tenants or memberships is
 * written in this process (when the row changes and again when its
 * transaction commits or rolls back): a per-thread cache of membership
 * lookups keyed by it is never stale for changes made here. Changes made
 * by another process are not seen; such a cache must also expire.
 */
uint64_t lx_tenancy_generation(void);
/* Resets a cached statement and clears its bindings (after reading it by
 * hand). */
void lx_stmt_finish(sqlite3_stmt *st);
/* Column i of st's current row as text into dst (size bytes, truncated;
 * "" for NULL). */
void lx_col_text(sqlite3_stmt *st, int i, char *dst, size_t size);
/* Column i of st's current row as an lx_malloc'd string, NULL for NULL. */
char *lx_col_dup(sqlite3_stmt *st, int i);
/* Steps a cached statement whose first row's first column is an integer
 * (a count), into *out (0 when there is no row), then resets it and clears
 * its bindings; on failure fills err through lx_conn_error. */
int lx_conn_step_int(struct lx_conn *c, sqlite3_stmt *st, const char *what,
    int64_t *out, struct lx_err *err);
/* Steps a write through a policy view (INSERT, UPDATE, DELETE of one row)
 * like lx_conn_step_done; 404 with code and detail unless exactly one row
 * passed the view's policy (lx_conn_policy_changes). */
int lx_conn_step_one(struct lx_conn *c, sqlite3_stmt *st, const char *what,
    const char *code, const char *detail, struct lx_err *err);
/* Runs sql (no results wanted), filling err with the SQLite message. */
int lx_conn_exec(struct lx_conn *c, const char *sql, struct lx_err *err);
/* Sets err from the connection's last SQLite error: status 503 for
 * SQLITE_BUSY/LOCKED/FULL/IOERR/READONLY, 409 for constraint violations,
 * else 500. Returns -1. */
int lx_conn_error(
    struct lx_conn *c, int rc, const char *what, struct lx_err *err);
/* Gauges for /metrics. */
struct lx_db_stats {
	int64_t page_count; /* pages in the main database */
	int64_t page_size;
	int64_t wal_bytes; /* size of the -wal file */
	int connections; /* open connections */
};
void lx_db_stats(struct lx_db *db, struct lx_db_stats *out);

/* --- migrations (storage/migrate.c) --- */
struct lx_migration_state {
	const char *name; /* e.g. "001_init_core_schema.sql" */
	int applied; /* 1 if recorded in lx_migrations */
	int changed; /* 1 if applied but its text differs */
	int64_t applied_at; /* ms since epoch, 0 if pending */
};
/* Fills *out (free with lx_free) with one entry per embedded migration
 * and returns their count, or -1. */
int lx_migrate_status(
    struct lx_db *db, struct lx_migration_state **out, struct lx_err *err);
/* Applies every pending migration in order, each in one transaction with
 * its name and SHA-256 recorded. An applied migration whose text changed
 * stops with err (code "migration_changed") before anything is applied.
 * Sets *applied (may be NULL) to how many ran. */
int lx_migrate_up(struct lx_db *db, int *applied, struct lx_err *err);
/* 1 if every embedded migration is applied and unchanged, else 0. */
int lx_migrate_current(struct lx_db *db);

/* --- seeds (storage/seed.c) --- */
/* Runs the seed set "defaults" or "demo" (files under migrations/seeds/
 * listed in the set), idempotently, in one transaction. */
int lx_seed_run(struct lx_db *db, const char *set, struct lx_err *err);

/* --- tenant policies (storage/policy.c) --- */
/*
 * Who a request acts as. Bound to a connection, it makes the SQL functions
 * current_user_id(), current_tenant(), current_tenant_role(),
 * has_permission(p) and is_platform_admin() answer for it, and turns the
 * connection's authorizer on: the tenant tables are then reachable only
 * through the policy views (p_tenants, p_memberships, p_invitations,
 * p_service_keys, v_audit_logs, v_tenant_summary).
 */
struct lx_db_ctx {
	const char *user_id; /* the caller; NULL for none (service key) */
	const char *tenant_id; /* the tenant acted in; NULL for none */
	const char *role; /* tenant role name, e.g. "admin"; may be NULL */
	const char *const *perms; /* permission names; NULL: the role's */
	int nperms; /* entries in perms */
	int platform_admin; /* 1: every row of every tenant */
};

/*
 * Binds ctx (copied; the caller keeps ownership) to c until
 * lx_conn_clear_context. With perms NULL the role's permissions are read
 * from role_permissions. Creates c's policy views and installs the
 * authorizer on first use (for good: SQLite expires every prepared statement
 * when the authorizer changes, so it stays and guards only while a context
 * is bound); c's statement cache keeps statements prepared under a context
 * apart from system code's, so neither kind is ever handed to the other. Bind it before opening the
 * request's transaction: the views are TEMP objects a rollback would undo.
 * Per connection, no lock taken. Returns 0, or -1 with err; c then fails
 * closed (no context, tenant tables still denied) until
 * lx_conn_clear_context.
 */
int lx_conn_set_context(
    struct lx_conn *c, const struct lx_db_ctx *ctx, struct lx_err *err);
/* 1 if c's bound context is a platform admin's or holds the permission
 * perm ("members.write"), else 0 (also with no context). */
int lx_conn_has_perm(struct lx_conn *c, const char *perm);
/* Unbinds c's context and removes the authorizer (system code again). */
void lx_conn_clear_context(struct lx_conn *c);
/* 1 if c carries a request context. */
int lx_conn_has_context(struct lx_conn *c);
/*
 * Lets system code run inside a request without unbinding its context:
 * between begin and end the authorizer lets every statement of c compile
 * (the audit writer reads the chain's head and appends to audit_logs).
 * The statements compiled there must be used only there. Pairs nest; a
 * connection without a context is unaffected.
 */
void lx_conn_system_begin(struct lx_conn *c);
void lx_conn_system_end(struct lx_conn *c);
/*
 * Rows inserted, updated or deleted through c's policy views since the last
 * call or lx_conn_set_context (reading resets it). sqlite3_changes() counts
 * none of them: SQLite does not count rows written by INSTEAD OF triggers.
 * Read it after each successful statement; a failed one may leave rows
 * counted that its rollback undid.
 */
int64_t lx_conn_policy_changes(struct lx_conn *c);
/*
 * Writes the PostgreSQL mirror of the tenant tables and their policies
 * (tables, the context functions over current_setting('app.*'), ENABLE and
 * FORCE ROW LEVEL SECURITY, CREATE POLICY) to f. Returns 0, or -1 on a
 * write error.
 */
int lx_policy_export_postgres(FILE *f);

#endif
