/*
 * luxima audit verify: walks the audit log's hash chain and names the first
 * record whose hash or link does not match (exit 1), else reports how many
 * records are intact (modules/audit/audit.h).
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"

static const char usage[] =
    "verify\n\n"
    "  verify  check every audit record's hash and link; exit 1 and print\n"
    "          the first broken record's id if the log was tampered with";

int
cmd_audit(int argc, char **argv)
{
	struct cli_settings s;
	struct lx_db *db = NULL;
	struct lx_err err;
	int64_t broken = 0, count = 0;
	char *pos[1];
	int npos = 1, rc, ret = 2;

	if ((rc = cli_parse("audit", usage, argc, argv, NULL, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (npos != 1 || strcmp(pos[0], "verify") != 0) {
		fprintf(stderr,
		    "luxima audit: expected 'verify' (see "
		    "--help)\n");
		goto out;
	}
	ret = 1;
	if ((db = cli_open_db(&s, 0)) == NULL)
		goto out;
	lx_err_clear(&err);
	if (audit_verify(lx_db_conn(db), &broken, &count, &err) == -1) {
		fprintf(stderr, "luxima: audit verify: %s\n", err.detail);
		goto out;
	}
	if (broken != 0) {
		printf("audit chain BROKEN at record %lld (%lld records "
		       "checked)\n",
		    (long long)broken, (long long)count);
		fprintf(stderr,
		    "luxima: audit log tampered with: first broken record "
		    "%lld\n",
		    (long long)broken);
		goto out;
	}
	printf("audit chain intact: %lld records\n", (long long)count);
	ret = 0;
out:
	lx_db_close(db);
	return (ret);
}
