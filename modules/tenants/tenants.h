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

/* --- invitations and the member limit (tenants_invites.c) --- */

/* The integer setting key (e.g. "tenants.invitation_ttl_s"): environment
 * LUXIMA_<KEY> with '.' as '_', then the config file; def when unset or
 * not an integer in [min, max] (logged). */
int64_t tenants_conf_int(const struct lx_server *srv, const char *key,
    int64_t def, int64_t min, int64_t max);
/* Inside the write transaction, under the tenant's context: 403
 * "quota_exceeded" naming the limit when the tenant already has
 * tenants.member_limit members (default 50 until plans carry it). */
int tenants_member_room(
    const struct lx_server *srv, struct lx_conn *c, struct lx_err *err);
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
/* The audit record of a change (actor, tenant, request id, address from
 * req), in req->db's transaction so it commits or rolls back with it. */
int tenants_http_audit(const struct lx_req *req, const char *action,
    const char *target, const char *detail, struct lx_err *err);
/* Parses ?limit=&cursor= (nothing else) for the tenant lists
 * (tenants_http.c). */
int tenants_page_args(
    const struct lx_req *req, int *limit, char after[40], struct lx_err *err);

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
/* The module's init: registers tenants_key_verify with the core. */
int tenants_keys_init(struct lx_server *srv, struct lx_err *err);

/* --- routes (tenants_http.c) --- */
extern const struct lx_module tenants_module;

#endif
