#!/usr/bin/env python3
"""Tenant isolation generated from the route table (issue #4), so a new route
is covered without anyone remembering it.

`luxima openapi routes` (METHOD PATH MODULE NEED) is read at test time. For
every route that takes a tenant or object id, tenant B's owner and B's
service key (every permission B's owner can grant) call it with tenant A's
ids: the answer is 404 (403 only where existence is documented public: no
route today), the body holds no A data, and A reads back byte-equal as A's
owner afterwards. Routes under /tenants/{id}/ with sub-object ids are also
called on B's own tenant with A's sub-object ids (404, A untouched).
Request bodies are built from the embedded OpenAPI document so that they
would succeed if the caller were allowed: the 404 proves isolation, not
validation. A path parameter this file does not map fails the test.

Then the roles, also generated from the route table and
migrations/seeds/roles_default.sql: a viewer gets 403 on every route needing
a permission viewers lack (every write), a member on every route needing
one members lack (members.write: adding, changing and removing members,
inviting and revoking invitations); a removed member's next request is 404,
a revoked key's next request 401."""
import base64
import hashlib
import hmac
import json
import os
import re
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SOURCE, Luxima, assert_problem, main, new_data_dir, run_cli  # noqa: E402

PW = "a long enough passphrase"
ADMIN_EMAIL = "iso-root@example.com"
TAG = "%d%d" % (os.getpid(), int(time.time()) % 100000)

# --- What path parameters mean -------------------------------------------
#
# After /tenants/ the {id} is the tenant (the core's NEED_TENANT rule reads
# it; /admin/tenants/{id}/... names a tenant too) and the other parameters
# are objects of that tenant, by name. tenant_ctx routes name their tenant
# by X-Tenant-Id / ?tenant_id= and their sub-objects by the same names.
TENANT_OBJECTS = {
    "user_id": "member_id",  # a member of the tenant (not its owner, not in B)
    "invitation_id": "invitation_id",  # a pending invitation
    "key_id": "key_id",  # a live service key
    "endpoint_id": "endpoint_id",  # a webhook endpoint (/webhooks/endpoints/{endpoint_id})
}
# tenant_ctx routes (the tenant from X-Tenant-Id) name their object "id":
# keyed by the path's first segment.
CTX_OBJECTS = {
    "/subscriptions/": "subscription_id",  # the tenant's live subscription
    "/invoices/": "invoice_id",  # a draft invoice of its current period
}
# tenant_ctx_opt (ANY /functions/v1/{name}: anonymous callers pass to the
# handler, which answers them for public functions only) is tested like
# tenant_ctx, plus test_anonymous_invocation_does_not_leak.
CTX_KINDS = ("tenant_ctx", "tenant_ctx_opt")
# tenant_ctx objects named by a per-tenant name, not an id: keyed by (path
# prefix, parameter). make_tenant names them after the tenant, so B naming
# A's is a real probe (B has none of that name).
CTX_NAMES = {
    ("/functions/", "name"): "function_name",  # an edge function, two versions
    ("/secrets/", "secret_name"): "secret_name",  # a function secret
    # a plugin A installed (plugins are instance-wide: the object is A's
    # installation, which B has not) and the segments of one of its routes
    ("/plugins/", "id"): "plugin_name",
    ("/plugins/v1/", "plugin"): "plugin_name",
    ("/plugins/v1/", "p1"): "plugin_p1",
    ("/plugins/v1/", "p2"): "plugin_p2",
    ("/plugins/v1/", "p3"): "plugin_p3",
    ("/plugins/v1/", "p4"): "plugin_p4",
}
# Routes creating or replacing the named object in the caller's tenant: B
# using A's name there sets B's own (no probe; A's objects are in the
# snapshot), so they get no "B's tenant, A's objects" case.
CTX_NAME_UPSERTS = {("PUT", "/secrets/{secret_name}"), ("POST", "/plugins/{id}/install")}
# Elsewhere a parameter is an object of A's owner or about A, and "id"
# means something else on each route: keyed by (path, name).
USER_OBJECTS = {
    ("/auth/sessions/{id}", "id"): "session_id",  # A's owner's session
    ("/auth/mfa/totp/{factor_id}", "factor_id"): "factor_id",  # A's owner's TOTP factor
    ("/admin/mail/{id}", "id"): "mail_id",  # the mail inviting to A (A's name, a token)
    # the plugin publisher A's owner made, its key, and a plugin of it with
    # a valid version nothing of which is published (only its owner sees it)
    ("/publishers/{name}/keys", "name"): "publisher_name",
    ("/publishers/{name}/keys/{key_id}", "name"): "publisher_name",
    ("/publishers/{name}/keys/{key_id}", "key_id"): "publisher_key_id",
    ("/plugins/{id}", "id"): "draft_plugin",
    ("/plugins/{id}/publish", "id"): "draft_plugin",
}
# Not ids; a route with one gets no case.
SKIP_PARAMS = {
    # POST /invitations/{token}/accept: a bearer capability mailed to the
    # invitee, whose possession is the authorisation (unguessable, 256
    # bits; wrong and reused tokens: test_tenant_invites).
    "token": "capability token, not an id",
    # /admin/plans/{code}: plans are instance-wide, no tenant's object;
    # only platform admins reach them (test_billing).
    "code": "an instance-wide plan code, not a tenant's object",
    # POST /billing/webhooks/{provider}: a payment provider's name; the
    # route is anonymous and signed by the provider (test_billing_stripe).
    "provider": "a payment provider's name, not a tenant's object",
}
# The plan every made tenant subscribes to: paid, without a trial, so its
# period has an invoice to take.
PLAN = "iso-paid"
# (METHOD, PATH) where 403 to a non-member is documented because the
# object's existence is public. None today: a non-member always gets 404.
# (platform_admin routes refuse everyone else 403 by role, before and
# whatever the id: no existence leaks, so they expect 403 below.)
PUBLIC_EXISTENCE = set()

