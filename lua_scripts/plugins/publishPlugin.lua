--[[ plugins/publishPlugin: runs at POST /plugins/{id}/publish, inside its
transaction, after the platform's own rules passed (the caller acts for
the plugin's publisher, the version is valid) and before it is published.

Receives  req.plugin    { name, publisher }
          req.version   the version being published ("1.2.0")
          req.manifest  the parsed manifest (as plugins/validatePlugin
                        gets it)
          req.report    the version's validation report: { status,
                        checks = { { name, ok, detail, code } } }
          req.actor     who publishes: { id, email, platform_admin }
                        (id: the user's id)
Returns   { json = { allow = true } }
          { json = { allow = false, code = "...", reason = "..." } }
          A refusal is always 403 with code (default
          "plugin_publish_denied") and reason; the version stays valid
          and unpublished, and may be published once the script allows it.
Default   (this script, and the platform without it): allow. Since this
          built-in returns exactly the default, the platform does not run
          it; an override always runs.
Failure   fails closed: 503 "hook_failed", nothing published.
]]

return function(req)
	return { json = { allow = true } }
end
