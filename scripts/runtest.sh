#!/bin/bash
# Toybox-style test harness: runtest.sh FILE.test...
# A test file calls
#   testing "name" "command" "expected output" "input file" "stdin"
# which runs command (eval'd, in a scratch directory, with "input" holding the
# input file and stdin fed from the last argument; printf %b escapes apply to
# all three) and compares its stdout with the expected output.
# skip "name" "why" records a test that cannot run here.
# $QFS is the binary under test; qfs is a function running it.
# The last line is "N passed, N failed, N skipped"; the exit status is 1 when
# anything failed.

: "${QFS:?set QFS to the qfs binary under test}"
# A static build for tests that chroot (the sanitizer build is dynamic).
: "${QFS_STATIC:=$QFS}"
export QFS QFS_STATIC
here=$(cd "$(dirname "$0")" && pwd)
export QFS_SCRIPTS=$here
export FIXTURES="$here/../tests/fixtures"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

run_file() {
	local file=$1
	TESTDIR=$(mktemp -d /tmp/qfs-test.XXXXXX)
	export TESTDIR
	(
		cd "$TESTDIR" || exit 1
		qfs() { "$QFS" "$@"; }
		testing() {
			local name=$1 cmd=$2
			printf '%b' "$3" > "$TESTDIR/.expected"
			printf '%b' "$4" > "$TESTDIR/input"
			printf '%b' "$5" | eval "$cmd" > "$TESTDIR/.actual" 2> "$TESTDIR/.stderr"
			if cmp -s "$TESTDIR/.expected" "$TESTDIR/.actual"; then
				echo "PASS: $name"
				echo pass >> "$results"
			else
				echo "FAIL: $name"
				echo fail >> "$results"
				echo "  command: $cmd"
				diff -u "$TESTDIR/.expected" "$TESTDIR/.actual" | sed -n '3,40s/^/  /p'
				sed -n '1,10s/^/  stderr: /p' "$TESTDIR/.stderr"
			fi
		}
		skip() {
			echo "SKIP: $1 ($2)"
			echo skip >> "$results"
		}
		. "$QFS_SCRIPTS/testlib.sh"
		. "$file"
	)
	rm -rf "$TESTDIR"
}

for f in "$@"; do
	echo "== $f"
	run_file "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
done
pass=$(grep -c '^pass$' "$results")
fail=$(grep -c '^fail$' "$results")
skipped=$(grep -c '^skip$' "$results")
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
