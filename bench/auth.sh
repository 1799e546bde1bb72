#!/bin/sh
# Luxima's auth against the stack it replaces, with wrk on loopback, in one
# run (issue #3):
#
#   luxima  GET  /auth/verify              Bearer access token from a login
#   peer    GET  /api/auth/get-session     Better-Auth session cookie
#   luxima  POST /auth/login               a successful login (password hash)
#   peer    POST /api/auth/sign-in/email   a successful sign-in
#   hello   GET  /                         bare civetweb (bench/hello.c)
#
# The peer is Node + Hono + Better-Auth + PostgreSQL 15 (bench/peers/
# betterauth/): one Node process in production mode, a pg Pool, a private
# PostgreSQL cluster in a temporary folder on a free loopback port. It prints
# every round, the medians of throughput and p99 latency, the ratios (verify
# vs get-session: target >= 30x; verify vs bare hello: target >= 0.5; login vs
# sign-in) and both sides' password-hash parameters.
#
#   bench/auth.sh
#   ROUNDS=5 DURATION=10s bench/auth.sh
#   BUILD_DIR=build/benchbin NO_BUILD=1 bench/auth.sh
#
# Settings (environment): ROUNDS (3), DURATION (5s per wrk run), CONNS (32,
# for the GET endpoints and hello), LOGIN_CONNS (8, for the two logins),
# THREADS (8 server threads for luxima and hello), WRK_THREADS (2),
# PEER_POOL (10, pg Pool size), WARMUP (1s per endpoint before round 1; 0
# skips it), BUILD_DIR (build) and NO_BUILD (1: use BUILD_DIR as it is).
#
# Installs what is missing, as root on Debian 12: the build's packages
# (scripts/deps.sh), postgresql, wrk, curl, nodejs and npm (only when there is
# no node), and the npm packages pinned in bench/peers/betterauth/package.json
# into build/bench/betterauth/ (reused on the next run). Bounded: with the
# defaults about 5 x ROUNDS x DURATION of wrk plus setup, well under five
# minutes; every server and the private PostgreSQL are stopped and the
# temporary folder removed on any exit. Shared helpers: bench/lib.sh.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

LOGIN_CONNS=${LOGIN_CONNS:-8}
PEER_POOL=${PEER_POOL:-10}
WARMUP=${WARMUP:-1s}
WRK_TIMEOUT=10s
email=loadtest@example.com
password='Vq7-orchid-lantern-42'  # passes Luxima's policy (length, common list, no e-mail in it)

# --- install, build, start ------------------------------------------------------------
# The peer's packages and npm packages, the build, a private PostgreSQL 15 and
# the peer: bench/lib.sh.
bench_peer_install
bench_build
bench_start auth
bench_pg_start

hport=$(free_port)
"$hello_bin" "127.0.0.1:$hport" "$THREADS" >"$bench_work/hello.log" 2>&1 &
bench_pids="$bench_pids $!"

lport=$(free_port)
# The bench's user logs in without confirming an e-mail, on both sides (it is
# Better-Auth's default). Luxima's login throttle (auth.throttle_*) counts
# failed logins only, so it is left at its defaults.
LUXIMA_AUTH_REQUIRE_EMAIL_CONFIRMATION=off "$lux_bin" serve --data "$bench_work/luxima" --listen "127.0.0.1:$lport" --threads "$THREADS" \
    >"$bench_work/luxima.log" 2>&1 &
bench_pids="$bench_pids $!"

bench_peer_run "$PEER_POOL" # waits until the peer answers
peer=$bench_peer
wait_up "http://127.0.0.1:$hport/"
wait_up "http://127.0.0.1:$lport/healthz"

# --- accounts, tokens, sessions ---------------------------------------------------
creds="{\"email\":\"$email\",\"password\":\"$password\"}"
signup="{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Bench\"}"

s=$(bench_req POST "$peer/api/auth/sign-up/email" "$signup")
bench_expect 200 "$s" "peer sign-up" || bench_die "the peer did not register the user"
s=$(bench_req POST "$peer/api/auth/sign-in/email" "$creds")
bench_expect 200 "$s" "peer sign-in" || bench_die "the peer did not sign in"
cookie=$(tr -d '\r' <"$bench_work/headers" | sed -n 's/^[Ss]et-[Cc]ookie: *\(better-auth\.session_token=[^;]*\).*/\1/p' | head -n 1)
[ -n "$cookie" ] || bench_die "the peer's sign-in set no session cookie"
peer_session() { # fails unless get-session returns the cookie's session
	s=$(bench_req GET "$peer/api/auth/get-session" "" -H "Cookie: $cookie")
	bench_expect 200 "$s" "peer get-session" || return 1
	grep -q '"session"' "$bench_work/body"
}
peer_session || bench_die "the peer's get-session did not return the session"

