/* The mount table: /proc/self/mountinfo parsed by hand (or /proc/self/mounts
 * when there is none), each mount judged eligible for freezing or not. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "qfs.h"

static const char *const skip_words[] = {
	"freeze", "network", "no-device", "dev", "read-only", "shadowed", "bind", "unselected",
};

const char *skip_word(int skip)
{
	return skip_words[skip];
}

/* Far more than any mount table (the kernel's default limit is 100,000
 * mounts): -F /dev/zero fails instead of taking all memory. */
enum { READ_MAX = 1 << 28 };

char *read_file(const char *name, size_t *len)
{
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	size_t cap = 65536, n = 0;
	char *buf = NULL;
	struct stat st;
	if (fd < 0)
		return NULL;
	/* a regular file says its size (proc files say 0): one read, no waste */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < READ_MAX)
		cap = (size_t)st.st_size + 2;
	for (;;) {
		if (cap - n < 2 && cap >= READ_MAX) {
			errno = EFBIG;
			break;
		}
		if (cap - n < 2)
			cap *= 2;
		char *b = realloc(buf, cap);
		if (!b)
			break;
		buf = b;
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r <= 0) {
			close(fd);
			if (r < 0) {
				free(buf);
				return NULL;
			}
			buf[n] = 0;
			*len = n;
			return buf;
		}
		n += (size_t)r;
	}
	close(fd);
	free(buf);
	return NULL;
}

/* The next space-separated field, NUL-terminated in place. */
static char *field(char **p)
{
	char *s = *p, *e;
	if (!s)
		return NULL;
	e = strchr(s, ' ');
	*p = e ? e + 1 : NULL;
	if (e)
		*e = 0;
	return s;
}

static int number(const char *s, unsigned *v)
{
	unsigned long long n;
	if (!s || parse_uint(s, UINT_MAX, &n))
		return -1;
	*v = (unsigned)n;
	return 0;
}

/* The kernel shows only the mount points it can reach from the process's
 * root, as absolute paths: a line without one is not a mount, whatever it
 * parses as (a mountinfo line without its " - " read as mounts format).
 * Other fields may well be odd: an empty source (mount -t tmpfs "" /x), a
 * root that is no path (nsfs's "net:[4026531992]"). */
