/*
 * Plugins: bundles of Lua edge functions that a publisher packs and signs
 * offline (`luxima plugin keygen|pack|sign|verify`) and a tenant installs
 * from the registry. A bundle (".lxp") is one JSON object holding a
 * manifest (what the plugin is, the permissions it asks for, the events it
 * hooks, the routes it serves, the settings a tenant gives it), its Lua
 * files and an Ed25519 signature over a canonical digest of both. The
 * format is described at the top of plugins_bundle.c.
 *
 * Files: plugins_bundle.c (the bundle format, canonical digest,
 * signature, manifest and tenant config validation; fuzzed by
 * tests/fuzz/fuzz_bundle.c), plugins_json.c (a bundle's JSON text and the
 * canonical JSON of the digest), plugins_semver.c (semantic versions),
 * plugins_keys.c (key ids and key files), plugins_int.h (what these
 * share). No HTTP and no database in any of them.
 */
#ifndef LX_PLUGINS_H
#define LX_PLUGINS_H

#include <stddef.h>
#include <stdint.h>

#include "lx.h"

struct cJSON;

/* --- bundles (plugins_bundle.c) --- */

#define PLUGINS_FORMAT "luxima-plugin/1" /* the bundle's "format" tag */
#define PLUGINS_BUNDLE_MAX ((size_t)1 << 20) /* bytes of a bundle file */
#define PLUGINS_FILE_MAX ((size_t)256 << 10) /* decoded bytes of a file */
#define PLUGINS_FILES_MAX 64 /* files in a bundle */
#define PLUGINS_PATH_MAX 200 /* bytes of a file path or a route path */
#define PLUGINS_SEGMENTS_MAX 8 /* segments of a route path */
#define PLUGINS_ROUTES_MAX 64 /* routes in a manifest */
#define PLUGINS_NAME_MAX 64 /* bytes of a name or publisher */
#define PLUGINS_DESC_MAX 500 /* bytes of a description */
#define PLUGINS_VERSION_MAX 128 /* bytes of a version or min_luxima */
#define PLUGINS_CONFIG_MAX 32 /* fields in a manifest's config */
#define PLUGINS_CONFIG_NAME_MAX 64 /* bytes of a config field's name */
#define PLUGINS_CONFIG_STRING_MAX 65536 /* bytes of a string setting */
#define PLUGINS_INT_MAX 9007199254740991LL /* 2^53 - 1: exact in a double */
#define PLUGINS_PK_BYTES 32 /* Ed25519 public key */
#define PLUGINS_SK_BYTES 64 /* libsodium Ed25519 secret key (seed || pk) */
#define PLUGINS_SIG_BYTES 64 /* Ed25519 signature */
#define PLUGINS_DIGEST_BYTES 32 /* SHA-256 */
#define PLUGINS_KEY_ID_SIZE 17 /* 16 lowercase hex digits + NUL */

/* The platform events a hook may name (the webhook event types). */
enum plugins_event {
	PLUGINS_EVENT_INVOICE_CREATED, /* "invoice.created" */
	PLUGINS_EVENT_INVOICE_FINALIZED, /* "invoice.finalized" */
	PLUGINS_EVENT_INVOICE_PAID, /* "invoice.paid" */
	PLUGINS_EVENT_INVOICE_VOIDED, /* "invoice.voided" */
	PLUGINS_EVENT_SUBSCRIPTION_CREATED, /* "subscription.created" */
	PLUGINS_EVENT_SUBSCRIPTION_UPDATED, /* "subscription.updated" */
	PLUGINS_EVENT_SUBSCRIPTION_CANCELED, /* "subscription.canceled" */
	PLUGINS_EVENT_MEMBER_ADDED, /* "member.added" */
	PLUGINS_EVENT_MEMBER_REMOVED, /* "member.removed" */
	PLUGINS_EVENT_COUNT
};

/* The methods a route may serve: one bit each. */
enum plugins_method {
	PLUGINS_METHOD_GET = 1u << 0,
	PLUGINS_METHOD_POST = 1u << 1,
	PLUGINS_METHOD_PUT = 1u << 2,
	PLUGINS_METHOD_PATCH = 1u << 3,
	PLUGINS_METHOD_DELETE = 1u << 4,
};

