/*
 * luxima serve: opens (or creates) the store, applies migrations and the
 * default seeds, starts the job workers and the HTTP server, prints where it
 * serves, then waits for SIGTERM or SIGINT to stop gracefully: new requests
 * are refused, requests in flight finish, jobs stop, the database closes,
 * and the process exits 0.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "jobs.h"
#include "mail.h"

#define JOB_WORKERS 2

static const struct cli_flag serve_flags[] = {
	{ "listen", "LUXIMA_LISTEN", "listen", 1,
	    "address to serve on, host:port (default 127.0.0.1:8080)" },
	{ "tls-cert", "LUXIMA_TLS_CERT", "tls_cert", 1,
	    "PEM certificate (chain): serve HTTPS" },
	{ "tls-key", "LUXIMA_TLS_KEY", "tls_key", 1,
	    "PEM private key for --tls-cert (unencrypted)" },
	{ "threads", "LUXIMA_THREADS", "threads", 1,
	    "HTTP worker threads (default 4 x cores, at least 8)" },
	{ "max-body", "LUXIMA_MAX_BODY", "max_body", 1,
	    "largest request body, bytes or with k/m suffix (default 1m)" },
	{ "cors-origins", "LUXIMA_CORS_ORIGINS", "cors_origins", 1,
	    "origins allowed by CORS, comma-separated, or * (default none)" },
	{ "request-timeout", "LUXIMA_REQUEST_TIMEOUT_MS", "request_timeout_ms",
	    1, "ms to receive a request (default 30000)" },
	{ "idle-timeout", "LUXIMA_IDLE_TIMEOUT_MS", "idle_timeout_ms", 1,
	    "ms a keep-alive connection may idle (default 5000)" },
	{ NULL, NULL, NULL, 0, NULL }
};

/* Parses a positive number with an optional k/m/g suffix (x1024). */
static int
parse_size(const char *flag, const char *v, int suffixes, long long max,
    long long *out)
{
	const char *units = "kmg";
	char *end, *u;
	long long n, mult = 1;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (suffixes && *end != '\0'
	    && (u = strchr(units, *end | 0x20)) != NULL) {
		mult = 1LL << (10 * (u - units + 1));
		end++;
	}
	if (errno != 0 || end == v || *end != '\0' || n <= 0
	    || n > max / mult) {
		fprintf(stderr,
		    "luxima serve: --%s: '%s' is not a number "
		    "between 1 and %lld\n",
		    flag, v, max);
		return (-1);
	}
	*out = n * mult;
	return (0);
}

/* Fills s->server from the flags. */
static int
server_settings(struct cli_settings *s)
{
	struct lx_server_config *c = &s->server;
	const char *v;
	long long n;

	c->listen = cli_value("listen");
	if (c->listen == NULL)
		c->listen = "127.0.0.1:8080";
	c->tls_cert = cli_value("tls-cert");
	c->tls_key = cli_value("tls-key");
	c->cors_origins = cli_value("cors-origins");
	c->data_dir = s->data_dir;
	c->conf = cli_conf;
	if ((v = cli_value("threads")) != NULL) {
		if (parse_size("threads", v, 0, 1024, &n) == -1)
			return (-1);
		c->threads = (int)n;
	}
	if ((v = cli_value("max-body")) != NULL) {
		if (parse_size("max-body", v, 1, 1LL << 32, &n) == -1)
			return (-1);
		c->max_body = (size_t)n;
	}
	if ((v = cli_value("request-timeout")) != NULL) {
		if (parse_size("request-timeout", v, 0, INT_MAX, &n) == -1)
			return (-1);
		c->request_timeout_ms = (int)n;
	}
	if ((v = cli_value("idle-timeout")) != NULL) {
		if (parse_size("idle-timeout", v, 0, INT_MAX, &n) == -1)
			return (-1);
		c->idle_timeout_ms = (int)n;
	}
	return (0);
}

