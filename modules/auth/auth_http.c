/*
 * The native /auth routes and the JWKS document: the route table, and
 * handlers that turn validated bodies into calls to the rules in auth.c
 * and their results into JSON. The module's init loads settings, keys and
 * the revoked set, and registers auth_verify_token as the core's
 * authenticator. Handlers never parse tokens: NEED_USER routes find the
 * caller in req->ident.
 */
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "auth.h"

static struct lx_server *server; /* for config-file lookups at init */

void
auth_http_client(const struct lx_req *req, struct auth_client *cl)
{
	cl->address = req->remote_addr;
	cl->user_agent = lx_req_header(req, "User-Agent");
	cl->request_id = req->request_id;
}

/*
 * Turns a rule's failure into the response: 5xx go back to the core
 * (logged, detail hidden); client errors become a problem naming field,
 * with the password rules broken (weak) or Retry-After (429).
 */
static int
fail(const struct lx_req *req, struct lx_resp *resp, struct lx_err *err,
    const char *field, unsigned weak, int64_t retry_after)
{
	char ra[24];

	if (err->status < 400 || err->status >= 500)
		return (-1);
	resp->status = err->status;
	resp->content_type = "application/problem+json";
	lx_buf_reset(&resp->body);
	if (strcmp(err->code, "invalid_email") == 0)
		field = "email";
	lx_problem_json(&resp->body, err->status, err->code, err->detail,
	    req->request_id, field);
	if (weak != 0) {
		resp->body.len--; /* reopen the object */
		lx_buf_adds(&resp->body, ",\"reasons\":");
		auth_weak_json(weak, &resp->body);
		lx_buf_adds(&resp->body, "}");
	}
	if (err->status == 429 && retry_after > 0) {
		snprintf(ra, sizeof(ra), "%lld", (long long)retry_after);
		lx_resp_header(resp, "Retry-After", ra);
	}
	if (err->status == 401 && strcmp(err->code, "invalid_token") == 0)
		lx_resp_header(resp, "WWW-Authenticate",
		    "Bearer realm=\"luxima\", error=\"invalid_token\"");
	return (0);
}

static void
send_buf(struct lx_resp *resp, int status, struct lx_buf *b)
{
	lx_resp_json(resp, status, b->data != NULL ? b->data : "{}");
	lx_buf_cleanup(b);
}

static int
h_register(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	struct auth_user u;
	struct lx_buf b;
	unsigned weak = 0;
	int rc;

	auth_http_client(req, &cl);
	rc = auth_register(req->db, &cl, lx_req_body_str(req, "email"),
	    lx_req_body_str(req, "password"), lx_req_body_str(req, "name"), &u,
	    &weak, err);
	lx_req_body_wipe(req, "password");
	if (rc == -1)
		return (fail(req, resp, err,
		    strcmp(err->code, "weak_password") == 0 ? "password" : NULL,
		    weak, 0));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"user\":");
	auth_user_json(&u, &b);
	lx_buf_adds(&b, "}");
	send_buf(resp, 201, &b);
	return (0);
}

/* Sends a token pair (not cacheable) and wipes and frees the tokens. */
static void
send_tokens(struct lx_resp *resp, struct auth_tokens *t)
{
	struct lx_buf b;

	lx_buf_init(&b);
	auth_tokens_json(t, &b);
	lx_resp_json(resp, 200, b.data);
	sodium_memzero(b.data, b.len);
	lx_buf_cleanup(&b);
	lx_resp_header(resp, "Cache-Control", "no-store");
	auth_tokens_cleanup(t);
}

static int
h_login(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	struct auth_tokens t;
	int64_t retry = 0;
	int rc;

	struct auth_user u;
	struct auth_mfa_challenge ch;
	struct lx_buf b;
	int required = 0;

	auth_http_client(req, &cl);
	rc = auth_login_password(req->db, &cl, lx_req_body_str(req, "email"),
	    lx_req_body_str(req, "password"), &u, &retry, err);
	lx_req_body_wipe(req, "password");
	if (rc == -1)
		return (fail(req, resp, err, NULL, 0, retry));
	if (auth_mfa_begin(req->db, &cl, &u, &required, &ch, err) == -1)
		return (fail(req, resp, err, NULL, 0, 0));
	if (required) {
		/* A second factor is due: no session yet. */
		lx_buf_init(&b);
		lx_buf_adds(&b, "{\"mfa_required\":true,\"mfa_token\":");
		lx_buf_add_json_str(&b, ch.token);
		lx_buf_addf(&b,
		    ",\"expires_in\":%lld,\"factors\":[{\"id\":\"%s\","
		    "\"type\":\"totp\"}]}",
		    (long long)ch.expires_in, ch.factor_id);
		lx_resp_json(resp, 200, b.data);
		sodium_memzero(b.data, b.len);
		sodium_memzero(&ch, sizeof(ch));
		lx_buf_cleanup(&b);
		lx_resp_header(resp, "Cache-Control", "no-store");
		return (0);
	}
	if (auth_session_issue(req->db, &cl, &u, "password", "aal1", &t, err)
	    == -1)
		return (fail(req, resp, err, NULL, 0, 0));
	send_tokens(resp, &t);
	return (0);
}

