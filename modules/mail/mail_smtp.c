/*
 * The SMTP client (RFC 5321) behind the mail outbox: one connection per
 * message, TLS through mbedTLS (implicit or STARTTLS, the server's
 * certificate verified against a CA bundle and its host name), AUTH PLAIN
 * only once the channel is encrypted, dot-stuffed DATA, QUIT. Every read
 * has a timeout and so has the TCP connect, so a dead relay costs seconds,
 * not minutes. Secrets (the password and the AUTH line) live in
 * sodium_malloc memory and are wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <sodium.h>

#include "mail.h"

#define SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define DEFAULT_TIMEOUT 10000
#define REPLY_MAX 4096

/* One SMTP session. */
struct smtp {
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int tls_on; /* 1 once the handshake is done */
	int timeout_ms;
	const char *host;
	char in[REPLY_MAX]; /* bytes read, not yet used */
	size_t inlen;
	char reply[512]; /* last reply, for errors */
	int code; /* last reply code */
	int ext_starttls; /* EHLO offered STARTTLS */
	int ext_auth_plain; /* EHLO offered AUTH PLAIN */
};

int
mail_tls_parse(const char *s, enum mail_tls *out)
{
	if (s == NULL || strcmp(s, "starttls") == 0)
		*out = MAIL_TLS_STARTTLS;
	else if (strcmp(s, "tls") == 0 || strcmp(s, "implicit") == 0)
		*out = MAIL_TLS_IMPLICIT;
	else if (strcmp(s, "none") == 0)
		*out = MAIL_TLS_NONE;
	else
		return (-1);
	return (0);
}

int
mail_address_ok(const char *addr)
{
	const char *at, *p;

	if (addr == NULL || *addr == '\0' || strlen(addr) > 254)
		return (0);
	for (p = addr; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>()[],;:\\\"", *p))
			return (0);
	if ((at = strchr(addr, '@')) == NULL || at == addr
	    || strchr(at + 1, '@') != NULL || at[1] == '\0'
	    || strchr(at + 1, '.') == NULL)
		return (0);
	return (1);
}

/* Appends s as an RFC 2047 encoded word when it is not plain ASCII. */
static void
add_header_text(struct lx_buf *out, const char *s)
{
	const unsigned char *p;
	size_t n = strlen(s), blen;
	char *b64;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p >= 0x80)
			break;
	if (*p == '\0') {
		lx_buf_adds(out, s);
		return;
	}
	blen = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	b64 = lx_malloc(blen);
	sodium_bin2base64(b64, blen, (const unsigned char *)s, n,
	    sodium_base64_VARIANT_ORIGINAL);
	lx_buf_addf(out, "=?UTF-8?B?%s?=", b64);
	lx_free(b64);
}

