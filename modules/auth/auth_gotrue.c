/*
 * The Supabase Auth (GoTrue) compatible surface under /auth/v1: the subset
 * of GoTrue's HTTP API that @supabase/supabase-js uses for signUp,
 * signInWithPassword, getSession, getUser, refreshSession, updateUser and
 * signOut, plus the JWKS that getClaims() reads. Same paths, query
 * parameters, bodies, status codes and error JSON as GoTrue, so existing
 * apps keep their client unmodified. The handlers only translate: every
 * rule (policy, throttling, rotation, revocation, audit) is auth.c's.
 *
 * GoTrue clients send fields Luxima does not use (gotrue_meta_security,
 * code_challenge...): the schemas are open (LX_OTHER_FIELDS), the core
 * drops what is not declared. Errors leave in GoTrue's shape, through the
 * module's error renderer: {"code","message"} when the request names API
 * version 2024-01-01 or later in X-Supabase-Api-Version (echoed back), else
 * the older {"code":status,"error_code","msg"}; OAuth-style
 * {"error","error_description"} where GoTrue uses it (grant types).
 *
 * Not served: phone, OTP, OAuth providers, PKCE, anonymous sign-in, MFA
 * factors and the admin API. The apikey header is accepted whatever it
 * holds: Luxima has no anon key yet.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>
#include <sodium.h>

#include "auth.h"

#define API_VERSION "2024-01-01"

/*
 * 1 if the request asks for API version 2024-01-01 or later (GoTrue's
 * rule: a well-formed date at or after the first versioned API; anything
 * else is the initial version).
 */
static int
versioned(const struct lx_req *req)
{
	const char *v = lx_req_header(req, "X-Supabase-Api-Version");
	int i;

	if (v == NULL || strlen(v) != 10)
		return (0);
	for (i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? v[i] != '-' : v[i] < '0' || v[i] > '9')
			return (0);
	return (strcmp(v, API_VERSION) >= 0);
}

/* Appends GoTrue's weak_password reasons for the AUTH_WEAK_* bits. */
static void
weak_reasons(unsigned weak, struct lx_buf *b)
{
	int n = 0;

	lx_buf_adds(b, "[");
	if (weak & (AUTH_WEAK_SHORT | AUTH_WEAK_LONG))
		lx_buf_adds(b, n++ ? ",\"length\"" : "\"length\"");
	if (weak & AUTH_WEAK_COMMON)
		lx_buf_adds(b, n++ ? ",\"pwned\"" : "\"pwned\"");
	if (weak & AUTH_WEAK_EMAIL)
		lx_buf_adds(
		    b, n++ ? ",\"contains_email\"" : "\"contains_email\"");
	lx_buf_adds(b, "]");
}

/* GoTrue's message for a refused password. */
static const char *
weak_message(unsigned weak)
{
	if (weak & AUTH_WEAK_SHORT)
		return ("Password should be at least 10 characters.");
	if (weak & AUTH_WEAK_LONG)
		return ("Password should be at most 1024 characters.");
	if (weak & AUTH_WEAK_COMMON)
		return (
		    "Password is known to be weak and easy to guess, please "
		    "choose a different one.");
	return ("Password should not contain the email address.");
}

/*
 * Makes resp a GoTrue error: status, error code, message and, for a weak
 * password, its reasons. The shape follows the requested API version.
 */
static void
gt_error(const struct lx_req *req, struct lx_resp *resp, int status,
    const char *code, const char *msg, unsigned weak)
{
	struct lx_buf *b = &resp->body;

	resp->status = status;
	resp->content_type = "application/json";
	lx_buf_reset(b);
	if (versioned(req)) {
		lx_resp_header(resp, "X-Supabase-Api-Version", API_VERSION);
		lx_buf_adds(b, "{\"code\":");
		lx_buf_add_json_str(b, code);
		lx_buf_adds(b, ",\"message\":");
	} else {
		lx_buf_addf(b, "{\"code\":%d,\"error_code\":", status);
		lx_buf_add_json_str(b, code);
		lx_buf_adds(b, ",\"msg\":");
	}
	lx_buf_add_json_str(b, msg);
	if (weak != 0) {
		lx_buf_adds(b, ",\"weak_password\":{\"reasons\":");
		weak_reasons(weak, b);
		lx_buf_adds(b, "}");
	}
	lx_buf_adds(b, "}");
}

