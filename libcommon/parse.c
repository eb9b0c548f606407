/* The mount table's parser: /proc/self/mountinfo (or /proc/self/mounts
 * when there is none) read a chunk at a time, each line split in place and
 * only the names kept. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "qfs.h"

enum { NAMES_BLOCK = 1 << 16 };

/* A line being split into fields, in place. */
struct scan {
	char *p;    /* where the next field starts */
	char *stop; /* the end of the data; a NUL byte before it is an error */
	char *f;    /* the field read last, NUL-terminated */
	size_t len;
	int odd; /* f holds a byte that decoding or escaping changes */
	int eol; /* the line has no more fields */
	int nul; /* it held a NUL byte */
};

/* Reads the next field: up to a space, or the line's end (a newline, with
 * any CR before it). Returns -1 past the last field. */
static int next(struct scan *s)
{
	char *f = s->p, *e = f;
	if (s->eol)
		return -1;
	s->odd = 0;
	for (;; e++) {
		e = escape_next(e);
		if (*e == ' ' || *e == '\n' || !*e)
			break;
		s->odd = 1;
	}
	s->f = f;
	s->p = e + 1;
	if (*e != ' ') {
		s->eol = 1;
		s->nul = !*e && e != s->stop;
		if (e > f && e[-1] == '\r')
			e--;
	}
	*e = 0;
	s->len = (size_t)(e - f);
	return 0;
}

/* A number up to 2^32-1 and the byte after it, sep (numbers lead a line,
 * so it has not ended yet). */
static int number(struct scan *s, unsigned *v, char sep)
{
	unsigned long long n;
	const char *end = scan_uint(s->p, UINT_MAX, &n);
	if (!end || *end != sep)
		return -1;
	*v = (unsigned)n;
	s->p = (char *)end + 1;
	return 0;
}

/* A block for len bytes and more; a slow path kept apart, or inlined it
 * would slow every name down. */
__attribute__((noinline)) static int new_block(struct mtab *t, size_t len)
{
	size_t size = len < NAMES_BLOCK ? NAMES_BLOCK : len + 1;
	struct names *b = malloc(sizeof(*b) + size);
	if (!b)
		return -1;
	b->prev = t->blocks;
	t->blocks = b;
	t->names = b->s;
	t->left = size;
	return 0;
}

/* A copy of the field as m's k-th name, in a block of names that never
 * moves (the table grows while mounts point into it). Decoded unless it is
 * the options: a "\054" there would split them. */
static int keep(struct mtab *t, struct scan *s, struct mnt *m, int k)
{
	if (next(s) || (t->left <= s->len && new_block(t, s->len)))
		return -1;
	m->name[k] = memcpy(t->names, s->f, s->len + 1);
	size_t len = s->odd && k != NAME_OPTS ? decode_mntname(m->name[k]) : s->len;
	m->len[k] = (unsigned)len;
	m->plain |= (unsigned char)(!s->odd << k);
	t->names += len + 1;
	t->left -= len + 1;
	return 0;
}

/* Does a superblock's option list say read-only? The kernel writes "ro"
 * or "rw" first, in both formats, so the rest need not be read. */
static int ro_first(const char *o)
{
	return o[0] == 'r' && o[1] == 'o' && (o[2] == ',' || (unsigned char)o[2] <= ' ');
}

/* Skips what is left of the line, fields no one asks for, at the pace of
 * libc's word-at-a-time search. */
