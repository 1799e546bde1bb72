/*
 * Settings shared by every subcommand: flags, then environment variables,
 * then the config file (`key = value` lines, `#` comments), then defaults.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define MAX_CONF 64

static struct {
	char *key;
	char *value;
} conf[MAX_CONF];
static int nconf;
static char default_config[4096]; /* DATA/luxima.conf */

/* The values found for the current command's flags, by name. */
static const struct cli_flag *cur_flags;
static const char *cur_values[64];

static const struct cli_flag common_flags[] = {
	{ "data", "LUXIMA_DATA", NULL, 1,
	    "data folder (default ./luxima-data)" },
	{ "config", "LUXIMA_CONFIG", NULL, 1,
	    "config file (default DATA/luxima.conf if present)" },
	{ NULL, NULL, NULL, 0, NULL }
};

static const char *
conf_get(const char *key)
{
	int i;

	for (i = 0; i < nconf; i++)
		if (strcmp(conf[i].key, key) == 0)
			return (conf[i].value);
	return (NULL);
}

const char *
cli_conf(const char *key)
{
	return (conf_get(key));
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s
	    && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'
	        || e[-1] == '\r'))
		*--e = '\0';
	return (s);
}

/* Reads path into conf[]. A missing file is fine unless required. */
static int
conf_read(const char *path, int required)
{
	char line[1024], *eq, *k, *v;
	FILE *f;
	int lineno = 0, ret = -1;

	if ((f = fopen(path, "r")) == NULL) {
		if (!required && errno == ENOENT)
			return (0);
		fprintf(stderr, "luxima: cannot read config file %s: %s\n",
		    path, strerror(errno));
		return (-1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			fprintf(stderr, "luxima: %s:%d: expected key = value\n",
			    path, lineno);
			goto out;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (nconf == MAX_CONF) {
			fprintf(
			    stderr, "luxima: %s: too many settings\n", path);
			goto out;
		}
		conf[nconf].key = lx_strdup(k);
		conf[nconf].value = lx_strdup(v);
		nconf++;
	}
	ret = 0;
out:
	fclose(f);
	return (ret);
}

static const struct cli_flag *
find_flag(const struct cli_flag *flags, const char *name, size_t len, int *idx)
{
	int i;

	for (i = 0; flags != NULL && flags[i].name != NULL; i++)
		if (strlen(flags[i].name) == len
		    && strncmp(flags[i].name, name, len) == 0) {
			*idx = i;
			return (&flags[i]);
		}
	return (NULL);
}

static void
print_flags(const struct cli_flag *flags)
{
	char lhs[64];
	int i;

	for (i = 0; flags[i].name != NULL; i++) {
		snprintf(lhs, sizeof(lhs), "--%s%s", flags[i].name,
		    flags[i].takes_value ? " VALUE" : "");
		printf("  %-24s %s", lhs, flags[i].help);
		if (flags[i].env != NULL)
			printf(" [env %s]", flags[i].env);
		if (flags[i].conf != NULL)
			printf(" [config %s]", flags[i].conf);
		printf("\n");
	}
}

int
cli_parse(const char *cmd, const char *usage, int argc, char **argv,
    const struct cli_flag *flags, struct cli_settings *out, char **pos,
    int *npos)
{
	const struct cli_flag *f;
	const char *name, *eq, *val, *data = NULL, *config = NULL, *v;
	size_t len;
	int i, idx, n = 0;

	memset(out, 0, sizeof(*out));
	memset(cur_values, 0, sizeof(cur_values));
	cur_flags = flags;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0
		    || strcmp(argv[i], "-h") == 0) {
			printf("usage: luxima %s %s\n\nflags:\n", cmd, usage);
			if (flags != NULL)
				print_flags(flags);
			print_flags(common_flags);
			printf("  %-24s %s\n", "--help", "show this help");
			printf(
			    "\nenvironment:\n"
			    "  LUXIMA_DB_KEY_FILE, "
			    "$CREDENTIALS_DIRECTORY/db.key, "
			    "LUXIMA_DB_KEY\n"
			    "                           the database key, in "
			    "that order (else DATA/luxima.key)\n"
			    "  LUXIMA_SYNCHRONOUS       full (default) or "
			    "normal "
			    "[config synchronous]\n"
			    "  LUXIMA_LOG_LEVEL         debug, info (default), "
			    "warn, error [config log_level]\n");
			return (1);
		}
		if (strncmp(argv[i], "--", 2) != 0) {
			if (pos != NULL && npos != NULL && n < *npos)
				pos[n++] = argv[i];
			else {
				fprintf(stderr,
				    "luxima %s: unexpected argument "
				    "'%s' (see --help)\n",
				    cmd, argv[i]);
				return (-1);
			}
			continue;
		}
		name = argv[i] + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if ((f = find_flag(common_flags, name, len, &idx)) == NULL
		    && (f = find_flag(flags, name, len, &idx)) == NULL) {
			fprintf(stderr,
			    "luxima %s: unknown flag '%s' (see "
			    "--help)\n",
			    cmd, argv[i]);
			return (-1);
		}
		val = "1";
		if (f->takes_value) {
			if (eq != NULL)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				fprintf(stderr,
				    "luxima %s: --%s needs a value\n", cmd,
				    f->name);
				return (-1);
			}
		} else if (eq != NULL) {
			fprintf(stderr, "luxima %s: --%s takes no value\n", cmd,
			    f->name);
			return (-1);
		}
		if (f == &common_flags[0])
			data = val;
		else if (f == &common_flags[1])
			config = val;
		else
			cur_values[idx] = val;
	}
	if (npos != NULL)
		*npos = n;

	if (data == NULL && (data = getenv("LUXIMA_DATA")) == NULL)
		data = "./luxima-data";
	if (config == NULL && (config = getenv("LUXIMA_CONFIG")) != NULL
	    && *config == '\0')
		config = NULL;
	if (config != NULL) {
		if (conf_read(config, 1) == -1)
			return (-1);
	} else {
		snprintf(default_config, sizeof(default_config),
		    "%s/luxima.conf", data);
		if (conf_read(default_config, 0) == -1)
			return (-1);
		config = default_config;
	}
	out->data_dir = data;
	out->config_file = config;

	/* Environment, then config file, for flags not given. */
	for (i = 0; flags != NULL && flags[i].name != NULL; i++) {
		if (cur_values[i] != NULL)
			continue;
		if (flags[i].env != NULL && (v = getenv(flags[i].env)) != NULL
		    && *v != '\0')
			cur_values[i] = v;
		else if (flags[i].conf != NULL
		    && (v = conf_get(flags[i].conf)) != NULL)
			cur_values[i] = v;
	}
	out->synchronous_full = 1;
	if ((v = getenv("LUXIMA_SYNCHRONOUS")) != NULL
	    || (v = conf_get("synchronous")) != NULL)
		out->synchronous_full = strcmp(v, "normal") != 0;
	if ((v = getenv("LUXIMA_LOG_LEVEL")) != NULL
	    || (v = conf_get("log_level")) != NULL)
		out->log_level = v;
	return (0);
}

const char *
cli_value(const char *name)
{
	int i;

	for (i = 0; cur_flags != NULL && cur_flags[i].name != NULL; i++)
		if (strcmp(cur_flags[i].name, name) == 0)
			return (cur_values[i]);
	return (NULL);
}

struct lx_db *
cli_open_db(const struct cli_settings *s, int create)
{
	struct lx_db_config cfg;
	struct lx_db *db = NULL;
	struct lx_err err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.data_dir = s->data_dir;
	cfg.create = create;
	cfg.synchronous_full = s->synchronous_full;
	lx_err_clear(&err);
	if (lx_db_open(&cfg, &db, &err) == -1) {
		fprintf(stderr, "luxima: %s\n", err.detail);
		return (NULL);
	}
	return (db);
}

void
cli_fmt_time(int64_t ms, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (ms <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
