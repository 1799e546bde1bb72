/*
 * What every subcommand shares: the settings resolved from flags, the
 * environment and the config file (in that order of precedence), and the
 * prototypes of the subcommands dispatched by main.c.
 */
#ifndef LX_CLI_H
#define LX_CLI_H

#include "core.h"
#include "storage.h"

/* Resolved settings. Strings point into argv, the environment or the
 * parsed config file; they live as long as the process. */
struct cli_settings {
	const char *data_dir; /* --data, LUXIMA_DATA */
	const char *config_file; /* --config, LUXIMA_CONFIG */
	struct lx_server_config server; /* serve's settings */
	int synchronous_full;
	const char *log_level;
};

/* A subcommand's flags: long names with or without a value. */
struct cli_flag {
	const char *name; /* "listen" for --listen */
	const char *env; /* environment variable, or NULL */
	const char *conf; /* config-file key, or NULL */
	int takes_value;
	const char *help;
};

/*
 * Parses argv (after the subcommand name) against flags plus the common
 * --data/--config/--help, reads the config file, and fills out. Positional
 * arguments are left in pos[0..*npos). Returns 0, 1 if --help was printed,
 * or -1 after printing a usage error.
 */
int cli_parse(const char *cmd, const char *usage, int argc, char **argv,
    const struct cli_flag *flags, struct cli_settings *out, char **pos,
    int *npos);
/* The value given for a flag of cli_parse's table (flag, env or config
 * file), or NULL. */
const char *cli_value(const char *name);

/* The config file's value for key (any key, e.g. "auth.issuer"), or NULL;
 * valid after cli_parse. */
const char *cli_conf(const char *key);

/* Opens the store for a subcommand; prints one line and returns NULL on
 * failure. create: make the data folder, key and database if absent. */
struct lx_db *cli_open_db(const struct cli_settings *s, int create);

/* Formats ms since the epoch as UTC ISO 8601 into buf ("-" for 0). */
void cli_fmt_time(int64_t ms, char *buf, size_t len);

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_seed(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_billing(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_openapi(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_mail(int argc, char **argv);
int cmd_plugin(int argc, char **argv);
int cmd_fn(int argc, char **argv);

/* The SMTP relay settings from the environment or the config file
 * (cmd_mail.c); the password is copied into pwbuf. */
struct mail_smtp_config;
int cli_smtp_config(struct mail_smtp_config *cfg, char *pwbuf, size_t pwlen,
    struct lx_err *err);

#endif
