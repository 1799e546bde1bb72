/*
 * Helpers shared by the storage unit tests: a clean key environment, opening
 * a store in a fresh folder, hashing and reading files, running SQL.
 */
#ifndef STORAGE_TEST_H
#define STORAGE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lxtest.h"
#include "storage.h"

static inline void
st_clean_env(void)
{
	unsetenv("LUXIMA_DB_KEY_FILE");
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("LUXIMA_DB_KEY");
	lx_log_set_level(LX_LOG_ERROR);
}

/* Opens (creating) the store in dir; NULL with err on failure. */
static inline struct lx_db *
st_open(const char *dir, int create, struct lx_err *err)
{
	struct lx_db_config cfg;
	struct lx_db *db = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.data_dir = dir;
	cfg.create = create;
	cfg.synchronous_full = 1;
	lx_err_clear(err);
	if (lx_db_open(&cfg, &db, err) == -1)
		return (NULL);
	return (db);
}

/* The whole file at path (caller frees), its length in *len; NULL if
 * absent. */
static inline unsigned char *
st_read_file(const char *path, size_t *len)
{
	unsigned char *p = NULL;
	FILE *f;
	long n;

	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = lx_malloc((size_t)n + 1);
	if (n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	*len = (size_t)n;
	return (p);
}

/* SHA-256 of the file at path as hex in out[65]; "absent" if missing. */
static inline void
st_hash_file(const char *path, char out[65])
{
	unsigned char h[32], *p;
	size_t n;

	if ((p = st_read_file(path, &n)) == NULL) {
		snprintf(out, 65, "absent");
		return;
	}
	crypto_hash_sha256(h, p, n);
	sodium_bin2hex(out, 65, h, sizeof(h));
	lx_free(p);
}

static inline int
st_file_exists(const char *path)
{
	struct stat sb;

	return (stat(path, &sb) == 0);
}

/* Runs a query returning one integer (or -1 on error). */
static inline int64_t
st_int(struct lx_conn *c, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(lx_conn_sqlite(c), sql, -1, &st, NULL)
	    != SQLITE_OK)
		return (-1);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (v);
}

/* Runs a query returning one text (copied into buf; "" on error). */
static inline const char *
st_text(struct lx_conn *c, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(lx_conn_sqlite(c), sql, -1, &st, NULL)
	    != SQLITE_OK)
		return (buf);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return (buf);
}

/* 1 if needle occurs in the file at path. */
static inline int
st_file_contains(const char *path, const char *needle)
{
	unsigned char *p;
	size_t n, k = strlen(needle), i;
	int found = 0;

	if ((p = st_read_file(path, &n)) == NULL)
		return (0);
	for (i = 0; i + k <= n && !found; i++)
		found = memcmp(p + i, needle, k) == 0;
	lx_free(p);
	return (found);
}

#endif
