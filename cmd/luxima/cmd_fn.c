/*
 * luxima fn deploy|invoke|logs|list: a tenant's edge functions from the
 * command line, on the data folder directly (like `luxima billing renew`,
 * safe beside a running server: SQLite serializes the writes). The CLI acts
 * as the instance's operator: the tenant is named by slug or id, the
 * policy context is a platform admin's in that tenant, plan quotas are not
 * applied, and deploys are audited with the actor "cli".
 *
 *   luxima fn deploy --tenant T --name N --version V [--public] FILE
 *   luxima fn invoke --tenant T NAME [--method M] [--query Q] [--body BODY]
 *   luxima fn logs --tenant T NAME [--limit N]
 *   luxima fn list --tenant T
 *
 * Limits come from LUXIMA_FUNCTIONS_* in the environment (the server's
 * functions.* settings); invoke prints the status line, the headers and
 * the body, and exits 0 for a 2xx answer, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "functions.h"

static const char usage[] =
    "deploy --tenant T --name N --version V [--public] FILE | "
    "invoke --tenant T NAME [--method M] [--query Q] [--body BODY] | "
    "logs --tenant T NAME [--limit N] | list --tenant T";

static const struct cli_flag flags[] = {
	{ "tenant", NULL, NULL, 1, "the tenant's slug or id (required)" },
	{ "name", NULL, NULL, 1, "deploy: the function's name" },
	{ "version", NULL, NULL, 1, "deploy: a semantic version (1.0.0)" },
	{ "public", NULL, NULL, 0, "deploy: anonymous callers may invoke it" },
	{ "method", NULL, NULL, 1, "invoke: the request method (GET)" },
	{ "query", NULL, NULL, 1, "invoke: the raw query string (a=1&b=2)" },
	{ "body", NULL, NULL, 1, "invoke: the request body (JSON or text)" },
	{ "limit", NULL, NULL, 1, "logs: records to show (20)" },
	{ NULL, NULL, NULL, 0, NULL },
};

/* Reads the file at path (at most FUNCTIONS_SOURCE_MAX bytes) into a
 * NUL-terminated lx_malloc'd string, or NULL after printing why. */
static char *
read_source(const char *path)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "luxima fn: cannot open %s\n", path);
		return (NULL);
	}
	buf = lx_malloc(FUNCTIONS_SOURCE_MAX + 2);
	n = fread(buf, 1, FUNCTIONS_SOURCE_MAX + 1, f);
	fclose(f);
	if (n > FUNCTIONS_SOURCE_MAX) {
		fprintf(stderr, "luxima fn: %s is larger than %zu bytes\n",
		    path, FUNCTIONS_SOURCE_MAX);
		lx_free(buf);
		return (NULL);
	}
	buf[n] = '\0';
	return (buf);
}

static int
deploy(struct lx_conn *c, const char *tenant, const char *file)
{
	struct functions_deploy in;
	struct functions_version v;
	struct functions_fn f;
	struct lx_err err;
	char *src;
	int created, ret = 1;

	if (cli_value("name") == NULL || cli_value("version") == NULL) {
		fprintf(stderr,
		    "luxima fn deploy: --name and --version are "
		    "required\n");
		return (2);
	}
	if ((src = read_source(file)) == NULL)
		return (1);
	memset(&in, 0, sizeof(in));
	in.tenant_id = tenant;
	in.actor = "cli";
	in.name = cli_value("name");
	in.version = cli_value("version");
	in.source = src;
	in.public = cli_value("public") != NULL ? 1 : -1;
	lx_err_clear(&err);
	if (functions_deploy(c, &in, &f, &v, &created, &err) == -1) {
		fprintf(
		    stderr, "luxima fn deploy: %s: %s\n", err.code, err.detail);
		goto out;
	}
	printf("%s %s version %s (sha256 %s)%s\n",
	    created ? "created" : "deployed", f.name, v.version, v.sha256,
	    f.public ? ", public" : "");
	ret = 0;
out:
	lx_free(src);
	return (ret);
}

static int
invoke(struct lx_conn *c, const char *tenant, const char *name)
{
	struct functions_local in;
	struct edge_result r;
	struct lx_err err;
	cJSON *h = NULL, *e, *j;
	int ret = 1;

	memset(&in, 0, sizeof(in));
	in.tenant_id = tenant;
	in.name = name;
	in.actor = "cli";
	in.method = cli_value("method") != NULL ? cli_value("method") : "GET";
	in.query = cli_value("query");
	in.body = cli_value("body");
	if (in.body != NULL && (j = cJSON_Parse(in.body)) != NULL) {
		in.body_is_json = 1;
		cJSON_Delete(j);
	}
	lx_err_clear(&err);
	if (functions_call(c, &in, &r, &err) == -1) {
		fprintf(stderr, "luxima fn invoke: %d %s: %s\n", err.status,
		    err.code, err.detail);
		return (1);
	}
	printf("%d\nContent-Type: %s\n", r.status, r.content_type);
	if ((h = cJSON_Parse(r.headers_json)) != NULL) {
		cJSON_ArrayForEach(e, h)
		{
			if (cJSON_IsString(e))
				printf("%s: %s\n", e->string, e->valuestring);
		}
	}
	printf("\n");
	fwrite(r.body, 1, r.body_len, stdout);
	if (r.body_len > 0 && r.body[r.body_len - 1] != '\n')
		printf("\n");
	ret = r.status >= 200 && r.status <= 299 ? 0 : 1;
	cJSON_Delete(h);
	edge_result_cleanup(&r);
	return (ret);
}

