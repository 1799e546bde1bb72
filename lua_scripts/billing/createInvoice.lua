--[[ billing/createInvoice: the line rules of an invoice built from a
subscription, by POST /invoices and by the renewal that closes a period
(the server's billing.renew job and `luxima billing renew`). It runs inside
the invoice's transaction, once the platform built the lines, and only
when there is at least one.

Receives  req.subscription  the subscription as the API shows it
          req.plan          the plan the period began on (GET /plans shape)
          req.period_start, req.period_end   the period (RFC 3339)
          req.trial         true for a trial period (no fee, no usage)
          req.reason        "manual" (POST /invoices) or
                            "subscription_cycle" (the renewal)
          req.currency      the invoice's currency ("USD")
          req.lines         { { kind, description, metric, quantity,
                            unit_amount, amount, currency, period_start,
                            period_end }, ... }: kind is subscription (the
                            plan's fee), proration (plan changes), usage
                            (beyond the plan's allowance; metric names it)
Returns   { json = { lines = { ... } } }: the invoice's lines, in order. The
          platform checks each as client input: kind one of the four,
          description 1..319 bytes, quantity (default 1), unit_amount and
          amount integers of minor units with amount = quantity x
          unit_amount, currency (if given) the invoice's, no negative
          subscription or usage line, period both RFC 3339 or both nil; it
          gives each line a new id and sums the total itself. A discount is
          an "adjustment" line with a negative amount. No lines at all:
          nothing to bill (POST /invoices answers 409 nothing_to_invoice).
Default   (this script, and the platform without it): the lines unchanged.
Failure   fails open: logged, and the lines stay as the platform built
          them (an invoice is never lost to a broken rule).
]]

return function(req)
	return { json = { lines = req.lines } }
end
