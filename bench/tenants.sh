#!/bin/sh
# Listing a tenant's members, Luxima against the stack it replaces, with wrk
# on loopback, in one run (issue #4):
#
#   luxima  GET /tenants/{id}/members?limit=50
#           Bearer access token of the tenant's owner; 50 members (the owner
#           and 49 added), each {user_id, email, role, created_at}
#   peer    GET /api/auth/organization/list-members?organizationId=...&limit=50
#           Better-Auth session cookie of the organization's owner; 50
#           members (the owner and 49 more), each with its user's id, name,
#           email and image, and the total
#
# The peer is Node + Hono + Better-Auth with its organization plugin +
# PostgreSQL 15 (bench/peers/betterauth/): one Node process in production
# mode, a pg Pool, a private PostgreSQL cluster in a temporary folder on a
# free loopback port. Better-Auth's list-members is the organization plugin's
# route that lists an organization's members with their users' e-mails, as
# ours does (get-full-organization also returns the organization, its
# invitations and, by default, up to 100 members). Its owner and organization
# are made through its own API (sign-up, sign-in, organization/create); the
# other 49 users and memberships are inserted into PostgreSQL directly. On
# Luxima all 50 users register through POST /auth/register (Argon2id, a few
# seconds) and the owner adds 49 through POST /tenants/{id}/members. Before
# the rounds both listings must answer 50 members, or the script stops.
#
# It alternates the two for ROUNDS rounds and prints every round, the medians
# of throughput and p99 latency, and the ratio luxima / peer (target: >= 20x).
#
#   bench/tenants.sh
#   ROUNDS=5 DURATION=10s bench/tenants.sh
#   BUILD_DIR=build/benchbin NO_BUILD=1 bench/tenants.sh
#
# Settings (environment): ROUNDS (3), DURATION (5s per wrk run), CONNS (32),
# THREADS (8 luxima server threads), WRK_THREADS (2), PEER_POOL (10, pg Pool
# size), WARMUP (1s per side before round 1; 0 skips it), BUILD_DIR (build)
# and NO_BUILD (1: use BUILD_DIR as it is). Luxima runs with
# LUXIMA_TENANTS_MEMBER_LIMIT=1000 and e-mail confirmation off (Better-Auth's
# default); the peer with Better-Auth's rate limiter off (in production it
# allows 100 requests per 10 s per address).
#
# Installs what is missing, as root on Debian 12: the build's packages
# (scripts/deps.sh), postgresql, wrk, curl, nodejs and npm (only when there is
# no node), and the npm packages pinned in bench/peers/betterauth/package.json
# into build/bench/betterauth/ (reused on the next run). Bounded: with the
# defaults about 2 x ROUNDS x DURATION of wrk plus setup, well under five
# minutes; both servers and the private PostgreSQL are stopped and the
# temporary folder removed on any exit. Shared helpers: bench/lib.sh.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

PEER_POOL=${PEER_POOL:-10}
WARMUP=${WARMUP:-1s}
WRK_TIMEOUT=10s
MEMBERS=50 # the owner and 49 more, on each side
email=loadtest@example.com
password='Vq7-orchid-lantern-42' # passes Luxima's policy (length, common list, no e-mail in it)
creds="{\"email\":\"$email\",\"password\":\"$password\"}"

# --- install, build, start -------------------------------------------------------
bench_peer_install
bench_build
bench_start tenants
bench_pg_start
bench_peer_run "$PEER_POOL"
peer=$bench_peer

lport=$(free_port)
lux=http://127.0.0.1:$lport
LUXIMA_AUTH_REQUIRE_EMAIL_CONFIRMATION=off LUXIMA_TENANTS_MEMBER_LIMIT=1000 \
    "$lux_bin" serve --data "$bench_work/luxima" --listen "127.0.0.1:$lport" --threads "$THREADS" \
    >"$bench_work/luxima.log" 2>&1 &
bench_pids="$bench_pids $!"
wait_up "$lux/healthz"

# --- the peer's organization -------------------------------------------------------
s=$(bench_req POST "$peer/api/auth/sign-up/email" "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Owner\"}")
bench_expect 200 "$s" "peer sign-up" || bench_die "the peer did not register the owner"
s=$(bench_req POST "$peer/api/auth/sign-in/email" "$creds")
bench_expect 200 "$s" "peer sign-in" || bench_die "the peer did not sign in"
cookie=$(tr -d '\r' <"$bench_work/headers" |
    sed -n 's/^[Ss]et-[Cc]ookie: *\(better-auth\.session_token=[^;]*\).*/\1/p' | head -n 1)
