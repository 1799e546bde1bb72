-- 004: billing. Plans and their limits, each tenant's subscription,
-- invoices and their lines, payments, usage counters, the payment
-- provider's processed events, and tenants' outgoing webhook endpoints with
-- their messages and deliveries.
--
-- Money is an INTEGER amount of minor units (cents) with an ISO 4217
-- currency code beside it; no floating point touches an amount. Times are ms
-- since the epoch, ids UUIDv4 text, like 002 and 003. Tenant tables are
-- reached by request code only through the policy views storage/policy.c
-- declares (p_subscriptions, p_invoices, ...); plans are instance-wide and
-- public.

-- A plan: a price per interval and its limits (plan_limits). code is the
-- stable handle tenants.plan names. An archived plan takes no new
-- subscribers and keeps its existing ones. One plan is the default: every
-- new tenant starts on it.
CREATE TABLE plans (
	id          TEXT PRIMARY KEY,
	code        TEXT NOT NULL UNIQUE
	            CHECK (length(code) BETWEEN 2 AND 40
	                   AND code NOT GLOB '*[^a-z0-9_-]*'
	                   AND substr(code, 1, 1) GLOB '[a-z]'),
	name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	description TEXT NOT NULL DEFAULT '',
	amount      INTEGER NOT NULL CHECK (amount BETWEEN 0 AND 100000000000),
	currency    TEXT NOT NULL
	            CHECK (length(currency) = 3
	                   AND currency NOT GLOB '*[^A-Z]*'),
	interval    TEXT NOT NULL CHECK (interval IN ('month', 'year')),
	trial_days  INTEGER NOT NULL DEFAULT 0 CHECK (trial_days BETWEEN 0 AND 365),
	status      TEXT NOT NULL DEFAULT 'active'
	            CHECK (status IN ('active', 'archived')),
	is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
	position    INTEGER NOT NULL DEFAULT 0, -- display order of GET /plans
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	CHECK (is_default = 0 OR status = 'active')
) STRICT;
CREATE UNIQUE INDEX plans_one_default ON plans (is_default) WHERE is_default = 1;

-- A plan's limit on one metric. Gauges (members, service_keys, plugins,
-- functions) are counted live; counters (api_requests,
-- function_invocations) per calendar month (usage_counters). quota is the
-- hard cap (NULL: none); included units are in the plan's price, and each
-- started block of unit_size units beyond them costs unit_amount on the
-- period's invoice.
CREATE TABLE plan_limits (
	plan_id     TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
	metric      TEXT NOT NULL
	            CHECK (metric IN ('members', 'service_keys', 'plugins',
	                   'functions', 'function_invocations', 'api_requests')),
	quota       INTEGER CHECK (quota IS NULL OR quota >= 0),
	included    INTEGER NOT NULL DEFAULT 0 CHECK (included >= 0),
	unit_amount INTEGER NOT NULL DEFAULT 0
	            CHECK (unit_amount BETWEEN 0 AND 100000000000),
	unit_size   INTEGER NOT NULL DEFAULT 1 CHECK (unit_size > 0),
	PRIMARY KEY (plan_id, metric)
) STRICT;

-- A tenant's subscription to a plan. At most one is live (not canceled) per
-- tenant; a tenant without one is on tenants.plan (the default plan) and is
-- never invoiced. Lifecycle: trialing -> active -> past_due -> canceled.
-- Billed in arrears: the renewal job closes a period once
-- current_period_end has come and invoices it (the fee of period_plan_id,
-- the plan the period began on, plus pending proration items and metered
-- usage beyond what the plan includes). A trial period is not billed.
CREATE TABLE subscriptions (
	id                   TEXT PRIMARY KEY,
	tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	plan_id              TEXT NOT NULL REFERENCES plans (id),
	period_plan_id       TEXT NOT NULL REFERENCES plans (id),
	status               TEXT NOT NULL
	                     CHECK (status IN ('trialing', 'active', 'past_due',
	                            'canceled')),
	current_period_start INTEGER NOT NULL,
	current_period_end   INTEGER NOT NULL,
	trial_end            INTEGER,
	cancel_at_period_end INTEGER NOT NULL DEFAULT 0
	                     CHECK (cancel_at_period_end IN (0, 1)),
	canceled_at          INTEGER,
	provider             TEXT, -- 'stripe' when a provider mirrors it
	provider_ref         TEXT, -- the provider's id (sub_...)
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL,
	CHECK (current_period_end > current_period_start)
) STRICT;
CREATE UNIQUE INDEX subscriptions_live ON subscriptions (tenant_id)
	WHERE status != 'canceled';
CREATE UNIQUE INDEX subscriptions_provider ON subscriptions (provider, provider_ref)
	WHERE provider_ref IS NOT NULL;
CREATE INDEX subscriptions_due ON subscriptions (current_period_end)
	WHERE status != 'canceled';