static int
h_login_mfa(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	struct auth_tokens t;
	int64_t retry = 0;
	int rc;

	auth_http_client(req, &cl);
	rc = auth_mfa_login(req->db, &cl, lx_req_body_str(req, "mfa_token"),
	    lx_req_body_str(req, "code"), &t, &retry, err);
	lx_req_body_wipe(req, "mfa_token");
	lx_req_body_wipe(req, "code");
	if (rc == -1)
		return (fail(req, resp, err,
		    strcmp(err->code, "invalid_mfa_code") == 0 ? "code" : NULL,
		    0, retry));
	send_tokens(resp, &t);
	return (0);
}

static int
h_mfa_enroll(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	struct auth_totp_enrollment e;
	struct lx_buf b;

	auth_http_client(req, &cl);
	if (auth_mfa_enroll(req->db, &cl, &req->ident, &e, err) == -1)
		return (fail(req, resp, err, NULL, 0, 0));
	lx_buf_init(&b);
	lx_buf_addf(&b,
	    "{\"factor_id\":\"%s\",\"type\":\"totp\",\"secret\":", e.factor_id);
	lx_buf_add_json_str(&b, e.secret);
	lx_buf_adds(&b, ",\"uri\":");
	lx_buf_add_json_str(&b, e.uri);
	lx_buf_adds(&b, "}");
	lx_resp_json(resp, 201, b.data);
	sodium_memzero(b.data, b.len);
	sodium_memzero(&e, sizeof(e));
	lx_buf_cleanup(&b);
	lx_resp_header(resp, "Cache-Control", "no-store");
	return (0);
}

static int
h_mfa_confirm(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	struct auth_recovery_codes codes;
	struct lx_buf b;
	int64_t retry = 0;
	int i, rc;

	auth_http_client(req, &cl);
	rc = auth_mfa_confirm(req->db, &cl, &req->ident,
	    lx_req_body_str(req, "factor_id"), lx_req_body_str(req, "code"),
	    &codes, &retry, err);
	lx_req_body_wipe(req, "code");
	if (rc == -1)
		return (fail(req, resp, err,
		    strcmp(err->code, "invalid_mfa_code") == 0 ? "code" : NULL,
		    0, retry));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"factor_id\":");
	lx_buf_add_json_str(&b, lx_req_body_str(req, "factor_id"));
	lx_buf_adds(&b, ",\"status\":\"verified\",\"recovery_codes\":[");
	for (i = 0; i < AUTH_RECOVERY_CODES; i++)
		lx_buf_addf(&b, "%s\"%s\"", i ? "," : "", codes.code[i]);
	lx_buf_adds(&b, "]}");
	lx_resp_json(resp, 200, b.data);
	sodium_memzero(b.data, b.len);
	sodium_memzero(&codes, sizeof(codes));
	lx_buf_cleanup(&b);
	lx_resp_header(resp, "Cache-Control", "no-store");
	return (0);
}

static int
h_mfa_delete(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	int64_t retry = 0;
	int rc;

	auth_http_client(req, &cl);
	rc = auth_mfa_disable(req->db, &cl, &req->ident,
	    lx_req_param(req, "factor_id"), lx_req_body_str(req, "code"),
	    lx_req_body_str(req, "password"), &retry, err);
	lx_req_body_wipe(req, "code");
	lx_req_body_wipe(req, "password");
	if (rc == -1)
		return (fail(req, resp, err,
		    strcmp(err->code, "missing_field") == 0 ? "code" : NULL, 0,
		    retry));
	resp->status = 204;
	return (0);
}

static int
h_refresh(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	struct auth_tokens t;
	int rc;

	auth_http_client(req, &cl);
	rc = auth_refresh(
	    req->db, &cl, lx_req_body_str(req, "refresh_token"), &t, err);
	lx_req_body_wipe(req, "refresh_token");
	if (rc == -1)
		return (fail(req, resp, err, NULL, 0, 0));
	send_tokens(resp, &t);
	return (0);
}

