#!/bin/sh
# Luxima's GET /healthz against a bare civetweb "hello" (bench/hello.c, same
# civetweb, same settings) with wrk on loopback. Alternates the two servers
# for ROUNDS rounds of DURATION each, so machine noise hits both alike, and
# prints every round, the medians and the ratio (target: >= 0.9).
#
#   bench/run.sh                 # after ./dev.sh test or ./dev.sh serve built build/
#   ROUNDS=5 DURATION=10s CONNS=32 THREADS=8 bench/run.sh
#   BUILD_DIR=build/benchbin NO_BUILD=1 bench/run.sh
#
# BUILD_DIR (build) is the Release build folder it builds, unless NO_BUILD=1,
# and runs. Bounded: ROUNDS x 2 x DURATION, then both servers are stopped.
# Shared helpers: bench/lib.sh.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

bench_build
bench_start bench

lport=$(free_port)
hport=$(free_port)
"$lux_bin" serve --data "$bench_work/data" --listen "127.0.0.1:$lport" --threads "$THREADS" \
    >"$bench_work/luxima.log" 2>&1 &
bench_pids="$bench_pids $!"
"$hello_bin" "127.0.0.1:$hport" "$THREADS" >"$bench_work/hello.log" 2>&1 &
bench_pids="$bench_pids $!"
wait_up "http://127.0.0.1:$lport/healthz"
wait_up "http://127.0.0.1:$hport/"

rps() { # url
	bench_wrk "$CONNS" "$1"
	echo "$wrk_rps"
}

echo "luxima bench: GET /healthz vs bare civetweb hello; wrk -t$WRK_THREADS -c$CONNS -d$DURATION, $THREADS server threads, $ROUNDS rounds"
: >"$bench_work/l"
: >"$bench_work/h"
r=1
while [ $r -le "$ROUNDS" ]; do
	h=$(rps "http://127.0.0.1:$hport/")
	l=$(rps "http://127.0.0.1:$lport/healthz")
	echo "$h" >>"$bench_work/h"
	echo "$l" >>"$bench_work/l"
	printf 'round %d: hello %10.0f req/s   luxima %10.0f req/s\n' "$r" "$h" "$l"
	r=$((r + 1))
done
mh=$(median "$bench_work/h")
ml=$(median "$bench_work/l")
awk -v h="$mh" -v l="$ml" 'BEGIN {
	printf "median: hello %.0f req/s, luxima /healthz %.0f req/s, ratio %.2f (target >= 0.90)\n", h, l, l / h }'
