#!/bin/sh
# Edge functions, with wrk on loopback (issue #6): invoking a trivial
# function and one that reads one document, next to GET /healthz in the
# same run, and the ratios (target: trivial function >= 0.5 of /healthz).
#
#   GET /healthz                          the server's cheapest route
#   GET /functions/v1/trivial             `return {json = {ok = true}}`, by
#                                         the tenant's owner (a Bearer
#                                         token and X-Tenant-Id): identity,
#                                         membership, the API meter, the
#                                         invocation meter, the sandbox
#                                         call and its log record
#   GET /functions/v1/trivial?tenant=...  the same function deployed public,
#                                         invoked anonymously by slug
#   GET /functions/v1/onedoc              reads one document through the
#                                         policy view (docs.get) and
#                                         answers it
#
# The tenant is subscribed to the business plan, whose API requests and
# function invocations are not capped (the free plan's 100,000 a month would
# end a run). Each round runs the four one after another; the script prints
# every round, the medians of requests/s and p99, and each function's ratio
# to /healthz measured in the same round (median of the rounds' ratios).
# Every response must be a 2xx (wrk counts the others as errors: the script
# stops), and the answers are checked once before the rounds.
#
#   bench/functions.sh
#   ROUNDS=5 DURATION=10s bench/functions.sh
#   BUILD_DIR=build/benchbin NO_BUILD=1 bench/functions.sh
#
# Settings (environment): ROUNDS (3), DURATION (5s per wrk run), CONNS (32),
# THREADS (8 server threads), WRK_THREADS (2), BUILD_DIR (build), NO_BUILD
# (1: use BUILD_DIR as it is). Installs what is missing, as root on Debian
# 12 (the build's packages, wrk, curl). Bounded: 4 x ROUNDS x DURATION of
# wrk plus a few seconds of setup; the server is stopped and its temporary
# data folder removed on any exit. Shared helpers: bench/lib.sh.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

password='Vq7-orchid-lantern-42'

bench_apt wrk curl
bench_build luxima
bench_start functions

port=$(free_port)
lux=http://127.0.0.1:$port
LUXIMA_AUTH_REQUIRE_EMAIL_CONFIRMATION=off \
    "$lux_bin" serve --data "$bench_work/luxima" --listen "127.0.0.1:$port" --threads "$THREADS" \
    >"$bench_work/luxima.log" 2>&1 &
bench_pids="$bench_pids $!"
wait_up "$lux/healthz"

# Setup over HTTP: owner, tenant on the business plan, the two functions
# (trivial public), one document; prints "token tenant slug".
setup=$(python3 - "$port" "$password" <<'EOF'
import http.client, json, sys

port, pw = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def req(method, path, body=None, headers=None, want=200):
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body)
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    text = r.read()
    if r.status != want:
        sys.exit("bench: error: %s %s answered %d: %s" % (method, path, r.status, text[:300]))
    return json.loads(text) if text else None


email = "fnbench@example.com"
req("POST", "/auth/register", {"email": email, "password": pw}, want=201)
tok = req("POST", "/auth/login", {"email": email, "password": pw})["access_token"]
h = {"Authorization": "Bearer " + tok}
t = req("POST", "/tenants", {"name": "Fn Bench", "slug": "fn-bench"}, h, want=201)
h["X-Tenant-Id"] = t["id"]
req("POST", "/subscriptions", {"plan": "business"}, h, want=201)
req("POST", "/functions", {"name": "trivial", "version": "1.0.0", "public": True,
                           "source": "return function(req) return {json = {ok = true}} end"},
    h, want=201)
req("POST", "/functions", {"name": "onedoc", "version": "1.0.0", "source": """
return function(req)
  if req.params.put then docs.put("bench", "k", {n = 42}) end
  return {json = docs.get("bench", "k")}
end"""}, h, want=201)
req("GET", "/functions/v1/onedoc?put=1", None, h)
if req("GET", "/functions/v1/trivial", None, h) != {"ok": True}:
    sys.exit("bench: error: the trivial function's answer is wrong")
