#!/bin/bash
# Toybox-style test harness: runtest.sh FILE.test...
# A test file calls
#   testing "name" "command" "expected output" "input file" "stdin"
# which runs command (eval'd, in a scratch directory, with "input" holding the
# input file and stdin fed from the last argument; printf %b escapes apply to
# all three) and compares its stdout with the expected output.
# skip "name" "why" records a test that cannot run here.
# $QFS is the binary under test; qfs is a function running it.
#
# The harness cannot be fooled into a pass (tests/harness/ proves it, run by
# scripts/harness-selftest before the suites). A test fails when:
#   - its stdout differs from the expected output;
#   - the command ends with a status above 128 (killed by a signal, as toybox
#     checks it), unless its text shows a status itself ($? or PIPESTATUS in
#     it, where dying is the point: "...; echo rc=$?");
#   - the command is not valid shell (it would print nothing, and an empty
#     expected output would match);
#   - testing is called with other than 5 arguments (file and line named).
# A test file fails, and is counted once in the failures, when it does not
# run to its end: "FILE stopped at line N (status S)" for an exit, a syntax
# error, set -e tripping, a signal, or a top-level return. The one early end
# allowed is `return 0` straight after a skip (no root, no loop filesystem).
# A file that runs no test and skips nothing fails too.
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

# file_failed FILE WHY: the file itself failed.
file_failed() {
	echo "FAIL: $1 $2"
	echo fail >> "$results"
}

# run_file PATH NAME: sources PATH (absolute) in a subshell of its own;
# NAME is how it was given, for the messages.
run_file() {
	local file=$1 name=$2 before status line cmd syntax
	TESTDIR=$(mktemp -d /tmp/qfs-test.XXXXXX)
	export TESTDIR
	before=$(wc -l < "$results")
	# The file's stderr is the harness's (fd 3 here); the shell's own
	# notice when it dies of a signal is not: the verdict below says it.
	{ (
		exec 2>&3 3>&-
		cd "$TESTDIR" || exit 1
		qfs_file=$file qfs_name=$name
		qfs() { "$QFS" "$@"; }
		testing() {
			if [ $# != 5 ]; then
				echo "FAIL: $1 (testing called with $# arguments, not 5, at $(where_called))"
				echo fail >> "$results"
				return 0
			fi
			local name=$1 cmd=$2 status why=""
			printf '%b' "$3" > "$TESTDIR/.expected"
			printf '%b' "$4" > "$TESTDIR/input"
			# Parsed as a function body first: never run, only checked.
			if ! eval "qfs_parse_check() {
$cmd
}" 2> /dev/null; then
				why="the command is not valid shell"
			fi
			unset -f qfs_parse_check
			# (|| so that a file's set -e cannot trip on a test's status)
			status=0
			printf '%b' "$5" | eval "$cmd" > "$TESTDIR/.actual" 2> "$TESTDIR/.stderr" || status=${PIPESTATUS[1]}
			if [ -z "$why" ] && [ "$status" -gt 128 ] && [[ $cmd != *'$?'* && $cmd != *PIPESTATUS* ]]; then
				why="status $status"
				[ "$status" -le 192 ] && why="killed by SIG$(kill -l "$((status - 128))")"
			fi
			if [ -z "$why" ] && cmp -s "$TESTDIR/.expected" "$TESTDIR/.actual"; then
				echo "PASS: $name"
				echo pass >> "$results"
			else
				echo "FAIL: $name${why:+ ($why)}"
				echo fail >> "$results"
				echo "  command: $cmd"
				diff -u "$TESTDIR/.expected" "$TESTDIR/.actual" | sed -n '3,40s/^/  /p'
				sed -n '1,10s/^/  stderr: /p' "$TESTDIR/.stderr"
			fi
			return 0
		}
		skip() {
			echo "SKIP: $1 ($2)"
			echo skip >> "$results"
		}
		# where_called: FILE:LINE of the call to the function calling this
		where_called() {
			local src=${BASH_SOURCE[2]}
			[ "$src" = "$qfs_file" ] && src=$qfs_name
			echo "$src:${BASH_LINENO[1]}"
		}
		. "$QFS_SCRIPTS/testlib.sh"
		# Each top-level command of the file leaves its line in .where, so
		# that an exit or a signal can be placed (functions and subshells
		# are traced too, with set -T, but do not count).
		qfs_depth=$BASH_SUBSHELL
		set -T
		# (one line: $LINENO counts the lines of the trap's own text)
		trap '[ "${FUNCNAME[0]}" = source ] && [ "$BASH_SUBSHELL" = "$qfs_depth" ] && [ "${BASH_SOURCE[0]}" = "$qfs_file" ] && printf "%s %s\n" "$LINENO" "$BASH_COMMAND" > "$TESTDIR/.where"' DEBUG
		. "$qfs_file"
		echo "$?" > "$TESTDIR/.returned"
		trap - DEBUG
		set +T
	); } 3>&2 2>/dev/null
	status=$?
	line=? cmd=
	[ -s "$TESTDIR/.where" ] && read -r line cmd < "$TESTDIR/.where"
	if syntax=$(bash -n "$file" 2>&1); then
		syntax=""
	fi
	if [ ! -e "$TESTDIR/.returned" ]; then
		file_failed "$name" "stopped at line $line (status $status)"
	else
		status=$(cat "$TESTDIR/.returned")
		if [ -n "$syntax" ]; then
			line=$(echo "$syntax" | sed -n 's/.*: line \([0-9]*\): .*/\1/p' | head -1)
			file_failed "$name" "stopped at line $line (status $status)"
		elif [[ $cmd == return || $cmd == "return "* ]] && ! { [ "$status" = 0 ] && [ "$(tail -n 1 "$results")" = skip ]; }; then
			# a skip then "return 0" is how a file says it cannot run here
			file_failed "$name" "stopped at line $line (status $status)"
		fi
	fi
	if [ "$(wc -l < "$results")" = "$before" ]; then
		file_failed "$name" "ran no test and skipped nothing"
	fi
	rm -rf "$TESTDIR"
}

for f in "$@"; do
	echo "== $f"
	if [ -f "$f" ]; then
		run_file "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$f"
	else
		file_failed "$f" "is not a file"
	fi
done
pass=$(grep -c '^pass$' "$results")
fail=$(grep -c '^fail$' "$results")
skipped=$(grep -c '^skip$' "$results")
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
