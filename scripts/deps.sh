#!/bin/sh
# Installs and fetches everything the build (and, with --test, the tests)
# needs, as pinned in cmake/deps.lock, and skips whatever is already there.
#
#   scripts/deps.sh [--test] [BUILD_DIR]
#
# Binary packages come from the system's Debian archive (apt-get install, as
# root). Source packages are fetched with `apt-get source` through a private
# sources list under BUILD_DIR/_deps/apt, so the system's apt configuration is
# never edited, then unpacked under BUILD_DIR/_deps/<name>. The SQLCipher
# amalgamation (sqlite3.c) is generated once from its source with tclsh.
# Everything fetched is reused on the next run.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
want_test=0
if [ "${1:-}" = "--test" ]; then
	want_test=1
	shift
fi
build=${1:-$top/build}
deps=$build/_deps
lock=$top/cmake/deps.lock

say() { printf 'deps: %s\n' "$*" >&2; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# --- binary packages --------------------------------------------------------
missing=""
for pkg in $(awk -v t="$want_test" '$1=="bin" || (t==1 && $1=="test") {print $2}' "$lock"); do
	# A node and npm from elsewhere (NodeSource, nvm) serve the tests too;
	# Debian's npm would conflict with NodeSource's nodejs.
	case "$pkg" in
	nodejs | npm)
		command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && continue ;;
	esac
	st=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || die "missing packages:$missing (run as root, or install them)"
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends $missing >"$build.apt.log" 2>&1; then
		apt-get update >>"$build.apt.log" 2>&1 || die "apt-get update failed (see $build.apt.log)"
		apt-get install -y --no-install-recommends $missing >>"$build.apt.log" 2>&1 ||
		    die "apt-get install failed (see $build.apt.log)"
	fi
	rm -f "$build.apt.log"
fi

# --- source packages through a private apt configuration ---------------------
mkdir -p "$deps/apt/lists/partial" "$deps/apt/cache/archives/partial"
srclist=$deps/apt/sources.list
suites=$(awk '$1=="src" {print $3}' "$lock" | sort -u)
: >"$srclist.new"
for s in $suites; do
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main" >>"$srclist.new"
done
mv "$srclist.new" "$srclist"
aptopts="-o Dir::Etc::SourceList=$srclist -o Dir::Etc::SourceParts=/nonexistent \
 -o Dir::State::Lists=$deps/apt/lists -o Dir::Cache=$deps/apt/cache \
 -o APT::Sandbox::User=root"
updated=0

fetch_src() { # name suite version
	name=$1 suite=$2 ver=$3 dir=$deps/$1
	[ -f "$dir/.luxima-fetched" ] && return 0
	if [ $updated = 0 ]; then
		say "reading Debian source indexes ($(echo $suites))"
		apt-get $aptopts update >/dev/null 2>&1 || die "cannot read the Debian source indexes"
		updated=1
	fi
	rm -rf "$dir" "$deps/fetch-$name"
	mkdir -p "$deps/fetch-$name"
	say "fetching source $name=$ver ($suite)"
	if ! (cd "$deps/fetch-$name" && apt-get $aptopts source "$name=$ver" >fetch.log 2>&1); then
		# The pinned revision left the archive (a point release replaced it):
		# take the suite's current one and say so loudly.
		say "warning: $name=$ver is no longer in $suite; taking $suite's current $name"
		(cd "$deps/fetch-$name" && rm -rf ./* && apt-get $aptopts source "$name/$suite" >fetch.log 2>&1) ||
		    die "cannot fetch source package $name (see $deps/fetch-$name/fetch.log)"
	fi
	src=$(find "$deps/fetch-$name" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	[ -n "$src" ] || die "source package $name unpacked nothing"
	mv "$src" "$dir"
	rm -rf "$deps/fetch-$name"
	touch "$dir/.luxima-fetched"
}

awk '$1=="src" {print $2, $3, $4}' "$lock" | while read -r name suite ver; do
	fetch_src "$name" "$suite" "$ver"
done

# --- SQLCipher amalgamation ---------------------------------------------------
amalg=$deps/sqlcipher-amalgamation
if [ ! -f "$amalg/sqlite3.c" ]; then
	say "generating the SQLCipher amalgamation"
	rm -rf "$deps/sqlcipher-gen"
	mkdir -p "$deps/sqlcipher-gen"
	(cd "$deps/sqlcipher-gen" &&
	    "$deps/sqlcipher/configure" --enable-tempstore=yes --disable-tcl \
		CFLAGS="-DSQLITE_HAS_CODEC -DSQLCIPHER_CRYPTO_OPENSSL" LIBS=-lcrypto >gen.log 2>&1 &&
	    make sqlite3.c >>gen.log 2>&1) || die "SQLCipher amalgamation failed (see $deps/sqlcipher-gen/gen.log)"
	mkdir -p "$amalg"
	cp "$deps/sqlcipher-gen/sqlite3.c" "$deps/sqlcipher-gen/sqlite3.h" "$amalg/"
	rm -rf "$deps/sqlcipher-gen"
fi
say "ready in $deps"
