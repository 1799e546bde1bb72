/*
 * libFuzzer target for the parsers of outgoing webhooks that read what
 * others wrote (modules/webhooks/webhooks.c): the HTTP response head a
 * receiver sends (webhooks_resp_head), the excerpt of its body kept for
 * the delivery log (webhooks_excerpt, plain and chunked), and an endpoint
 * URL a tenant registers (webhooks_url_parse, webhooks_url_allowed). Any
 * input must give a consistent answer, never a crash: a complete head lies
 * within the input with a status 100..599, an excerpt holds no control
 * character and stays within its cap, a parsed URL has a host, a port and
 * a target starting with '/'.
 */
#include <stdlib.h>
#include <string.h>

#include "webhooks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_head(const char *p, size_t n)
{
	struct webhooks_resp_head h;
	int rc = webhooks_resp_head(p, n, &h);

	if (rc < -1 || rc > 1)
		abort();
	if (rc == 1
	    && (h.head_len == 0 || h.head_len > n || h.status < 100
	        || h.status > 599 || h.content_length < -1))
		abort();
}

static void
check_excerpt(const char *p, size_t n, int chunked)
{
	struct lx_buf b;
	size_t i;

	lx_buf_init(&b);
	webhooks_excerpt(p, n, chunked, 64, &b);
	if (b.len > 64)
		abort();
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
			abort();
	lx_buf_cleanup(&b);
}

static void
check_url(const char *s)
{
	struct webhooks_url u;
	struct lx_err err;

	if (webhooks_url_parse(s, &u, &err) == -1) {
		if (err.status != 422)
			abort();
		return;
	}
	if (u.host[0] == '\0' || u.port < 1 || u.port > 65535
	    || u.target[0] != '/' || strlen(s) > WEBHOOKS_URL_MAX)
		abort();
	(void)webhooks_url_allowed(&u, 0, 1, &err);
	(void)webhooks_url_allowed(&u, 1, 0, &err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	check_head((const char *)data, size);
	check_excerpt((const char *)data, size, 0);
	check_excerpt((const char *)data, size, 1);
	s = malloc(size + 1);
	if (s == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	check_url(s);
	free(s);
	return (0);
}