int
mail_build(const struct mail_smtp_config *cfg, const struct mail_message *msg,
    const char *message_id, struct lx_buf *out, struct lx_err *err)
{
	const unsigned char *text = (const unsigned char *)msg->text;
	size_t n = strlen(msg->text), off, chunk, blen;
	char date[64], *b64 = NULL;
	struct tm tm;
	time_t now;

	if (!mail_address_ok(cfg->from))
		return (lx_err_set(err, 422, "invalid_mail",
		    "sender address '%s' is not a mailbox", cfg->from));
	if (!mail_address_ok(msg->to))
		return (lx_err_set(err, 422, "invalid_mail",
		    "recipient address is not a mailbox"));
	if (strpbrk(msg->subject, "\r\n") != NULL)
		return (lx_err_set(err, 422, "invalid_mail",
		    "the subject holds a line break"));
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	lx_buf_addf(out,
	    "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nMessage-ID: <%s>\r\n"
	    "Subject: ",
	    date, cfg->from, msg->to, message_id);
	add_header_text(out, msg->subject);
	lx_buf_adds(out,
	    "\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	/* 57 bytes of text make one 76-character base64 line. */
	blen = sodium_base64_encoded_len(57, sodium_base64_VARIANT_ORIGINAL);
	b64 = lx_malloc(blen);
	for (off = 0; off < n; off += chunk) {
		chunk = n - off < 57 ? n - off : 57;
		sodium_bin2base64(b64, blen, text + off, chunk,
		    sodium_base64_VARIANT_ORIGINAL);
		lx_buf_addf(out, "%s\r\n", b64);
	}
	lx_free(b64);
	return (0);
}

/* --- transport --- */

/* Connects to host:port within timeout_ms; sets s->net.fd. */
static int
tcp_connect(struct smtp *s, const char *host, int port, struct lx_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct pollfd pfd;
	char portstr[16];
	socklen_t len;
	int fd = -1, rc, soerr = 0, ret = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		lx_err_set(err, 502, "smtp_failed", "cannot resolve %s: %s",
		    host, gai_strerror(rc));
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			len = sizeof(soerr);
			if (poll(&pfd, 1, s->timeout_ms) == 1
			    && getsockopt(
			           fd, SOL_SOCKET, SO_ERROR, &soerr, &len)
			        == 0
			    && soerr == 0)
				break;
			errno = soerr ? soerr : ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		lx_err_set(err, errno == ETIMEDOUT ? 504 : 502,
		    errno == ETIMEDOUT ? "smtp_timeout" : "smtp_failed",
		    "cannot connect to %s:%d: %s", host, port, strerror(errno));
		goto out;
	}
	/* Blocking from here; reads time out through poll in net_recv. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	s->net.fd = fd;
	ret = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return (ret);
}

static int
io_write(struct smtp *s, const char *p, size_t len, struct lx_err *err)
{
	size_t off = 0;
	int n;

	while (off < len) {
		if (s->tls_on)
			n = mbedtls_ssl_write(
			    &s->ssl, (const unsigned char *)p + off, len - off);
		else
			n = mbedtls_net_send(
			    &s->net, (const unsigned char *)p + off, len - off);
		if (n == MBEDTLS_ERR_SSL_WANT_WRITE
		    || n == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (n <= 0)
			return (lx_err_set(err, 502, "smtp_failed",
			    "connection to %s lost while sending", s->host));
		off += (size_t)n;
	}
	return (0);
}

/* Reads more bytes into s->in; -1 on timeout, close or error. */
static int
io_fill(struct smtp *s, struct lx_err *err)
{
	unsigned char *p = (unsigned char *)s->in + s->inlen;
	size_t room = sizeof(s->in) - s->inlen;
	int n;

	if (room == 0)
		return (lx_err_set(err, 502, "smtp_failed",
		    "%s sent a reply line too long", s->host));
	do {
		if (s->tls_on)
			n = mbedtls_ssl_read(&s->ssl, p, room);
		else
			n = mbedtls_net_recv_timeout(
			    &s->net, p, room, (uint32_t)s->timeout_ms);
	} while (
	    n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (n == MBEDTLS_ERR_SSL_TIMEOUT)
		return (lx_err_set(err, 504, "smtp_timeout",
		    "%s did not answer within %d ms", s->host, s->timeout_ms));
	if (n <= 0)
		return (lx_err_set(err, 502, "smtp_failed",
		    "%s closed the connection", s->host));
	s->inlen += (size_t)n;
	return (0);
}

/*
 * Reads one (possibly multi-line) reply; sets s->code and s->reply (the
 * last line's text) and notes the EHLO extensions we use.
 */
static int
read_reply(struct smtp *s, struct lx_err *err)
{
	char line[REPLY_MAX], *nl;
	size_t len;

	for (;;) {
		while ((nl = memchr(s->in, '\n', s->inlen)) == NULL)
			if (io_fill(s, err) == -1)
				return (-1);
		len = (size_t)(nl - s->in) + 1;
		memcpy(line, s->in, len);
		line[len] = '\0';
		memmove(s->in, s->in + len, s->inlen - len);
		s->inlen -= len;
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5')
			return (lx_err_set(err, 502, "smtp_failed",
			    "%s sent a malformed reply", s->host));
		s->code = (line[0] - '0') * 100 + (line[1] - '0') * 10
		    + (line[2] - '0');
		if (strncasecmp(line + 4, "STARTTLS", 8) == 0)
			s->ext_starttls = 1;
		if (strncasecmp(line + 4, "AUTH", 4) == 0
		    && strstr(line + 8, "PLAIN") != NULL)
			s->ext_auth_plain = 1;
		snprintf(s->reply, sizeof(s->reply), "%.*s",
		    (int)sizeof(s->reply) - 1, line);
		if (line[3] != '-')
			return (0);
	}
}

/* Sends cmd (without CRLF; may be NULL to only read) and expects a reply
 * in [lo, hi]. what names the step in errors; cmd never appears there. */
static int
step(struct smtp *s, const char *cmd, int lo, int hi, const char *what,
    struct lx_err *err)
{
	if (cmd != NULL
	    && (io_write(s, cmd, strlen(cmd), err) == -1
	        || io_write(s, "\r\n", 2, err) == -1))
		return (-1);
	if (read_reply(s, err) == -1)
		return (-1);
	if (s->code < lo || s->code > hi)
		return (lx_err_set(err, 502, "smtp_failed", "%s refused %s: %s",
		    s->host, what, s->reply));
	return (0);
}

static int
tls_start(
    struct smtp *s, const struct mail_smtp_config *cfg, struct lx_err *err)
{
	const char *ca = cfg->ca_file ? cfg->ca_file : SYSTEM_CA;
	char vinfo[256];
	uint32_t flags;
	int rc;

	if (mbedtls_x509_crt_parse_file(&s->ca, ca) < 0)
		return (lx_err_set(
		    err, 502, "smtp_tls", "cannot read CA bundle %s", ca));
	if (mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
	        (const unsigned char *)"luxima-smtp", 11)
	        != 0
	    || mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_CLIENT,
	           MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)
	        != 0)
		return (lx_err_set(
		    err, 502, "smtp_tls", "cannot set up TLS for %s", s->host));
	mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&s->conf, &s->ca, NULL);
	mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &s->drbg);
	mbedtls_ssl_conf_read_timeout(&s->conf, (uint32_t)s->timeout_ms);
	mbedtls_ssl_conf_min_version(
	    &s->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	if (mbedtls_ssl_setup(&s->ssl, &s->conf) != 0
	    || mbedtls_ssl_set_hostname(&s->ssl, cfg->host) != 0)
		return (lx_err_set(
		    err, 502, "smtp_tls", "cannot set up TLS for %s", s->host));
	mbedtls_ssl_set_bio(
	    &s->ssl, &s->net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
	while ((rc = mbedtls_ssl_handshake(&s->ssl)) != 0) {
		if (rc == MBEDTLS_ERR_SSL_WANT_READ
		    || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
			flags = mbedtls_ssl_get_verify_result(&s->ssl);
			mbedtls_x509_crt_verify_info(
			    vinfo, sizeof(vinfo), "", flags);
			vinfo[strcspn(vinfo, "\n")] = '\0';
			return (lx_err_set(err, 502, "smtp_tls",
			    "%s's certificate is not trusted: %s", s->host,
			    vinfo));
		}
		if (rc == MBEDTLS_ERR_SSL_TIMEOUT)
			return (lx_err_set(err, 504, "smtp_timeout",
			    "TLS handshake with %s timed out", s->host));
		return (lx_err_set(err, 502, "smtp_tls",
		    "TLS handshake with %s failed (mbedTLS -0x%04x)", s->host,
		    (unsigned)-rc));
	}
	s->tls_on = 1;
	return (0);
}

/* AUTH PLAIN: base64("\0user\0password"), built in guarded memory. */
static int
auth_plain(
    struct smtp *s, const struct mail_smtp_config *cfg, struct lx_err *err)
{
	size_t ul = strlen(cfg->user), pl = strlen(cfg->password);
	size_t rawlen = ul + pl + 2, blen, cmdlen;
	unsigned char *raw = NULL;
	char *cmd = NULL;
	int ret = -1;

	if (!s->tls_on) {
		lx_err_set(err, 502, "smtp_tls",
		    "refusing to send SMTP credentials to %s without TLS",
		    s->host);
		goto out;
	}
	blen =
	    sodium_base64_encoded_len(rawlen, sodium_base64_VARIANT_ORIGINAL);
	cmdlen = blen + 16;
	if ((raw = sodium_malloc(rawlen)) == NULL
	    || (cmd = sodium_malloc(cmdlen)) == NULL) {
		lx_err_set(err, 500, "internal_error", "out of memory");
		goto out;
	}
	raw[0] = '\0';
	memcpy(raw + 1, cfg->user, ul);
	raw[ul + 1] = '\0';
	memcpy(raw + ul + 2, cfg->password, pl);
	memcpy(cmd, "AUTH PLAIN ", 11);
	sodium_bin2base64(
	    cmd + 11, cmdlen - 11, raw, rawlen, sodium_base64_VARIANT_ORIGINAL);
	ret = step(s, cmd, 235, 235, "authentication", err);
out:
	sodium_free(raw);
	sodium_free(cmd);
	return (ret);
}

/* Sends the message with dot-stuffing and the final ".". */
static int
send_data(struct smtp *s, const struct lx_buf *m, struct lx_err *err)
{
	const char *p = m->data, *end = m->data + m->len, *nl;
	size_t len;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (*p == '.' && io_write(s, ".", 1, err) == -1)
			return (-1);
		if (io_write(s, p, len, err) == -1)
			return (-1);
		p += len;
	}
	return (step(s, ".", 250, 250, "the message", err));
}

