-- 006: edge functions. A tenant's named functions and their deployed
-- versions (Lua source, compiled and checked before it is stored), the
-- invocation log, the tenant's secrets and the small document store that
-- functions and plugins use. All are tenant rows, reached by request code
-- only through the policy views storage/policy.c declares
-- (p_functions, p_function_versions, p_function_invocations,
-- p_function_secrets, p_function_documents). Times are ms since the epoch.

-- A function: its name in the tenant, whether anonymous callers may invoke
-- it (?tenant=<slug>), and the version that serves (a rollback points it
-- at an earlier one).
CREATE TABLE functions (
	id             TEXT PRIMARY KEY,
	tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name           TEXT NOT NULL
	               CHECK (length(name) BETWEEN 1 AND 64
	                      AND name NOT GLOB '*[^a-z0-9_-]*'
	                      AND substr(name, 1, 1) GLOB '[a-z]'),
	public         INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
	active_version TEXT NOT NULL,
	created_by     TEXT,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	UNIQUE (tenant_id, name)
) STRICT;

-- A deployed version: immutable once stored.
CREATE TABLE function_versions (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
	version     TEXT NOT NULL CHECK (length(version) BETWEEN 5 AND 100),
	source      TEXT NOT NULL,
	sha256      TEXT NOT NULL,
	size        INTEGER NOT NULL,
	created_by  TEXT,
	created_at  INTEGER NOT NULL,
	UNIQUE (function_id, version)
) STRICT;

-- One invocation: when, how long, what it answered, its peak memory and
-- error, and its log lines (JSON lines). Written in batches by the
-- invocation log writer; id is the cursor of GET .../invocations.
CREATE TABLE function_invocations (
	id          INTEGER PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
	version     TEXT NOT NULL,
	started_at  INTEGER NOT NULL,
	duration_us INTEGER NOT NULL,
	status      INTEGER NOT NULL,
	memory      INTEGER NOT NULL, -- bytes the call grew the Lua heap by
	error       TEXT, -- "code: detail" when the call failed
	log         TEXT NOT NULL DEFAULT '',
	request_id  TEXT,
	actor       TEXT -- user id, "service:<key id>" or "anonymous"
) STRICT;
CREATE INDEX function_invocations_fn ON function_invocations (function_id, id);

-- A tenant's secret, read by scripts with secrets.get(name); the API lists
-- names and a digest, never the value.
CREATE TABLE function_secrets (
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name       TEXT NOT NULL
	           CHECK (length(name) BETWEEN 1 AND 128
	                  AND name NOT GLOB '*[^A-Za-z0-9_]*'),
	value      TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, name)
) STRICT;

-- The document store of functions and plugins: JSON documents by
-- collection and key in a namespace ("fn:<name>" or "plugin:<name>").
CREATE TABLE function_documents (
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	namespace  TEXT NOT NULL,
	collection TEXT NOT NULL,
	key        TEXT NOT NULL,
	value      TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, namespace, collection, key)
) STRICT, WITHOUT ROWID;