# Bodies whose rule the schema cannot say. POST /tenants/{id}/members takes
# exactly one of user_id and email; the attack is the caller adding itself
# (a user outside the tenant, so it would succeed) as an owner.
BODY_OVERRIDES = {
    ("POST", "/tenants/{id}/members"):
        lambda v: {"user_id": v["newcomer_id"], "role": "owner"},
    ("POST", "/subscriptions"): lambda v: {"plan": PLAN},
    ("POST", "/invoices"): lambda v: {"subscription_id": v.get("subscription_id", "none")},
    ("PATCH", "/subscriptions/{id}"): lambda v: {"cancel_at_period_end": True},
    # a new function (the schema's name pattern and semver are not in vals)
    ("POST", "/functions"): lambda v: {"name": "iso-new", "version": "1.0.0",
                                       "source": FN_SOURCE % "NONE"},
    # the attack is making A's function public
    ("PATCH", "/functions/{name}"): lambda v: {"public": True},
    # publishing the valid version of A's owner's unpublished plugin
    ("POST", "/plugins/{id}/publish"): lambda v: {"version": "1.0.0"},
    # upgrading to the version the control's CONTROL_SETUP publishes
    ("POST", "/plugins/{id}/upgrade"): lambda v: {"version": "1.1.0"},
}
# Every made tenant's function: it answers its tenant and secret, so a call
# that reached A's function would show A's data.
FN_SOURCE = ('return function(req) return {json = {tenant = req.tenant.id, '
             'secret = secrets.get("%s")}} end')
# Every made tenant's plugin: a route for every method at 1 to 4 path
# segments, answering its tenant (a call that reached A's would show A's).
PLUGIN_SOURCE = 'return function(req) return {json = {tenant = req.tenant.id}} end'
PLUGIN_SEGMENTS = ("a", "b", "c", "d")

# The control (test_generated_requests_succeed_for_the_rightful_caller) makes each
# generated request as its rightful caller (the owner; for platform_admin
# routes the platform admin) on a fresh tenant, and expects success. A
# route that succeeds only after some step names it here:
# (METHOD, PATH) -> function(test, world) run before the call.
CONTROL_SETUP = {
    # only a deleted tenant can be restored
    ("POST", "/admin/tenants/{id}/restore"): lambda t, w: t.ok(
        t.call(w["owner"]["h"], "DELETE", "/tenants/" + w["id"]), 204),
    # a period is invoiced once: the control's tenant subscribes only now
    ("POST", "/invoices"): lambda t, w: w.update(subscription_id=t.ok(t.call(
        w["owner"]["h"], "POST", "/subscriptions", {"plan": PLAN},
        {"X-Tenant-Id": w["id"]}), 201)["id"]),
    # the control's tenant has its plugin installed already
    ("POST", "/plugins/{id}/install"): lambda t, w: t.ok(t.call(
        w["owner"]["h"], "DELETE", "/plugins/%s/install" % w["plugin_name"], None,
        {"X-Tenant-Id": w["id"]}), 204),
    # an upgrade needs a higher published version
    ("POST", "/plugins/{id}/upgrade"): lambda t, w: t.release_plugin(
        w["owner"], w, w["plugin_name"], "1.1.0"),
}
# voiding, writing off and paying need a finalized invoice
for _action in ("void", "mark-uncollectible", "mark-paid"):
    CONTROL_SETUP[("POST", "/invoices/{id}/" + _action)] = lambda t, w: t.ok(t.call(
        w["owner"]["h"], "POST", "/invoices/%s/finalize" % w["invoice_id"], None,
        {"X-Tenant-Id": w["id"]}), 200)
# Controls whose tenant must start without a subscription.
CONTROL_UNBILLED = {("POST", "/subscriptions"), ("POST", "/invoices")}

# Sanity floor: routes that exist today and must be among the cases, so the
# test cannot pass on an empty or misparsed route table.
FLOOR = {
    ("GET", "/tenants/{id}"), ("PATCH", "/tenants/{id}"), ("DELETE", "/tenants/{id}"),
    ("GET", "/tenants/{id}/members"), ("POST", "/tenants/{id}/members"),
    ("PATCH", "/tenants/{id}/members/{user_id}"),
    ("DELETE", "/tenants/{id}/members/{user_id}"),
    ("GET", "/tenants/{id}/invitations"), ("POST", "/tenants/{id}/invitations"),
    ("DELETE", "/tenants/{id}/invitations/{invitation_id}"),
    ("GET", "/tenants/{id}/api-keys"), ("POST", "/tenants/{id}/api-keys"),
    ("DELETE", "/tenants/{id}/api-keys/{key_id}"),
    ("DELETE", "/auth/sessions/{id}"), ("DELETE", "/auth/mfa/totp/{factor_id}"),
    ("GET", "/admin/mail/{id}"),
}
CROSS_FLOOR = {
    ("PATCH", "/tenants/{id}/members/{user_id}"),
    ("DELETE", "/tenants/{id}/members/{user_id}"),
    ("DELETE", "/tenants/{id}/invitations/{invitation_id}"),
    ("DELETE", "/tenants/{id}/api-keys/{key_id}"),
}
MEMBER_FLOOR = {
    ("POST", "/tenants/{id}/members"), ("PATCH", "/tenants/{id}/members/{user_id}"),
    ("DELETE", "/tenants/{id}/members/{user_id}"),
    ("POST", "/tenants/{id}/invitations"),
    ("DELETE", "/tenants/{id}/invitations/{invitation_id}"),
}
PARAM_RE = re.compile(r"\{([A-Za-z0-9_]+)\}")


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def totp(secret_b32):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def load_routes():
    """[(method, path, module, kind, perm)] of `luxima openapi routes`,
    without the implied HEAD and OPTIONS lines."""
    p = run_cli(["openapi", "routes"])
    assert p.returncode == 0, p.stderr
    out = []
    for line in p.stdout.splitlines():
        f = line.split(" ")
        assert len(f) == 4, "route line is not METHOD PATH MODULE NEED: %r" % line
        method, path, module, need = f
        if method in ("HEAD", "OPTIONS"):
            continue
        kind, _, perm = need.partition(":")
        out.append((method, path, module, kind, perm or None))
    return out