/* {"valid":true, user_id, session_id, email, exp, claims, extra}: extra
 * from the auth/verifyToken hook ({} by default). */
static void
send_identity(struct lx_resp *resp, const struct lx_identity *id)
{
	struct lx_buf b;

	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"valid\":true,\"user_id\":");
	lx_buf_add_json_str(&b, id->user_id);
	lx_buf_adds(&b, ",\"session_id\":");
	lx_buf_add_json_str(&b, id->session_id);
	lx_buf_adds(&b, ",\"email\":");
	lx_buf_add_json_str(&b, id->email);
	lx_buf_addf(&b,
	    ",\"exp\":%lld,\"claims\":%s,\"extra\":", (long long)id->exp,
	    id->claims_json != NULL ? id->claims_json : "{}");
	auth_hooks_verify_extra(id, &b);
	lx_buf_adds(&b, "}");
	send_buf(resp, 200, &b);
}

static int
h_verify_get(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	(void)err;
	send_identity(resp, &req->ident);
	return (0);
}

static int
h_verify_post(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct lx_identity id;
	const char *tok = lx_req_body_str(req, "token");

	if (auth_verify_token(tok, strlen(tok), &id, err) == -1) {
		err->status = 401;
		snprintf(err->code, sizeof(err->code), "invalid_token");
		return (fail(req, resp, err, NULL, 0, 0));
	}
	send_identity(resp, &id);
	return (0);
}

/* The logout scope from the query: local (default), all/global, others. */
static int
scope_of(const char *query, enum auth_scope *scope, struct lx_err *err)
{
	const char *p, *v;
	size_t n;

	*scope = AUTH_SCOPE_LOCAL;
	for (p = query; p != NULL && *p != '\0';) {
		n = strcspn(p, "&");
		if (n > 6 && strncmp(p, "scope=", 6) == 0) {
			v = p + 6;
			n -= 6;
			if (n == 5 && strncmp(v, "local", 5) == 0)
				*scope = AUTH_SCOPE_LOCAL;
			else if ((n == 3 && strncmp(v, "all", 3) == 0)
			    || (n == 6 && strncmp(v, "global", 6) == 0))
				*scope = AUTH_SCOPE_ALL;
			else if (n == 6 && strncmp(v, "others", 6) == 0)
				*scope = AUTH_SCOPE_OTHERS;
			else
				return (lx_err_set(err, 400, "invalid_scope",
				    "scope must be local, all or others"));
			n += 6;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return (0);
}

static int
h_logout(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	enum auth_scope scope;

	if (scope_of(req->query, &scope, err) == -1)
		return (fail(req, resp, err, "scope", 0, 0));
	auth_http_client(req, &cl);
	if (auth_logout(req->db, &cl, &req->ident, scope, err) == -1)
		return (fail(req, resp, err, NULL, 0, 0));
	resp->status = 204;
	return (0);
}

static int
h_me(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_user u;
	struct lx_buf b;

	if (auth_user_get(req->db, req->ident.user_id, &u, err) == -1)
		return (fail(req, resp, err, NULL, 0, 0));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"user\":");
	auth_user_json(&u, &b);
	lx_buf_adds(&b, ",\"session_id\":");
	lx_buf_add_json_str(&b, req->ident.session_id);
	lx_buf_adds(&b, "}");
	send_buf(resp, 200, &b);
	return (0);
}

static int
h_sessions(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_session *v = NULL;
	struct lx_buf b;
	int i, n = 0;

	if (auth_sessions_list(req->db, req->ident.user_id, &v, &n, err) == -1)
		return (fail(req, resp, err, NULL, 0, 0));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"sessions\":[");
	for (i = 0; i < n; i++) {
		lx_buf_adds(&b, i ? ",{\"id\":" : "{\"id\":");
		lx_buf_add_json_str(&b, v[i].id);
		lx_buf_adds(&b, ",\"created_at\":");
		lx_buf_add_time_json(&b, v[i].created_at);
		lx_buf_adds(&b, ",\"refreshed_at\":");
		lx_buf_add_time_json(&b, v[i].refreshed_at);
		lx_buf_adds(&b, ",\"user_agent\":");
		lx_buf_add_json_str(&b, v[i].user_agent);
		lx_buf_adds(&b, ",\"ip\":");
		lx_buf_add_json_str(&b, v[i].ip);
		lx_buf_adds(&b, ",\"aal\":");
		lx_buf_add_json_str(&b, v[i].aal);
		lx_buf_addf(&b, ",\"current\":%s}",
		    strcmp(v[i].id, req->ident.session_id) == 0 ? "true"
		                                                : "false");
	}
	lx_buf_adds(&b, "]}");
	lx_free(v);
	send_buf(resp, 200, &b);
	return (0);
}

