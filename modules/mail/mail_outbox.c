/*
 * The mail outbox: every message the platform sends is a row of
 * mail_outbox written in the caller's transaction together with a
 * "mail.send" job, so a mail exists if and only if the change that wanted
 * it committed. The job delivers it through the SMTP relay (with the
 * queue's retries and backoff; the row counts attempts and keeps the last
 * error) or, when no relay is configured (the embedded default, demos,
 * offline installs), writes it to the log as one JSON line and marks it
 * logged, where a platform admin can also read it (mail_http.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <sodium.h>

#include "jobs.h"
#include "mail.h"
#include "storage.h"

/* The relay settings, copied at configure (strings owned here). */
static struct {
	int on; /* 1: deliver through the relay */
	struct mail_smtp_config cfg;
	char *strs[6]; /* lx_strdup'ed host, user, from, ca, helo */
	char *password; /* sodium_malloc; NULL when none */
} relay;

static const char *
keep(int i, const char *s)
{
	if (s == NULL)
		return (NULL);
	relay.strs[i] = lx_strdup(s);
	return (relay.strs[i]);
}

void
mail_outbox_shutdown(void)
{
	size_t i;

	for (i = 0; i < LX_NELEM(relay.strs); i++)
		lx_free(relay.strs[i]);
	if (relay.password != NULL) {
		sodium_memzero(relay.password, strlen(relay.password));
		sodium_free(relay.password);
	}
	memset(&relay, 0, sizeof(relay));
}

int
mail_outbox_configure(const struct mail_smtp_config *cfg, struct lx_err *err)
{
	size_t n;

	mail_outbox_shutdown();
	lx_jobs_register("mail.send", mail_outbox_deliver);
	if (cfg == NULL || cfg->host == NULL || *cfg->host == '\0')
		return (0);
	if (cfg->from == NULL || !mail_address_ok(cfg->from))
		return (lx_err_set(err, 400, "bad_config",
		    "smtp_from must be set to the sender address when "
		    "smtp_host is"));
	relay.cfg = *cfg;
	relay.cfg.host = keep(0, cfg->host);
	relay.cfg.user = keep(1, cfg->user);
	relay.cfg.from = keep(2, cfg->from);
	relay.cfg.ca_file = keep(3, cfg->ca_file);
	relay.cfg.helo = keep(4, cfg->helo);
	relay.cfg.password = NULL;
	if (cfg->password != NULL && *cfg->password != '\0') {
		n = strlen(cfg->password) + 1;
		if ((relay.password = sodium_malloc(n)) == NULL) {
			mail_outbox_shutdown();
			return (lx_err_set(
			    err, 503, "out_of_memory", "out of secure memory"));
		}
		memcpy(relay.password, cfg->password, n);
		relay.cfg.password = relay.password;
	}
	relay.on = 1;
	return (0);
}

int
mail_outbox_relay(void)
{
	return (relay.on);
}

int
mail_outbox_enqueue(struct lx_conn *c, const char *to, const char *subject,
    const char *text, const char *kind, int64_t *id, struct lx_err *err)
{
	static const char sql[] =
	    "INSERT INTO mail_outbox (kind, recipient, subject, body, "
	    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
	sqlite3_stmt *st;
	char payload[48];
	int64_t now = lx_now_ms(), rowid;
	int rc;

	if (!mail_address_ok(to))
		return (lx_err_set(err, 422, "invalid_mail",
		    "the recipient is not a single mailbox"));
	if (strpbrk(subject, "\r\n") != NULL)
		return (lx_err_set(
		    err, 422, "invalid_mail", "the subject has a line break"));
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "queue a mail", err));
	rowid = sqlite3_last_insert_rowid(lx_conn_sqlite(c));
	snprintf(payload, sizeof(payload), "{\"id\":%lld}", (long long)rowid);
	if (lx_jobs_enqueue(
	        c, "mail.send", payload, 0, MAIL_MAX_ATTEMPTS, NULL, err)
	    == -1)
		return (-1);
	if (id != NULL)
		*id = rowid;
	return (0);
}

/* --- reading rows --- */