lux=http://127.0.0.1:$lport
s=$(bench_req POST "$lux/auth/register" "$signup")
if [ "$s" = 404 ] || [ "$s" = 405 ]; then
	bench_die "$lux_bin has no POST /auth/register yet (the auth module is not in this build)"
fi
bench_expect 201 "$s" "luxima register" || bench_die "luxima did not register the user"
lux_token() {
	s=$(bench_req POST "$lux/auth/login" "$creds")
	bench_expect 200 "$s" "luxima login" || bench_die "luxima did not log in"
	token=$(bench_json access_token)
	s=$(bench_req GET "$lux/auth/verify" "" -H "Authorization: Bearer $token")
	bench_expect 200 "$s" "luxima verify" || bench_die "luxima did not verify its own token"
}
lux_token

# wrk scripts for the two POSTs.
for side in lux peer; do
	cat >"$bench_work/login-$side.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$creds'
EOF
done

# --- password-hash parameters ------------------------------------------------------
pwfile=$bench_peer_cache/node_modules/@better-auth/utils/dist/password.node.mjs
if [ -f "$pwfile" ]; then
	peer_hash=$(awk '
		/const config = \{/ { on = 1; next }
		on && /\}/ { on = 0 }
		on { gsub(/[ \t,]/, ""); split($0, kv, ":"); v[kv[1]] = kv[2] }
		END {
			if (v["N"] == "") { print "unknown (config not found)"; exit }
			printf "scrypt N=%s r=%s p=%s dkLen=%s (%d MiB per hash), node:crypto on libuv threads (UV_THREADPOOL_SIZE=%s)",
			    v["N"], v["r"], v["p"], v["dkLen"], 128 * v["N"] * v["r"] / 1048576, ENVIRON["UV_THREADPOOL_SIZE"] == "" ? "4, default" : ENVIRON["UV_THREADPOOL_SIZE"]
		}' "$pwfile")
else
	peer_hash="unknown ($pwfile is missing)"
fi
peer_hash="$peer_hash; from @better-auth/utils/dist/password.node.mjs"
# Luxima reads auth.argon2_* from LUXIMA_AUTH_ARGON2_* (the fresh data folder
# has no config file or settings); libsodium's Argon2id has p=1.
lux_mem=${LUXIMA_AUTH_ARGON2_MEMLIMIT_KIB:-19456}
lux_ops=${LUXIMA_AUTH_ARGON2_OPSLIMIT:-2}
lux_hash=$(awk -v m="$lux_mem" -v t="$lux_ops" 'BEGIN {
	printf "Argon2id m=%g MiB (%d KiB) t=%d p=1 (libsodium crypto_pwhash)%s", m / 1024, m, t,
	    (m == 19456 && t == 2) ? ", the default (OWASP minimum)" : ", from LUXIMA_AUTH_ARGON2_*" }')

# --- the rounds -----------------------------------------------------------------------
# name  conns  url  [wrk args]
run() {
	name=$1
	shift
	bench_wrk "$@" --timeout "$WRK_TIMEOUT"
	echo "$wrk_rps" >>"$bench_work/$name.rps"
	echo "$wrk_p99" >>"$bench_work/$name.p99"
	echo "$wrk_errors" >>"$bench_work/$name.err"
	printf '  %-40s %10.1f req/s   p99 %9.2f ms' "$(label "$name")" "$wrk_rps" "$wrk_p99"
	[ "$wrk_errors" = 0 ] && echo || echo "   ($wrk_errors errors)"
}
label() {
	case $1 in
	hello) echo "hello   GET  /" ;;
	verify) echo "luxima  GET  /auth/verify" ;;
	session) echo "peer    GET  /api/auth/get-session" ;;
	login) echo "luxima  POST /auth/login" ;;
	signin) echo "peer    POST /api/auth/sign-in/email" ;;
	esac
}
round() {
	run hello "$CONNS" "$hport_url"
	lux_token # a fresh access token each round: it is short-lived
	run verify "$CONNS" "$lux/auth/verify" -H "Authorization: Bearer $token"
	run session "$CONNS" "$peer/api/auth/get-session" -H "Cookie: $cookie"
	run login "$LOGIN_CONNS" "$lux/auth/login" -s "$bench_work/login-lux.lua"
	run signin "$LOGIN_CONNS" "$peer/api/auth/sign-in/email" -s "$bench_work/login-peer.lua"
}
hport_url=http://127.0.0.1:$hport/

