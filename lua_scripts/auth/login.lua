--[[ auth/login: runs after a sign-in proved who the user is (password, and
the second factor when the user has one) and before a session is opened and
tokens are issued: POST /auth/login, POST /auth/login/mfa, the
GoTrue-compatible password grant and a signup that signs in at once.

Receives  req.user        the account as /auth/me shows it: { id, email,
                          name, email_verified, platform_admin, created_at,
                          last_sign_in_at } (times RFC 3339 text or nil)
          req.method      "password", "totp" or "recovery"
          req.aal         "aal1" or "aal2"
          req.address     the client's IP address ("" when unknown)
          req.user_agent  its User-Agent ("" when none)
Returns   { json = { allow = true } }
          { json = { allow = false, code = "...", reason = "..." } }
          A refusal answers 403 with code (default "login_denied") and
          reason; no session is opened. The password was right, so the
          account's failed-login count is already cleared.
Default   (this script, and the platform without it): allow.
Failure   fails closed: 503 "hook_failed", no session.
]]

return function(req)
	return { json = { allow = true } }
end
