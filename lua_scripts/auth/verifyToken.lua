--[[ auth/verifyToken: adds claims to the answer of /auth/verify (GET with
the token as bearer, or POST {token}) once the token verified.

Receives  req.claims  the token's verified payload: { sub, sid, email, role,
                      aal, amr, app_metadata, iss, aud, iat, exp, ... }
Returns   { json = { extra = { ... } } }
          The answer of /auth/verify gets the table as its "extra" member
          (the other members are the platform's and never change). At most
          16 KiB of JSON; any other answer counts as a failure.
Default   (this script, and the platform without it): extra = {}.
Failure   fails open: logged, and the answer carries "extra": {}.
Cost      /auth/verify is the busiest route: since this built-in returns
          exactly the default, the platform gives that answer without
          running it. An override of it always runs.
]]

return function(req)
	return { json = { extra = {} } }
end