[ -n "$cookie" ] || bench_die "the peer's sign-in set no session cookie"
s=$(bench_req POST "$peer/api/auth/organization/create" '{"name":"Bench","slug":"bench"}' \
    -H "Cookie: $cookie" -H "Origin: $peer")
bench_expect 200 "$s" "peer organization/create" || bench_die "the peer did not create the organization"
org=$(bench_json id)
# 49 users and memberships straight into Better-Auth's tables (columns as
# its migration makes them; ids of Better-Auth's length, 32 characters).
bench_psql -d bench -v org="$org" -v n="$MEMBERS" >/dev/null <<'EOF'
insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt")
select md5('user' || i), 'Member ' || i, 'member' || i || '@example.com', false, now(), now()
from generate_series(2, :n) i;
insert into "member" ("id", "organizationId", "userId", "role", "createdAt")
select md5('member' || i), :'org', md5('user' || i), 'member', now()
from generate_series(2, :n) i;
EOF
peer_url="$peer/api/auth/organization/list-members?organizationId=$org&limit=$MEMBERS"

# --- Luxima's tenant ------------------------------------------------------------------
s=$(bench_req POST "$lux/auth/register" "$creds")
if [ "$s" = 404 ] || [ "$s" = 405 ]; then
	bench_die "$lux_bin has no POST /auth/register (the auth module is not in this build)"
fi
bench_expect 201 "$s" "luxima register" || bench_die "luxima did not register the owner"
# The other 49 register four at a time (each is one Argon2id hash).
i=2
while [ $i -le $MEMBERS ]; do
	echo "$i"
	i=$((i + 1))
done | xargs -P 4 -I {} curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
    --data "{\"email\":\"member{}@example.com\",\"password\":\"$password\"}" "$lux/auth/register" \
    >"$bench_work/register.codes"
n=$(grep -c '^201$' "$bench_work/register.codes" || true)
[ "$n" = $((MEMBERS - 1)) ] ||
    bench_die "luxima registered $n of $((MEMBERS - 1)) members (statuses: $(sort "$bench_work/register.codes" | uniq -c | tr -s ' \n' ' '))"
lux_token() { # sets token: a fresh access token of the owner
	s=$(bench_req POST "$lux/auth/login" "$creds")
	bench_expect 200 "$s" "luxima login" || bench_die "luxima did not log in"
	token=$(bench_json access_token)
}
lux_token
s=$(bench_req POST "$lux/tenants" '{"name":"Bench"}' -H "Authorization: Bearer $token")
if [ "$s" = 404 ] || [ "$s" = 405 ]; then
	bench_die "$lux_bin has no POST /tenants (the tenants module is not in this build)"
fi
bench_expect 201 "$s" "luxima POST /tenants" || bench_die "luxima did not create the tenant"
tenant=$(bench_json id)
i=2
while [ $i -le $MEMBERS ]; do
	s=$(bench_req POST "$lux/tenants/$tenant/members" "{\"email\":\"member$i@example.com\",\"role\":\"member\"}" \
	    -H "Authorization: Bearer $token")
	bench_expect 201 "$s" "luxima POST /tenants/{id}/members" || bench_die "luxima did not add member $i"
	i=$((i + 1))
done
lux_url="$lux/tenants/$tenant/members?limit=$MEMBERS"

# --- both lists hold 50 members ----------------------------------------------------------
# Prints "<members> <bytes>" for a listing in $bench_work/body, or fails.
count_members() { # luxima|peer
	python3 - "$1" "$bench_work/body" "$MEMBERS" <<'EOF'
import json, os, sys
side, path, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = json.load(open(path))
ms = d["members"]
emails = {m["email"] if side == "luxima" else m["user"]["email"] for m in ms}
ok = len(ms) == want and len(emails) == want and all("@" in e for e in emails)
if side == "luxima":
    ok = ok and d.get("next_cursor") is None
else:
    ok = ok and d.get("total") == want and all(m["organizationId"] for m in ms)
if not ok:
    sys.exit("%s listed %d members (%d distinct e-mails), not %d" % (side, len(ms), len(emails), want))
print(len(ms), os.path.getsize(path))
EOF
}
check_lists() {
	lux_token # a fresh access token: it is short-lived
	s=$(bench_req GET "$lux_url" "" -H "Authorization: Bearer $token")
	bench_expect 200 "$s" "luxima GET /tenants/{id}/members" || bench_die "luxima did not list the members"
	lux_list=$(count_members luxima) || bench_die "luxima's listing is not the tenant's $MEMBERS members"
	s=$(bench_req GET "$peer_url" "" -H "Cookie: $cookie")
	bench_expect 200 "$s" "peer organization/list-members" || bench_die "the peer did not list the members"
	peer_list=$(count_members peer) || bench_die "the peer's listing is not the organization's $MEMBERS members"
}
check_lists

