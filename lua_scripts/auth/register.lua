--[[ auth/register: runs before an account is created, at POST /auth/register
and at the GoTrue-compatible POST /auth/v1/signup (after the email's shape
and the password policy passed, before anything is looked up or written).

Receives  req.email     the address, normalised (trimmed, lower-case)
          req.address   the client's IP address ("" when unknown)
          req.settings  { allowed_email_domains = "example.com, corp.example" }
                        (auth.allowed_email_domains or
                        LUXIMA_AUTH_ALLOWED_EMAIL_DOMAINS; "" when unset)
Returns   { json = { allow = true } }
          { json = { allow = false, status = 403 | 422, code = "...",
                     reason = "..." } }
          A refusal answers status (default 403) with code (default
          "registration_denied") and reason; nothing is written.
Default   (this script, and the platform when the hook has no script): when
          allowed_email_domains lists domains, the email's domain must be
          one of them exactly (any case), else 422
          "email_domain_not_allowed"; otherwise allow.
Failure   fails closed: 503 "hook_failed", nothing written.
]]

-- The comma list as a set of lower-case domains, and how many it holds.
local function domain_set(list)
	local set, n = {}, 0
	for item in string.gmatch(list or "", "[^,]+") do
		local d = string.lower(string.match(item, "^%s*(.-)%s*$"))
		if d ~= "" then
			set[d] = true
			n = n + 1
		end
	end
	return set, n
end

return function(req)
	local settings = req.settings or {}
	local set, n = domain_set(settings.allowed_email_domains)
	if n == 0 then
		return { json = { allow = true } }
	end
	local domain = string.match(req.email or "", "@([^@]+)$")
	if domain ~= nil and set[string.lower(domain)] then
		return { json = { allow = true } }
	end
	return { json = {
		allow = false,
		status = 422,
		code = "email_domain_not_allowed",
		reason = "accounts with this email domain cannot be registered here",
	} }
end
