/*
 * Invitations to a tenant and the member limit. An owner or admin invites
 * an email address with a role; the invitee gets a single-use token (32
 * random bytes, base64url) through the mail outbox in the same transaction,
 * and only its SHA-256 hex is stored. Accepting (POST
 * /invitations/{token}/accept) happens outside /tenants/{id}: the caller is
 * not a member yet, so the invitation is found by its token hash as system
 * code, then the membership is written under a narrow context for that
 * tenant, all in one BEGIN IMMEDIATE transaction, where the member limit
 * is counted too. Statements go through p_invitations and p_memberships.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "audit.h"
#include "auth.h"
#include "mail.h"
#include "tenants.h"

#define TOKEN_BYTES 32
#define TOKEN_TEXT 44 /* base64url of TOKEN_BYTES + NUL */
#define TTL_DEFAULT_S (7 * 24 * 3600)
/* Until billing lands the limit is this configured default; a tenant's
 * plan will replace it then. */
#define MEMBER_LIMIT_DEFAULT 50

int64_t
tenants_conf_int(const struct lx_server *srv, const char *key, int64_t def,
    int64_t min, int64_t max)
{
	const char *v = lx_server_setting(srv, key);
	char *end;
	long long n;

	if (v == NULL)
		return (def);
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n < min || n > max) {
		lx_log(LX_LOG_WARN,
		    "setting %s=%s is not an integer from "
		    "%lld to %lld; using %lld",
		    key, v, (long long)min, (long long)max, (long long)def);
		return (def);
	}
	return (n);
}

/* 1 if tenants.member_limit is set (environment or config file): an
 * instance-wide limit that replaces the plans' (installs selling no
 * plans, tests). */
static int
member_limit_set(const struct lx_server *srv)
{
	const char *v = getenv("LUXIMA_TENANTS_MEMBER_LIMIT");

	return ((v != NULL && *v != '\0')
	    || lx_server_conf(srv, "tenants.member_limit") != NULL);
}

/* The member limit and, when the plan's quota function answered, the
 * member count it read (*used, else -1: the caller counts). */
static int
member_limit(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, int64_t *limit, int64_t *used, struct lx_err *err)
{
	*used = -1;
	if (member_limit_set(srv)) {
		*limit = tenants_conf_int(srv, "tenants.member_limit",
		    MEMBER_LIMIT_DEFAULT, 1, 1000000);
		return (0);
	}
	return (
	    lx_server_quota(srv, c, tenant_id, "members", limit, used, err));
}

int
tenants_member_limit(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, int64_t *limit, struct lx_err *err)
{
	int64_t used;

	return (member_limit(srv, c, tenant_id, limit, &used, err));
}

int
tenants_quota_room(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, const char *metric, struct lx_err *err)
{
	int64_t limit, used;

	if (lx_server_quota(srv, c, tenant_id, metric, &limit, &used, err)
	    == -1)
		return (-1);
	if (limit >= 0 && used >= limit)
		return (lx_err_set(err, 403, "quota_exceeded",
		    "the tenant's plan allows %lld %s (limit %s); upgrade the "
		    "plan or remove some first",
		    (long long)limit, metric, metric));
	return (0);
}

int
tenants_member_room(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, struct lx_err *err)
{
	int64_t limit, used;
	int n;

	if (member_limit(srv, c, tenant_id, &limit, &used, err) == -1)
		return (-1);
	if (used < 0) {
		if (tenants_store_member_count(c, &n, err) == -1)
			return (-1);
		used = n;
	}
	if (limit >= 0 && used >= limit)
		return (lx_err_set(err, 403, "quota_exceeded",
		    "the tenant has reached its limit of %lld members (limit "
		    "members); upgrade the plan or remove some first",
		    (long long)limit));
	return (0);
}

static void
invitation_json(const struct invitation *iv, struct lx_buf *b)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, iv->id);
	lx_buf_adds(b, ",\"tenant_id\":");
	lx_buf_add_json_str(b, iv->tenant_id);
	lx_buf_adds(b, ",\"email\":");
	lx_buf_add_json_str(b, iv->email);
	lx_buf_adds(b, ",\"role\":");
	lx_buf_add_json_str(b, iv->role);
	lx_buf_adds(b, ",\"invited_by\":");
	lx_buf_add_json_str_or_null(b, iv->invited_by);
	lx_buf_adds(b, ",\"created_at\":");
	lx_buf_add_time_json(b, iv->created_at);
	lx_buf_adds(b, ",\"expires_at\":");
	lx_buf_add_time_json(b, iv->expires_at);
	lx_buf_adds(b, "}");
}

static void
send_buf(struct lx_resp *resp, int status, struct lx_buf *b)
{
	lx_resp_json(resp, status, b->data != NULL ? b->data : "{}");
	lx_buf_cleanup(b);
}

