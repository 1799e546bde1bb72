#!/bin/sh
# Billing's two write paths, with wrk on loopback (issue #5):
#
#   POST /invoices                    a tenant's draft invoice of 11 lines
#                                     (the plan's fee and 10 proration items),
#                                     each deleted again right after
#   POST /billing/webhooks/stripe     a Stripe event, correctly signed, with
#                                     an id never sent before
#
# Invoices. A subscription's period has one invoice (a second POST is 409
# invoice_exists) until its draft is deleted (DELETE /invoices/{id}), which
# also hands its pending items back. So the measured unit is "create the
# draft, then delete it", on the same tenant: a wrk Lua script alternates the
# two per tenant, keeps the id each 201 names for the DELETE that follows,
# and checks that every 201 carries 11 lines. It prints invoices/s (the 201s
# of POST /invoices; requests/s is about twice that, with the deletes) and
# p99 over both kinds of request (wrk keeps one latency histogram). The
# lines: two plans of one currency and interval without a trial (made by a
# platform admin through POST /admin/plans), a subscription to the first and
# five plan changes back and forth (PATCH /subscriptions/{id}), each leaving
# two proration items. Before the rounds every tenant's invoice must have
# exactly 11 lines of the expected kinds and total == subtotal == amount_due
# == the sum of the lines; after every run each tenant must hold nothing but
# at most one such draft (a create whose delete the end of the run cut off),
# which is deleted; after the last round each tenant makes its 11-line
# invoice once more (no item lost or doubled by the cycles). Otherwise the
# script stops.
#
# One tenant per wrk connection (and two spare per wrk thread), each with its
# own subscription, all of the same owner (one Bearer token, refreshed every
# round): connections sharing one subscription would mostly measure 409
# invoice_exists, since its period holds one invoice at a time, and many
# tenants invoicing at once is what a billing run or a busy dashboard does.
# Either way every create and delete is a write transaction on the one
# SQLite database, so they serialize there, whatever the tenant; what this
# measures is that write path under CONNS concurrent writers. The Lua script
# tells its responses apart by the X-Request-Id the server echoes.
#
# Webhooks. The server runs with LUXIMA_STRIPE_WEBHOOK_SECRET; each request is
# a customer.subscription.updated event (Stripe's shape, about 460 bytes)
# about a subscription the server does not have: verified (HMAC-SHA256 over
# the exact body, timestamp within the tolerance), read, looked up, recorded
# once in provider_events and answered 200 "ignored: no matching
# subscription", with no billing state needed. wrk's Lua cannot compute
# HMAC-SHA256, so before each round Python signs enough fresh events (ids
# never used before, signed at that moment) into one file per wrk thread,
# which the Lua script reads line by line; it counts a 200 with
# "replay":false as a verified event, anything else as a failure. Events per
# round: 3x the best rate seen so far (10000/s before the first run) times
# the run's duration, at least 20000, or EVENTS; a round that runs out stops
# the script. Before
# the rounds a sample event must answer 200 "replay":false, then "replay":true
# when sent again; after them a few events the rounds sent must answer
# "replay":true.
#
# It alternates the two for ROUNDS rounds and prints every round, the medians
# of invoices/s, verified events/s and their p99, and what the server's log
# shows about slow and failed requests. No peer comparison.
#
#   bench/billing.sh
#   ROUNDS=5 DURATION=10s bench/billing.sh
#   BUILD_DIR=build/benchbin NO_BUILD=1 bench/billing.sh
#
# Settings (environment): ROUNDS (3), DURATION (5s per wrk run), CONNS (32,
# both endpoints), THREADS (8 luxima server threads), WRK_THREADS (2), WARMUP
# (1s per endpoint before round 1; 0 skips it), EVENTS (signed events per
# round; default as above), BUILD_DIR (build) and NO_BUILD (1: use BUILD_DIR
# as it is). wrk's request timeout is 10 s. Luxima runs with its defaults
# otherwise (synchronous=full, a 300 s signature tolerance, raised only when
# DURATION nears it) on a data folder in TMPDIR.
#
# Installs what is missing, as root on Debian 12: the build's packages
# (scripts/deps.sh), wrk and curl. Bounded: about 2 x ROUNDS x DURATION of
# wrk plus WARMUP and setup (a few seconds), under a minute with the
# defaults; the server is stopped and the temporary folder (events included)
# removed on any exit. Shared helpers: bench/lib.sh.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

