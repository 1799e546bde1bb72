/*
 * Delivery of outgoing webhooks: the "webhooks.deliver" job and its HTTP
 * client. A job delivers one message to one endpoint: it signs the stored
 * body for this attempt (Standard Webhooks: the message id as webhook-id,
 * the same on every retry, the attempt's unix time as webhook-timestamp),
 * POSTs it, records the attempt, and returns -1 on anything but a 2xx so
 * the queue retries with its exponential backoff; the delivery is failed
 * once its attempts are spent, when its endpoint was disabled, or when the
 * receiver answers 410 Gone (which disables the endpoint, as the Standard
 * Webhooks guidelines advise).
 *
 * The client is a small HTTP/1.1 client over mbedTLS's sockets (TLS for
 * https, the certificate verified against the system bundle or
 * webhooks.ca_file and the host name), like the SMTP client: civetweb
 * 1.15 built with mbedTLS has no TLS client, and one client for both
 * schemes keeps one deadline (connect to response head), one destination
 * rule checked on every resolved address (an http name resolving to a
 * public address is refused unless webhooks.allow_http, a private one
 * when webhooks.allow_private is off), and one capped
 * read of the response (WEBHOOKS_BODY_KEEP body bytes, for non-2xx only).
 * Redirects are not followed (a 3xx is a failure).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cJSON.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <sodium.h>

#include "jobs.h"
#include "webhooks.h"

#ifndef LUXIMA_VERSION
#define LUXIMA_VERSION "0"
#endif

#define SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define BODY_WAIT_MS 1000 /* longest wait for an error body */

static struct webhooks_config config = {
	10000, /* timeout_ms */
	24, /* max_attempts */
	0, /* allow_http */
	1, /* allow_private */
	20, /* endpoint_limit */
	"", /* ca_file */
};

const struct webhooks_config *
webhooks_config(void)
{
	return (&config);
}

/* --- settings --- */

/* LUXIMA_WEBHOOKS_<KEY> from the environment, else webhooks.<key> from
 * the config file, else NULL. */
static const char *
setting(const struct lx_server *srv, const char *key)
{
	char env[64], conf[64];
	const char *v;
	size_t i;

	snprintf(env, sizeof(env), "LUXIMA_WEBHOOKS_%s", key);
	for (i = 0; env[i] != '\0'; i++)
		if (env[i] >= 'a' && env[i] <= 'z')
			env[i] = (char)(env[i] - 'a' + 'A');
	if ((v = getenv(env)) != NULL && *v != '\0')
		return (v);
	snprintf(conf, sizeof(conf), "webhooks.%s", key);
	v = srv != NULL ? lx_server_conf(srv, conf) : NULL;
	return (v != NULL && *v != '\0' ? v : NULL);
}

/* An integer setting within [min, max]; def (logged) otherwise. */
static int
setting_int(
    const struct lx_server *srv, const char *key, int def, int min, int max)
{
	const char *v = setting(srv, key);
	char *end;
	long n;

	if (v == NULL)
		return (def);
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < min || n > max) {
		lx_log(LX_LOG_WARN,
		    "setting webhooks.%s=%s is not an integer from %d to %d; "
		    "using %d",
		    key, v, min, max, def);
		return (def);
	}
	return ((int)n);
}

