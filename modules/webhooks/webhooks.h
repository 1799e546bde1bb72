/*
 * Outgoing webhooks: tenants register endpoints (a URL and the event types
 * it wants) and receive their events as signed HTTP POSTs, per the Standard
 * Webhooks scheme (webhook-id, webhook-timestamp, webhook-signature
 * "v1,<base64 HMAC-SHA256>"), delivered from the durable job queue with
 * exponential backoff and every attempt logged.
 *
 * Files: webhooks.c (rules, no SQL and no I/O: URL and destination rules,
 * event types and patterns, ids and secrets, the signature, the event body
 * and the HTTP response parser; fuzzed by tests/fuzz/fuzz_webhooks.c),
 * webhooks_store.c (statements: the endpoint routes through the policy
 * views, the emitter and the delivery job as system code),
 * webhooks_http.c (the route table and handlers), webhooks_deliver.c (the
 * "webhooks.deliver" job and its HTTP/1.1 client over mbedTLS,
 * webhooks_http_request, which the edge functions' http.fetch shares).
 */
#ifndef LX_WEBHOOKS_H
#define LX_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "storage.h"

#define WEBHOOKS_URL_MAX 2000 /* bytes of an endpoint URL */
#define WEBHOOKS_HOST_MAX 253 /* bytes of a host name (RFC 1035) */
#define WEBHOOKS_DESC_MAX 500 /* bytes of a description */
#define WEBHOOKS_TYPES_MAX 16 /* entries of event_types */
#define WEBHOOKS_TYPE_MAX 64 /* bytes of an event type */
#define WEBHOOKS_SECRET_RAW 32 /* random bytes of a new secret */
#define WEBHOOKS_SECRET_SIZE 64 /* "whsec_" + base64(32) + NUL, rounded */
#define WEBHOOKS_MSG_ID_SIZE 32 /* "msg_" + 26 base32 characters + NUL */
#define WEBHOOKS_ID_SIZE 37 /* UUIDv7 text + NUL */
#define WEBHOOKS_SIG_SIZE 48 /* "v1," + base64(32 bytes) + NUL */
#define WEBHOOKS_BODY_KEEP 4096 /* response bytes read for the log */
#define WEBHOOKS_HEAD_MAX 16384 /* response status line and headers */
#define WEBHOOKS_PAGE_DEFAULT 50
#define WEBHOOKS_PAGE_MAX 100
#define WEBHOOKS_JOB "webhooks.deliver"
#define WEBHOOKS_TEST_TYPE "webhook.test"

/* A parsed endpoint URL (webhooks_url_parse). */
struct webhooks_url {
	int https; /* 1: https, 0: http */
	char host[WEBHOOKS_HOST_MAX + 1]; /* lowered; IPv6 without brackets */
	int host_ip; /* 4 or 6: host is an address literal; 0: a name */
	int port; /* explicit or 80/443 */
	int port_explicit; /* 1: the URL named the port */
	char target[WEBHOOKS_URL_MAX + 1]; /* path and query, "/" if none */
};

/* Where a destination address may be reached (webhooks_addr_class). */
enum webhooks_dest {
	WEBHOOKS_DEST_PUBLIC, /* the internet */
	WEBHOOKS_DEST_PRIVATE, /* loopback, RFC 1918, RFC 6598, fc00::/7 */
	WEBHOOKS_DEST_FORBIDDEN, /* unspecified, link-local (cloud metadata),
				  * multicast, broadcast, reserved */
};

/* What the delivery client made of a response head. */
struct webhooks_resp_head {
	int status; /* 100..599 */
	size_t head_len; /* bytes of the status line and headers */
	int64_t content_length; /* -1: not given */
	int chunked; /* 1: Transfer-Encoding: chunked */
};

/* An endpoint as the API shows it (never its secret). */
struct webhooks_endpoint {
	char id[WEBHOOKS_ID_SIZE];
	char url[WEBHOOKS_URL_MAX + 1];
	char description[WEBHOOKS_DESC_MAX + 1];
	char *event_types; /* JSON array text (lx_malloc) */
	char status[16]; /* enabled, disabled */
	int64_t created_at; /* ms since epoch */
	int64_t updated_at;
};

/* One attempt of a delivery. */
struct webhooks_attempt {
	int64_t attempted_at; /* ms since epoch */
	int status; /* HTTP status, 0: no response */
	int64_t duration_ms;
	char *error; /* lx_malloc, NULL: none */
};

