--[[ billing/updateSubscription: runs before each change a
PATCH /subscriptions/{id} makes, after the platform's own rules passed
(known active plan, same currency and interval, the tenant's usage within
the new plan's limits). A PATCH that changes the plan and the cancellation
runs it twice: "change_plan" first, then "cancel" or "resume".

Receives  req.action        "change_plan", "cancel" (cancel at the
                            period's end) or "resume" (undo that)
          req.subscription  the subscription as the API shows it, before
                            the change: { id, tenant_id, plan, status,
                            current_period_start, current_period_end,
                            cancel_at_period_end, ... }
          req.from_plan     the current plan as GET /plans shows it:
                            { code, name, amount, currency, interval,
                            limits, ... }
          req.to_plan       the plan after the change (from_plan for
                            cancel and resume)
Returns   { json = { allow = true } }
          { json = { allow = false, status = 403 | 422, code = "...",
                     reason = "..." } }
          A refusal answers status (default 403) with code (default
          "subscription_change_denied"); nothing changes.
Default   (this script, and the platform without it): allow.
Failure   fails closed: 503 "hook_failed", nothing changes.
]]

return function(req)
	return { json = { allow = true } }
end
