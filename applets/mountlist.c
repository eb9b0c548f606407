/* mountlist: the mount table as freeze sees it. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "qfs.h"

const char mountlist_usage[] =
	"Usage: qfs mountlist [-aenJ] [-o COLUMNS] [-F FILE]\n"
	"Mounts and what freeze would do: --all --eligible --noheadings --json --file\n"
	"--output TARGET,SOURCE,FSTYPE,MAJ:MIN,OPTIONS,ID,PARENT,ACTION,FREEZABLE\n"
	"Exit codes: 0 success, 1 the table could not be read, 2 usage error.\n";

/* The first NNAMES are a mount's names, in struct mnt's order. */
enum col { TARGET, SOURCE, FSTYPE, OPTIONS, MAJMIN, ID, PARENT, ACTION, FREEZABLE, NCOLS };
static const char *const col_names[NCOLS] = {
	"TARGET", "SOURCE", "FSTYPE", "OPTIONS", "MAJ:MIN", "ID", "PARENT", "ACTION", "FREEZABLE",
};

/* statfs magic numbers of filesystems whose kernel driver implements
 * freezing: ext2/3/4, xfs, btrfs, f2fs, jfs, reiserfs, gfs2, nilfs2, ocfs2,
 * bcachefs. Anything else may answer FIFREEZE with "not supported". */
static const unsigned freezable[] = {
	0xEF53, 0x58465342, 0x9123683E, 0xF2F52010, 0x3153464A, 0x52654973, 0x01161970, 0x3434, 0x7461636F, 0xCA451A4E,
};
static int live; /* the table is this machine's: its paths can be asked */

/* "yes" when the type is known to freeze, "no" when it is not, "-" when
 * it cannot be told (a table from elsewhere, a network mount, an error). */
static const char *can_freeze(const struct mnt *m)
{
	struct statfs st;
	if (!live || m->skip == SKIP_NETWORK || statfs(m->target, &st))
		return "-";
	for (size_t i = 0; i < sizeof(freezable) / sizeof(*freezable); i++)
		if ((unsigned)st.f_type == freezable[i])
			return "yes";
	return "no";
}

static const struct opt opts[] = {
	{"all", 'a', 0},  {"eligible", 'e', 0}, {"noheadings", 'n', 0},
	{"json", 'J', 0}, {"output", 'o', 1},   {"file", 'F', 1},
	{0, 0, 0},
};

/* name is col_names' col in any case (strncasecmp costs more) */
static int same_col(const char *name, const char *col)
{
	while (*col && toupper((unsigned char)*name) == *col) {
		name++;
		col++;
	}
	return !*col && !*name;
}

/* "TARGET,fstype": names as findmnt's, in any case; empty items are
 * skipped. */
static int parse_cols(const char *spec, unsigned char *cols)
{
	int n = 0;
	for (const char *c = spec; *c;) {
		const char *comma = strchr(c, ',');
		size_t len = comma ? (size_t)(comma - c) : strlen(c);
		char name[64] = "";
		int k = 0;
		memcpy(name, c, len < sizeof(name) - 1 ? len : sizeof(name) - 1);
		c += len + (comma != NULL);
		if (!len)
			continue;
		while (k < NCOLS && !same_col(name, col_names[k]))
			k++;
		if (k == NCOLS)
			usage_error("unknown column", name);
		if (n == NCOLS)
			usage_error("too many columns", name);
		cols[n++] = (unsigned char)k;
	}
	if (!n)
		usage_error("no columns", *spec ? spec : NULL);
	return n;
}

/* A cell: names are strings; numbers are formatted into buf. */
static const char *cell(const struct mnt *m, int col, char *buf)
{
	char *p = buf + 31;
	unsigned v = col == ID ? m->id : m->parent;
	if (col < NNAMES)
		return m->name[col];
	switch (col) {
	case FREEZABLE: return can_freeze(m);
	case ACTION:
		if (!m->skip)
			return "freeze";
		strcpy(buf, "skip:");
		strcat(buf, skip_word(m->skip));
		return buf;
	case MAJMIN:
		*p = 0;
		p = fmt_uint(p, m->min);
		*--p = ':';
		v = m->maj;
		break;
	default: *p = 0;
	}
	return fmt_uint(p, v);
}

