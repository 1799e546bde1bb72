/*
 * http.fetch for edge functions: the host op behind the Lua binding of
 * modules/edge (edge_lua.c). functions_host_fetch takes the script's
 * request as JSON text, checks it, makes it through the webhooks module's
 * HTTP/1.1 client (webhooks_http_request: mbedTLS, one deadline, a
 * destination rule on every resolved address) and answers the response as
 * JSON text.
 *
 * The checks, in order: the request is refused unless declared (url,
 * method, headers, body; see functions.h); the host and port must be on
 * the allow-list functions.http_allow (functions_http_allowed) before any
 * lookup or connection, so the default, an empty list, reaches nothing;
 * every address the host resolves to is refused when it is of a forbidden
 * class (unspecified, link-local such as cloud metadata, multicast,
 * reserved) even for a listed host; and everything, from the lookup to the
 * last body byte, ends by the calling function's deadline. One request per
 * call with "Connection: close"; redirects are not followed (the script
 * sees the 3xx); no cookies, no decompression. https is verified against
 * the CA bundle of the setting webhooks.ca_file (one trust setting for
 * outgoing HTTPS) or else the system's.
 *
 * Bodies travel as JSON strings. The response body is escaped byte for
 * byte, valid UTF-8 kept, and every invalid UTF-8 sequence (its maximal
 * invalid subpart, as the WHATWG decoder counts) replaced by U+FFFD: the
 * JSON stays valid, and binary bodies arrive mangled, so scripts fetch
 * text. A request holding a NUL byte (\u0000) is refused: cJSON's strings
 * end there.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "functions.h"
#include "webhooks.h"

#ifndef LUXIMA_VERSION
#define LUXIMA_VERSION "0"
#endif

#define FETCH_BODY_MAX ((size_t)1 << 20) /* bytes of a body, both ways */
#define FETCH_HEADERS_MAX 32 /* headers a script may set */
#define FETCH_NAME_MAX 256 /* bytes of a header name */
#define FETCH_VALUE_MAX 8192 /* bytes of a header value */

/* Headers the client sets itself, and hop-by-hop ones (RFC 9110 7.6.1). */
static const char *const refused_headers[] = { "host", "content-length",
	"transfer-encoding", "connection", "keep-alive", "proxy-connection",
	"te", "trailer", "upgrade", NULL };

static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE",
	"HEAD", NULL };

/* A script's request, checked. */
struct fetch_req {
	cJSON *root; /* the parsed request (owns body) */
	char *url; /* lx_malloc: the url without a fragment */
	char method[8]; /* upper case, one of methods */
	struct lx_buf headers; /* "Name: value\r\n" lines */
	const char *body; /* in root; NULL: none */
	size_t len; /* bytes of body */
	int has_ua; /* 1: the script set User-Agent */
};

static int bad(struct lx_err *err, const char *fmt, ...) LX_PRINTF(2, 3);

/* Sets err to 400 "invalid_request" saying why; returns -1. */
static int
bad(struct lx_err *err, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return (lx_err_set(err, 400, "invalid_request", "%s", why));
}

/* 1 if c may be in a header name (an RFC 9110 token). */
static int
tchar(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9')
	    || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL));
}

/* Checks one header of the script and appends it to q->headers. */
static int
req_header(struct fetch_req *q, const cJSON *h, struct lx_err *err)
{
	const char *name = h->string, *v;
	size_t n, i;

	n = strlen(name);
	if (n == 0 || n > FETCH_NAME_MAX)
		return (bad(err, "a header name must have 1 to 256 bytes"));
	for (i = 0; i < n; i++)
		if (!tchar((unsigned char)name[i]))
			return (bad(
			    err, "header name \"%.64s\" is not a token", name));
	for (i = 0; refused_headers[i] != NULL; i++)
		if (strcasecmp(name, refused_headers[i]) == 0)
			return (bad(err,
			    "header %.64s is set by http.fetch itself", name));
	if (!cJSON_IsString(h))
		return (
		    bad(err, "header %.64s: the value must be a string", name));
	v = h->valuestring;
	if ((n = strlen(v)) > FETCH_VALUE_MAX)
		return (bad(
		    err, "header %.64s: the value is over 8192 bytes", name));
	for (i = 0; i < n; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t')
		    || v[i] == 0x7f)
			return (bad(err,
			    "header %.64s: the value holds a control character "
			    "(CR, LF...)",
			    name));
	if (strcasecmp(name, "user-agent") == 0)
		q->has_ua = 1;
	lx_buf_addf(&q->headers, "%s: %s\r\n", name, v);
	return (0);
}

