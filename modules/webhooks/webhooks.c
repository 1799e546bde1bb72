/*
 * The rules of outgoing webhooks, with no SQL and no I/O: what an endpoint
 * URL may be and where it may point, the event types and the patterns an
 * endpoint subscribes with, ids and secrets, the Standard Webhooks
 * signature, the event body, and the parser of the HTTP response head the
 * delivery client reads from the network (fuzzed by
 * tests/fuzz/fuzz_webhooks.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cJSON.h>
#include <sodium.h>

#include "webhooks.h"

#define SECRET_PREFIX "whsec_"
#define SECRET_KEY_MAX 64 /* bytes a secret may decode to */

static const char *const known_types[] = {
	"invoice.created",
	"invoice.finalized",
	"invoice.paid",
	"invoice.payment_failed",
	"invoice.voided",
	"invoice.marked_uncollectible",
	"subscription.created",
	"subscription.updated",
	"subscription.canceled",
	"member.added",
	"member.removed",
	WEBHOOKS_TEST_TYPE,
	NULL,
};

static const char *const patterns[] = { "invoice.*", "subscription.*",
	"member.*", "custom.*", "*", NULL };

/* 1 for "custom.<name>": the types edge functions emit (events.emit),
 * <name> of lower-case letters, digits, '_', '.', '-', at most 64 bytes
 * in all. */
static int
custom_type(const char *type)
{
	size_t n = strlen(type);

	return (n > 7 && n <= 64 && strncmp(type, "custom.", 7) == 0
	    && strspn(type + 7, "abcdefghijklmnopqrstuvwxyz0123456789_.-")
	        == n - 7);
}

/* --- URLs --- */

static int
url_fail(struct lx_err *err, const char *why)
{
	return (lx_err_set(err, 422, "invalid_url", "url %s", why));
}

/* 1 if s[0..n) is a dotted-quad IPv4 address (inet_pton's rules). */
static int
parse_ip(const char *s, size_t n, int family, unsigned char *out)
{
	char tmp[64];

	if (n == 0 || n >= sizeof(tmp))
		return (0);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return (inet_pton(family == 6 ? AF_INET6 : AF_INET, tmp, out) == 1);
}

/* 1 if s[0..n) is a host name of [a-z0-9-_.] labels of 1..63 bytes. */
static int
name_ok(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > WEBHOOKS_HOST_MAX)
		return (0);
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return (0);
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return (0);
		if (++label > 63)
			return (0);
	}
	return (1);
}

int
webhooks_url_parse(
    const char *url, struct webhooks_url *out, struct lx_err *err)
{
	const char *p, *auth, *end, *host, *colon;
	unsigned char addr[16];
	size_t n, hlen, i;
	long port;
	char *e;

	memset(out, 0, sizeof(*out));
	if (url == NULL || *url == '\0')
		return (url_fail(err, "is empty"));
	n = strlen(url);
	if (n > WEBHOOKS_URL_MAX)
		return (lx_err_set(err, 422, "invalid_url",
		    "url is longer than %d bytes", WEBHOOKS_URL_MAX));
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= ' '
		    || (unsigned char)url[i] >= 0x7f)
			return (url_fail(err,
			    "holds a space, a control or a non-ASCII character "
			    "(percent-encode it; use punycode for names)"));
	if (strncasecmp(url, "https://", 8) == 0) {
		out->https = 1;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0)
		auth = url + 7;
	else
		return (url_fail(err, "must start with https:// or http://"));
	if (strchr(url, '#') != NULL)
		return (url_fail(err, "must not have a fragment (#)"));
	end = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return (
		    url_fail(err, "must not carry a user name or password"));
	host = auth;
	if (*host == '[') {
		if ((p = memchr(host, ']', (size_t)(end - host))) == NULL)
			return (url_fail(err, "has an unclosed [ in its host"));
		hlen = (size_t)(p - host - 1);
		if (!parse_ip(host + 1, hlen, 6, addr))
			return (url_fail(err, "has an invalid IPv6 address"));
		memcpy(out->host, host + 1, hlen);
		out->host_ip = 6;
		colon = p + 1 < end ? p + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return (url_fail(err, "has an invalid host"));
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		hlen = (size_t)((colon != NULL ? colon : end) - host);
		if (parse_ip(host, hlen, 4, addr))
			out->host_ip = 4;
		else if (!name_ok(host, hlen))
			return (url_fail(err, "has no valid host"));
		for (i = 0; i < hlen; i++)
			out->host[i] = (char)tolower((unsigned char)host[i]);
	}
	out->port = out->https ? 443 : 80;
	if (colon != NULL) {
		if (colon + 1 == end || colon[1] < '0' || colon[1] > '9')
			return (url_fail(err, "has an invalid port"));
		port = strtol(colon + 1, &e, 10);
		if (e != end || port < 1 || port > 65535)
			return (url_fail(err, "has an invalid port"));
		out->port = (int)port;
		out->port_explicit = 1;
	}
	if (*end == '\0')
		snprintf(out->target, sizeof(out->target), "/");
	else if (*end == '?')
		snprintf(out->target, sizeof(out->target), "/%s", end);
	else
		snprintf(out->target, sizeof(out->target), "%s", end);
	return (0);
}