echo "luxima auth bench: wrk -t$WRK_THREADS -d$DURATION, -c$CONNS (GET) / -c$LOGIN_CONNS (login), $ROUNDS rounds, loopback"
echo "  luxima $("$lux_bin" version 2>/dev/null | head -n 1), $THREADS threads; hello: bare civetweb, $THREADS threads"
echo "  peer: node $(node -v) (NODE_ENV=production, one process), hono $(bench_peer_pkgver hono), @hono/node-server $(bench_peer_pkgver @hono/node-server), better-auth $(bench_peer_pkgver better-auth), pg $(bench_peer_pkgver pg) (pool $PEER_POOL), PostgreSQL $bench_pg_version"
echo "  peer: Better-Auth's rate limiter off (in production it allows 3 sign-ins per 10 s per address)"
echo "  luxima: login throttling at its defaults (it counts failed logins only); e-mail confirmation off on both"
if [ "$WARMUP" != 0 ]; then
	d=$DURATION
	DURATION=$WARMUP
	bench_wrk "$CONNS" "$hport_url"
	bench_wrk "$CONNS" "$lux/auth/verify" -H "Authorization: Bearer $token"
	bench_wrk "$CONNS" "$peer/api/auth/get-session" -H "Cookie: $cookie"
	bench_wrk "$LOGIN_CONNS" "$lux/auth/login" -s "$bench_work/login-lux.lua" --timeout "$WRK_TIMEOUT"
	bench_wrk "$LOGIN_CONNS" "$peer/api/auth/sign-in/email" -s "$bench_work/login-peer.lua" --timeout "$WRK_TIMEOUT"
	DURATION=$d
fi
r=1
while [ $r -le "$ROUNDS" ]; do
	echo "round $r:"
	round
	r=$((r + 1))
done

# get-session answers 200 with "null" for a session it does not know: check
# after the rounds that the cookie still named a live session throughout.
peer_session ||
    bench_die "the peer's session was gone after the rounds: its get-session numbers are not valid"

# --- summary --------------------------------------------------------------------------
echo "median of $ROUNDS rounds:"
for n in hello verify session login signin; do
	printf '  %-40s %10.1f req/s   p99 %9.2f ms' "$(label $n)" "$(median "$bench_work/$n.rps")" "$(median "$bench_work/$n.p99")"
	e=$(awk '{s += $1} END {print s + 0}' "$bench_work/$n.err")
	[ "$e" = 0 ] && echo || echo "   ($e errors in all rounds)"
done
errs() { awk '{s += $1} END {print s + 0}' "$bench_work/$1.err"; }
awk -v h="$(median "$bench_work/hello.rps")" -v v="$(median "$bench_work/verify.rps")" \
    -v s="$(median "$bench_work/session.rps")" -v l="$(median "$bench_work/login.rps")" \
    -v i="$(median "$bench_work/signin.rps")" -v eh="$(errs hello)" -v ev="$(errs verify)" \
    -v es="$(errs session)" -v el="$(errs login)" -v ei="$(errs signin)" '
	function ratio(a, b) { return b > 0 ? a / b : 0 }
	function verdict(x, t, e) {
		if (e > 0) return "not valid: errors"
		return x >= t ? "met" : "NOT met"
	}
	BEGIN {
		print "ratios:"
		x = ratio(v, s); printf "  verify / peer get-session   %8.1fx   (target >= 30x: %s)\n", x, verdict(x, 30, ev + es)
		x = ratio(v, h); printf "  verify / bare hello         %8.2f    (target >= 0.5: %s)\n", x, verdict(x, 0.5, ev + eh)
		x = ratio(l, i); printf "  login / peer sign-in        %8.2fx%s\n", x, (el + ei > 0) ? "   (not valid: errors)" : ""
	}'
echo "password hashing:"
echo "  luxima: $lux_hash"
echo "  peer:   $peer_hash"
echo "note: the peer is one single-threaded Node process, as deployed; a cluster of 2 processes on"
echo "      this 2-core machine would change its numbers (scrypt already runs on libuv's threads)."
total=0
for n in hello verify session login signin; do total=$((total + $(errs $n))); done
[ "$total" = 0 ] || bench_die "$total requests failed (non-2xx, timeouts or socket errors): the numbers above are not valid"