/* 1 if a string in the JSON text p escapes a NUL byte (\u0000), which
 * cJSON's NUL-terminated strings would silently cut short. */
static int
has_nul_escape(const char *p)
{
	int in = 0;

	for (; *p != '\0'; p++) {
		if (*p == '"')
			in = !in;
		else if (in && *p == '\\') {
			if (strncmp(p + 1, "u0000", 5) == 0)
				return (1);
			if (p[1] != '\0')
				p++; /* the escaped character */
		}
	}
	return (0);
}

/* Parses and checks req_json into q. 0, or -1 with 400 "invalid_request". */
static int
req_parse(const char *req_json, struct fetch_req *q, struct lx_err *err)
{
	const cJSON *f, *h;
	const char *url = NULL, *m = "GET";
	size_t i;
	int n = 0;

	if ((q->root = cJSON_Parse(req_json)) == NULL
	    || !cJSON_IsObject(q->root))
		return (bad(err, "the request is not a JSON object"));
	if (has_nul_escape(req_json))
		return (bad(err, "http.fetch cannot send a NUL byte"));
	cJSON_ArrayForEach(f, q->root)
	{
		if (cJSON_IsNull(f))
			continue; /* as absent */
		if (strcmp(f->string, "url") == 0 && cJSON_IsString(f))
			url = f->valuestring;
		else if (strcmp(f->string, "method") == 0 && cJSON_IsString(f))
			m = f->valuestring;
		else if (strcmp(f->string, "body") == 0 && cJSON_IsString(f)) {
			q->body = f->valuestring;
			if ((q->len = strlen(q->body)) > FETCH_BODY_MAX)
				return (bad(err,
				    "the body is over 1 MiB (1048576 bytes)"));
		} else if (strcmp(f->string, "headers") == 0
		    && cJSON_IsObject(f)) {
			cJSON_ArrayForEach(h, f)
			{
				if (++n > FETCH_HEADERS_MAX)
					return (
					    bad(err, "more than 32 headers"));
				if (req_header(q, h, err) == -1)
					return (-1);
			}
		} else if (strcmp(f->string, "url") == 0
		    || strcmp(f->string, "method") == 0
		    || strcmp(f->string, "body") == 0)
			return (bad(err, "%.64s must be a string", f->string));
		else if (strcmp(f->string, "headers") == 0)
			return (bad(
			    err, "headers must be a table of name = value"));
		else
			return (bad(err, "unknown field %.64s", f->string));
	}
	if (url == NULL)
		return (bad(err, "url is missing"));
	q->url = lx_strndup(url, strcspn(url, "#"));
	for (i = 0; m[i] != '\0' && i < sizeof(q->method) - 1; i++)
		q->method[i] =
		    (char)(m[i] >= 'a' && m[i] <= 'z' ? m[i] - 32 : m[i]);
	q->method[i] = '\0';
	for (i = 0; methods[i] != NULL; i++)
		if (strcmp(q->method, methods[i]) == 0
		    && strlen(m) == strlen(methods[i]))
			return (0);
	return (bad(err,
	    "method \"%.16s\" is not GET, POST, PUT, PATCH, DELETE or HEAD",
	    m));
}

/*
 * The length of the UTF-8 sequence at s[0..n): > 0 when valid, else minus
 * the length of its maximal invalid subpart (Unicode's best practice for
 * U+FFFD, as in the WHATWG decoder).
 */