/* The type of a config field's value. */
enum plugins_config_type {
	PLUGINS_CONFIG_STRING, /* "string": a JSON string */
	PLUGINS_CONFIG_INTEGER, /* "integer": within +-(2^53 - 1) */
	PLUGINS_CONFIG_BOOLEAN, /* "boolean" */
	PLUGINS_CONFIG_NUMBER, /* "number": any finite number */
};

/* A hook: the file whose handler runs when the event happens. */
struct plugin_hook {
	enum plugins_event event; /* which event */
	char *file; /* path of the handler in the bundle's files */
};

/* A route the plugin serves, below the plugin's mount point. */
struct plugin_route {
	unsigned method; /* one enum plugins_method bit */
	char *path; /* "/hello"; "/" or [a-z0-9._-]+ segments */
	char *file; /* path of the handler in the bundle's files */
};

/* A setting a tenant gives the plugin (plugins_config_validate). */
struct plugin_config_field {
	char *name; /* ^[a-z][a-z0-9_]{0,63}$ */
	enum plugins_config_type type; /* the value's type */
	int required; /* 1: a tenant must give it (when no default) */
	struct cJSON *def; /* the default (owned), or NULL */
	size_t max; /* strings: most bytes (PLUGINS_CONFIG_STRING_MAX
		     * when the manifest gave none); 0 otherwise */
};

/* A parsed, validated manifest. Strings are NUL-terminated, owned by the
 * bundle holding the manifest. */
struct plugin_manifest {
	char *name; /* ^[a-z][a-z0-9-]{1,63}$ */
	char *version; /* Semantic Versioning 2.0.0 */
	char *description; /* 1..500 bytes, no control characters */
	char *publisher; /* same rule as name */
	char *min_luxima; /* oldest Luxima version it runs on (semver) */
	unsigned perms; /* enum edge_perm bits (edge.h) it asks for */
	struct plugin_hook *hooks; /* in the manifest's order */
	size_t nhooks;
	struct plugin_route *routes; /* in the manifest's order */
	size_t nroutes;
	struct plugin_config_field *config; /* in byte order of name */
	size_t nconfig;
};

/* One Lua file of a bundle. */
struct plugin_file {
	char *path; /* relative: "routes/hello.lua" */
	char *data; /* the decoded bytes (UTF-8 text, no NUL), NUL-terminated */
	size_t len; /* bytes in data, without the trailing NUL */
};

/* A parsed bundle (plugins_bundle_parse, plugins_bundle_pack). Free with
 * plugins_bundle_free(). */
struct plugin_bundle {
	struct plugin_manifest manifest; /* validated */
	struct plugin_file *files; /* in byte order of path */
	size_t nfiles;
	char *manifest_json; /* the canonical manifest JSON (see the format) */
	unsigned char digest[PLUGINS_DIGEST_BYTES]; /* the canonical digest */
	int has_signature; /* 1: key_id and sig are set */
	char key_id[PLUGINS_KEY_ID_SIZE]; /* the signer's key id */
	unsigned char sig[PLUGINS_SIG_BYTES]; /* Ed25519 over digest */
};

/* Reads the file at path (relative, already validated) for
 * plugins_bundle_pack: on success returns 0 and sets *data (lx_malloc'd,
 * freed by the caller) and *len; on failure returns -1 and fills err. It
 * need not read more than PLUGINS_FILE_MAX + 1 bytes. */
typedef int (*plugins_read_fn)(
    void *ud, const char *path, char **data, size_t *len, struct lx_err *err);