WARMUP=${WARMUP:-1s}
EVENTS=${EVENTS:-}
WRK_TIMEOUT=10s
PLAN_CHANGES=5
LINES=$((1 + 2 * PLAN_CHANGES)) # the fee and two proration items a change
password='Vq7-orchid-lantern-42' # passes Luxima's policy (length, common list, no e-mail in it)

# A wrk duration in whole seconds (its forms: 5, 5s, 2m, 1h).
secs() {
	awk -v d="$1" 'BEGIN {
		n = d + 0; u = substr(d, length(d))
		if (u == "m") n *= 60; else if (u == "h") n *= 3600
		n = int(n + 0.999); print (n < 1 ? 1 : n) }'
}
dur_s=$(secs "$DURATION")
[ "$WRK_THREADS" -ge 1 ] && [ "$CONNS" -ge "$WRK_THREADS" ] ||
    bench_die "CONNS ($CONNS) must be at least WRK_THREADS ($WRK_THREADS)"
per=$((CONNS / WRK_THREADS + 2)) # tenants a wrk thread holds: one a connection, two spare
ntenants=$((per * WRK_THREADS))

# --- install, build, start ------------------------------------------------------------
bench_apt wrk curl
bench_build luxima
bench_start billing

secret=whsec_bench_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
tolerance=300
if [ $((dur_s + 120)) -gt "$tolerance" ]; then
	# Events are signed just before their round; they must stay fresh to its end.
	tolerance=$((dur_s + 120))
	export LUXIMA_BILLING_STRIPE_TOLERANCE_S=$tolerance
fi
lport=$(free_port)
lux=http://127.0.0.1:$lport
LUXIMA_AUTH_REQUIRE_EMAIL_CONFIRMATION=off LUXIMA_STRIPE_WEBHOOK_SECRET=$secret \
    "$lux_bin" serve --data "$bench_work/luxima" --listen "127.0.0.1:$lport" --threads "$THREADS" \
    >"$bench_work/luxima.log" 2>&1 &
bench_pids="$bench_pids $!"
wait_up "$lux/healthz"
# The platform admin who makes the plans (as tests/integration/test_billing.py does).
printf '%s\n' "$password" | "$lux_bin" admin create --email root@bench.example.com --data "$bench_work/luxima" \
    >"$bench_work/admin.log" 2>&1 ||
    { cat "$bench_work/admin.log" >&2; bench_die "luxima admin create failed"; }

# --- the helpers: Python for setup and checks, Lua for wrk -----------------------------------
cat >"$bench_work/billing.py" <<'EOF'
"""Setup and checks over HTTP, and the signed events; bench/billing.sh."""
import hashlib, hmac, http.client, json, sys, time

PW = "Vq7-orchid-lantern-42"
ADMIN, OWNER = "root@bench.example.com", "loadtest@example.com"
conn = None


def die(msg):
    sys.exit("bench: error: " + msg)


def req(method, path, body=None, headers=None, raw=None):
    global conn
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    for attempt in (0, 1):
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            text = r.read()
            break
        except (http.client.HTTPException, OSError):
            conn = None
            if attempt:
                raise
    try:
        j = json.loads(text) if text else None
    except ValueError:
        j = None
    return r.status, j, text


def want(status, got, what):
    s, j, text = got
    if s != status:
        die("%s answered %d, not %d: %s" % (what, s, status, text[:400].decode("utf-8", "replace")))
    return j


