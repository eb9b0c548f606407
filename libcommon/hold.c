/* Holds: one file per freeze that keeps filesystems frozen, in
 * $QFS_STATE_DIR, read and changed only under an exclusive flock of its
 * lock file. The lock guards that bookkeeping and nothing else: it is never
 * held across a freeze, a thaw, the open of a mount point or a child, so a
 * FIFREEZE that waits on another freeze never keeps that freeze (or the
 * emergency brake) from ending. A hold that is freezing or thawing says so
 * (its state): a freeze that wants one of its filesystems waits for it to
 * settle instead of holding the lock meanwhile. A hold is removed by its
 * owner without the lock (unlink is atomic; readers skip one that went).
 * A filesystem is thawed only when no live hold lists it, so freezes that
 * overlap never thaw each other. A hold is written to a temporary file and
 * renamed, so a reader never sees half of one. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h> /* renameat */
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "qfs.h"

const char *const hold_kinds[] = {"plain", "timeout", "cmd", "hold"};
/* the order of enum hold_value */
static const char *const keys[] = {"pid", "start", "time", "deadline", "watchdog", "wdstart", "frozen_ms", "state"};

const char *state_dir(void)
{
	const char *d = getenv("QFS_STATE_DIR");
	if (!d || !*d)
		return "/run/qfs";
	/* checked by freeze, thaw and status first thing: no watchdog or
	 * agent (which only starts freeze) gets here with a bad one */
	if (*d != '/')
		die("QFS_STATE_DIR", d, "not an absolute path");
	return d;
}

/* The state directory, or its parent when it does not exist yet: where
 * writing a hold would land. */
const char *state_existing_dir(char *buf, size_t size)
{
	const char *d = state_dir();
	char *slash;
	if (!access(d, F_OK) || strlen(d) >= size)
		return d;
	strcpy(buf, d);
	slash = strrchr(buf, '/');
	slash[slash == buf] = 0;
	return buf;
}

/* When pid started (field 22 of /proc/PID/stat, clock ticks since boot),
 * so that a reused pid is not taken for the process that had it; 0 when
 * there is no such process, or only its zombie. */