/* GoTrue's OAuth-style error: 400 {"error","error_description"}. */
static void
gt_oauth_error(struct lx_resp *resp, const char *error, const char *desc)
{
	resp->status = 400;
	resp->content_type = "application/json";
	lx_buf_reset(&resp->body);
	lx_buf_adds(&resp->body, "{\"error\":");
	lx_buf_add_json_str(&resp->body, error);
	lx_buf_adds(&resp->body, ",\"error_description\":");
	lx_buf_add_json_str(&resp->body, desc);
	lx_buf_adds(&resp->body, "}");
}

/*
 * A rule's failure in GoTrue's terms. 5xx go back to the core (logged,
 * then rendered generic by render()); the codes GoTrue clients act on are
 * translated, the others keep Luxima's code and detail.
 */
static int
gt_fail(const struct lx_req *req, struct lx_resp *resp, struct lx_err *err,
    unsigned weak, int64_t retry_after)
{
	char ra[24];

	if (err->status < 400 || err->status >= 500)
		return (-1);
	if (strcmp(err->code, "invalid_credentials") == 0)
		gt_error(req, resp, 400, "invalid_credentials",
		    "Invalid login credentials", 0);
	else if (strcmp(err->code, "email_not_confirmed") == 0)
		gt_error(req, resp, 400, "email_not_confirmed",
		    "Email not confirmed", 0);
	else if (strcmp(err->code, "weak_password") == 0)
		gt_error(
		    req, resp, 422, "weak_password", weak_message(weak), weak);
	else if (strcmp(err->code, "same_password") == 0)
		gt_error(req, resp, 422, "same_password",
		    "New password should be different from the old password.",
		    0);
	else if (strcmp(err->code, "email_taken") == 0)
		gt_error(req, resp, 422, "user_already_exists",
		    "User already registered", 0);
	else if (strcmp(err->code, "invalid_email") == 0)
		gt_error(req, resp, 400, "validation_failed",
		    "Unable to validate email address: invalid format", 0);
	else if (strcmp(err->code, "invalid_refresh_token") == 0)
		gt_error(req, resp, 400, "refresh_token_not_found",
		    "Invalid Refresh Token: Refresh Token Not Found", 0);
	else if (strcmp(err->code, "refresh_token_reused") == 0)
		gt_error(req, resp, 400, "refresh_token_already_used",
		    "Invalid Refresh Token: Already Used", 0);
	else if (err->status == 429) {
		gt_error(
		    req, resp, 429, "over_request_rate_limit", err->detail, 0);
		if (retry_after > 0) {
			snprintf(
			    ra, sizeof(ra), "%lld", (long long)retry_after);
			lx_resp_header(resp, "Retry-After", ra);
		}
	} else if (err->status == 404)
		gt_error(req, resp, 404, "user_not_found",
		    "User from sub claim in JWT does not exist", 0);
	else
		gt_error(req, resp, err->status, err->code, err->detail, 0);
	return (0);
}

/*
 * The module's error renderer: failures the core found before or after a
 * handler (identity, body, 5xx), in GoTrue's words.
 */
static void
render(const struct lx_req *req, const struct lx_err *err, const char *field,
    struct lx_resp *resp)
{
	char msg[sizeof(err->detail) + 64];

	(void)field;
	if (strcmp(err->code, "invalid_json") == 0
	    || strcmp(err->code, "wrong_type") == 0
	    || strcmp(err->code, "duplicate_field") == 0
	    || strcmp(err->code, "incomplete_body") == 0) {
		snprintf(msg, sizeof(msg),
		    "Could not parse request body as JSON: %s", err->detail);
		gt_error(req, resp, 400, "bad_json", msg, 0);
	} else if (strcmp(err->code, "too_long") == 0
	    || strcmp(err->code, "missing_field") == 0)
		gt_error(req, resp, 422, "validation_failed", err->detail, 0);
	else if (strcmp(err->code, "missing_token") == 0)
		gt_error(req, resp, 401, "no_authorization",
		    "This endpoint requires a valid Bearer token", 0);
	else if (strcmp(err->code, "invalid_token") == 0
	    && strcmp(err->detail, AUTH_REVOKED_DETAIL) == 0)
		gt_error(req, resp, 403, "session_not_found",
		    "Session from session_id claim in JWT does not exist", 0);
	else if (strcmp(err->code, "invalid_token") == 0) {
		snprintf(msg, sizeof(msg),
		    "invalid JWT: unable to parse or verify signature, %s",
		    err->detail);
		gt_error(req, resp, 403, "bad_jwt", msg, 0);
	} else if (err->status >= 500)
		gt_error(req, resp, err->status,
		    err->status == 503 ? "request_timeout"
		                       : "unexpected_failure",
		    err->detail, 0);
	else
		gt_error(req, resp, err->status, err->code, err->detail, 0);
}

