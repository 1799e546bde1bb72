#!/bin/sh
# Fails when a C file of ours differs from what clang-format (with the
# repository's .clang-format) would make of it. Third-party code is never in
# the repository, so every tracked or new .c/.h file is ours.
set -u
top=${1:-.}
cd "$top" || exit 2
command -v clang-format >/dev/null || { echo "clang-format not installed (scripts/deps.sh --test installs it)"; exit 1; }
bad=0
for f in $(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' 2>/dev/null || find cmd modules storage tests bench -name '*.[ch]'); do
	[ -f "$f" ] || continue
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (run clang-format -i $f)"
		bad=1
	fi
done
exit $bad
