/*
 * Delivery of outgoing webhooks: the "webhooks.deliver" job and the HTTP
 * client it shares with the edge functions' http.fetch. A job delivers one
 * message to one endpoint: it signs the stored body for this attempt
 * (Standard Webhooks: the message id as webhook-id, the same on every
 * retry, the attempt's unix time as webhook-timestamp), POSTs it, records
 * the attempt, and returns -1 on anything but a 2xx so the queue retries
 * with its exponential backoff; the delivery is failed once its attempts
 * are spent, when its endpoint was disabled, or when the receiver answers
 * 410 Gone (which disables the endpoint, as the Standard Webhooks
 * guidelines advise).
 *
 * The client (webhooks_http_request) is a small HTTP/1.1 client over
 * non-blocking sockets and mbedTLS (TLS for https, the certificate verified
 * against the system bundle or a given CA file and the host name), like
 * the SMTP client: civetweb 1.15 built with mbedTLS has no TLS client. One
 * deadline covers resolving (in a helper thread), connecting, the
 * handshake, sending and reading; a destination rule chosen by the caller
 * is checked on every resolved address before connecting (webhooks: an
 * http name resolving to a public address is refused unless
 * webhooks.allow_http, a private one when webhooks.allow_private is off;
 * http.fetch: only forbidden classes, its allow-list having vetted the
 * host); the response is read whole and bounded (Content-Length, chunked,
 * or until close). Redirects are not followed (for webhooks a 3xx is a
 * failure). webhooks_post reads WEBHOOKS_BODY_KEEP body bytes of a non-2xx
 * response for its error, waiting at most BODY_WAIT_MS for them.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
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
#define READ_CHUNK 16384 /* bytes asked of one read */
#define WRITE_CHUNK 16384 /* bytes given to one write */
#define CHUNK_LINE_MAX 4096 /* bytes of a chunk-size or trailer line */

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
	char conf[64];

	snprintf(conf, sizeof(conf), "webhooks.%s", key);
	return (lx_server_setting(srv, conf));
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

/* One connection to a server. */
struct wconn {
	int fd; /* the socket (non-blocking), -1: none */
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int tls_on; /* 1 once the handshake is done */
	int64_t deadline; /* lx_mono_ns() by which the current step ends */
	const char *who; /* the client's name, for errors */
	char where[WEBHOOKS_HOST_MAX + 10]; /* "host:port", for errors
					     * (never the path) */
};

/* Milliseconds left before w's deadline, rounded up (0 once past it). */
static int
left_ms(const struct wconn *w)
{
	int64_t ns = w->deadline - lx_mono_ns();

	if (ns <= 0)
		return (0);
	if (ns / 1000000 >= INT_MAX)
		return (INT_MAX);
	return ((int)((ns + 999999) / 1000000));
}

/* Waits until fd is ready for events: 1, 0 when the deadline passed, -1
 * on a poll error. */
static int
wait_fd(const struct wconn *w, int fd, short events)
{
	struct pollfd pfd;
	int ms, r;

	for (;;) {
		if ((ms = left_ms(w)) == 0)
			return (0);
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		if ((r = poll(&pfd, 1, ms)) > 0)
			return (1);
		if (r == -1 && errno != EINTR)
			return (-1);
	}
}

/* mbedTLS's send callback (and the plain one): waits for room until the
 * deadline; never raises SIGPIPE. */
static int
bio_send(void *ctx, const unsigned char *p, size_t n)
{
	struct wconn *w = ctx;
	ssize_t k;
	int r;

	for (;;) {
		if ((k = send(w->fd, p, n, MSG_NOSIGNAL)) >= 0)
			return ((int)k);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return (errno == EPIPE || errno == ECONNRESET
			        ? MBEDTLS_ERR_NET_CONN_RESET
			        : MBEDTLS_ERR_NET_SEND_FAILED);
		if ((r = wait_fd(w, w->fd, POLLOUT)) == 0)
			return (MBEDTLS_ERR_SSL_TIMEOUT);
		if (r == -1)
			return (MBEDTLS_ERR_NET_SEND_FAILED);
	}
}