/* --- the user object and the session --- */

/* Appends "name":time when ms is set (GoTrue omits empty times). */
static void
opt_time(struct lx_buf *b, const char *name, int64_t ms)
{
	if (ms <= 0)
		return;
	lx_buf_addf(b, ",\"%s\":", name);
	lx_buf_add_time_json(b, ms);
}

/*
 * Appends GoTrue's user object for u with its stored user_metadata (meta,
 * a JSON object text, or NULL for "{}"); identities is 0 for the stand-in
 * of an existing email (GoTrue sends it with none).
 */
static void
user_json(const struct auth_user *u, const char *meta, int identities,
    struct lx_buf *b)
{
	lx_buf_adds(b, "{\"id\":");
	lx_buf_add_json_str(b, u->id);
	lx_buf_adds(b,
	    ",\"aud\":\"authenticated\",\"role\":\"authenticated\","
	    "\"email\":");
	lx_buf_add_json_str(b, u->email);
	opt_time(b, "email_confirmed_at", u->email_confirmed_at);
	lx_buf_adds(b, ",\"phone\":\"\"");
	opt_time(b, "confirmed_at", u->email_confirmed_at);
	opt_time(b, "last_sign_in_at", u->last_sign_in_at);
	lx_buf_adds(b,
	    ",\"app_metadata\":{\"provider\":\"email\","
	    "\"providers\":[\"email\"]");
	if (u->platform_admin)
		lx_buf_adds(b, ",\"platform_admin\":true");
	lx_buf_addf(b, "},\"user_metadata\":%s,\"identities\":[",
	    meta != NULL ? meta : "{}");
	if (identities) {
		/* One email identity; Luxima keeps no separate identity id. */
		lx_buf_adds(b, "{\"identity_id\":");
		lx_buf_add_json_str(b, u->id);
		lx_buf_adds(b, ",\"id\":");
		lx_buf_add_json_str(b, u->id);
		lx_buf_adds(b, ",\"user_id\":");
		lx_buf_add_json_str(b, u->id);
		lx_buf_adds(b, ",\"identity_data\":{\"email\":");
		lx_buf_add_json_str(b, u->email);
		lx_buf_addf(b,
		    ",\"email_verified\":%s,\"phone_verified\":false,"
		    "\"sub\":",
		    u->email_confirmed_at > 0 ? "true" : "false");
		lx_buf_add_json_str(b, u->id);
		lx_buf_adds(b, "},\"provider\":\"email\"");
		opt_time(b, "last_sign_in_at", u->last_sign_in_at);
		lx_buf_adds(b, ",\"created_at\":");
		lx_buf_add_time_json(b, u->created_at);
		lx_buf_adds(b, ",\"updated_at\":");
		lx_buf_add_time_json(b, u->updated_at);
		lx_buf_adds(b, ",\"email\":");
		lx_buf_add_json_str(b, u->email);
		lx_buf_adds(b, "}");
	}
	lx_buf_adds(b, "],\"created_at\":");
	lx_buf_add_time_json(b, u->created_at);
	lx_buf_adds(b, ",\"updated_at\":");
	lx_buf_add_time_json(b, u->updated_at);
	lx_buf_adds(b, ",\"is_anonymous\":false}");
}

/* Sends u (re-read, with its metadata) as GoTrue's user object. */
static int
send_user(struct lx_req *req, struct lx_resp *resp, const char *user_id,
    struct lx_err *err)
{
	struct auth_user u;
	struct lx_buf b;
	char *meta = NULL;

	if (auth_user_get(req->db, user_id, &u, err) == -1
	    || auth_user_metadata(req->db, user_id, &meta, err) == -1)
		return (gt_fail(req, resp, err, 0, 0));
	lx_buf_init(&b);
	user_json(&u, meta, 1, &b);
	lx_free(meta);
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}

/* Sends a session (GoTrue's AccessTokenResponse), not cacheable, and wipes
 * and frees the tokens. */
