/*
 * The built-in hook scripts (issue #6): nine named places where the
 * platform asks a Lua script for a decision (auth/register, auth/login,
 * auth/verifyToken, billing/createInvoice, billing/updateSubscription,
 * billing/webhookHandler, plugins/validatePlugin, plugins/installPlugin,
 * plugins/publishPlugin). What each hook receives and returns is
 * lua_scripts/README.md; this file only finds and runs the scripts.
 *
 * A hook's script is, first found when the server starts:
 * <data>/lua_scripts/<hook>.lua (the deployment's override; an empty file
 * turns the hook off), else lua_scripts/<hook>.lua compiled into the
 * binary (lx_embed_lua), else none. A change to an override takes effect
 * at the next start. Without a script the caller applies its documented
 * default, which equals what the built-in script does. Some built-ins
 * are not run for that reason (the "hot" flag): auth/verifyToken's, on the
 * hot path of every /auth/verify (a Lua call there costs a fifth of the
 * route's throughput), and the three plugins/ ones, which add nothing to
 * the platform's checks; each returns exactly the default.
 *
 * A call runs in the calling thread's pooled sandbox (functions_pool.c)
 * with the functions.* limits and no host: json, crypto and log only (log
 * lines go to the server log, tagged with the hook). The chunk is cached
 * in that sandbox under "hook:<name>:<first 16 hex digits of the source's
 * SHA-256>", so a warm call compiles nothing. When a script fails (a
 * syntax or runtime error, a limit, an answer that is not {json = {...}},
 * an override that cannot be read) the hook's mode decides: a fail-closed
 * hook refuses with 503 "hook_failed" (nothing done, the client or the
 * provider retries), a fail-open hook logs and lets the default apply.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <sodium.h>

#include "embed.h"
#include "functions.h"

#define HOOK_LOG_MAX 4096 /* bytes of log lines kept per call */

struct hook {
	const char *name; /* "auth/register" */
	int fail_open; /* 1: a failure is logged, the default applies */
	int hot; /* 1: its built-in returns exactly the default, so the
		  * built-in is not run (an override is) */
	const char *src; /* the source in effect; NULL: no script */
	size_t len; /* bytes in src */
	char *owned; /* an override's source (lx_malloc), or NULL */
	char *origin; /* where src comes from, for the log (lx_malloc) */
	char key[96]; /* chunk name in the sandboxes */
	char *broken; /* why the override cannot be used (lx_malloc), or
		       * NULL */
};

/* The nine hooks and their failure modes (lua_scripts/README.md). Written
 * by functions_hooks_init only, before any thread calls a hook. */
static struct hook hooks[] = {
	{ "auth/register", 0, 0, NULL, 0, NULL, NULL, "", NULL },
	{ "auth/login", 0, 0, NULL, 0, NULL, NULL, "", NULL },
	{ "auth/verifyToken", 1, 1, NULL, 0, NULL, NULL, "", NULL },
	{ "billing/createInvoice", 1, 0, NULL, 0, NULL, NULL, "", NULL },
	{ "billing/updateSubscription", 0, 0, NULL, 0, NULL, NULL, "", NULL },
	{ "billing/webhookHandler", 0, 0, NULL, 0, NULL, NULL, "", NULL },
	{ "plugins/validatePlugin", 0, 1, NULL, 0, NULL, NULL, "", NULL },
	{ "plugins/installPlugin", 0, 1, NULL, 0, NULL, NULL, "", NULL },
	{ "plugins/publishPlugin", 0, 1, NULL, 0, NULL, NULL, "", NULL },
};

static struct hook *
hook_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < LX_NELEM(hooks); i++)
		if (strcmp(hooks[i].name, name) == 0)
			return (&hooks[i]);
	return (NULL);
}

/*
 * Reads the override at path into h: 1 when there is one (h->owned set,
 * or h->broken saying why it cannot be used), 0 when there is none.
 */
