/*
 * What the storage files share but do not export: the store and connection
 * structs, key resolution (dbkey.c) and the hook by which a commit wakes the
 * job workers. Include only from storage/ and modules/audit/.
 */
#ifndef LX_DB_INT_H
#define LX_DB_INT_H

#include <pthread.h>
#include <stddef.h>

#include "storage.h"

struct lx_stmt_slot {
	const char *sql; /* key: the caller's SQL pointer; NULL: empty slot */
	int guarded; /* key: prepared under a request context (policy.c) */
	sqlite3_stmt *stmt; /* prepared once, reset on every lookup */
};

struct lx_conn {
	struct lx_db *db; /* the store this connection belongs to */
	sqlite3 *h; /* the SQLite handle, used by one thread only */
	struct lx_stmt_slot *slots; /* statement cache, open addressing */
	size_t nslots; /* power of two */
	size_t nused; /* occupied slots */
	int wake_jobs; /* a job was enqueued in the open transaction */
	int tenancy_dirty; /* the open transaction wrote tenants or
			    * memberships (lx_tenancy_generation) */
	struct lx_policy_state *pol; /* request context (policy.c); NULL */
	struct lx_conn *next; /* db->conns list, under db->mu */
	struct lx_conn *prev;
};

struct lx_db {
	char *dir; /* data folder */
	char *path; /* <dir>/luxima.db */
	unsigned char *key; /* key spec, sodium_malloc'd, no access at rest */
	size_t keylen;
	int synchronous_full; /* PRAGMA synchronous FULL (1) or NORMAL */
	int busy_timeout_ms;
	pthread_key_t tls; /* the calling thread's struct lx_conn */
	pthread_mutex_t mu; /* guards conns, nconns and key access */
	pthread_mutex_t wmu; /* guards wgen; with wcv: writers waiting */
	pthread_cond_t wcv; /* signalled when a write transaction ends */
	uint64_t wgen; /* write transactions ended so far */
	struct lx_conn *conns; /* every open connection */
	int nconns;
};

/*
 * Resolves the database key for the folder dir (dbkey.c): the file named by
 * LUXIMA_DB_KEY_FILE, $CREDENTIALS_DIRECTORY/db.key, LUXIMA_DB_KEY, then
 * <dir>/luxima.key, generated when may_generate is set and none exists.
 * On success sets *key to sodium_malloc'd memory holding the key as
 * SQLCipher takes it ("x'<64 hex>'" for a raw key, else a passphrase) and
 * *keylen, and returns 0; free with sodium_free. db_path names the file in
 * error messages.
 */
int lx_dbkey_load(const char *dir, const char *db_path, int may_generate,
    unsigned char **key, size_t *keylen, struct lx_err *err);

struct lx_policy_state;
/* 1 when c's statements are prepared under the authorizer's guard (a
 * request context is bound and no system section is open), else 0: the
 * statement cache keeps the two kinds apart, so a statement the
 * authorizer let through for system code is never handed to request code
 * (policy.c). */
int lx_policy_guarded(const struct lx_conn *c);
/* Registers the context functions (current_tenant() ...) on c; they read
 * c->pol, so a connection without a context answers NULL/0 (policy.c).
 * Returns SQLITE_OK or the SQLite error code. */
int lx_policy_conn_init(struct lx_conn *c);
/* Frees c's policy state (NULL ok). */
void lx_policy_state_free(struct lx_policy_state *p);

/* Wakes the job workers of this process (jobs.c); called after a commit
 * that enqueued a job. Safe to call when no workers run. */
void lx_jobs_wake(void);

#endif
