# Shell functions shared by the benchmarks (bench/run.sh, bench/auth.sh).
# Sourced by a POSIX sh script after `cd` to the repository's top:
#
#   cd "$(dirname "$0")/.."
#   . bench/lib.sh
#
# Settings every benchmark takes from the environment:
#   ROUNDS (3)  DURATION (5s)  CONNS (32)  THREADS (8 server threads)
#   WRK_THREADS (2)  NO_BUILD (1: use build/ as it is, no install, no build)
# Every wrk run is bounded by DURATION; bench_start makes a temporary work
# folder and a trap that stops every started process (bench_pids) and runs
# the cleanup hooks (bench_hooks) on any exit, Ctrl-C included.

top=$(pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-8}
WRK_THREADS=${WRK_THREADS:-2}

bench_die() {
	printf 'bench: error: %s\n' "$*" >&2
	exit 1
}

# Builds build/luxima and the bare civetweb baseline (Release), installing
# the build's packages first; sets hello_bin.
bench_build() {
	if [ "${NO_BUILD:-0}" != 1 ]; then
		scripts/deps.sh --test "$top/build" >/dev/null
		[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
		cmake --build build -j "$(nproc)" --target luxima bench_hello >/dev/null
	fi
	[ -x build/luxima ] || bench_die "build/luxima was not built"
	# bench/CMakeLists.txt builds the baseline in build/bench/.
	hello_bin=build/bench/bench_hello
	[ -x "$hello_bin" ] || hello_bin=build/bench_hello
	[ -x "$hello_bin" ] || bench_die "bench_hello was not built"
}

# Installs the Debian packages named that are not installed (as root; an
# apt-get update only when the first try fails).
bench_apt() { # package...
	missing=""
	for pkg in "$@"; do
		st=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		case "$st" in
		*" installed") ;;
		*) missing="$missing $pkg" ;;
		esac
	done
	[ -n "$missing" ] || return 0
	[ "$(id -u)" = 0 ] || bench_die "missing packages:$missing (run as root, or install them)"
	printf 'bench: installing:%s\n' "$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	log=$top/build/bench-apt.log
	mkdir -p "$top/build"
	if ! apt-get install -y --no-install-recommends $missing >"$log" 2>&1; then
		apt-get update >>"$log" 2>&1 || bench_die "apt-get update failed (see $log)"
		apt-get install -y --no-install-recommends $missing >>"$log" 2>&1 ||
		    bench_die "apt-get install failed (see $log)"
	fi
	rm -f "$log"
}

bench_pids=""
bench_hooks=""
bench_cleanup() {
	set +e
	for p in $bench_pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for h in $bench_hooks; do "$h"; done
	[ -n "${bench_work:-}" ] && rm -rf "$bench_work"
}

# Makes the work folder ($bench_work) and arms the cleanup trap.
bench_start() { # name
	bench_work=$(mktemp -d "${TMPDIR:-/tmp}/luxima-$1.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_up() { # url [tries of 0.1 s, default 100]
	i=0
	until curl -fs -o /dev/null "$1" 2>/dev/null || python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt "${2:-100}" ] || { echo "bench: $1 did not come up" >&2; exit 1; }
		sleep 0.1
	done
}

# One bounded wrk run. Sets wrk_rps (requests/s), wrk_p99 (milliseconds) and
# wrk_errors (socket errors plus non-2xx/3xx responses); keeps wrk's output
# in $bench_work/wrk.out.
bench_wrk() { # conns url [extra wrk arguments...]
	c=$1
	u=$2
	shift 2
	wrk -t "$WRK_THREADS" -c "$c" -d "$DURATION" --latency "$@" "$u" >"$bench_work/wrk.out" 2>&1 ||
	    { cat "$bench_work/wrk.out" >&2; bench_die "wrk failed on $u"; }
	set -- $(awk '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /m$/) return v * 60000
			if (v ~ /s$/) return v * 1000
			return v + 0
		}
		/^Requests\/sec:/ { rps = $2 }
		/^ +99%/ { p99 = ms($2) }
		/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { err += $5 }
		END { printf "%s %s %d\n", (rps == "" ? 0 : rps), (p99 == "" ? 0 : p99), err }
	' "$bench_work/wrk.out")
	wrk_rps=$1
	wrk_p99=$2
	wrk_errors=$3
}

median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
