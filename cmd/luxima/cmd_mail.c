/*
 * luxima mail test: sends one message through the configured SMTP relay,
 * so an operator can check host, port, TLS, credentials and sender before
 * the platform depends on them. The relay settings come from the
 * environment or the config file, never from the command line (the
 * password least of all).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "mail.h"

static const char usage[] =
    "test --to ADDRESS [--subject TEXT]\n\n"
    "Relay settings (environment, else config file key):\n"
    "  LUXIMA_SMTP_HOST      smtp_host      relay host (required)\n"
    "  LUXIMA_SMTP_PORT      smtp_port      default 587 (starttls), 465 "
    "(tls), 25 (none)\n"
    "  LUXIMA_SMTP_TLS       smtp_tls       starttls (default), tls, none\n"
    "  LUXIMA_SMTP_USER      smtp_user      AUTH PLAIN user (only over TLS)\n"
    "  LUXIMA_SMTP_PASSWORD  smtp_password  its password "
    "(or LUXIMA_SMTP_PASSWORD_FILE)\n"
    "  LUXIMA_SMTP_FROM      smtp_from      sender address (required)\n"
    "  LUXIMA_SMTP_CA_FILE   smtp_ca_file   CA bundle (default: the "
    "system's)\n"
    "  LUXIMA_SMTP_TIMEOUT_MS smtp_timeout_ms per-read timeout (default "
    "10000)";

/* The environment variable, else the config file key, else NULL. */
static const char *
setting(const char *env, const char *key)
{
	const char *v;

	if ((v = getenv(env)) != NULL && *v != '\0')
		return (v);
	return (cli_conf(key));
}

int
cli_smtp_config(
    struct mail_smtp_config *cfg, char *pwbuf, size_t pwlen, struct lx_err *err)
{
	const char *v, *pwfile;
	FILE *f;
	char *end;
	long port;

	memset(cfg, 0, sizeof(*cfg));
	cfg->host = setting("LUXIMA_SMTP_HOST", "smtp_host");
	cfg->from = setting("LUXIMA_SMTP_FROM", "smtp_from");
	cfg->user = setting("LUXIMA_SMTP_USER", "smtp_user");
	cfg->ca_file = setting("LUXIMA_SMTP_CA_FILE", "smtp_ca_file");
	if ((v = setting("LUXIMA_SMTP_TIMEOUT_MS", "smtp_timeout_ms")) != NULL)
		cfg->timeout_ms = atoi(v);
	if (mail_tls_parse(setting("LUXIMA_SMTP_TLS", "smtp_tls"), &cfg->tls)
	    == -1)
		return (lx_err_set(err, 400, "bad_config",
		    "smtp_tls must be starttls, tls or none"));
	if ((v = setting("LUXIMA_SMTP_PORT", "smtp_port")) != NULL) {
		port = strtol(v, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535)
			return (lx_err_set(err, 400, "bad_config",
			    "smtp_port must be a port number, not '%s'", v));
		cfg->port = (int)port;
	}
	pwbuf[0] = '\0';
	if ((pwfile = getenv("LUXIMA_SMTP_PASSWORD_FILE")) != NULL) {
		if ((f = fopen(pwfile, "r")) == NULL)
			return (lx_err_set(err, 400, "bad_config",
			    "cannot read LUXIMA_SMTP_PASSWORD_FILE %s",
			    pwfile));
		if (fgets(pwbuf, (int)pwlen, f) == NULL)
			pwbuf[0] = '\0';
		fclose(f);
		pwbuf[strcspn(pwbuf, "\r\n")] = '\0';
	} else if ((v = setting("LUXIMA_SMTP_PASSWORD", "smtp_password"))
	    != NULL)
		snprintf(pwbuf, pwlen, "%s", v);
	cfg->password = pwbuf;
	if (cfg->user != NULL && pwbuf[0] == '\0')
		return (lx_err_set(err, 400, "bad_config",
		    "smtp_user is set but no SMTP password is"));
	return (0);
}

int
cmd_mail(int argc, char **argv)
{
	static const struct cli_flag flags[] = { { "to", NULL, NULL, 1,
		                                     "recipient address" },
		{ "subject", NULL, NULL, 1, "subject (default: a test line)" },
		{ NULL, NULL, NULL, 0, NULL } };
	struct mail_smtp_config cfg;
	struct mail_message msg;
	struct cli_settings s;
	struct lx_err err;
	char pw[512], *pos[1];
	int npos = 1, rc, ret = 1;

	if ((rc = cli_parse("mail", usage, argc, argv, flags, &s, pos, &npos))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (npos != 1 || strcmp(pos[0], "test") != 0
	    || cli_value("to") == NULL) {
		fprintf(stderr, "usage: luxima mail %s\n", usage);
		return (2);
	}
	lx_err_clear(&err);
	if (cli_smtp_config(&cfg, pw, sizeof(pw), &err) == -1)
		goto out;
	msg.to = cli_value("to");
	msg.subject =
	    cli_value("subject") ? cli_value("subject") : "Luxima test message";
	msg.text = "This is a test message from Luxima: the SMTP relay "
	           "settings work.\n";
	if (mail_smtp_send(&cfg, &msg, &err) == -1)
		goto out;
	printf(
	    "luxima: sent a test message to %s through %s\n", msg.to, cfg.host);
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "luxima: %s\n", err.detail);
	sodium_memzero(pw, sizeof(pw));
	return (ret);
}
