/*
 * luxima keys list | rotate: the keys that sign access tokens (EdDSA or
 * ES256). rotate makes a new active key of auth.signing_alg; the previous one keeps verifying until
 * the tokens it signed have expired (the access-token lifetime plus a
 * minute), then retires. A running server picks the new key up within a
 * few seconds, at its next sign-in or refresh.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "cli.h"

static void
print_time(int64_t ms)
{
	char when[32];
	struct tm tm;
	time_t t;

	if (ms <= 0) {
		printf("%-21s", "-");
		return;
	}
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-21s", when);
}

static int
list(struct lx_conn *c, struct lx_err *err)
{
	struct auth_key_info *v = NULL;
	int i, n = 0;

	if (auth_keys_list(c, &v, &n, err) == -1)
		return (-1);
	printf("%-24s %-5s %-9s %-21s %s\n", "KID", "ALG", "STATE", "CREATED",
	    "RETIRE_AT");
	for (i = 0; i < n; i++) {
		printf("%-24s %-5s %-9s ", v[i].kid, auth_alg_name(v[i].alg),
		    v[i].state);
		print_time(v[i].created_at);
		printf(" ");
		print_time(v[i].retire_at);
		printf("\n");
	}
	lx_free(v);
	return (0);
}

int
cmd_keys(int argc, char **argv)
{
	struct cli_settings s;
	struct lx_db *db = NULL;
	struct lx_conn *c;
	struct lx_err err;
	char *pos[2], kid[AUTH_KID_SIZE];
	int64_t grace;
	int npos = 2, rc, ret = 1;

	if ((rc = cli_parse(
	         "keys", "list | rotate", argc, argv, NULL, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (npos != 1
	    || (strcmp(pos[0], "list") != 0 && strcmp(pos[0], "rotate") != 0)) {
		fprintf(stderr, "usage: luxima keys list | rotate\n");
		return (2);
	}
	lx_err_clear(&err);
	if ((db = cli_open_db(&s, 0)) == NULL)
		return (1);
	c = lx_db_conn(db);
	if (lx_migrate_up(db, NULL, &err) == -1
	    || auth_init(c, cli_conf, &err) == -1) {
		fprintf(stderr, "luxima: %s\n", err.detail);
		goto out;
	}
	if (strcmp(pos[0], "list") == 0) {
		if (list(c, &err) == -1) {
			fprintf(stderr, "luxima: %s\n", err.detail);
			goto out;
		}
	} else {
		grace = auth_config()->access_ttl_s + 60;
		if (auth_keys_rotate(c, grace, kid, &err) == -1) {
			fprintf(stderr, "luxima: %s\n", err.detail);
			goto out;
		}
		printf("new active %s key %s; the previous key verifies for "
		       "%lld more seconds\n",
		    auth_alg_name(auth_config()->signing_alg), kid,
		    (long long)grace);
	}
	ret = 0;
out:
	auth_shutdown();
	lx_db_close(db);
	return (ret);
}