def login(email):
    j = want(200, req("POST", "/auth/login", {"email": email, "password": PW}), "login " + email)
    return {"Authorization": "Bearer " + j["access_token"]}


def check_invoice(inv, lines):
    """Dies unless inv is a draft of `lines` lines (the fee, then prorations)
    whose total, subtotal and amount due are the sum of its lines."""
    ls = inv.get("lines") or []
    kinds = [l["kind"] for l in ls]
    total = sum(l["amount"] for l in ls)
    ok = (inv["status"] == "draft" and len(ls) == lines
          and kinds == ["subscription"] + ["proration"] * (lines - 1)
          and inv["total"] == total and inv["subtotal"] == total and inv["amount_due"] == total
          and ls[0]["amount"] == ls[0]["quantity"] * ls[0]["unit_amount"])
    if not ok:
        die("invoice %s is not a draft of %d lines whose total is their sum: status %s, "
            "lines %s, total %s, subtotal %s, amount_due %s, sum of lines %d"
            % (inv.get("id"), lines, inv.get("status"), kinds, inv.get("total"),
               inv.get("subtotal"), inv.get("amount_due"), total))
    return inv


def invoice_cycle(h, tid, sid, lines):
    """POST /invoices, check it, DELETE it; returns the invoice and its size."""
    hh = dict(h, **{"X-Tenant-Id": tid})
    got = req("POST", "/invoices", {"subscription_id": sid}, hh)
    inv = check_invoice(want(201, got, "POST /invoices"), lines)
    want(204, req("DELETE", "/invoices/" + inv["id"], None, hh), "DELETE /invoices/{id}")
    return inv, len(got[2])


def setup(n, changes, lines, out):
    adm = login(ADMIN)
    for code, amount in (("bench_a", 1000), ("bench_b", 4000)):
        want(201, req("POST", "/admin/plans", {"code": code, "name": "Bench " + code[-1].upper(),
                                               "amount": amount, "currency": "USD",
                                               "interval": "month"}, adm), "POST /admin/plans")
    want(201, req("POST", "/auth/register", {"email": OWNER, "password": PW}), "POST /auth/register")
    h = login(OWNER)
    rows = []
    for i in range(n):
        tid = want(201, req("POST", "/tenants", {"name": "Bench %d" % i}, h), "POST /tenants")["id"]
        hh = dict(h, **{"X-Tenant-Id": tid})
        sub = want(201, req("POST", "/subscriptions", {"plan": "bench_a"}, hh), "POST /subscriptions")
        if sub["status"] != "active":
            die("the subscription is %s, not active" % sub["status"])
        for k in range(changes):
            plan = "bench_b" if k % 2 == 0 else "bench_a"
            want(200, req("PATCH", "/subscriptions/" + sub["id"], {"plan": plan}, hh),
                 "PATCH /subscriptions/{id}")
        inv, size = invoice_cycle(h, tid, sub["id"], lines)
        if want(200, req("GET", "/invoices", None, hh), "GET /invoices")["invoices"]:
            die("tenant %s still lists an invoice after its draft was deleted" % tid)
        rows.append("%s %s\n" % (tid, sub["id"]))
    with open(out, "w") as f:
        f.writelines(rows)
    print(len(inv["lines"]), size, inv["total"])


def tenants(path):
    return [line.split() for line in open(path) if line.strip()]


def sweep(path, lines, again):
    """Each tenant: nothing but at most one draft of `lines` lines, which is
    deleted; with again, one more invoice made, checked and deleted. Prints
    the drafts deleted."""
    h = login(OWNER)
    left = 0
    for tid, sid in tenants(path):
        hh = dict(h, **{"X-Tenant-Id": tid})
        invs = want(200, req("GET", "/invoices?limit=10", None, hh), "GET /invoices")["invoices"]
        if len(invs) > 1 or any(i["status"] != "draft" for i in invs):
            die("tenant %s holds %s, not at most one draft"
                % (tid, [(i["id"], i["status"]) for i in invs]))
        for i in invs:
            full = want(200, req("GET", "/invoices/" + i["id"], None, hh), "GET /invoices/{id}")
            check_invoice(full, lines)
            want(204, req("DELETE", "/invoices/" + i["id"], None, hh), "DELETE /invoices/{id}")
            left += 1
        if again:
            invoice_cycle(h, tid, sid, lines)
    print(left)


