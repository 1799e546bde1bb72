--[[ billing/webhookHandler: what a payment provider's event means for our
state, at POST /billing/webhooks/{provider}. The platform has checked the
signature (in C, never here) and that the body is a JSON object; it records
the event id so a replay changes nothing, and applies the answer in one
transaction (paying the invoice, moving the subscription) exactly as the
README describes.

Receives  req.provider  "stripe", "paddle" or a provider a deployment
                        registered
          req.event     the event, parsed from the verified body
Returns   { json = { action = ..., id = ..., type = ..., ... } } where
          action is one of
            "invoice.paid"           pay our invoice
            "invoice.payment_failed" its subscription becomes past_due
            "subscription.updated"   copy status, cancellation, period
            "subscription.deleted"   cancel it; the tenant to the default
                                     plan
            "ignore"                 record the event as "ignored: <type>"
            "reject"                 refuse it: 400 with code (default
                                     "invalid_event") and reason; nothing
                                     recorded, the provider retries
          and, except for reject, id (the provider's event id, 1..127
          printable ASCII without spaces) and type (its type, 1..63).
          Which object, by the provider's id or ours:
            ref         the invoice's / subscription's provider id (1..127)
            our_id      our invoice / subscription id from its metadata
            sub_ref, sub_our_id   invoices: their subscription's
          invoice.paid:   amount (integer minor units paid; nil: what is
                          due), currency ("USD"; nil: not checked)
          subscription.*: status ("", trialing, active, past_due,
                          canceled; "" keeps ours), cancel_at_period_end
                          (boolean), period_start, period_end, canceled_at
                          (integers, ms since the epoch)
          Any other member, or a member the action does not take, makes the
          answer unusable.
Default   (this script, and the platform without it for Stripe, whose C
          reader maps the same): the Stripe mapping below. The "paddle"
          mapping exists only here: with the hook turned off, paddle
          deliveries answer 503 and Paddle retries them.
Failure   fails closed: 503 "hook_failed", nothing recorded, the provider
          retries.
]]

local REF_MAX = 127
local SECONDS_MAX = 253402300799 -- 9999-12-31T23:59:59Z
local AMOUNT_MAX = 9007199254740991 -- 2^53 - 1

-- A refusal of the event: raised by the readers, answered as "reject".
local function invalid(why)
	error({ invalid = why }, 0)
end

-- 1..max bytes of printable ASCII without spaces.
local function token(v, max)
	return type(v) == "string" and #v >= 1 and #v <= max
		and string.find(v, "^[!-~]+$") ~= nil
end

-- o[k] when o is a table, else nil.
local function field(o, k)
	if type(o) ~= "table" then
		return nil
	end
	return o[k]
end

-- o[name] as an integer in [min, max]: "absent", "bad" or the integer.
local function int_field(o, name, min, max)
	local v = field(o, name)
	if v == nil then
		return "absent"
	end
	if type(v) ~= "number" then
		return "bad"
	end
	local i = math.tointeger(v)
	if i == nil or i < min or i > max then
		return "bad"
	end
	return i
end

-- Our id from o.metadata[key] (a UUID's text fits 39 bytes), else nil.
local function our_id(o, key)
	local v = field(field(o, "metadata"), key)
	if token(v, 39) then
		return v
	end
	return nil
end

--- Stripe ------------------------------------------------------------------
-- {"id": "evt_...", "object": "event", "type", "data": {"object": {...}}}:
-- the fields before and after Stripe's 2025 API are both read (the
-- invoice's subscription under parent.subscription_details, the period on
-- the subscription's items). Unix seconds become ms.

local STRIPE_ACTIONS = {
	["invoice.paid"] = "invoice.paid",
	["invoice.payment_failed"] = "invoice.payment_failed",
	["customer.subscription.updated"] = "subscription.updated",
	["customer.subscription.deleted"] = "subscription.deleted",
}

-- Stripe's subscription status in ours; "" keeps ours (incomplete,
-- incomplete_expired and paused have no equivalent).
local STRIPE_STATUS = {
	trialing = "trialing",
	active = "active",
	past_due = "past_due",
	unpaid = "past_due",
	canceled = "canceled",
}

local function stripe_invalid(why)
	invalid("the body is not a Stripe event: " .. why)
end

-- Unix seconds o[name] as ms (0 when absent).
local function stripe_time(o, name)
	local s = int_field(o, name, 1, SECONDS_MAX)
	if s == "bad" then
		stripe_invalid(name .. " is not a unix time")
	end
	if s == "absent" then
		return 0
	end
	return s * 1000
end