/* mbedTLS's receive callback (and the plain one): waits for bytes until
 * w's deadline, whatever timeout mbedTLS passes; poll, unlike
 * mbedtls_net_recv_timeout's select, takes any descriptor number. */
static int
bio_recv(void *ctx, unsigned char *p, size_t n, uint32_t timeout)
{
	struct wconn *w = ctx;
	ssize_t k;
	int r;

	(void)timeout;
	for (;;) {
		if ((k = recv(w->fd, p, n, 0)) >= 0)
			return ((int)k);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return (errno == ECONNRESET
			        ? MBEDTLS_ERR_NET_CONN_RESET
			        : MBEDTLS_ERR_NET_RECV_FAILED);
		if ((r = wait_fd(w, w->fd, POLLIN)) == 0)
			return (MBEDTLS_ERR_SSL_TIMEOUT);
		if (r == -1)
			return (MBEDTLS_ERR_NET_RECV_FAILED);
	}
}

/*
 * A name lookup handed to a helper thread, so that its caller can stop
 * waiting at its deadline (getaddrinfo takes none); whichever of the two
 * lets go last frees it.
 */
struct lookup {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* signalled when done */
	int refs; /* holders: the caller and the thread */
	int done; /* 1 once getaddrinfo returned */
	int rc; /* its result */
	struct addrinfo *res; /* its addresses, until the caller takes them */
	char host[WEBHOOKS_HOST_MAX + 1];
	char port[8];
};

/* Drops one hold of l, whose mutex the caller holds. */
static void
lookup_release(struct lookup *l)
{
	int last = --l->refs == 0;

	pthread_mutex_unlock(&l->mu);
	if (!last)
		return;
	if (l->res != NULL)
		freeaddrinfo(l->res);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	lx_free(l);
}

static int
lookup_do(
    const char *host, const char *port, int numeric, struct addrinfo **res)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0);
	return (getaddrinfo(host, port, &hints, res));
}

static void *
lookup_run(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo *res = NULL;
	int rc;

	rc = lookup_do(l->host, l->port, 0, &res);
	pthread_mutex_lock(&l->mu);
	l->rc = rc;
	l->res = res;
	l->done = 1;
	pthread_cond_signal(&l->cv);
	lookup_release(l);
	return (NULL);
}

/* Starts looking host:port up in a helper thread; NULL when no thread
 * could be made. Wait with lookup_wait. */
static struct lookup *
lookup_start(const char *host, const char *port)
{
	struct lookup *l = lx_calloc(1, sizeof(*l));
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t t;
	int rc;

	snprintf(l->host, sizeof(l->host), "%s", host);
	snprintf(l->port, sizeof(l->port), "%s", port);
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	l->refs = 2;
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &ta, lookup_run, l);
	pthread_attr_destroy(&ta);
	if (rc != 0) {
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mu);
		lx_free(l);
		return (NULL);
	}
	return (l);
}

/* Waits for l until deadline (lx_mono_ns) and lets go of it: getaddrinfo's
 * result with *res, or EAI_AGAIN with *timed_out set. */
static int
lookup_wait(
    struct lookup *l, int64_t deadline, struct addrinfo **res, int *timed_out)
{
	struct timespec ts;
	int rc = 0;

	ts.tv_sec = (time_t)(deadline / 1000000000);
	ts.tv_nsec = (long)(deadline % 1000000000);
	pthread_mutex_lock(&l->mu);
	while (!l->done && rc == 0) /* until done, ETIMEDOUT or an error */
		rc = pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	*timed_out = !l->done;
	rc = l->done ? l->rc : EAI_AGAIN;
	*res = l->res;
	l->res = NULL;
	lookup_release(l);
	return (rc);
}

/* Resolves u's host by w's deadline into *res (freeaddrinfo it): 0, or -1
 * with err. Names are looked up in a helper thread (getaddrinfo takes no
 * deadline), address literals here. */
static int
resolve(struct wconn *w, const struct webhooks_url *u, struct addrinfo **res,
    struct lx_err *err)
{
	struct lookup *l = NULL;
	char port[8];
	int rc, timed_out = 0;

