-- Demo instance settings (seed set "demo", run after "defaults"):
-- marks the instance as a demo. Idempotent: rerunning sets the same values.
INSERT INTO settings (key, value) VALUES
	('instance.name', 'Luxima Demo Instance'),
	('demo.enabled', 'true'),
	('demo.banner', 'Demo data: resets are expected, do not store real secrets')
ON CONFLICT (key) DO UPDATE SET value = excluded.value
WHERE settings.value IS NOT excluded.value;
