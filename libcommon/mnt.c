/* The mount table once parsed (parse.c): its order, and each mount judged
 * eligible for freezing or not. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "qfs.h"

static const char *const skip_words[] = {
	"freeze", "network", "no-device", "dev", "read-only", "shadowed", "bind", "unselected",
};

const char *skip_word(int skip)
{
	return skip_words[skip];
}

static int same_target(const struct mnt *a, const struct mnt *b)
{
	return a->len[NAME_TARGET] == b->len[NAME_TARGET] && !memcmp(a->target, b->target, a->len[NAME_TARGET]);
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
		if (same_target(&t->m[i], &t->m[p]))
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

static void identity_order(struct mtab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		t->order[i] = i;
		t->m[i].up = SIZE_MAX;
	}
}

/* After the last line: the mount order, and what is out of reach. */
int mtab_finish(struct mtab *t)
{
	t->order = malloc(t->n * sizeof(*t->order) + 1);
	if (!t->order)
		return -1;
	if (t->info > 0 ? tree_order(t) : (identity_order(t), 0))
		return -1;
	for (size_t k = 0; k < t->n; k++) {
		struct mnt *m = &t->m[t->order[k]];
		const struct mnt *up = m->up == SIZE_MAX ? NULL : &t->m[m->up];
		/* what is mounted under a covered mount is out of reach too, except
		 * the mount that covers it */
		m->hidden = up && (up->hidden || (up->fixed == SKIP_SHADOWED && !same_target(m, up)));
	}
	return 0;
}

static int is_network(const char *type)
{
	if (type[0] != 'c' && type[0] != 's' && type[0] != 'n')
		return 0;
	return !strcmp(type, "cifs") || !strcmp(type, "smbfs") || !strcmp(type, "smb3") || !strncmp(type, "nfs", 3);
}

static int static_reason(const struct mnt *m)
{
	if (is_network(m->fstype))
		return SKIP_NETWORK;
	if (m->source[0] != '/')
		return SKIP_NODEV;
	if (!strcmp(m->target, "/dev") || !strncmp(m->target, "/dev/", 5))
		return SKIP_DEV;
	if (m->ro)
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
#ifndef QFS_MUTANT_BIND_FROZEN /* make mutants: a bind mount frozen again */
		if (seen[h])
			m->skip = SKIP_BIND;
#endif
		seen[h] = m->dev;
	}
	free(seen);
}

/* Is path the root of m? Both on one filesystem, the same directory. */
static int is_root(const struct stat *path, const struct mnt *m)
{
	struct stat st;
	return !stat(m->target, &st) && st.st_dev == path->st_dev && st.st_ino == path->st_ino;
}

/* Marks the mounts named by paths: the one mounted there (found by mount id
 * where the table has ids), the top one where several are stacked. No
 * string is compared, so symbolic links and ".." in a path are no matter. */
int mtab_select(struct mtab *t, char **paths, int n)
{
	for (int i = 0; i < n; i++) {
		unsigned long long id = 0;
		struct stat st;
		size_t j = t->n;
		if (!*paths[i])
			die("-m", "empty mount point", NULL); /* an applet's startup only */
		if (stat(paths[i], &st) || (t->info && mount_id_at(AT_FDCWD, paths[i], &id))) {
			complain_errno(paths[i], NULL);
			return -1;
		}
		while (j-- > 0) {
			const struct mnt *m = &t->m[j];
			if (m->fixed != SKIP_SHADOWED && !m->hidden && (!t->info || m->id == id) && is_root(&st, m))
				break;
		}
		if (j == SIZE_MAX) {
			complain(paths[i], "not a mount point", NULL);
			return -1;
		}
		t->m[j].sel = 1;
	}
	return 0;
}

/* Is d the device of a filesystem about to be frozen? */
int mtab_has_dev(const struct mtab *t, dev_t d)
{
	for (size_t j = 0; j < t->n; j++)
		if (!t->m[j].skip && t->m[j].dev == d)
			return 1;
	return 0;
}

/* A mount whose table entry has device number d. */
const struct mnt *mtab_by_dev(const struct mtab *t, dev_t d)
{
	for (size_t j = 0; j < t->n; j++)
		if (makedev(t->m[j].maj, t->m[j].min) == d)
			return &t->m[j];
	return NULL;
}

/* Is path (relative to dirfd; "" for dirfd itself) on a filesystem about to
 * be frozen? Found through its mount, which also works for btrfs, whose
 * files carry a subvolume's device number rather than the table's. */
int mtab_frozen_at(const struct mtab *t, int dirfd, const char *path)
{
	unsigned long long id;
	struct stat st;
	const struct mnt *m;
	if (!mount_id_at(dirfd, path, &id)) {
		for (size_t i = 0; i < t->n; i++)
			if (t->m[i].id == id)
				return mtab_has_dev(t, t->m[i].dev);
	}
	if (fstatat(dirfd, path, &st, *path ? 0 : AT_EMPTY_PATH))
		return 0;
	/* mounts with one device number are one filesystem: the first will do */
	m = mtab_by_dev(t, st.st_dev);
	return m && mtab_has_dev(t, m->dev);
}

void mtab_free(struct mtab *t)
{
	free(t->m);
	free(t->order);
	while (t->blocks) {
		struct names *b = t->blocks;
		t->blocks = b->prev;
		free(b);
	}
}