/*
 * Parses and validates a bundle file (data, len bytes; need not be
 * NUL-terminated): the format, the manifest, the files and their limits,
 * and the signature's shape, and computes the canonical digest. Does NOT
 * check the signature (plugins_bundle_verify does). On success returns 0
 * and sets *out (free with plugins_bundle_free()); on failure returns -1,
 * sets *out to NULL and fills err with status 400 and one of:
 * "too_large" (the bundle, a file or the number of files),
 * "invalid_bundle" (not JSON, wrong format tag, unknown or repeated
 * member, bad file path, bad base64, a file that is not UTF-8 text, a
 * malformed signature), "invalid_manifest" (the detail starts with the
 * field, e.g. "manifest.routes[1].path: ..."), "missing_file" (a hook or
 * route names a file the bundle lacks), "unused_file" (a file nothing
 * references). Pure; thread-safe.
 */
int plugins_bundle_parse(const char *data, size_t len,
    struct plugin_bundle **out, struct lx_err *err);

/*
 * Makes an unsigned bundle from a manifest (JSON text, len bytes) and the
 * files its hooks and routes name, each read once through reader(ud, ...)
 * in byte order of path. Same rules and errors as plugins_bundle_parse
 * (the manifest's errors name "manifest.<field>"), plus whatever reader
 * fails with, and 400 "too_large" when the serialized bundle would exceed
 * PLUGINS_BUNDLE_MAX. On success returns 0 and sets *out (free with
 * plugins_bundle_free()); on failure returns -1 and sets *out to NULL.
 */
int plugins_bundle_pack(const char *manifest_json, size_t len,
    plugins_read_fn reader, void *ud, struct plugin_bundle **out,
    struct lx_err *err);

/*
 * Signs b with the libsodium Ed25519 secret key sk (PLUGINS_SK_BYTES,
 * which the caller keeps in sodium_malloc memory): sets b->key_id, b->sig
 * and b->has_signature, replacing any earlier signature. Returns 0, or -1
 * with 500 "sign_failed". sk is only read; nothing of it is kept.
 */
int plugins_bundle_sign(
    struct plugin_bundle *b, const unsigned char *sk, struct lx_err *err);

/*
 * Checks b's signature against the public key pk: 0 when it was made by
 * pk's secret key over b's contents; else -1 with 400 "unsigned_bundle",
 * "key_mismatch" (b names another key id) or "bad_signature". The digest
 * is recomputed from b's manifest and files. Pure; thread-safe.
 */
int plugins_bundle_verify(const struct plugin_bundle *b,
    const unsigned char pk[PLUGINS_PK_BYTES], struct lx_err *err);

/*
 * The canonical bundle file for b: the format's members with keys in byte
 * order and no whitespace or trailing newline, so that parsing the result
 * gives back the same digest, files and signature, and serializing that
 * gives the same bytes. Returns the text (NUL-terminated, lx_malloc'd;
 * the caller frees it) and sets *len to its length.
 */
char *plugins_bundle_serialize(const struct plugin_bundle *b, size_t *len);

/* The file of b at path, or NULL. */
const struct plugin_file *plugins_bundle_file(
    const struct plugin_bundle *b, const char *path);

/* Frees b and everything it holds. Accepts NULL. */
void plugins_bundle_free(struct plugin_bundle *b);

/* The name of ev ("invoice.paid"), or NULL when out of range. */
const char *plugins_event_name(enum plugins_event ev);
/* Sets *ev to the event named name; 0, or -1 when there is none. */
int plugins_event_by_name(const char *name, enum plugins_event *ev);
/* The name of one method bit ("GET"), or NULL. */
const char *plugins_method_name(unsigned method);
/* The bit of the method named name (upper case), or 0. */
unsigned plugins_method_by_name(const char *name);

/*
 * Validates a tenant's settings for a plugin (config: a JSON object, or
 * NULL for none) against the manifest's config fields. On success returns
 * 0 and sets *normalized_json (lx_malloc'd; the caller frees it) to the
 * settings as a JSON object with keys in byte order, defaults filled in
 * for fields not given. On failure returns -1, sets *normalized_json to
 * NULL and fills err with status 422 and one of "invalid_config" (config
 * is not an object), "unknown_field" (naming the member),
 * "duplicate_field", "wrong_type", "too_long" (a string longer than the
 * field's max bytes), "missing_field" (a required field not given and
 * without default); the detail starts with "config.<field>: ". Pure.
 */
