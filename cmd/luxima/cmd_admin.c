/*
 * luxima admin create --email E [--name N]: creates a platform
 * administrator (confirmed, instance-wide). The password is read from
 * standard input when it is not a terminal (one line), otherwise generated
 * and printed once. Applies pending migrations and the default seeds first,
 * so it works on a fresh data folder before the first `serve`.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "cli.h"

static const struct cli_flag admin_flags[] = {
	{ "email", NULL, NULL, 1, "the administrator's email (required)" },
	{ "name", NULL, NULL, 1, "display name" }, { NULL, NULL, NULL, 0, NULL }
};

/* Reads one line of at most AUTH_PASSWORD_MAX bytes from stdin into pw
 * (sodium memory of AUTH_PASSWORD_MAX + 2 bytes). */
static int
read_password(char *pw)
{
	size_t n;

	if (fgets(pw, AUTH_PASSWORD_MAX + 2, stdin) == NULL)
		return (-1);
	n = strlen(pw);
	if (n > 0 && pw[n - 1] == '\n')
		pw[--n] = '\0';
	else if (n > AUTH_PASSWORD_MAX)
		return (-1);
	if (n > 0 && pw[n - 1] == '\r')
		pw[--n] = '\0';
	return (n > 0 ? 0 : -1);
}

/* A random password: 18 bytes as 24 base64url characters. */
static void
generate_password(char *pw)
{
	unsigned char raw[18];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(pw, AUTH_PASSWORD_MAX + 2, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

int
cmd_admin(int argc, char **argv)
{
	struct cli_settings s;
	struct auth_user u;
	struct lx_buf reasons;
	struct lx_db *db = NULL;
	struct lx_conn *c;
	struct lx_err err;
	const char *email, *name;
	char *pos[2], *pw = NULL;
	unsigned weak = 0;
	int npos = 2, rc, generated = 0, ret = 1;

	if ((rc = cli_parse("admin", "create --email EMAIL [--name NAME]", argc,
	         argv, admin_flags, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	email = cli_value("email");
	name = cli_value("name");
	if (npos != 1 || strcmp(pos[0], "create") != 0 || email == NULL) {
		fprintf(stderr,
		    "usage: luxima admin create --email EMAIL "
		    "[--name NAME] (see --help)\n");
		return (2);
	}
	if (sodium_init() < 0
	    || (pw = sodium_malloc(AUTH_PASSWORD_MAX + 2)) == NULL) {
		fprintf(stderr, "luxima: libsodium failed to initialise\n");
		return (1);
	}
	if (!isatty(STDIN_FILENO)) {
		if (read_password(pw) == -1) {
			fprintf(stderr,
			    "luxima admin: expected the password as one line "
			    "of at most %d bytes on standard input\n",
			    AUTH_PASSWORD_MAX);
			goto out;
		}
	} else {
		generate_password(pw);
		generated = 1;
	}
	lx_err_clear(&err);
	if ((db = cli_open_db(&s, 1)) == NULL)
		goto out;
	c = lx_db_conn(db);
	if (lx_migrate_up(db, NULL, &err) == -1
	    || lx_seed_run(db, "defaults", &err) == -1
	    || auth_init(c, cli_conf, &err) == -1) {
		fprintf(stderr, "luxima: %s\n", err.detail);
		goto out;
	}
	if (auth_admin_create(c, email, name, pw, &u, &weak, &err) == -1) {
		fprintf(stderr, "luxima admin: %s", err.detail);
		if (weak != 0) {
			lx_buf_init(&reasons);
			auth_weak_json(weak, &reasons);
			fprintf(stderr, " %s", reasons.data);
			lx_buf_cleanup(&reasons);
		}
		fprintf(stderr, "\n");
		goto out;
	}
	printf("created platform admin %s (id %s)\n", u.email, u.id);
	if (generated)
		printf("password: %s\n(shown once; store it now)\n", pw);
	ret = 0;
out:
	auth_shutdown();
	lx_db_close(db);
	if (pw != NULL)
		sodium_free(pw);
	return (ret);
}