/* One delivery (a message to an endpoint) as the log shows it. */
struct webhooks_delivery {
	char id[WEBHOOKS_ID_SIZE];
	char endpoint_id[WEBHOOKS_ID_SIZE];
	char message_id[WEBHOOKS_MSG_ID_SIZE];
	char event_type[WEBHOOKS_TYPE_MAX + 1];
	char status[16]; /* pending, succeeded, failed */
	int attempts;
	int last_status; /* 0: none */
	char *last_error; /* lx_malloc, NULL: none */
	int64_t created_at; /* ms since epoch */
	int64_t updated_at;
	int64_t delivered_at; /* 0: not delivered */
	struct webhooks_attempt *history; /* lx_calloc, nhistory entries */
	int nhistory;
};

/* Settings, read once by webhooks_init (environment LUXIMA_WEBHOOKS_*,
 * then the config file's webhooks.*). */
struct webhooks_config {
	int timeout_ms; /* connect to response head; default 10000 */
	int max_attempts; /* per delivery; default 24 */
	int allow_http; /* 1: http to public addresses too */
	int allow_private; /* 0: no loopback or private addresses at all */
	int endpoint_limit; /* endpoints per tenant; default 20 */
	char ca_file[512]; /* PEM bundle; "" for the system's */
};

/* --- the emitter (webhooks_store.c) --- */

/*
 * Queues event type (e.g. "invoice.paid") with data (a JSON object text)
 * for every enabled endpoint of tenant that subscribes to type, in c's
 * open transaction (so the event exists iff the change that emitted it
 * commits; with no transaction open it opens and commits its own): one
 * webhook_messages row ("msg_" + random id), one webhook_deliveries row and
 * one durable "webhooks.deliver" job per endpoint; nothing when no endpoint
 * wants type. Runs as system code in a nested lx_conn_system_begin/_end
 * section (no policy context needed; the caller's context and system depth
 * are as they were on return). On -1 nothing of the event was written (a
 * savepoint). 0, or -1 with err: 500 "unknown_event_type" for a type not in
 * webhooks_type_known, 500 "invalid_event_data" for data that is not a JSON
 * object, or a database error. Thread: c's owner.
 */
int webhooks_emit(struct lx_conn *c, const char *tenant_id, const char *type,
    const char *data_json, struct lx_err *err);

/* --- rules (webhooks.c; pure, thread-safe) --- */

/*
 * Parses an endpoint URL: http:// or https:// (any case), a host (a name of
 * letters, digits, '-', '_' and '.', an IPv4 address or a bracketed IPv6
 * address), an optional port 1..65535, then a path and query of printable
 * ASCII (no space, no fragment); at most WEBHOOKS_URL_MAX bytes, no user
 * information. Fills *out and returns 0, or -1 with 422 "invalid_url"
 * saying why.
 */
int webhooks_url_parse(
    const char *url, struct webhooks_url *out, struct lx_err *err);
/*
 * The destination rule: WEBHOOKS_DEST_FORBIDDEN is refused for both
 * schemes; WEBHOOKS_DEST_PRIVATE unless allow_private; http to a public
 * address unless allow_http. NULL when d may be reached, else why not (a
 * static phrase).
 */
const char *webhooks_dest_refused(
    enum webhooks_dest d, int https, int allow_http, int allow_private);
/*
 * The destination rule at registration, for an address literal or a
 * loopback name ("localhost", names under ".localhost"); other names count
 * as public here (so plain http to them needs allow_http) and are checked
 * again, with every address they resolve to, by the delivery client. 0, or
 * -1 with 422 "invalid_url".
 */
int webhooks_url_allowed(const struct webhooks_url *u, int allow_http,
    int allow_private, struct lx_err *err);
/* Classifies an IPv4 (family 4, 4 bytes) or IPv6 (family 6, 16 bytes)
 * address; IPv4-mapped IPv6 addresses as their IPv4 address. */
enum webhooks_dest webhooks_addr_class(int family, const unsigned char *addr);
/* 1 if type is an event type Luxima emits (invoice.created,
 * invoice.finalized, invoice.paid, invoice.payment_failed, invoice.voided,
 * invoice.marked_uncollectible, subscription.created,
 * subscription.updated, subscription.canceled, member.added,
 * member.removed, webhook.test), or a
 * "custom.<name>" type that edge functions emit (<name>: lower-case
 * letters, digits, '_', '.', '-'; the whole at most 64 bytes). */