int plugins_config_validate(const struct plugin_manifest *m,
    const struct cJSON *config, char **normalized_json, struct lx_err *err);

/* --- versions (plugins_semver.c) --- */

/* A parsed version (plugins_semver_parse). Pointers are into the string
 * that was parsed. */
struct plugin_semver {
	uint64_t major, minor, patch;
	const char *pre; /* pre-release identifiers ("alpha.1"), or NULL */
	size_t pre_len;
	const char *build; /* build metadata ("build.5"), or NULL */
	size_t build_len;
};

/*
 * Parses s as a Semantic Versioning 2.0.0 version ("1.2.0-rc.1+build.5";
 * no leading zeros in numeric identifiers, at most PLUGINS_VERSION_MAX
 * bytes, each of major, minor and patch at most 2^64 - 1). Returns 0 and
 * fills v (which may be NULL; its pointers are into s), or -1 if s is
 * anything else. Pure.
 */
int plugins_semver_parse(const char *s, struct plugin_semver *v);

/*
 * Compares two versions by SemVer 2.0.0 precedence (build metadata is
 * ignored): <0 when a comes before b, 0 when they have the same
 * precedence, >0 after. An invalid version comes before every valid one;
 * two invalid ones compare equal. Pure.
 */
int plugins_semver_cmp(const char *a, const char *b);

/* --- signing keys (plugins_keys.c) --- */

/* Writes the key id of the public key pk into out: the first 8 bytes of
 * SHA-256(pk) in lowercase hex. Returns 0. */
int plugins_key_id(
    const unsigned char pk[PLUGINS_PK_BYTES], char out[PLUGINS_KEY_ID_SIZE]);

/*
 * Makes a new signing key pair and writes "<prefix>.key" (mode 0600,
 * "luxima-ed25519-secret <base64 of the 64-byte secret key>\n") and
 * "<prefix>.pub" ("luxima-ed25519-public <base64 of 32 bytes>\n"); sets
 * key_id. Refuses to overwrite: 409 "key_exists" when either file exists
 * (nothing is written then); 500 "io_error" for other failures (nothing
 * is left behind). The secret key lives in sodium_malloc memory and is
 * wiped on every path.
 */
int plugins_keygen(
    const char *prefix, char key_id[PLUGINS_KEY_ID_SIZE], struct lx_err *err);

/* Reads a public key file written by plugins_keygen into pk. Returns 0,
 * or -1 with 400 "invalid_key" (not such a file) or 500 "io_error". */
int plugins_key_read_public(
    const char *path, unsigned char pk[PLUGINS_PK_BYTES], struct lx_err *err);

/*
 * Reads a secret key file written by plugins_keygen into sk
 * (PLUGINS_SK_BYTES of sodium_malloc memory owned by the caller, who wipes
 * it). Refuses a public key file, a file that group or others may read
 * or write, and one whose public half does not match its seed: -1 with
 * 400 "invalid_key"; 500
 * "io_error" when it cannot be read. Every copy made while reading is
 * wiped; on failure sk is wiped too.
 */
int plugins_key_read_secret(
    const char *path, unsigned char *sk, struct lx_err *err);

/* --- the registry (plugins_store.c, plugins_http.c, plugins_run.c) --- */

/*
 * The registry module: publishers (owned by the user who made them) and
 * their signing keys, plugins and their uploaded versions (validated by
 * the "plugins.validate" job, then published), each tenant's
 * installations, the plugin routes ANY /plugins/v1/{plugin}/... and the
 * event hooks ("plugins.hook" jobs). Publishers, keys, plugins and
 * versions are instance-wide rows, read and written as system code;
 * installations are tenant rows, reached through p_plugin_installations.
 *
 * Files: plugins_store.c (statements), plugins_http.c (publisher and
 * registry routes, the module), plugins_install.c (installation routes),
 * plugins_validate.c (the validation job), plugins_run.c (plugin routes,
 * hooks).
 */

struct lx_conn;
struct lx_module;
struct lx_req;
struct lx_resp;
struct lx_schema;
struct lx_server;