static int
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		if (s[0] == 0xe0)
			lo = 0xa0; /* no overlong forms */
		else if (s[0] == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f; /* up to U+10FFFF */
	} else
		return (-1);
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return (-(int)i);
		lo = 0x80;
		hi = 0xbf;
	}
	return ((int)need + 1);
}

/* Appends p[0..n) as the inside of a JSON string: ", \ and control bytes
 * escaped, invalid UTF-8 as U+FFFD. */
static void
json_esc(struct lx_buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, run = 0;
	char esc[6];
	int k;

	while (i < n) {
		if (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"'
		    && s[i] != '\\') {
			i++;
			continue;
		}
		if (s[i] >= 0x80 && (k = utf8_seq(s + i, n - i)) > 0) {
			i += (size_t)k;
			continue;
		}
		lx_buf_add(b, p + run, i - run);
		if (s[i] >= 0x80) {
			lx_buf_add(b, "\xef\xbf\xbd", 3); /* U+FFFD */
			i += (size_t)-utf8_seq(s + i, n - i);
		} else {
			if (s[i] == '"' || s[i] == '\\') {
				esc[0] = '\\';
				esc[1] = (char)s[i];
				lx_buf_add(b, esc, 2);
			} else if (s[i] == '\n')
				lx_buf_add(b, "\\n", 2);
			else if (s[i] == '\r')
				lx_buf_add(b, "\\r", 2);
			else if (s[i] == '\t')
				lx_buf_add(b, "\\t", 2);
			else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[s[i] >> 4];
				esc[5] = hex[s[i] & 15];
				lx_buf_add(b, esc, 6);
			}
			i++;
		}
		run = i;
	}
	lx_buf_add(b, p + run, n - run);
}

/* One response header line, split. */
struct field {
	const char *name; /* lower case, NUL-terminated */
	const char *val;
	size_t vlen;
	int done; /* 1: written */
};

/*
 * Appends the header lines of head[0..len) (a status line first) as a
 * JSON object of lower-case names; repeated names joined with ", ".
 * Lines whose name is not a token are left out.
 */
