/*
 * Unit tests for storage/db.c and storage/dbkey.c: key sources and their
 * order, encryption at rest, refusing a wrong, missing or empty key and a
 * damaged file without touching it, connection settings, per-thread
 * connections, the statement cache, transactions and durability across a
 * reopen.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "storage_test.h"

#define HEX_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HEX_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static char dbpath[600], keypath[600], walpath[600];

static void
paths(const char *dir)
{
	snprintf(dbpath, sizeof(dbpath), "%s/luxima.db", dir);
	snprintf(keypath, sizeof(keypath), "%s/luxima.key", dir);
	snprintf(walpath, sizeof(walpath), "%s/luxima.db-wal", dir);
}

static void
write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	fputs(s, f);
	fclose(f);
}

/* A new store gets a generated key file and an encrypted file; a committed
 * row is there after reopening. */
static void
test_create_encrypted_reopen(void)
{
	const char *dir = lxtest_tmpdir("db_create");
	struct lx_err err;
	struct lx_db *db;
	struct lx_conn *c;
	struct stat sb;
	unsigned char *p;
	size_t n;
	char buf[128];

	st_clean_env();
	paths(dir);
	db = st_open(dir, 1, &err);
	CHECK(db != NULL);
	if (db == NULL) {
		fprintf(stderr, "%s\n", err.detail);
		return;
	}
	CHECK(stat(keypath, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	p = st_read_file(keypath, &n);
	CHECK(p != NULL && n == 65 && p[64] == '\n');
	lx_free(p);
	c = lx_db_conn(db);
	CHECK(lx_conn_exec(c,
	          "CREATE TABLE t (v TEXT); INSERT INTO t VALUES "
	          "('plaintext-canary-4711')",
	          &err)
	    == 0);
	CHECK_STR(st_text(c, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
	CHECK(st_int(c, "PRAGMA synchronous") == 2);
	CHECK(st_int(c, "PRAGMA foreign_keys") == 1);
	lx_db_close(db);

	p = st_read_file(dbpath, &n);
	CHECK(p != NULL && n >= 1024);
	CHECK(p != NULL && memcmp(p, "SQLite format 3", 15) != 0);
	lx_free(p);
	CHECK(!st_file_contains(dbpath, "plaintext-canary-4711"));
	CHECK(!st_file_contains(walpath, "plaintext-canary-4711"));

	db = st_open(dir, 0, &err);
	CHECK(db != NULL);
	if (db == NULL)
		return;
	c = lx_db_conn(db);
	CHECK_STR(st_text(c, "SELECT v FROM t", buf, sizeof(buf)),
	    "plaintext-canary-4711");
	lx_db_close(db);
}

/* Wrong key, missing key, empty or unreadable key file and a damaged
 * file: one clear error, file unchanged, no WAL created. */
static void
test_refusals_leave_file_unchanged(void)
{
	const char *d = lxtest_tmpdir("db_refuse");
	char dir[512], before[65], after[65], moved[600];
	struct lx_err err;
	struct lx_db *db;
	unsigned char junk[300];
	int fd;

	snprintf(dir, sizeof(dir), "%s", d);
	st_clean_env();
	paths(dir);
	db = st_open(dir, 1, &err);
	CHECK(db != NULL);
	lx_conn_exec(lx_db_conn(db), "CREATE TABLE t (v)", &err);
	lx_db_close(db);
	CHECK(!st_file_exists(walpath));
	st_hash_file(dbpath, before);

	/* Wrong key. */
	setenv("LUXIMA_DB_KEY", HEX_B, 1);
	db = st_open(dir, 1, &err);
	CHECK(db == NULL);
	CHECK_STR(err.code, "db_key");
	CHECK(strstr(err.detail, "wrong database key") != NULL);
	CHECK(strstr(err.detail, dbpath) != NULL);
	unsetenv("LUXIMA_DB_KEY");

	/* Wrong passphrase. */
	setenv("LUXIMA_DB_KEY", "not the passphrase", 1);
	CHECK(st_open(dir, 1, &err) == NULL);
	CHECK_STR(err.code, "db_key");
	unsetenv("LUXIMA_DB_KEY");

	/* Missing key: database there, no key source, no luxima.key. */
	snprintf(moved, sizeof(moved), "%s/moved.key", dir);
	CHECK(rename(keypath, moved) == 0);
	CHECK(st_open(dir, 1, &err) == NULL);
	CHECK_STR(err.code, "db_key_missing");
	CHECK(strstr(err.detail, "no database key") != NULL);
	CHECK(!st_file_exists(keypath)); /* never regenerated */

	/* Empty and unreadable key files. */
	snprintf(keypath, sizeof(keypath), "%s/empty.key", dir);
	write_text(keypath, "\n");
	setenv("LUXIMA_DB_KEY_FILE", keypath, 1);
	CHECK(st_open(dir, 1, &err) == NULL);
	CHECK_STR(err.code, "db_key_missing");
	CHECK(strstr(err.detail, "is empty") != NULL);
	setenv("LUXIMA_DB_KEY_FILE", "/nonexistent/luxima/db.key", 1);
	CHECK(st_open(dir, 1, &err) == NULL);
	CHECK_STR(err.code, "db_key_unreadable");
	CHECK(strstr(err.detail, "/nonexistent/luxima/db.key") != NULL);

	/* The moved key works through LUXIMA_DB_KEY_FILE. */
	setenv("LUXIMA_DB_KEY_FILE", moved, 1);
	db = st_open(dir, 0, &err);
	CHECK(db != NULL);
	lx_db_close(db);
	st_hash_file(dbpath, after);
	CHECK_STR(before, after);

	/* Damage the first page: refused, and the file is left as it was. */
	if ((fd = open(dbpath, O_WRONLY)) != -1) {
		memset(junk, 0xa5, sizeof(junk));
		CHECK(pwrite(fd, junk, sizeof(junk), 200) == sizeof(junk));
		close(fd);
	}
	st_hash_file(dbpath, before);
	CHECK(st_open(dir, 0, &err) == NULL);
	CHECK_STR(err.code, "db_key");
	CHECK(strstr(err.detail, "damaged") != NULL);
	st_hash_file(dbpath, after);
	CHECK_STR(before, after);
	CHECK(!st_file_exists(walpath));

	/* No database and no create: a clear error, nothing created. */
	unsetenv("LUXIMA_DB_KEY_FILE");
	d = lxtest_tmpdir("db_none");
	CHECK(st_open(d, 0, &err) == NULL);
	CHECK_STR(err.code, "db_missing");
	st_clean_env();
}

/* Key sources in order: file, systemd credentials, variable. */
static void
test_key_sources(void)
{
	const char *d = lxtest_tmpdir("db_keys");
	char dir[400], cred[500], kf[600];
	struct lx_err err;
	struct lx_db *db;

	snprintf(dir, sizeof(dir), "%s", d);
	st_clean_env();
	paths(dir);
	/* A raw hex key from the variable: no luxima.key is written. */
	setenv("LUXIMA_DB_KEY", HEX_A, 1);
	db = st_open(dir, 1, &err);
	CHECK(db != NULL);
	lx_db_close(db);
	CHECK(!st_file_exists(keypath));

	/* Credentials take precedence over the variable. */
	snprintf(cred, sizeof(cred), "%s/creds", dir);
	mkdir(cred, 0700);
	snprintf(kf, sizeof(kf), "%s/db.key", cred);
	write_text(kf, HEX_B "\n");
	setenv("CREDENTIALS_DIRECTORY", cred, 1);
	CHECK(st_open(dir, 0, &err) == NULL);
	CHECK_STR(err.code, "db_key");
	write_text(kf, HEX_A "\n");
	db = st_open(dir, 0, &err);
	CHECK(db != NULL);
	lx_db_close(db);

	/* The key file takes precedence over both. */
	snprintf(kf, sizeof(kf), "%s/file.key", dir);
	write_text(kf, HEX_B);
	setenv("LUXIMA_DB_KEY_FILE", kf, 1);
	CHECK(st_open(dir, 0, &err) == NULL);
	write_text(kf, HEX_A);
	db = st_open(dir, 0, &err);
	CHECK(db != NULL);
	lx_db_close(db);

	/* A credentials folder without db.key falls through. */
	unsetenv("LUXIMA_DB_KEY_FILE");
	snprintf(kf, sizeof(kf), "%s/db.key", cred);
	unlink(kf);
	db = st_open(dir, 0, &err);
	CHECK(db != NULL);
	lx_db_close(db);

	/* A passphrase works as well. */
	st_clean_env();
	d = lxtest_tmpdir("db_pass");
	setenv("LUXIMA_DB_KEY", "correct horse battery staple", 1);
	db = st_open(d, 1, &err);
	CHECK(db != NULL);
	lx_db_close(db);
	db = st_open(d, 0, &err);
	CHECK(db != NULL);
	lx_db_close(db);
	st_clean_env();
}

struct thr {
	struct lx_db *db;
	struct lx_conn *c;
	int64_t v;
	int conns;
};

static void *
thread_main(void *arg)
{
	struct thr *t = arg;
	struct lx_db_stats s;

	t->c = lx_db_conn(t->db);
	t->v = st_int(t->c, "SELECT count(*) FROM t");
	lx_db_stats(t->db, &s);
	t->conns = s.connections;
	lx_db_thread_done(t->db);
	return (NULL);
}

/* One connection per thread, a statement cache keyed by pointer,
 * transactions, stats. */
static void
test_conns_cache_tx(void)
{
	static const char sql1[] = "SELECT count(*) FROM t";
	char sql2[] = "SELECT count(*) FROM t";
	const char *dir = lxtest_tmpdir("db_conns");
	struct lx_db_stats s;
	struct lx_err err;
	struct lx_db *db;
	struct lx_conn *c;
	sqlite3_stmt *a, *b;
	struct thr t;
	pthread_t th;

	st_clean_env();
	db = st_open(dir, 1, &err);
	CHECK(db != NULL);
	if (db == NULL)
		return;
	c = lx_db_conn(db);
	CHECK(lx_db_conn(db) == c);
	CHECK(lx_conn_exec(c, "CREATE TABLE t (v INTEGER)", &err) == 0);

	a = lx_conn_stmt(c, sql1, &err);
	CHECK(a != NULL && lx_conn_stmt(c, sql1, &err) == a);
	b = lx_conn_stmt(c, sql2, &err);
	CHECK(b != NULL && b != a);
	CHECK(lx_conn_stmt(c, "SELECT nonsense FROM nowhere", &err) == NULL);
	CHECK(err.status == 500);

	CHECK(lx_conn_begin(c, &err) == 0);
	CHECK(lx_conn_in_tx(c) == 1);
	CHECK(lx_conn_exec(c, "INSERT INTO t VALUES (1)", &err) == 0);
	lx_conn_rollback(c);
	CHECK(lx_conn_in_tx(c) == 0);
	lx_conn_rollback(c); /* no transaction: fine */
	CHECK(st_int(c, "SELECT count(*) FROM t") == 0);
	CHECK(lx_conn_begin(c, &err) == 0);
	CHECK(lx_conn_exec(c, "INSERT INTO t VALUES (1)", &err) == 0);
	CHECK(lx_conn_commit(c, &err) == 0);

	/* A constraint violation maps to 409. */
	CHECK(lx_conn_exec(c,
	          "CREATE TABLE u (k PRIMARY KEY); INSERT INTO u VALUES (1); "
	          "INSERT INTO u VALUES (1)",
	          &err)
	    == -1);
	CHECK(err.status == 409);
	CHECK_STR(err.code, "conflict");

	memset(&t, 0, sizeof(t));
	t.db = db;
	CHECK(pthread_create(&th, NULL, thread_main, &t) == 0);
	pthread_join(th, NULL);
	CHECK(t.c != NULL && t.c != c);
	CHECK(t.v == 1);
	CHECK(t.conns == 2);
	lx_db_stats(db, &s);
	CHECK(s.connections == 1);
	CHECK(s.page_count > 0 && s.page_size == 4096);
	CHECK(s.wal_bytes > 0);
	lx_db_close(db);
}

struct holder {
	struct lx_db *db;
	int hold_ms; /* how long the write lock is held */
	int began; /* 1 once it holds the lock */
	pthread_mutex_t mu;
};

static void *
holder_main(void *arg)
{
	struct holder *h = arg;
	struct lx_conn *c = lx_db_conn(h->db);
	struct lx_err err;

	if (lx_conn_begin(c, &err) == 0
	    && lx_conn_exec(c, "INSERT INTO t VALUES (2)", &err) == 0) {
		pthread_mutex_lock(&h->mu);
		h->began = 1;
		pthread_mutex_unlock(&h->mu);
		usleep((useconds_t)h->hold_ms * 1000);
		(void)lx_conn_commit(c, &err);
	}
	lx_db_thread_done(h->db);
	return (NULL);
}

static void
hold_start(struct holder *h, pthread_t *th)
{
	int began = 0;

	CHECK(pthread_create(th, NULL, holder_main, h) == 0);
	while (!began) {
		pthread_mutex_lock(&h->mu);
		began = h->began;
		pthread_mutex_unlock(&h->mu);
		usleep(1000);
	}
}

/* A writer waits for another's write lock: it gets the lock as soon as
 * the other commits (the busy handler wakes on it), and gives up with 503
 * db_busy after the busy timeout. */
static void
test_busy_wait(void)
{
	const char *dir = lxtest_tmpdir("db_busy");
	struct lx_db_config cfg;
	struct lx_db *db = NULL;
	struct holder h;
	struct lx_err err;
	struct lx_conn *c;
	pthread_t th;
	int64_t t0, ms;

	st_clean_env();
	memset(&cfg, 0, sizeof(cfg));
	cfg.data_dir = dir;
	cfg.create = 1;
	cfg.busy_timeout_ms = 300;
	CHECK(lx_db_open(&cfg, &db, &err) == 0);
	if (db == NULL)
		return;
	c = lx_db_conn(db);
	CHECK(lx_conn_exec(c, "CREATE TABLE t (v INTEGER)", &err) == 0);
	memset(&h, 0, sizeof(h));
	pthread_mutex_init(&h.mu, NULL);
	h.db = db;

	h.hold_ms = 150;
	hold_start(&h, &th);
	t0 = lx_mono_ns();
	CHECK(lx_conn_begin(c, &err) == 0);
	ms = (lx_mono_ns() - t0) / 1000000;
	CHECK(ms >= 100 && ms < 250);
	CHECK(st_int(c, "SELECT count(*) FROM t") == 1);
	lx_conn_rollback(c);
	pthread_join(th, NULL);

	h.hold_ms = 700;
	h.began = 0;
	hold_start(&h, &th);
	t0 = lx_mono_ns();
	CHECK(lx_conn_begin(c, &err) == -1);
	ms = (lx_mono_ns() - t0) / 1000000;
	CHECK(err.status == 503);
	CHECK(ms >= 290 && ms < 600);
	pthread_join(th, NULL);
	pthread_mutex_destroy(&h.mu);
	lx_db_close(db);
}

int
main(void)
{
	RUN(test_create_encrypted_reopen);
	RUN(test_refusals_leave_file_unchanged);
	RUN(test_key_sources);
	RUN(test_conns_cache_tx);
	RUN(test_busy_wait);
	return (lxtest_done());
}