enum webhooks_dest
webhooks_addr_class(int family, const unsigned char *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };
	static const unsigned char zero[16];

	if (family == 6) {
		if (memcmp(a, mapped, 12) == 0)
			return (webhooks_addr_class(4, a + 12));
		if (memcmp(a, zero, 15) == 0 && a[15] == 1)
			return (WEBHOOKS_DEST_PRIVATE); /* ::1 */
		if (memcmp(a, zero, 16) == 0 || a[0] == 0xff
		    || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
			return (
			    WEBHOOKS_DEST_FORBIDDEN); /* ::, ff, fe80::/10 */
		if ((a[0] & 0xfe) == 0xfc)
			return (WEBHOOKS_DEST_PRIVATE); /* fc00::/7 */
		return (WEBHOOKS_DEST_PUBLIC);
	}
	if (a[0] == 0 || a[0] >= 224 || (a[0] == 169 && a[1] == 254))
		return (WEBHOOKS_DEST_FORBIDDEN); /* 0/8, multicast, reserved,
						   * link-local (metadata) */
	if (a[0] == 127 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16)
	    || (a[0] == 192 && a[1] == 168)
	    || (a[0] == 100 && (a[1] & 0xc0) == 64))
		return (WEBHOOKS_DEST_PRIVATE);
	return (WEBHOOKS_DEST_PUBLIC);
}

/* 1 for "localhost" and names under ".localhost" (RFC 6761). */
static int
loopback_name(const char *h)
{
	size_t n = strlen(h);

	return (strcmp(h, "localhost") == 0
	    || (n > 10 && strcmp(h + n - 10, ".localhost") == 0));
}

const char *
webhooks_dest_refused(
    enum webhooks_dest d, int https, int allow_http, int allow_private)
{
	if (d == WEBHOOKS_DEST_FORBIDDEN)
		return ("an unspecified, link-local, multicast or reserved "
		        "address");
	if (d == WEBHOOKS_DEST_PRIVATE && !allow_private)
		return ("a loopback or private address (setting "
		        "webhooks.allow_private)");
	if (!https && !allow_http && d != WEBHOOKS_DEST_PRIVATE)
		return ("a public address over plain http: use https, or "
		        "allow it with the setting webhooks.allow_http");
	return (NULL);
}

int
webhooks_url_allowed(const struct webhooks_url *u, int allow_http,
    int allow_private, struct lx_err *err)
{
	const char *why;

	unsigned char a[16];
	enum webhooks_dest d = WEBHOOKS_DEST_PUBLIC;

	if (u->host_ip != 0) {
		if (!parse_ip(u->host, strlen(u->host), u->host_ip, a))
			return (url_fail(err, "has an invalid address"));
		d = webhooks_addr_class(u->host_ip, a);
	} else if (loopback_name(u->host))
		d = WEBHOOKS_DEST_PRIVATE;
	if ((why = webhooks_dest_refused(
	         d, u->https, allow_http, allow_private))
	    != NULL)
		return (lx_err_set(
		    err, 422, "invalid_url", "url points to %s", why));
	return (0);
}