#define ITEM_COLS \
	"id, kind, recipient, subject, body, state, attempts, last_error, " \
	"created_at, updated_at, coalesce(sent_at, 0)"

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return (t != NULL ? lx_strdup((const char *)t) : NULL);
}

static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, n, "%s", t != NULL ? (const char *)t : "");
}

static void
read_item(sqlite3_stmt *st, struct mail_item *m)
{
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	col_copy(st, 1, m->kind, sizeof(m->kind));
	col_copy(st, 2, m->to, sizeof(m->to));
	m->subject = col_dup(st, 3);
	m->text = col_dup(st, 4);
	col_copy(st, 5, m->state, sizeof(m->state));
	m->attempts = sqlite3_column_int(st, 6);
	m->last_error = col_dup(st, 7);
	m->created_at = sqlite3_column_int64(st, 8);
	m->updated_at = sqlite3_column_int64(st, 9);
	m->sent_at = sqlite3_column_int64(st, 10);
}

void
mail_item_cleanup(struct mail_item *m)
{
	if (m == NULL)
		return;
	lx_free(m->subject);
	if (m->text != NULL) {
		sodium_memzero(m->text, strlen(m->text));
		lx_free(m->text);
	}
	lx_free(m->last_error);
	memset(m, 0, sizeof(*m));
}

void
mail_items_free(struct mail_item *v, int n)
{
	int i;

	for (i = 0; v != NULL && i < n; i++)
		mail_item_cleanup(&v[i]);
	lx_free(v);
}

int
mail_outbox_get(
    struct lx_conn *c, int64_t id, struct mail_item *out, struct lx_err *err)
{
	static const char sql[] =
	    "SELECT " ITEM_COLS " FROM mail_outbox WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		read_item(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return (lx_err_set(err, 404, "not_found", "no such message"));
	if (rc != SQLITE_ROW)
		return (lx_conn_error(c, rc, "read a mail", err));
	return (0);
}

int
mail_outbox_list(struct lx_conn *c, int64_t before_id, int limit,
    struct mail_item **out, int *n, struct lx_err *err)
{
	static const char sql[] = "SELECT " ITEM_COLS " FROM mail_outbox "
	                          "WHERE ?1 <= 0 OR id < ?1 "
	                          "ORDER BY id DESC LIMIT ?2";
	struct mail_item *v = NULL;
	sqlite3_stmt *st;
	int rc, cnt = 0, ret = -1;

	*out = NULL;
	*n = 0;
	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	v = lx_calloc((size_t)(limit > 0 ? limit : 1), sizeof(*v));
	sqlite3_bind_int64(st, 1, before_id);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && cnt < limit)
		read_item(st, &v[cnt++]);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		lx_conn_error(c, rc, "list mail", err);
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	ret = 0;
out:
	mail_items_free(v, cnt);
	return (ret);
}

void
mail_item_json(const struct mail_item *m, int with_text, struct lx_buf *b)
{
	lx_buf_addf(b, "{\"id\":\"%lld\",\"kind\":", (long long)m->id);
	lx_buf_add_json_str(b, m->kind);
	lx_buf_adds(b, ",\"to\":");
	lx_buf_add_json_str(b, m->to);
	lx_buf_adds(b, ",\"subject\":");
	lx_buf_add_json_str(b, m->subject != NULL ? m->subject : "");
	lx_buf_adds(b, ",\"state\":");
	lx_buf_add_json_str(b, m->state);
	lx_buf_addf(b, ",\"attempts\":%d,\"last_error\":", m->attempts);
	lx_buf_add_json_str_or_null(b, m->last_error);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, m->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, m->updated_at);
	lx_buf_adds(b, ",\"sent_at\":");
	lx_buf_add_time_json(b, m->sent_at);
	if (with_text) {
		lx_buf_adds(b, ",\"text\":");
		lx_buf_add_json_str_or_null(b, m->text);
	}
	lx_buf_adds(b, "}");
}

/* --- delivery --- */

/* Marks id state (sent, logged: sent_at now; sent also clears the body)
 * with error (NULL: none) and one more attempt when tried. */