	*res = NULL;
	snprintf(port, sizeof(port), "%d", u->port);
	if (u->host_ip == 0 && (l = lookup_start(u->host, port)) != NULL)
		rc = lookup_wait(l, w->deadline, res, &timed_out);
	else /* a literal, or no thread to spare */
		rc = lookup_do(u->host, port, u->host_ip != 0, res);
	if (timed_out)
		return (lx_err_set(err, 504, "http_timeout",
		    "timed out resolving %s", u->host));
	if (rc != 0)
		return (lx_err_set(err, 502, "http_failed",
		    "cannot resolve %s: %s", u->host, gai_strerror(rc)));
	return (0);
}

/* Connects to one address by the deadline; the socket (non-blocking) or
 * -1 with *why an errno (ETIMEDOUT when the deadline passed). */
static int
connect_addr(struct wconn *w, const struct addrinfo *ai, int *why)
{
	socklen_t len;
	int fd, soerr = 0, r;

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
		if ((r = wait_fd(w, fd, POLLOUT)) != 1) {
			*why = r == 0 ? ETIMEDOUT : errno;
			close(fd);
			return (-1);
		}
		len = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0
		    || soerr != 0) {
			*why = soerr != 0 ? soerr : errno;
			close(fd);
			return (-1);
		}
	}
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

/* Why o's destination rule refuses an address of class d; NULL if not. */
static const char *
dest_refused(const struct webhooks_http_opts *o, const struct webhooks_url *u,
    enum webhooks_dest d)
{
	if (o->dest == WEBHOOKS_HTTP_DEST_LISTED)
		return (d == WEBHOOKS_DEST_FORBIDDEN
		        ? webhooks_dest_refused(d, 1, 1, 1)
		        : NULL);
	return (webhooks_dest_refused(
	    d, u->https, o->allow_http, o->allow_private));
}

/* Resolves u's host and connects to the first address the destination
 * rule allows. */
static int
tcp_connect(struct wconn *w, const struct webhooks_url *u,
    const struct webhooks_http_opts *o, struct lx_err *err)
{
	struct addrinfo *res = NULL, *ai;
	const char *refusal = NULL;
	int fd = -1, refused = 0, tried = 0, e = 0, ret = -1;

	if (resolve(w, u, &res, err) == -1)
		goto out;
	for (ai = res; ai != NULL && fd == -1 && e != ETIMEDOUT;
	     ai = ai->ai_next) {
		if ((refusal = dest_refused(o, u, classify(ai))) != NULL) {
			refused++;
			continue;
		}
		tried++;
		fd = connect_addr(w, ai, &e);
	}
	if (fd == -1) {
		if (tried == 0)
			lx_err_set(err, 403, "destination_refused",
			    "%s resolves only to addresses %s may not reach "
			    "(%d refused; the last: %s)",
			    u->host, w->who, refused,
			    refusal ? refusal : "none");
		else if (e == ETIMEDOUT)
			lx_err_set(err, 504, "http_timeout",
			    "timed out connecting to %s", w->where);
		else
			lx_err_set(err, 502, "http_failed",
			    "cannot connect to %s: %s", w->where, strerror(e));
		goto out;
	}
	w->fd = fd;
	ret = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return (ret);
}

static int
tls_start(struct wconn *w, const struct webhooks_url *u, const char *ca_file,
    struct lx_err *err)
{
	const char *ca =
	    ca_file != NULL && *ca_file != '\0' ? ca_file : SYSTEM_CA;
	char vinfo[256];
	uint32_t flags;
	int rc;

