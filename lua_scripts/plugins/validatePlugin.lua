--[[ plugins/validatePlugin: runs in the plugins.validate job, after the
platform's own checks of an uploaded version (manifest, signature,
permissions, lua, size, min_luxima, routes, hooks), when the bundle parses.
Its findings are appended to the version's report.

Receives  req.plugin    { name, publisher }
          req.version   the uploaded version ("1.2.0")
          req.manifest  the parsed manifest: { name, version, description,
                        publisher, min_luxima, permissions = { "docs.read",
                        ... }, hooks = { { event, file } }, routes =
                        { { method, path, file } }, config = { <field> =
                        { type, required, default, max } } }
          req.checks    the platform's checks, in report order:
                        { { name, ok, detail, code } } (code only when
                        ok is false)
          req.files     the bundle's files: { { path, size } } (bytes)
Returns   { json = { checks = { { name = "...", ok = true | false,
                                  detail = "...", code = "..." }, ... } } }
          Each finding is appended to the report as it is: name
          [a-z][a-z0-9_]* (at most 63 bytes, not a platform check's name,
          each once), ok required, detail text (at most 1000 bytes;
          default "passed" or "refused by the plugins/validatePlugin
          hook"), code [a-z][a-z0-9_]* (at most 47 bytes; default
          "plugin_refused"; kept only when ok is false). At most 32
          findings. Any finding with ok = false makes the version invalid:
          it can be neither published nor installed.
Default   (this script, and the platform without it): no finding; the
          platform's checks decide. Since this built-in adds nothing, the
          platform does not run it; an override always runs.
Failure   fails closed: the version is invalid, with the finding
          { name = "validatePlugin", ok = false, code = "hook_failed" }
          (the server log says why); upload a higher version once the
          script is fixed.

A deployment that refuses plugins asking for http.fetch writes, in
<data>/lua_scripts/plugins/validatePlugin.lua:

  return function(req)
  	for _, p in ipairs(req.manifest.permissions) do
  		if p == "http.fetch" then
  			return { json = { checks = { { name = "no_network",
  				ok = false, code = "permission_refused",
  				detail = "this platform does not run plugins " ..
  				         "that call http.fetch" } } } }
  		end
  	end
  	return { json = { checks = {} } }
  end

(plugins.allowed_permissions refuses a permission for every plugin too;
a script can decide per plugin, publisher or file.)
]]

return function(req)
	return { json = { checks = {} } }
end