static int sane(const struct mnt *m)
{
	return m->target[0] == '/';
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
static int parse_mountinfo(struct mnt *m, char *p)
{
	char *majmin, *colon, *f;
	if (number(field(&p), &m->id) || number(field(&p), &m->parent))
		return -1;
	majmin = field(&p);
	colon = majmin ? strchr(majmin, ':') : NULL;
	if (!colon)
		return -1;
	*colon = 0;
	if (number(majmin, &m->maj) || number(colon + 1, &m->min))
		return -1;
	m->root = field(&p);
	m->target = field(&p);
	m->opts = field(&p);
	do
		f = field(&p);
	while (f && strcmp(f, "-") != 0);
	m->fstype = field(&p);
	m->source = field(&p);
	m->sopts = field(&p);
	return m->sopts && sane(m) ? 0 : -1;
}

/* "/dev/root / ext4 rw,relatime 0 0": device numbers come from the source
 * device node, as qemu-ga does; a directory source is a bind mount. */
static int parse_mounts(struct mnt *m, char *p)
{
	struct stat st;
	m->source = field(&p);
	m->target = field(&p);
	m->fstype = field(&p);
	m->opts = field(&p);
	m->root = "/";
	m->sopts = m->opts;
	if (!m->opts || !sane(m))
		return -1;
	decode_mntname(m->source);
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
	while (*s == '\n' || *s == '\r')
		s++;
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

static size_t hash(unsigned long long v, size_t mask)
{
	return (size_t)((v * 0x9e3779b97f4a7c15ull) >> 20) & mask;
}

/* Parents before children, siblings in file order: a preorder walk of the
 * id/parent tree. File order is not tree order after mount --move. */
static int tree_order(struct mtab *t)
{
	size_t n = t->n, mask = 1, top = 0, k = 0;
	while (mask < 2 * n)
		mask <<= 1;
	size_t *slot = calloc(mask, sizeof(*slot));
	size_t *first = malloc(n * sizeof(*first) + 1);
	size_t *next = malloc(n * sizeof(*next) + 1);
	size_t *stack = malloc(2 * n * sizeof(*stack) + 1);
	unsigned char *seen = calloc(n + 1, 1);
	int rc = !slot || !first || !next || !stack || !seen ? -1 : 0;
	if (rc)
		goto out;
	mask--;
	for (size_t i = 0; i < n; i++) {
		size_t h = hash(t->m[i].id, mask);
		while (slot[h] && t->m[slot[h] - 1].id != t->m[i].id)
			h = (h + 1) & mask;
		if (!slot[h])
			slot[h] = i + 1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t h = hash(t->m[i].parent, mask);
		while (slot[h] && t->m[slot[h] - 1].id != t->m[i].parent)
			h = (h + 1) & mask;
		size_t p = slot[h] ? slot[h] - 1 : SIZE_MAX;
		t->m[i].up = p == i ? SIZE_MAX : p;
		first[i] = SIZE_MAX;
	}
	/* children lists in reverse file order, so that pushing them in list
	 * order pops them in file order */
	for (size_t i = 0; i < n; i++) {
		size_t p = t->m[i].up;
		if (p == SIZE_MAX)
			continue;
		next[i] = first[p];
		first[p] = i;
		if (!strcmp(t->m[i].target, t->m[p].target))
			t->m[p].fixed = SKIP_SHADOWED;
	}
	/* roots first, then whatever a cycle of parent links left unreached */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t r = 0; r < n; r++) {
			if (seen[r] || (pass == 0 && t->m[r].up != SIZE_MAX))
				continue;
			stack[top++] = r;
			while (top) {
				size_t x = stack[--top];
				if (seen[x])
					continue;
				seen[x] = 1;
				t->order[k++] = x;
				for (size_t c = first[x]; c != SIZE_MAX; c = next[c])
					stack[top++] = c;
			}
		}
	}
out:
	free(slot);
	free(first);
	free(next);
	free(stack);
	free(seen);
	return rc;
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

static int parse_all(struct mtab *t, const char *file)
{
	size_t lines = 1, line = 0;
	char *p = t->buf;
	t->info = is_mountinfo(p);
	for (const char *c = p; (c = strchr(c, '\n')); c++)
		lines++;
	t->m = calloc(lines, sizeof(*t->m));
	if (!t->m)
		return -1;
	while (p) {
		char *nl = strchr(p, '\n'), *line_start = p;
		size_t len;
		line++;
		if (nl)
			*nl = 0;
		p = nl ? nl + 1 : NULL;
		len = strlen(line_start);
		if (len && line_start[len - 1] == '\r')
			line_start[--len] = 0;
		if (!len)
			continue;
		struct mnt *m = &t->m[t->n];
		int bad = t->info ? parse_mountinfo(m, line_start) : parse_mounts(m, line_start);
		if (bad) {
			malformed(file, line);
			return -1;
		}
		/* the type too: a FUSE subtype may hold a space ("fuse.my\040fs");
		 * the options stay escaped, or "\054" would split them */
		decode_mntname(m->target);
		decode_mntname(m->fstype);
		if (t->info) {
			decode_mntname(m->root);
			decode_mntname(m->source);
		}
		m->dev = fs_dev(m);
		m->fd = -1;
		t->n++;
	}
	return 0;
}

static void identity_order(struct mtab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		t->order[i] = i;
		t->m[i].up = SIZE_MAX;
	}
}

/* Parses buf, len bytes and a terminating NUL, which becomes t's (freed by
 * mtab_free, even on failure). name is the file, for messages. */
int mtab_parse(struct mtab *t, char *buf, size_t len, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->buf = buf;
	if (memchr(buf, 0, len)) {
		complain(name, "NUL byte in mount table", NULL);
		return -1;
	}
	if (parse_all(t, name))
		return -1;
	t->order = malloc(t->n * sizeof(*t->order) + 1);
	if (!t->order)
		return -1;
	if (t->info ? tree_order(t) : (identity_order(t), 0))
		return -1;
	for (size_t k = 0; k < t->n; k++) {
		struct mnt *m = &t->m[t->order[k]];
		const struct mnt *up = m->up == SIZE_MAX ? NULL : &t->m[m->up];
		/* what is mounted under a covered mount is out of reach too, except
		 * the mount that covers it */
		m->hidden = up && (up->hidden || (up->fixed == SKIP_SHADOWED && strcmp(m->target, up->target) != 0));
	}
	return 0;
}

