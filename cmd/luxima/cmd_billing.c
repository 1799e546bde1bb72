/*
 * luxima billing renew [--at TIME]: closes every subscription period due
 * at TIME (RFC 3339; default now) once, as the server's billing.renew job
 * does: each period's invoice issued and numbered, the next period begun.
 * --at is a test clock: it lets an operator or a test close periods as of
 * a later instant (a month ahead) without waiting. Safe beside a running
 * server and safe to interrupt: each period closes in one transaction.
 * The billing/createInvoice hook runs as in the server (the data folder's
 * lua_scripts/ override, else the built-in).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"
#include "cli.h"
#include "functions.h"

static const char usage[] = "renew [--at TIME]";

int
cmd_billing(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "at", NULL, NULL, 1,
		    "close periods due at this RFC 3339 time (default: now)" },
		{ NULL, NULL, NULL, 0, NULL }
	};
	struct cli_settings s;
	struct lx_db *db = NULL;
	struct lx_err err;
	const char *at, *due;
	char *pos[1], *end;
	long long days;
	int64_t now = lx_now_ms();
	int npos = 1, rc, closed = 0, failed = 0, ret = 2;

	if ((rc = cli_parse(
	         "billing", usage, argc, argv, flags, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (npos != 1 || strcmp(pos[0], "renew") != 0) {
		fprintf(
		    stderr, "luxima billing: expected 'renew' (see --help)\n");
		goto out;
	}
	if ((at = cli_value("at")) != NULL && lx_time_parse(at, &now) == -1) {
		fprintf(stderr,
		    "luxima billing: --at is an RFC 3339 time such as "
		    "2027-01-01T00:00:00Z\n");
		goto out;
	}
	due = getenv("LUXIMA_BILLING_INVOICE_DUE_DAYS");
	if (due == NULL)
		due = cli_conf("billing.invoice_due_days");
	if (due != NULL) {
		days = strtoll(due, &end, 10);
		if (*due == '\0' || *end != '\0' || days < 0 || days > 365) {
			fprintf(stderr,
			    "luxima billing: billing.invoice_due_days must be "
			    "0 to 365\n");
			goto out;
		}
		billing_configure(days);
	}
	ret = 1;
	if ((db = cli_open_db(&s, 0)) == NULL)
		goto out;
	lx_err_clear(&err);
	/* The billing/createInvoice hook as the server runs it: the data
	 * folder's override, else the built-in script. */
	if (lx_migrate_up(db, NULL, &err) == -1
	    || functions_hooks_init(s.data_dir, &err) == -1
	    || billing_renew(lx_db_conn(db), now, &closed, &failed, &err)
	        == -1) {
		fprintf(stderr, "luxima: billing renew: %s\n", err.detail);
		goto out;
	}
	printf("%d periods closed, %d failed\n", closed, failed);
	ret = failed > 0 ? 1 : 0;
out:
	lx_db_close(db);
	return (ret);
}