static int
override_read(struct hook *h, const char *path)
{
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	int fd, ret = 1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return (0);
		h->broken =
		    lx_asprintf("cannot open %s: %s", path, strerror(errno));
		return (1);
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		h->broken = lx_asprintf("%s is not a readable file", path);
		goto out;
	}
	if ((size_t)sb.st_size > FUNCTIONS_SOURCE_MAX) {
		h->broken = lx_asprintf(
		    "%s is larger than %zu bytes", path, FUNCTIONS_SOURCE_MAX);
		goto out;
	}
	h->owned = lx_malloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		n = read(fd, h->owned + got, (size_t)sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			h->broken = lx_asprintf("cannot read %s: %s", path,
			    n == 0 ? "it shrank" : strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	h->owned[got] = '\0';
	h->src = h->owned;
	h->len = got;
out:
	close(fd);
	return (ret);
}

/* Compiles h's source once in a scratch sandbox, so a syntax error in an
 * override shows in the log at start (calls report it again). */
static void
precompile(const struct hook *h)
{
	struct edge_state *s = edge_state_create(NULL);
	struct edge_chunk *chunk;
	struct lx_err e;

	lx_err_clear(&e);
	if (edge_compile(s, h->key, h->src, h->len, &chunk, &e) == -1)
		lx_log(LX_LOG_WARN,
		    "hook %s: %s does not compile: %s; the hook %s", h->name,
		    h->origin, e.detail,
		    h->fail_open ? "fails open (its default applies)"
		                 : "fails closed (503 hook_failed)");
	edge_state_free(s);
}

/* Settles the script of h under data_dir (may be NULL). */
static void
hook_load(struct hook *h, const char *data_dir)
{
	const struct lx_embed *e;
	unsigned char sha[crypto_hash_sha256_BYTES];
	char path[4096], name[96], hex[17];

	lx_free(h->owned);
	lx_free(h->origin);
	lx_free(h->broken);
	h->owned = h->origin = h->broken = NULL;
	h->src = NULL;
	h->len = 0;
	h->key[0] = '\0';
	snprintf(name, sizeof(name), "%s.lua", h->name);
	if (data_dir != NULL) {
		snprintf(
		    path, sizeof(path), "%s/lua_scripts/%s", data_dir, name);
		if (override_read(h, path) == 1) {
			h->origin = lx_strdup(path);
			if (h->broken != NULL)
				lx_log(LX_LOG_ERROR, "hook %s: %s; the hook %s",
				    h->name, h->broken,
				    h->fail_open ? "fails open (its default "
				                   "applies)"
				                 : "fails closed (503 "
				                   "hook_failed)");
			else if (h->len == 0) {
				h->src = NULL;
				lx_log(LX_LOG_INFO,
				    "hook %s: turned off by the empty %s: the "
				    "platform's default applies",
				    h->name, path);
			} else
				lx_log(LX_LOG_INFO,
				    "hook %s: using the override %s", h->name,
				    path);
			goto keyed;
		}
	}
	if ((e = lx_embed_find(lx_embed_lua, name)) != NULL && h->hot) {
		/* The built-in answers the default (auth/verifyToken's
		 * {extra = {}}, the plugins/ hooks' allow or no finding),
		 * which the caller gives without a Lua call (test_hooks.py
		 * and test_plugins.py run the files themselves). */
		h->origin = lx_asprintf(
		    "the built-in lua_scripts/%s (the default, not run)", name);
	} else if (e != NULL) {
		h->src = (const char *)e->data;
		h->len = e->len;
		h->origin = lx_asprintf("the built-in lua_scripts/%s", name);
	}
keyed:
	if (h->src == NULL)
		return;
	crypto_hash_sha256(sha, (const unsigned char *)h->src, h->len);
	sodium_bin2hex(hex, sizeof(hex), sha, 8);
	snprintf(h->key, sizeof(h->key), "hook:%s:%s", h->name, hex);
	if (h->owned != NULL)
		precompile(h);
}

int
functions_hooks_init(const char *data_dir, struct lx_err *err)
{
	size_t i;

	(void)err;
	for (i = 0; i < LX_NELEM(hooks); i++)
		hook_load(&hooks[i], data_dir);
	return (0);
}

int
functions_hook_active(const char *hook)
{
	const struct hook *h = hook_find(hook);

	return (h != NULL && (h->src != NULL || h->broken != NULL));
}

/* The script's log.* lines (one JSON object each) into the server log. */
static void
log_lines(const struct hook *h, const struct lx_buf *b)
{
	static const char *const levels[] = { "debug", "info", "warn",
		"error" };
	const char *p, *e, *end = b->data + b->len;
	cJSON *j, *lv, *msg;
	size_t i;
	int level;

	for (p = b->data; p != NULL && p < end; p = e + 1) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			e = end;
		if ((j = cJSON_ParseWithLength(p, (size_t)(e - p))) == NULL)
			continue;
		lv = cJSON_GetObjectItemCaseSensitive(j, "level");
		msg = cJSON_GetObjectItemCaseSensitive(j, "msg");
		level = LX_LOG_INFO;
		for (i = 0; cJSON_IsString(lv) && i < LX_NELEM(levels); i++)
			if (strcmp(lv->valuestring, levels[i]) == 0)
				level = (int)i;
		if (cJSON_IsString(msg))
			lx_log((enum lx_log_level)level, "hook %s: %s", h->name,
			    msg->valuestring);
		cJSON_Delete(j);
	}
}

/* A failed call of h: logged; 0 for a fail-open hook, else -1 with err. */
static int
hook_failed(const struct hook *h, const char *code, const char *detail,
    struct lx_err *err)
{
	lx_log(LX_LOG_WARN, "hook %s (%s) failed: %s: %s; %s", h->name,
	    h->origin != NULL ? h->origin : "no script", code, detail,
	    h->fail_open ? "ignored, the default applies (fails open)"
	                 : "refused with 503 hook_failed (fails closed)");
	if (h->fail_open)
		return (0);
	return (lx_err_set(err, 503, "hook_failed",
	    "the %s hook failed; the server log says why", h->name));
}

