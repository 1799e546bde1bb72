/*
 * luxima seed defaults|demo: applies pending migrations, then loads a seed
 * set in one transaction (storage/seed.c). Idempotent; demo implies
 * defaults.
 */
#include <stdio.h>

#include "cli.h"

static const char usage[] =
    "defaults|demo\n\n"
    "  defaults  instance settings every deployment needs\n"
    "  demo      defaults plus demo data\n"
    "Pending migrations are applied first; running a set twice changes "
    "nothing.";

int
cmd_seed(int argc, char **argv)
{
	struct cli_settings s;
	struct lx_db *db = NULL;
	struct lx_err err;
	char *pos[1];
	int npos = 1, rc, ret = 2;

	if ((rc = cli_parse("seed", usage, argc, argv, NULL, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (npos != 1) {
		fprintf(stderr,
		    "luxima seed: expected 'defaults' or 'demo' (see "
		    "--help)\n");
		goto out;
	}
	ret = 1;
	if ((db = cli_open_db(&s, 1)) == NULL)
		goto out;
	lx_err_clear(&err);
	if (lx_seed_run(db, pos[0], &err) == -1) {
		fprintf(stderr, "luxima: seed %s: %s\n", pos[0], err.detail);
		ret = err.status == 400 ? 2 : 1;
		goto out;
	}
	printf("seed set '%s' loaded\n", pos[0]);
	ret = 0;
out:
	lx_db_close(db);
	return (ret);
}