if req("GET", "/functions/v1/trivial?tenant=fn-bench") != {"ok": True}:
    sys.exit("bench: error: the public function's answer is wrong")
if req("GET", "/functions/v1/onedoc", None, h) != {"n": 42}:
    sys.exit("bench: error: the document function's answer is wrong")
print(tok, t["id"], "fn-bench")
EOF
) || exit 1
set -- $setup
token=$1
tenant=$2
slug=$3

: >"$bench_work/hz"
: >"$bench_work/triv"
: >"$bench_work/pub"
: >"$bench_work/doc"
: >"$bench_work/r_triv"
: >"$bench_work/r_pub"
: >"$bench_work/r_doc"
printf '%-6s %12s %12s %12s %12s   (requests/s; p99 ms)\n' round healthz trivial public onedoc
round=1
while [ "$round" -le "$ROUNDS" ]; do
	bench_wrk "$CONNS" "$lux/healthz"
	hz=$wrk_rps
	hzp=$wrk_p99
	[ "$wrk_errors" = 0 ] || bench_die "healthz: $wrk_errors errors"
	bench_wrk "$CONNS" "$lux/functions/v1/trivial" -H "Authorization: Bearer $token" -H "X-Tenant-Id: $tenant"
	tr=$wrk_rps
	trp=$wrk_p99
	[ "$wrk_errors" = 0 ] || bench_die "trivial: $wrk_errors errors"
	bench_wrk "$CONNS" "$lux/functions/v1/trivial?tenant=$slug"
	pu=$wrk_rps
	pup=$wrk_p99
	[ "$wrk_errors" = 0 ] || bench_die "public: $wrk_errors errors"
	bench_wrk "$CONNS" "$lux/functions/v1/onedoc" -H "Authorization: Bearer $token" -H "X-Tenant-Id: $tenant"
	dc=$wrk_rps
	dcp=$wrk_p99
	[ "$wrk_errors" = 0 ] || bench_die "onedoc: $wrk_errors errors"
	echo "$hz" >>"$bench_work/hz"
	echo "$tr" >>"$bench_work/triv"
	echo "$pu" >>"$bench_work/pub"
	echo "$dc" >>"$bench_work/doc"
	awk -v a="$tr" -v b="$hz" 'BEGIN { printf "%.3f\n", a / b }' >>"$bench_work/r_triv"
	awk -v a="$pu" -v b="$hz" 'BEGIN { printf "%.3f\n", a / b }' >>"$bench_work/r_pub"
	awk -v a="$dc" -v b="$hz" 'BEGIN { printf "%.3f\n", a / b }' >>"$bench_work/r_doc"
	printf '%-6s %12s %12s %12s %12s\n' "$round" "$hz/$hzp" "$tr/$trp" "$pu/$pup" "$dc/$dcp"
	round=$((round + 1))
done
printf '\nmedians over %s rounds, %s connections, %s each:\n' "$ROUNDS" "$CONNS" "$DURATION"
printf '  GET /healthz                 %10.0f req/s\n' "$(median "$bench_work/hz")"
printf '  trivial function (token)     %10.0f req/s   ratio to healthz %s (target >= 0.5)\n' \
    "$(median "$bench_work/triv")" "$(median "$bench_work/r_triv")"
printf '  trivial function (public)    %10.0f req/s   ratio %s\n' \
    "$(median "$bench_work/pub")" "$(median "$bench_work/r_pub")"
printf '  one-document function        %10.0f req/s   ratio %s\n' \
    "$(median "$bench_work/doc")" "$(median "$bench_work/r_doc")"
grep -c '"level":"error"' "$bench_work/luxima.log" >/dev/null 2>&1 &&
    printf '  server log errors: %s\n' "$(grep -c '"level":"error"' "$bench_work/luxima.log")" || true