static void
json_headers(struct lx_buf *b, const char *head, size_t len)
{
	struct field *f;
	char *copy = lx_strndup(head, len), *p, *nl, *colon, *e;
	size_t nf = 0, max = 1, i, j;
	int first = 1;

	for (i = 0; i < len; i++)
		max += head[i] == '\n';
	f = lx_calloc(max, sizeof(*f));
	p = strchr(copy, '\n');
	for (p = p != NULL ? p + 1 : copy + len; *p != '\0'; p = nl) {
		e = (nl = strchr(p, '\n')) != NULL ? nl++ : p + strlen(p);
		if (nl == NULL)
			nl = e;
		if (e > p && e[-1] == '\r')
			e--;
		*e = '\0';
		if ((colon = strchr(p, ':')) == NULL || colon == p)
			continue;
		for (j = 0; p + j < colon && tchar((unsigned char)p[j]); j++)
			p[j] = (char)(p[j] >= 'A' && p[j] <= 'Z' ? p[j] + 32
			                                         : p[j]);
		if (p + j != colon)
			continue;
		*colon++ = '\0';
		while (*colon == ' ' || *colon == '\t')
			colon++;
		while (e > colon && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		f[nf].name = p;
		f[nf].val = colon;
		f[nf].vlen = (size_t)(e - colon);
		nf++;
	}
	lx_buf_adds(b, "{");
	for (i = 0; i < nf; i++) {
		if (f[i].done)
			continue;
		lx_buf_adds(b, first ? "\"" : ",\"");
		first = 0;
		json_esc(b, f[i].name, strlen(f[i].name));
		lx_buf_adds(b, "\":\"");
		for (j = i; j < nf; j++) {
			if (f[j].done || strcmp(f[j].name, f[i].name) != 0)
				continue;
			if (j > i)
				lx_buf_adds(b, ", ");
			json_esc(b, f[j].val, f[j].vlen);
			f[j].done = 1;
		}
		lx_buf_adds(b, "\"");
	}
	lx_buf_adds(b, "}");
	lx_free(f);
	lx_free(copy);
}

/* Turns the client's error into http.fetch's (codes in functions.h). */
static void
map_error(struct lx_err *err)
{
	static const struct {
		const char *from, *to;
		int status;
	} map[] = {
		{ "http_timeout", "fetch_timeout", 504 },
		{ "http_too_large", "fetch_too_large", 502 },
		{ "destination_refused", "host_not_allowed", 403 },
		{ "invalid_url", "invalid_request", 400 },
	};
	size_t i;

	for (i = 0; i < LX_NELEM(map); i++)
		if (strcmp(err->code, map[i].from) == 0) {
			snprintf(err->code, sizeof(err->code), "%s", map[i].to);
			err->status = map[i].status;
			return;
		}
	snprintf(err->code, sizeof(err->code), "fetch_failed");
	err->status = 502;
}

int
functions_host_fetch(void *ud, const char *req_json, int64_t deadline_ns,
    char **resp_json, struct lx_err *err)
{
	const struct functions_host_ctx *ctx = ud;
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct webhooks_url u;
	struct fetch_req q;
	struct lx_buf out;
	int64_t start = lx_mono_ns();
	int ret = -1;

	*resp_json = NULL;
	memset(&u, 0, sizeof(u));
	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	lx_buf_init(&q.headers);
	lx_buf_init(&out);
	if (req_parse(req_json != NULL ? req_json : "", &q, err) == -1)
		goto out;
	if (webhooks_url_parse(q.url, &u, err) == -1) {
		map_error(err);
		goto out;
	}
	if (!functions_http_allowed(u.host, u.port)) {
		lx_err_set(err, 403, "host_not_allowed",
		    u.host_ip == 6
		        ? "http.fetch may not reach [%s]:%d: it is "
		          "not on the allow-list functions.http_allow"
		        : "http.fetch may not reach %s:%d: it is not "
		          "on the allow-list functions.http_allow",
		    u.host, u.port);
		goto out;
	}
	if (start >= deadline_ns) {
		lx_err_set(err, 504, "fetch_timeout",
		    "the function's deadline passed before the request");
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.dest = WEBHOOKS_HTTP_DEST_LISTED;
	o.ca_file = webhooks_config()->ca_file;
	o.user_agent = q.has_ua ? NULL : "Luxima-Functions/" LUXIMA_VERSION;
	o.who = "http.fetch";
	o.deadline_ns = deadline_ns;
	if (webhooks_http_request(&o, q.method, q.url, q.headers.data, q.body,
	        q.len, FETCH_BODY_MAX, &r, err)
	    == -1) {
		map_error(err);
		goto out;
	}
	lx_buf_addf(&out, "{\"status\":%d,\"headers\":", r.status);
	json_headers(&out, r.head.data, r.head.len);
	lx_buf_adds(&out, ",\"body\":\"");
	json_esc(&out, r.body.data != NULL ? r.body.data : "", r.body.len);
	lx_buf_adds(&out, "\"}");
	*resp_json = lx_buf_take(&out);
	ret = 0;
out:
	lx_log(LX_LOG_DEBUG, "http.fetch: tenant %s: %s %s:%d: %d %s (%lld ms)",
	    ctx != NULL && ctx->tenant_id != NULL ? ctx->tenant_id : "-",
	    q.method, q.url != NULL ? u.host : "-", q.url != NULL ? u.port : 0,
	    r.status, ret == 0 ? "ok" : err->code,
	    (long long)((lx_mono_ns() - start) / 1000000));
	webhooks_http_resp_cleanup(&r);
	lx_buf_cleanup(&out);
	lx_buf_cleanup(&q.headers);
	lx_free(q.url);
	cJSON_Delete(q.root);
	return (ret);
}