#define PLUGINS_ID_SIZE 40 /* a row id (UUID text) + NUL */
#define PLUGINS_DISPLAY_MAX 100 /* bytes of a publisher's display name */
#define PLUGINS_PK_B64_SIZE 48 /* base64 of a public key (44) + NUL */
#define PLUGINS_PAGE_DEFAULT 50
#define PLUGINS_PAGE_MAX 100
#define PLUGINS_KEYS_MAX 50 /* keys of a publisher, revoked included */
#define PLUGINS_VERSIONS_MAX 200 /* versions of one plugin */
#define PLUGINS_ROUTE_DEPTH 4 /* segments of a reachable route path */
#define PLUGINS_WAIT_MAX 10 /* seconds GET /plugins/{id}?wait= waits */

extern const struct lx_module plugins_module;

/* A publisher as the API shows it. */
struct plugins_publisher {
	char id[PLUGINS_ID_SIZE];
	char name[PLUGINS_NAME_MAX + 1];
	char display_name[PLUGINS_DISPLAY_MAX + 1];
	char owner_id[PLUGINS_ID_SIZE]; /* users.id */
	int64_t created_at; /* ms since the epoch */
	int64_t updated_at;
};

/* A publisher's signing key. */
struct plugins_key {
	char id[PLUGINS_ID_SIZE];
	char key_id[PLUGINS_KEY_ID_SIZE]; /* plugins_key_id() of the key */
	char public_key[PLUGINS_PK_B64_SIZE]; /* base64 of 32 bytes */
	int64_t created_at;
	int64_t revoked_at; /* 0: live */
};

/* A plugin, with its publisher's name and owner. */
struct plugins_plugin {
	char id[PLUGINS_ID_SIZE];
	char name[PLUGINS_NAME_MAX + 1];
	char publisher_id[PLUGINS_ID_SIZE];
	char publisher[PLUGINS_NAME_MAX + 1];
	char owner_id[PLUGINS_ID_SIZE]; /* the publisher's owner */
	char description[PLUGINS_DESC_MAX + 1];
	char latest_version[PLUGINS_VERSION_MAX + 1]; /* "": none published */
	int64_t created_at;
	int64_t updated_at;
};

/* One uploaded version. Strings marked lx_malloc'd are freed by
 * plugins_versions_cleanup. */
struct plugins_version {
	char id[PLUGINS_ID_SIZE];
	char plugin_id[PLUGINS_ID_SIZE];
	char version[PLUGINS_VERSION_MAX + 1];
	char status[16]; /* validating, valid, invalid, published, ... */
	char digest[2 * PLUGINS_DIGEST_BYTES + 1]; /* hex */
	char key_id[PLUGINS_KEY_ID_SIZE]; /* "": unsigned */
	char uploaded_by[48]; /* actor */
	int64_t size; /* bytes of the bundle */
	char *manifest; /* canonical JSON (lx_malloc'd) */
	char *permissions; /* JSON array of names (lx_malloc'd) */
	char *report; /* the validation's JSON, or NULL (lx_malloc'd) */
	int64_t created_at;
	int64_t validated_at; /* 0: not yet */
	int64_t published_at; /* 0: not published */
};

/* A tenant's installation, with the plugin's name and the version's
 * permissions. */
struct plugins_installation {
	char id[PLUGINS_ID_SIZE];
	char plugin_id[PLUGINS_ID_SIZE];
	char plugin[PLUGINS_NAME_MAX + 1]; /* the plugin's name */
	char version_id[PLUGINS_ID_SIZE];
	char version[PLUGINS_VERSION_MAX + 1];
	char status[16]; /* enabled, disabled */
	char installed_by[48];
	char *config; /* JSON object (lx_malloc'd) */
	char *permissions; /* JSON array (lx_malloc'd) */
	int64_t created_at;
	int64_t updated_at;
};

/* What a plugin route or hook runs: the installation's version, the file
 * serving it and what the call carries. */