static int
send_session(struct lx_req *req, struct lx_resp *resp, struct auth_tokens *t,
    struct lx_err *err)
{
	struct lx_buf b;
	char *meta = NULL;

	if (auth_user_metadata(req->db, t->user.id, &meta, err) == -1) {
		auth_tokens_cleanup(t);
		return (gt_fail(req, resp, err, 0, 0));
	}
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"access_token\":");
	lx_buf_add_json_str(&b, t->access_token);
	lx_buf_addf(&b,
	    ",\"token_type\":\"bearer\",\"expires_in\":%lld,"
	    "\"expires_at\":%lld,\"refresh_token\":",
	    (long long)t->expires_in, (long long)t->expires_at);
	lx_buf_add_json_str(&b, t->refresh_token);
	lx_buf_adds(&b, ",\"user\":");
	user_json(&t->user, meta, 1, &b);
	lx_buf_adds(&b, "}");
	lx_free(meta);
	lx_resp_json(resp, 200, b.data);
	sodium_memzero(b.data, b.len);
	lx_buf_cleanup(&b);
	lx_resp_header(resp, "Cache-Control", "no-store");
	auth_tokens_cleanup(t);
	return (0);
}

/*
 * The user_metadata patch in the body's "data" member, printed, into
 * *out (lx_free; NULL when absent or empty). 422 when too long.
 */
static int
data_patch(const struct lx_req *req, struct lx_resp *resp, char **out)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(req->body, "data");
	char *text;

	*out = NULL;
	if (!cJSON_IsObject(d) || d->child == NULL)
		return (0);
	if ((text = cJSON_PrintUnformatted(d)) == NULL)
		return (-1);
	if (strlen(text) > AUTH_METADATA_MAX) {
		cJSON_free(text);
		gt_error(
		    req, resp, 422, "validation_failed", "data is too long", 0);
		return (-1);
	}
	*out = lx_strdup(text);
	cJSON_free(text);
	return (0);
}

/* --- handlers --- */

/* POST /auth/v1/signup: an account and, unless the email must be
 * confirmed first, its first session. */
static int
h_signup(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(req->body, "data"), "name");
	const char *email = lx_req_body_str(req, "email");
	const char *pw = lx_req_body_str(req, "password");
	struct auth_client cl;
	struct auth_user u, known;
	struct auth_tokens t;
	struct lx_buf b;
	struct lx_err e2;
	char *patch = NULL;
	unsigned weak = 0;
	int rc, ret = 0;

	auth_http_client(req, &cl);
	if (email == NULL || *email == '\0') {
		if (lx_req_body_str(req, "phone") != NULL)
			gt_error(req, resp, 422, "phone_provider_disabled",
			    "Phone signups are disabled", 0);
		else
			gt_error(req, resp, 400, "validation_failed",
			    "To signup, please provide your email", 0);
		goto out;
	}
	if (pw == NULL || *pw == '\0') {
		gt_error(req, resp, 422, "validation_failed",
		    "Signup requires a valid password", 0);
		goto out;
	}
	if (data_patch(req, resp, &patch) == -1) {
		if (resp->status == 0)
			ret = lx_err_set(
			    err, 503, "out_of_memory", "out of memory");
		goto out;
	}
	rc = auth_register(req->db, &cl, email, pw,
	    cJSON_IsString(name) && strlen(name->valuestring) <= AUTH_NAME_MAX
	        ? name->valuestring
	        : NULL,
	    &u, &weak, err);
	lx_req_body_wipe(req, "password");
	if (rc == -1) {
		ret = gt_fail(req, resp, err, weak, 0);
		goto out;
	}
	lx_err_clear(&e2);
	if (auth_user_get(req->db, u.id, &known, &e2) == -1) {
		if (e2.status != 404) {
			*err = e2;
			ret = -1;
			goto out;
		}
		/* The email was taken and is not revealed: GoTrue's stand-in
		 * user, without identities and without a session. */
		lx_buf_init(&b);
		user_json(&u, NULL, 0, &b);
		lx_resp_json(resp, 200, b.data);
		lx_buf_cleanup(&b);
		goto out;
	}
	if (patch != NULL
	    && auth_user_metadata_merge(req->db, &cl, u.id, patch, err) == -1) {
		ret = gt_fail(req, resp, err, 0, 0);
		goto out;
	}
	if (u.email_confirmed_at == 0) {
		/* Confirmation first: the user, no session. */
		ret = send_user(req, resp, u.id, err);
		goto out;
	}
	if (auth_session_issue(req->db, &cl, &u, "password", "aal1", &t, err)
	    == -1) {
		ret = gt_fail(req, resp, err, 0, 0);
		goto out;
	}
	ret = send_session(req, resp, &t, err);
