-- Default instance settings (seed set "defaults"). Idempotent: existing
-- values, including a changed instance name, are kept.
INSERT OR IGNORE INTO settings (key, value) VALUES
	('instance.id', lower(hex(randomblob(16)))),
	('instance.name', 'Luxima'),
	('instance.locale', 'en'),
	('instance.timezone', 'UTC'),
	('auth.password_min_length', '12'),
	('auth.access_token_ttl_s', '900'),
	('auth.refresh_token_ttl_s', '2592000'),
	('jobs.max_attempts', '8');
