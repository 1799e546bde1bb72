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
#
# Settings (environment): ROUNDS (3), DURATION (5s per wrk run), CONNS (32,
# for the GET endpoints and hello), LOGIN_CONNS (8, for the two logins),
# THREADS (8 server threads for luxima and hello), WRK_THREADS (2),
# PEER_POOL (10, pg Pool size), WARMUP (1s per endpoint before round 1; 0
# skips it).
#
# Installs what is missing, as root on Debian 12: the build's packages
# (scripts/deps.sh), postgresql, wrk, curl, nodejs and npm (only when there is
# no node), and the npm packages pinned in bench/peers/betterauth/package.json
# into build/bench/betterauth/ (reused on the next run). Bounded: with the
# defaults about 5 x ROUNDS x DURATION of wrk plus setup, well under five
# minutes; every server and the private PostgreSQL are stopped and the
# temporary folder removed on any exit.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

LOGIN_CONNS=${LOGIN_CONNS:-8}
PEER_POOL=${PEER_POOL:-10}
WARMUP=${WARMUP:-1s}
WRK_TIMEOUT=10s
pg_bin=/usr/lib/postgresql/15/bin
peer_src=bench/peers/betterauth
cache=$top/build/bench/betterauth
email=loadtest@example.com
password='Vq7-orchid-lantern-42'  # passes Luxima's policy (length, common list, no e-mail in it)

# --- install and build --------------------------------------------------------
pkgs="postgresql wrk curl"
if ! command -v node >/dev/null 2>&1; then
	pkgs="$pkgs nodejs npm"
elif ! command -v npm >/dev/null 2>&1; then
	bench_die "node is installed without npm; install npm for that node"
fi
bench_apt $pkgs
[ -x "$pg_bin/initdb" ] || bench_die "PostgreSQL 15 is not in $pg_bin"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] ||
    echo "bench: warning: node $(node -v) is older than the peer stack's Node 20" >&2

bench_build

mkdir -p "$cache"
if [ ! -f "$cache/.installed" ] || ! cmp -s "$peer_src/package.json" "$cache/package.json"; then
	echo "bench: installing the peer's npm packages into $cache" >&2
	rm -rf "$cache/node_modules" "$cache/package-lock.json" "$cache/.installed"
	cp "$peer_src/package.json" "$cache/package.json"
	(cd "$cache" && npm install --no-audit --no-fund --loglevel=error) >"$cache/npm.log" 2>&1 ||
	    { tail -n 20 "$cache/npm.log" >&2; bench_die "npm install failed (see $cache/npm.log)"; }
	touch "$cache/.installed"
fi
cp "$peer_src/server.mjs" "$cache/server.mjs"

bench_start auth

# --- a private PostgreSQL 15 -----------------------------------------------------
pgdir=$bench_work/pg
mkdir -p "$pgdir"
if [ "$(id -u)" = 0 ]; then
	# initdb refuses root: the cluster belongs to postgres (or nobody).
	pguser=postgres
	id "$pguser" >/dev/null 2>&1 || pguser=nobody
	chmod 711 "$bench_work"
	chown "$pguser" "$pgdir"
fi
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		(cd "$pgdir" && runuser -u "$pguser" -- "$@")
	else
		(cd "$pgdir" && "$@")
	fi
}
pg_started=0
pg_stop() {
	[ "$pg_started" = 1 ] || return 0
	as_pg "$pg_bin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true
}
bench_hooks="$bench_hooks pg_stop"
pgport=$(free_port)
as_pg "$pg_bin/initdb" -D "$pgdir/data" -A trust -U bench -E UTF8 --no-locale >"$pgdir/initdb.log" 2>&1 ||
    { cat "$pgdir/initdb.log" >&2; bench_die "initdb failed"; }
pg_started=1
as_pg "$pg_bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir" start >/dev/null ||
    { cat "$pgdir/server.log" >&2; bench_die "PostgreSQL did not start"; }
psql() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U bench "$@"; }
psql -d postgres -c 'create database bench' >/dev/null
psql -d bench -f "$peer_src/schema.sql" >/dev/null
pg_version=$(psql -d bench -Atc 'show server_version')

# --- the servers -------------------------------------------------------------------
hport=$(free_port)
"$hello_bin" "127.0.0.1:$hport" "$THREADS" >"$bench_work/hello.log" 2>&1 &
bench_pids="$bench_pids $!"