def token():
    print(login(OWNER)["Authorization"][len("Bearer "):])


def event_body(eid, t, i):
    return ('{"id":"%s","object":"event","api_version":"2024-06-20","created":%d,'
            '"data":{"object":{"id":"sub_bench_%08d","object":"subscription",'
            '"status":"active","cancel_at_period_end":false,"current_period_start":%d,'
            '"current_period_end":%d,"canceled_at":null,"customer":"cus_bench_%08d",'
            '"metadata":{}}},"livemode":false,"pending_webhooks":1,'
            '"request":{"id":null,"idempotency_key":null},'
            '"type":"customer.subscription.updated"}'
            % (eid, t, i, t - 3600, t - 3600 + 30 * 86400, i)).encode()


def gen(secret, prefix, n, nfiles, out):
    """n events signed now, dealt round-robin into out.0 .. out.<nfiles-1>,
    one "<Stripe-Signature>\\t<body>" a line. Prints the body size."""
    key = secret.encode()
    t = int(time.time())
    tb = b"%d." % t
    fs = [open("%s.%d" % (out, k), "wb") for k in range(nfiles)]
    for i in range(n):
        body = event_body("evt_bench_%s_%08d" % (prefix, i), t, i)
        mac = hmac.new(key, tb + body, hashlib.sha256).hexdigest().encode()
        fs[i % nfiles].write(b"t=%d,v1=%s\t%s\n" % (t, mac, body))
    for f in fs:
        f.close()
    print(len(body))


def send_signed(sig, body):
    return req("POST", "/billing/webhooks/stripe", None,
               {"Content-Type": "application/json", "Stripe-Signature": sig}, raw=body)


def webhook_answer(got, replay, what):
    j = want(200, got, what)
    if (j.get("received"), j.get("replay"), j.get("outcome")) != \
            (True, replay, "ignored: no matching subscription"):
        die("%s answered %s, not received, replay %s, ignored: no matching subscription"
            % (what, j, str(replay).lower()))


def probe(secret):
    """A sample event: 200 "replay":false, then "replay":true; a forged one 400."""
    t = int(time.time())
    body = event_body("evt_bench_probe", t, 0)
    sig = "t=%d,v1=%s" % (t, hmac.new(secret.encode(), b"%d." % t + body,
                                       hashlib.sha256).hexdigest())
    webhook_answer(send_signed(sig, body), False, "a signed event")
    webhook_answer(send_signed(sig, body), True, "the same event again")
    s = send_signed(sig, body.replace(b"bench_probe", b"bench_forge"))[0]
    if s != 400:
        die("an event whose body does not match its signature answered %d, not 400" % s)


def replays(out, nfiles, seen):
    """The events named (comma-separated ids; evt_bench_<prefix>_<i> is line
    i // nfiles of out.<i % nfiles>), verified in the round, answer as replays."""
    for eid in seen.split(","):
        i = int(eid.rsplit("_", 1)[1])
        with open("%s.%d" % (out, i % nfiles), "rb") as f:
            for k, line in enumerate(f):
                if k == i // nfiles:
                    break
        sig, body = line.rstrip(b"\n").split(b"\t", 1)
        if b'"id":"%s"' % eid.encode() not in body:
            die("event %s is not where it was written" % eid)
        webhook_answer(send_signed(sig.decode(), body), True, "event %s, sent again" % eid)


