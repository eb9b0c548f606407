# Shared by scripts/vmtest and scripts/hvtest (sourced, bash): the host's
# checks, the Debian kernel, the accelerator and the boot of a test guest.
PATH=$PATH:/sbin:/usr/sbin

die() { echo "$vm_name: $*" >&2; echo "$vm_result: FAIL"; exit 1; }

# vm_setup QFS PACKAGE...: the packages are installed, QFS exists; sets
# kver (the newest kernel with modules and an image) and accel.
vm_setup() {
	local qfs=$1 p d missing=
	shift
	for p in "$@"; do
		dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] || die "missing packages:$missing"
	[ -f "$qfs" ] || die "$qfs: no such file (run make first)"
	kver=
	for d in $(cd /lib/modules && printf '%s\n' * | sort -rV); do
		if [ -f "/boot/vmlinuz-$d" ]; then kver=$d; break; fi
	done
	[ -n "$kver" ] || die "no /lib/modules/KVER with a /boot/vmlinuz-KVER"
	[ -r "/boot/vmlinuz-$kver" ] || die "/boot/vmlinuz-$kver is not readable"
	# /dev/kvm can exist without usable hardware virtualisation
	accel=(-accel tcg)
	if [ -w /dev/kvm ] && grep -qE 'vmx|svm' /proc/cpuinfo; then accel=(-accel kvm -cpu host); fi
}

# vm_boot SECONDS INITRD LOG [QEMU ARG]...: boots the guest until it powers
# off (or SECONDS pass), its console in LOG; shows the log; qemu's status.
vm_boot() {
	local secs=$1 initrd=$2 log=$3 start=$SECONDS rc
	shift 3
	echo "$vm_name: booting $kver with ${accel[*]}"
	timeout "$secs" qemu-system-x86_64 "${accel[@]}" -m 256 -smp 1 -no-reboot \
		-display none -monitor none -serial "file:$log" \
		-kernel "/boot/vmlinuz-$kver" -initrd "$initrd" \
		-append 'console=ttyS0 panic=-1 quiet' "$@"
	rc=$?
	cat "$log"
	echo "$vm_name: qemu exited with $rc after $((SECONDS - start)) s"
	[ $rc -ne 124 ] || echo "$vm_name: qemu timed out"
	return $rc
}