int webhooks_type_known(const char *type);
/* 1 if p is a known type or one of the patterns "invoice.*",
 * "subscription.*", "member.*", "custom.*", "*". */
int webhooks_pattern_valid(const char *p);
/* 1 if pattern p covers type. */
int webhooks_pattern_match(const char *p, const char *type);
/* 1 if the stored event_types (JSON array text) cover type; 0 for
 * anything unparsable. */
int webhooks_types_match(const char *types_json, const char *type);
/*
 * Checks event_types (a cJSON array from a body): 1..WEBHOOKS_TYPES_MAX
 * strings, each webhooks_pattern_valid. Appends the normalised JSON array
 * (duplicates dropped, order kept) to out. -1 with 422
 * "invalid_event_types" (not a non-empty array of strings, too many) or
 * "unknown_event_type" naming the first unknown one.
 */
int webhooks_types_normalize(
    const struct cJSON *a, struct lx_buf *out, struct lx_err *err);
/* Writes a new secret "whsec_" + base64 (RFC 4648, padded) of
 * WEBHOOKS_SECRET_RAW random bytes into out (sodium memory of
 * WEBHOOKS_SECRET_SIZE bytes is the caller's to provide and wipe). */
void webhooks_secret_new(char out[WEBHOOKS_SECRET_SIZE]);
/* Writes "msg_" + 26 Crockford base32 characters (48 bits of ms time, 80
 * random bits: sortable by creation) into out. */
void webhooks_msg_id(char out[WEBHOOKS_MSG_ID_SIZE]);
/* Writes a UUIDv7 (RFC 9562: ms time, random) as text into out, so ids
 * sort by creation. */
void webhooks_uuid7(char out[WEBHOOKS_ID_SIZE]);
/*
 * The Standard Webhooks signature of one attempt: "v1," + base64 of
 * HMAC-SHA256 keyed with the bytes the secret ("whsec_" + base64, the
 * prefix optional) decodes to, over msg_id "." timestamp "." body[0..len).
 * Writes it into out; 0, or -1 with 500 "invalid_secret" for a secret that
 * does not decode to 1..64 bytes. Key material is wiped.
 */
int webhooks_sign(const char *secret, const char *msg_id, int64_t timestamp,
    const char *body, size_t len, char out[WEBHOOKS_SIG_SIZE],
    struct lx_err *err);
/*
 * Appends the event body sent to endpoints, {"type":..., "timestamp": RFC
 * 3339 with ms, "data": data}, data_json re-serialised without spaces.
 * -1 with 500 "invalid_event_data" unless data_json is a JSON object.
 */
int webhooks_body(const char *type, int64_t at_ms, const char *data_json,
    struct lx_buf *out, struct lx_err *err);
/*
 * Parses the status line and headers of an HTTP/1.x response in
 * buf[0..len): 1 with *out filled when the blank line ending them is in
 * buf, 0 when more bytes are needed, -1 when it is not an HTTP/1.x
 * response (or a header is malformed). Reads Content-Length and
 * Transfer-Encoding only. Faces the network; pure.
 */
int webhooks_resp_head(
    const char *buf, size_t len, struct webhooks_resp_head *out);
/*
 * Appends the printable text of a response body excerpt raw[0..len) to
 * out: de-chunked when chunked (as far as the excerpt goes), control
 * characters as spaces, invalid UTF-8 as '?', at most max bytes.
 */
void webhooks_excerpt(
    const char *raw, size_t len, int chunked, size_t max, struct lx_buf *out);

/* --- statements (webhooks_store.c) --- */

/* Under the request's context (p_webhook_endpoints etc.). */
/* The context tenant's endpoints with id > after ("" first), by id, at
 * most limit into out[limit]; free with webhooks_endpoints_cleanup. */
int webhooks_store_list(struct lx_conn *c, const char *after, int limit,
    struct webhooks_endpoint *out, int *n, struct lx_err *err);
/* One endpoint of the context tenant; 404 "endpoint_not_found". */
int webhooks_store_get(struct lx_conn *c, const char *id,
    struct webhooks_endpoint *out, struct lx_err *err);
void webhooks_endpoints_cleanup(struct webhooks_endpoint *v, int n);
/* The number of the context tenant's endpoints into *n. */
int webhooks_store_count(struct lx_conn *c, int *n, struct lx_err *err);
/* Inserts e with secret in the context tenant. */
int webhooks_store_insert(struct lx_conn *c, const struct webhooks_endpoint *e,
    const char *secret, struct lx_err *err);
