/*
 * Outgoing mail: an SMTP client (mail_smtp.c) that relays one message
 * through a configured server, over implicit TLS or STARTTLS with mbedTLS
 * (certificate and host name verified), with AUTH PLAIN only inside TLS.
 * The outbox (mail_outbox.c) keeps every message the platform sends in the
 * store, written in the transaction of the change that wanted it, and
 * delivers it from the durable job queue ("mail.send"): through the relay
 * when one is configured, else into the log for offline installs.
 * mail_http.c lets a platform admin read the outbox (/admin/mail).
 */
#ifndef LX_MAIL_H
#define LX_MAIL_H

#include <stdint.h>

#include "lx.h"

struct lx_conn;

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

/* --- the outbox (mail_outbox.c) --- */

#define MAIL_MAX_ATTEMPTS 8 /* deliveries tried before a message fails */
#define MAIL_KIND_MAX 40 /* bytes of a kind ("auth.verify_email") */

/* One outbox row, as listed to a platform admin. */
struct mail_item {
	int64_t id;
	char kind[MAIL_KIND_MAX + 1];
	char to[256];
	char *subject; /* lx_malloc */
	char *text; /* lx_malloc; NULL once sent (it may hold a link) */
	char state[8]; /* queued, sent, failed, logged */
	int attempts; /* deliveries tried */
	char *last_error; /* lx_malloc; NULL if none */
	int64_t created_at; /* ms */
	int64_t updated_at; /* ms */
	int64_t sent_at; /* ms; 0 unless sent or logged */
};

/*
 * Sets how the "mail.send" job delivers and registers it with the job
 * queue: through the relay cfg (copied; the password into sodium memory)
 * when cfg and cfg->host are set, else into the log. Call once before
 * lx_jobs_start; not thread-safe. Fails (400 "bad_config") for a relay
 * without a sender or a bad sender address.
 */
int mail_outbox_configure(
    const struct mail_smtp_config *cfg, struct lx_err *err);
/* Forgets the relay settings (the password is wiped). */
void mail_outbox_shutdown(void);
/* 1 if a relay is configured, else 0 (mail goes to the log). */
int mail_outbox_relay(void);
/*
 * Queues a message of kind (e.g. "auth.password_reset") to one address:
 * inserts the outbox row and its "mail.send" job inside c's open
 * transaction (or each in its own when none is open), so the mail exists
 * if and only if the change that wanted it commits. 422 "invalid_mail" for
 * a bad address or a subject with a line break. Sets *id (may be NULL).
 */
int mail_outbox_enqueue(struct lx_conn *c, const char *to, const char *subject,
    const char *text, const char *kind, int64_t *id, struct lx_err *err);
/* The job handler: delivers the message of payload {"id": n} (exported
 * for tests; mail_outbox_configure registers it). */
int mail_outbox_deliver(
    struct lx_conn *c, const char *payload_json, struct lx_err *err);
/*
 * Lists up to limit messages older than before_id (0: from the newest),
 * newest first. Sets *out (mail_items_free) and *n.
 */
int mail_outbox_list(struct lx_conn *c, int64_t before_id, int limit,
    struct mail_item **out, int *n, struct lx_err *err);
/* Reads message id into *out (mail_item_cleanup); 404 "not_found". */
int mail_outbox_get(
    struct lx_conn *c, int64_t id, struct mail_item *out, struct lx_err *err);
void mail_item_cleanup(struct mail_item *m);
void mail_items_free(struct mail_item *v, int n);
/* Appends m as a JSON object (text included when with_text). */
void mail_item_json(const struct mail_item *m, int with_text, struct lx_buf *b);

/* The module descriptor: GET /admin/mail, /admin/mail/{id}. */
struct lx_module;
extern const struct lx_module mail_module;

#endif
