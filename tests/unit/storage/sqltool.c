/*
 * storage_sqltool: runs SQL against the encrypted store of a data folder,
 * keyed like luxima itself (environment or <data>/luxima.key), and prints
 * result rows separated by '|'. For integration tests that must tamper with
 * rows; not part of the product.
 *
 *	storage_sqltool DATA_DIR SQL
 */
#include <stdio.h>
#include <string.h>

#include "storage.h"

static int
print_row(void *arg, int n, char **vals, char **names)
{
	int i;

	(void)arg;
	(void)names;
	for (i = 0; i < n; i++)
		printf("%s%s", i ? "|" : "", vals[i] ? vals[i] : "");
	printf("\n");
	return (0);
}

int
main(int argc, char **argv)
{
	struct lx_db_config cfg;
	struct lx_db *db = NULL;
	struct lx_err err;
	char *msg = NULL;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: storage_sqltool DATA_DIR SQL\n");
		return (2);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.data_dir = argv[1];
	cfg.synchronous_full = 1;
	lx_err_clear(&err);
	if (lx_db_open(&cfg, &db, &err) == -1) {
		fprintf(stderr, "storage_sqltool: %s\n", err.detail);
		goto out;
	}
	if (sqlite3_exec(
	        lx_conn_sqlite(lx_db_conn(db)), argv[2], print_row, NULL, &msg)
	    != SQLITE_OK) {
		fprintf(stderr, "storage_sqltool: %s\n", msg ? msg : "error");
		goto out;
	}
	ret = 0;
out:
	sqlite3_free(msg);
	lx_db_close(db);
	return (ret);
}
