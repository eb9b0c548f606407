# Helpers for tests that freeze: real loop filesystems made in $TESTDIR,
# always thawed and unmounted on exit. Never this machine's own filesystems.
# A write to a frozen filesystem sleeps uninterruptibly, so writes are only
# ever probed in the background.

QFS_LOOPS=""

is_root() { [ "$(id -u)" = 0 ]; }

# mkloop TYPE DIR: a fresh TYPE filesystem (ext4, xfs, btrfs, vfat) on DIR.
mkloop() {
	local type=$1 dir=$2 img size=64M
	img="$TESTDIR/$(echo "$dir" | tr / _).img"
	case $type in
	xfs) size=300M ;;
	btrfs) size=128M ;;
	esac
	mkdir -p "$dir"
	truncate -s "$size" "$img" || return 1
	case $type in
	vfat) mkfs.vfat "$img" >/dev/null 2>&1 ;;
	*) "mkfs.$type" -q -f "$img" >/dev/null 2>&1 || "mkfs.$type" -q -F "$img" >/dev/null 2>&1 ;;
	esac || return 1
	mount -o loop "$img" "$dir" || return 1
	QFS_LOOPS="$(cd "$dir" && pwd) $QFS_LOOPS"
}

# Thaw (util-linux or qfs, whichever is there) and unmount everything made.
cleanup_loops() {
	local d
	for d in $QFS_LOOPS; do
		while fsfreeze -u "$d" 2>/dev/null; do :; done
		"$QFS" thaw -m "$d" >/dev/null 2>&1
	done
	for d in $QFS_LOOPS; do
		umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null
	done
	QFS_LOOPS=""
}

# blocked DIR: a write to DIR is still sleeping after 2 s. Leaves the writer's
# pid in $writer so that released can check it finishes.
blocked() {
	(echo x > "$1/.probe.$$") 2>/dev/null &
	writer=$!
	sleep 2
	kill -0 "$writer" 2>/dev/null
}

# released: the writer started by blocked finishes within 3 s.
released() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		kill -0 "$writer" 2>/dev/null || return 0
		sleep 0.25
	done
	return 1
}

# writable DIR...: a write to each completes within 3 s.
writable() {
	local d
	for d; do
		(echo x > "$d/.probe.$$") 2>/dev/null &
		writer=$!
		released || return 1
	done
}

# ms: the times of freeze -v's count line ("in 12 ms") as "in N ms".
ms() { sed -E 's/ [0-9]+ ms/ N ms/g'; }

# no_watchdog: no qfs process of this test file (found by its
# QFS_STATE_DIR, which each file sets under its own $TESTDIR) is left running,
# of $QFS or of $QFS_STATIC.
no_watchdog() {
	local pid
	for pid in $(pgrep -f "^$QFS") $(pgrep -f "^$QFS_STATIC"); do
		tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "QFS_STATE_DIR=$TESTDIR/state" && return 1
	done
	return 0
}
