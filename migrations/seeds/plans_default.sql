-- Default plans (seed set "defaults"): free (the default every new tenant
-- starts on), pro and business, priced in US cents per month, with their
-- limits. Gauges (members, service_keys, plugins, functions) are hard caps;
-- monthly counters (api_requests, function_invocations) are capped on free
-- and billed by the block beyond what the price includes on paid plans.
-- Idempotent: matched by code (INSERT OR IGNORE), so an operator's changes
-- to a plan or its limits survive a rerun.

INSERT OR IGNORE INTO plans (id, code, name, description, amount, currency,
	interval, trial_days, status, is_default, position, created_at,
	updated_at) VALUES
	('0b1a0000-0000-4000-8000-000000000001', 'free', 'Free',
	 'For trying Luxima and small side projects.', 0, 'USD', 'month', 0,
	 'active', 1, 10, 1767225600000, 1767225600000),
	('0b1a0000-0000-4000-8000-000000000002', 'pro', 'Pro',
	 'For production apps: more members, keys and functions; usage beyond the included amounts is billed.',
	 2900, 'USD', 'month', 14, 'active', 0, 20, 1767225600000,
	 1767225600000),
	('0b1a0000-0000-4000-8000-000000000003', 'business', 'Business',
	 'For teams running several apps at scale.', 9900, 'USD', 'month', 14,
	 'active', 0, 30, 1767225600000, 1767225600000);

-- (code, metric, quota, included, unit_amount, unit_size)
INSERT OR IGNORE INTO plan_limits (plan_id, metric, quota, included,
	unit_amount, unit_size)
SELECT p.id, l.column2, l.column3, l.column4, l.column5, l.column6
FROM (VALUES
	('free', 'members', 10, 0, 0, 1),
	('free', 'service_keys', 5, 0, 0, 1),
	('free', 'plugins', 3, 0, 0, 1),
	('free', 'functions', 5, 0, 0, 1),
	('free', 'function_invocations', 100000, 100000, 0, 1),
	('free', 'api_requests', 100000, 100000, 0, 1),
	('pro', 'members', 50, 0, 0, 1),
	('pro', 'service_keys', 20, 0, 0, 1),
	('pro', 'plugins', 25, 0, 0, 1),
	('pro', 'functions', 50, 0, 0, 1),
	('pro', 'function_invocations', NULL, 1000000, 50, 100000),
	('pro', 'api_requests', NULL, 2000000, 100, 1000000),
	('business', 'members', 250, 0, 0, 1),
	('business', 'service_keys', 100, 0, 0, 1),
	('business', 'plugins', 100, 0, 0, 1),
	('business', 'functions', 500, 0, 0, 1),
	('business', 'function_invocations', NULL, 10000000, 40, 100000),
	('business', 'api_requests', NULL, 20000000, 80, 1000000)
) AS l
JOIN plans p ON p.code = l.column1;
