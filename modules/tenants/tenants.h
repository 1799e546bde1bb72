/*
 * Tenants and their members: the rules (tenants.c: slugs, names, roles),
 * the statements through the policy views (tenants_store.c) and the
 * /tenants routes (tenants_http.c). Every request reaches the tables
 * through a policy context the core bound (NEED_USER_CTX or
 * NEED_TENANT_PERM), never the base tables.
 */
#ifndef LX_TENANTS_H
#define LX_TENANTS_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "storage.h"

#define TENANTS_SLUG_MAX 48 /* bytes of a slug */
#define TENANTS_NAME_MAX 200 /* bytes of a name */
#define TENANTS_PAGE_DEFAULT 50
#define TENANTS_PAGE_MAX 100

struct tenant {
	char id[40];
	char slug[TENANTS_SLUG_MAX + 1];
	char name[TENANTS_NAME_MAX + 1];
	char owner_id[40];
	char plan[32];
	char status[16]; /* active, suspended, deleted */
	char role[16]; /* the caller's role, "" if none */
	int64_t created_at; /* ms since epoch */
	int64_t updated_at;
	int64_t deleted_at; /* 0 unless status is deleted */
	int64_t purge_at; /* when the purge job removes it; 0 if not deleted */
};

struct member {
	char user_id[40];
	char email[256];
	char role[16];
	int64_t created_at;
};

/* A pending (or, read by token, any) invitation; never its token. */
struct invitation {
	char id[40];
	char tenant_id[40];
	char email[256]; /* lowered */
	char role[16]; /* admin, billing, member, viewer */
	char invited_by[40]; /* "" if that user is gone */
	int64_t created_at; /* ms since epoch */
	int64_t expires_at;
	int64_t accepted_at; /* 0: not accepted */
	int64_t revoked_at; /* 0: not revoked */
};

/* What a tenant holds (v_tenant_summary). */
struct tenant_summary {
	int64_t members;
	int64_t service_keys; /* neither revoked nor expired */
	int64_t invitations_pending; /* neither accepted, revoked nor expired */
	int64_t last_activity_at; /* ms: its latest audit record or change */
};

/* A filter of GET /tenants/{id}/audit-logs; NULL or 0: no filter. */
struct tenant_audit_query {
	int64_t before_id; /* the cursor: records with a smaller id */
	const char *actor; /* exact */
	const char *action; /* exact */
	const char *action_like; /* LIKE pattern with '\' as escape */
	int64_t since; /* created_at >= since (ms) */
	int64_t until; /* created_at < until (ms) */
	int limit; /* rows to read */
};

/* One audit record of a tenant. */
struct tenant_audit {
	int64_t id;
	int64_t created_at;
	char actor[64];
	char action[64];
	char target[128];
	char request_id[80];
	char address[64];
	char *detail; /* JSON object text (heap) */
};

/* --- rules (tenants.c) --- */

/*
 * Normalises a slug into out (TENANTS_SLUG_MAX + 1 bytes): ASCII letters
 * lowered, spaces, '_' and '.' become '-', runs of '-' collapse, leading
 * and trailing '-' go. The result must be 3..48 characters of [a-z0-9-]
 * starting with a letter; anything else (other characters, too short or
 * long) is 422 "invalid_slug". Returns 0 or -1 with err.
 */
int tenants_slug_normalize(const char *in, char *out, struct lx_err *err);
/* A slug made from a name (normalised, non-slug characters dropped), with
 * a random suffix if too short; always valid. out as above. */
void tenants_slug_from_name(const char *name, char *out);
/* Checks a display name: 1..200 bytes of UTF-8 without control
 * characters, not only spaces. 422 "invalid_name" otherwise. */
int tenants_name_check(const char *name, struct lx_err *err);
/* 1 if role is a tenant role (owner, admin, billing, member, viewer). */
int tenants_role_valid(const char *role);

/* --- statements (tenants_store.c); c carries the request's context --- */

/* The caller's tenants (role included) with id > after ("" for the
 * first page), ordered by id, at most limit; *n rows into out[limit]. */
int tenants_store_list_mine(struct lx_conn *c, const char *after, int limit,
    struct tenant *out, int *n, struct lx_err *err);
/* Inserts t (the caller as owner_id) through p_tenants; a taken slug is
 * 409 "slug_taken". */
int tenants_store_insert(
    struct lx_conn *c, const struct tenant *t, struct lx_err *err);
/* The code of the instance's default plan into out (len bytes). */
int tenants_store_default_plan(
    struct lx_conn *c, char *out, size_t len, struct lx_err *err);
