/*
 * The runtime pool: one sandboxed edge_state per thread (HTTP workers and
 * job workers alike), made on first use and freed by a thread-exit
 * destructor, so scripts are compiled once per thread and no call waits
 * for another. The limits and the http.fetch allow-list come from the
 * environment (LUXIMA_FUNCTIONS_<KEY>) or the config file when the module
 * starts:
 *
 *   functions.memory_mb      heap a call may grow by (default 16)
 *   functions.instructions   VM instructions per call (default 10000000)
 *   functions.timeout_ms     wall clock per call (default 1000)
 *   functions.http_allow     comma list of host or host:port that
 *                            http.fetch may reach ("" default: none)
 *   functions.docs_max       documents a tenant's scripts keep (10000)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "functions.h"

#define ALLOW_MAX 32 /* entries of the allow-list */

static pthread_key_t state_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static struct edge_limits limits; /* set once by functions_pool_init */
static struct {
	char host[256];
	int port; /* 0: any */
} allow[ALLOW_MAX];
static int nallow;
static struct lx_server *pool_srv;

const char *
functions_setting(const char *key)
{
	char conf[80];

	snprintf(conf, sizeof(conf), "functions.%s", key);
	return (lx_server_setting(pool_srv, conf));
}

static void
state_free(void *p)
{
	edge_state_free(p);
}

static void
key_make(void)
{
	pthread_key_create(&state_key, state_free);
}

/* A positive integer setting into *out, keeping the default when unset. */
static int
setting(const char *key, int64_t max, int64_t *out, struct lx_err *err)
{
	const char *v = functions_setting(key);
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return (0);
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n < 1 || n > max)
		return (lx_err_set(err, 500, "invalid_config",
		    "functions.%s must be an integer from 1 to %lld", key,
		    (long long)max));
	*out = n;
	return (0);
}

/* One allow-list entry p[0..n): "host", "host:port", a bare IPv6
 * address, "[ipv6]" or "[ipv6]:port" (port 0: any). 0, or -1. */
static int
entry_parse(const char *p, size_t n, char *host, size_t size, int *port)
{
	const char *end = p + n, *h = p, *he, *colon;

	*port = 0;
	if (*p == '[') {
		if ((he = memchr(p, ']', n)) == NULL)
			return (-1);
		h = p + 1;
		colon = he + 1 < end ? he + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return (-1);
	} else {
		colon = memchr(p, ':', n);
		/* Two colons or more: a bare IPv6 address, no port. */
		if (colon != NULL
		    && memchr(colon + 1, ':', (size_t)(end - colon - 1))
		        != NULL)
			colon = NULL;
		he = colon != NULL ? colon : end;
	}
	if (colon != NULL) {
		*port = atoi(colon + 1);
		if (*port < 1 || *port > 65535
		    || strspn(colon + 1, "0123456789")
		        != (size_t)(end - colon - 1))
			return (-1);
	}
	if (he == h || (size_t)(he - h) >= size)
		return (-1);
	snprintf(host, size, "%.*s", (int)(he - h), h);
	return (0);
}

static int
allow_parse(const char *list, struct lx_err *err)
{
	const char *p, *e;
	size_t n;

	nallow = 0;
	for (p = list; p != NULL && *p != '\0'; p = *e == ',' ? e + 1 : e) {
		while (*p == ' ')
			p++;
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n == 0)
			continue;
		if (nallow == ALLOW_MAX || n >= sizeof(allow[0].host))
			return (lx_err_set(err, 500, "invalid_config",
			    "functions.http_allow: at most %d hosts of at "
			    "most 255 bytes",
			    ALLOW_MAX));
		if (entry_parse(p, n, &allow[nallow].host[0],
		        sizeof(allow[0].host), &allow[nallow].port)
		    == -1)
			return (lx_err_set(err, 500, "invalid_config",
			    "functions.http_allow: \"%.*s\" is not host, "
			    "host:port, [ipv6] or [ipv6]:port",
			    (int)n, p));
		nallow++;
	}
	return (0);
}

int
functions_pool_init(struct lx_server *srv, struct lx_err *err)
{
	int64_t mem = (int64_t)(EDGE_MEM_DEFAULT >> 20);
	int64_t ins = EDGE_INSTRUCTIONS_DEFAULT, ms = EDGE_WALL_MS_DEFAULT;

	pthread_once(&key_once, key_make);
	pool_srv = srv;
	edge_limits_default(&limits);
	if (setting("memory_mb", 4096, &mem, err) == -1
	    || setting("instructions", INT64_MAX / 2, &ins, err) == -1
	    || setting("timeout_ms", 600000, &ms, err) == -1
	    || allow_parse(functions_setting("http_allow"), err) == -1)
		return (-1);
	limits.mem_bytes = (size_t)mem << 20;
	limits.instructions = ins;
	limits.wall_ms = ms;
	return (0);
}

struct edge_state *
functions_pool_state(void)
{
	struct edge_state *s;

	pthread_once(&key_once, key_make);
	if ((s = pthread_getspecific(state_key)) == NULL) {
		s = edge_state_create(limits.mem_bytes > 0 ? &limits : NULL);
		pthread_setspecific(state_key, s);
	}
	return (s);
}

int
functions_http_allowed(const char *host, int port)
{
	int i;

	for (i = 0; i < nallow; i++)
		if (strcasecmp(allow[i].host, host) == 0
		    && (allow[i].port == 0 || allow[i].port == port))
			return (1);
	return (0);
}