def load_roles():
    """{role: set of permissions} from the default seed."""
    with open(os.path.join(SOURCE, "migrations", "seeds", "roles_default.sql")) as f:
        text = f.read()
    part = text.split("INSERT OR IGNORE INTO role_permissions", 1)[1]
    roles = {}
    for role, perm in re.findall(r"\('(\w+)', '([\w.]+)'\)", part):
        roles.setdefault(role, set()).add(perm)
    return roles


def tenant_path(path):
    return ("/tenants/{id}/" in path + "/")


def ctx_name(path, param):
    """The make_tenant key of a CTX_NAMES parameter of path, or None."""
    for (prefix, name), key in CTX_NAMES.items():
        if name == param and path.startswith(prefix):
            return key
    return None


def body_schema(doc, method, path):
    """The JSON request-body schema the document gives the operation, $refs
    resolved; None when it takes no body."""
    op = doc.get("paths", {}).get(path, {}).get(method.lower())
    if not op or "requestBody" not in op:
        return None

    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            cur = doc
            for part in node["$ref"].lstrip("#/").split("/"):
                cur = cur[part]
            node = cur
        return node

    rb = resolve(op["requestBody"])
    schema = rb.get("content", {}).get("application/json", {}).get("schema")
    return resolve(schema) if schema is not None else None


def build_body(doc, method, path, vals):
    """A body that would succeed for an allowed caller: the required fields
    (or, when none is required, the fields we know a value for), known names
    from vals, anything else a harmless value of its type."""
    if (method, path) in BODY_OVERRIDES:
        return BODY_OVERRIDES[(method, path)](vals)
    schema = body_schema(doc, method, path)
    if schema is None:
        return None
    props = schema.get("properties", {})
    names = list(schema.get("required", [])) or [n for n in props if n in vals]
    body = {}
    for n in names:
        prop = props.get(n, {})
        if n in vals and ("enum" not in prop or vals[n] in prop["enum"]):
            body[n] = vals[n]
        elif "enum" in prop:
            body[n] = prop["enum"][0]
        else:
            t = prop.get("type", "string")
            body[n] = {"integer": 1, "number": 1, "boolean": False, "array": [],
                       "object": {}}.get(t, "iso")
    return body


def fill(path, values):
    return PARAM_RE.sub(lambda m: values[m.group(1)], path)


class Case:
    def __init__(self, caller, method, route, path, headers=None, body=None,
                 status=404, code=None, variant="A's ids"):
        self.caller, self.method, self.route, self.path = caller, method, route, path
        self.headers = headers or {}
        self.body, self.status, self.code, self.variant = body, status, code, variant


