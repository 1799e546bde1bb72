/*
 * Opening the encrypted store: the SQLCipher database <data>/luxima.db, keyed
 * before anything else, its key checked by a read before any statement that
 * writes, then WAL, synchronous, busy timeout and foreign keys. Each thread
 * gets its own connection (a pthread key), each connection its own cache of
 * prepared statements keyed by the SQL pointer; reads take no application
 * lock. Errors become one line naming the file and the problem.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "db_int.h"
#include "jobs.h"

#define DEFAULT_BUSY_MS 5000
#define CACHE_MIN_SLOTS 32

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void
global_init(void)
{
	init_rc = SQLITE_OK;
	if (sodium_init() < 0)
		init_rc = SQLITE_ERROR;
	else
		init_rc = sqlite3_initialize();
}

/* The system error behind an I/O failure, as a short phrase. */
static const char *
errno_phrase(int e)
{
	switch (e) {
	case ENOSPC:
	case EFBIG:
	case EDQUOT:
		return ("disk full or file size limit reached");
	case EACCES:
	case EPERM:
	case EROFS:
		return ("read-only: the file or its folder is not writable");
	default:
		return (NULL);
	}
}

/*
 * Describes rc on handle h (may be NULL) as "<problem> (<detail>)" into buf
 * and returns the stable code for it.
 */
static const char *
describe(sqlite3 *h, int rc, char *buf, size_t len, int *status)
{
	const char *msg = h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc);
	const char *phrase;
	int sys = h != NULL ? sqlite3_system_errno(h) : 0;

	*status = 500;
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		snprintf(buf, len,
		    "wrong database key, or the file is damaged or not a "
		    "Luxima database");
		*status = 503;
		return ("db_key");
	case SQLITE_CORRUPT:
		snprintf(buf, len, "the database file is damaged (%s)", msg);
		*status = 503;
		return ("db_corrupt");
	case SQLITE_FULL:
		snprintf(buf, len, "disk full (%s)", sys ? strerror(sys) : msg);
		*status = 503;
		return ("db_full");
	case SQLITE_READONLY:
	case SQLITE_PERM:
		snprintf(buf, len,
		    "read-only: the file or its folder is not writable (%s)",
		    sys ? strerror(sys) : msg);
		*status = 503;
		return ("db_readonly");
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		snprintf(buf, len, "database busy (%s)", msg);
		*status = 503;
		return ("db_busy");
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		*status = 503;
		if ((phrase = errno_phrase(sys)) != NULL) {
			snprintf(buf, len, "%s (%s)", phrase, strerror(sys));
			return (sys == EACCES || sys == EPERM || sys == EROFS
			        ? "db_readonly"
			        : "db_full");
		}
		snprintf(buf, len, "I/O error (%s%s%s)", msg, sys ? ": " : "",
		    sys ? strerror(sys) : "");
		return ("db_io");
	case SQLITE_CONSTRAINT:
		snprintf(buf, len, "%s", msg);
		*status = 409;
		return ("conflict");
	default:
		snprintf(buf, len, "%s", msg);
		return ("db_error");
	}
}

/* Fills err with "cannot open <path>: <problem>" and returns -1. */
static int
open_error(const char *path, sqlite3 *h, int rc, struct lx_err *err)
{
	char what[400];
	const char *code;
	int status;

	code = describe(h, rc, what, sizeof(what), &status);
	return (
	    lx_err_set(err, status, code, "cannot open %s: %s", path, what));
}

int
lx_conn_error(struct lx_conn *c, int rc, const char *what, struct lx_err *err)
{
	char msg[400];
	const char *code;
	int status;

	code = describe(c != NULL ? c->h : NULL, rc, msg, sizeof(msg), &status);
	return (lx_err_set(err, status, code, "%s: %s", what, msg));
}

static void conn_free(struct lx_conn *c);

/* Runs a statement that returns nothing on a raw handle. */
static int
raw_exec(sqlite3 *h, const char *sql)
{
	return (sqlite3_exec(h, sql, NULL, NULL, NULL));
}

/*
 * Waits for another connection's write lock (SQLite's busy handler), up to
 * the store's busy timeout. SQLite's own handler sleeps 1 to 100 ms between
 * tries, so under many writers a waiting one sleeps through the moments
 * the lock is free and a few wait for seconds while the database idles;
 * short blind sleeps instead burn the CPU the lock holder needs. The
 * writers are threads of this process: a waiter sleeps until a write
 * transaction of this store ends (lx_conn_commit/_rollback signal one
 * waiter) and tries again at once; SQLite still decides who gets the lock.
 * Writes outside a transaction and other processes signal nothing, so a
 * wait lasts at most 2 ms before the next try.
 */