static void
set_log_level(const char *v)
{
	if (v == NULL)
		return;
	if (strcmp(v, "debug") == 0)
		lx_log_set_level(LX_LOG_DEBUG);
	else if (strcmp(v, "warn") == 0)
		lx_log_set_level(LX_LOG_WARN);
	else if (strcmp(v, "error") == 0)
		lx_log_set_level(LX_LOG_ERROR);
}

/* 1 when the deployment profile (LUXIMA_PROFILE, then the config file's
 * profile) is demo: the demo seed set is loaded too. */
static int
demo_profile(void)
{
	const char *p = getenv("LUXIMA_PROFILE");

	if (p == NULL || *p == '\0')
		p = cli_conf("profile");
	if (p == NULL || strcmp(p, "demo") != 0)
		return (0);
	lx_log(LX_LOG_INFO,
	    "profile demo: demo tenants acme and globex loaded; sign in as "
	    "owner@acme.example.com with the password luxima-demo-orchard-42 "
	    "(README, Demo data)");
	return (1);
}

int
cmd_serve(int argc, char **argv)
{
	static struct cli_settings s; /* static: its strings live to exit */
	struct mail_smtp_config smtp;
	struct lx_server *srv = NULL;
	struct lx_db *db = NULL;
	struct lx_err err;
	sigset_t sigs;
	char smtp_pw[512];
	int rc, sig, applied = 0, jobs = 0, ret = 1;

	if ((rc = cli_parse(
	         "serve", "[flags]", argc, argv, serve_flags, &s, NULL, NULL))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (server_settings(&s) == -1)
		return (2);
	set_log_level(s.log_level);
	if (sodium_init() < 0) {
		fprintf(stderr, "luxima: libsodium failed to initialise\n");
		return (1);
	}
	/* Every thread started from here inherits the blocked signals; the
	 * main thread alone waits for them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	lx_err_clear(&err);
	if ((db = cli_open_db(&s, 1)) == NULL)
		goto out;
	if (lx_migrate_up(db, &applied, &err) == -1
	    || lx_seed_run(db, demo_profile() ? "demo" : "defaults", &err)
	        == -1) {
		fprintf(stderr, "luxima: %s\n", err.detail);
		goto out;
	}
	/* The outbox delivers through the relay when one is configured,
	 * else into the log; either way its job kind is registered now. */
	rc = cli_smtp_config(&smtp, smtp_pw, sizeof(smtp_pw), &err) == -1
	    || mail_outbox_configure(&smtp, &err) == -1;
	sodium_memzero(smtp_pw, sizeof(smtp_pw));
	if (rc) {
		fprintf(stderr, "luxima: %s\n", err.detail);
		goto out;
	}
	/* The modules' inits register their job kinds: workers start
	 * after them, so no job meets a kind not yet registered. */
	if (lx_server_start(&s.server, db, &srv, &err) == -1) {
		fprintf(stderr, "luxima: %s\n", err.detail);
		goto out;
	}
	if (lx_jobs_start(db, JOB_WORKERS, &err) == -1) {
		fprintf(stderr, "luxima: %s\n", err.detail);
		goto out;
	}
	jobs = 1;
	printf("luxima: serving on %s\n", lx_server_url(srv));
	fflush(stdout);
	lx_log(LX_LOG_INFO,
	    "serving on %s (database %s, %d migrations applied)",
	    lx_server_url(srv), lx_db_path(db), applied);

	do {
		rc = sigwait(&sigs, &sig);
	} while (rc != 0);
	lx_log(
	    LX_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	lx_server_stop(srv);
	srv = NULL;
	ret = 0;
out:
	lx_server_stop(srv);
	if (jobs)
		lx_jobs_stop();
	mail_outbox_shutdown();
	lx_db_close(db);
	if (ret == 0)
		lx_log(LX_LOG_INFO, "stopped");
	return (ret);
}