/* --- event types --- */

int
webhooks_type_known(const char *type)
{
	size_t i;

	for (i = 0; type != NULL && known_types[i] != NULL; i++)
		if (strcmp(known_types[i], type) == 0)
			return (1);
	return (type != NULL && custom_type(type));
}

int
webhooks_pattern_valid(const char *p)
{
	size_t i;

	for (i = 0; p != NULL && patterns[i] != NULL; i++)
		if (strcmp(patterns[i], p) == 0)
			return (1);
	return (webhooks_type_known(p));
}

int
webhooks_pattern_match(const char *p, const char *type)
{
	size_t n;

	if (strcmp(p, "*") == 0)
		return (1);
	n = strlen(p);
	if (n >= 2 && strcmp(p + n - 2, ".*") == 0)
		return (strncmp(p, type, n - 1) == 0);
	return (strcmp(p, type) == 0);
}

int
webhooks_types_match(const char *types_json, const char *type)
{
	cJSON *a, *it;
	int yes = 0;

	if (types_json == NULL || (a = cJSON_Parse(types_json)) == NULL)
		return (0);
	cJSON_ArrayForEach(it, a)
	{
		if (cJSON_IsString(it)
		    && webhooks_pattern_match(it->valuestring, type)) {
			yes = 1;
			break;
		}
	}
	cJSON_Delete(a);
	return (yes);
}

int
webhooks_types_normalize(const cJSON *a, struct lx_buf *out, struct lx_err *err)
{
	const cJSON *it, *prev;
	int n = 0, dup;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0
	    || cJSON_GetArraySize(a) > WEBHOOKS_TYPES_MAX)
		return (lx_err_set(err, 422, "invalid_event_types",
		    "event_types must be an array of 1 to %d event types or "
		    "patterns",
		    WEBHOOKS_TYPES_MAX));
	cJSON_ArrayForEach(it, a)
	{
		if (!cJSON_IsString(it))
			return (lx_err_set(err, 422, "invalid_event_types",
			    "event_types must hold strings only"));
		if (!webhooks_pattern_valid(it->valuestring))
			return (lx_err_set(err, 422, "unknown_event_type",
			    "unknown event type '%.*s' (known: invoice.*, "
			    "subscription.*, their types, webhook.test, *)",
			    WEBHOOKS_TYPE_MAX, it->valuestring));
	}
	lx_buf_adds(out, "[");
	cJSON_ArrayForEach(it, a)
	{
		dup = 0;
		for (prev = a->child; prev != it; prev = prev->next)
			if (strcmp(prev->valuestring, it->valuestring) == 0)
				dup = 1;
		if (dup)
			continue;
		lx_buf_adds(out, n++ > 0 ? "," : "");
		lx_buf_add_json_str(out, it->valuestring);
	}
	lx_buf_adds(out, "]");
	return (0);
}

/* --- ids, secrets, signatures --- */

void
webhooks_secret_new(char out[WEBHOOKS_SECRET_SIZE])
{
	unsigned char raw[WEBHOOKS_SECRET_RAW];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, SECRET_PREFIX, sizeof(SECRET_PREFIX) - 1);
	sodium_bin2base64(out + sizeof(SECRET_PREFIX) - 1,
	    WEBHOOKS_SECRET_SIZE - (sizeof(SECRET_PREFIX) - 1), raw,
	    sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(raw, sizeof(raw));
}