local function stripe_invoice(o, out)
	if not token(o.id, REF_MAX) then
		stripe_invalid("the invoice has no id")
	end
	out.ref = o.id
	out.our_id = our_id(o, "luxima_invoice_id")
	-- Its subscription: "subscription" (a string, or an object when
	-- expanded) before the 2025 API, parent.subscription_details after.
	local sub = o.subscription
	if type(sub) == "table" then
		sub = sub.id
	end
	if token(sub, REF_MAX) then
		out.sub_ref = sub
	end
	local details = field(field(o, "parent"), "subscription_details")
	if out.sub_ref == nil then
		local s = field(details, "subscription")
		if token(s, REF_MAX) then
			out.sub_ref = s
		end
	end
	out.sub_our_id = our_id(details, "luxima_subscription_id")
		or our_id(field(o, "subscription_details"),
			"luxima_subscription_id")
	if out.action ~= "invoice.paid" then
		return
	end
	local n = int_field(o, "amount_paid", 0, AMOUNT_MAX)
	if n == "absent" then
		n = int_field(o, "amount_due", 0, AMOUNT_MAX)
	end
	if n == "bad" then
		stripe_invalid("amount_paid is not an amount")
	end
	if n ~= "absent" then
		out.amount = n
	end
	local cur = o.currency
	if cur ~= nil then
		if not token(cur, 3)
			or string.find(cur, "^[A-Za-z][A-Za-z][A-Za-z]$") == nil then
			stripe_invalid("currency is not an ISO 4217 code")
		end
		out.currency = string.upper(cur)
	end
end

local function stripe_subscription(o, out)
	if not token(o.id, REF_MAX) then
		stripe_invalid("the subscription has no id")
	end
	out.ref = o.id
	out.our_id = our_id(o, "luxima_subscription_id")
	if o.status ~= nil then
		if not token(o.status, 31) then
			stripe_invalid("status is not a string")
		end
		out.status = STRIPE_STATUS[o.status] or ""
	end
	if o.cancel_at_period_end ~= nil then
		if type(o.cancel_at_period_end) ~= "boolean" then
			stripe_invalid("cancel_at_period_end is not a boolean")
		end
		out.cancel_at_period_end = o.cancel_at_period_end
	end
	-- The period: on the subscription before the 2025 API, on its items
	-- (all alike for one billing cycle) after.
	local period = o
	if o.current_period_end == nil then
		local data = field(field(o, "items"), "data")
		period = field(data, 1)
	end
	local ps = stripe_time(period, "current_period_start")
	local pe = stripe_time(period, "current_period_end")
	if (ps == 0) ~= (pe == 0) or pe < ps or (pe ~= 0 and pe == ps) then
		stripe_invalid("current_period_start and current_period_end "
			.. "are not a period")
	end
	if pe ~= 0 then
		out.period_start, out.period_end = ps, pe
	end
	local canceled = stripe_time(o, "canceled_at")
	if canceled == 0 then
		canceled = stripe_time(o, "ended_at")
	end
	if canceled ~= 0 then
		out.canceled_at = canceled
	end
end

local function stripe(ev)
	if ev.object ~= nil and ev.object ~= "event" then
		stripe_invalid('its object is not "event"')
	end
	if not token(ev.id, REF_MAX) then
		stripe_invalid("no id")
	end
	if not token(ev.type, 63) then
		stripe_invalid("no type")
	end
	local obj = field(ev.data, "object")
	if type(obj) ~= "table" then
		stripe_invalid("no data.object")
	end
	local out = {
		action = STRIPE_ACTIONS[ev.type] or "ignore",
		id = ev.id,
		type = ev.type,
	}
	if out.action == "invoice.paid"
		or out.action == "invoice.payment_failed" then
		stripe_invoice(obj, out)
	elseif out.action ~= "ignore" then
		stripe_subscription(obj, out)
	end
	return out
end

--- Paddle (an example of a second provider) ---------------------------------
-- Paddle Billing's notifications: {"event_id": "evt_...", "event_type",
-- "occurred_at", "data": {...}}. Our ids travel in data.custom_data
-- (luxima_invoice_id, luxima_subscription_id), amounts are strings of
-- minor units, times RFC 3339 text. Mapped: transaction.completed (paid),
-- transaction.payment_failed, subscription.updated, subscription.canceled;
-- anything else is ignored.

local PADDLE_ACTIONS = {
	["transaction.completed"] = "invoice.paid",
	["transaction.payment_failed"] = "invoice.payment_failed",
	["subscription.updated"] = "subscription.updated",
	["subscription.canceled"] = "subscription.deleted",
}

-- Paddle's subscription status in ours; "" keeps ours (paused).
local PADDLE_STATUS = {
	trialing = "trialing",
	active = "active",
	past_due = "past_due",
	canceled = "canceled",
}

local function paddle_invalid(why)
	invalid("the body is not a Paddle event: " .. why)
end

-- Days from 1970-01-01 to y-m-d (proleptic Gregorian).
local function days_from_civil(y, m, d)
	if m <= 2 then
		y = y - 1
	end
	local era = (y >= 0 and y or y - 399) // 400
	local yoe = y - era * 400
	local mp = (m + 9) % 12
	local doy = (153 * mp + 2) // 5 + d - 1
	local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
	return era * 146097 + doe - 719468
end

