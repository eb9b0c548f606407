# qfs: one static binary. `make`, `make test`, `make demo` (root), `make bench`.
VERSION  = 0.1.0
# The target: ARCH=x86_64 (the default) builds ./qfs, which the tests run;
# aarch64, armhf, i386 and s390x build build/ARCH/qfs (`make build/ARCH/qfs`
# builds any of them whatever ARCH is). Each is the static musl binary:
# Debian's cross compiler (gcc-aarch64-linux-gnu and friends) with musl's
# specs for that architecture (musl-dev:arm64 and friends) and its kernel
# headers (linux-libc-dev-arm64-cross and friends, or the native ones). What
# a build holds (the allocator of alloc.c) follows the target, never the
# compiler's name: CC= only replaces x86_64's compiler.
ARCH     = x86_64
ARCHES   = x86_64 aarch64 armhf i386 s390x
CC       = musl-gcc
CC_x86_64  = $(CC)
CC_aarch64 = aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs
CC_armhf   = arm-linux-gnueabihf-gcc -specs /usr/lib/arm-linux-musleabihf/musl-gcc.specs
CC_i386    = i686-linux-gnu-gcc -specs /usr/lib/i386-linux-musl/musl-gcc.specs
CC_s390x   = s390x-linux-gnu-gcc -specs /usr/lib/s390x-linux-musl/musl-gcc.specs
# where the kernel's headers for ARCH are: a cross package's directory,
# else the native multiarch one
GNU_x86_64  = x86_64-linux-gnu
GNU_aarch64 = aarch64-linux-gnu
GNU_armhf   = arm-linux-gnueabihf
GNU_i386    = i686-linux-gnu i386-linux-gnu
GNU_s390x   = s390x-linux-gnu
khdr = $(firstword $(wildcard $(foreach g,$(GNU_$1),/usr/$g/include/$2 /usr/include/$g/$2) /usr/include/$2))
# musl's general-purpose malloc is a sixth of the binary: libcommon/alloc.c,
# in every musl target (ALLOC= builds without it)
ALLOC    = -DQFS_ALLOC
$(if $(filter $(ARCH),$(ARCHES)),,$(error ARCH=$(ARCH) is none of $(ARCHES)))
BIN      = $(if $(filter x86_64,$(ARCH)),qfs,build/$(ARCH)/qfs)
# -Oz, no jump tables, caller-saves, dominator opts, jump threading (it copies
# code), loop-invariant motion (RTL and tree) or IPA constant propagation
# (it clones functions), and the sections sorted by alignment (less
# padding): smaller on every ARCH (measured);
# -fno-inline-functions-called-once is not (with these: x86_64 +32 B,
# aarch64 +3.2 KB, armhf +256 B).
# One LTO partition: the same bytes, without lto-wrapper's serial warning.
CFLAGS   = -std=c11 -Oz -flto -flto-partition=one -Wall -Wextra -Werror -D_GNU_SOURCE -DQFS_VERSION='"$(VERSION)"' \
           -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
           -fno-stack-protector -fno-ident -fno-pie \
           -fno-jump-tables -fno-caller-saves -fno-tree-dominator-opts \
           -fno-thread-jumps -fno-move-loop-invariants -fno-tree-loop-im -fno-ipa-cp
# -static links at a fixed address anyway: code compiled position
# independent (gcc's default in Debian) would only cost bytes
LDFLAGS  = -static -no-pie -s -Wl,--gc-sections -Wl,--build-id=none -Wl,-z,noseparate-code -Wl,-z,norelro -Wl,-z,common-page-size=64 \
           -Wl,--sort-section=alignment
SANFLAGS = -std=c11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -DQFS_VERSION='"$(VERSION)"' \
           -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
PREFIX   = /usr
DESTDIR  =

# The applets: config/applets, or APPLETS="freeze thaw" on the command line.
APPLETS := $(shell sed -e 's/\#.*//' config/applets | awk 'NF {print $$1}')
APPLET_LINES = awk -v want="$(APPLETS)" 'BEGIN {n = split(want, w, " "); for (i = 1; i <= n; i++) ok[w[i]] = 1} \
	/^[^\#]/ && NF && ($$1 in ok) {print $$1, (NF > 1 ? $$2 : $$1)}' config/applets