static int
logs(struct lx_conn *c, const char *name)
{
	struct functions_invocation *rows;
	struct functions_fn f;
	struct lx_err err;
	char when[40], *p;
	const char *v = cli_value("limit");
	int i, n = 0, limit = v != NULL ? atoi(v) : 20;

	if (limit < 1 || limit > 1000) {
		fprintf(stderr, "luxima fn logs: --limit is 1 to 1000\n");
		return (2);
	}
	lx_err_clear(&err);
	if (functions_store_get(c, name, &f, &err) == -1) {
		fprintf(stderr, "luxima fn logs: %s\n", err.detail);
		return (1);
	}
	rows = lx_calloc((size_t)limit, sizeof(*rows));
	if (functions_store_invocations(c, f.id, 0, limit, rows, &n, &err)
	    == -1) {
		fprintf(stderr, "luxima fn logs: %s\n", err.detail);
		lx_free(rows);
		return (1);
	}
	printf("%-24s %-10s %6s %10s %10s  %s\n", "STARTED", "VERSION",
	    "STATUS", "DURATION", "MEMORY", "ERROR / LOG");
	for (i = 0; i < n; i++) {
		/* One line per record: the log's JSON lines side by side. */
		for (p = rows[i].log; p != NULL && *p != '\0'; p++)
			if (*p == '\n')
				*p = p[1] != '\0' ? ' ' : '\0';
		cli_fmt_time(rows[i].started_at, when, sizeof(when));
		printf("%-24s %-10s %6d %8lldus %9lldB  %s%s%s\n", when,
		    rows[i].version, rows[i].status,
		    (long long)rows[i].duration_us, (long long)rows[i].memory,
		    rows[i].error != NULL ? rows[i].error : "",
		    rows[i].error != NULL && rows[i].log != NULL ? " " : "",
		    rows[i].log != NULL ? rows[i].log : "");
	}
	functions_invocations_cleanup(rows, n);
	lx_free(rows);
	return (0);
}

static int
list(struct lx_conn *c)
{
	struct functions_fn rows[FUNCTIONS_PAGE_MAX];
	struct lx_err err;
	char after[FUNCTIONS_NAME_MAX + 1] = "", when[40];
	int i, n;

	lx_err_clear(&err);
	printf("%-32s %-12s %-7s %8s  %s\n", "NAME", "ACTIVE", "PUBLIC",
	    "VERSIONS", "UPDATED");
	do {
		if (functions_store_list(
		        c, after, FUNCTIONS_PAGE_MAX, rows, &n, &err)
		    == -1) {
			fprintf(stderr, "luxima fn list: %s\n", err.detail);
			return (1);
		}
		for (i = 0; i < n; i++) {
			cli_fmt_time(rows[i].updated_at, when, sizeof(when));
			printf("%-32s %-12s %-7s %8d  %s\n", rows[i].name,
			    rows[i].active_version,
			    rows[i].public ? "yes" : "no", rows[i].nversions,
			    when);
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%s", rows[n - 1].name);
	} while (n == FUNCTIONS_PAGE_MAX);
	return (0);
}

int
cmd_fn(int argc, char **argv)
{
	struct cli_settings s;
	struct lx_db_ctx ctx;
	struct lx_db *db = NULL;
	struct lx_conn *c;
	struct lx_err err;
	char *pos[3], tenant[FUNCTIONS_ID_SIZE];
	const char *sub, *ref;
	int npos = 3, rc, ret = 2, want;

	if ((rc = cli_parse("fn", usage, argc, argv, flags, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	sub = npos > 0 ? pos[0] : "";
	want = strcmp(sub, "list") == 0 ? 1 : 2;
	if ((strcmp(sub, "deploy") != 0 && strcmp(sub, "invoke") != 0
	        && strcmp(sub, "logs") != 0 && strcmp(sub, "list") != 0)
	    || npos != want || (ref = cli_value("tenant")) == NULL) {
		fprintf(stderr, "usage: luxima fn %s\n", usage);
		return (2);
	}
	ret = 1;
	if (sodium_init() < 0) {
		fprintf(stderr, "luxima: libsodium failed to initialise\n");
		goto out;
	}
	lx_err_clear(&err);
	if ((db = cli_open_db(&s, 0)) == NULL)
		goto out;
	c = lx_db_conn(db);
	if (lx_migrate_up(db, NULL, &err) == -1
	    || functions_pool_init(NULL, &err) == -1
	    || functions_store_tenant(c, ref, tenant, &err) == -1) {
		fprintf(stderr, "luxima fn: %s\n", err.detail);
		goto out;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.tenant_id = tenant;
	ctx.platform_admin = 1;
	if (lx_conn_set_context(c, &ctx, &err) == -1
	    || functions_log_start(db, &err) == -1) {
		fprintf(stderr, "luxima fn: %s\n", err.detail);
		goto out;
	}
	if (strcmp(sub, "deploy") == 0)
		ret = deploy(c, tenant, pos[1]);
	else if (strcmp(sub, "invoke") == 0)
		ret = invoke(c, tenant, pos[1]);
	else if (strcmp(sub, "logs") == 0)
		ret = logs(c, pos[1]);
	else
		ret = list(c);
	functions_log_stop();
out:
	if (db != NULL)
		lx_conn_clear_context(lx_db_conn(db));
	lx_db_close(db);
	return (ret);
}
