#!/bin/sh
# The two commands of the README, for a fresh Debian 12 machine as root:
#
#   ./dev.sh serve [luxima serve flags]   install what is missing, build,
#                                         start the server on its defaults
#   ./dev.sh test                         install what is missing, build, and
#                                         run every test (ctest) in a normal
#                                         build, under ASan+UBSan, and the
#                                         fuzzers briefly
#
# Builds and fetched sources are cached under build/ and reused.
set -eu
cd "$(dirname "$0")"
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

configure() { # dir [cmake args]
	dir=$1
	shift
	if [ ! -f "$dir/CMakeCache.txt" ]; then
		mkdir -p "$dir"
		cmake -S "$top" -B "$dir" -DLUXIMA_DEPS="$top/build/_deps" "$@" >"$dir/configure.log" 2>&1 ||
		    { cat "$dir/configure.log"; exit 1; }
	fi
}

build() { # dir target...
	dir=$1
	shift
	cmake --build "$dir" -j "$jobs" "$@"
}

case "${1:-}" in
serve)
	shift
	scripts/deps.sh "$top/build"
	mkdir -p build
	configure build -DCMAKE_BUILD_TYPE=Release
	build build --target luxima
	exec build/luxima serve "$@"
	;;
test)
	shift
	scripts/deps.sh --test "$top/build"
	mkdir -p build
	echo "== build (release) and every test"
	configure build -DCMAKE_BUILD_TYPE=Release
	build build
	ctest --test-dir build --output-on-failure -j "$jobs"
	echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and every test"
	configure build/asan -DCMAKE_BUILD_TYPE=Debug -DLUXIMA_SANITIZE=ON
	build build/asan
	ctest --test-dir build/asan --output-on-failure -j "$jobs" -LE format
	echo "== libFuzzer targets, briefly"
	CC=clang configure build/fuzz -DCMAKE_BUILD_TYPE=Debug -DLUXIMA_FUZZ=ON
	build build/fuzz
	ctest --test-dir build/fuzz --output-on-failure -L fuzz
	echo "== all tests passed"
	;;
*)
	echo "usage: ./dev.sh serve [flags] | ./dev.sh test" >&2
	exit 2
	;;
esac