-- An invoice. number is given when it is finalized, from invoice_sequences,
-- in the finalizing transaction, so numbers have no gaps
-- (LX-<year>-<6 digits>). total always equals the sum of its lines.
-- States: draft -> open -> paid | void | uncollectible. renewal_key
-- ("<subscription>:<period start>") makes a period's invoice unique, so the
-- renewal job issues it exactly once.
CREATE TABLE invoices (
	id              TEXT PRIMARY KEY,
	tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	subscription_id TEXT REFERENCES subscriptions (id) ON DELETE SET NULL,
	number          TEXT UNIQUE,
	status          TEXT NOT NULL DEFAULT 'draft'
	                CHECK (status IN ('draft', 'open', 'paid', 'void',
	                       'uncollectible')),
	billing_reason  TEXT NOT NULL DEFAULT 'manual'
	                CHECK (billing_reason IN ('manual', 'subscription_create',
	                       'subscription_cycle')),
	currency        TEXT NOT NULL,
	subtotal        INTEGER NOT NULL DEFAULT 0,
	total           INTEGER NOT NULL DEFAULT 0,
	amount_paid     INTEGER NOT NULL DEFAULT 0,
	period_start    INTEGER NOT NULL,
	period_end      INTEGER NOT NULL,
	renewal_key     TEXT UNIQUE,
	due_at          INTEGER,
	finalized_at    INTEGER,
	paid_at         INTEGER,
	voided_at       INTEGER,
	provider        TEXT,
	provider_ref    TEXT,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	CHECK ((status = 'draft') = (number IS NULL))
) STRICT;
CREATE INDEX invoices_tenant ON invoices (tenant_id, id);
CREATE UNIQUE INDEX invoices_provider ON invoices (provider, provider_ref)
	WHERE provider_ref IS NOT NULL;

-- An invoice's lines, in position order. amount = quantity * unit_amount for
-- subscription and adjustment lines; usage and proration lines carry their
-- computed amount (a credit is negative).
CREATE TABLE invoice_lines (
	id           TEXT PRIMARY KEY,
	invoice_id   TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	position     INTEGER NOT NULL,
	kind         TEXT NOT NULL
	             CHECK (kind IN ('subscription', 'proration', 'usage',
	                    'adjustment')),
	description  TEXT NOT NULL,
	metric       TEXT,
	quantity     INTEGER NOT NULL DEFAULT 1,
	unit_amount  INTEGER NOT NULL DEFAULT 0,
	amount       INTEGER NOT NULL,
	period_start INTEGER,
	period_end   INTEGER,
	UNIQUE (invoice_id, position)
) STRICT;

-- Lines waiting for a subscription's next invoice: the proration of a
-- mid-period plan change (a credit for the old plan's unused time, a charge
-- for the new plan's). invoice_id is set when an invoice takes them.
CREATE TABLE invoice_items (
	id              TEXT PRIMARY KEY,
	tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
	kind            TEXT NOT NULL CHECK (kind IN ('proration', 'adjustment')),
	description     TEXT NOT NULL,
	amount          INTEGER NOT NULL,
	currency        TEXT NOT NULL,
	period_start    INTEGER,
	period_end      INTEGER,
	invoice_id      TEXT REFERENCES invoices (id) ON DELETE SET NULL,
	created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX invoice_items_pending ON invoice_items (subscription_id)
	WHERE invoice_id IS NULL;

-- Last number given per year: "LX-2026-000001" is year 2026, last 1.
CREATE TABLE invoice_sequences (
	year INTEGER PRIMARY KEY,
	last INTEGER NOT NULL
) STRICT;

-- Money received for an invoice (mark-paid by hand, or a provider event).
CREATE TABLE payments (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	invoice_id   TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
	amount       INTEGER NOT NULL CHECK (amount >= 0),
	currency     TEXT NOT NULL,
	method       TEXT NOT NULL, -- 'manual', 'stripe', ...
	provider_ref TEXT,
	created_at   INTEGER NOT NULL,
	UNIQUE (method, provider_ref)
) STRICT;

-- Counted usage per tenant, metric and calendar month (UTC, "2026-12").
CREATE TABLE usage_counters (
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	metric     TEXT NOT NULL,
	period     TEXT NOT NULL,
	value      INTEGER NOT NULL DEFAULT 0 CHECK (value >= 0),
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, metric, period)
) STRICT, WITHOUT ROWID;

-- Payment-provider events already processed (POST /billing/webhooks/
-- {provider}): a replayed event id changes nothing.
CREATE TABLE provider_events (
	provider    TEXT NOT NULL,
	event_id    TEXT NOT NULL,
	type        TEXT NOT NULL,
	tenant_id   TEXT,
	outcome     TEXT NOT NULL, -- 'applied', 'ignored: ...'
	received_at INTEGER NOT NULL,
	PRIMARY KEY (provider, event_id)
) STRICT;

-- A tenant's webhook endpoint: the URL its events are POSTed to, the event
-- types it wants ("invoice.*", "subscription.updated", or "*"), and the
-- signing secret (Standard Webhooks: "whsec_" + base64 of 32 random bytes;
-- the database is encrypted at rest).
CREATE TABLE webhook_endpoints (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	url         TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	event_types TEXT NOT NULL DEFAULT '["*"]', -- JSON array
	secret      TEXT NOT NULL,
	status      TEXT NOT NULL DEFAULT 'enabled'
	            CHECK (status IN ('enabled', 'disabled')),
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

-- An event for a tenant's endpoints (webhook-id "msg_..."), once.
CREATE TABLE webhook_messages (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	event_type TEXT NOT NULL,
	payload    TEXT NOT NULL, -- the JSON body sent
	created_at INTEGER NOT NULL
) STRICT;

-- One message to one endpoint: delivered from the durable job queue with
-- exponential backoff; every attempt is logged in webhook_attempts.
CREATE TABLE webhook_deliveries (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
	message_id   TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
	status       TEXT NOT NULL DEFAULT 'pending'
	             CHECK (status IN ('pending', 'succeeded', 'failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_status  INTEGER,
	last_error   TEXT,
	next_attempt_at INTEGER,
	delivered_at INTEGER,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (endpoint_id, message_id)
) STRICT;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
	id           INTEGER PRIMARY KEY,
	delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	attempted_at INTEGER NOT NULL,
	status       INTEGER, -- HTTP status, NULL when no response came
	duration_ms  INTEGER NOT NULL,
	error        TEXT
) STRICT;
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
