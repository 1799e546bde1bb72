/*
 * luxima: one binary, one subcommand per file. main() only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "serve", cmd_serve, "run the HTTP server (the default command)" },
	{ "migrate", cmd_migrate, "show or apply database migrations" },
	{ "seed", cmd_seed, "load the default or demo seed data" },
	{ "jobs", cmd_jobs, "list the durable job queue" },
	{ "billing", cmd_billing, "close due subscription periods (renew)" },
	{ "audit", cmd_audit, "verify the audit log's hash chain" },
	{ "mail", cmd_mail, "send a test message through the SMTP relay" },
	{ "admin", cmd_admin, "create a platform administrator" },
	{ "keys", cmd_keys, "list or rotate the token signing keys" },
	{ "plugin", cmd_plugin, "make, sign and check plugin bundles" },
	{ "fn", cmd_fn, "deploy, invoke and read the log of edge functions" },
	{ "openapi", cmd_openapi,
	    "print the OpenAPI document or the route table" },
	{ "version", cmd_version, "print the version and build information" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: luxima <command> [flags]\n\ncommands:\n");
	for (i = 0; i < LX_NELEM(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f,
	    "\nEvery command takes --data DIR (LUXIMA_DATA, default "
	    "./luxima-data)\n"
	    "and --config FILE (LUXIMA_CONFIG, default DIR/luxima.conf).\n"
	    "The database key comes from LUXIMA_DB_KEY_FILE, "
	    "$CREDENTIALS_DIRECTORY/db.key\n"
	    "or LUXIMA_DB_KEY, else from DIR/luxima.key (generated on first "
	    "start);\nnever from the command line.\n"
	    "Run `luxima <command> --help` for a command's flags.\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return (cmd_serve(argc - 1, argv + 1));
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
	    || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return (0);
	}
	if (strcmp(argv[1], "--version") == 0)
		return (cmd_version(0, argv + 2));
	for (i = 0; i < LX_NELEM(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return (commands[i].fn(argc - 2, argv + 2));
	fprintf(stderr, "luxima: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return (2);
}