static int
h_session_delete(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;

	auth_http_client(req, &cl);
	if (auth_session_revoke(
	        req->db, &cl, &req->ident, lx_req_param(req, "id"), err)
	    == -1)
		return (fail(req, resp, err, NULL, 0, 0));
	resp->status = 204;
	return (0);
}

static int
h_password(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	unsigned weak = 0;
	int rc;

	auth_http_client(req, &cl);
	rc = auth_password_change(req->db, &cl, &req->ident,
	    lx_req_body_str(req, "current_password"),
	    lx_req_body_str(req, "new_password"), &weak, err);
	lx_req_body_wipe(req, "current_password");
	lx_req_body_wipe(req, "new_password");
	if (rc == -1)
		return (fail(req, resp, err,
		    strcmp(err->code, "weak_password") == 0 ? "new_password"
		        : strcmp(err->code, "invalid_credentials") == 0
		        ? "current_password"
		        : NULL,
		    weak, 0));
	resp->status = 204;
	return (0);
}

/* 202 with a message: the request was taken. */
static void
send_accepted(struct lx_resp *resp, const char *message)
{
	struct lx_buf b;

	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"message\":");
	lx_buf_add_json_str(&b, message);
	lx_buf_adds(&b, "}");
	send_buf(resp, 202, &b);
}

static int
h_verify_email_request(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	int64_t retry = 0;

	auth_http_client(req, &cl);
	if (auth_email_verify_request(req->db, &cl, &req->ident, &retry, err)
	    == -1)
		return (fail(req, resp, err, NULL, 0, retry));
	send_accepted(
	    resp, "a verification link was sent to the email address");
	return (0);
}

static int
h_verify_email(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	struct auth_user u;
	struct lx_buf b;
	int rc;

	auth_http_client(req, &cl);
	rc = auth_email_verify(
	    req->db, &cl, lx_req_body_str(req, "token"), &u, err);
	lx_req_body_wipe(req, "token");
	if (rc == -1)
		return (fail(req, resp, err,
		    strcmp(err->code, "invalid_token") == 0 ? "token" : NULL, 0,
		    0));
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"user\":");
	auth_user_json(&u, &b);
	lx_buf_adds(&b, "}");
	send_buf(resp, 200, &b);
	return (0);
}

static int
h_password_forgot(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	int64_t retry = 0;

	auth_http_client(req, &cl);
	if (auth_password_forgot(
	        req->db, &cl, lx_req_body_str(req, "email"), &retry, err)
	    == -1)
		return (fail(req, resp, err, NULL, 0, retry));
	send_accepted(resp,
	    "if an account with this email exists, a reset link was sent to "
	    "it");
	return (0);
}

static int
h_password_reset(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	unsigned weak = 0;
	int rc;

	auth_http_client(req, &cl);
	rc = auth_password_reset(req->db, &cl, lx_req_body_str(req, "token"),
	    lx_req_body_str(req, "new_password"), &weak, err);
	lx_req_body_wipe(req, "token");
	lx_req_body_wipe(req, "new_password");
	if (rc == -1)
		return (fail(req, resp, err,
		    strcmp(err->code, "weak_password") == 0 ? "new_password"
		        : strcmp(err->code, "invalid_token") == 0 ? "token"
		                                                  : NULL,
		    weak, 0));
	resp->status = 204;
	return (0);
}

static int
h_jwks(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct lx_buf b;

	(void)req;
	(void)err;
	lx_buf_init(&b);
	auth_keys_jwks(&b);
	send_buf(resp, 200, &b);
	lx_resp_header(resp, "Cache-Control", "public, max-age=300");
	return (0);
}

