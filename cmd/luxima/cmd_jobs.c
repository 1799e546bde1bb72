/*
 * luxima jobs list [--state S] [--json] [--limit N]: the durable job queue,
 * newest first, as a table or a JSON array (storage/jobs.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "jobs.h"

static const char usage[] = "list [--state queued|running|done|dead] "
                            "[--json] [--limit N]";

static void
print_json(const struct lx_job_info *j, int n)
{
	struct lx_buf b;
	int i;

	lx_buf_init(&b);
	lx_buf_adds(&b, "[");
	for (i = 0; i < n; i++) {
		lx_buf_addf(&b, "%s{\"id\":%lld,\"kind\":", i ? "," : "",
		    (long long)j[i].id);
		lx_buf_add_json_str(&b, j[i].kind ? j[i].kind : "");
		lx_buf_adds(&b, ",\"state\":");
		lx_buf_add_json_str(&b, j[i].state ? j[i].state : "");
		lx_buf_addf(&b,
		    ",\"attempts\":%d,\"max_attempts\":%d,\"run_at_ms\":%lld,"
		    "\"lease_until_ms\":%lld,\"created_at_ms\":%lld,"
		    "\"updated_at_ms\":%lld,\"last_error\":",
		    j[i].attempts, j[i].max_attempts, (long long)j[i].run_at_ms,
		    (long long)j[i].lease_until_ms,
		    (long long)j[i].created_at_ms,
		    (long long)j[i].updated_at_ms);
		if (j[i].last_error != NULL)
			lx_buf_add_json_str(&b, j[i].last_error);
		else
			lx_buf_adds(&b, "null");
		/* The payload is JSON already (checked at enqueue). */
		lx_buf_addf(&b, ",\"payload\":%s}",
		    j[i].payload ? j[i].payload : "null");
	}
	lx_buf_adds(&b, "]\n");
	fputs(b.data, stdout);
	lx_buf_cleanup(&b);
}

static void
print_table(const struct lx_job_info *j, int n)
{
	char when[40];
	int i;

	printf("%-8s %-24s %-8s %-9s %-21s %s\n", "ID", "KIND", "STATE",
	    "ATTEMPTS", "RUN AT", "LAST ERROR");
	for (i = 0; i < n; i++) {
		cli_fmt_time(j[i].run_at_ms, when, sizeof(when));
		printf("%-8lld %-24s %-8s %4d/%-4d %-21s %s\n",
		    (long long)j[i].id, j[i].kind, j[i].state, j[i].attempts,
		    j[i].max_attempts, when,
		    j[i].last_error ? j[i].last_error : "-");
	}
}

int
cmd_jobs(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "state", NULL, NULL, 1,
		    "only jobs in this state: queued, running, done, dead" },
		{ "json", NULL, NULL, 0, "print a JSON array" },
		{ "limit", NULL, NULL, 1, "at most N jobs (default 100)" },
		{ NULL, NULL, NULL, 0, NULL }
	};
	static const char *const states[] = { "queued", "running", "done",
		"dead" };
	struct lx_job_info *list = NULL;
	struct cli_settings s;
	struct lx_db *db = NULL;
	struct lx_err err;
	const char *state, *lim;
	char *pos[1];
	size_t i;
	int npos = 1, rc, n = 0, limit = 100, ret = 2;

	if ((rc = cli_parse("jobs", usage, argc, argv, flags, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (npos != 1 || strcmp(pos[0], "list") != 0) {
		fprintf(stderr, "luxima jobs: expected 'list' (see --help)\n");
		goto out;
	}
	if ((state = cli_value("state")) != NULL) {
		for (i = 0; i < LX_NELEM(states); i++)
			if (strcmp(state, states[i]) == 0)
				break;
		if (i == LX_NELEM(states)) {
			fprintf(stderr,
			    "luxima jobs: --state must be queued, running, "
			    "done or dead\n");
			goto out;
		}
	}
	if ((lim = cli_value("limit")) != NULL && (limit = atoi(lim)) <= 0) {
		fprintf(stderr,
		    "luxima jobs: --limit must be a positive "
		    "number\n");
		goto out;
	}
	ret = 1;
	if ((db = cli_open_db(&s, 0)) == NULL)
		goto out;
	lx_err_clear(&err);
	if ((n = lx_jobs_list(lx_db_conn(db), state, limit, &list, &err))
	    == -1) {
		n = 0;
		fprintf(stderr, "luxima: jobs list: %s\n", err.detail);
		goto out;
	}
	if (cli_value("json") != NULL)
		print_json(list, n);
	else
		print_table(list, n);
	ret = 0;
out:
	lx_jobs_list_free(list, n);
	lx_db_close(db);
	return (ret);
}