# --- the rounds ------------------------------------------------------------------------------
label() {
	case $1 in
	lux) echo "luxima  GET /tenants/{id}/members" ;;
	peer) echo "peer    GET /api/auth/organization/list-members" ;;
	esac
}
run() { # name url [wrk args]
	name=$1
	shift
	bench_wrk "$CONNS" "$@" --timeout "$WRK_TIMEOUT"
	echo "$wrk_rps" >>"$bench_work/$name.rps"
	echo "$wrk_p99" >>"$bench_work/$name.p99"
	echo "$wrk_errors" >>"$bench_work/$name.err"
	printf '  %-48s %10.1f req/s   p99 %9.2f ms' "$(label "$name")" "$wrk_rps" "$wrk_p99"
	[ "$wrk_errors" = 0 ] && echo || echo "   ($wrk_errors errors)"
}

set -- $lux_list
set -- "$@" $peer_list
echo "luxima tenants bench: list $MEMBERS members, wrk -t$WRK_THREADS -c$CONNS -d$DURATION, $ROUNDS rounds, loopback"
echo "  luxima: $("$lux_bin" version 2>/dev/null | head -n 1) ($lux_bin), $THREADS threads; $1 members, $2 bytes a response"
echo "  peer: node $(node -v) (NODE_ENV=production, one process), hono $(bench_peer_pkgver hono), better-auth $(bench_peer_pkgver better-auth) (organization plugin), pg $(bench_peer_pkgver pg) (pool $PEER_POOL), PostgreSQL $bench_pg_version; $3 members, $4 bytes a response"
echo "  peer: Better-Auth's rate limiter off (in production it allows 100 requests per 10 s per address)"
if [ "$WARMUP" != 0 ]; then
	d=$DURATION
	DURATION=$WARMUP
	bench_wrk "$CONNS" "$lux_url" -H "Authorization: Bearer $token"
	bench_wrk "$CONNS" "$peer_url" -H "Cookie: $cookie"
	DURATION=$d
fi
r=1
while [ $r -le "$ROUNDS" ]; do
	echo "round $r:"
	lux_token # a fresh access token each round
	run lux "$lux_url" -H "Authorization: Bearer $token"
	run peer "$peer_url" -H "Cookie: $cookie"
	r=$((r + 1))
done
# The session and the token still worked and both lists still hold 50.
check_lists

# --- summary -----------------------------------------------------------------------------------
errs() { awk '{s += $1} END {print s + 0}' "$bench_work/$1.err"; }
echo "median of $ROUNDS rounds:"
for n in lux peer; do
	printf '  %-48s %10.1f req/s   p99 %9.2f ms' "$(label $n)" "$(median "$bench_work/$n.rps")" "$(median "$bench_work/$n.p99")"
	e=$(errs $n)
	[ "$e" = 0 ] && echo || echo "   ($e errors in all rounds)"
done
awk -v l="$(median "$bench_work/lux.rps")" -v p="$(median "$bench_work/peer.rps")" \
    -v lp="$(median "$bench_work/lux.p99")" -v pp="$(median "$bench_work/peer.p99")" \
    -v e="$(($(errs lux) + $(errs peer)))" '
	BEGIN {
		x = p > 0 ? l / p : 0
		v = e > 0 ? "not valid: errors" : (x >= 20 ? "met" : "NOT met")
		print "ratio:"
		printf "  luxima / peer (req/s)   %8.1fx   (target >= 20x: %s)\n", x, v
		if (lp > 0)
			printf "  peer p99 / luxima p99   %8.1fx\n", pp / lp
	}'
echo "note: the peer is one single-threaded Node process, as deployed; a cluster of 2 processes on"
echo "      this $(nproc)-core machine would change its numbers."
total=$(($(errs lux) + $(errs peer)))
[ "$total" = 0 ] || bench_die "$total requests failed (non-2xx, timeouts or socket errors): the numbers above are not valid"
