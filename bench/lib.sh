# Shell functions shared by the benchmarks (bench/run.sh, bench/auth.sh,
# bench/tenants.sh, bench/billing.sh). Sourced by a POSIX sh script after
# `cd` to the repository's top:
#
#   cd "$(dirname "$0")/.."
#   . bench/lib.sh
#
# Settings every benchmark takes from the environment:
#   ROUNDS (3)  DURATION (5s)  CONNS (32)  THREADS (8 server threads)
#   WRK_THREADS (2)  NO_BUILD (1: use the build folder as it is, no install,
#   no build)  BUILD_DIR (build: the Release build folder, relative to the
#   top or absolute; bench_build sets lux_bin and hello_bin in it)
# Every wrk run is bounded by DURATION; bench_start makes a temporary work
# folder and a trap that stops every started process (bench_pids) and runs
# the cleanup hooks (bench_hooks) on any exit, Ctrl-C included.

top=$(pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-8}
WRK_THREADS=${WRK_THREADS:-2}
BUILD_DIR=${BUILD_DIR:-build}

bench_die() {
	printf 'bench: error: %s\n' "$*" >&2
	exit 1
}

# Builds $BUILD_DIR/luxima and the bare civetweb baseline (Release),
# installing the build's packages first (third-party sources stay in
# build/_deps, the build's default LUXIMA_DEPS); sets lux_bin and hello_bin.
# With the argument luxima (bench/billing.sh), only the binary: no baseline
# built or looked for, hello_bin unset.
bench_build() { # [luxima]
	targets="luxima bench_hello"
	[ "${1:-}" = luxima ] && targets=luxima
	if [ "${NO_BUILD:-0}" != 1 ]; then
		scripts/deps.sh --test "$top/build" >/dev/null
		[ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
		cmake --build "$BUILD_DIR" -j "$(nproc)" --target $targets >/dev/null
	fi
	lux_bin=$BUILD_DIR/luxima
	[ -x "$lux_bin" ] || bench_die "$lux_bin was not built"
	[ "$targets" = luxima ] && return 0
	# bench/CMakeLists.txt builds the baseline in $BUILD_DIR/bench/.
	hello_bin=$BUILD_DIR/bench/bench_hello
	[ -x "$hello_bin" ] || hello_bin=$BUILD_DIR/bench_hello
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

# --- the Better-Auth peer (bench/peers/betterauth/): auth.sh, tenants.sh ----

bench_pg_bin=/usr/lib/postgresql/15/bin
bench_peer_src=bench/peers/betterauth
bench_peer_cache=$top/build/bench/betterauth

# Installs what the peer needs and is missing: postgresql, wrk, curl, and
# nodejs and npm when there is no node (Debian packages, as root); then the
# npm packages pinned in bench/peers/betterauth/package.json into
# build/bench/betterauth/ (reused while package.json is unchanged), and
# copies server.mjs beside them.
bench_peer_install() {
	pkgs="postgresql wrk curl"
	if ! command -v node >/dev/null 2>&1; then
		pkgs="$pkgs nodejs npm"
	elif ! command -v npm >/dev/null 2>&1; then
		bench_die "node is installed without npm; install npm for that node"
	fi
	bench_apt $pkgs
	[ -x "$bench_pg_bin/initdb" ] || bench_die "PostgreSQL 15 is not in $bench_pg_bin"
	node_major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$node_major" -ge 20 ] ||
	    echo "bench: warning: node $(node -v) is older than the peer stack's Node 20" >&2
	mkdir -p "$bench_peer_cache"
	if [ ! -f "$bench_peer_cache/.installed" ] ||
	    ! cmp -s "$bench_peer_src/package.json" "$bench_peer_cache/package.json"; then
		echo "bench: installing the peer's npm packages into $bench_peer_cache" >&2
		rm -rf "$bench_peer_cache/node_modules" "$bench_peer_cache/package-lock.json" \
		    "$bench_peer_cache/.installed"
		cp "$bench_peer_src/package.json" "$bench_peer_cache/package.json"
		(cd "$bench_peer_cache" && npm install --no-audit --no-fund --loglevel=error) \
		    >"$bench_peer_cache/npm.log" 2>&1 ||
		    { tail -n 20 "$bench_peer_cache/npm.log" >&2; bench_die "npm install failed (see $bench_peer_cache/npm.log)"; }
		touch "$bench_peer_cache/.installed"
	fi
	cp "$bench_peer_src/server.mjs" "$bench_peer_cache/server.mjs"
}

# Prints the installed version of one of the peer's npm packages.
bench_peer_pkgver() { # package
	node -p "require('$bench_peer_cache/node_modules/$1/package.json').version"
}

# Starts a private PostgreSQL 15 cluster in $bench_work/pg on a free loopback
# port (trust authentication, user bench; owned by postgres, or nobody, when
# run as root, since initdb refuses root), creates the database bench with
# the peer's schema.sql, and registers its stop as a cleanup hook. Sets
# bench_pgport and bench_pg_version. After bench_start.
bench_pg_start() {
	bench_pgdir=$bench_work/pg
	mkdir -p "$bench_pgdir"
	if [ "$(id -u)" = 0 ]; then
		bench_pguser=postgres
		id "$bench_pguser" >/dev/null 2>&1 || bench_pguser=nobody
		chmod 711 "$bench_work"
		chown "$bench_pguser" "$bench_pgdir"
	fi
	bench_pgport=$(free_port)
	bench_as_pg "$bench_pg_bin/initdb" -D "$bench_pgdir/data" -A trust -U bench -E UTF8 --no-locale \
	    >"$bench_pgdir/initdb.log" 2>&1 ||
	    { cat "$bench_pgdir/initdb.log" >&2; bench_die "initdb failed"; }
	bench_pg_started=1
	bench_hooks="$bench_hooks bench_pg_stop"
	bench_as_pg "$bench_pg_bin/pg_ctl" -D "$bench_pgdir/data" -l "$bench_pgdir/server.log" -w -t 30 \
	    -o "-c listen_addresses=127.0.0.1 -p $bench_pgport -k $bench_pgdir" start >/dev/null ||
	    { cat "$bench_pgdir/server.log" >&2; bench_die "PostgreSQL did not start"; }
	bench_psql -d postgres -c 'create database bench' >/dev/null
	bench_psql -d bench -f "$bench_peer_src/schema.sql" >/dev/null
	bench_pg_version=$(bench_psql -d bench -Atc 'show server_version')
}
bench_as_pg() { # command...
	if [ "$(id -u)" = 0 ]; then
		(cd "$bench_pgdir" && runuser -u "$bench_pguser" -- "$@")
	else
		(cd "$bench_pgdir" && "$@")
	fi
}
bench_pg_started=0
bench_pg_stop() {
	[ "$bench_pg_started" = 1 ] || return 0
	bench_as_pg "$bench_pg_bin/pg_ctl" -D "$bench_pgdir/data" -m fast -w stop >/dev/null 2>&1 || true
}
bench_psql() { # psql arguments...
	"$bench_pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$bench_pgport" -U bench "$@"
}

# Starts the peer (node server.mjs, NODE_ENV=production, one process) on a
# free loopback port against the database bench, with a pg Pool of the size
# given and Better-Auth's rate limiter off; sets bench_peer (its URL) and
# waits until it answers. After bench_pg_start.
bench_peer_run() { # pool size
	bench_pport=$(free_port)
	bench_peer=http://127.0.0.1:$bench_pport
	bench_secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
	(cd "$bench_peer_cache" && exec env NODE_ENV=production PORT="$bench_pport" PG_POOL="$1" \
	    DATABASE_URL="postgres://bench@127.0.0.1:$bench_pgport/bench" BETTER_AUTH_SECRET="$bench_secret" \
	    RATE_LIMIT=off node server.mjs) >"$bench_work/peer.log" 2>&1 &
	bench_pids="$bench_pids $!"
	wait_up "$bench_peer/" 300
}

# One HTTP request with curl: prints the status; the body is kept in
# $bench_work/body and the headers in $bench_work/headers.
bench_req() { # method url body [curl args...]
	m=$1 u=$2 b=$3
	shift 3
	if [ -n "$b" ]; then
		set -- -H 'Content-Type: application/json' --data "$b" "$@"
	fi
	curl -s -o "$bench_work/body" -D "$bench_work/headers" -w '%{http_code}' -X "$m" "$@" "$u"
}

# Returns 0 when the status is the one wanted, else says so with the start of
# the body and returns 1.
bench_expect() { # want got what
	[ "$2" = "$1" ] && return 0
	echo "bench: $3 answered $2, not $1:" >&2
	head -c 600 "$bench_work/body" >&2
	echo >&2
	return 1
}

# Prints one top-level field of the JSON body of the last bench_req.
bench_json() { # key
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$bench_work/body" "$1"
}