void
webhooks_msg_id(char out[WEBHOOKS_MSG_ID_SIZE])
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char raw[16];
	uint64_t ms = (uint64_t)lx_now_ms();
	int i, bit, v, k;

	for (i = 0; i < 6; i++)
		raw[i] = (unsigned char)(ms >> (40 - 8 * i));
	randombytes_buf(raw + 6, 10);
	memcpy(out, "msg_", 4);
	/* 128 bits as 26 base32 digits, the first holding the top 3 bits. */
	for (i = 0; i < 26; i++) {
		v = 0;
		for (k = 0; k < 5; k++) {
			bit = i * 5 + k - 2;
			v <<= 1;
			if (bit >= 0)
				v |= (raw[bit / 8] >> (7 - bit % 8)) & 1;
		}
		out[4 + i] = b32[v];
	}
	out[30] = '\0';
}

void
webhooks_uuid7(char out[WEBHOOKS_ID_SIZE])
{
	unsigned char b[16];
	uint64_t ms = (uint64_t)lx_now_ms();
	int i;

	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	randombytes_buf(b + 6, 10);
	b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
	snprintf(out, WEBHOOKS_ID_SIZE,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

int
webhooks_sign(const char *secret, const char *msg_id, int64_t timestamp,
    const char *body, size_t len, char out[WEBHOOKS_SIG_SIZE],
    struct lx_err *err)
{
	crypto_auth_hmacsha256_state st;
	unsigned char key[SECRET_KEY_MAX + 3],
	    mac[crypto_auth_hmacsha256_BYTES];
	const char *b64 = secret;
	char ts[24];
	size_t keylen = 0;
	int ret = -1;

	if (strncmp(b64, SECRET_PREFIX, sizeof(SECRET_PREFIX) - 1) == 0)
		b64 += sizeof(SECRET_PREFIX) - 1;
	if ((sodium_base642bin(key, sizeof(key), b64, strlen(b64), NULL,
	         &keylen, NULL, sodium_base64_VARIANT_ORIGINAL)
	            != 0
	        && sodium_base642bin(key, sizeof(key), b64, strlen(b64), NULL,
	               &keylen, NULL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)
	            != 0)
	    || keylen == 0 || keylen > SECRET_KEY_MAX) {
		lx_err_set(err, 500, "invalid_secret",
		    "the endpoint's secret is not whsec_ and base64");
		goto out;
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)timestamp);
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(
	    &st, (const unsigned char *)msg_id, strlen(msg_id));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(
	    &st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, WEBHOOKS_SIG_SIZE - 3, mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&st, sizeof(st));
	return (ret);
}

int
webhooks_body(const char *type, int64_t at_ms, const char *data_json,
    struct lx_buf *out, struct lx_err *err)
{
	cJSON *d = NULL;
	char *txt = NULL;
	int ret = -1;

	if (data_json == NULL || (d = cJSON_Parse(data_json)) == NULL
	    || !cJSON_IsObject(d)
	    || (txt = cJSON_PrintUnformatted(d)) == NULL) {
		lx_err_set(err, 500, "invalid_event_data",
		    "the data of a %s event is not a JSON object", type);
		goto out;
	}
	lx_buf_adds(out, "{\"type\":");
	lx_buf_add_json_str(out, type);
	lx_buf_adds(out, ",\"timestamp\":");
	lx_buf_add_time_json(out, at_ms);
	lx_buf_adds(out, ",\"data\":");
	lx_buf_adds(out, txt);
	lx_buf_adds(out, "}");
	ret = 0;
out:
	cJSON_free(txt);
	cJSON_Delete(d);
	return (ret);
}

/* --- the response head --- */

/* The end of the line starting at p (its '\n'), or NULL. */
static const char *
line_end(const char *p, const char *end)
{
	return (memchr(p, '\n', (size_t)(end - p)));
}

/* 1 if header line p[0..n) (no CRLF) names name (case-insensitive). */
static int
header_is(
    const char *p, size_t n, const char *name, const char **val, size_t *vlen)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(p, name, k) != 0 || p[k] != ':')
		return (0);
	p += k + 1;
	n -= k + 1;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*val = p;
	*vlen = n;
	return (1);
}