int
functions_hook(
    const char *hook, const char *req_json, cJSON **out, struct lx_err *err)
{
	struct hook *h = hook_find(hook);
	struct edge_result res;
	struct edge_host host;
	struct edge_state *s;
	struct edge_chunk *chunk;
	struct lx_buf log;
	struct lx_err e;
	cJSON *j = NULL;
	int ret = -1;

	*out = NULL;
	memset(&res, 0, sizeof(res));
	lx_buf_init(&log);
	lx_err_clear(&e);
	if (h == NULL) {
		lx_err_set(err, 500, "internal_error", "no hook is called %s",
		    hook != NULL ? hook : "(null)");
		goto out;
	}
	if (h->broken != NULL) {
		ret = hook_failed(h, "unreadable", h->broken, err);
		goto out;
	}
	if (h->src == NULL) {
		ret = 0; /* no script: the caller's default */
		goto out;
	}
	s = functions_pool_state();
	if ((chunk = edge_chunk_find(s, h->key)) == NULL
	    && edge_compile(s, h->key, h->src, h->len, &chunk, &e) == -1) {
		ret = hook_failed(h, e.code, e.detail, err);
		goto out;
	}
	memset(&host, 0, sizeof(host));
	host.log = &log;
	host.log_max = HOOK_LOG_MAX;
	if (edge_call(s, chunk, req_json, &host, &res, &e) == -1) {
		log_lines(h, &log);
		ret = hook_failed(h, e.code, e.detail, err);
		goto out;
	}
	log_lines(h, &log);
	if ((j = cJSON_ParseWithLength(res.body, res.body_len)) == NULL
	    || !cJSON_IsObject(j)) {
		ret = hook_failed(h, "invalid_response",
		    "the handler must return {json = {...}} (a table)", err);
		goto out;
	}
	*out = j;
	j = NULL;
	ret = 0;
out:
	cJSON_Delete(j);
	edge_result_cleanup(&res);
	lx_buf_cleanup(&log);
	return (ret);
}

int
functions_hook_bad(const char *hook, const char *why, struct lx_err *err)
{
	struct hook *h = hook_find(hook);

	if (h == NULL)
		return (lx_err_set(err, 500, "internal_error",
		    "no hook is called %s", hook != NULL ? hook : "(null)"));
	return (hook_failed(h, "invalid_answer", why, err));
}

/* 1 if s is a machine code: [a-z][a-z0-9_]*, shorter than size. */
static int
code_ok(const char *s, size_t size)
{
	size_t n;

	if (s[0] < 'a' || s[0] > 'z')
		return (0);
	for (n = 0; s[n] != '\0'; n++)
		if (n + 1 >= size
		    || !((s[n] >= 'a' && s[n] <= 'z')
		        || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return (0);
	return (1);
}

/* 1 if s is 1..max bytes without control characters. */
static int
text_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n == max || (unsigned char)s[n] < ' ' || s[n] == 0x7f)
			return (0);
	return (n > 0);
}

int
functions_hook_decision(const char *hook, const cJSON *out, int status,
    const char *code, struct functions_decision *d, struct lx_err *err)
{
	const cJSON *m;
	const char *why = NULL;
	char msg[160];

	memset(d, 0, sizeof(d[0]));
	d->allow = 1;
	d->status = status;
	snprintf(d->code, sizeof(d->code), "%s", code);
	snprintf(d->reason, sizeof(d->reason), "refused by the %s hook", hook);
	cJSON_ArrayForEach(m, out)
	{
		if (strcmp(m->string, "allow") == 0) {
			if (!cJSON_IsBool(m))
				why = "allow must be true or false";
			d->allow = cJSON_IsTrue(m);
		} else if (strcmp(m->string, "status") == 0) {
			if (!cJSON_IsNumber(m)
			    || (m->valuedouble != 403 && m->valuedouble != 422))
				why = "status must be 403 or 422";
			else
				d->status = (int)m->valuedouble;
		} else if (strcmp(m->string, "code") == 0) {
			if (!cJSON_IsString(m)
			    || !code_ok(m->valuestring, sizeof(d->code)))
				why = "code must be [a-z][a-z0-9_]*, at most "
				      "47 bytes";
			else
				snprintf(d->code, sizeof(d->code), "%s",
				    m->valuestring);
		} else if (strcmp(m->string, "reason") == 0) {
			if (!cJSON_IsString(m)
			    || !text_ok(m->valuestring, sizeof(d->reason) - 1))
				why = "reason must be 1 to 300 bytes of text";
			else
				snprintf(d->reason, sizeof(d->reason), "%s",
				    m->valuestring);
		} else if (!cJSON_IsNull(m)) {
			snprintf(msg, sizeof(msg),
			    "the answer has an unknown member \"%.60s\"",
			    m->string);
			why = msg;
		}
		if (why != NULL)
			break;
	}
	if (why == NULL
	    && !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(out, "allow")))
		why = "the answer has no allow (true or false)";
	if (why == NULL)
		return (0);
	memset(d, 0, sizeof(d[0]));
	d->allow = 1; /* what a fail-open hook's default means */
	return (functions_hook_bad(hook, why, err));
}