unsigned long long proc_start(unsigned long long pid)
{
	char path[48], buf[512], num[24], *p;
	unsigned long long v;
	ssize_t r = -1;
	int fd;
	num[23] = 0;
	stpcpy(stpcpy(stpcpy(path, "/proc/"), fmt_uint(num + 23, pid)), "/stat");
	if (pid && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (r <= 0)
		return 0;
	buf[r] = 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0; /* a zombie is gone, whoever has yet to reap it */
	for (int i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	return p && scan_uint(p + 1, ~0ull, &v) ? v : 0;
}

static int alive(unsigned long long pid, unsigned long long start)
{
	return pid && start && proc_start(pid) == start;
}

/* Only what root or the caller wrote decides what is frozen and thawed. */
static int trusted(int fd, const char *name)
{
	struct stat st;
	const char *d = state_dir();
	if (fstat(fd, &st)) {
		complain(d, name, errstr(errno));
		return 0;
	}
	if ((st.st_uid && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		complain(d, name, "not trusted: owned by another user, or writable by group or others");
		return 0;
	}
	return 1;
}

/* k such that names[k] is s, or n when none is. */
static size_t lookup(const char *const *names, size_t n, const char *s)
{
	size_t k = 0;
	while (k < n && strcmp(names[k], s) != 0)
		k++;
	return k;
}

/* "fs DEV ID /escaped/target" */
static int parse_fs(struct hold *h, char *s, size_t *cap)
{
	struct holdfs f;
	const char *q = scan_uint(s, ~0ull, &f.dev);
	if (!q || *q != ' ' || !(q = scan_uint(q + 1, ~0ull, &f.id)) || q[0] != ' ' || q[1] != '/')
		return -1;
	f.target = s + (q + 1 - s);
	decode_mntname(f.target);
	if (h->n == *cap) {
		struct holdfs *fs = realloc(h->fs, (*cap = 2 * *cap + 4) * sizeof(*h->fs));
		if (!fs)
			return -1;
		h->fs = fs;
	}
	h->fs[h->n++] = f;
	return 0;
}

/* "key value" lines: kind, the numbers, one fs line per filesystem. */
static int hold_parse(struct hold *h)
{
	size_t cap = 0, k;
	h->kind = NKINDS;
	for (char *p = h->buf; *p;) {
		char *line = p, *nl = strchr(p, '\n'), *sp = strchr(p, ' ');
		if (!nl || !sp || sp > nl)
			return -1;
		*nl = *sp++ = 0;
		p = nl + 1;
		if (!strcmp(line, "kind")) {
			h->kind = (int)lookup(hold_kinds, NKINDS, sp);
			continue;
		}
		if (!strcmp(line, "fs")) {
			if (parse_fs(h, sp, &cap))
				return -1;
			continue;
		}
		k = lookup(keys, NVALUES, line);
		if (k == NVALUES || parse_uint(sp, ~0ull, &h->v[k]))
			return -1;
	}
	return h->kind == NKINDS || !h->v[H_PID] ? -1 : 0;
}

static int hold_read(struct holds *hs, const char *name, struct hold *h)
{
	int fd = openat(hs->dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t cap = 0, len = 0;
	ssize_t r;
	memset(h, 0, sizeof(*h));
	strcpy(h->name, name);
	if (fd < 0 && errno == ENOENT)
		return 1; /* removed by its owner since the directory was read */
	if (fd < 0) {
		complain(state_dir(), name, errstr(errno));
		return -1;
	}
	if (!trusted(fd, name)) {
		close(fd);
		return -1;
	}
	while ((r = read_more(fd, &h->buf, &cap, len)) > 0)
		len += (size_t)r;
	close(fd);
	if (r < 0) {
		complain(state_dir(), name, errstr(errno));
		return -1;
	}
	if (strlen(h->buf) != len || hold_parse(h)) {
		complain(state_dir(), name, "malformed hold file");
		return -1;
	}
	return 0;
}

/* Every "hold.*" of the directory, read with getdents64 itself: opendir
 * would want a descriptor and an allocation more for the same names. */
static int holds_load(struct holds *hs)
{
	struct ent {
		unsigned long long ino, off;
		unsigned short len;
		unsigned char type;
		char name[];
	};
	unsigned long long raw[512]; /* aligned as the entries are */
	char *buf = (char *)raw;
	size_t cap = 0;
	long got;
	lseek(hs->dir, 0, SEEK_SET);
	while ((got = syscall(SYS_getdents64, hs->dir, buf, sizeof(raw))) > 0) {
		for (long at = 0; at < got; at += ((struct ent *)(buf + at))->len) {
			const char *name = ((struct ent *)(buf + at))->name;
			if (strncmp(name, "hold.", 5) != 0 || strlen(name) >= sizeof(hs->h->name))
				continue;
			if (hs->n == cap) {
				struct hold *h = realloc(hs->h, (cap = 2 * cap + 4) * sizeof(*hs->h));
				if (!h) {
					complain_errno(state_dir(), NULL);
					return -1;
				}
				hs->h = h;
			}
			int r = hold_read(hs, name, &hs->h[hs->n++]);
			if (r < 0)
				return -1;
			hs->n -= (size_t)r;
		}
	}
	if (got < 0)
		complain_errno(state_dir(), NULL);
	return got < 0 ? -1 : 0;
}

int hold_lists(const struct hold *h, unsigned long long dev)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (h->fs[i].dev == dev)
			return 1;
	return 0;
}

/* A live hold other than except that lists dev and is in one of the
 * states of mask (bit HOLD_KEPT, HOLD_FREEZING, HOLD_THAWING), or NULL.
 * Holds and freezes keep a filesystem frozen; a thawing hold does not. */
const struct hold *holds_with(const struct holds *hs, unsigned long long dev, const struct hold *except, int mask)
{
	for (size_t i = 0; i < hs->n; i++) {
		const struct hold *h = &hs->h[i];
		if (h != except && h->live && (mask >> h->v[H_STATE] & 1) && hold_lists(h, dev))
			return h;
	}
	return NULL;
}

const struct hold *holds_keeping(const struct holds *hs, unsigned long long dev, const struct hold *except)
{
	return holds_with(hs, dev, except, 1 << HOLD_KEPT | 1 << HOLD_FREEZING);
}

struct hold *holds_find(struct holds *hs, const char *name)
{
	for (size_t i = 0; i < hs->n; i++)
		if (hs->h[i].live && !strcmp(hs->h[i].name, name))
			return &hs->h[i];
	return NULL;
}

/* Thaws what f names if it is still that mount (the lock is not held:
 * the open and the thaw may wait). Returns how many it thawed. */
static size_t thaw_entry(const struct holdfs *f)
{
	static struct mnt m; /* only its descriptor and name are used */
	struct mnt *one = &m;
	unsigned long long id;
	size_t n = 0;
	if (!f->target || (m.fd = open(f->target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	m.target = f->target;
	if (!mount_id_at(m.fd, "", &id) && id == f->id)
		fs_thaw_list(&one, 1, 1, 0, &n);
	close(m.fd);
	return n;
}

/* A hold whose holder and watchdog are both gone (killed together, out of
 * memory) is stale. Under the lock, this process takes it over as a
 * thawing hold (a freeze that wants its filesystems waits) and marks what
 * no live hold keeps (target NULL: kept). Returns how many it took. */
static size_t holds_claim(struct holds *hs)
{
	size_t n = 0;
	for (size_t i = 0; i < hs->n; i++) {
		struct hold *h = &hs->h[i];
		/* its holder removes it before it exits: gone now, if it did */
		int fd = h->live ? -1 : openat(hs->dir, h->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		close(fd);
		h->dirty = 1;
		h->v[H_PID] = (unsigned long long)getpid();
		h->v[H_START] = proc_start(h->v[H_PID]);
		h->v[H_STATE] = HOLD_THAWING;
		hold_save(hs, h);
		n++;
	}
	for (size_t i = 0; i < hs->n; i++)
		for (size_t k = 0; hs->h[i].dirty && k < hs->h[i].n; k++)
			if (holds_keeping(hs, hs->h[i].fs[k].dev, NULL))
				hs->h[i].fs[k].target = NULL;
	return n;
}

/* The stale holds taken over, thawed (parents first: the reverse of the
 * freeze order they list) and removed, with the lock let go. */
static void holds_reap(struct holds *hs)
{
	holds_unlock(hs, NULL);
	for (size_t i = 0; i < hs->n; i++) {
		struct hold *h = &hs->h[i];
		unsigned long long n = 0;
		if (!h->dirty)
			continue;
		for (size_t k = h->n; k-- > 0;)
			n += thaw_entry(&h->fs[k]);
		hold_drop(hs, h);
		complain(h->name, "its holder and watchdog are gone", "stale freeze removed");
		kmsg("stale freeze cleanup", n, h->name, 0);
	}
}

/* The lock, within about 2 s when brief (the emergency brake, a watchdog:
 * a lock holder that is stopped or hung must not keep them from thawing).
 * Returns 0, 1 when the time ran out, -1 on an error. */
static int lock_wait(int fd, int brief)
{
	for (int i = 0; flock(fd, LOCK_EX | (brief ? LOCK_NB : 0)); i++) {
		if (errno != EINTR && errno != EWOULDBLOCK)
			return -1;
		if (i == 200)
			return 1;
		if (brief)
			poll(NULL, 0, 10);
	}
	return 0;
}

static int holds_lock(struct holds *hs, int flags);

/* Opens the state directory (made with HOLDS_CREATE, else none means no
 * holds), takes the lock (HOLDS_BRIEF: within about 2 s), reads every hold
 * and thaws and removes the stale ones. Returns 0, with the lock held (or
 * no state directory: lock -1); -1, said, when the holds cannot be trusted
 * or read; 1, said, when the lock was not had in time. */
int holds_open(struct holds *hs, int flags)
{
	for (int pass = 0;; pass++) {
		int rc = holds_lock(hs, flags);
		/* one that could not be removed stays stale: not live, ignored */
		if (rc || hs->lock < 0 || pass || !holds_claim(hs))
			return rc;
		holds_reap(hs);
		holds_close(hs);
	}
}

static int holds_lock(struct holds *hs, int flags)
{
	const char *d = state_dir();
	int create = flags & HOLDS_CREATE, rc;
	memset(hs, 0, sizeof(*hs));
	hs->lock = -1;
	if (create && mkdir(d, 0700) && errno != EEXIST) {
		complain_errno(d, NULL);
		return -1;
	}
	hs->dir = open(d, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hs->dir >= 0 && !trusted(hs->dir, NULL))
		goto fail;
	if (hs->dir >= 0)
		hs->lock = openat(hs->dir, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	if (hs->lock < 0) {
		if (!create && errno == ENOENT) {
			holds_close(hs);
			return 0;
		}
		complain_errno(d, hs->dir < 0 ? NULL : "lock");
		goto fail;
	}
	rc = lock_wait(hs->lock, flags & HOLDS_BRIEF);
	if (rc)
		complain(d, "lock", rc < 0 ? errstr(errno) : "busy: holds left as they are");
	if (rc) {
		holds_close(hs);
		return rc;
	}
	if (!trusted(hs->lock, "lock") || holds_load(hs))
		goto fail;
	/* a plain freeze lives until thaw once made, not while being made */
	for (size_t i = 0; i < hs->n; i++) {
		struct hold *h = &hs->h[i];
		h->live = (h->kind == HOLD_PLAIN && !h->v[H_STATE]) || alive(h->v[H_PID], h->v[H_START]) ||
			  alive(h->v[H_WATCHDOG], h->v[H_WDSTART]);
	}
	return 0;
fail:
	holds_close(hs);
	return -1;
}

/* The lock let go; what was read stays, and the directory stays open for
 * hold_drop. A hold h (if any) says first that its filesystems are being
 * thawed: a freeze that wants one waits, a release does not count it. */
void holds_unlock(struct holds *hs, struct hold *h)
{
	if (h) {
		h->v[H_STATE] = HOLD_THAWING;
		hold_save(hs, h);
	}
	if (hs->lock >= 0)
		close(hs->lock);
	hs->lock = -1;
}

void holds_close(struct holds *hs)
{
	for (size_t i = 0; i < hs->n; i++) {
		free(hs->h[i].buf);
		free(hs->h[i].fs);
	}
	free(hs->h);
	if (hs->lock >= 0)
		close(hs->lock);
	if (hs->dir >= 0)
		close(hs->dir);
	memset(hs, 0, sizeof(*hs));
	hs->dir = hs->lock = -1;
}

int hold_save(struct holds *hs, const struct hold *h)
{
	char tmp[sizeof(h->name) + 4] = "tmp.";
	struct out o = {-1, 1, 0, 0, 0};
	int fd, ok;
	strcpy(tmp + 4, h->name);
	out_str(&o, "kind ");
	out_str(&o, hold_kinds[h->kind]);
	out_chr(&o, '\n');
	for (size_t k = 0; k < NVALUES; k++) {
		if (!h->v[k])
			continue;
		out_str(&o, keys[k]);
		out_chr(&o, ' ');
		out_num(&o, h->v[k]);
		out_chr(&o, '\n');
	}
	for (size_t i = 0; i < h->n; i++) {
		out_str(&o, "fs ");
		out_num(&o, h->fs[i].dev);
		out_chr(&o, ' ');
		out_num(&o, h->fs[i].id);
		out_chr(&o, ' ');
		out_escaped(&o, h->fs[i].target);
		out_chr(&o, '\n');
	}
	fd = openat(hs->dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	ok = fd >= 0 && o.buf && write(fd, o.buf, o.len) == (ssize_t)o.len;
	ok = fd >= 0 && !close(fd) && ok && !renameat(hs->dir, tmp, hs->dir, h->name);
	if (!ok) {
		complain(state_dir(), "cannot write a hold", errstr(errno));
		unlinkat(hs->dir, tmp, 0);
	}
	free(o.buf);
	return ok ? 0 : -1;
}

void hold_drop(struct holds *hs, struct hold *h)
{
	if (unlinkat(hs->dir, h->name, 0) && errno != ENOENT)
		complain(state_dir(), h->name, errstr(errno));
	h->live = 0;
}

/* Its watchdog must not thaw what a later freeze holds. */
void hold_disarm(const struct hold *h)
{
	if (alive(h->v[H_WATCHDOG], h->v[H_WDSTART]))
		kill((pid_t)h->v[H_WATCHDOG], SIGUSR2);
}
