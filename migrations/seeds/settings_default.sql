-- Default instance settings (seed set "defaults"). Idempotent: existing
-- values, including a changed instance name, are kept.
INSERT OR IGNORE INTO settings (key, value) VALUES
	('instance.id', lower(hex(randomblob(16)))),
	('instance.name', 'Luxima'),
	('instance.locale', 'en'),
	('instance.timezone', 'UTC');