APPLET_SRC := $(shell $(APPLET_LINES) | awk '{print "applets/" $$2 ".c"}' | sort -u)
LIB_SRC  := $(wildcard libcommon/*.c)
SRC       = $(LIB_SRC) $(APPLET_SRC)
HDR      := $(wildcard libcommon/*.h)

all: $(BIN)

# The applet table is generated, so the list lives in one place; it is
# rewritten only when the selection changes.
build/applets.h: FORCE
	@mkdir -p build
	@$(APPLET_LINES) | awk '{f = $$2; gsub("-", "_", f); printf "APPLET(\"%s\", %s)\n", $$1, f}' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

# The kernel's uapi headers (linux/, asm/, asm-generic/) for one target,
# and nothing else of the system's /usr/include next to musl's headers.
$(ARCHES:%=build/%/kernel/linux): build/%/kernel/linux:
	@mkdir -p $(@D)
	@$(foreach d,linux asm asm-generic,[ -n "$(call khdr,$*,$d)" ] || \
		{ echo "make: no kernel headers $d/ for $*" >&2; exit 1; };)
	ln -sfn $(call khdr,$*,asm) $(call khdr,$*,asm-generic) $(@D)/
	ln -sfn $(call khdr,$*,linux) $@

# x86_64 only, both plain size flags, no ABI change: data aligned as the ABI
# asks rather than for speed, and no SSE register (qfs has no floating point)
ARCHFLAGS_x86_64 = -malign-data=abi -mgeneral-regs-only
TARGET_FLAGS = $(ALLOC) $(ARCHFLAGS_$1) -isystem build/$1/kernel -Ilibcommon -Ibuild

qfs: $(SRC) $(HDR) build/applets.h | build/x86_64/kernel/linux
	$(CC_x86_64) $(CFLAGS) $(call TARGET_FLAGS,x86_64) -o $@ $(SRC) $(LDFLAGS)

# Another architecture's binary beside x86_64's.
build/%/qfs: $(SRC) $(HDR) build/applets.h | build/%/kernel/linux
	$(CC_$*) $(CFLAGS) $(call TARGET_FLAGS,$*) -o $@ $(SRC) $(LDFLAGS)

# Test-only builds: never installed, never the release binary.
build/qfs-fault: $(SRC) $(HDR) build/applets.h | build/x86_64/kernel/linux
	$(CC_x86_64) $(CFLAGS) -DQFS_FAULT_INJECTION $(call TARGET_FLAGS,x86_64) -o $@ $(SRC) $(LDFLAGS)

# Mutants: qfs broken on purpose, one way each (-DQFS_MUTANT_NAME in
# libcommon/), to show that the suites catch it; --version and `strings`
# name the mutant. scripts/mutants says which suites must catch which.
MUTANTS = no-fifreeze no-thaw parents-first watchdog-no-thaw no-thaw-hook unheld-output bind-frozen all-alone \
           lock-around-freeze watchdog-exit-unread
build/qfs-mutant-%: $(SRC) $(HDR) build/applets.h | build/x86_64/kernel/linux
	$(CC_x86_64) $(filter-out -DQFS_VERSION=%,$(CFLAGS)) -DQFS_VERSION='"$(VERSION) QFS_MUTANT_$*"' \
		-DQFS_MUTANT_$(shell echo '$*' | tr a-z- A-Z_) $(call TARGET_FLAGS,x86_64) -o $@ $(SRC) $(LDFLAGS)

build/qfs-san: $(SRC) $(HDR) build/applets.h
	gcc $(SANFLAGS) -Ilibcommon -Ibuild -o $@ $(SRC)

# QFS32: the i386 build, which tests/sh/time.test runs natively (the
# kernel's 32-bit layer) beside x86_64's, when its cross compiler is here.
QFS32 = $(if $(shell command -v i686-linux-gnu-gcc),build/i386/qfs)

test: qfs build/qfs-fault $(QFS32)
	scripts/harness-selftest
	QFS=$(CURDIR)/qfs QFS_FAULT=$(CURDIR)/build/qfs-fault $(if $(QFS32),QFS32=$(CURDIR)/$(QFS32)) \
		scripts/runtest.sh tests/sh/*.test

sanitize-test: build/qfs-san build/qfs-fault
	QFS=$(CURDIR)/build/qfs-san QFS_FAULT=$(CURDIR)/build/qfs-fault QFS_STATIC=$(CURDIR)/build/qfs-fault QFS_SANITIZED=1 \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
	scripts/runtest.sh tests/sh/*.test

# Every mutant must fail the suites that should catch it (needs root).
mutants: qfs build/qfs-fault $(MUTANTS:%=build/qfs-mutant-%)
	scripts/mutants $(MUTANTS)

demo: qfs
	scripts/demo ./qfs

# The other architectures' binaries are built when their compilers are
# here, for their sizes beside x86_64's.
CROSS_BUILT = $(foreach a,$(filter-out x86_64,$(ARCHES)),$(if $(shell command -v $(firstword $(CC_$a))),build/$a/qfs))

bench: qfs $(CROSS_BUILT)
	scripts/bench ./qfs

# Boots Debian's kernel under qemu with an initramfs holding only qfs and
# busybox, and freezes a virtio disk there (see scripts/vmtest).
vmtest: qfs
	scripts/vmtest ./qfs

# The freeze tests on ARCH's own Debian kernel under qemu-system (x86_64,
# aarch64, armhf, i386, s390x): scripts/archtest fetches that kernel and
# busybox-static with apt-get download into build/archtest/ARCH, and builds
# its unix socket client (tests/arch/unixcat.c) with ARCH's compiler.
ARCHTEST_QFS = $(if $(filter-out x86_64,$(or $(ARCH),x86_64)),build/$(ARCH)/qfs,qfs)
archtest: $(ARCHTEST_QFS)
	ARCHTEST_CC='$(CC_$(or $(ARCH),x86_64))' scripts/archtest $(or $(ARCH),x86_64) $(ARCHTEST_QFS)
.PHONY: archtest

# A real libvirt drives `qfs agent` in such a guest: virsh domfsfreeze,
# domfsthaw, a quiesced snapshot (see scripts/agenttest). Root; starts and
# stops its own libvirtd unless one runs.
agenttest: qfs
	scripts/agenttest ./qfs

# `qfs agent -m hyperv` in such a guest against tests/hv/hvvss.c, a CUSE
# server that emulates the kernel's /dev/vmbus/hv_vss and plays the Hyper-V
# host; Debian's hv_vss_daemon answers the same script where it can be had
# (see scripts/hvtest). glibc's static link: musl has no <linux/fuse.h>.
hvtest: qfs build/hvvss
	scripts/hvtest ./qfs build/hvvss

build/hvvss: tests/hv/hvvss.c
	@mkdir -p build
	gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o $@ $<

# install: qfs, its man page, and links only under names no other software is
# known to ship: fsthaw, mountlist, decode-mntname (those built). freeze, thaw
# and status are too generic for a system directory (Fedora's freeze
# compressor, upstart's status): they stay "qfs freeze" and so on. fsfreeze
# stands for util-linux's, so only with FSFREEZE=1. A file that is not already
# a link to qfs is never replaced, and uninstall removes only links to qfs.
sbindir    = $(PREFIX)/sbin
man8dir    = $(PREFIX)/share/man/man8
SAFE_LINKS = fsthaw mountlist decode-mntname
LINKS      = $(filter $(SAFE_LINKS) $(if $(filter 1,$(FSFREEZE)),fsfreeze),$(APPLETS))

install: $(BIN) doc/qfs.8
	@for a in $(LINKS); do l=$(DESTDIR)$(sbindir)/$$a; \
		if { [ -e $$l ] || [ -L $$l ]; } && [ "$$(readlink $$l)" != qfs ]; then \
			echo "make install: $$l exists and is not a link to qfs: not replaced" >&2; exit 1; \
		fi; done
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(man8dir)
	install -m 755 $(BIN) $(DESTDIR)$(sbindir)/qfs
	install -m 644 doc/qfs.8 $(DESTDIR)$(man8dir)/qfs.8
	for a in $(LINKS); do ln -sfn qfs $(DESTDIR)$(sbindir)/$$a || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(sbindir)/qfs $(DESTDIR)$(man8dir)/qfs.8
	for a in $(SAFE_LINKS) fsfreeze; do l=$(DESTDIR)$(sbindir)/$$a; \
		[ "$$(readlink $$l)" != qfs ] || rm -f $$l; done

clean:
	rm -rf qfs build

# deb: the Debian packages qfs and qfs-agent (debian/), in build/deb/.
# dpkg-buildpackage runs on a copy of the tree in build/deb/src, so neither
# the tree nor its parent directory gets its by-products. debtest: lintian,
# the unit, the agents' hand-over, install, initramfs, purge (scripts/debtest).
deb:
	rm -rf build/deb && mkdir -p build/deb/src/qfs
	tar -cf - --exclude=./build --exclude=./.git --exclude=./qfs . | tar -C build/deb/src/qfs -xf -
	cd build/deb/src/qfs && dpkg-buildpackage -b -us -uc
	mv build/deb/src/*.deb build/deb/src/*.changes build/deb/src/*.buildinfo build/deb/
	rm -rf build/deb/src

debtest: deb
	scripts/debtest build/deb

FORCE:
.PHONY: FORCE all vmtest agenttest hvtest test sanitize-test mutants demo bench install uninstall clean deb debtest

# Fuzzing with libFuzzer (clang): each target replays its regression inputs,
# then runs FUZZ_SECONDS; any crash, leak or sanitizer report fails.
# `make -j2 fuzz` runs two at a time.
FUZZ_SECONDS = 30
FUZZ_TARGETS = mountinfo-line mountinfo-file mounts-file decode json agent
FUZZ_FLAGS   = -std=c11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LIB     = libcommon/mnt.c libcommon/parse.c libcommon/read.c libcommon/decode.c libcommon/out.c \
               libcommon/err.c libcommon/opt.c libcommon/fs.c libcommon/json.c libcommon/sig.c libcommon/hook.c \
               libcommon/path.c libcommon/guest.c tests/fuzz/support.c

build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_LIB) $(HDR)
	@mkdir -p build/fuzz
	clang $(FUZZ_FLAGS) -Ilibcommon -o $@ $< $(FUZZ_LIB)

fuzz: $(FUZZ_TARGETS:%=fuzz-%)

fuzz-%: build/fuzz/%
	@scripts/fuzz-run $< $(FUZZ_SECONDS)

.PRECIOUS: build/fuzz/%
.PHONY: fuzz

# Static checks: cppcheck and clang-tidy (.clang-tidy) report nothing, and
# clang-format (.clang-format) would change nothing; `make -k lint` shows
# all three. QFS_ALLOC so that the allocator is checked too; cppcheck 2.10
# does not know C11's _Noreturn.
LINT_SRC   = $(wildcard libcommon/*.c applets/*.c tests/fuzz/*.c)
LINT_FLAGS = -std=c11 -D_GNU_SOURCE -DQFS_ALLOC -Ilibcommon -Ibuild

# clang-tidy's own summary ("N warnings generated") counts what it found and
# suppressed in system headers; what matters is the findings in qfs's files.
lint: cppcheck tidy format-check
	@echo "lint: $$(cat build/tidy.count) findings in qfs's own files (cppcheck, clang-tidy, clang-format)"

cppcheck: build/applets.h
	cppcheck -q --std=c11 --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
		-D_GNU_SOURCE -DQFS_ALLOC '-D_Noreturn=__attribute__((noreturn))' -I libcommon -I build $(LINT_SRC)

tidy: build/applets.h
	@clang-tidy --quiet $(LINT_SRC) -- $(LINT_FLAGS) >build/tidy.log 2>&1; rc=$$?; \
	grep -cE '^[^ ]*(libcommon|applets|tests)/[^ :]*:[0-9]+:[0-9]+: (warning|error):' build/tidy.log >build/tidy.count; \
	grep -v 'warnings generated' build/tidy.log; \
	echo "clang-tidy: $$(cat build/tidy.count) findings in qfs's own files"; exit $$rc

format-check:
	clang-format --dry-run -Werror $(LINT_SRC) $(wildcard libcommon/*.h tests/fuzz/*.h)

.PHONY: lint cppcheck tidy format-check