def log_summary(path, slow_ms):
    """Requests over slow_ms, 5xx and warn/error lines in the server's log."""
    n = slow = s5 = warn = 0
    worst = (0, "")
    routes = {}
    for line in open(path, errors="replace"):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("level") in ("warn", "error"):
            warn += 1
        if r.get("msg") != "request":
            continue
        n += 1
        d = r.get("duration_us", 0) / 1000
        key = "%s %s" % (r.get("method"), r.get("route"))
        if d > slow_ms:
            slow += 1
            routes[key] = routes.get(key, 0) + 1
        if d > worst[0]:
            worst = (d, key)
        if r.get("status", 0) >= 500:
            s5 += 1
    print("%d requests logged, %d over %d ms%s, slowest %.0f ms (%s), %d 5xx, %d warn/error lines"
          % (n, slow, slow_ms,
             " (" + ", ".join("%s: %d" % kv for kv in sorted(routes.items())) + ")" if routes else "",
             worst[0], worst[1], s5, warn))


PORT = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 0
cmd, args = sys.argv[1], sys.argv[3:]
if cmd == "setup":
    setup(int(args[0]), int(args[1]), int(args[2]), args[3])
elif cmd == "sweep":
    sweep(args[0], int(args[1]), args[2] == "1")
elif cmd == "token":
    token()
elif cmd == "gen":
    gen(args[0], args[1], int(args[2]), int(args[3]), args[4])
elif cmd == "probe":
    probe(args[0])
elif cmd == "replays":
    replays(args[0], int(args[1]), args[2])
elif cmd == "log":
    log_summary(args[0], int(args[1]))
else:
    die("unknown command " + cmd)
EOF
py() { # command [args...]: the helper against this server
	c=$1
	shift
	python3 "$bench_work/billing.py" "$c" "$lport" "$@"
}