static int
busy_wait(void *arg, int n)
{
	static _Thread_local int64_t since; /* this wait's start, ns */
	struct lx_db *db = arg;
	int64_t now = lx_mono_ns();
	struct timespec ts;
	uint64_t gen;

	(void)n;
	if (n == 0)
		since = now;
	if (now - since >= (int64_t)db->busy_timeout_ms * 1000000)
		return (0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 2000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&db->wmu);
	gen = db->wgen;
	while (db->wgen == gen
	    && pthread_cond_timedwait(&db->wcv, &db->wmu, &ts) == 0)
		;
	pthread_mutex_unlock(&db->wmu);
	return (1);
}

/* A write transaction of db ended: one waiting writer may try now. */
static void
write_ended(struct lx_db *db)
{
	pthread_mutex_lock(&db->wmu);
	db->wgen++;
	pthread_cond_signal(&db->wcv);
	pthread_mutex_unlock(&db->wmu);
}

/* Bumped by every write to tenants or memberships (any connection of
 * this process), once when the row changes and once more when its
 * transaction ends, so a cache keyed by it never keeps a row read while
 * the change was not yet committed. */
static _Atomic uint64_t tenancy_gen = 1;

uint64_t
lx_tenancy_generation(void)
{
	return (atomic_load(&tenancy_gen));
}

static void
update_hook(
    void *arg, int op, const char *db, const char *table, sqlite3_int64 rowid)
{
	struct lx_conn *c = arg;

	(void)op;
	(void)db;
	(void)rowid;
	if (strcmp(table, "memberships") == 0
	    || strcmp(table, "tenants") == 0) {
		atomic_fetch_add(&tenancy_gen, 1);
		c->tenancy_dirty = 1;
	}
}

/* After a transaction that wrote tenancy rows ended (or an autocommit
 * statement did). */
static void
tenancy_ended(struct lx_conn *c)
{
	if (c->tenancy_dirty) {
		c->tenancy_dirty = 0;
		atomic_fetch_add(&tenancy_gen, 1);
	}
}

/*
 * Opens one connection to db->path: keys it, then applies the per-connection
 * settings. With verify, proves the key by reading the schema before any
 * write and refuses a read-only file. flags: extra sqlite3_open_v2 flags.
 */
static int
conn_open(struct lx_db *db, int flags, int verify, struct lx_conn **out,
    struct lx_err *err)
{
	struct lx_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	char sql[96];
	int rc, ret = -1;

	*out = NULL;
	rc = sqlite3_open_v2(db->path, &h,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
	        | flags,
	    NULL);
	if (rc != SQLITE_OK) {
		open_error(db->path, h, rc, err);
		goto out;
	}
	if (sqlite3_db_readonly(h, "main") == 1) {
		rc = SQLITE_READONLY;
		lx_err_set(err, 503, "db_readonly",
		    "cannot open %s: read-only: the file or its folder is not "
		    "writable (%s)",
		    db->path,
		    strerror(access(db->path, W_OK) == -1 ? errno : EACCES));
		goto out;
	}
	if (verify && access(db->dir, W_OK) == -1) {
		lx_err_set(err, 503, "db_readonly",
		    "cannot open %s: read-only: folder %s is not writable "
		    "(%s)",
		    db->path, db->dir, strerror(errno));
		goto out;
	}

	/* The key must come first; it is readable only while we use it. */
	pthread_mutex_lock(&db->mu);
	sodium_mprotect_readonly(db->key);
	rc = sqlite3_key_v2(h, "main", db->key, (int)db->keylen);
	sodium_mprotect_noaccess(db->key);
	pthread_mutex_unlock(&db->mu);
	if (rc != SQLITE_OK) {
		open_error(db->path, h, rc, err);
		goto out;
	}
	sqlite3_busy_handler(h, busy_wait, db);
	/* SQLCipher logs a wrong key to stderr itself; we report it once. */
	(void)raw_exec(h, "PRAGMA cipher_log_level = NONE");