/* file: a table to read (-F), or NULL for this process's own. */
int mtab_read(struct mtab *t, const char *file)
{
	size_t len;
	const char *name = file ? file : "/proc/self/mountinfo";
	char *buf;
	memset(t, 0, sizeof(*t)); /* mtab_free works whatever fails */
	buf = read_file(name, &len);
	if (!buf && !file) {
		name = "/proc/self/mounts";
		buf = read_file(name, &len);
	}
	if (!buf) {
		complain_errno(file ? file : "cannot read /proc/self/mountinfo or /proc/self/mounts", NULL);
		return -1;
	}
	return mtab_parse(t, buf, len, name);
}

static int is_network(const char *type)
{
	return !strcmp(type, "cifs") || !strcmp(type, "smbfs") || !strcmp(type, "smb3") || !strncmp(type, "nfs", 3);
}

static int has_opt(const char *opts, const char *want)
{
	size_t n = strlen(want);
	for (const char *o = opts; o; o = strchr(o, ','), o = o ? o + 1 : o)
		if (!strncmp(o, want, n) && (o[n] == ',' || !o[n]))
			return 1;
	return 0;
}

static int static_reason(const struct mnt *m)
{
	if (is_network(m->fstype))
		return SKIP_NETWORK;
	if (m->source[0] != '/')
		return SKIP_NODEV;
	if (!strcmp(m->target, "/dev") || !strncmp(m->target, "/dev/", 5))
		return SKIP_DEV;
	if (has_opt(m->sopts, "ro"))
		return SKIP_RO;
	return m->hidden ? SKIP_SHADOWED : m->fixed;
}

/* Decide what is frozen: each filesystem once, at its first (outermost)
 * eligible mount; with selected_only, among the mounts named by -m. */
void mtab_classify(struct mtab *t, int selected_only)
{
	size_t mask = 1;
	while (mask < 2 * t->n)
		mask <<= 1;
	dev_t *seen = calloc(mask, sizeof(*seen));
	mask--;
	for (size_t k = 0; k < t->n; k++) {
		struct mnt *m = &t->m[t->order[k]];
		m->skip = selected_only && !m->sel ? SKIP_UNSELECTED : static_reason(m);
		if (m->skip || !m->dev || !seen)
			continue;
		size_t h = hash(m->dev, mask);
		while (seen[h] && seen[h] != m->dev)
			h = (h + 1) & mask;
		if (seen[h])
			m->skip = SKIP_BIND;
		seen[h] = m->dev;
	}
	free(seen);
}

/* Marks the mounts named by paths; the top mount wins where several are
 * stacked on one mount point. */
int mtab_select(struct mtab *t, char **paths, int n)
{
	for (int i = 0; i < n; i++) {
		char *real;
		size_t j = t->n;
		if (!*paths[i])
			die("-m", "empty mount point", NULL);
		real = realpath(paths[i], NULL);
		if (!real) {
			complain_errno(paths[i], NULL);
			return -1;
		}
		while (j-- > 0)
			if (t->m[j].fixed != SKIP_SHADOWED && !t->m[j].hidden && !strcmp(t->m[j].target, real))
				break;
		free(real);
		if (j == SIZE_MAX) {
			complain(paths[i], "not a mount point", NULL);
			return -1;
		}
		t->m[j].sel = 1;
	}
	return 0;
}

static int dev_frozen(const struct mtab *t, dev_t d)
{
	for (size_t j = 0; j < t->n; j++)
		if (!t->m[j].skip && t->m[j].dev == d)
			return 1;
	return 0;
}

/* Is path (relative to dirfd; "" for dirfd itself) on a filesystem about to
 * be frozen? Found through its mount, which also works for btrfs, whose
 * files carry a subvolume's device number rather than the table's. */
int mtab_frozen_at(const struct mtab *t, int dirfd, const char *path)
{
	unsigned long long id;
	struct stat st;
	if (!mount_id_at(dirfd, path, &id)) {
		for (size_t i = 0; i < t->n; i++)
			if (t->m[i].id == id)
				return dev_frozen(t, t->m[i].dev);
	}
	if (fstatat(dirfd, path, &st, *path ? 0 : AT_EMPTY_PATH))
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (makedev(t->m[i].maj, t->m[i].min) == st.st_dev && dev_frozen(t, t->m[i].dev))
			return 1;
	return 0;
}

void mtab_free(struct mtab *t)
{
	free(t->m);
	free(t->order);
	free(t->buf);
}