struct plugins_target {
	char installation_id[PLUGINS_ID_SIZE];
	char tenant_id[PLUGINS_ID_SIZE];
	char plugin_id[PLUGINS_ID_SIZE]; /* plugins.id (invocation log) */
	char plugin[PLUGINS_NAME_MAX + 1];
	char version_id[PLUGINS_ID_SIZE];
	char version[PLUGINS_VERSION_MAX + 1];
	int enabled; /* 1: the installation is enabled */
	char *file; /* the route's or hook's file; NULL: none (lx_malloc'd) */
	char *config; /* the installation's config (lx_malloc'd) */
	unsigned perms; /* enum edge_perm bits the manifest declares */
};

/* --- rules and the module (plugins_http.c) --- */

/* The running server (jobs need it), or NULL when stopped. */
struct lx_server *plugins_server(void);
/* The enum edge_perm bits plugins may be granted: the setting
 * plugins.allowed_permissions (environment
 * LUXIMA_PLUGINS_ALLOWED_PERMISSIONS, then the config file; a comma list
 * of permission names, default all), read once at init. */
unsigned plugins_allowed_perms(void);
/* Appends the names of the bits in perms as a JSON array. */
void plugins_perms_json(struct lx_buf *b, unsigned perms);
/* Writes a new random UUIDv4 into out. */
void plugins_uuid(char out[PLUGINS_ID_SIZE]);
/* 1 if s is a publisher or plugin name: ^[a-z][a-z0-9-]{1,63}$. */
int plugins_name_ok(const char *s);
/*
 * The query of a registry or installation route: tenant_id when
 * tenant_ctx (the core read it), limit and cursor when limit is not NULL
 * (*limit: 1..PLUGINS_PAGE_MAX, default PLUGINS_PAGE_DEFAULT; cursor: a
 * name, "" when absent, into cursor[PLUGINS_NAME_MAX + 1]), and nothing
 * else (400 "unknown_parameter", "invalid_limit", "invalid_cursor").
 */
int plugins_http_args(const struct lx_req *req, int tenant_ctx, int *limit,
    char *cursor, struct lx_err *err);

/* --- statements (plugins_store.c) --- */
/* Registry statements run as system code (bracketed by
 * lx_conn_system_begin/_end inside); installation statements go through
 * p_plugin_installations under the request's context. Each returns 0, or
 * -1 with err. */

/* Inserts p; 409 "publisher_exists" when the name is taken. */
int plugins_store_publisher_insert(
    struct lx_conn *c, const struct plugins_publisher *p, struct lx_err *err);
/* The publisher named name; 404 "not_found". */
int plugins_store_publisher_get(struct lx_conn *c, const char *name,
    struct plugins_publisher *out, struct lx_err *err);
/* Publishers of owner_id (NULL: all) named after after, by name, at most
 * limit into rows[limit]; *n the count. */
int plugins_store_publishers(struct lx_conn *c, const char *owner_id,
    const char *after, int limit, struct plugins_publisher *rows, int *n,
    struct lx_err *err);
/* Inserts key k of publisher_id; 409 "key_exists" when its key id is
 * registered already (by any publisher). */
int plugins_store_key_insert(struct lx_conn *c, const char *publisher_id,
    const struct plugins_key *k, struct lx_err *err);
/* The keys of publisher_id, revoked ones included, oldest first, at most
 * limit into rows[limit]; *n the count. */
int plugins_store_keys(struct lx_conn *c, const char *publisher_id,
    struct plugins_key *rows, int limit, int *n, struct lx_err *err);
/* The key key_id of publisher_id (revoked or not); 404 "key_not_found". */
int plugins_store_key_get(struct lx_conn *c, const char *publisher_id,
    const char *key_id, struct plugins_key *out, struct lx_err *err);
/* Marks the live key key_id of publisher_id revoked at now. */
int plugins_store_key_revoke(struct lx_conn *c, const char *publisher_id,
    const char *key_id, int64_t now, struct lx_err *err);

/* The plugin whose id or name is ref; 404 "not_found". */
int plugins_store_plugin_get(struct lx_conn *c, const char *ref,
    struct plugins_plugin *out, struct lx_err *err);
/* Inserts p (a new name). */
int plugins_store_plugin_insert(
    struct lx_conn *c, const struct plugins_plugin *p, struct lx_err *err);