/* Writes url, description, event_types, status and updated_at of e (and
 * the secret when not NULL); 404 "endpoint_not_found" if not visible. */
int webhooks_store_update(struct lx_conn *c, const struct webhooks_endpoint *e,
    const char *secret, struct lx_err *err);
/* Deletes endpoint id of the context tenant (tenant_id: req->tenant.id),
 * its deliveries and attempts with it; 404 "endpoint_not_found" unless
 * p_webhook_endpoints shows it. In the caller's transaction. */
int webhooks_store_delete(struct lx_conn *c, const char *tenant_id,
    const char *id, struct lx_err *err);
/* Deliveries of endpoint id, newest first, with id < before ("" first),
 * at most limit, each with its attempts; free with
 * webhooks_deliveries_cleanup. */
int webhooks_store_deliveries(struct lx_conn *c, const char *endpoint_id,
    const char *before, int limit, struct webhooks_delivery *out, int *n,
    struct lx_err *err);
void webhooks_deliveries_cleanup(struct webhooks_delivery *v, int n);

/* System code (the emitter, the test route, the job). */
/*
 * Queues type with data for the enabled endpoints of tenant that want it,
 * or only for endpoint_id when not NULL (which then must be enabled and
 * gets it whatever its event types). Sets *queued (may be NULL) to the
 * deliveries made and msg_id (may be NULL) to the message's id ("" when
 * none). In c's transaction; the caller brackets it with
 * lx_conn_system_begin/_end when c carries a context.
 */
int webhooks_store_emit(struct lx_conn *c, const char *tenant_id,
    const char *endpoint_id, const char *type, const char *data_json,
    int *queued, char msg_id[WEBHOOKS_MSG_ID_SIZE], struct lx_err *err);

/* What the delivery job reads about one delivery (system code). */
struct webhooks_job_row {
	char delivery_id[WEBHOOKS_ID_SIZE];
	char tenant_id[40];
	char endpoint_id[WEBHOOKS_ID_SIZE];
	char status[16]; /* the delivery's */
	int attempts; /* made so far */
	char url[WEBHOOKS_URL_MAX + 1];
	char endpoint_status[16];
	char tenant_status[16];
	char msg_id[WEBHOOKS_MSG_ID_SIZE];
	char *payload; /* the body (lx_malloc) */
	char *secret; /* sodium_malloc; wiped by webhooks_job_row_cleanup */
};
/* Reads delivery id; 404 when it is gone (its endpoint was deleted). */
int webhooks_store_job_row(struct lx_conn *c, const char *delivery_id,
    struct webhooks_job_row *out, struct lx_err *err);
void webhooks_job_row_cleanup(struct webhooks_job_row *r);
/*
 * Records one attempt of r (status 0: no response; error NULL: none) and
 * sets the delivery's state: "succeeded", "failed" or "pending", with one
 * more attempt counted when tried. When disable is set, the endpoint is
 * disabled too and an audit record says why (actor "system"). One
 * transaction.
 */
int webhooks_store_attempt(struct lx_conn *c, const struct webhooks_job_row *r,
    int tried, int64_t at_ms, int status, int64_t duration_ms,
    const char *error, const char *state, int disable, struct lx_err *err);

/* --- delivery (webhooks_deliver.c) --- */

/* What one POST gave. */
struct webhooks_result {
	int status; /* HTTP status; 0: no response */
	int64_t duration_ms; /* connect to response head (or failure) */
	struct lx_buf error; /* why it failed ("" on 2xx) */
};

/* The settings webhooks_init read (read-only after init). */
const struct webhooks_config *webhooks_config(void);

/* The destination rule webhooks_http_request applies to every address the
 * host resolves to, before connecting to it. */
enum webhooks_http_dest {
	WEBHOOKS_HTTP_DEST_WEBHOOK, /* webhooks_dest_refused with allow_http
				     * and allow_private */
	WEBHOOKS_HTTP_DEST_LISTED, /* the caller vetted the host (an
				    * allow-list): only
				    * WEBHOOKS_DEST_FORBIDDEN is refused */
};