static int
mark(struct lx_conn *c, int64_t id, const char *state, const char *error,
    int tried, struct lx_err *err)
{
	static const char sql[] =
	    "UPDATE mail_outbox SET state = ?2, last_error = ?3, "
	    "attempts = attempts + ?4, updated_at = ?5, "
	    "sent_at = CASE WHEN ?2 IN ('sent', 'logged') THEN ?5 "
	    "ELSE sent_at END, "
	    "body = CASE WHEN ?2 = 'sent' THEN NULL ELSE body END "
	    "WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = lx_conn_stmt(c, sql, err)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	if (error != NULL)
		sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int(st, 4, tried);
	sqlite3_bind_int64(st, 5, lx_now_ms());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return (lx_conn_error(c, rc, "update a mail", err));
	return (0);
}

/* Writes m to the log as one JSON line at info level. */
static void
log_mail(const struct mail_item *m)
{
	struct lx_buf b;
	struct timespec ts;
	struct tm tm;
	char when[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	lx_buf_init(&b);
	lx_buf_addf(&b,
	    "{\"ts\":\"%s.%03ldZ\",\"level\":\"info\",\"msg\":\"mail: no SMTP "
	    "relay configured; message logged\",\"mail\":{\"id\":%lld,"
	    "\"kind\":",
	    when, ts.tv_nsec / 1000000, (long long)m->id);
	lx_buf_add_json_str(&b, m->kind);
	lx_buf_adds(&b, ",\"to\":");
	lx_buf_add_json_str(&b, m->to);
	lx_buf_adds(&b, ",\"subject\":");
	lx_buf_add_json_str(&b, m->subject != NULL ? m->subject : "");
	lx_buf_adds(&b, ",\"text\":");
	lx_buf_add_json_str(&b, m->text != NULL ? m->text : "");
	lx_buf_adds(&b, "}}");
	lx_log_json(b.data, b.len);
	sodium_memzero(b.data, b.len);
	lx_buf_cleanup(&b);
}

int
mail_outbox_deliver(
    struct lx_conn *c, const char *payload_json, struct lx_err *err)
{
	struct mail_item m;
	struct mail_message msg;
	struct lx_err e2;
	const cJSON *jid;
	cJSON *p = NULL;
	int64_t id;
	int ret = -1;

	memset(&m, 0, sizeof(m));
	if ((p = cJSON_Parse(payload_json)) == NULL
	    || !cJSON_IsNumber(
	        jid = cJSON_GetObjectItemCaseSensitive(p, "id"))) {
		/* Retrying cannot fix it: log, drop. */
		lx_log(LX_LOG_ERROR, "mail: a mail.send job without an id");
		ret = 0;
		goto out;
	}
	id = (int64_t)jid->valuedouble;
	if (mail_outbox_get(c, id, &m, err) == -1) {
		if (err->status == 404) {
			ret = 0; /* gone (user deleted): nothing to do */
			lx_err_clear(err);
		}
		goto out;
	}
	if (strcmp(m.state, "queued") != 0) {
		ret = 0; /* done already: a rerun after a crash */
		goto out;
	}
	if (!relay.on) {
		log_mail(&m);
		if (mark(c, id, "logged", NULL, 0, err) == -1)
			goto out;
		ret = 0;
		goto out;
	}
	msg.to = m.to;
	msg.subject = m.subject;
	msg.text = m.text != NULL ? m.text : "";
	lx_err_clear(&e2);
	if (mail_smtp_send(&relay.cfg, &msg, &e2) == 0) {
		if (mark(c, id, "sent", NULL, 1, err) == -1)
			goto out;
		lx_log(LX_LOG_INFO, "mail: sent message %lld (%s)",
		    (long long)id, m.kind);
		ret = 0;
		goto out;
	}
	lx_log(LX_LOG_WARN, "mail: message %lld not sent (attempt %d): %s",
	    (long long)id, m.attempts + 1, e2.detail);
	if (mark(c, id,
	        m.attempts + 1 >= MAIL_MAX_ATTEMPTS ? "failed" : "queued",
	        e2.detail, 1, err)
	    == -1)
		goto out;
	*err = e2;
out:
	cJSON_Delete(p);
	mail_item_cleanup(&m);
	return (ret);
}