/* Plugins named after after, by name, at most limit: the published ones
 * and those of publishers owner_id owns (owner_id NULL: all). */
int plugins_store_plugins(struct lx_conn *c, const char *owner_id,
    const char *after, int limit, struct plugins_plugin *rows, int *n,
    struct lx_err *err);
/* Sets the plugin's latest_version to its highest published version
 * (SemVer precedence) and its description to that version's, at now. */
int plugins_store_plugin_latest(
    struct lx_conn *c, const char *plugin_id, int64_t now, struct lx_err *err);

/* Inserts version v of its plugin with the bundle's bytes. */
int plugins_store_version_insert(struct lx_conn *c,
    const struct plugins_version *v, const char *bundle, size_t len,
    struct lx_err *err);
/* The version version of plugin_id, or with plugin_id NULL the version
 * whose id is version; 404 "version_not_found". Free with
 * plugins_versions_cleanup. */
int plugins_store_version_get(struct lx_conn *c, const char *plugin_id,
    const char *version, struct plugins_version *out, struct lx_err *err);
/* The versions of plugin_id, newest first, at most limit (free with
 * plugins_versions_cleanup). */
int plugins_store_versions(struct lx_conn *c, const char *plugin_id,
    struct plugins_version *rows, int limit, int *n, struct lx_err *err);
/* Moves version id from status from to status to (validated_at or
 * published_at at now, report when not NULL); 409 "version_changed" when
 * it is no longer in from. */
int plugins_store_version_status(struct lx_conn *c, const char *id,
    const char *from, const char *to, const char *report, int64_t now,
    struct lx_err *err);
/* The stored bundle of version id into *data (lx_malloc'd,
 * NUL-terminated) and *len; 404 "version_not_found". */
int plugins_store_bundle(struct lx_conn *c, const char *id, char **data,
    size_t *len, struct lx_err *err);
void plugins_versions_cleanup(struct plugins_version *rows, int n);

/* Installations, through p_plugin_installations. */
/* The context tenant's installation of plugin_id; 404
 * "installation_not_found". */
int plugins_store_inst_get(struct lx_conn *c, const char *plugin_id,
    struct plugins_installation *out, struct lx_err *err);
/* The context tenant's installations whose plugin is named after after,
 * by plugin name, at most limit. */
int plugins_store_insts(struct lx_conn *c, const char *after, int limit,
    struct plugins_installation *rows, int *n, struct lx_err *err);
/* Inserts i for tenant_id. */
int plugins_store_inst_insert(struct lx_conn *c, const char *tenant_id,
    const struct plugins_installation *i, struct lx_err *err);
/* Writes i's version_id, version, status, config and updated_at. */
int plugins_store_inst_update(struct lx_conn *c,
    const struct plugins_installation *i, struct lx_err *err);
/* Deletes installation id and the tenant's documents in namespace ns. */
int plugins_store_inst_delete(
    struct lx_conn *c, const char *id, const char *ns, struct lx_err *err);
void plugins_insts_cleanup(struct plugins_installation *rows, int n);

/* Plugin routes and hooks. */
/* The context tenant's installation of the plugin named plugin, with the
 * file of its version's route method (a name: "GET") path ("/a/b"),
 * NULL when the version has none; 404 "not_found" when not installed.
 * Free with plugins_target_cleanup. */
int plugins_store_route(struct lx_conn *c, const char *plugin,
    const char *method, const char *path, struct plugins_target *out,
    struct lx_err *err);
/* System code: installation id with the file of its version's hook for
 * event (NULL: none); 404 "installation_not_found" when it is gone. */
int plugins_store_hook(struct lx_conn *c, const char *installation_id,
    const char *event, struct plugins_target *out, struct lx_err *err);
/* System code, in c's transaction: enqueues one "plugins.hook" job per
 * enabled installation of tenant_id whose version hooks event (a known
 * event name), with payload {tenant_id, installation_id, type, data}. */
int plugins_store_hook_enqueue(struct lx_conn *c, const char *tenant_id,
    const char *event, const char *data_json, struct lx_err *err);
