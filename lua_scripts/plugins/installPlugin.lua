--[[ plugins/installPlugin: runs before a tenant installs a plugin (POST
/plugins/{id}/install) or upgrades it (POST /plugins/{id}/upgrade), inside
the change's transaction, after the platform's own rules passed (a
published version, a configuration the manifest accepts, not installed
yet and room in the plan's "plugins" quota, or a higher version for an
upgrade) and before anything is written.

Receives  req.action        "install" or "upgrade"
          req.tenant        { id, plan } (plan: the tenant's plan code)
          req.plugin        { name, publisher }
          req.version       the version being installed ("1.2.0")
          req.from_version  the installed version (upgrade; nil for
                            install)
          req.permissions   what the version declares: { "docs.read", ... }
          req.config        the tenant's settings, normalized (defaults
                            filled in): { <field> = value }
Returns   { json = { allow = true } }
          { json = { allow = false, code = "...", reason = "..." } }
          A refusal is always 403 with code (default
          "plugin_install_denied", "plugin_upgrade_denied" for an upgrade)
          and reason; nothing is installed or changed.
Default   (this script, and the platform without it): allow. Since this
          built-in returns exactly the default, the platform does not run
          it; an override always runs.
Failure   fails closed: 503 "hook_failed", nothing installed or changed.
]]

return function(req)
	return { json = { allow = true } }
end