	/* A read proves the key before anything may write the header. */
	if (verify) {
		rc = sqlite3_prepare_v2(
		    h, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
			rc = SQLITE_OK;
		if (rc != SQLITE_OK) {
			open_error(db->path, h, rc, err);
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}

	if ((rc = raw_exec(h, "PRAGMA journal_mode=WAL")) != SQLITE_OK) {
		open_error(db->path, h, rc, err);
		goto out;
	}
	snprintf(sql, sizeof(sql),
	    "PRAGMA synchronous=%s; PRAGMA foreign_keys=ON",
	    db->synchronous_full ? "FULL" : "NORMAL");
	if ((rc = raw_exec(h, sql)) != SQLITE_OK) {
		open_error(db->path, h, rc, err);
		goto out;
	}

	c = lx_calloc(1, sizeof(*c));
	sqlite3_update_hook(h, update_hook, c);
	c->db = db;
	c->h = h;
	h = NULL;
	if ((rc = lx_policy_conn_init(c)) != SQLITE_OK) {
		open_error(db->path, c->h, rc, err);
		goto out;
	}
	*out = c;
	c = NULL;
	ret = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close_v2(h);
	conn_free(c);
	return (ret);
}

static void
conn_free(struct lx_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nslots; i++)
		sqlite3_finalize(c->slots[i].stmt);
	lx_free(c->slots);
	lx_policy_state_free(c->pol);
	sqlite3_close_v2(c->h);
	lx_free(c);
}

/* Adds c to db's list and makes it the calling thread's connection. */
static void
conn_adopt(struct lx_db *db, struct lx_conn *c)
{
	pthread_mutex_lock(&db->mu);
	c->next = db->conns;
	if (db->conns != NULL)
		db->conns->prev = c;
	db->conns = c;
	db->nconns++;
	pthread_mutex_unlock(&db->mu);
	pthread_setspecific(db->tls, c);
}

static void
conn_release(struct lx_conn *c)
{
	struct lx_db *db = c->db;

	pthread_mutex_lock(&db->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		db->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	db->nconns--;
	pthread_mutex_unlock(&db->mu);
	conn_free(c);
}

/* pthread key destructor: a thread that exits without lx_db_thread_done. */
static void
tls_destroy(void *p)
{
	if (p != NULL)
		conn_release(p);
}

static void
db_free(struct lx_db *db)
{
	if (db == NULL)
		return;
	if (db->key != NULL) {
		sodium_mprotect_readwrite(db->key);
		sodium_memzero(db->key, db->keylen);
		sodium_free(db->key);
	}
	lx_free(db->dir);
	lx_free(db->path);
	lx_free(db);
}

int
lx_db_open(
    const struct lx_db_config *cfg, struct lx_db **out, struct lx_err *err)
{
	struct lx_db *db = NULL;
	struct lx_conn *c = NULL;
	struct stat sb;
	pthread_condattr_t ca;
	int exists, ret = -1, tls_made = 0, mu_made = 0;

	*out = NULL;
	pthread_once(&init_once, global_init);
	if (init_rc != SQLITE_OK) {
		lx_err_set(err, 500, "db_init",
		    "cannot initialise libsodium or SQLite");
		goto out;
	}
	db = lx_calloc(1, sizeof(*db));
	db->dir = lx_strdup(cfg->data_dir);
	db->path = lx_asprintf("%s/luxima.db", cfg->data_dir);
	db->synchronous_full = cfg->synchronous_full;
	db->busy_timeout_ms =
	    cfg->busy_timeout_ms > 0 ? cfg->busy_timeout_ms : DEFAULT_BUSY_MS;

	if (stat(db->dir, &sb) == -1) {
		if (errno != ENOENT || !cfg->create) {
			lx_err_set(err, 503, "db_missing",
			    "cannot open %s: data folder %s: %s", db->path,
			    db->dir, strerror(errno));
			goto out;
		}
		if (mkdir(db->dir, 0700) == -1 && errno != EEXIST) {
			lx_err_set(err, 503, "db_readonly",
			    "cannot create data folder %s: %s", db->dir,
			    strerror(errno));
			goto out;
		}
	} else if (!S_ISDIR(sb.st_mode)) {
		lx_err_set(err, 503, "db_missing",
		    "cannot open %s: %s is not a folder", db->path, db->dir);
		goto out;
	}
	exists = stat(db->path, &sb) == 0;
	if (!exists && errno != ENOENT) {
		lx_err_set(err, 503, "db_io", "cannot open %s: %s", db->path,
		    strerror(errno));
		goto out;
	}
	if (exists && !S_ISREG(sb.st_mode)) {
		lx_err_set(err, 503, "db_io",
		    "cannot open %s: not a regular file", db->path);
		goto out;
	}
	if (!exists && !cfg->create) {
		lx_err_set(err, 503, "db_missing",
		    "cannot open %s: no database here (run `luxima migrate "
		    "up` or `luxima serve` first)",
		    db->path);
		goto out;
	}
	if (lx_dbkey_load(
	        db->dir, db->path, !exists, &db->key, &db->keylen, err)
	    == -1)
		goto out;
	sodium_mprotect_noaccess(db->key);

	if (pthread_mutex_init(&db->mu, NULL) != 0
	    || pthread_mutex_init(&db->wmu, NULL) != 0
	    || pthread_condattr_init(&ca) != 0
	    || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0
	    || pthread_cond_init(&db->wcv, &ca) != 0)
		abort();
	pthread_condattr_destroy(&ca);
	mu_made = 1;
	if (pthread_key_create(&db->tls, tls_destroy) != 0)
		abort();
	tls_made = 1;

	if (conn_open(db, exists ? 0 : SQLITE_OPEN_CREATE, 1, &c, err) == -1)
		goto out;
	if (cfg->memory_security
	    && raw_exec(c->h, "PRAGMA cipher_memory_security=ON")
	        != SQLITE_OK) {
		lx_conn_error(
		    c, sqlite3_errcode(c->h), "cipher_memory_security", err);
		goto out;
	}
	/* The -wal and -shm files inherit these permissions. */
	if (!exists)
		(void)chmod(db->path, 0600);
	conn_adopt(db, c);
	c = NULL;
	*out = db;
	db = NULL;
	ret = 0;
out:
	conn_free(c);
	if (db != NULL) {
		if (tls_made)
			pthread_key_delete(db->tls);
		if (mu_made) {
			pthread_mutex_destroy(&db->mu);
			pthread_mutex_destroy(&db->wmu);
			pthread_cond_destroy(&db->wcv);
		}
	}
	db_free(db);
	return (ret);
}

void
lx_db_close(struct lx_db *db)
{
	struct lx_conn *c;

	if (db == NULL)
		return;
	/* Other threads must have stopped using the store by now. */
	pthread_key_delete(db->tls);
	while ((c = db->conns) != NULL) {
		db->conns = c->next;
		if (db->conns == NULL)
			raw_exec(c->h, "PRAGMA wal_checkpoint(TRUNCATE)");
		conn_free(c);
	}
	db->nconns = 0;
	pthread_mutex_destroy(&db->mu);
	pthread_mutex_destroy(&db->wmu);
	pthread_cond_destroy(&db->wcv);
	db_free(db);
}

const char *
lx_db_path(const struct lx_db *db)
{
	return (db->path);
}

struct lx_conn *
lx_db_conn(struct lx_db *db)
{
	struct lx_conn *c;
	struct lx_err err;

	if ((c = pthread_getspecific(db->tls)) != NULL)
		return (c);
	lx_err_clear(&err);
	if (conn_open(db, 0, 0, &c, &err) == -1) {
		lx_log(LX_LOG_ERROR, "%s", err.detail);
		abort();
	}
	conn_adopt(db, c);
	return (c);
}

void
lx_db_thread_done(struct lx_db *db)
{
	struct lx_conn *c;

	if ((c = pthread_getspecific(db->tls)) == NULL)
		return;
	pthread_setspecific(db->tls, NULL);
	conn_release(c);
}

sqlite3 *
lx_conn_sqlite(struct lx_conn *c)
{
	return (c->h);
}

static size_t
slot_of(const char *sql, int guarded, size_t nslots)
{
	uintptr_t k = (uintptr_t)sql ^ (uintptr_t)guarded;

	k ^= k >> 17;
	k *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	k ^= k >> 29;
	return ((size_t)k & (nslots - 1));
}

/* Doubles the statement cache, rehashing every entry. */
static void
cache_grow(struct lx_conn *c)
{
	struct lx_stmt_slot *old = c->slots;
	size_t i, j, n = c->nslots;

	c->nslots = n ? n * 2 : CACHE_MIN_SLOTS;
	c->slots = lx_calloc(c->nslots, sizeof(*c->slots));
	for (i = 0; i < n; i++) {
		if (old[i].sql == NULL)
			continue;
		j = slot_of(old[i].sql, old[i].guarded, c->nslots);
		while (c->slots[j].sql != NULL)
			j = (j + 1) & (c->nslots - 1);
		c->slots[j] = old[i];
	}
	lx_free(old);
}

sqlite3_stmt *
lx_conn_stmt(struct lx_conn *c, const char *sql, struct lx_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, guarded = lx_policy_guarded(c);

	if (c->nslots > 0) {
		i = slot_of(sql, guarded, c->nslots);
		for (; c->slots[i].sql != NULL; i = (i + 1) & (c->nslots - 1))
			if (c->slots[i].sql == sql
			    && c->slots[i].guarded == guarded) {
				st = c->slots[i].stmt;
				sqlite3_reset(st);
				sqlite3_clear_bindings(st);
				return (st);
			}
	}
	rc = sqlite3_prepare_v3(
	    c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		lx_conn_error(c, rc, "prepare", err);
		sqlite3_finalize(st);
		return (NULL);
	}
	if ((c->nused + 1) * 2 > c->nslots)
		cache_grow(c);
	i = slot_of(sql, guarded, c->nslots);
	while (c->slots[i].sql != NULL)
		i = (i + 1) & (c->nslots - 1);
	c->slots[i].sql = sql;
	c->slots[i].guarded = guarded;
	c->slots[i].stmt = st;
	c->nused++;
	return (st);
}

int
lx_conn_exec(struct lx_conn *c, const char *sql, struct lx_err *err)
{
	int rc;

	if ((rc = sqlite3_exec(c->h, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return (lx_conn_error(c, rc, "sql", err));
	return (0);
}

int
lx_conn_begin(struct lx_conn *c, struct lx_err *err)
{
	int rc;

	c->wake_jobs = 0;
	if ((rc = sqlite3_exec(c->h, "BEGIN IMMEDIATE", NULL, NULL, NULL))
	    != SQLITE_OK)
		return (lx_conn_error(c, rc, "begin transaction", err));
	return (0);
}

int
lx_conn_commit(struct lx_conn *c, struct lx_err *err)
{
	int rc, wake = c->wake_jobs;

	c->wake_jobs = 0;
	if ((rc = sqlite3_exec(c->h, "COMMIT", NULL, NULL, NULL))
	    != SQLITE_OK) {
		lx_conn_error(c, rc, "commit", err);
		lx_conn_rollback(c);
		return (-1);
	}
	write_ended(c->db);
	tenancy_ended(c);
	if (wake)
		lx_jobs_wake();
	return (0);
}

void
lx_conn_rollback(struct lx_conn *c)
{
	c->wake_jobs = 0;
	if (!sqlite3_get_autocommit(c->h)) {
		sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
		write_ended(c->db);
	}
	tenancy_ended(c);
}

int
lx_conn_in_tx(struct lx_conn *c)
{
	return (!sqlite3_get_autocommit(c->h));
}

void
lx_db_stats(struct lx_db *db, struct lx_db_stats *out)
{
	struct lx_conn *c = lx_db_conn(db);
	sqlite3_stmt *st;
	struct stat sb;
	char *wal;

	memset(out, 0, sizeof(*out));
	st = lx_conn_stmt(c, "PRAGMA page_count", NULL);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		out->page_count = sqlite3_column_int64(st, 0);
	if (st != NULL)
		sqlite3_reset(st);
	st = lx_conn_stmt(c, "PRAGMA page_size", NULL);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		out->page_size = sqlite3_column_int64(st, 0);
	if (st != NULL)
		sqlite3_reset(st);
	wal = lx_asprintf("%s-wal", db->path);
	if (stat(wal, &sb) == 0)
		out->wal_bytes = (int64_t)sb.st_size;
	lx_free(wal);
	pthread_mutex_lock(&db->mu);
	out->connections = db->nconns;
	pthread_mutex_unlock(&db->mu);
}

void
lx_stmt_finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void
lx_col_text(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *p = sqlite3_column_text(st, i);

	snprintf(dst, size, "%s", p != NULL ? (const char *)p : "");
}

char *
lx_col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *p = sqlite3_column_text(st, i);

	return (p != NULL ? lx_strdup((const char *)p) : NULL);
}

int
lx_conn_step_int(struct lx_conn *c, sqlite3_stmt *st, const char *what,
    int64_t *out, struct lx_err *err)
{
	int rc = sqlite3_step(st);

	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, what, err));
	return (0);
}

int
lx_conn_step_one(struct lx_conn *c, sqlite3_stmt *st, const char *what,
    const char *code, const char *detail, struct lx_err *err)
{
	(void)lx_conn_policy_changes(c);
	if (lx_conn_step_done(c, st, what, err) == -1)
		return (-1);
	if (lx_conn_policy_changes(c) != 1)
		return (lx_err_set(err, 404, code, "%s", detail));
	return (0);
}

int
lx_conn_step_done(
    struct lx_conn *c, sqlite3_stmt *st, const char *what, struct lx_err *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (sqlite3_get_autocommit(c->h))
		tenancy_ended(c); /* a statement of its own has committed */
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, what, err));
	return (0);
}