/* The base of links in mail: auth.site_url, else the server's URL. */
static const char *
link_base(const struct lx_req *req)
{
	const struct auth_config *cfg = auth_config();

	if (cfg != NULL && cfg->site_url[0] != '\0')
		return (cfg->site_url);
	return (lx_server_url(req->srv));
}

/* Queues the invitation mail carrying tok, inside the open transaction. */
static int
invite_mail(const struct lx_req *req, const struct invitation *iv,
    const char *tok, int64_t ttl, struct lx_err *err)
{
	struct lx_buf text;
	int ret;

	lx_buf_init(&text);
	lx_buf_addf(&text,
	    "You are invited to join a Luxima tenant as %s.\n\n"
	    "Accept by opening this link while signed in as %s:\n\n"
	    "%s/accept-invitation?token=%s\n\n"
	    "or by sending POST /invitations/%s/accept.\n\n",
	    iv->role, iv->email, link_base(req), tok, tok);
	if (ttl >= 7200)
		lx_buf_addf(&text, "The link works once, for %lld hours.\n",
		    (long long)(ttl / 3600));
	else
		lx_buf_addf(&text, "The link works once, for %lld minutes.\n",
		    (long long)((ttl + 59) / 60));
	ret = mail_outbox_enqueue(req->db, iv->email,
	    "You are invited to join a tenant", text.data, "tenants.invitation",
	    NULL, err);
	if (text.data != NULL)
		sodium_memzero(text.data, text.len);
	lx_buf_cleanup(&text);
	return (ret);
}

