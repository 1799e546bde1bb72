-- 005: the plugin registry. Publishers and their Ed25519 public keys,
-- plugins and their uploaded versions (signed bundles, see
-- modules/plugins/plugins_bundle.c), each tenant's installations with
-- their configuration.
--
-- The registry (publishers, keys, plugins, versions) is instance-wide: a
-- publisher is owned by a user, who uploads and publishes its plugins.
-- Installations are tenant rows, reached by request code only through the
-- policy view p_plugin_installations (storage/policy.c). Times are ms
-- since the epoch, ids UUIDv4 text.

-- A publisher: the name a manifest's "publisher" must carry.
CREATE TABLE plugin_publishers (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE
	             CHECK (length(name) BETWEEN 2 AND 64
	                    AND name NOT GLOB '*[^a-z0-9-]*'
	                    AND substr(name, 1, 1) GLOB '[a-z]'),
	display_name TEXT NOT NULL DEFAULT '',
	owner_id     TEXT NOT NULL, -- users.id; may upload and publish
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;

-- A publisher's signing key: bundles name it by key_id (the first 8 bytes
-- of SHA-256 of the key, hex). A revoked key verifies nothing new; versions
-- published with it stay installed.
CREATE TABLE plugin_publisher_keys (
	id           TEXT PRIMARY KEY,
	publisher_id TEXT NOT NULL REFERENCES plugin_publishers (id)
	             ON DELETE CASCADE,
	key_id       TEXT NOT NULL UNIQUE
	             CHECK (length(key_id) = 16
	                    AND key_id NOT GLOB '*[^0-9a-f]*'),
	public_key   TEXT NOT NULL, -- base64 of the 32 bytes
	created_at   INTEGER NOT NULL,
	revoked_at   INTEGER
) STRICT;

-- A plugin: a name (unique in the instance) of one publisher.
CREATE TABLE plugins (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL UNIQUE
	               CHECK (length(name) BETWEEN 2 AND 64
	                      AND name NOT GLOB '*[^a-z0-9-]*'
	                      AND substr(name, 1, 1) GLOB '[a-z]'),
	publisher_id   TEXT NOT NULL REFERENCES plugin_publishers (id),
	description    TEXT NOT NULL DEFAULT '',
	latest_version TEXT, -- the highest published version, NULL before
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
) STRICT;

-- One uploaded version: the bundle as sent, its manifest and digest, and
-- the validation job's report. States: an upload is stored as validating
-- (its "plugins.validate" job is queued in the same transaction) ->
-- valid | invalid; valid -> published (installable); published -> yanked
-- (no new installations). draft: stored without a validation job (no
-- route makes one today). Versions that are not published are seen by
-- their publisher's owner (and platform admins) only.
CREATE TABLE plugin_versions (
	id           TEXT PRIMARY KEY,
	plugin_id    TEXT NOT NULL REFERENCES plugins (id) ON DELETE CASCADE,
	version      TEXT NOT NULL CHECK (length(version) BETWEEN 5 AND 128),
	status       TEXT NOT NULL DEFAULT 'validating'
	             CHECK (status IN ('draft', 'validating', 'valid',
	                    'invalid', 'published', 'yanked')),
	manifest     TEXT NOT NULL, -- canonical JSON
	size         INTEGER NOT NULL CHECK (size > 0),
	digest       TEXT NOT NULL, -- SHA-256 hex of the canonical digest
	key_id       TEXT, -- the signing key named by the bundle
	permissions  TEXT NOT NULL DEFAULT '[]', -- JSON array of names
	report       TEXT, -- JSON: the validation's checks and findings
	uploaded_by  TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	validated_at INTEGER,
	published_at INTEGER,
	-- Last, so reading the other columns never walks its overflow pages.
	bundle       BLOB NOT NULL, -- the signed bundle file, as uploaded
	UNIQUE (plugin_id, version)
) STRICT;

-- A tenant's installation of one plugin: the version it runs, enabled or
-- not, and its configuration (JSON, validated against the manifest's
-- config at install and on every change; an upgrade keeps it).
CREATE TABLE plugin_installations (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	plugin_id    TEXT NOT NULL REFERENCES plugins (id),
	version_id   TEXT NOT NULL REFERENCES plugin_versions (id),
	version      TEXT NOT NULL,
	status       TEXT NOT NULL DEFAULT 'enabled'
	             CHECK (status IN ('enabled', 'disabled')),
	config       TEXT NOT NULL DEFAULT '{}',
	installed_by TEXT,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (tenant_id, plugin_id)
) STRICT;
CREATE INDEX plugin_installations_plugin ON plugin_installations (plugin_id);

-- One run of an installed plugin's script: a route call, a hook or a job
-- (jobs.enqueue), with what it answered, its memory, error and log.* lines
-- (JSON lines). Written in batches by the invocation log writer
-- (modules/functions/functions_log.c) as system code; read through the
-- policy view p_plugin_invocations (plugins.read in the tenant); id is the
-- cursor of GET /plugins/{id}/invocations.
CREATE TABLE plugin_invocations (
	id          INTEGER PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	plugin_id   TEXT NOT NULL REFERENCES plugins (id) ON DELETE CASCADE,
	version     TEXT NOT NULL, -- the installed version that ran
	kind        TEXT NOT NULL CHECK (kind IN ('route', 'hook', 'job')),
	target      TEXT NOT NULL, -- "GET /hello", the event, the job kind
	started_at  INTEGER NOT NULL,
	duration_us INTEGER NOT NULL,
	status      INTEGER NOT NULL,
	memory      INTEGER NOT NULL, -- bytes the call grew the Lua heap by
	error       TEXT, -- "code: detail" when the call failed
	log         TEXT NOT NULL DEFAULT '',
	request_id  TEXT,
	actor       TEXT -- user id, "service:<key id>", "system" or a job's
) STRICT;
CREATE INDEX plugin_invocations_plugin
	ON plugin_invocations (tenant_id, plugin_id, id);