	if (mbedtls_x509_crt_parse_file(&w->ca, ca) < 0)
		return (lx_err_set(err, 502, "http_failed",
		    "cannot read the CA bundle %s", ca));
	if (mbedtls_ctr_drbg_seed(&w->drbg, mbedtls_entropy_func, &w->entropy,
	        (const unsigned char *)"luxima-http", 11)
	        != 0
	    || mbedtls_ssl_config_defaults(&w->conf, MBEDTLS_SSL_IS_CLIENT,
	           MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)
	        != 0)
		return (lx_err_set(err, 502, "http_failed",
		    "cannot set up TLS for %s", w->where));
	mbedtls_ssl_conf_authmode(&w->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&w->conf, &w->ca, NULL);
	mbedtls_ssl_conf_rng(&w->conf, mbedtls_ctr_drbg_random, &w->drbg);
	mbedtls_ssl_conf_min_version(
	    &w->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	if (mbedtls_ssl_setup(&w->ssl, &w->conf) != 0
	    || mbedtls_ssl_set_hostname(&w->ssl, u->host) != 0)
		return (lx_err_set(err, 502, "http_failed",
		    "cannot set up TLS for %s", w->where));
	mbedtls_ssl_set_bio(&w->ssl, w, bio_send, NULL, bio_recv);
	while ((rc = mbedtls_ssl_handshake(&w->ssl)) != 0) {
		if (rc == MBEDTLS_ERR_SSL_WANT_READ
		    || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
			flags = mbedtls_ssl_get_verify_result(&w->ssl);
			mbedtls_x509_crt_verify_info(
			    vinfo, sizeof(vinfo), "", flags);
			vinfo[strcspn(vinfo, "\n")] = '\0';
			return (lx_err_set(err, 502, "http_failed",
			    "the certificate of %s is not trusted: %s",
			    w->where, vinfo));
		}
		if (rc == MBEDTLS_ERR_SSL_TIMEOUT)
			return (lx_err_set(err, 504, "http_timeout",
			    "TLS handshake with %s timed out", w->where));
		return (lx_err_set(err, 502, "http_failed",
		    "TLS handshake with %s failed (mbedTLS -0x%04x)", w->where,
		    (unsigned)-rc));
	}
	w->tls_on = 1;
	return (0);
}

static int
io_write(struct wconn *w, const char *p, size_t len, struct lx_err *err)
{
	size_t off = 0, n;
	int r = 0;

	while (off < len) {
		n = len - off < WRITE_CHUNK ? len - off : WRITE_CHUNK;
		if (w->tls_on)
			r = mbedtls_ssl_write(
			    &w->ssl, (const unsigned char *)p + off, n);
		else
			r = bio_send(w, (const unsigned char *)p + off, n);
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE
		    || r == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	if (off == len)
		return (0);
	if (r == MBEDTLS_ERR_SSL_TIMEOUT || left_ms(w) == 0)
		return (lx_err_set(err, 504, "http_timeout",
		    "timed out sending to %s", w->where));
	return (lx_err_set(err, 502, "http_failed",
	    "connection to %s lost while sending", w->where));
}

/* Reads up to n bytes by w's deadline: the count, 0 at the end of the
 * stream, -1 on an error, -2 when the deadline passed. */
static int
io_read(struct wconn *w, char *p, size_t n)
{
	int r;

	if (left_ms(w) == 0)
		return (-2);
	do {
		if (w->tls_on)
			r = mbedtls_ssl_read(&w->ssl, (unsigned char *)p, n);
		else
			r = bio_recv(w, (unsigned char *)p, n, 0);
	} while (
	    r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (r == MBEDTLS_ERR_SSL_TIMEOUT)
		return (-2);
	/* A TLS peer closing without close_notify ends the stream too, as
	 * in every HTTP client: the framing (length, chunks) tells. */
	if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY
	    || r == MBEDTLS_ERR_SSL_CONN_EOF)
		return (0);
	return (r > 0 ? r : -1);
}

/* Reads the response head into buf (*len bytes so far), skipping 1xx
 * interim responses; fills *h. 0, or -1 with err. */
static int
read_head(struct wconn *w, char *buf, size_t cap, size_t *len,
    struct webhooks_resp_head *h, int64_t start, struct lx_err *err)
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
		if (r == -1)
			return (lx_err_set(err, 502, "http_failed",
			    "%s did not answer in HTTP/1.x", w->where));
		if (*len >= WEBHOOKS_HEAD_MAX)
			return (lx_err_set(err, 502, "http_failed",
			    "%s sent a response head over %d bytes", w->where,
			    WEBHOOKS_HEAD_MAX));
		r = io_read(w, buf + *len, cap - *len);
		if (r == -2)
			return (lx_err_set(err, 504, "http_timeout",
			    "no response from %s within %lld ms", w->where,
			    (long long)((w->deadline - start + 500000)
			        / 1000000)));
		if (r <= 0)
			return (lx_err_set(err, 502, "http_failed",
			    "%s closed the connection without a response",
			    w->where));
		*len += (size_t)r;
	}
}