out:
	lx_free(patch);
	return (ret);
}

/* The value of name in a raw query string into buf; 1 if present. */
static int
query_param(const char *query, const char *name, char *buf, size_t size)
{
	size_t n, len = strlen(name);
	const char *p;

	for (p = query; p != NULL && *p != '\0';) {
		n = strcspn(p, "&");
		if (n > len && strncmp(p, name, len) == 0 && p[len] == '=') {
			snprintf(
			    buf, size, "%.*s", (int)(n - len - 1), p + len + 1);
			return (1);
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return (0);
}

static int
grant_password(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *email = lx_req_body_str(req, "email");
	const char *pw = lx_req_body_str(req, "password");
	struct auth_client cl;
	struct auth_tokens t;
	int64_t retry = 0;
	int rc;

	if (email == NULL || *email == '\0') {
		if (lx_req_body_str(req, "phone") != NULL)
			gt_error(req, resp, 422, "phone_provider_disabled",
			    "Phone logins are disabled", 0);
		else
			gt_error(req, resp, 400, "validation_failed",
			    "missing email or phone", 0);
		return (0);
	}
	auth_http_client(req, &cl);
	rc = auth_login(
	    req->db, &cl, email, pw != NULL ? pw : "", &t, &retry, err);
	lx_req_body_wipe(req, "password");
	if (rc == -1)
		return (gt_fail(req, resp, err, 0, retry));
	return (send_session(req, resp, &t, err));
}

static int
grant_refresh(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *rt = lx_req_body_str(req, "refresh_token");
	struct auth_client cl;
	struct auth_tokens t;
	int rc;

	if (rt == NULL || *rt == '\0') {
		gt_oauth_error(
		    resp, "invalid_request", "refresh_token required");
		return (0);
	}
	auth_http_client(req, &cl);
	rc = auth_refresh(req->db, &cl, rt, &t, err);
	lx_req_body_wipe(req, "refresh_token");
	if (rc == -1)
		return (gt_fail(req, resp, err, 0, 0));
	return (send_session(req, resp, &t, err));
}

/* POST /auth/v1/token?grant_type=password|refresh_token. */
static int
h_token(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	char grant[32];

	if (!query_param(req->query, "grant_type", grant, sizeof(grant)))
		grant[0] = '\0';
	if (strcmp(grant, "password") == 0)
		return (grant_password(req, resp, err));
	if (strcmp(grant, "refresh_token") == 0)
		return (grant_refresh(req, resp, err));
	gt_oauth_error(resp, "unsupported_grant_type",
	    "grant_type must be password or refresh_token");
	return (0);
}

/* GET /auth/v1/user. */
static int
h_user_get(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	return (send_user(req, resp, req->ident.user_id, err));
}

/* PUT /auth/v1/user: a new password and/or user_metadata ("data"). */
static int
h_user_put(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	const char *email = lx_req_body_str(req, "email");
	const char *phone = lx_req_body_str(req, "phone");
	const char *pw = lx_req_body_str(req, "password");
	struct auth_client cl;
	char *patch = NULL;
	unsigned weak = 0;
	int rc, ret = 0;

	auth_http_client(req, &cl);
	if (email != NULL && strcasecmp(email, req->ident.email) != 0) {
		gt_error(req, resp, 422, "validation_failed",
		    "Changing the email address is not supported by this "
		    "server",
		    0);
		goto out;
	}
	if (phone != NULL && *phone != '\0') {
		gt_error(req, resp, 422, "phone_provider_disabled",
		    "Phone logins are disabled", 0);
		goto out;
	}
	if (data_patch(req, resp, &patch) == -1) {
		if (resp->status == 0)
			ret = lx_err_set(
			    err, 503, "out_of_memory", "out of memory");
		goto out;
	}
	if (pw != NULL) {
		rc = auth_password_set(
		    req->db, &cl, &req->ident, pw, &weak, err);
		lx_req_body_wipe(req, "password");
		if (rc == -1) {
			ret = gt_fail(req, resp, err, weak, 0);
			goto out;
		}
	}
	if (patch != NULL
	    && auth_user_metadata_merge(
	           req->db, &cl, req->ident.user_id, patch, err)
	        == -1) {
		ret = gt_fail(req, resp, err, 0, 0);
		goto out;
	}
	ret = send_user(req, resp, req->ident.user_id, err);
out:
	lx_free(patch);
	return (ret);
}

/* POST /auth/v1/logout?scope=global (default)|local|others: 204. */
static int
h_logout(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct auth_client cl;
	enum auth_scope scope = AUTH_SCOPE_ALL;
	char v[16];

	if (query_param(req->query, "scope", v, sizeof(v))) {
		if (strcmp(v, "global") == 0)
			scope = AUTH_SCOPE_ALL;
		else if (strcmp(v, "local") == 0)
			scope = AUTH_SCOPE_LOCAL;
		else if (strcmp(v, "others") == 0)
			scope = AUTH_SCOPE_OTHERS;
		else {
			gt_error(req, resp, 400, "validation_failed",
			    "Unsupported logout scope", 0);
			return (0);
		}
	}
	auth_http_client(req, &cl);
	if (auth_logout(req->db, &cl, &req->ident, scope, err) == -1)
		return (gt_fail(req, resp, err, 0, 0));
	resp->status = 204;
	return (0);
}

/* GET /auth/v1/.well-known/jwks.json: the same keys as /.well-known. */
static int
h_jwks(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct lx_buf b;

	(void)req;
	(void)err;
	lx_buf_init(&b);
	auth_keys_jwks(&b);
	lx_resp_json(resp, 200, b.data != NULL ? b.data : "{\"keys\":[]}");
	lx_buf_cleanup(&b);
	lx_resp_header(resp, "Cache-Control", "public, max-age=300");
	return (0);
}

/* Bodies: what GoTrue reads; anything else a client sends is dropped. */
static const struct lx_field signup_fields[] = {
	{ "email", F_STRING, 0, AUTH_EMAIL_MAX },
	{ "phone", F_STRING, 0, 64 },
	{ "password", F_STRING, 0, AUTH_PASSWORD_MAX },
	{ "data", F_OBJECT, 0, 0 },
	{ LX_OTHER_FIELDS, F_STRING, 0, 0 },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema signup_schema = { signup_fields };

static const struct lx_field token_fields[] = {
	{ "email", F_STRING, 0, AUTH_EMAIL_MAX },
	{ "phone", F_STRING, 0, 64 },
	{ "password", F_STRING, 0, AUTH_PASSWORD_MAX },
	{ "refresh_token", F_STRING, 0, 1024 },
	{ LX_OTHER_FIELDS, F_STRING, 0, 0 },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema token_schema = { token_fields };

static const struct lx_field user_fields[] = {
	{ "email", F_STRING, 0, AUTH_EMAIL_MAX },
	{ "phone", F_STRING, 0, 64 },
	{ "password", F_STRING, 0, AUTH_PASSWORD_MAX },
	{ "data", F_OBJECT, 0, 0 },
	{ LX_OTHER_FIELDS, F_STRING, 0, 0 },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema user_schema = { user_fields };

static const struct lx_route gotrue_routes[] = {
	{ "/auth/v1/signup", M_POST, NEED_ANON, &signup_schema, h_signup },
	{ "/auth/v1/token", M_POST, NEED_ANON, &token_schema, h_token },
	{ "/auth/v1/user", M_GET, NEED_USER, NULL, h_user_get },
	{ "/auth/v1/user", M_PUT, NEED_USER, &user_schema, h_user_put },
	{ "/auth/v1/logout", M_POST, NEED_USER, NULL, h_logout },
	{ "/auth/v1/.well-known/jwks.json", M_GET, NEED_ANON, NULL, h_jwks },
	{ NULL, 0, NEED_ANON, NULL, NULL },
};

/* Registers the GoTrue error shape for these routes; the auth module's
 * init (before this one in lx_modules[]) loaded keys and settings. */
static int
gotrue_init(struct lx_server *srv, struct lx_err *err)
{
	return (lx_server_set_error_renderer(srv, gotrue_routes, render, err));
}

const struct lx_module gotrue_module = {
	"gotrue",
	gotrue_routes,
	gotrue_init,
	NULL,
};