# POST /invoices then DELETE /invoices/{id}, per tenant. Environment:
# BENCH_TOKEN, BENCH_TENANTS (file of "<tenant id> <subscription id>" lines),
# BENCH_PER (tenants a wrk thread holds), BENCH_LINES.
cat >"$bench_work/invoices.lua" <<'EOF'
local threads, nthreads = {}, 0
function setup(thread)
  thread:set("index", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

local counters = { "posts", "deletes", "badpost", "baddel", "badlines", "stuck", "lost" }
function init(args)
  auth = "Bearer " .. os.getenv("BENCH_TOKEN")
  per = tonumber(os.getenv("BENCH_PER"))
  lines = tonumber(os.getenv("BENCH_LINES"))
  local all = {}
  for line in io.lines(os.getenv("BENCH_TENANTS")) do
    local t, s = line:match("^(%S+) (%S+)$")
    table.insert(all, { t, s })
  end
  slots = {}
  for i = 1, per do
    local t = all[index * per + i]
    slots[i] = { tenant = t[1], body = '{"subscription_id":"' .. t[2] .. '"}' }
  end
  cur, seq = 0, 0
  for _, k in ipairs(counters) do _G[k] = 0 end
  fails = ""
end

-- The next tenant with no request in flight: its delete when it holds a
-- draft, else its create. (wrk calls request() once before the run to check
-- it; that slot stays busy, hence the spares.)
function request()
  for k = 1, per do
    cur = cur % per + 1
    local s = slots[cur]
    if not s.busy then
      s.busy = true
      seq = seq + 1
      local h = { ["Authorization"] = auth, ["X-Tenant-Id"] = s.tenant,
                  ["X-Request-Id"] = "bench-" .. cur .. "-" .. seq }
      if s.draft then
        s.op = "DELETE"
        return wrk.format("DELETE", "/invoices/" .. s.draft, h)
      end
      s.op = "POST"
      h["Content-Type"] = "application/json"
      return wrk.format("POST", "/invoices", h, s.body)
    end
  end
  stuck = stuck + 1
  return wrk.format("GET", "/healthz")
end

local function fail(op, status, body)
  if #fails < 600 then
    fails = fails .. string.format(" [%s %d %s]", op, status, body:sub(1, 160):gsub("%s+", " "))
  end
end

function response(status, headers, body)
  local i = tonumber((headers["X-Request-Id"] or ""):match("^bench%-(%d+)%-"))
  local s = i and slots[i]
  if not s then lost = lost + 1; return end
  s.busy = false
  if s.op == "POST" then
    if status == 201 then
      posts = posts + 1
      s.draft = body:match('^{"id":"([^"]+)"')
      local _, n = body:gsub('"kind":"', "")
      if n ~= lines then badlines = badlines + 1 end
    else
      badpost = badpost + 1
      fail("POST", status, body)
    end
  elseif status == 204 then
    deletes = deletes + 1
    s.draft = nil
  else
    baddel = baddel + 1
    fail("DELETE", status, body)
  end
end

function done(summary, latency, requests)
  local out = {}
  for _, k in ipairs(counters) do
    local n = 0
    for _, t in ipairs(threads) do n = n + t:get(k) end
    table.insert(out, k .. "=" .. n)
  end
  io.write("BENCH " .. table.concat(out, " ") .. " duration_us=" .. summary.duration .. "\n")
  for _, t in ipairs(threads) do
    local f = t:get("fails")
    if f ~= "" then io.write("FAILS" .. f .. "\n") end
  end
end
EOF

# Signed Stripe events, one a request, from BENCH_EVENTS.<thread index>.
cat >"$bench_work/webhooks.lua" <<'EOF'
local threads, nthreads = {}, 0
function setup(thread)
  thread:set("index", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

local counters = { "ok", "bad", "replays", "exhausted" }
function init(args)
  fh = assert(io.open(os.getenv("BENCH_EVENTS") .. "." .. index, "rb"))
  for _, k in ipairs(counters) do _G[k] = 0 end
  first, last, fails = "", "", ""
end

local hdr = { ["Content-Type"] = "application/json" }
function request()
  local line = fh:read("*l")
  if line == nil then
    exhausted = exhausted + 1
    return wrk.format("GET", "/healthz")
  end
  local tab = line:find("\t", 1, true)
  hdr["Stripe-Signature"] = line:sub(1, tab - 1)
  return wrk.format("POST", "/billing/webhooks/stripe", hdr, line:sub(tab + 1))
end

function response(status, headers, body)
  if status == 200 and body:find('"replay":false', 1, true) then
    ok = ok + 1
    last = body:match('"event":"([^"]+)"') or ""
    if first == "" then first = last end
  elseif status == 200 and body:find('"replay":true', 1, true) then
    replays = replays + 1
  elseif status ~= 200 or exhausted == 0 then
    bad = bad + 1
    if #fails < 600 then
      fails = fails .. string.format(" [%d %s]", status, body:sub(1, 160):gsub("%s+", " "))
    end
  end
end

function done(summary, latency, requests)
  local out, seen = {}, {}
  for _, k in ipairs(counters) do
    local n = 0
    for _, t in ipairs(threads) do n = n + t:get(k) end
    table.insert(out, k .. "=" .. n)
  end
  for _, t in ipairs(threads) do
    for _, k in ipairs({ "first", "last" }) do
      if t:get(k) ~= "" then table.insert(seen, t:get(k)) end
    end
  end
  io.write("BENCH " .. table.concat(out, " ") .. " seen=" .. table.concat(seen, ",") ..
           " duration_us=" .. summary.duration .. "\n")
  for _, t in ipairs(threads) do
    local f = t:get("fails")
    if f ~= "" then io.write("FAILS" .. f .. "\n") end
  end
end
EOF

# Sets the named shell variables from wrk's BENCH line (key=value words).
bench_line() {
	line=$(sed -n 's/^BENCH //p' "$bench_work/wrk.out")
	[ -n "$line" ] || { cat "$bench_work/wrk.out" >&2; bench_die "wrk printed no BENCH line"; }
	for kv in $line; do
		eval "b_${kv%%=*}=\${kv#*=}"
	done
	if grep -q '^FAILS' "$bench_work/wrk.out"; then
		echo "bench: failed requests, the first few:" >&2
		sed -n 's/^FAILS //p' "$bench_work/wrk.out" | head -c 1500 >&2
		echo >&2
	fi
}

# --- tenants with an 11-line period, and the sample event -------------------------------------
set -- $(py setup "$ntenants" "$PLAN_CHANGES" "$LINES" "$bench_work/tenants") ||
    bench_die "the invoice setup failed"
inv_lines=$1 inv_bytes=$2 inv_total=$3
[ "$inv_lines" = "$LINES" ] || bench_die "an invoice has $inv_lines lines, not $LINES"
py probe "$secret" || bench_die "the webhook endpoint does not verify a signed event"

# --- one wrk run of each ----------------------------------------------------------------------
export BENCH_TENANTS="$bench_work/tenants" BENCH_PER="$per" BENCH_LINES="$LINES"
run_invoices() { # label: sets inv_rate, inv_p99, inv_left
	BENCH_TOKEN=$(py token) || bench_die "luxima did not log the owner in"
	export BENCH_TOKEN
	bench_wrk "$CONNS" "$lux" -s "$bench_work/invoices.lua" --timeout "$WRK_TIMEOUT"
	bench_line
	[ "$b_stuck" = 0 ] && [ "$b_lost" = 0 ] ||
	    bench_die "$1: $b_stuck requests found no idle tenant, $b_lost responses matched none (wrk lost track)"
	sleep 1 # requests cut off by the end of the run finish on the server
	inv_left=$(py sweep "$bench_work/tenants" "$LINES" 0) || bench_die "the tenants' invoices are not as expected after $1"
	# Drafts the sweep found: those wrk saw made and not deleted, give or take
	# the requests in flight when the run ended (at most one a connection).
	held=$((b_posts - b_deletes))
	[ "$inv_left" -le $((held + CONNS)) ] && [ "$inv_left" -ge $((held - CONNS)) ] ||
	    bench_die "$1: $inv_left drafts were left, but wrk saw $held made and not deleted"
	inv_rate=$(awk -v n="$b_posts" -v d="$b_duration_us" 'BEGIN { printf "%.1f", n / (d / 1e6) }')
	inv_p99=$wrk_p99
	inv_err=$((b_badpost + b_baddel + b_badlines))
	[ "$wrk_errors" = 0 ] || inv_err=$((inv_err > wrk_errors ? inv_err : wrk_errors))
}
ev_best=0
ev_n=0
run_webhooks() { # label prefix: sets ev_rate, ev_p99
	if [ -n "$EVENTS" ]; then
		ev_n=$EVENTS
	else
		ev_n=$(awk -v r="$ev_best" -v d="$(secs "$DURATION")" 'BEGIN {
			if (r <= 0) r = 10000
			n = int(3 * r * d); print (n < 20000 ? 20000 : n) }')
	fi
	rm -f "$bench_work"/events.*
	py gen "$secret" "$2" "$ev_n" "$WRK_THREADS" "$bench_work/events" >/dev/null ||
	    bench_die "signing the events failed"
	BENCH_EVENTS=$bench_work/events
	export BENCH_EVENTS
	bench_wrk "$CONNS" "$lux" -s "$bench_work/webhooks.lua" --timeout "$WRK_TIMEOUT"
	bench_line
	[ "$b_exhausted" = 0 ] ||
	    bench_die "$1 used up its $ev_n signed events; set EVENTS above $((ev_n * 2))"
	[ "$b_replays" = 0 ] || bench_die "$1: $b_replays fresh events answered as replays"
	[ -n "$b_seen" ] || bench_die "$1 verified no event"
	py replays "$bench_work/events" "$WRK_THREADS" "$b_seen" ||
	    bench_die "$1: events it sent do not answer as replays"
	ev_rate=$(awk -v n="$b_ok" -v d="$b_duration_us" 'BEGIN { printf "%.1f", n / (d / 1e6) }')
	ev_best=$(awk -v a="$ev_best" -v b="$ev_rate" 'BEGIN { print (b > a ? b : a) }')
	ev_p99=$wrk_p99
	ev_err=$b_bad
	[ "$wrk_errors" = 0 ] || ev_err=$((ev_err > wrk_errors ? ev_err : wrk_errors))
}

# --- the rounds ------------------------------------------------------------------------------
echo "luxima billing bench: wrk -t$WRK_THREADS -c$CONNS -d$DURATION, $ROUNDS rounds, loopback"
echo "  luxima: $("$lux_bin" version 2>/dev/null | head -n 1) ($lux_bin), $THREADS threads, synchronous=${LUXIMA_SYNCHRONOUS:-full}, data in ${TMPDIR:-/tmp}; $(nproc) cores"
echo "  invoices: $ntenants tenants ($per a wrk thread), each a subscription whose invoice has $inv_lines lines (the fee and $((inv_lines - 1)) prorations, total $inv_total), $inv_bytes bytes a 201;"
echo "            each POST /invoices is followed by DELETE /invoices/{id} on its tenant: p99 is over both"
echo "  webhooks: customer.subscription.updated about an unknown subscription, $(py gen "$secret" s0 1 1 "$bench_work/sample") bytes, a fresh id each (200 ignored, recorded once); tolerance ${tolerance}s"
if [ "$WARMUP" != 0 ]; then
	d=$DURATION
	DURATION=$WARMUP
	run_invoices warm-up
	run_webhooks warm-up w0
	DURATION=$d
fi
: >"$bench_work/inv.rate"
: >"$bench_work/inv.p99"
: >"$bench_work/ev.rate"
: >"$bench_work/ev.p99"
total_err=0
note() { # errors
	[ "$1" = 0 ] && echo || echo "   ($1 failed)"
}
r=1
while [ $r -le "$ROUNDS" ]; do
	echo "round $r:"
	run_invoices "round $r"
	echo "$inv_rate" >>"$bench_work/inv.rate"
	echo "$inv_p99" >>"$bench_work/inv.p99"
	printf '  %-30s %9.1f invoices/s  p99 %8.2f ms   (%d lines each, %d made; %d drafts left by the end, deleted)' \
	    "POST /invoices (+ DELETE)" "$inv_rate" "$inv_p99" "$LINES" "$b_posts" "$inv_left"
	note "$inv_err"
	run_webhooks "round $r" "r$r"
	echo "$ev_rate" >>"$bench_work/ev.rate"
	echo "$ev_p99" >>"$bench_work/ev.p99"
	printf '  %-30s %9.1f events/s    p99 %8.2f ms   (%d verified, of %d signed for the round)' \
	    "POST /billing/webhooks/stripe" "$ev_rate" "$ev_p99" "$b_ok" "$ev_n"
	note "$ev_err"
	total_err=$((total_err + inv_err + ev_err))
	r=$((r + 1))
done
# Every tenant still makes its 11-line invoice: no item lost or doubled.
py sweep "$bench_work/tenants" "$LINES" 1 >/dev/null || bench_die "the tenants' invoices are not as expected after the rounds"

# --- summary -----------------------------------------------------------------------------------
echo "median of $ROUNDS rounds:"
printf '  %-30s %9.1f invoices/s  p99 %8.2f ms   (%d lines each; p99 over the creates and deletes)\n' \
    "POST /invoices (+ DELETE)" "$(median "$bench_work/inv.rate")" "$(median "$bench_work/inv.p99")" "$LINES"
printf '  %-30s %9.1f events/s    p99 %8.2f ms   (verified: signed, fresh, recorded)\n' \
    "POST /billing/webhooks/stripe" "$(median "$bench_work/ev.rate")" "$(median "$bench_work/ev.p99")"
echo "  server log: $(py log "$bench_work/luxima.log" 1000)"
[ "$total_err" = 0 ] || bench_die "$total_err requests failed (non-2xx, timeouts or socket errors): the numbers above are not valid"