int
tenants_invite_create(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *email = lx_req_body_str(req, "email");
	const char *role = lx_req_body_str(req, "role");
	unsigned char raw[TOKEN_BYTES];
	struct invitation iv;
	struct lx_buf b;
	char *tok = NULL, hash[65];
	int64_t ttl;
	size_t i;
	int ret = -1;

	memset(&iv, 0, sizeof(iv));
	lx_buf_init(&b);
	if (!mail_address_ok(email) || strlen(email) >= sizeof(iv.email)) {
		lx_err_set(err, 422, "invalid_email",
		    "email must be one address (local@domain)");
		ret = tenants_http_fail(req, resp, err);
		goto out;
	}
	/* The invitations table holds no owner role: an owner joins as
	 * admin and is then promoted by an owner. */
	if (!tenants_role_valid(role) || strcmp(role, "owner") == 0) {
		lx_err_set(err, 422, "invalid_role",
		    "role is admin, billing, member or viewer");
		ret = tenants_http_fail(req, resp, err);
		goto out;
	}
	for (i = 0; email[i] != '\0'; i++)
		iv.email[i] = (char)tolower((unsigned char)email[i]);
	snprintf(iv.role, sizeof(iv.role), "%s", role);
	snprintf(iv.tenant_id, sizeof(iv.tenant_id), "%s", req->tenant.id);
	snprintf(
	    iv.invited_by, sizeof(iv.invited_by), "%s", req->ident.user_id);
	auth_uuid(iv.id);
	ttl = tenants_conf_int(req->srv, "tenants.invitation_ttl_s",
	    TTL_DEFAULT_S, 1, 365LL * 24 * 3600);
	iv.created_at = lx_now_ms();
	iv.expires_at = iv.created_at + ttl * 1000;
	if ((tok = sodium_malloc(TOKEN_TEXT)) == NULL) {
		lx_err_set(err, 503, "out_of_memory", "out of secure memory");
		goto out;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(tok, TOKEN_TEXT, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	auth_sha256_hex(tok, hash);
	if (lx_conn_begin(req->db, err) == -1) {
		ret = tenants_http_fail(req, resp, err);
		goto out;
	}
	lx_buf_adds(&b, "{\"email\":");
	lx_buf_add_json_str(&b, iv.email);
	lx_buf_adds(&b, ",\"role\":");
	lx_buf_add_json_str(&b, iv.role);
	lx_buf_adds(&b, "}");
	if (tenants_store_invite_insert(req->db, &iv, hash, err) == -1
	    || invite_mail(req, &iv, tok, ttl, err) == -1
	    || tenants_http_audit(req, "invitation.create", iv.id, b.data, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1) {
		ret = tenants_http_fail_tx(req, resp, err);
		goto out;
	}
	lx_buf_reset(&b);
	invitation_json(&iv, &b);
	send_buf(resp, 201, &b);
	ret = 0;
out:
	lx_buf_cleanup(&b);
	if (tok != NULL)
		sodium_free(tok);
	return (ret);
}

int
tenants_invite_list(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct invitation *rows;
	struct lx_buf b;
	char after[40];
	int i, n, limit;

	if (tenants_page_args(req, &limit, after, err) == -1)
		return (tenants_http_fail(req, resp, err));
	rows = lx_calloc((size_t)limit + 1, sizeof(*rows));
	if (tenants_store_invites(
	        req->db, after, limit + 1, lx_now_ms(), rows, &n, err)
	    == -1) {
		lx_free(rows);
		return (tenants_http_fail(req, resp, err));
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"invitations\":[");
	for (i = 0; i < n && i < limit; i++) {
		if (i > 0)
			lx_buf_adds(&b, ",");
		invitation_json(&rows[i], &b);
	}
	lx_buf_adds(&b, "],\"next_cursor\":");
	if (n > limit)
		lx_buf_add_json_str(&b, rows[limit - 1].id);
	else
		lx_buf_adds(&b, "null");
	lx_buf_adds(&b, "}");
	lx_free(rows);
	send_buf(resp, 200, &b);
	return (0);
}

int
tenants_invite_revoke(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *id = lx_req_param(req, "invitation_id");

	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	if (tenants_store_invite_revoke(req->db, id, lx_now_ms(), err) == -1
	    || tenants_http_audit(req, "invitation.revoke", id, NULL, err) == -1
	    || lx_conn_commit(req->db, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	resp->status = 204;
	return (0);
}

/* Binds the context accepting acts under: the caller in the invitation's
 * tenant with just the permissions adding the membership needs. */
static int
accept_context(struct lx_req *req, const char *tenant, struct lx_err *err)
{
	static const char *const perms[] = { "members.read", "members.write" };
	struct lx_db_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.user_id = req->ident.user_id;
	ctx.tenant_id = tenant;
	ctx.perms = perms;
	ctx.nperms = 2;
	if (lx_conn_set_context(req->db, &ctx, err) == -1)
		return (-1);
	snprintf(req->tenant.id, sizeof(req->tenant.id), "%s", tenant);
	return (0);
}

int
tenants_invite_accept(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *tok = lx_req_param(req, "token");
	struct invitation iv;
	struct lx_buf b;
	char hash[65], uid[40];
	int64_t now = lx_now_ms();
	int rc;

	memset(&iv, 0, sizeof(iv));
	if (tok == NULL || strlen(tok) != TOKEN_TEXT - 1) {
		lx_err_set(
		    err, 404, "invitation_not_found", "no such invitation");
		return (tenants_http_fail(req, resp, err));
	}
	auth_sha256_hex(tok, hash);
	if (lx_conn_begin(req->db, err) == -1)
		return (tenants_http_fail(req, resp, err));
	/* The caller is no member yet: find the invitation as system code. */
	lx_conn_system_begin(req->db);
	rc = tenants_store_invite_by_hash(req->db, hash, &iv, err);
	lx_conn_system_end(req->db);
	if (rc == -1)
		return (tenants_http_fail_tx(req, resp, err));
	if (iv.accepted_at != 0 || iv.revoked_at != 0) {
		lx_err_set(
		    err, 404, "invitation_not_found", "no such invitation");
		return (tenants_http_fail_tx(req, resp, err));
	}
	if (strcasecmp(iv.email, req->ident.email) != 0) {
		lx_err_set(err, 403, "invitation_email_mismatch",
		    "this invitation is for another email address");
		return (tenants_http_fail_tx(req, resp, err));
	}
	if (iv.expires_at <= now) {
		lx_err_set(err, 410, "invitation_expired",
		    "this invitation has expired");
		return (tenants_http_fail_tx(req, resp, err));
	}
	snprintf(uid, sizeof(uid), "%s", req->ident.user_id);
	if (accept_context(req, iv.tenant_id, err) == -1
	    || tenants_member_room(req->srv, req->db, iv.tenant_id, err) == -1
	    || tenants_store_member_add(
	           req->db, iv.tenant_id, uid, iv.role, err)
	        == -1
	    || tenants_store_invite_accepted(req->db, iv.id, now, err) == -1)
		return (tenants_http_fail_tx(req, resp, err));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"invitation_id\":");
	lx_buf_add_json_str(&b, iv.id);
	lx_buf_adds(&b, ",\"role\":");
	lx_buf_add_json_str(&b, iv.role);
	lx_buf_adds(&b, "}");
	if (tenants_http_audit(req, "invitation.accept", uid, b.data, err) == -1
	    || tenants_member_event(
	           req->db, iv.tenant_id, "member.added", uid, iv.role, err)
	        == -1
	    || lx_conn_commit(req->db, err) == -1) {
		lx_buf_cleanup(&b);
		return (tenants_http_fail_tx(req, resp, err));
	}
	lx_buf_reset(&b);
	lx_buf_adds(&b, "{\"tenant_id\":");
	lx_buf_add_json_str(&b, iv.tenant_id);
	lx_buf_adds(&b, ",\"user_id\":");
	lx_buf_add_json_str(&b, uid);
	lx_buf_adds(&b, ",\"role\":");
	lx_buf_add_json_str(&b, iv.role);
	lx_buf_adds(&b, "}");
	send_buf(resp, 200, &b);
	return (0);
}

static const struct lx_field invite_fields[] = {
	{ "email", F_STRING, 1, 254 },
	{ "role", F_STRING, 1, 16 },
	{ NULL, 0, 0, 0 },
};
const struct lx_schema tenants_invite_schema = { invite_fields };