int
webhooks_init(struct lx_server *srv, struct lx_err *err)
{
	const char *v;

	config.timeout_ms = setting_int(srv, "timeout_ms", 10000, 100, 60000);
	config.max_attempts = setting_int(srv, "max_attempts", 24, 1, 50);
	config.allow_http = setting_int(srv, "allow_http", 0, 0, 1);
	/* A production instance is shared: its tenants may not make it
	 * POST into the private network unless the operator says so. */
	if ((v = getenv("LUXIMA_PROFILE")) == NULL || *v == '\0')
		v = lx_server_conf(srv, "profile");
	config.allow_private = setting_int(srv, "allow_private",
	    v != NULL && strcmp(v, "production") == 0 ? 0 : 1, 0, 1);
	config.endpoint_limit = setting_int(srv, "endpoint_limit", 20, 1, 1000);
	v = setting(srv, "ca_file");
	if (v != NULL && strlen(v) >= sizeof(config.ca_file))
		return (lx_err_set(err, 400, "bad_config",
		    "webhooks.ca_file is longer than %zu bytes",
		    sizeof(config.ca_file) - 1));
	snprintf(config.ca_file, sizeof(config.ca_file), "%s", v ? v : "");
	if (v != NULL && access(v, R_OK) != 0)
		lx_log(LX_LOG_WARN,
		    "webhooks.ca_file %s is not readable: https deliveries "
		    "will fail",
		    v);
	lx_jobs_register(WEBHOOKS_JOB, webhooks_deliver_job);
	return (0);
}

/* --- the client --- */

/* One connection to a receiver. */
struct wconn {
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int tls_on; /* 1 once the handshake is done */
	int64_t deadline; /* lx_mono_ns() by which the head must be in */
	char where[300]; /* "host:port", for errors (never the path) */
};

/* Milliseconds left before the deadline (0 when past it). */
static int
left_ms(const struct wconn *w)
{
	int64_t ms = (w->deadline - lx_mono_ns()) / 1000000;

	return (ms > 0 ? (int)ms : 0);
}

/* Connects to one address within the deadline; the socket or -1. */
static int
connect_addr(struct wconn *w, const struct addrinfo *ai, int *why)
{
	struct pollfd pfd;
	struct timeval tv;
	socklen_t len;
	int fd, soerr = 0, ms;

	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1) {
		*why = errno;
		return (-1);
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			*why = errno;
			close(fd);
			return (-1);
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		len = sizeof(soerr);
		if ((ms = left_ms(w)) == 0 || poll(&pfd, 1, ms) != 1) {
			*why = ETIMEDOUT;
			close(fd);
			return (-1);
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0
		    || soerr != 0) {
			*why = soerr != 0 ? soerr : errno;
			close(fd);
			return (-1);
		}
	}
	/* Blocking from here; reads time out through poll, writes here. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	ms = left_ms(w) > 0 ? left_ms(w) : 1;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return (fd);
}

/* The family and bytes of a socket address, for webhooks_addr_class. */
static enum webhooks_dest
classify(const struct addrinfo *ai)
{
	if (ai->ai_family == AF_INET)
		return (webhooks_addr_class(4,
		    (const unsigned char *)&(
		        (const struct sockaddr_in *)(const void *)ai->ai_addr)
		        ->sin_addr));
	if (ai->ai_family == AF_INET6)
		return (webhooks_addr_class(6,
		    ((const struct sockaddr_in6 *)(const void *)ai->ai_addr)
		        ->sin6_addr.s6_addr));
	return (WEBHOOKS_DEST_FORBIDDEN);
}

/* Resolves u's host and connects to the first address the destination
 * rule allows. */
static int
tcp_connect(struct wconn *w, const struct webhooks_url *u,
    const struct webhooks_config *cfg, struct lx_buf *why)
{
	struct addrinfo hints, *res = NULL, *ai;
	enum webhooks_dest d;
	const char *refusal = NULL;
	char port[8];
	int fd = -1, rc, refused = 0, tried = 0, e = 0, ret = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", u->port);
	if ((rc = getaddrinfo(u->host, port, &hints, &res)) != 0) {
		lx_buf_addf(
		    why, "cannot resolve %s: %s", u->host, gai_strerror(rc));
		goto out;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		d = classify(ai);
		if ((refusal = webhooks_dest_refused(
		         d, u->https, cfg->allow_http, cfg->allow_private))
		    != NULL) {
			refused++;
			continue;
		}
		tried++;
		fd = connect_addr(w, ai, &e);
	}
	if (fd == -1) {
		if (tried == 0)
			lx_buf_addf(why,
			    "%s resolves only to addresses webhooks may not "
			    "reach (%d refused; the last: %s)",
			    u->host, refused, refusal ? refusal : "none");
		else if (e == ETIMEDOUT)
			lx_buf_addf(
			    why, "timed out connecting to %s", w->where);
		else
			lx_buf_addf(why, "cannot connect to %s: %s", w->where,
			    strerror(e));
		goto out;
	}
	w->net.fd = fd;
	ret = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return (ret);
}