pport=$(free_port)
secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
(cd "$cache" && exec env NODE_ENV=production PORT="$pport" PG_POOL="$PEER_POOL" \
    DATABASE_URL="postgres://bench@127.0.0.1:$pgport/bench" BETTER_AUTH_SECRET="$secret" \
    RATE_LIMIT=off node server.mjs) >"$bench_work/peer.log" 2>&1 &
bench_pids="$bench_pids $!"

lport=$(free_port)
# The bench's user logs in without confirming an e-mail, on both sides (it is
# Better-Auth's default). Luxima's login throttle (auth.throttle_*) counts
# failed logins only, so it is left at its defaults.
LUXIMA_AUTH_REQUIRE_EMAIL_CONFIRMATION=off build/luxima serve --data "$bench_work/luxima" --listen "127.0.0.1:$lport" --threads "$THREADS" \
    >"$bench_work/luxima.log" 2>&1 &
bench_pids="$bench_pids $!"

wait_up "http://127.0.0.1:$hport/"
wait_up "http://127.0.0.1:$lport/healthz"
wait_up "http://127.0.0.1:$pport/" 300

# --- accounts, tokens, sessions ---------------------------------------------------
req() { # method url body [curl args...]: prints the status; body in $bench_work/body
	m=$1 u=$2 b=$3
	shift 3
	if [ -n "$b" ]; then
		set -- -H 'Content-Type: application/json' --data "$b" "$@"
	fi
	curl -s -o "$bench_work/body" -D "$bench_work/headers" -w '%{http_code}' -X "$m" "$@" "$u"
}
expect() { # want got what
	[ "$2" = "$1" ] && return 0
	echo "bench: $3 answered $2, not $1:" >&2
	head -c 600 "$bench_work/body" >&2
	echo >&2
	return 1
}
json_field() { # key
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$bench_work/body" "$1"
}
creds="{\"email\":\"$email\",\"password\":\"$password\"}"
signup="{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Bench\"}"

peer=http://127.0.0.1:$pport
s=$(req POST "$peer/api/auth/sign-up/email" "$signup")
expect 200 "$s" "peer sign-up" || bench_die "the peer did not register the user"
s=$(req POST "$peer/api/auth/sign-in/email" "$creds")
expect 200 "$s" "peer sign-in" || bench_die "the peer did not sign in"
cookie=$(tr -d '\r' <"$bench_work/headers" | sed -n 's/^[Ss]et-[Cc]ookie: *\(better-auth\.session_token=[^;]*\).*/\1/p' | head -n 1)
[ -n "$cookie" ] || bench_die "the peer's sign-in set no session cookie"
s=$(req GET "$peer/api/auth/get-session" "" -H "Cookie: $cookie")
expect 200 "$s" "peer get-session" && grep -q '"session"' "$bench_work/body" ||
    bench_die "the peer's get-session did not return the session"

lux=http://127.0.0.1:$lport
s=$(req POST "$lux/auth/register" "$signup")
if [ "$s" = 404 ] || [ "$s" = 405 ]; then
	bench_die "build/luxima has no POST /auth/register yet (the auth module is not in this build)"
fi
expect 201 "$s" "luxima register" || bench_die "luxima did not register the user"
lux_token() {
	s=$(req POST "$lux/auth/login" "$creds")
	expect 200 "$s" "luxima login" || bench_die "luxima did not log in"
	token=$(json_field access_token)
	s=$(req GET "$lux/auth/verify" "" -H "Authorization: Bearer $token")
	expect 200 "$s" "luxima verify" || bench_die "luxima did not verify its own token"
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
pwfile=$cache/node_modules/@better-auth/utils/dist/password.node.mjs
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
pkgver() { node -p "require('$cache/node_modules/$1/package.json').version"; }
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
echo "  luxima $(build/luxima version 2>/dev/null | head -n 1), $THREADS threads; hello: bare civetweb, $THREADS threads"
echo "  peer: node $(node -v) (NODE_ENV=production, one process), hono $(pkgver hono), @hono/node-server $(pkgver @hono/node-server), better-auth $(pkgver better-auth), pg $(pkgver pg) (pool $PEER_POOL), PostgreSQL $pg_version"
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
s=$(req GET "$peer/api/auth/get-session" "" -H "Cookie: $cookie")
expect 200 "$s" "peer get-session" && grep -q '"session"' "$bench_work/body" ||
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