/* Reads the context's tenant; 404 if not visible or deleted. */
int tenants_store_get(
    struct lx_conn *c, const char *id, struct tenant *out, struct lx_err *err);
/* Writes name, slug, status and updated_at of t. */
int tenants_store_update(
    struct lx_conn *c, const struct tenant *t, struct lx_err *err);
/* Members of the context's tenant with user_id > after, by user_id. */
int tenants_store_members(struct lx_conn *c, const char *after, int limit,
    struct member *out, int *n, struct lx_err *err);
/* The user id of an account by id or email (exactly one non-NULL);
 * 404 "user_not_found" if none. out: 40 bytes. */
int tenants_store_user(struct lx_conn *c, const char *user_id,
    const char *email, char *out, struct lx_err *err);
/* The role of user in the context's tenant into role (16 bytes); 404
 * "member_not_found" if not a member. */
int tenants_store_member_role(
    struct lx_conn *c, const char *user_id, char *role, struct lx_err *err);
/* The number of owners of the context's tenant into *n. */
int tenants_store_owner_count(struct lx_conn *c, int *n, struct lx_err *err);
/* Adds user to tenant with role; 409 "already_member" if present. */
int tenants_store_member_add(struct lx_conn *c, const char *tenant,
    const char *user_id, const char *role, struct lx_err *err);
int tenants_store_member_set_role(struct lx_conn *c, const char *user_id,
    const char *role, struct lx_err *err);
int tenants_store_member_remove(
    struct lx_conn *c, const char *user_id, struct lx_err *err);

/* The number of members of the context's tenant into *n. */
int tenants_store_member_count(struct lx_conn *c, int *n, struct lx_err *err);
/* Inserts iv with token_hash (SHA-256 hex) through p_invitations; 409
 * "invitation_pending" if iv->email has a pending one in the tenant. Run
 * inside the write transaction. */
int tenants_store_invite_insert(struct lx_conn *c, const struct invitation *iv,
    const char *token_hash, struct lx_err *err);
/* Pending invitations (not accepted, revoked or expired at now) of the
 * context's tenant with id > after, by id, at most limit. */
int tenants_store_invites(struct lx_conn *c, const char *after, int limit,
    int64_t now, struct invitation *out, int *n, struct lx_err *err);
/* Marks a pending invitation of the context's tenant revoked or accepted
 * at now; 404 "invitation_not_found" if there is none. */
int tenants_store_invite_revoke(
    struct lx_conn *c, const char *id, int64_t now, struct lx_err *err);
int tenants_store_invite_accepted(
    struct lx_conn *c, const char *id, int64_t now, struct lx_err *err);
/* System code only (between lx_conn_system_begin and _end): the
 * invitation whose token hashes to token_hash, in a live tenant, whatever
 * its state; 404 "invitation_not_found" if none. */
int tenants_store_invite_by_hash(struct lx_conn *c, const char *token_hash,
    struct invitation *out, struct lx_err *err);

/* Inside the write transaction, after an owner was demoted or removed:
 * when the primary owner (owner_id) is no longer an owner, the earliest
 * remaining owner becomes it. */
int tenants_store_owner_fix(struct lx_conn *c, int64_t now, struct lx_err *err);
/* The context tenant's summary; 404 if not visible. */
int tenants_store_summary(
    struct lx_conn *c, struct tenant_summary *out, struct lx_err *err);
/* Up to q->limit audit records of the context's tenant, newest first,
 * into out[q->limit] (free each detail with tenants_audit_free). */
int tenants_store_audit(struct lx_conn *c, const struct tenant_audit_query *q,
    struct tenant_audit *out, int *n, struct lx_err *err);
/* Frees rows (an lx_calloc array of at least n) and their details. */
void tenants_audit_free(struct tenant_audit *rows, int n);
/* Under a platform admin's context: a deleted tenant becomes active again
 * (deleted_at and purge_at cleared); 404 if id is not a deleted tenant. */
int tenants_store_restore(
    struct lx_conn *c, const char *id, int64_t now, struct lx_err *err);
/* System code (no context): deletes tenant id (its memberships,
 * invitations and keys cascade) if it is deleted and its purge_at has
 * come; *purged says whether it did. */
int tenants_store_purge(struct lx_conn *c, const char *id, int64_t now,
    int *purged, struct lx_err *err);

/* --- invitations and the member limit (tenants_invites.c) --- */

/* The integer setting key (e.g. "tenants.invitation_ttl_s"): environment
 * LUXIMA_<KEY> with '.' as '_', then the config file; def when unset or
 * not an integer in [min, max] (logged). */
int64_t tenants_conf_int(const struct lx_server *srv, const char *key,
    int64_t def, int64_t min, int64_t max);