/* Where a body reader is. */
enum body_state {
	B_LENGTH, /* left bytes of Content-Length to come */
	B_CLOSE, /* bytes until the server closes */
	B_SIZE, /* a chunk-size line */
	B_DATA, /* left bytes of a chunk */
	B_DATA_END, /* the CRLF after a chunk */
	B_TRAILER, /* trailer lines up to an empty one */
	B_DONE,
};

/* A body being read. */
struct body {
	struct lx_buf *out; /* the body so far */
	size_t max; /* bytes kept at most */
	int over; /* 1: more came than max */
	enum body_state state;
	uint64_t left; /* bytes of Content-Length or of the chunk left */
	char line[CHUNK_LINE_MAX]; /* a chunk-size or trailer line */
	size_t nline; /* bytes in line */
};

static void
body_take(struct body *b, const char *p, size_t n)
{
	if (n > b->max - b->out->len) {
		n = b->max - b->out->len;
		b->over = 1;
	}
	if (n > 0)
		lx_buf_add(b->out, p, n);
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

/* Acts on the complete line in b->line: 0, or -1 when it is malformed. */
static int
body_line(struct body *b)
{
	size_t n = b->nline - 1, i, digits;
	uint64_t size = 0;
	int d;

	if (n > 0 && b->line[n - 1] == '\r')
		n--;
	switch (b->state) {
	case B_SIZE:
		for (i = 0; i < n && (d = hexval(b->line[i])) >= 0; i++)
			size = size * 16 + (uint64_t)d;
		digits = i;
		while (i < n && (b->line[i] == ' ' || b->line[i] == '\t'))
			i++;
		if (digits == 0 || digits > 15 || (i < n && b->line[i] != ';'))
			return (-1);
		b->left = size;
		b->state = size == 0 ? B_TRAILER : B_DATA;
		return (0);
	case B_DATA_END:
		if (n != 0)
			return (-1);
		b->state = B_SIZE;
		return (0);
	default: /* B_TRAILER: fields are skipped */
		if (n == 0)
			b->state = B_DONE;
		return (0);
	}
}

/* Feeds p[0..n) of the response to b: 0, or -1 on bad chunking. */
static int
body_feed(struct body *b, const char *p, size_t n)
{
	const char *nl;
	size_t k;

	while (n > 0 && b->state != B_DONE && !b->over) {
		switch (b->state) {
		case B_CLOSE:
			k = n;
			body_take(b, p, k);
			break;
		case B_LENGTH:
		case B_DATA:
			k = n < b->left ? n : (size_t)b->left;
			body_take(b, p, k);
			if ((b->left -= k) == 0)
				b->state =
				    b->state == B_LENGTH ? B_DONE : B_DATA_END;
			break;
		default:
			nl = memchr(p, '\n', n);
			k = nl != NULL ? (size_t)(nl - p) + 1 : n;
			if (b->nline + k > sizeof(b->line))
				return (-1);
			memcpy(b->line + b->nline, p, k);
			b->nline += k;
			if (nl != NULL) {
				if (body_line(b) == -1)
					return (-1);
				b->nline = 0;
			}
			break;
		}
		p += k;
		n -= k;
	}
	return (0);
}

/*
 * Reads the body of the response with head h, whose first bytes
 * pre[0..npre) came with the head, into out->body, reading into
 * buf[0..cap) (pre may lie in it: it is consumed first). 0, or -1 with err
 * (see webhooks_http_request).
 */
static int
read_body(struct wconn *w, const struct webhooks_http_opts *o,
    const struct webhooks_resp_head *h, const char *pre, size_t npre,
    size_t max, char *buf, size_t cap, struct webhooks_http_resp *out,
    struct lx_err *err)
{
	struct body b;
	int64_t until;
	int r = 1, bad = 0;

	memset(&b, 0, sizeof(b));
	b.out = &out->body;
	b.max = max;
	if (h->chunked)
		b.state = B_SIZE;
	else if (h->content_length >= 0) {
		b.left = (uint64_t)h->content_length;
		b.state = b.left == 0 ? B_DONE : B_LENGTH;
		if (b.left > max && !o->partial_ok)
			b.over = 1; /* no need to read it */
	} else
		b.state = B_CLOSE;
	if (o->body_wait_ms > 0) {
		until = lx_mono_ns() + (int64_t)o->body_wait_ms * 1000000;
		if (until < w->deadline)
			w->deadline = until;
	}
	bad = body_feed(&b, pre, npre) == -1;
	while (!bad && b.state != B_DONE && !b.over) {
		if ((r = io_read(w, buf, cap)) > 0)
			bad = body_feed(&b, buf, (size_t)r) == -1;
		else if (r == 0
		    && (b.state == B_CLOSE
		        || (b.state == B_TRAILER && b.nline == 0)))
			b.state = B_DONE; /* closed after a complete body */
		else
			break;
	}
	if (b.state == B_DONE && !b.over)
		return (0);
	if (o->partial_ok) {
		out->partial = 1;
		return (0);
	}
	if (b.over)
		return (lx_err_set(err, 502, "http_too_large",
		    "the response body from %s is over %zu bytes", w->where,
		    max));
	if (bad)
		return (lx_err_set(err, 502, "http_failed",
		    "%s sent a malformed chunked body", w->where));
	if (r == -2)
		return (lx_err_set(err, 504, "http_timeout",
		    "the response body from %s did not come in time",
		    w->where));
	return (lx_err_set(err, 502, "http_failed",
	    "%s closed the connection before the body was complete", w->where));
}

static struct wconn *
wconn_new(const struct webhooks_http_opts *o, const struct webhooks_url *u)
{
	struct wconn *w = lx_calloc(1, sizeof(*w));

	w->fd = -1;
	mbedtls_ssl_init(&w->ssl);
	mbedtls_ssl_config_init(&w->conf);
	mbedtls_x509_crt_init(&w->ca);
	mbedtls_entropy_init(&w->entropy);
	mbedtls_ctr_drbg_init(&w->drbg);
	w->deadline = o->deadline_ns;
	w->who = o->who != NULL ? o->who : "this client";
	snprintf(w->where, sizeof(w->where),
	    u->host_ip == 6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
	return (w);
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
	if (w->fd != -1)
		close(w->fd);
	lx_free(w);
}

/* 1 if m is an upper-case token of 1..16 letters. */
static int
method_ok(const char *m)
{
	size_t i;

	for (i = 0; m != NULL && m[i] >= 'A' && m[i] <= 'Z'; i++)
		;
	return (m != NULL && i > 0 && i <= 16 && m[i] == '\0');
}

/* 1 if a response to method with status has no body. */
static int
no_body(const char *method, int status)
{
	return (strcmp(method, "HEAD") == 0 || status < 200 || status == 204
	    || status == 304);
}

void
webhooks_http_resp_cleanup(struct webhooks_http_resp *r)
{
	if (r == NULL)
		return;
	lx_buf_cleanup(&r->head);
	lx_buf_cleanup(&r->body);
}

int
webhooks_http_request(const struct webhooks_http_opts *o, const char *method,
    const char *url, const char *headers, const char *body, size_t len,
    size_t max_body, struct webhooks_http_resp *out, struct lx_err *err)
{
	struct webhooks_resp_head h;
	struct webhooks_url u;
	struct wconn *w = NULL;
	struct lx_buf req;
	int64_t start = lx_mono_ns();
	size_t cap = WEBHOOKS_HEAD_MAX + READ_CHUNK, got = 0, n;
	char *buf = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	lx_buf_init(&out->head);
	lx_buf_init(&out->body);
	lx_buf_init(&req);
	if (webhooks_url_parse(url, &u, err) == -1)
		goto out;
	if (!method_ok(method)) {
		lx_err_set(err, 500, "http_failed", "invalid method");
		goto out;
	}
	w = wconn_new(o, &u);
	if (left_ms(w) == 0) {
		lx_err_set(err, 504, "http_timeout",
		    "the deadline passed before reaching %s", w->where);
		goto out;
	}
	if (tcp_connect(w, &u, o, err) == -1
	    || (u.https && tls_start(w, &u, o->ca_file, err) == -1))
		goto out;
	lx_buf_addf(&req, "%s %s HTTP/1.1\r\nHost: ", method, u.target);
	lx_buf_addf(&req, u.host_ip == 6 ? "[%s]" : "%s", u.host);
	if (u.port_explicit)
		lx_buf_addf(&req, ":%d", u.port);
	lx_buf_adds(&req, "\r\n");
	if (o->user_agent != NULL)
		lx_buf_addf(&req, "User-Agent: %s\r\n", o->user_agent);
	if (len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0
	    || strcmp(method, "PATCH") == 0)
		lx_buf_addf(&req, "Content-Length: %zu\r\n", len);
	lx_buf_addf(&req, "Connection: close\r\n%s\r\n",
	    headers != NULL ? headers : "");
	if (io_write(w, req.data, req.len, err) == -1
	    || (len > 0 && io_write(w, body, len, err) == -1))
		goto out;
	buf = lx_malloc(cap);
	if (read_head(w, buf, cap, &got, &h, start, err) == -1)
		goto out;
	out->status = h.status;
	out->head_ms = (lx_mono_ns() - start) / 1000000;
	/* The head without its blank line. */
	n = h.head_len - 1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	lx_buf_add(&out->head, buf, n);
	if (no_body(method, h.status)
	    || (o->skip_2xx_body && h.status >= 200 && h.status <= 299)) {
		ret = 0;
		goto out;
	}
	ret = read_body(w, o, &h, buf + h.head_len, got - h.head_len, max_body,
	    buf, cap, out, err);
out:
	lx_free(buf);
	lx_buf_cleanup(&req);
	wconn_free(w);
	return (ret);
}

int
webhooks_post(const struct webhooks_config *cfg, const char *url,
    const char *headers, const char *body, size_t len,
    struct webhooks_result *res)
{
	struct webhooks_http_opts o;
	struct webhooks_http_resp r;
	struct webhooks_url u;
	struct lx_err e;
	struct lx_buf hdr;
	int64_t start = lx_mono_ns();
	int rc, ret = -1;

	memset(res, 0, sizeof(*res));
	lx_buf_init(&res->error);
	lx_buf_init(&hdr);
	memset(&r, 0, sizeof(r));
	if (webhooks_url_parse(url, &u, &e) == -1
	    || webhooks_url_allowed(&u, cfg->allow_http, cfg->allow_private, &e)
	        == -1) {
		lx_buf_adds(&res->error, e.detail);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.dest = WEBHOOKS_HTTP_DEST_WEBHOOK;
	o.allow_http = cfg->allow_http;
	o.allow_private = cfg->allow_private;
	o.ca_file = cfg->ca_file;
	o.user_agent = "Luxima-Webhooks/" LUXIMA_VERSION;
	o.who = "webhooks";
	o.deadline_ns = start + (int64_t)cfg->timeout_ms * 1000000;
	o.body_wait_ms = BODY_WAIT_MS;
	o.partial_ok = 1; /* the body is only an excerpt for the log */
	o.skip_2xx_body = 1;
	lx_buf_addf(&hdr, "Content-Type: application/json\r\n%s",
	    headers != NULL ? headers : "");
	rc = webhooks_http_request(
	    &o, "POST", url, hdr.data, body, len, WEBHOOKS_BODY_KEEP, &r, &e);
	res->status = r.status;
	res->duration_ms =
	    r.status != 0 ? r.head_ms : (lx_mono_ns() - start) / 1000000;
	if (r.status == 0) {
		lx_buf_adds(&res->error, rc == -1 ? e.detail : "no response");
		goto out;
	}
	if (r.status >= 200 && r.status <= 299) {
		ret = 0;
		goto out;
	}
	lx_buf_addf(&res->error, "HTTP %d", r.status);
	if (r.body.len > 0) {
		lx_buf_adds(&res->error, ": ");
		webhooks_excerpt(r.body.data, r.body.len, 0, WEBHOOKS_BODY_KEEP,
		    &res->error);
	}
out:
	if (res->duration_ms == 0)
		res->duration_ms = (lx_mono_ns() - start) / 1000000;
	webhooks_http_resp_cleanup(&r);
	lx_buf_cleanup(&hdr);
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
