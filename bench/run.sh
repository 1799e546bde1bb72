#!/bin/sh
# Luxima's GET /healthz against a bare civetweb "hello" (bench/hello.c, same
# civetweb, same settings) with wrk on loopback. Alternates the two servers
# for ROUNDS rounds of DURATION each, so machine noise hits both alike, and
# prints every round, the medians and the ratio (target: >= 0.9).
#
#   bench/run.sh                 # after ./dev.sh test or ./dev.sh serve built build/
#   ROUNDS=5 DURATION=10s CONNS=32 THREADS=8 bench/run.sh
#
# Bounded: ROUNDS x 2 x DURATION, then both servers are stopped.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-8}
WRK_THREADS=${WRK_THREADS:-2}

scripts/deps.sh --test "$top/build" >/dev/null
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target luxima bench_hello >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/luxima-bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_up() { # url
	i=0
	until curl -fs -o /dev/null "$1" 2>/dev/null || python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "bench: $1 did not come up" >&2; exit 1; }
		sleep 0.1
	done
}

lport=$(free_port)
hport=$(free_port)
build/luxima serve --data "$work/data" --listen "127.0.0.1:$lport" --threads "$THREADS" \
    >"$work/luxima.log" 2>&1 &
pids="$pids $!"
build/bench_hello "127.0.0.1:$hport" "$THREADS" >"$work/hello.log" 2>&1 &
pids="$pids $!"
wait_up "http://127.0.0.1:$lport/healthz"
wait_up "http://127.0.0.1:$hport/"

rps() { # url
	wrk -t "$WRK_THREADS" -c "$CONNS" -d "$DURATION" --latency "$1" |
	    awk '/^Requests\/sec:/ {print $2} / 50%/ {lat=$2} END {}' | head -n 1
}

echo "luxima bench: GET /healthz vs bare civetweb hello; wrk -t$WRK_THREADS -c$CONNS -d$DURATION, $THREADS server threads, $ROUNDS rounds"
: >"$work/l"
: >"$work/h"
r=1
while [ $r -le "$ROUNDS" ]; do
	h=$(rps "http://127.0.0.1:$hport/")
	l=$(rps "http://127.0.0.1:$lport/healthz")
	echo "$h" >>"$work/h"
	echo "$l" >>"$work/l"
	printf 'round %d: hello %10.0f req/s   luxima %10.0f req/s\n' "$r" "$h" "$l"
	r=$((r + 1))
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
mh=$(median "$work/h")
ml=$(median "$work/l")
awk -v h="$mh" -v l="$ml" 'BEGIN {
	printf "median: hello %.0f req/s, luxima /healthz %.0f req/s, ratio %.2f (target >= 0.90)\n", h, l, l / h }'
