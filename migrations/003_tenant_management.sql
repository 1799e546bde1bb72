-- 003: tenants. A tenant, its members and their roles, pending invitations
-- and the tenant's service keys (server-to-server credentials). Tables only:
-- request code reaches them through the policy views that storage/policy.c
-- declares and creates on every connection that carries a request context
-- (p_tenants, p_memberships, p_invitations, p_service_keys, v_audit_logs,
-- v_tenant_summary); an authorizer denies it the base tables. System code
-- (migrations, jobs, CLI) uses the tables directly.
-- Ids are UUIDv4 text, times ms since the epoch, like 002.

-- One tenant. slug is the stable, URL-safe handle; owner_id the primary
-- owner (an 'owner' member: the creator, or whom ownership was transferred
-- to). A deleted tenant keeps its rows (and its slug) from deleted_at until
-- purge_at, when the tenants.purge job removes it; restoring it before then
-- clears both.
CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	slug       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	owner_id   TEXT NOT NULL REFERENCES users (id),
	plan       TEXT NOT NULL DEFAULT 'free',
	status     TEXT NOT NULL DEFAULT 'active'
	           CHECK (status IN ('active', 'suspended', 'deleted')),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted_at INTEGER,
	purge_at   INTEGER,
	CHECK ((status = 'deleted') = (deleted_at IS NOT NULL AND
	       purge_at IS NOT NULL))
) STRICT;
CREATE INDEX tenants_owner ON tenants (owner_id);

-- A user's membership of a tenant with one tenant role (roles.name of a
-- role with scope 'tenant').
CREATE TABLE memberships (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role       TEXT NOT NULL
	           CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer')),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (tenant_id, user_id)
) STRICT;
CREATE INDEX memberships_user ON memberships (user_id);

-- An invitation to join a tenant with a role, sent by email; the token is
-- stored as SHA-256 hex and works once, until it expires or is revoked.
CREATE TABLE invitations (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	email       TEXT NOT NULL,
	role        TEXT NOT NULL
	            CHECK (role IN ('admin', 'billing', 'member', 'viewer')),
	token_hash  TEXT NOT NULL UNIQUE,
	invited_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	accepted_at INTEGER,
	revoked_at  INTEGER
) STRICT;
CREATE INDEX invitations_tenant ON invitations (tenant_id, email);

-- A tenant's service key: shown once, stored as the SHA-256 hex of the
-- secret; prefix (unique, shown in listings) finds the row. permissions is a
-- JSON array of permission names, a subset of what its creator held.
CREATE TABLE service_keys (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	prefix       TEXT NOT NULL UNIQUE,
	secret_hash  TEXT NOT NULL,
	permissions  TEXT NOT NULL DEFAULT '[]',
	created_by   TEXT REFERENCES users (id) ON DELETE SET NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	expires_at   INTEGER,
	revoked_at   INTEGER
) STRICT;
CREATE INDEX service_keys_tenant ON service_keys (tenant_id);