int
mail_smtp_send(const struct mail_smtp_config *cfg,
    const struct mail_message *msg, struct lx_err *err)
{
	struct smtp *s = NULL;
	struct lx_buf m, cmd;
	unsigned char rnd[12];
	char mid[128], hex[25];
	const char *at;
	int port, ret = -1;

	lx_buf_init(&m);
	lx_buf_init(&cmd);
	if (sodium_init() < 0) {
		lx_err_set(err, 500, "internal_error", "libsodium failed");
		goto out;
	}
	if (cfg->host == NULL || *cfg->host == '\0') {
		lx_err_set(err, 503, "smtp_not_configured",
		    "no SMTP relay is configured");
		goto out;
	}
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	at = cfg->from ? strchr(cfg->from, '@') : NULL;
	snprintf(mid, sizeof(mid), "%s@%s", hex, at ? at + 1 : "luxima");
	if (mail_build(cfg, msg, mid, &m, err) == -1)
		goto out;

	s = lx_calloc(1, sizeof(*s));
	mbedtls_net_init(&s->net);
	mbedtls_ssl_init(&s->ssl);
	mbedtls_ssl_config_init(&s->conf);
	mbedtls_x509_crt_init(&s->ca);
	mbedtls_entropy_init(&s->entropy);
	mbedtls_ctr_drbg_init(&s->drbg);
	s->host = cfg->host;
	s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT;
	port = cfg->port > 0                ? cfg->port
	    : cfg->tls == MAIL_TLS_IMPLICIT ? 465
	    : cfg->tls == MAIL_TLS_STARTTLS ? 587
	                                    : 25;

	if (tcp_connect(s, cfg->host, port, err) == -1)
		goto out;
	if (cfg->tls == MAIL_TLS_IMPLICIT && tls_start(s, cfg, err) == -1)
		goto out;
	if (step(s, NULL, 220, 220, "the connection", err) == -1)
		goto out;
	lx_buf_addf(
	    &cmd, "EHLO %s", cfg->helo ? cfg->helo : "luxima.localhost");
	if (step(s, cmd.data, 250, 250, "EHLO", err) == -1)
		goto out;
	if (cfg->tls == MAIL_TLS_STARTTLS) {
		if (!s->ext_starttls) {
			lx_err_set(err, 502, "smtp_tls",
			    "%s does not offer STARTTLS", s->host);
			goto out;
		}
		if (step(s, "STARTTLS", 220, 220, "STARTTLS", err) == -1
		    || tls_start(s, cfg, err) == -1)
			goto out;
		s->ext_starttls = s->ext_auth_plain = 0;
		if (step(s, cmd.data, 250, 250, "EHLO", err) == -1)
			goto out;
	}
	if (cfg->user != NULL && *cfg->user != '\0') {
		if (!s->ext_auth_plain) {
			lx_err_set(err, 502, "smtp_failed",
			    "%s does not offer AUTH PLAIN", s->host);
			goto out;
		}
		if (auth_plain(s, cfg, err) == -1)
			goto out;
	}
	lx_buf_reset(&cmd);
	lx_buf_addf(&cmd, "MAIL FROM:<%s>", cfg->from);
	if (step(s, cmd.data, 250, 250, "the sender", err) == -1)
		goto out;
	lx_buf_reset(&cmd);
	lx_buf_addf(&cmd, "RCPT TO:<%s>", msg->to);
	if (step(s, cmd.data, 250, 251, "the recipient", err) == -1
	    || step(s, "DATA", 354, 354, "DATA", err) == -1
	    || send_data(s, &m, err) == -1)
		goto out;
	(void)step(s, "QUIT", 221, 221, "QUIT", NULL);
	ret = 0;
out:
	if (s != NULL) {
		if (s->tls_on)
			(void)mbedtls_ssl_close_notify(&s->ssl);
		mbedtls_ssl_free(&s->ssl);
		mbedtls_ssl_config_free(&s->conf);
		mbedtls_x509_crt_free(&s->ca);
		mbedtls_ctr_drbg_free(&s->drbg);
		mbedtls_entropy_free(&s->entropy);
		mbedtls_net_free(&s->net);
		lx_free(s);
	}
	lx_buf_cleanup(&cmd);
	lx_buf_cleanup(&m);
	return (ret);
}