static void skip_line(struct scan *s)
{
	char *e;
	if (s->eol)
		return;
	e = strchrnul(s->p, '\n');
	s->nul = !*e && e != s->stop;
	s->p = e + 1;
	s->eol = 1;
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
 * The root (/mnt1) is not kept: nothing asks for it. */
static int parse_mountinfo(struct mtab *t, struct mnt *m, struct scan *s)
{
	unsigned *num[] = {&m->id, &m->parent, &m->maj, &m->min};
	static const char sep[] = {' ', ' ', ':', ' '};
	for (int i = 0; i < 4; i++)
		if (number(s, num[i], sep[i]))
			return -1;
	if (next(s) || keep(t, s, m, NAME_TARGET) || (t->opts ? keep(t, s, m, NAME_OPTS) : next(s)))
		return -1;
	do
		if (next(s))
			return -1;
	while (s->len != 1 || *s->f != '-');
	if (keep(t, s, m, NAME_FSTYPE) || keep(t, s, m, NAME_SOURCE) || s->eol)
		return -1;
	m->ro = (unsigned char)ro_first(s->p);
	return 0;
}

/* "/dev/root / ext4 rw,relatime 0 0": device numbers come from the source
 * device node, as qemu-ga does; a directory source is a bind mount. */
static int parse_mounts(struct mtab *t, struct mnt *m, struct scan *s)
{
	struct stat st;
	if (keep(t, s, m, NAME_SOURCE) || keep(t, s, m, NAME_TARGET) || keep(t, s, m, NAME_FSTYPE) ||
	    keep(t, s, m, NAME_OPTS))
		return -1;
	m->ro = (unsigned char)ro_first(m->opts);
	if (stat(m->source, &st) == 0 && S_ISBLK(st.st_mode)) {
		m->maj = major(st.st_rdev);
		m->min = minor(st.st_rdev);
	} else if (stat(m->source, &st) == 0 && S_ISDIR(st.st_mode)) {
		m->fixed = SKIP_BIND;
	}
	return 0;
}

/* A mountinfo line starts with a mount id and has a " - " separator. The
 * first line that is not blank decides for the whole table. */
static int is_mountinfo(const char *s)
{
	if (*s < '0' || *s > '9')
		return 0;
	for (; *s && *s != '\n'; s++)
		if (!strncmp(s, " - ", 3))
			return 1;
	return 0;
}

static void malformed(const char *file, size_t line)
{
	out_str(&qerr, applet_name);
	out_str(&qerr, ": ");
	out_oneline(&qerr, file);
	out_chr(&qerr, ':');
	out_num(&qerr, line);
	out_str(&qerr, ": malformed mount table line\n");
	out_flush(&qerr);
}

/* The filesystem behind a mount. Major 0 (btrfs, and any anonymous
 * device) says nothing: stat the source's device node, as qemu-ga does. */
static dev_t fs_dev(const struct mnt *m)
{
	struct stat st;
	if (!m->maj && m->source[0] == '/' && !stat(m->source, &st) && S_ISBLK(st.st_mode))
		return st.st_rdev;
	return makedev(m->maj, m->min);
}

/* The length of a blank line at p: "\n", "\r\n", or a last "\r"; or 0. */
static size_t blank(const char *p, const char *stop)
{
	if (*p == '\n')
		return 1;
	return *p == '\r' && (p[1] == '\n' || p + 1 == stop) ? 2 : 0;
}

/* One line at s->p; the kernel shows only the mount points it can reach
 * from the process's root, as absolute paths: a line without one is not a
 * mount, whatever it parses as. */
static int parse_line(struct mtab *t, struct scan *s)
{
	struct mnt *m;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		m = realloc(t->m, cap * sizeof(*m));
		if (!m)
			return -1;
		t->m = m;
		t->cap = cap;
	}
	m = memset(&t->m[t->n], 0, sizeof(*m));
	if (t->info ? parse_mountinfo(t, m, s) : parse_mounts(t, m, s))
		return -1;
	skip_line(s); /* the superblock's options, or "0 0" in mounts format */
	if (s->nul || m->target[0] != '/')
		return -1;
	m->dev = fs_dev(m);
	m->fd = -1;
	t->n++;
	return 0;
}

/* Parses the lines in buf, len bytes and a NUL: those that end in a
 * newline, and at eof the last one too. Returns the bytes used (the rest
 * is a line to be continued), or -1 after a message. */
long mtab_feed(struct mtab *t, char *buf, size_t len, int eof, const char *file)
{
	char *end = eof ? buf + len : memrchr(buf, '\n', len);
	struct scan s = {.p = buf, .stop = buf + len};
	if (!end)
		return 0;
	while (s.p < end) {
		t->line++;
		size_t skip = blank(s.p, s.stop);
		if (skip) {
			s.p += skip;
			continue;
		}
		if (t->info < 0)
			t->info = is_mountinfo(s.p);
		s.eol = 0;
		if (parse_line(t, &s)) {
			skip_line(&s); /* a NUL byte further on is the better message */
			if (s.nul)
				complain(file, "NUL byte in mount table", NULL);
			else
				malformed(file, t->line);
			return -1;
		}
	}
	return eof ? (long)len : end + 1 - buf;
}

void mtab_init(struct mtab *t, int opts)
{
	memset(t, 0, sizeof(*t)); /* mtab_free works whatever fails */
	t->info = -1;
	t->opts = opts;
}

/* A whole table in buf, len bytes and a NUL, split in place (the fuzzers'
 * way in). */
int mtab_parse(struct mtab *t, char *buf, size_t len, const char *name)
{
	mtab_init(t, 1);
	return mtab_feed(t, buf, len, 1, name) < 0 ? -1 : mtab_finish(t);
}

/* file: a table to read (-F), or NULL for this process's own; opts: keep
 * each mount's options (mountinfo's per-mount ones are only for showing).
 * Read a chunk at a time and only the names kept, memory goes with what is
 * listed, not with the size of the file. */
int mtab_read(struct mtab *t, const char *file, int opts)
{
	const char *name = file ? file : "/proc/self/mountinfo";
	size_t cap = 0, have = 0, total = 0;
	char *buf = NULL;
	ssize_t r;
	long used = 0;
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	mtab_init(t, opts);
	if (fd < 0 && !file) {
		name = "/proc/self/mounts";
		fd = open(name, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		complain_errno(file ? file : "cannot read /proc/self/mountinfo or /proc/self/mounts", NULL);
		return -1;
	}
	for (;;) {
		r = read_more(fd, &buf, &cap, have);
		if (r > 0 && (total += (size_t)r) > READ_MAX) { /* an endless stream */
			errno = EFBIG;
			r = -1;
		}
		if (r < 0) {
			complain_errno(name, NULL);
			break;
		}
		used = mtab_feed(t, buf, have += (size_t)r, !r, name);
		if (used < 0 || !r)
			break;
		memmove(buf, buf + used, have -= (size_t)used);
	}
	close(fd);
	free(buf);
	return r < 0 || used < 0 ? -1 : mtab_finish(t);
}
