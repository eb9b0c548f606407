/* The freeze/thaw engine: one descriptor per filesystem, opened once and
 * proven to be the mount the table named. */
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "qfs.h"

#ifndef FIFREEZE
#define FIFREEZE _IOWR('X', 119, int)
#define FITHAW _IOWR('X', 120, int)
#endif

#ifdef QFS_FAULT_INJECTION
#include <stdlib.h>
/* Test builds only: the Nth call at a fault point fails, N from the
 * environment. The release binary has none of this (a test checks). */
int fault_hit(const char *var)
{
	static unsigned calls[8];
	const char *v = getenv(var);
	unsigned slot = (unsigned)strlen(var) % 8;
	return v && (unsigned)atoi(v) == ++calls[slot];
}
#endif

/* The mount id of path relative to dirfd ("" for dirfd itself; a symbolic
 * link is followed): statx (Linux 5.8), else name_to_handle_at, as qemu-ga
 * does. */
int mount_id_at(int dirfd, const char *path, unsigned long long *id)
{
	struct statx sx = {0};
	int flags = *path ? 0 : AT_EMPTY_PATH;
	/* the system call: musl before 1.2.5 has no statx(); its arguments
	 * and struct statx are the same on every architecture */
	if (syscall(SYS_statx, dirfd, path, flags, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID)) {
		*id = sx.stx_mnt_id;
		return 0;
	}
	struct {
		struct file_handle fh;
		unsigned char room[128];
	} h;
	int mid;
	h.fh.handle_bytes = sizeof(h.room);
	if (name_to_handle_at(dirfd, path, &h.fh, &mid, *path ? AT_SYMLINK_FOLLOW : flags) && errno != EOVERFLOW)
		return -1;
	*id = (unsigned)mid;
	return 0;
}

/* Opens m's mount point without following a symlink planted there, and
 * checks that what opened is still that mount (it may have been moved or
 * replaced since the table was read): by mount id where the kernel tells
 * it, else by device (btrfs files show a subvolume's device, not the
 * table's, so major 0 cannot be checked that way). */
int fs_open(const struct mtab *t, struct mnt *m)
{
	struct stat st;
	unsigned long long id;
	int fd = open(m->target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		complain_errno(m->target, NULL);
		return -1;
	}
#ifdef QFS_FAULT_INJECTION
	if (fault_hit("QFS_FAULT_MOVED"))
		m->id++;
#endif
	int same = !t->info ||
		   (!mount_id_at(fd, "", &id) ? id == m->id
					      : !fstat(fd, &st) && (!m->maj || st.st_dev == makedev(m->maj, m->min)));
	if (!same) {
		close(fd);
		complain(m->target, "mount changed since the table was read", NULL);
		return -1;
	}
	m->fd = fd;
	return 0;
}

int fs_freeze(int fd)
{
#ifdef QFS_MUTANT_NO_FIFREEZE
	return 0; /* make mutants: claims success, freezes nothing */
#endif
	return ioctl(fd, FIFREEZE, 0);
}

/* A filesystem can be frozen more than once: thaw until the kernel says it
 * is not frozen (EINVAL). Returns how many thaws it took, or -1. */
int fs_unfreeze(int fd)
{
	return ioctl(fd, FITHAW, 0);
}

int fs_thaw(int fd)
{
#ifdef QFS_MUTANT_NO_THAW
	return 1; /* make mutants: says thawed, thaws nothing */
#endif
	int n = 0;
	while (fs_unfreeze(fd) == 0)
		n++;
	return errno == EINVAL ? n : -1;
}

/* The kth mount in freeze order, children before parents: the reverse of
 * the preorder. */
struct mnt *fs_nth(const struct mtab *t, size_t k)
{
#ifdef QFS_MUTANT_PARENTS_FIRST
	return &t->m[t->order[k]]; /* make mutants: the preorder itself */
#endif
	return &t->m[t->order[t->n - 1 - k]];
}

/* Eligible mounts, in freeze order. */
size_t fs_plan(const struct mtab *t, struct mnt **list)
{
	size_t n = 0;
	for (size_t k = 0; k < t->n; k++)
		if (!fs_nth(t, k)->skip)
			list[n++] = fs_nth(t, k);
	return n;
}

static void say(const char *what, const char *target, const char *why)
{
	out_str(&qout, what);
	out_escaped(&qout, target);
	if (why) {
		out_str(&qout, ": ");
		out_str(&qout, why);
	}
	out_chr(&qout, '\n');
}

/* "N filesystems thawed" */
void fs_count(size_t n, const char *what)
{
	out_num(&qout, n);
	out_str(&qout, " filesystems ");
	out_str(&qout, what);
	out_chr(&qout, '\n');
}

static void text_num(const char *s, int64_t v)
{
	out_str(&qout, s);
	out_num(&qout, (unsigned long long)v);
}

/* -v's count: "4 filesystems frozen in 12 ms (flushed first in 640 ms), 4 at
 * once". */
void fs_frozen_count(size_t n, int64_t frozen_ms, int flushed, int64_t flush_ms, size_t foreign, size_t at_once)
{
	out_num(&qout, n);
	text_num(" filesystems frozen in ", frozen_ms);
	if (flushed)
		text_num(flushed > 1 ? " ms (flush timed out after " : " ms (flushed first in ", flush_ms);
	out_str(&qout, flushed ? " ms)" : " ms");
	if (at_once > 1) {
		text_num(", ", (int64_t)at_once);
		out_str(&qout, " at once");
	}
	if (foreign)
		text_num(", ", (int64_t)foreign);
	out_str(&qout, foreign ? " frozen by another program\n" : "\n");
}

static int thaw_failed(const struct mnt *m)
{
	complain_errno(m->target, NULL);
	return -1;
}

/* Thaws list (in freeze order) parents first: the ones this process froze,
 * or with all set every open one. One FITHAW each first, so that no writer
 * waits for another filesystem's second ioctl; then, on the ones that
 * thawed, FITHAW until the kernel says they are no longer frozen (frozen
 * twice, thawed fully). Returns how many were thawed in *count, and -1 when
 * one failed (the rest are thawed all the same). */
int fs_thaw_list(struct mnt **list, size_t n, int all, int verbose, size_t *count)
{
	int rc = 0;
	*count = 0;
	for (size_t i = n; i-- > 0;) {
		struct mnt *m = list[i];
		if (m->fd < 0 || !(all || m->frozen == FS_FROZEN))
			continue;
		m->frozen = 0;
		if (fs_unfreeze(m->fd) == 0)
			m->frozen = FS_THAWING; /* thawed once: finished below */
		else if (errno != EINVAL)
			rc = thaw_failed(m);
	}
	for (size_t i = n; i-- > 0;) {
		struct mnt *m = list[i];
		if (m->frozen != FS_THAWING)
			continue;
		m->frozen = 0;
		if (fs_thaw(m->fd) < 0)
			rc = thaw_failed(m);
		++*count;
		if (verbose)
			say("thawed ", m->target, NULL);
	}
	return rc;
}

/* -v's lines: "frozen /a", "skipped /b: bind". */
void fs_said(const char *what, const struct mnt *m)
{
	say(what, m->target, NULL);
}

void fs_skipped(const struct mnt *m, const char *why)
{
	say("skipped ", m->target, why);
}