/* System code: tenant_id's installation of the plugin named plugin
 * (enabled or not), file NULL; 404 "installation_not_found" when there
 * is none. */
int plugins_store_job(struct lx_conn *c, const char *tenant_id,
    const char *plugin, struct plugins_target *out, struct lx_err *err);
void plugins_target_cleanup(struct plugins_target *t);

/* The invocation log, through p_plugin_invocations. */
struct functions_invocation;
/* Up to limit records of the context tenant's runs of plugin_id with id
 * below before (0: the newest), newest first, into rows[] (room for
 * limit); *n the count. error, log and target are lx_malloc'd: release
 * with plugins_invocations_cleanup. */
int plugins_store_invocations(struct lx_conn *c, const char *plugin_id,
    int64_t before, int limit, struct functions_invocation *rows, int *n,
    struct lx_err *err);
void plugins_invocations_cleanup(struct functions_invocation *rows, int n);

/* --- installation routes (plugins_install.c) --- */

/* Handlers of POST|PATCH|DELETE /plugins/{id}/install, GET
 * /plugins/installed and POST /plugins/{id}/upgrade. */
int plugins_http_install(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int plugins_http_installed(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int plugins_http_install_patch(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int plugins_http_uninstall(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
int plugins_http_upgrade(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
/* Their body schemas. */
extern const struct lx_schema plugins_install_schema;
extern const struct lx_schema plugins_install_patch_schema;
extern const struct lx_schema plugins_upgrade_schema;

/* --- validation (plugins_validate.c) --- */

#define PLUGINS_VALIDATE_JOB "plugins.validate"
/* The "plugins.validate" job, payload {"version_id"}: checks the stored
 * bundle (manifest, signature against a live key of the publisher,
 * permissions within plugins_allowed_perms, every Lua file compiles in
 * this thread's sandbox, sizes, min_luxima, reachable routes, hooked
 * events the platform emits), then runs the plugins/validatePlugin hook
 * script, whose findings are appended (a failing script is the finding
 * validatePlugin/hook_failed), and moves the version from validating to
 * valid or invalid with the report {status, checks: [{name, ok, detail
 * [, code]}]}. Idempotent: a version no longer validating is left. */
int plugins_job_validate(
    struct lx_conn *c, const char *payload_json, struct lx_err *err);

/* --- running plugins (plugins_run.c) --- */

#define PLUGINS_HOOK_JOB "plugins.hook"
/* ANY /plugins/v1/{plugin}/{p1}[/{p2}[/{p3}[/{p4}]]]: runs the route of
 * the context tenant's enabled installation of plugin. */
int plugins_http_run(
    struct lx_req *req, struct lx_resp *resp, struct lx_err *err);
/*
 * Called by webhooks_emit for every event of a tenant, inside the
 * emitter's transaction and savepoint, as system code: enqueues a
 * "plugins.hook" job per enabled installation whose manifest hooks type
 * (nothing for types no hook may name). Only enqueues; 0, or -1 with err.
 */
int plugins_dispatch(struct lx_conn *c, const char *tenant_id, const char *type,
    const char *data_json, struct lx_err *err);
/* The "plugins.hook" job: runs the hook under the manifest's declared
 * permissions in a tenant-only context with req = {event = {type, data},
 * config, tenant, plugin}. A script's own failure is logged, not
 * retried. */
int plugins_job_hook(
    struct lx_conn *c, const char *payload_json, struct lx_err *err);
/*
 * The "plugins.job" job a plugin's jobs.enqueue(kind, payload) made,
 * payload {tenant_id, plugin, version_id, file, kind, payload, actor}:
 * runs file again while the tenant's installation of plugin is enabled
 * (of the installed version: after an upgrade the same path of the new
 * version, and a version without it drops the job with a log line), with
 * req = {job = {kind, payload}, config, tenant, plugin}, under the
 * manifest's declared permissions in a tenant-only context, counted as a
 * function invocation and logged (kind "job", target the job's kind). A
 * script's own failure is logged, not retried.
 */
int plugins_job_run(
    struct lx_conn *c, const char *payload_json, struct lx_err *err);

#endif
