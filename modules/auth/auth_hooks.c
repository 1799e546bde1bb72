/*
 * The auth module's hook scripts (lua_scripts/auth/, run by
 * modules/functions/functions_hooks.c; contracts in lua_scripts/README.md):
 *
 *	auth/register	  before an account is created (auth_register, for
 *			  POST /auth/register and GoTrue's /auth/v1/signup)
 *	auth/login	  before a session is opened (auth_session_issue:
 *			  every sign-in path)
 *	auth/verifyToken  the "extra" object of /auth/verify's answer
 *
 * Each builds the script's request, reads its answer strictly and, when
 * the hook has no script, applies the default the built-in script also
 * implements, so removing a built-in changes nothing. register and login
 * fail closed (503 "hook_failed"), verifyToken fails open ("extra": {}).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "auth.h"
#include "functions.h"

#define HOOK_REGISTER "auth/register"
#define HOOK_LOGIN "auth/login"
#define HOOK_VERIFY "auth/verifyToken"
#define EXTRA_MAX 16384 /* bytes of the extra object */

/*
 * The default of auth/register: 1 if list (comma-separated domains,
 * spaces around them ignored, any case) is empty or holds the domain of
 * email exactly. The built-in lua_scripts/auth/register.lua does the same.
 */
static int
domain_allowed(const char *list, const char *email)
{
	const char *at = strrchr(email, '@'), *p, *e;
	size_t n, dlen;
	int any = 0;

	for (p = list; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		while (p < e && isspace((unsigned char)*p))
			p++;
		n = (size_t)(e - p);
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0)
			continue;
		any = 1;
		dlen = at != NULL ? strlen(at + 1) : 0;
		if (at != NULL && dlen == n && strncasecmp(at + 1, p, n) == 0)
			return (1);
	}
	return (!any);
}

/* Refuses with the decision d of hook. */
static int
refuse(const char *hook, const struct functions_decision *d, const char *who,
    struct lx_err *err)
{
	lx_log(LX_LOG_INFO, "hook %s refused %s: %s", hook, who, d->code);
	return (lx_err_set(err, d->status, d->code, "%s", d->reason));
}

static int
before_register(
    const struct auth_client *cl, const char *email, struct lx_err *err)
{
	const char *domains = auth_config()->allowed_email_domains;
	struct functions_decision d;
	struct lx_buf b;
	cJSON *out = NULL;
	int ret = -1;

	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"email\":");
	lx_buf_add_json_str(&b, email);
	lx_buf_adds(&b, ",\"address\":");
	lx_buf_add_json_str(
	    &b, cl != NULL && cl->address != NULL ? cl->address : "");
	lx_buf_adds(&b, ",\"settings\":{\"allowed_email_domains\":");
	lx_buf_add_json_str(&b, domains);
	lx_buf_adds(&b, "}}");
	if (functions_hook(HOOK_REGISTER, b.data, &out, err) == -1)
		goto out;
	if (out == NULL) { /* the default */
		if (!domain_allowed(domains, email)) {
			lx_err_set(err, 422, "email_domain_not_allowed",
			    "accounts with this email domain cannot be "
			    "registered here");
			goto out;
		}
		ret = 0;
		goto out;
	}
	if (functions_hook_decision(
	        HOOK_REGISTER, out, 403, "registration_denied", &d, err)
	    == -1)
		goto out;
	if (!d.allow) {
		refuse(HOOK_REGISTER, &d, "a registration", err);
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(out);
	lx_buf_cleanup(&b);
	return (ret);
}

static int
before_session(const struct auth_client *cl, const struct auth_user *u,
    const char *method, const char *aal, struct lx_err *err)
{
	struct functions_decision d;
	struct lx_buf b;
	cJSON *out = NULL;
	int ret = -1;

	if (!functions_hook_active(HOOK_LOGIN))
		return (0); /* the default: allow */
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"user\":");
	auth_user_json(u, &b);
	lx_buf_adds(&b, ",\"method\":");
	lx_buf_add_json_str(&b, method);
	lx_buf_adds(&b, ",\"aal\":");
	lx_buf_add_json_str(&b, aal);
	lx_buf_adds(&b, ",\"address\":");
	lx_buf_add_json_str(
	    &b, cl != NULL && cl->address != NULL ? cl->address : "");
	lx_buf_adds(&b, ",\"user_agent\":");
	lx_buf_add_json_str(
	    &b, cl != NULL && cl->user_agent != NULL ? cl->user_agent : "");
	lx_buf_adds(&b, "}");
	if (functions_hook(HOOK_LOGIN, b.data, &out, err) == -1)
		goto out;
	if (out != NULL) {
		/* A login refusal is always 403. */
		if (functions_hook_decision(
		        HOOK_LOGIN, out, 403, "login_denied", &d, err)
		    == -1)
			goto out;
		d.status = 403;
		if (!d.allow) {
			refuse(HOOK_LOGIN, &d, u->id, err);
			goto out;
		}
	}
	ret = 0;
out:
	cJSON_Delete(out);
	lx_buf_cleanup(&b);
	return (ret);
}

void
auth_hooks_init(void)
{
	static const struct auth_policy p = { before_register, before_session };

	auth_policy_set(&p);
}

void
auth_hooks_verify_extra(const struct lx_identity *id, struct lx_buf *b)
{
	const cJSON *extra;
	struct lx_buf req;
	struct lx_err err;
	cJSON *out = NULL;
	char *text = NULL;

	if (!functions_hook_active(HOOK_VERIFY)) {
		lx_buf_adds(b, "{}"); /* the default */
		return;
	}
	lx_buf_init(&req);
	lx_err_clear(&err);
	lx_buf_adds(&req, "{\"claims\":");
	lx_buf_adds(&req, id->claims_json != NULL ? id->claims_json : "{}");
	lx_buf_adds(&req, "}");
	/* Fails open: a failure leaves out NULL. */
	if (functions_hook(HOOK_VERIFY, req.data, &out, &err) == 0
	    && out != NULL) {
		extra = cJSON_GetObjectItemCaseSensitive(out, "extra");
		if (cJSON_GetArraySize(out) != 1 || !cJSON_IsObject(extra))
			functions_hook_bad(HOOK_VERIFY,
			    "the answer must be {extra = {...}} and nothing "
			    "else",
			    &err);
		else if ((text = cJSON_PrintUnformatted(extra)) == NULL
		    || strlen(text) > EXTRA_MAX)
			functions_hook_bad(HOOK_VERIFY,
			    "extra is larger than 16384 bytes", &err);
		else
			lx_buf_adds(b, text);
	}
	if (text == NULL || strlen(text) > EXTRA_MAX)
		lx_buf_adds(b, "{}");
	cJSON_free(text);
	cJSON_Delete(out);
	lx_buf_cleanup(&req);
}
