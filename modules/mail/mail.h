/*
 * Outgoing mail: an SMTP client (mail_smtp.c) that relays one message
 * through a configured server, over implicit TLS or STARTTLS with mbedTLS
 * (certificate and host name verified), with AUTH PLAIN only inside TLS.
 * The outbox that queues messages and delivers them from the durable job
 * queue builds on this.
 */
#ifndef LX_MAIL_H
#define LX_MAIL_H

#include "lx.h"

enum mail_tls {
	MAIL_TLS_STARTTLS = 0, /* plain connect, then STARTTLS (port 587) */
	MAIL_TLS_IMPLICIT, /* TLS from the first byte (port 465) */
	MAIL_TLS_NONE, /* plain text: loopback relays only */
};

struct mail_smtp_config {
	const char *host; /* relay host name or address */
	int port; /* 0: 587, 465 or 25 by tls */
	enum mail_tls tls;
	const char *user; /* NULL: no AUTH */
	const char *password; /* with user; never logged */
	const char *from; /* envelope and header sender */
	const char *ca_file; /* PEM bundle; NULL: the system's */
	const char *helo; /* EHLO name; NULL: "luxima.localhost" */
	int timeout_ms; /* per read; 0: 10000 */
};

struct mail_message {
	const char *to; /* one address */
	const char *subject; /* UTF-8, one line */
	const char *text; /* UTF-8 plain-text body */
};

/* Parses an smtp_tls setting ("starttls", "tls", "none"); -1 if unknown. */
int mail_tls_parse(const char *s, enum mail_tls *out);

/* 1 if addr is a plausible single mailbox (local@domain, no spaces,
 * brackets or line breaks), else 0. */
int mail_address_ok(const char *addr);

/*
 * Builds the RFC 5322 message (headers and a base64 text/plain UTF-8 body)
 * into out, with message_id (without brackets) as its Message-ID.
 * Returns -1 (422 "invalid_mail") for a bad address or a subject with a
 * line break.
 */
int mail_build(const struct mail_smtp_config *cfg,
    const struct mail_message *msg, const char *message_id, struct lx_buf *out,
    struct lx_err *err);

/*
 * Relays msg through the SMTP server in cfg: connects, negotiates TLS as
 * configured (verifying the server's certificate and name), authenticates
 * when a user is set (never over plain text), sends one message and quits.
 * Blocks for at most a few timeouts. Returns 0 when the server accepted
 * the message; -1 with err (502 "smtp_failed" naming the step and the
 * server's reply, 504 "smtp_timeout", 502 "smtp_tls") otherwise.
 * Thread-safe; no global state.
 */
int mail_smtp_send(const struct mail_smtp_config *cfg,
    const struct mail_message *msg, struct lx_err *err);

#endif