class TenantIsolation(unittest.TestCase):
    n = 0

    @classmethod
    def setUpClass(cls):
        cls.routes = load_routes()
        cls.roles = load_roles()
        p = run_cli(["openapi"])
        assert p.returncode == 0, p.stderr
        cls.doc = json.loads(p.stdout)
        data = new_data_dir("isolation")
        p = run_cli(["admin", "create", "--email", ADMIN_EMAIL], data=data, input=PW + "\n")
        assert p.returncode == 0, p.stderr
        cls.lx = Luxima(data=data)
        try:
            cls.setup_world()
        except BaseException:
            cls.lx.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.lx.stop()

    # --- helpers -----------------------------------------------------------

    @classmethod
    def user(cls, label):
        cls.n += 1
        email = "iso-%s-%s-%d@example.com" % (label, TAG, cls.n)
        r = cls.lx.post("/auth/register", {"email": email, "password": PW})
        assert r.status == 201, r.body
        uid = r.json()["user"]["id"]
        r = cls.lx.post("/auth/login", {"email": email, "password": PW})
        assert r.status == 200, r.body
        return {"id": uid, "email": email, "h": bearer(r.json()["access_token"])}

    @classmethod
    def call(cls, h, method, path, body=None, headers=None, conn=None):
        hh = dict(h)
        hh.update(headers or {})
        return cls.lx.request(method, path, body=body, headers=hh, conn=conn)

    @classmethod
    def ok(cls, r, status):
        assert r.status == status, "%d %s" % (r.status, r.body)
        return r.json() if r.body else None

    @classmethod
    def make_tenant(cls, owner, name, slug, extra_members=(), key_perms=("tenants.read",),
                    target=None, billed=True):
        """A tenant with a viewer member (target), a pending invitation and a
        key; its owner with a session and an unconfirmed TOTP factor.
        Returns the values for path parameters and bodies."""
        t = cls.ok(cls.call(owner["h"], "POST", "/tenants", {"name": name, "slug": slug}), 201)
        tid = t["id"]
        target = target or cls.user("target")
        cls.ok(cls.call(owner["h"], "POST", "/tenants/%s/members" % tid,
                        {"email": target["email"], "role": "viewer"}), 201)
        for u, role in extra_members:
            cls.ok(cls.call(owner["h"], "POST", "/tenants/%s/members" % tid,
                            {"email": u["email"], "role": role}), 201)
        inv_email = "iso-invitee-%s-%s@example.com" % (slug, TAG)
        inv = cls.ok(cls.call(owner["h"], "POST", "/tenants/%s/invitations" % tid,
                              {"email": inv_email, "role": "viewer"}), 201)
        key = cls.ok(cls.call(owner["h"], "POST", "/tenants/%s/api-keys" % tid,
                              {"name": "key-" + slug, "permissions": list(key_perms)}), 201)
        rows = cls.ok(cls.call(owner["h"], "GET", "/auth/sessions"), 200)["sessions"]
        f = cls.ok(cls.call(owner["h"], "POST", "/auth/mfa/totp/enroll"), 201)
        mail = cls.ok(cls.call(cls.admin["h"], "GET", "/admin/mail?limit=100"), 200)["items"]
        mail = [m["id"] for m in mail if m["to"] == inv_email]
        assert len(mail) == 1, mail
        # a webhook endpoint (port 9: its test deliveries fail fast)
        ep = cls.ok(cls.call(owner["h"], "POST", "/webhooks/endpoints",
                             {"url": "https://127.0.0.1:9/iso-" + slug}, {"X-Tenant-Id": tid}), 201)
        plugins = cls.make_plugins(owner, tid)
        # an edge function with two versions (so a rollback has one to go
        # to) and a secret it reads, named after the tenant
        fn_name, sec_name = "fn-" + slug, "S_" + slug.upper().replace("-", "_")
        sec_value = "iso-secret-value-" + slug
        cls.ok(cls.call(owner["h"], "PUT", "/secrets/" + sec_name, {"value": sec_value},
                        {"X-Tenant-Id": tid}), 201)
        for version, status in (("1.0.0", 201), ("1.1.0", 200)):
            cls.ok(cls.call(owner["h"], "POST", "/functions",
                            {"name": fn_name, "version": version,
                             "source": FN_SOURCE % sec_name}, {"X-Tenant-Id": tid}), status)
        billing = {}
        if billed:
            ctx = {"X-Tenant-Id": tid}
            sub = cls.ok(cls.call(owner["h"], "POST", "/subscriptions", {"plan": PLAN}, ctx), 201)
            bill = cls.ok(cls.call(owner["h"], "POST", "/invoices",
                                   {"subscription_id": sub["id"]}, ctx), 201)
            billing = {"subscription_id": sub["id"], "invoice_id": bill["id"]}
        return dict(billing, **plugins, **{"id": tid, "name": t["name"], "slug": t["slug"],
                "owner": owner,
                "target": target, "member_id": target["id"], "member_email": target["email"],
                "invitation_id": inv["id"], "invitation_email": inv_email,
                "key_id": key["id"], "key_prefix": key["prefix"], "key": key,
                "session_id": [x for x in rows if x["current"]][0]["id"],
                "factor_id": f["factor_id"], "factor_secret": f["secret"],
                "mail_id": mail[0], "endpoint_id": ep["id"],
                "function_name": fn_name, "secret_name": sec_name, "secret_value": sec_value})

    @classmethod
    def release_plugin(cls, owner, pv, name, version, publish=True):
        """Uploads version of plugin name, signed with the key of the
        publisher in pv, waits for it to validate and publishes it."""
        d = new_data_dir("isoplug")
        manifest = {"name": name, "version": version, "description": "Isolation.",
                    "publisher": pv["publisher_name"], "min_luxima": "0.1.0",
                    "permissions": [], "routes": [
                        {"method": m, "path": "/" + "/".join(PLUGIN_SEGMENTS[:n]),
                         "file": "routes/r.lua"}
                        for n in range(1, 5) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")]}
        os.makedirs(os.path.join(d, "src", "routes"))
        with open(os.path.join(d, "src", "manifest.json"), "w") as f:
            json.dump(manifest, f)
        with open(os.path.join(d, "src", "routes", "r.lua"), "w") as f:
            f.write(PLUGIN_SOURCE)
        out = os.path.join(d, "b.lxp")
        for args in (["pack", os.path.join(d, "src"), "--out", out],
                     ["sign", out, "--key", pv["publisher_key"] + ".key"]):
            p = run_cli(["plugin"] + args)
            assert p.returncode == 0, p.stderr
        with open(out) as f:
            cls.ok(cls.call(owner["h"], "POST", "/plugins", f.read(),
                            {"Content-Type": "application/json"}), 202)
        v = cls.ok(cls.call(owner["h"], "GET", "/plugins/%s?wait=10" % name), 200)["versions"]
        assert [x["status"] for x in v if x["version"] == version] == ["valid"], v
        if publish:
            cls.ok(cls.call(owner["h"], "POST", "/plugins/%s/publish" % name,
                            {"version": version}), 200)

    @classmethod
    def make_plugins(cls, owner, tid):
        """owner's plugin publisher with a key, a plugin of it installed in
        tenant tid and another with a valid version nothing of which is
        published. Names are not the tenant's (plugins are public)."""
        cls.n += 1
        pv = {"publisher_name": "iso-pub-%s-%d" % (TAG, cls.n),
              "publisher_key": os.path.join(new_data_dir("isokey"), "k"),
              "plugin_name": "iso-plug-%s-%d" % (TAG, cls.n),
              "draft_plugin": "iso-draft-%s-%d" % (TAG, cls.n)}
        cls.ok(cls.call(owner["h"], "POST", "/publishers", {"name": pv["publisher_name"]}), 201)
        p = run_cli(["plugin", "keygen", "--out", pv["publisher_key"]])
        assert p.returncode == 0, p.stderr
        with open(pv["publisher_key"] + ".pub") as f:
            k = cls.ok(cls.call(owner["h"], "POST", "/publishers/%s/keys" % pv["publisher_name"],
                                {"public_key": f.read()}), 201)
        pv["publisher_key_id"] = k["key_id"]
        cls.release_plugin(owner, pv, pv["plugin_name"], "1.0.0")
        cls.release_plugin(owner, pv, pv["draft_plugin"], "1.0.0", publish=False)
        cls.ok(cls.call(owner["h"], "POST", "/plugins/%s/install" % pv["plugin_name"], {},
                        {"X-Tenant-Id": tid}), 201)
        pv.update({"plugin_p%d" % (i + 1): s for i, s in enumerate(PLUGIN_SEGMENTS)})
        return pv

    @classmethod
    def setup_world(cls):
        r = cls.lx.post("/auth/login", {"email": ADMIN_EMAIL, "password": PW})
        cls.admin = {"h": bearer(cls.ok(r, 200)["access_token"])}
        cls.ok(cls.call(cls.admin["h"], "POST", "/admin/plans",
                        {"code": PLAN, "name": "Iso Paid", "amount": 1234, "currency": "USD",
                         "interval": "month"}), 201)
        # Tenant A, whose data nobody else may see or touch.
        cls.a_owner = cls.user("a-owner")
        cls.A = cls.make_tenant(cls.a_owner, "Zanzibar Alpha Isolated", "zanzibar-a-" + TAG)
        # Tenant B: its owner is in no other tenant; its key carries every
        # permission B's owner holds (a key may carry any of its creator's).
        cls.b_owner = cls.user("b-owner")
        cls.B = cls.make_tenant(cls.b_owner, "Quokka Beta", "quokka-b-" + TAG)
        owner_perms = sorted(cls.roles["owner"])
        schema = body_schema(cls.doc, "POST", "/tenants/{id}/api-keys")
        grantable = set(schema["properties"]["permissions"]["items"].get("enum", owner_perms))
        assert set(owner_perms) <= grantable, (owner_perms, grantable)
        k = cls.ok(cls.call(cls.b_owner["h"], "POST", "/tenants/%s/api-keys" % cls.B["id"],
                            {"name": "b-all", "permissions": owner_perms}), 201)
        assert sorted(k["permissions"]) == owner_perms, k
        cls.callers = {"B owner": cls.b_owner["h"], "B key": bearer(k["secret"])}
        # A's strings that must appear in no answer to B.
        a = cls.A
        cls.secrets = {
            "A's tenant id": a["id"], "A's name": a["name"], "A's slug": a["slug"],
            "A's owner email": cls.a_owner["email"], "A's owner id": cls.a_owner["id"],
            "A's member email": a["member_email"], "A's member id": a["member_id"],
            "A's invitation id": a["invitation_id"],
            "A's invitation email": a["invitation_email"],
            "A's key id": a["key_id"], "A's key prefix": a["key_prefix"],
            "A's owner session": a["session_id"], "A's owner factor": a["factor_id"],
            "A's subscription": a["subscription_id"], "A's invoice": a["invoice_id"],
            "A's webhook endpoint": a["endpoint_id"],
            "A's function": a["function_name"], "A's secret name": a["secret_name"],
            "A's secret value": a["secret_value"],
            "A's plugin": a["plugin_name"], "A's unpublished plugin": a["draft_plugin"],
            "A's plugin publisher": a["publisher_name"],
            "A's publisher key": a["publisher_key_id"],
        }
        # A user in no tenant, whom the role tests and the control add.
        cls.outsider = cls.user("outsider")
        # Tenant C for the role tests: a viewer and a member besides the
        # owner and the viewer every made tenant has.
        cls.c_owner = cls.user("c-owner")
        cls.c_viewer = cls.user("c-viewer")
        cls.c_member = cls.user("c-member")
        cls.C = cls.make_tenant(cls.c_owner, "Civet Gamma", "civet-c-" + TAG,
                                extra_members=((cls.c_viewer, "viewer"),
                                               (cls.c_member, "member")))

    def vals(self, t, newcomer):
        """Body values that would succeed on tenant t for an allowed caller;
        newcomer: a user outside t."""
        TenantIsolation.n += 1
        v = {"name": "Renamed", "role": "member", "user_id": t["member_id"],
             "email": "iso-fresh-%s-%d@example.com" % (TAG, TenantIsolation.n),
             "permissions": ["tenants.read"], "password": PW,
             "newcomer_id": newcomer["id"], "url": "https://127.0.0.1:9/iso",
             "public_key": base64.b64encode(os.urandom(32)).decode()}
        if "subscription_id" in t:
            v["subscription_id"] = t["subscription_id"]
        return v

    @staticmethod
    def map_params(path, kind, t, sub):
        """{param: value} for path, the tenant being t and its sub-objects
        and user objects sub's; and the parameters with no meaning."""
        values, bad = {}, []
        for p in PARAM_RE.findall(path):
            if p == "id" and tenant_path(path):
                values[p] = t["id"]
            elif p in TENANT_OBJECTS and (tenant_path(path) or kind in CTX_KINDS):
                values[p] = sub[TENANT_OBJECTS[p]]
            elif p == "id" and kind in CTX_KINDS and any(
                    path.startswith(k) for k in CTX_OBJECTS):
                values[p] = sub[[v for k, v in CTX_OBJECTS.items() if path.startswith(k)][0]]
            elif kind in CTX_KINDS and ctx_name(path, p):
                values[p] = sub[ctx_name(path, p)]
            elif (path, p) in USER_OBJECTS:
                values[p] = sub[USER_OBJECTS[(path, p)]]
            else:
                bad.append(p)
        return values, bad

    # --- generation --------------------------------------------------------

    def generate(self):
        """(cases, unmapped, skipped) for the isolation test."""
        cases, unmapped, skipped = [], [], []
        a, b = self.A, self.B
        for method, path, _module, kind, _perm in self.routes:
            params = PARAM_RE.findall(path)
            if not params and kind not in CTX_KINDS:
                continue  # no id to misuse
            skip = [p for p in params if p in SKIP_PARAMS]
            if skip:
                skipped.append((method, path, SKIP_PARAMS[skip[0]]))
                continue
            tenant_kind = kind in ("tenant",) + CTX_KINDS
            # A's ids, and for cross-object calls B's tenant with A's objects
            a_vals, bad = self.map_params(path, kind, a, a)
            b_vals, _ = self.map_params(path, kind, b, a)
            if bad:
                unmapped.append((method, path, kind, bad))
                continue
            body = build_body(self.doc, method, path, self.vals(a, self.b_owner))
            # B's key passes only the tenant kinds; the user kinds refuse
            # any key 403 "user_token_required" before looking at ids
            # (core.h); platform_admin routes refuse B's owner by role.
            key_expect = (404, None) if tenant_kind else (403, "user_token_required")
            owner_expect = (403, "forbidden") if kind == "platform_admin" else (404, None)
            if kind in CTX_KINDS:
                # the tenant named by the header, or by the query parameter
                # (a key's own tenant wins, naming another is 404)
                for caller in self.callers:
                    cases.append(Case(caller, method, path, fill(path, a_vals),
                                      {"X-Tenant-Id": a["id"]}, body, variant="X-Tenant-Id: A"))
                    cases.append(Case(caller, method, path,
                                      fill(path, a_vals) + "?tenant_id=" + a["id"],
                                      body=body, variant="?tenant_id=A"))
                    if params and (method, path) not in CTX_NAME_UPSERTS:
                        cases.append(Case(caller, method, path, fill(path, b_vals),
                                          {"X-Tenant-Id": b["id"]}, body,
                                          variant="B's tenant, A's objects"))
                continue
            cases.append(Case("B owner", method, path, fill(path, a_vals), body=body,
                              status=owner_expect[0], code=owner_expect[1]))
            cases.append(Case("B key", method, path, fill(path, a_vals), body=body,
                              status=key_expect[0], code=key_expect[1]))
            if tenant_path(path) and len(params) > 1:
                cb = build_body(self.doc, method, path, self.vals(b, self.outsider))
                for caller in self.callers:
                    st, code = owner_expect if caller == "B owner" else key_expect
                    cases.append(Case(caller, method, path, fill(path, b_vals), body=cb,
                                      status=st, code=code, variant="B's tenant, A's objects"))
        return cases, unmapped, skipped

    # --- reading A back ----------------------------------------------------

    def snapshot(self, t, owner):
        """Every GET of the tenant as its owner: the routes with no id but
        the tenant's (so new read routes such as audit logs join by
        themselves), tenant_ctx GETs named by X-Tenant-Id, and the owner's
        own /auth/me and sessions."""
        out = {}
        for method, path, _m, kind, _p in self.routes:
            if method != "GET":
                continue
            params = PARAM_RE.findall(path)
            if kind == "tenant" and params == ["id"]:
                r = self.call(owner["h"], "GET", fill(path, {"id": t["id"]}))
            elif kind in CTX_KINDS and not params:
                r = self.call(owner["h"], "GET", path, headers={"X-Tenant-Id": t["id"]})
            else:
                continue
            body = r.body
            if path == "/tenants/{id}/usage" and r.status == 200:
                # the owner's own reads are API requests: not B's doing
                j = json.loads(body)
                j["usage"]["api_requests"].pop("used")
                body = json.dumps(j)
            out[path] = (r.status, body)
        for path in ("/auth/me", "/auth/sessions"):
            r = self.call(owner["h"], "GET", path)
            out[path] = (r.status, r.body)
        return out

    def assert_snapshot(self, before, after, who):
        self.assertEqual(sorted(before), sorted(after))
        for path in before:
            self.assertEqual(before[path][0], 200, (path, before[path]))
            self.assertEqual(after[path], before[path],
                             "%s changed %s as read by its owner" % (who, path))

    # --- the tests ---------------------------------------------------------

    def test_every_path_parameter_is_mapped(self):
        _, unmapped, _ = self.generate()
        self.assertEqual(unmapped, [], "path parameters with no meaning in "
                         "test_tenant_isolation.py: map each one to an object of "
                         "tenant A (TENANT_OBJECTS for /tenants/{id}/ routes, "
                         "USER_OBJECTS for a user's objects) or, if it is no id, "
                         "add it to SKIP_PARAMS with the reason")

    def test_cases_cover_the_floor(self):
        cases, _, skipped = self.generate()
        self.assertGreaterEqual(len(cases), 2 * len(FLOOR) + 2 * len(CROSS_FLOOR))
        got = {(c.caller, c.method, c.route, c.variant) for c in cases}
        for method, path in FLOOR:
            for caller in self.callers:
                self.assertIn((caller, method, path, "A's ids"), got)
        for method, path in CROSS_FLOOR:
            for caller in self.callers:
                self.assertIn((caller, method, path, "B's tenant, A's objects"), got)
        self.assertIn(("POST", "/invitations/{token}/accept", SKIP_PARAMS["token"]), skipped)
        # every tenant route is a case
        for method, path, _m, kind, _p in self.routes:
            if kind in ("tenant",) + CTX_KINDS:
                self.assertIn(("B owner", method, path), {(c.caller, c.method, c.route)
                                                          for c in cases})
        print("\n%d isolation cases from %d routes; skipped: %s" % (
            len(cases), len(self.routes), skipped), file=sys.stderr)

    def test_other_tenant_gets_404(self):
        cases, _, _ = self.generate()
        self.assertTrue(cases)
        # B's owner is in B alone
        r = self.call(self.b_owner["h"], "GET", "/tenants")
        self.assertEqual([t["id"] for t in r.json()["tenants"]], [self.B["id"]])
        before = self.snapshot(self.A, self.a_owner)
        for c in cases:
            with self.subTest(caller=c.caller, method=c.method, path=c.route,
                              variant=c.variant):
                r = self.call(self.callers[c.caller], c.method, c.path, c.body, c.headers)
                if r.status == 403 and c.status == 404:
                    self.assertIn((c.method, c.route), PUBLIC_EXISTENCE,
                                  "403 for tenant A's ids (existence leaks): %r" % r)
                else:
                    p = assert_problem(self, r, c.status, c.code)
                    if c.code is None:
                        self.assertTrue(p["code"].endswith("not_found"), p)
                for what, s in self.secrets.items():
                    self.assertNotIn(s, r.body, "%s in the answer" % what)
        self.assert_snapshot(before, self.snapshot(self.A, self.a_owner), "tenant B")
        # A's owner's TOTP factor is still there, unconfirmed: it confirms.
        r = self.call(self.a_owner["h"], "POST", "/auth/mfa/totp/confirm",
                      {"factor_id": self.A["factor_id"], "code": totp(self.A["factor_secret"])})
        self.assertEqual(r.status, 200, r.body)

    def test_anonymous_invocation_does_not_leak(self):
        # tenant_ctx_opt routes pass callers without a token to the handler
        # (core.h), which serves them public functions only; A's function
        # is private, so naming it anonymously (A by header, query or slug,
        # or B's slug) answers 401 missing_token (or 404) with none of A's
        # data, and A reads back the same. Public functions: test_functions.
        a, b = self.A, self.B
        routes = [(m, p) for m, p, _, k, _ in self.routes if k == "tenant_ctx_opt"]
        self.assertTrue(routes)
        before = self.snapshot(a, self.a_owner)
        for method, route in routes:
            values, bad = self.map_params(route, "tenant_ctx_opt", a, a)
            self.assertEqual(bad, [], route)
            path = fill(route, values)
            body = build_body(self.doc, method, route, self.vals(a, self.b_owner))
            for variant, url, h in (("X-Tenant-Id: A", path, {"X-Tenant-Id": a["id"]}),
                                    ("?tenant_id=A", path + "?tenant_id=" + a["id"], {}),
                                    ("?tenant=A's slug", path + "?tenant=" + a["slug"], {}),
                                    ("?tenant=B's slug", path + "?tenant=" + b["slug"], {})):
                with self.subTest(method=method, path=route, variant=variant):
                    r = self.call({}, method, url, body, h)
                    self.assertIn(r.status, (401, 404), r.body)
                    p = assert_problem(self, r, r.status)
                    self.assertTrue(p["code"] == "missing_token"
                                    or p["code"].endswith("not_found"), p)
                    for what, s in self.secrets.items():
                        self.assertNotIn(s, r.body, "%s in the answer" % what)
        self.assert_snapshot(before, self.snapshot(a, self.a_owner), "an anonymous caller")

    def test_generated_requests_succeed_for_the_rightful_caller(self):
        # The control: every A-targeted request, made by the owner of a
        # fresh tenant with that tenant's ids and the same kind of body (the
        # platform admin for platform_admin routes), succeeds; so the 404s
        # come from isolation, not from a bad body or path.
        cases, _, _ = self.generate()
        seen = set()
        target = self.user("ctl-target")
        for c in cases:
            if c.caller != "B owner" or (c.method, c.route) in seen:
                continue
            seen.add((c.method, c.route))
            kind = [k for m, p, _, k, _ in self.routes if (m, p) == (c.method, c.route)][0]
            with self.subTest(caller="owner", method=c.method, path=c.route):
                owner = self.user("ctl")
                TenantIsolation.n += 1
                w = self.make_tenant(owner, "Control %d" % self.n, "ctl-%s-%d" % (TAG, self.n),
                                     target=target,
                                     billed=(c.method, c.route) not in CONTROL_UNBILLED)
                values, _ = self.map_params(c.route, kind, w, w)
                if (c.method, c.route) in CONTROL_SETUP:
                    CONTROL_SETUP[(c.method, c.route)](self, w)
                who = self.admin if kind == "platform_admin" else owner
                r = self.call(who["h"], c.method, fill(c.route, values),
                              build_body(self.doc, c.method, c.route, self.vals(w, self.outsider)),
                              {"X-Tenant-Id": w["id"]} if kind in CTX_KINDS else None)
                self.assertTrue(200 <= r.status < 300,
                                "the generated request fails for its rightful caller, so "
                                "its 404 for tenant B would prove nothing: fix build_body "
                                "or BODY_OVERRIDES, or add a CONTROL_SETUP step: %r" % r)
        self.assertTrue(FLOOR <= seen, FLOOR - seen)

    def role_cases(self, role):
        """(method, route, perm, path, body) for every tenant route of C
        needing a permission role lacks."""
        held = self.roles[role]
        c = self.C
        out = []
        for method, path, _m, kind, perm in self.routes:
            if kind not in ("tenant",) + CTX_KINDS or perm in (None, "none") or perm in held:
                continue
            values = {"id": c["id"]}
            for p in PARAM_RE.findall(path):
                if p in TENANT_OBJECTS:
                    values[p] = c[TENANT_OBJECTS[p]]
                elif p == "id" and kind in CTX_KINDS:
                    for k, v in CTX_OBJECTS.items():
                        if path.startswith(k):
                            values[p] = c[v]
                elif kind in CTX_KINDS and ctx_name(path, p):
                    values[p] = c[ctx_name(path, p)]
            if set(PARAM_RE.findall(path)) - set(values):
                continue  # reported by test_every_path_parameter_is_mapped
            out.append((method, path, perm, fill(path, values),
                        build_body(self.doc, method, path, self.vals(c, self.outsider))))
        return out

    def check_role(self, who, role, floor):
        cases = self.role_cases(role)
        self.assertTrue(floor <= {(m, p) for m, p, _, _, _ in cases},
                        (floor, [(m, p) for m, p, _, _, _ in cases]))
        before = self.snapshot(self.C, self.c_owner)
        for method, route, perm, path, body in cases:
            with self.subTest(caller=role, method=method, path=route):
                r = self.call(who["h"], method, path, body, {"X-Tenant-Id": self.C["id"]})
                p = assert_problem(self, r, 403, "forbidden")
                self.assertIn(perm, p["detail"])
        self.assert_snapshot(before, self.snapshot(self.C, self.c_owner), "a " + role)

    def test_viewer_cannot_write(self):
        # (invoking a function, tenant_ctx_opt, takes any method with
        # functions.read, and a plugin route any method with plugins.read:
        # they are no writes)
        writes = {(m, p) for m, p, _, k, _ in self.routes
                  if m != "GET" and k in ("tenant", "tenant_ctx")
                  and not p.startswith("/plugins/v1/")}
        self.assertTrue({(m, p) for m, p in FLOOR if m != "GET" and tenant_path(p)} <= writes)
        # every write route needs a permission viewers lack
        lacking = {(m, p) for m, p, _, _, _ in self.role_cases("viewer")}
        self.assertEqual(writes - lacking, set(),
                         "write routes a viewer may call (NEED names a permission "
                         "viewers hold, or none)")
        self.check_role(self.c_viewer, "viewer", writes)

    def test_member_cannot_manage_members(self):
        self.check_role(self.c_member, "member", MEMBER_FLOOR)

    def test_removed_member_next_request(self):
        u = self.user("removed")
        tid = self.C["id"]
        self.ok(self.call(self.c_owner["h"], "POST", "/tenants/%s/members" % tid,
                          {"email": u["email"], "role": "admin"}), 201)
        conn = self.lx.connection()
        try:
            r = self.call(u["h"], "GET", "/tenants/" + tid, conn=conn)
            self.assertEqual(r.status, 200, r.body)
            r = self.call(self.c_owner["h"], "DELETE", "/tenants/%s/members/%s" % (tid, u["id"]))
            self.assertEqual(r.status, 204, r.body)
            r = self.call(u["h"], "GET", "/tenants/" + tid, conn=conn)
            assert_problem(self, r, 404, "not_found")
            self.assertNotIn(self.C["name"], r.body)
        finally:
            conn.close()
        r = self.call(u["h"], "GET", "/tenants/%s/members" % tid)
        assert_problem(self, r, 404, "not_found")
        self.assertNotIn(tid, self.call(u["h"], "GET", "/tenants").body)

    def test_revoked_key_next_request(self):
        tid = self.C["id"]
        k = self.ok(self.call(self.c_owner["h"], "POST", "/tenants/%s/api-keys" % tid,
                              {"name": "to-revoke", "permissions": ["tenants.read"]}), 201)
        conn = self.lx.connection()
        try:
            r = self.call(bearer(k["secret"]), "GET", "/tenants/" + tid, conn=conn)
            self.assertEqual(r.status, 200, r.body)
            r = self.call(self.c_owner["h"], "DELETE", "/tenants/%s/api-keys/%s" % (tid, k["id"]))
            self.assertEqual(r.status, 204, r.body)
            r = self.call(bearer(k["secret"]), "GET", "/tenants/" + tid, conn=conn)
            assert_problem(self, r, 401, "invalid_token")
        finally:
            conn.close()


if __name__ == "__main__":
    main()