static const struct lx_field register_fields[] = {
	{ "email", F_STRING, 1, AUTH_EMAIL_MAX },
	{ "password", F_STRING, 1, AUTH_PASSWORD_MAX },
	{ "name", F_STRING, 0, AUTH_NAME_MAX },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema register_schema = { register_fields };

static const struct lx_field login_fields[] = {
	{ "email", F_STRING, 1, AUTH_EMAIL_MAX },
	{ "password", F_STRING, 1, AUTH_PASSWORD_MAX },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema login_schema = { login_fields };

static const struct lx_field refresh_fields[] = {
	{ "refresh_token", F_STRING, 1, 256 },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema refresh_schema = { refresh_fields };

static const struct lx_field verify_fields[] = {
	{ "token", F_STRING, 1, 4 * AUTH_TOKEN_MAX },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema verify_schema = { verify_fields };

static const struct lx_field password_fields[] = {
	{ "current_password", F_STRING, 1, AUTH_PASSWORD_MAX },
	{ "new_password", F_STRING, 1, AUTH_PASSWORD_MAX },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema password_schema = { password_fields };

static const struct lx_field email_token_fields[] = {
	{ "token", F_STRING, 1, AUTH_EMAIL_TOKEN_MAX },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema email_token_schema = { email_token_fields };

static const struct lx_field forgot_fields[] = {
	{ "email", F_STRING, 1, AUTH_EMAIL_MAX },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema forgot_schema = { forgot_fields };

static const struct lx_field reset_fields[] = {
	{ "token", F_STRING, 1, AUTH_EMAIL_TOKEN_MAX },
	{ "new_password", F_STRING, 1, AUTH_PASSWORD_MAX },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema reset_schema = { reset_fields };

static const struct lx_field login_mfa_fields[] = {
	{ "mfa_token", F_STRING, 1, AUTH_MFA_TOKEN_MAX },
	{ "code", F_STRING, 1, 32 },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema login_mfa_schema = { login_mfa_fields };

static const struct lx_field mfa_confirm_fields[] = {
	{ "factor_id", F_STRING, 1, AUTH_ID_SIZE - 1 },
	{ "code", F_STRING, 1, 32 },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema mfa_confirm_schema = { mfa_confirm_fields };

static const struct lx_field mfa_delete_fields[] = {
	{ "code", F_STRING, 0, 32 },
	{ "password", F_STRING, 0, AUTH_PASSWORD_MAX },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema mfa_delete_schema = { mfa_delete_fields };

static const struct lx_route auth_routes[] = {
	{ "/auth/register", M_POST, NEED_ANON, &register_schema, h_register },
	{ "/auth/login", M_POST, NEED_ANON, &login_schema, h_login },
	{ "/auth/login/mfa", M_POST, NEED_ANON, &login_mfa_schema,
	    h_login_mfa },
	{ "/auth/mfa/totp/enroll", M_POST, NEED_USER, NULL, h_mfa_enroll },
	{ "/auth/mfa/totp/confirm", M_POST, NEED_USER, &mfa_confirm_schema,
	    h_mfa_confirm },
	{ "/auth/mfa/totp/{factor_id}", M_DELETE, NEED_USER, &mfa_delete_schema,
	    h_mfa_delete },
	{ "/auth/refresh", M_POST, NEED_ANON, &refresh_schema, h_refresh },
	{ "/auth/verify", M_GET, NEED_USER, NULL, h_verify_get },
	{ "/auth/verify", M_POST, NEED_ANON, &verify_schema, h_verify_post },
	{ "/auth/logout", M_POST, NEED_USER, NULL, h_logout },
	{ "/auth/me", M_GET, NEED_USER, NULL, h_me },
	{ "/auth/sessions", M_GET, NEED_USER, NULL, h_sessions },
	{ "/auth/sessions/{id}", M_DELETE, NEED_USER, NULL, h_session_delete },
	{ "/auth/password", M_POST, NEED_USER, &password_schema, h_password },
	{ "/auth/verify-email/request", M_POST, NEED_USER, NULL,
	    h_verify_email_request },
	{ "/auth/verify-email", M_POST, NEED_ANON, &email_token_schema,
	    h_verify_email },
	{ "/auth/password/forgot", M_POST, NEED_ANON, &forgot_schema,
	    h_password_forgot },
	{ "/auth/password/reset", M_POST, NEED_ANON, &reset_schema,
	    h_password_reset },
	{ "/.well-known/jwks.json", M_GET, NEED_ANON, NULL, h_jwks },
	{ NULL, 0, NEED_ANON, NULL, NULL },
};

static const char *
conf_lookup(const char *key)
{
	return (server != NULL ? lx_server_conf(server, key) : NULL);
}

static const char *
server_url(void)
{
	return (server != NULL ? lx_server_url(server) : NULL);
}

static int
auth_mod_init(struct lx_server *srv, struct lx_err *err)
{
	server = srv;
	if (auth_init(lx_db_conn(lx_server_db(srv)), conf_lookup, err) == -1)
		return (-1);
	auth_email_default_url(server_url);
	auth_hooks_init();
	lx_server_set_authenticator(srv, auth_verify_token);
	return (0);
}

static void
auth_mod_shutdown(void)
{
	auth_shutdown();
	auth_policy_set(NULL);
	auth_email_default_url(NULL);
	server = NULL;
}

const struct lx_module auth_module = {
	"auth",
	auth_routes,
	auth_mod_init,
	auth_mod_shutdown,
};