int
webhooks_resp_head(const char *buf, size_t len, struct webhooks_resp_head *out)
{
	const char *p = buf, *end = buf + len, *nl, *v;
	size_t n, vlen, i;
	int64_t cl;

	memset(out, 0, sizeof(*out));
	out->content_length = -1;
	/* "HTTP/1.x SSS" then an optional reason. */
	if (len < 12)
		return (
		    memcmp(buf, "HTTP/1.", len < 7 ? len : 7) == 0 ? 0 : -1);
	if (memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1')
	    || buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' || buf[10] < '0'
	    || buf[10] > '9' || buf[11] < '0' || buf[11] > '9')
		return (-1);
	if (len > 12 && buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')
		return (-1);
	out->status =
	    (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if ((nl = line_end(p, end)) == NULL)
		return (0);
	p = nl + 1;
	for (;;) {
		if ((nl = line_end(p, end)) == NULL)
			return (0);
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
				return (-1);
		if (memchr(p, ':', n) == NULL || *p == ' ' || *p == '\t')
			return (-1); /* no obsolete line folding */
		if (header_is(p, n, "Content-Length", &v, &vlen)) {
			if (vlen == 0 || vlen > 15)
				return (-1);
			for (cl = 0, i = 0; i < vlen; i++) {
				if (v[i] < '0' || v[i] > '9')
					return (-1);
				cl = cl * 10 + (v[i] - '0');
			}
			if (out->content_length >= 0
			    && out->content_length != cl)
				return (-1);
			out->content_length = cl;
		} else if (header_is(p, n, "Transfer-Encoding", &v, &vlen)) {
			if (vlen >= 7
			    && strncasecmp(v + vlen - 7, "chunked", 7) == 0)
				out->chunked = 1;
		}
		p = nl + 1;
	}
	out->head_len = (size_t)(nl + 1 - buf);
	return (1);
}

/* The length of the valid UTF-8 sequence at s[0..n), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k, need;
	uint32_t cp;

	if (s[0] < 0x80)
		return (1);
	if ((s[0] & 0xe0) == 0xc0) {
		need = 1;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 2;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 3;
		cp = s[0] & 0x07;
	} else
		return (0);
	if (need >= n)
		return (0);
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return (0);
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800)
	    || (need == 3 && cp < 0x10000) || cp > 0x10ffff
	    || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (need + 1);
}

/* Appends the printable text of p[0..n), up to out->len == max. */
static void
add_text(struct lx_buf *out, const char *p, size_t n, size_t start, size_t max)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, k;

	while (i < n && out->len - start < max) {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			lx_buf_add(out, " ", 1);
			i++;
		} else if ((k = utf8_len(s + i, n - i)) == 0) {
			lx_buf_add(out, "?", 1);
			i++;
		} else if (out->len - start + k > max)
			break;
		else {
			lx_buf_add(out, s + i, k);
			i += k;
		}
	}
}

/* Drops the spaces ending out after start. */
static void
trim(struct lx_buf *out, size_t start)
{
	while (out->len > start && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
}

/* The value of hex digit c, -1 if it is none. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

void
webhooks_excerpt(
    const char *raw, size_t len, int chunked, size_t max, struct lx_buf *out)
{
	const char *p = raw, *end = raw + len, *nl, *q;
	size_t start = out->len, size, take;
	int d;

	if (!chunked) {
		add_text(out, raw, len, start, max);
		trim(out, start);
		return;
	}
	while (p < end && out->len - start < max) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		/* The chunk size in hex, then extensions or CRLF. */
		for (size = 0, q = p; q < nl && size <= len; q++) {
			if ((d = hexval(*q)) < 0)
				break;
			size = size * 16 + (size_t)d;
		}
		if (q == p || size == 0)
			break;
		p = nl + 1;
		take = size < (size_t)(end - p) ? size : (size_t)(end - p);
		add_text(out, p, take, start, max);
		p += take;
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
	}
	trim(out, start);
}
