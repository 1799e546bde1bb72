-- 002: identity. Users and their password credentials, sessions and the
-- rotating refresh tokens that keep them alive, the Ed25519 keys that sign
-- access tokens, the role and permission vocabulary, one-time email tokens,
-- failed login attempts (throttling) and TOTP factors. The auth module
-- (modules/auth/) owns these tables; email tokens and TOTP factors are
-- tables only until their flows arrive.
-- Ids are random UUIDv4 text (libsodium randombytes in the application,
-- uuid_v4() below in seeds); times are ms since the epoch, like 001.

-- One account. email is normalised (trimmed, lower-case) and unique.
CREATE TABLE users (
	id                 TEXT PRIMARY KEY,
	email              TEXT NOT NULL UNIQUE,
	name               TEXT,
	email_confirmed_at INTEGER,
	platform_admin     INTEGER NOT NULL DEFAULT 0 CHECK (platform_admin IN (0, 1)),
	user_metadata      TEXT NOT NULL DEFAULT '{}',
	app_metadata       TEXT NOT NULL DEFAULT '{}',
	last_sign_in_at    INTEGER,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
) STRICT;

-- A user's password: the encoded Argon2id string ($argon2id$v=19$m=..,t=..)
-- and its parameters, so weaker hashes can be found and upgraded.
CREATE TABLE credentials (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind         TEXT NOT NULL DEFAULT 'password' CHECK (kind IN ('password')),
	hash         TEXT NOT NULL,
	algorithm    TEXT NOT NULL DEFAULT 'argon2id',
	memlimit_kib INTEGER NOT NULL,
	opslimit     INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (user_id, kind)
) STRICT;

-- A signed-in device. Revoked sessions stay (revoked_at set) so a restart
-- can rebuild the in-memory revoked set for tokens not yet expired.
CREATE TABLE sessions (
	id             TEXT PRIMARY KEY,
	user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	aal            TEXT NOT NULL DEFAULT 'aal1' CHECK (aal IN ('aal1', 'aal2')),
	amr            TEXT NOT NULL DEFAULT '[]',
	user_agent     TEXT,
	ip             TEXT,
	created_at     INTEGER NOT NULL,
	refreshed_at   INTEGER,
	not_after      INTEGER NOT NULL,
	revoked_at     INTEGER,
	revoked_reason TEXT
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Refresh tokens: opaque to clients, stored as SHA-256 hex. Each use spends
-- the token and adds a child; presenting a spent one revokes the family
-- (every token of the session) and the session.
CREATE TABLE refresh_tokens (
	id         TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	family_id  TEXT NOT NULL,
	parent_id  TEXT REFERENCES refresh_tokens (id) ON DELETE SET NULL,
	spent      INTEGER NOT NULL DEFAULT 0 CHECK (spent IN (0, 1)),
	spent_at   INTEGER,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Keys that sign access tokens. The private key is a plain blob:
-- the store itself is encrypted at rest (SQLCipher). One key is active;
-- rotated keys keep verifying (retiring) until retire_at, then retire.
-- Two algorithms (auth.signing_alg): EdDSA keys (Ed25519: 32-byte public
-- key, 64-byte libsodium secret key) and ES256 keys (ECDSA P-256: 65-byte
-- uncompressed point 04||x||y, 32-byte big-endian scalar). A retired key
-- keeps a zero-filled private key of its own length.
CREATE TABLE signing_keys (
	kid         TEXT PRIMARY KEY,
	alg         TEXT NOT NULL DEFAULT 'EdDSA' CHECK (alg IN ('EdDSA', 'ES256')),
	public_key  BLOB NOT NULL,
	private_key BLOB NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
	created_at  INTEGER NOT NULL,
	retire_at   INTEGER,
	retired_at  INTEGER,
	CHECK ((alg = 'EdDSA' AND length(public_key) = 32 AND length(private_key) = 64)
	    OR (alg = 'ES256' AND length(public_key) = 65 AND length(private_key) = 32))
) STRICT;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';

-- The role and permission vocabulary (seeds/roles_default.sql). Tenant
-- roles (owner .. viewer) apply within a tenant; platform_admin is
-- instance-wide.
CREATE TABLE roles (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	scope       TEXT NOT NULL CHECK (scope IN ('tenant', 'instance')),
	description TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE permissions (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE role_permissions (
	role_id       TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
	permission_id TEXT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
	PRIMARY KEY (role_id, permission_id)
) STRICT, WITHOUT ROWID;

-- One-time tokens sent by email (confirmation, recovery, email change,
-- invitation), stored as SHA-256 hex. The flows arrive later.
CREATE TABLE email_tokens (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    TEXT NOT NULL
	           CHECK (purpose IN ('confirm_signup', 'recovery', 'email_change', 'invite', 'magic_link')),
	token_hash TEXT NOT NULL UNIQUE,
	email      TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- Failed logins, for throttling per account (normalised email) and per
-- client address within a window. A successful login clears the account's
-- (cleared_at set; the row still counts against the address).
CREATE TABLE login_attempts (
	id         INTEGER PRIMARY KEY,
	email      TEXT NOT NULL,
	address    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	cleared_at INTEGER
) STRICT;
CREATE INDEX login_attempts_email ON login_attempts (email, created_at);
CREATE INDEX login_attempts_address ON login_attempts (address, created_at);
CREATE INDEX login_attempts_time ON login_attempts (created_at);

-- TOTP second factors (RFC 6238). Table only; the flow arrives later.
CREATE TABLE totp_factors (
	id             TEXT PRIMARY KEY,
	user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	friendly_name  TEXT,
	secret         BLOB NOT NULL,
	status         TEXT NOT NULL DEFAULT 'unverified' CHECK (status IN ('unverified', 'verified')),
	last_used_step INTEGER,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX totp_factors_user ON totp_factors (user_id);

-- ---------------------------------------------------------------------------
-- Mail, email tokens and second factors (issue #3, second part).

-- Outgoing mail, written in the transaction of the change that wants it
-- (with its "mail.send" job) and delivered from the job queue: sent through
-- the SMTP relay, or, with no relay configured, written to the log and kept
-- here for a platform admin (logged). The text of a sent message is cleared
-- (it may hold a single-use link); failed keeps it with the last error.
CREATE TABLE mail_outbox (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT NOT NULL,
	recipient  TEXT NOT NULL,
	subject    TEXT NOT NULL,
	body       TEXT,
	state      TEXT NOT NULL DEFAULT 'queued'
	           CHECK (state IN ('queued', 'sent', 'failed', 'logged')),
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	sent_at    INTEGER
) STRICT;

-- Requests that send an email token (verification, password reset), for
-- throttling per address and per email whether or not the account exists.
CREATE TABLE email_requests (
	id         INTEGER PRIMARY KEY,
	purpose    TEXT NOT NULL,
	email      TEXT NOT NULL,
	address    TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX email_requests_email ON email_requests (email, created_at);
CREATE INDEX email_requests_address ON email_requests (address, created_at);

-- One-time recovery codes of a user with a verified TOTP factor, stored as
-- SHA-256 hex of the normalised code; each works once.
CREATE TABLE mfa_recovery_codes (
	id         INTEGER PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (user_id);

-- The pending second step of a login: an opaque token (SHA-256 hex) given
-- after a correct password to a user with a verified factor, spent by the
-- first correct code.
CREATE TABLE mfa_challenges (
	id         TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);