-- RFC 3339 text as ms since the epoch (0 when absent).
local function paddle_time(o, name)
	local s = field(o, name)
	if s == nil then
		return 0
	end
	if type(s) ~= "string" then
		paddle_invalid(name .. " is not an RFC 3339 time")
	end
	local y, mo, d, h, mi, sec, frac, zone = string.match(s,
		"^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt](%d%d):(%d%d):(%d%d)(%.?%d*)(.*)$")
	if y == nil
		or (frac ~= "" and (#frac < 2 or string.sub(frac, 1, 1) ~= ".")) then
		paddle_invalid(name .. " is not an RFC 3339 time")
	end
	local offset = 0
	if zone ~= "Z" and zone ~= "z" then
		local sign, oh, om = string.match(zone, "^([+-])(%d%d):(%d%d)$")
		if sign == nil then
			paddle_invalid(name .. " is not an RFC 3339 time")
		end
		offset = (tonumber(oh) * 60 + tonumber(om)) * 60
		if sign == "-" then
			offset = -offset
		end
	end
	y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
	h, mi, sec = tonumber(h), tonumber(mi), tonumber(sec)
	if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59
		or sec > 60 then
		paddle_invalid(name .. " is not an RFC 3339 time")
	end
	local ms = 0
	if frac ~= "" then
		ms = tonumber(string.sub(frac .. "00", 2, 4))
	end
	local t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
		- offset
	if t < 1 then
		paddle_invalid(name .. " is before 1970")
	end
	return t * 1000 + ms
end

local function paddle_transaction(o, out)
	if not token(o.id, REF_MAX) then
		paddle_invalid("the transaction has no id")
	end
	out.ref = o.id
	local custom = field(o, "custom_data")
	local v = field(custom, "luxima_invoice_id")
	if token(v, 39) then
		out.our_id = v
	end
	if token(o.subscription_id, REF_MAX) then
		out.sub_ref = o.subscription_id
	end
	v = field(custom, "luxima_subscription_id")
	if token(v, 39) then
		out.sub_our_id = v
	end
	if out.action ~= "invoice.paid" then
		return
	end
	local total = field(field(field(o, "details"), "totals"), "grand_total")
	if total ~= nil then
		if type(total) ~= "string" or string.find(total, "^%d+$") == nil
			or #total > 15 then
			paddle_invalid("details.totals.grand_total is not an "
				.. "amount")
		end
		out.amount = math.tointeger(tonumber(total))
	end
	local cur = o.currency_code
	if cur ~= nil then
		if type(cur) ~= "string"
			or string.find(cur, "^[A-Za-z][A-Za-z][A-Za-z]$") == nil then
			paddle_invalid("currency_code is not an ISO 4217 code")
		end
		out.currency = string.upper(cur)
	end
end

local function paddle_subscription(o, out)
	if not token(o.id, REF_MAX) then
		paddle_invalid("the subscription has no id")
	end
	out.ref = o.id
	local v = field(field(o, "custom_data"), "luxima_subscription_id")
	if token(v, 39) then
		out.our_id = v
	end
	if o.status ~= nil then
		if type(o.status) ~= "string" then
			paddle_invalid("status is not a string")
		end
		out.status = PADDLE_STATUS[o.status] or ""
	end
	-- A scheduled cancellation is Paddle's cancel at the period's end.
	local change = field(o, "scheduled_change")
	out.cancel_at_period_end = field(change, "action") == "cancel"
	local period = field(o, "current_billing_period")
	local ps = paddle_time(period, "starts_at")
	local pe = paddle_time(period, "ends_at")
	if (ps == 0) ~= (pe == 0) or pe < ps or (pe ~= 0 and pe == ps) then
		paddle_invalid("current_billing_period is not a period")
	end
	if pe ~= 0 then
		out.period_start, out.period_end = ps, pe
	end
	local canceled = paddle_time(o, "canceled_at")
	if canceled ~= 0 then
		out.canceled_at = canceled
	end
end

local function paddle(ev)
	if not token(ev.event_id, REF_MAX) then
		paddle_invalid("no event_id")
	end
	if not token(ev.event_type, 63) then
		paddle_invalid("no event_type")
	end
	local data = ev.data
	if type(data) ~= "table" then
		paddle_invalid("no data")
	end
	local out = {
		action = PADDLE_ACTIONS[ev.event_type] or "ignore",
		id = ev.event_id,
		type = ev.event_type,
	}
	if out.action == "invoice.paid"
		or out.action == "invoice.payment_failed" then
		paddle_transaction(data, out)
	elseif out.action ~= "ignore" then
		paddle_subscription(data, out)
	end
	return out
end

--- the handler ---------------------------------------------------------------

local PROVIDERS = { stripe = stripe, paddle = paddle }

return function(req)
	local map = PROVIDERS[req.provider]
	if map == nil then
		-- A provider registered without a mapping here: refuse, so its
		-- deliveries are retried once a mapping is added.
		error("no mapping for provider " .. tostring(req.provider), 0)
	end
	local ok, res = pcall(map, req.event or {})
	if ok then
		return { json = res }
	end
	if type(res) == "table" and res.invalid ~= nil then
		return { json = { action = "reject", code = "invalid_event",
			reason = res.invalid } }
	end
	error(res, 0)
end