static int
tls_start(struct wconn *w, const struct webhooks_url *u,
    const struct webhooks_config *cfg, struct lx_buf *why)
{
	const char *ca = cfg->ca_file[0] != '\0' ? cfg->ca_file : SYSTEM_CA;
	char vinfo[256];
	uint32_t flags;
	int rc;

	if (mbedtls_x509_crt_parse_file(&w->ca, ca) < 0) {
		lx_buf_addf(why, "cannot read the CA bundle %s", ca);
		return (-1);
	}
	if (mbedtls_ctr_drbg_seed(&w->drbg, mbedtls_entropy_func, &w->entropy,
	        (const unsigned char *)"luxima-webhooks", 15)
	        != 0
	    || mbedtls_ssl_config_defaults(&w->conf, MBEDTLS_SSL_IS_CLIENT,
	           MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)
	        != 0) {
		lx_buf_addf(why, "cannot set up TLS for %s", w->where);
		return (-1);
	}
	mbedtls_ssl_conf_authmode(&w->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&w->conf, &w->ca, NULL);
	mbedtls_ssl_conf_rng(&w->conf, mbedtls_ctr_drbg_random, &w->drbg);
	mbedtls_ssl_conf_read_timeout(&w->conf, (uint32_t)left_ms(w) + 1);
	mbedtls_ssl_conf_min_version(
	    &w->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	if (mbedtls_ssl_setup(&w->ssl, &w->conf) != 0
	    || mbedtls_ssl_set_hostname(&w->ssl, u->host) != 0) {
		lx_buf_addf(why, "cannot set up TLS for %s", w->where);
		return (-1);
	}
	mbedtls_ssl_set_bio(
	    &w->ssl, &w->net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
	while ((rc = mbedtls_ssl_handshake(&w->ssl)) != 0) {
		if (rc == MBEDTLS_ERR_SSL_WANT_READ
		    || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
			flags = mbedtls_ssl_get_verify_result(&w->ssl);
			mbedtls_x509_crt_verify_info(
			    vinfo, sizeof(vinfo), "", flags);
			vinfo[strcspn(vinfo, "\n")] = '\0';
			lx_buf_addf(why,
			    "the certificate of %s is not trusted: %s",
			    w->where, vinfo);
		} else if (rc == MBEDTLS_ERR_SSL_TIMEOUT)
			lx_buf_addf(
			    why, "TLS handshake with %s timed out", w->where);
		else
			lx_buf_addf(why,
			    "TLS handshake with %s failed (mbedTLS -0x%04x)",
			    w->where, (unsigned)-rc);
		return (-1);
	}
	w->tls_on = 1;
	return (0);
}

static int
io_write(struct wconn *w, const char *p, size_t len, struct lx_buf *why)
{
	size_t off = 0;
	int n;

	while (off < len) {
		if (w->tls_on)
			n = mbedtls_ssl_write(
			    &w->ssl, (const unsigned char *)p + off, len - off);
		else
			n = mbedtls_net_send(
			    &w->net, (const unsigned char *)p + off, len - off);
		if (n == MBEDTLS_ERR_SSL_WANT_WRITE
		    || n == MBEDTLS_ERR_SSL_WANT_READ) {
			if (left_ms(w) == 0)
				break;
			continue;
		}
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off < len) {
		lx_buf_addf(
		    why, "connection to %s lost while sending", w->where);
		return (-1);
	}
	return (0);
}

/* Reads up to n bytes within ms: the count, 0 at the end of the stream,
 * -1 on an error, -2 when ms passed. */
static int
io_read(struct wconn *w, char *p, size_t n, int ms)
{
	int r;

	if (ms <= 0)
		return (-2);
	do {
		if (w->tls_on) {
			mbedtls_ssl_conf_read_timeout(&w->conf, (uint32_t)ms);
			r = mbedtls_ssl_read(&w->ssl, (unsigned char *)p, n);
		} else
			r = mbedtls_net_recv_timeout(
			    &w->net, (unsigned char *)p, n, (uint32_t)ms);
	} while (
	    r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (r == MBEDTLS_ERR_SSL_TIMEOUT)
		return (-2);
	if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return (0);
	return (r > 0 ? r : -1);
}

/* Reads the response head into buf (len bytes so far), skipping 1xx
 * interim responses; fills *h. 0, or -1 with why. */
static int
read_head(struct wconn *w, char *buf, size_t cap, size_t *len,
    struct webhooks_resp_head *h, int timeout_ms, struct lx_buf *why)
{
	int r;

	for (;;) {
		r = webhooks_resp_head(buf, *len, h);
		if (r == 1 && h->status >= 100 && h->status < 200
		    && h->status != 101) {
			memmove(buf, buf + h->head_len, *len - h->head_len);
			*len -= h->head_len;
			continue;
		}
		if (r == 1)
			return (0);
		if (r == -1) {
			lx_buf_addf(
			    why, "%s did not answer in HTTP/1.x", w->where);
			return (-1);
		}
		if (*len >= WEBHOOKS_HEAD_MAX) {
			lx_buf_addf(why,
			    "%s sent a response head over %d bytes", w->where,
			    WEBHOOKS_HEAD_MAX);
			return (-1);
		}
		r = io_read(w, buf + *len, cap - *len, left_ms(w));
		if (r == -2) {
			lx_buf_addf(why, "no response from %s within %d ms",
			    w->where, timeout_ms);
			return (-1);
		}
		if (r <= 0) {
			lx_buf_addf(why,
			    "%s closed the connection without a "
			    "response",
			    w->where);
			return (-1);
		}
		*len += (size_t)r;
	}
}

/* Reads what the body of a non-2xx response allows into buf after the
 * head and appends its excerpt to why. */
static void
read_excerpt(struct wconn *w, char *buf, size_t cap, size_t len,
    const struct webhooks_resp_head *h, struct lx_buf *why)
{
	size_t want = h->head_len + WEBHOOKS_BODY_KEEP;
	int64_t until = lx_mono_ns() + (int64_t)BODY_WAIT_MS * 1000000;
	int r, ms;

	if (want > cap)
		want = cap;
	if (h->content_length >= 0 && !h->chunked
	    && (int64_t)(want - h->head_len) > h->content_length)
		want = h->head_len + (size_t)h->content_length;
	while (len < want) {
		ms = (int)((until - lx_mono_ns()) / 1000000);
		if (ms > left_ms(w) && left_ms(w) > 0)
			ms = left_ms(w);
		if ((r = io_read(w, buf + len, want - len, ms)) <= 0)
			break;
		len += (size_t)r;
	}
	if (len > h->head_len) {
		lx_buf_adds(why, ": ");
		webhooks_excerpt(buf + h->head_len, len - h->head_len,
		    h->chunked, WEBHOOKS_BODY_KEEP, why);
	}
}

static void
wconn_free(struct wconn *w)
{
	if (w == NULL)
		return;
	if (w->tls_on)
		(void)mbedtls_ssl_close_notify(&w->ssl);
	mbedtls_ssl_free(&w->ssl);
	mbedtls_ssl_config_free(&w->conf);
	mbedtls_x509_crt_free(&w->ca);
	mbedtls_ctr_drbg_free(&w->drbg);
	mbedtls_entropy_free(&w->entropy);
	mbedtls_net_free(&w->net);
	lx_free(w);
}

int
webhooks_post(const struct webhooks_config *cfg, const char *url,
    const char *headers, const char *body, size_t len,
    struct webhooks_result *res)
{
	struct webhooks_resp_head h;
	struct webhooks_url u;
	struct wconn *w = NULL;
	struct lx_err e;
	struct lx_buf req;
	int64_t start = lx_mono_ns();
	size_t cap = WEBHOOKS_HEAD_MAX + WEBHOOKS_BODY_KEEP, got = 0;
	char *buf = NULL;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	lx_buf_init(&res->error);
	lx_buf_init(&req);
	if (webhooks_url_parse(url, &u, &e) == -1
	    || webhooks_url_allowed(&u, cfg->allow_http, cfg->allow_private, &e)
	        == -1) {
		lx_buf_adds(&res->error, e.detail);
		goto out;
	}
	w = lx_calloc(1, sizeof(*w));
	mbedtls_net_init(&w->net);
	mbedtls_ssl_init(&w->ssl);
	mbedtls_ssl_config_init(&w->conf);
	mbedtls_x509_crt_init(&w->ca);
	mbedtls_entropy_init(&w->entropy);
	mbedtls_ctr_drbg_init(&w->drbg);
	w->deadline = start + (int64_t)cfg->timeout_ms * 1000000;
	snprintf(w->where, sizeof(w->where),
	    u.host_ip == 6 ? "[%s]:%d" : "%s:%d", u.host, u.port);
	if (tcp_connect(w, &u, cfg, &res->error) == -1
	    || (u.https && tls_start(w, &u, cfg, &res->error) == -1))
		goto out;
	lx_buf_addf(&req, "POST %s HTTP/1.1\r\nHost: ", u.target);
	lx_buf_addf(&req, u.host_ip == 6 ? "[%s]" : "%s", u.host);
	if (u.port_explicit)
		lx_buf_addf(&req, ":%d", u.port);
	lx_buf_addf(&req,
	    "\r\nUser-Agent: Luxima-Webhooks/" LUXIMA_VERSION "\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n%s\r\n",
	    len, headers != NULL ? headers : "");
	lx_buf_add(&req, body, len);
	if (io_write(w, req.data, req.len, &res->error) == -1)
		goto out;
	buf = lx_malloc(cap);
	if (read_head(w, buf, cap, &got, &h, cfg->timeout_ms, &res->error)
	    == -1)
		goto out;
	res->status = h.status;
	res->duration_ms = (lx_mono_ns() - start) / 1000000;
	if (h.status >= 200 && h.status <= 299) {
		ret = 0;
		goto out;
	}
	lx_buf_addf(&res->error, "HTTP %d", h.status);
	read_excerpt(w, buf, cap, got, &h, &res->error);
out:
	if (res->duration_ms == 0)
		res->duration_ms = (lx_mono_ns() - start) / 1000000;
	lx_free(buf);
	lx_buf_cleanup(&req);
	wconn_free(w);
	return (ret);
}

/* --- the job --- */

/* Parses the job payload; 0, or -1 when it names no delivery. */
static int
job_args(const char *payload_json, char id[WEBHOOKS_ID_SIZE], int *max)
{
	const cJSON *d, *m;
	cJSON *p;
	int ret = -1;

	if ((p = cJSON_Parse(payload_json)) == NULL)
		return (-1);
	d = cJSON_GetObjectItemCaseSensitive(p, "delivery_id");
	m = cJSON_GetObjectItemCaseSensitive(p, "max_attempts");
	if (cJSON_IsString(d) && strlen(d->valuestring) < WEBHOOKS_ID_SIZE) {
		snprintf(id, WEBHOOKS_ID_SIZE, "%s", d->valuestring);
		*max = cJSON_IsNumber(m) && m->valuedouble >= 1
		        && m->valuedouble <= 1000
		    ? (int)m->valuedouble
		    : config.max_attempts;
		ret = 0;
	}
	cJSON_Delete(p);
	return (ret);
}

/* The delivery ends without an attempt (why is kept as its error). */
static int
stop(struct lx_conn *c, const struct webhooks_job_row *r, const char *why,
    struct lx_err *err)
{
	lx_log(LX_LOG_INFO, "webhooks: delivery %s to endpoint %s stopped: %s",
	    r->delivery_id, r->endpoint_id, why);
	return (
	    webhooks_store_attempt(c, r, 0, 0, 0, 0, why, "failed", 0, err));
}

int
webhooks_deliver_job(
    struct lx_conn *c, const char *payload_json, struct lx_err *err)
{
	struct webhooks_job_row r;
	struct webhooks_result res;
	char id[WEBHOOKS_ID_SIZE], sig[WEBHOOKS_SIG_SIZE], hdr[256];
	const char *state, *why = NULL;
	int64_t ts, at;
	int max, rc, last, gone, ret = -1;

	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	lx_buf_init(&res.error);
	if (job_args(payload_json, id, &max) == -1) {
		/* Retrying cannot fix it: log, drop. */
		lx_log(LX_LOG_ERROR, "webhooks: a job without a delivery id");
		ret = 0;
		goto out;
	}
	if (webhooks_store_job_row(c, id, &r, err) == -1) {
		if (err->status == 404) {
			ret = 0; /* its endpoint was deleted */
			lx_err_clear(err);
		}
		goto out;
	}
	if (strcmp(r.status, "pending") != 0) {
		ret = 0; /* done already: a rerun after a crash */
		goto out;
	}
	if (strcmp(r.tenant_status, "deleted") == 0)
		why = "the tenant was deleted";
	else if (strcmp(r.endpoint_status, "enabled") != 0)
		why = "the endpoint was disabled";
	else if (r.attempts >= max)
		why = "no attempts left";
	if (why != NULL) {
		ret = stop(c, &r, why, err);
		goto out;
	}
	ts = lx_now_ms() / 1000;
	if (webhooks_sign(
	        r.secret, r.msg_id, ts, r.payload, strlen(r.payload), sig, err)
	    == -1)
		goto out;
	snprintf(hdr, sizeof(hdr),
	    "webhook-id: %s\r\nwebhook-timestamp: %lld\r\n"
	    "webhook-signature: %s\r\n",
	    r.msg_id, (long long)ts, sig);
	at = lx_now_ms();
	rc = webhooks_post(
	    &config, r.url, hdr, r.payload, strlen(r.payload), &res);
	last = r.attempts + 1 >= max;
	gone = res.status == 410;
	state = rc == 0 ? "succeeded" : gone || last ? "failed" : "pending";
	if (webhooks_store_attempt(c, &r, 1, at, res.status, res.duration_ms,
	        rc == 0 ? NULL : res.error.data, state, gone, err)
	    == -1)
		goto out;
	if (rc == 0) {
		lx_log(LX_LOG_INFO,
		    "webhooks: delivered %s to endpoint %s (HTTP %d, "
		    "attempt %d)",
		    r.msg_id, r.endpoint_id, res.status, r.attempts + 1);
		ret = 0;
		goto out;
	}
	lx_log(LX_LOG_WARN,
	    "webhooks: delivery %s to endpoint %s failed (attempt %d of %d)%s: "
	    "%.300s",
	    r.delivery_id, r.endpoint_id, r.attempts + 1, max,
	    gone ? ", endpoint disabled" : "", res.error.data);
	if (gone) {
		ret = 0; /* the receiver wants no more */
		goto out;
	}
	lx_err_set(err, 502, "webhook_failed", "%.400s", res.error.data);
out:
	sodium_memzero(sig, sizeof(sig));
	webhooks_job_row_cleanup(&r);
	lx_buf_cleanup(&res.error);
	return (ret);
}
