-- Demo tenants (seed set "demo": `luxima seed demo`, and `luxima serve`
-- with profile = demo): two companies with owners and members in every
-- tenant role, and one consultant who belongs to both, so tenant switching
-- and isolation can be tried at once. Every demo account signs in with the
-- password luxima-demo-orchard-42 (Argon2id, m=19456 KiB, t=2, the
-- defaults); demo data only, never for an instance holding real data.
-- Idempotent: fixed ids and INSERT OR IGNORE, so a rerun adds nothing and
-- never undoes what a demo user changed.

INSERT OR IGNORE INTO users (id, email, name, email_confirmed_at,
	created_at, updated_at) VALUES
	('de300000-0000-4000-8000-000000000001', 'owner@acme.example.com',
	 'Ada Owner', 1767225600000, 1767225600000, 1767225600000),
	('de300000-0000-4000-8000-000000000002', 'admin@acme.example.com',
	 'Alan Admin', 1767225600000, 1767225600000, 1767225600000),
	('de300000-0000-4000-8000-000000000003', 'member@acme.example.com',
	 'Grace Member', 1767225600000, 1767225600000, 1767225600000),
	('de300000-0000-4000-8000-000000000004', 'viewer@acme.example.com',
	 'Linus Viewer', 1767225600000, 1767225600000, 1767225600000),
	('de300000-0000-4000-8000-000000000005', 'owner@globex.example.com',
	 'Hank Owner', 1767225600000, 1767225600000, 1767225600000),
	('de300000-0000-4000-8000-000000000006', 'billing@globex.example.com',
	 'Barbara Billing', 1767225600000, 1767225600000, 1767225600000),
	('de300000-0000-4000-8000-000000000007', 'member@globex.example.com',
	 'Ken Member', 1767225600000, 1767225600000, 1767225600000),
	('de300000-0000-4000-8000-000000000008', 'consultant@example.com',
	 'Margaret Consultant', 1767225600000, 1767225600000, 1767225600000);

INSERT OR IGNORE INTO credentials (id, user_id, kind, hash, algorithm,
	memlimit_kib, opslimit, created_at, updated_at)
SELECT 'de3c0000-0000-4000-8000-00000000000' || substr(u.id, -1), u.id,
	'password',
	'$argon2id$v=19$m=19456,t=2,p=1$V4zoO2qW0PYZKWeno0fmTQ$JnbVhxqeMUmQJgK08VbJcZLIHvhBMDclR1qYnlKTt/o',
	'argon2id', 19456, 2, 1767225600000, 1767225600000
FROM users u WHERE u.id BETWEEN 'de300000-0000-4000-8000-000000000001'
	AND 'de300000-0000-4000-8000-000000000008';

INSERT OR IGNORE INTO tenants (id, slug, name, owner_id, plan, status,
	created_at, updated_at) VALUES
	('de7e0000-0000-4000-8000-00000000000a', 'acme', 'Acme Corporation',
	 'de300000-0000-4000-8000-000000000001', 'free', 'active',
	 1767225600000, 1767225600000),
	('de7e0000-0000-4000-8000-00000000000b', 'globex', 'Globex',
	 'de300000-0000-4000-8000-000000000005', 'free', 'active',
	 1767225600000, 1767225600000);

INSERT OR IGNORE INTO memberships (id, tenant_id, user_id, role,
	created_at, updated_at) VALUES
	('de3a0000-0000-4000-8000-000000000001',
	 'de7e0000-0000-4000-8000-00000000000a',
	 'de300000-0000-4000-8000-000000000001', 'owner',
	 1767225600000, 1767225600000),
	('de3a0000-0000-4000-8000-000000000002',
	 'de7e0000-0000-4000-8000-00000000000a',
	 'de300000-0000-4000-8000-000000000002', 'admin',
	 1767225600000, 1767225600000),
	('de3a0000-0000-4000-8000-000000000003',
	 'de7e0000-0000-4000-8000-00000000000a',
	 'de300000-0000-4000-8000-000000000003', 'member',
	 1767225600000, 1767225600000),
	('de3a0000-0000-4000-8000-000000000004',
	 'de7e0000-0000-4000-8000-00000000000a',
	 'de300000-0000-4000-8000-000000000004', 'viewer',
	 1767225600000, 1767225600000),
	('de3a0000-0000-4000-8000-000000000005',
	 'de7e0000-0000-4000-8000-00000000000a',
	 'de300000-0000-4000-8000-000000000008', 'member',
	 1767225600000, 1767225600000),
	('de3a0000-0000-4000-8000-000000000006',
	 'de7e0000-0000-4000-8000-00000000000b',
	 'de300000-0000-4000-8000-000000000005', 'owner',
	 1767225600000, 1767225600000),
	('de3a0000-0000-4000-8000-000000000007',
	 'de7e0000-0000-4000-8000-00000000000b',
	 'de300000-0000-4000-8000-000000000006', 'billing',
	 1767225600000, 1767225600000),
	('de3a0000-0000-4000-8000-000000000008',
	 'de7e0000-0000-4000-8000-00000000000b',
	 'de300000-0000-4000-8000-000000000007', 'member',
	 1767225600000, 1767225600000),
	('de3a0000-0000-4000-8000-000000000009',
	 'de7e0000-0000-4000-8000-00000000000b',
	 'de300000-0000-4000-8000-000000000008', 'viewer',
	 1767225600000, 1767225600000);