/* How webhooks_http_request connects and reads. */
struct webhooks_http_opts {
	enum webhooks_http_dest dest; /* the destination rule */
	int allow_http; /* DEST_WEBHOOK: http to public addresses */
	int allow_private; /* DEST_WEBHOOK: loopback, private addresses */
	const char *ca_file; /* PEM bundle; NULL or "": the system's */
	const char *user_agent; /* User-Agent value; NULL: none sent */
	const char *who; /* names the client in errors ("webhooks") */
	int64_t deadline_ns; /* lx_mono_ns() time by which resolving,
			      * connecting, TLS, sending and the response
			      * (head and body) must be done */
	int body_wait_ms; /* > 0: the body must also be in within this
			   * long after the head */
	int partial_ok; /* 1: a body cut short (over max_body, past its
			 * deadline, closed early, broken) is kept as far
			 * as it came, with partial set, instead of failing */
	int skip_2xx_body; /* 1: the body of a 2xx is not read */
};

/* A response read by webhooks_http_request. */
struct webhooks_http_resp {
	int status; /* HTTP status; 0: no response head */
	struct lx_buf head; /* the status line and header lines (CRLF
			     * ended, validated by webhooks_resp_head),
			     * without the blank line */
	struct lx_buf body; /* the body, de-chunked, at most max_body
			     * bytes; may hold any byte, NUL included */
	int partial; /* 1: body was cut short (opts partial_ok) */
	int64_t head_ms; /* from the call to the response head */
};

/*
 * One HTTP/1.1 request with "Connection: close": method (an upper-case
 * token) to url (webhooks_url_parse's syntax), with Host, the User-Agent
 * of o, Content-Length (when len > 0 or for POST, PUT and PATCH),
 * Connection: close, then headers ("Name: value\r\n" lines, may be NULL;
 * the caller vets them) and body[0..len). Resolves the host (in a helper
 * thread, so the deadline holds while resolving), connects to the first
 * address o->dest allows, over TLS for https (certificate verified against
 * o->ca_file or the system bundle and the host name), and reads the whole
 * response: 1xx interim heads skipped, the body by Content-Length, chunked
 * (extensions and trailers skipped) or until the server closes; none for
 * HEAD, 1xx, 204 and 304. Redirects are not followed. Everything ends by
 * o->deadline_ns.
 *
 * out is always initialised (free with webhooks_http_resp_cleanup, also on
 * -1); status is set as soon as a head arrived. Returns 0 with a complete
 * (or, with partial_ok, partial) response of any status, or -1 with err:
 * 422 "invalid_url"; 403 "destination_refused" when every address breaks
 * the rule; 504 "http_timeout" when the deadline passed (resolving,
 * connecting, TLS, sending, waiting for the head or the body); 502
 * "http_too_large" for a body over max_body; 502 "http_failed" for the
 * rest (resolution, refused connection, TLS, not HTTP/1.x, head over
 * WEBHOOKS_HEAD_MAX, bad chunking, early close). Details name host:port,
 * never the path. Thread-safe; no global state.
 */
int webhooks_http_request(const struct webhooks_http_opts *o,
    const char *method, const char *url, const char *headers, const char *body,
    size_t len, size_t max_body, struct webhooks_http_resp *out,
    struct lx_err *err);
/* Frees what r holds (r itself is the caller's); accepts NULL. */
void webhooks_http_resp_cleanup(struct webhooks_http_resp *r);
/*
 * POSTs body[0..len) to url with the given extra header lines ("Name:
 * value\r\n" each) and Content-Type: application/json: connects to the
 * first address the host resolves to that the destination rule allows
 * (webhooks_url_allowed, webhooks_addr_class), over TLS for https (the
 * certificate verified against cfg->ca_file or the system bundle and the
 * host name), within cfg->timeout_ms from the lookup to the response
 * head (through webhooks_http_request); reads at most WEBHOOKS_BODY_KEEP
 * bytes of a non-2xx body for the error, for a second at most and within
 * the same timeout. Fills *res (lx_buf_cleanup res->error). Returns 0 for
 * a 2xx, -1 otherwise. Thread-safe; no global state.
 */
int webhooks_post(const struct webhooks_config *cfg, const char *url,
    const char *headers, const char *body, size_t len,
    struct webhooks_result *res);
/* The job handler of "webhooks.deliver" {"delivery_id", "max_attempts"}
 * (exported for tests; webhooks_init registers it). */
int webhooks_deliver_job(
    struct lx_conn *c, const char *payload_json, struct lx_err *err);
/* The module's init: reads the settings, registers the job kind. */
int webhooks_init(struct lx_server *srv, struct lx_err *err);

/* --- routes (webhooks_http.c) --- */
extern const struct lx_module webhooks_module;

#endif
