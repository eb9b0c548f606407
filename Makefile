# qfs: one static binary. `make`, `make test`, `make demo` (root), `make help`.
VERSION  = 0.1.0
CC       = musl-gcc
CFLAGS   = -std=c11 -Os -Wall -Wextra -Werror -D_GNU_SOURCE -DQFS_VERSION='"$(VERSION)"' \
           -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
           -fno-stack-protector -fno-ident
LDFLAGS  = -static -s -Wl,--gc-sections -Wl,--build-id=none
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

all: qfs

# The applet table is generated, so the list lives in one place; it is
# rewritten only when the selection changes.
build/applets.h: FORCE
	@mkdir -p build
	@$(APPLET_LINES) | awk '{f = $$2; gsub("-", "_", f); printf "APPLET(\"%s\", %s)\n", $$1, f}' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

qfs: $(SRC) $(HDR) build/applets.h
	$(CC) $(CFLAGS) -Ilibcommon -Ibuild -o $@ $(SRC) $(LDFLAGS)

# Test-only builds: never installed, never the release binary.
build/qfs-fault: $(SRC) $(HDR) build/applets.h
	$(CC) $(CFLAGS) -DQFS_FAULT_INJECTION -Ilibcommon -Ibuild -o $@ $(SRC) $(LDFLAGS)

build/qfs-san: $(SRC) $(HDR) build/applets.h
	gcc $(SANFLAGS) -Ilibcommon -Ibuild -o $@ $(SRC)

test: qfs build/qfs-fault
	QFS=$(CURDIR)/qfs QFS_FAULT=$(CURDIR)/build/qfs-fault scripts/runtest.sh tests/sh/*.test

sanitize-test: build/qfs-san build/qfs-fault
	QFS=$(CURDIR)/build/qfs-san QFS_FAULT=$(CURDIR)/build/qfs-fault QFS_STATIC=$(CURDIR)/build/qfs-fault QFS_SANITIZED=1 \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
	scripts/runtest.sh tests/sh/*.test

demo: qfs
	scripts/demo ./qfs

bench: qfs
	scripts/bench ./qfs

install: qfs
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 755 qfs $(DESTDIR)$(PREFIX)/sbin/qfs
	for a in $(APPLETS); do ln -sf qfs $(DESTDIR)$(PREFIX)/sbin/$$a; done

uninstall:
	for a in qfs $(APPLETS); do rm -f $(DESTDIR)$(PREFIX)/sbin/$$a; done

clean:
	rm -rf qfs build

FORCE:
.PHONY: FORCE all test sanitize-test demo bench install uninstall clean