static void pad(size_t n)
{
	static const char spaces[32] = "                                ";
	for (; n > sizeof(spaces); n -= sizeof(spaces))
		out_mem(&qout, spaces, sizeof(spaces));
	out_mem(&qout, spaces, n);
}

/* A cell as a table shows it, or only its width: a name escaped as the
 * kernel escapes it (unless it is plain: nothing to escape). */
static size_t put(const struct mnt *m, int col, int print)
{
	char buf[32];
	const char *s;
	size_t n;
	if (col >= NNAMES) {
		s = cell(m, col, buf);
		n = strlen(s);
	} else if (!(m->plain >> col & 1)) {
		return out_escaped(print ? &qout : NULL, m->name[col]);
	} else {
		s = m->name[col];
		n = m->len[col];
	}
	if (print)
		out_mem(&qout, s, n);
	return n;
}

static void table(const struct mtab *t, const unsigned char *cols, int ncols, int eligible, int heading)
{
	size_t w[NCOLS] = {0};
	for (int c = 0; c < ncols; c++)
		w[c] = heading ? strlen(col_names[cols[c]]) : 0;
	for (size_t i = 0; i < t->n; i++)
		for (int c = 0; c < ncols && !(eligible && t->m[i].skip); c++) {
			size_t n = put(&t->m[i], cols[c], 0);
			w[c] = n > w[c] ? n : w[c];
		}
	for (int c = 0; heading && c < ncols; c++) {
		out_str(&qout, col_names[cols[c]]);
		c + 1 < ncols ? pad(w[c] - strlen(col_names[cols[c]]) + 1) : out_chr(&qout, '\n');
	}
	for (size_t i = 0; i < t->n; i++) {
		if (eligible && t->m[i].skip)
			continue;
		for (int c = 0; c < ncols; c++) {
			size_t n = put(&t->m[i], cols[c], 1);
			c + 1 < ncols ? pad(w[c] - n + 1) : out_chr(&qout, '\n');
		}
	}
}

static void json(const struct mtab *t, const unsigned char *cols, int ncols, int eligible)
{
	char buf[32], key[sizeof("freezable")];
	const char *sep = "\n";
	out_str(&qout, "{\"filesystems\":[");
	for (size_t i = 0; i < t->n; i++) {
		if (eligible && t->m[i].skip)
			continue;
		out_str(&qout, sep);
		sep = ",\n";
		for (int c = 0; c < ncols; c++) {
			const char *name = col_names[cols[c]];
			size_t k = 0;
			for (; name[k]; k++)
				key[k] = (char)(name[k] | 0x20);
			key[k] = 0;
			out_str(&qout, c ? "," : "{");
			json_str(&qout, key);
			out_chr(&qout, ':');
			if (cols[c] == ID || cols[c] == PARENT)
				out_str(&qout, cell(&t->m[i], cols[c], buf));
			else
				json_str(&qout, cell(&t->m[i], cols[c], buf));
		}
		out_chr(&qout, '}');
	}
	out_str(&qout, "\n]}\n");
}

int mountlist_main(int argc, char **argv)
{
	static const unsigned char defaults[] = {TARGET, SOURCE, FSTYPE, OPTIONS, ACTION};
	unsigned char cols[NCOLS];
	int ncols = 0, eligible = 0, heading = 1, as_json = 0, k;
	const char *file = NULL;
	struct optstate s;
	struct mtab t;
	(void)argc;
	opt_init(&s, argv);
	while ((k = opt_next(&s, opts))) {
		if (k == 'a')
			eligible = 0;
		else if (k == 'e')
			eligible = 1;
		else if (k == 'n')
			heading = 0;
		else if (k == 'J')
			as_json = 1;
		else if (k == 'o')
			ncols = parse_cols(s.arg, cols);
		else if (k == 'F')
			file = s.arg;
	}
	if (s.nops)
		usage_error("unexpected argument", argv[0]);
	if (!ncols) {
		memcpy(cols, defaults, sizeof(defaults));
		ncols = sizeof(defaults);
	}
	live = !file;
	if (mtab_read(&t, file, memchr(cols, OPTIONS, (size_t)ncols) != NULL))
		return EXIT_FAIL;
	mtab_classify(&t, 0);
	if (as_json)
		json(&t, cols, ncols, eligible);
	else
		table(&t, cols, ncols, eligible, heading);
	mtab_free(&t);
	return EXIT_OK;
}