/* Inside the write transaction: 403 "quota_exceeded" naming the limit
 * when tenant_id already has as many members as its limit
 * (tenants_member_limit). */
int tenants_member_room(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, struct lx_err *err);
/* Inside the write transaction: 403 "quota_exceeded" naming metric when
 * the tenant's plan (lx_server_quota) allows no more of it. */
int tenants_quota_room(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, const char *metric, struct lx_err *err);
/* Handlers of the invitation routes (tenants_http.c's table). */
int tenants_invite_create(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int tenants_invite_list(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int tenants_invite_revoke(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int tenants_invite_accept(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
extern const struct lx_schema tenants_invite_schema;
/* Shared by the route files: a client error (4xx) becomes a problem
 * response and 0; anything else returns -1 for the core to log and answer
 * 500. _tx first rolls back req->db's transaction. */
int tenants_http_fail(
    const struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int tenants_http_fail_tx(
    const struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
/* Emits the webhook event type ("member.added", "member.removed") of a
 * membership change, {tenant_id, user_id, role}, in c's transaction
 * (webhooks_emit: endpoints and installed plugins' hooks of the tenant).
 * 0, or -1 with err. */
int tenants_member_event(struct lx_conn *c, const char *tenant_id,
    const char *type, const char *user_id, const char *role,
    struct lx_err *err);
/* The audit record of a change (actor, tenant, request id, address from
 * req), in req->db's transaction so it commits or rolls back with it. */
int tenants_http_audit(const struct lx_req *req, const char *action,
    const char *target, const char *detail, struct lx_err *err);
/* Parses ?limit=&cursor= (nothing else, but tenant_id on a tenant-context
 * route, which the core read) for the tenant lists (tenants_http.c). */
int tenants_page_args(
    const struct lx_req *req, int *limit, char after[40], struct lx_err *err);
/* The limit parameter a (TENANTS_PAGE_DEFAULT when absent): 400
 * "invalid_limit" unless 1..TENANTS_PAGE_MAX. */
int tenants_limit_arg(const struct lx_qarg *a, int *limit, struct lx_err *err);
/* Appends t as the API's tenant object; sends it as resp's body. */
void tenants_tenant_json(const struct tenant *t, struct lx_buf *b);
void tenants_send_tenant(
    struct lx_resp *resp, int status, const struct tenant *t);
/* The member limit of tenant_id into *limit (-1: none): the instance's
 * tenants.member_limit when configured, else the plan's (billing). */
int tenants_member_limit(const struct lx_server *srv, struct lx_conn *c,
    const char *tenant_id, int64_t *limit, struct lx_err *err);

/* --- lifecycle (tenants_lifecycle.c) --- */

/* DELETE /tenants/{id}: owners only; soft delete, purge job enqueued. */
int tenants_delete(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
/* POST /admin/tenants/{id}/restore: a platform admin, within the grace
 * period. */
int tenants_restore(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
/* POST /tenants/{id}/transfer-ownership {user_id}: owners only. */
int tenants_transfer(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
/* The module's init: the purge job and the key authenticator. */
int tenants_init(struct lx_server *srv, struct lx_err *err);

/* --- views (tenants_views.c) --- */

/* GET /tenants/{id}/audit-logs, GET /tenants/{id}/summary, GET /context. */
int tenants_audit_list(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int tenants_summary(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int tenants_context(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);

/* --- service keys (tenants_keys.c) --- */

/* The core's key authenticator (lx_key_authenticator): reads the key's
 * row by its prefix on every call, compares the secret's SHA-256 in
 * constant time, refuses revoked and expired keys and deleted tenants. */
int tenants_key_verify(struct lx_conn *c, const char *token, size_t len,
    struct lx_identity *out, struct lx_err *err);
/* Handlers of /tenants/{id}/api-keys (tenants_http.c's table). */
int tenants_key_create(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int tenants_key_list(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int tenants_key_revoke(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
extern const struct lx_schema tenants_key_schema;
/* The caller's permissions in the context's tenant: a key's own subset,
 * a user's through the bound context (their role's, every one for a
 * platform admin). */
int tenants_caller_perms(
    const struct lx_req *req, lx_perm_set *out, struct lx_err *err);
/* Appends set as a JSON array of permission names, in enum order. */
void tenants_perms_json(struct lx_buf *b, lx_perm_set set);
/* Registers tenants_key_verify with the core (the module's init). */
int tenants_keys_init(struct lx_server *srv, struct lx_err *err);

/* --- routes (tenants_http.c) --- */
extern const struct lx_module tenants_module;

#endif
