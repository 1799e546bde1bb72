-- 001: the core schema every module builds on: instance settings, the
-- durable job queue and the append-only, hash-chained audit log.
-- Applied once, in one transaction, by the migration runner
-- (storage/migrate.c), which records its name and SHA-256 in lx_migrations.

-- Instance-wide settings (name, id, defaults); seeded by seeds/*.sql.
CREATE TABLE settings (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
) STRICT;

-- The durable job queue (storage/jobs.c). Times are ms since the epoch.
CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY,
	kind         TEXT NOT NULL,
	payload      TEXT NOT NULL DEFAULT '{}',
	state        TEXT NOT NULL DEFAULT 'queued'
	             CHECK (state IN ('queued', 'running', 'done', 'dead')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL DEFAULT 8 CHECK (max_attempts > 0),
	run_at       INTEGER NOT NULL,
	lease_until  INTEGER,
	last_error   TEXT,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;
-- Workers look for due queued jobs and for expired leases.
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, lease_until) WHERE state = 'running';

-- The audit log (modules/audit/audit.c): hash = SHA-256(prev_hash || the
-- record's canonical fields), so a changed, removed or reordered row breaks
-- the chain that `luxima audit verify` walks.
CREATE TABLE audit_logs (
	id         INTEGER PRIMARY KEY,
	created_at INTEGER NOT NULL,
	actor      TEXT NOT NULL,
	tenant_id  TEXT,
	action     TEXT NOT NULL,
	target     TEXT,
	request_id TEXT,
	address    TEXT,
	detail     TEXT NOT NULL DEFAULT '{}',
	prev_hash  TEXT NOT NULL,
	hash       TEXT NOT NULL
) STRICT;
CREATE INDEX audit_logs_tenant ON audit_logs (tenant_id, id);

-- Append-only: no statement may change or remove a record.
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN
	SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
BEGIN
	SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
