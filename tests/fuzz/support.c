/* What main.c provides, for fuzz targets that link libcommon alone, and
 * the checks the targets share. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qfs.h"

const char *applet_name = "qfs fuzz";
const char *applet_usage = "";

void check(int ok)
{
	if (!ok)
		abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		abort();
	return p;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at s, or -1. */
static long hex4(const unsigned char *s, const unsigned char *end)
{
	long v = 0;
	if (end - s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Length of the strictly valid UTF-8 sequence at s (RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF), or 0. Written apart from
 * decode.c's on purpose: a second opinion. */
static int utf8_seq(const unsigned char *s, const unsigned char *end)
{
	unsigned char c = s[0];
	int n;
	unsigned long cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (end - s < n)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff)
		return 0;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	return n;
}

/* Is s[0..len) exactly one valid JSON string (RFC 8259, strictly: no raw
 * control character, only the defined escapes, valid UTF-8, surrogate
 * escapes only in pairs)? With want, it must also give back want's bytes
 * when read qfs's way: raw UTF-8 as it is, \u00XX as the byte XX. */
int json_string_ok(const char *str, size_t len, const char *want)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;
	const unsigned char *w = (const unsigned char *)want;
	if (len < 2 || s[0] != '"' || end[-1] != '"')
		return 0;
	for (s++, end--; s < end;) {
		if (*s < 0x20 || *s == '"')
			return 0;
		if (*s != '\\') {
			int n = utf8_seq(s, end);
			if (!n)
				return 0;
			for (int i = 0; w && i < n; i++)
				if (w[i] != s[i])
					return 0;
			s += n;
			if (w)
				w += n;
			continue;
		}
		if (end - s < 2)
			return 0;
		const char *simple = strchr("\"\\/bfnrt", s[1]);
		if (s[1] && simple) {
			static const char real[] = "\"\\/\b\f\n\r\t";
			if (w && *w++ != (unsigned char)real[simple - "\"\\/bfnrt"])
				return 0;
			s += 2;
			continue;
		}
		if (s[1] != 'u')
			return 0;
		long v = hex4(s + 2, end);
		if (v < 0)
			return 0;
		s += 6;
		if (v >= 0xdc00 && v <= 0xdfff)
			return 0;
		if (v >= 0xd800 && v <= 0xdbff) {
			long lo = end - s >= 2 && s[0] == '\\' && s[1] == 'u' ? hex4(s + 2, end) : -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return 0;
			s += 6;
			if (w)
				return 0; /* qfs never writes one */
			continue;
		}
		if (w && (v > 0xff || *w++ != v))
			return 0;
	}
	return !w || !*w;
}

/* A mount table's invariants: everything parsed is there, the order is a
 * permutation with parents first (where there is no cycle), what is frozen
 * is a device, at most once; names survive escaping and JSON. */
static void check_mount(const struct mtab *t, size_t i, struct out *o)
{
	const struct mnt *m = &t->m[i];
	char *const *names = m->name;
	check(m->fd == -1);
	check(m->target[0] == '/'); /* whatever the format, a mount point is absolute */
	check(m->up == SIZE_MAX || (m->up < t->n && m->up != i));
	check(t->info || m->up == SIZE_MAX);
	for (size_t k = 0; k < NNAMES; k++) {
		check(names[k] != NULL && strlen(names[k]) == m->len[k]);
		o->len = 0;
		out_escaped(o, names[k]);
		check(o->len == escaped_len(names[k]));
		out_chr(o, 0);
		check(!memchr(o->buf, ' ', o->len) && !memchr(o->buf, '\n', o->len));
		decode_mntname(o->buf);
		check(!strcmp(o->buf, names[k]));
		o->len = 0;
		json_str(o, names[k]);
		check(json_string_ok(o->buf, o->len, names[k]));
	}
}

/* Does i's chain of parents reach a root (rather than a cycle)? */
static int rooted(const struct mtab *t, size_t i)
{
	for (size_t steps = 0; steps <= t->n; steps++) {
		if (t->m[i].up == SIZE_MAX)
			return 1;
		i = t->m[i].up;
	}
	return 0;
}

static void check_order(const struct mtab *t)
{
	size_t *pos = xmalloc(t->n * sizeof(*pos) + 1);
	for (size_t i = 0; i < t->n; i++)
		pos[i] = SIZE_MAX;
	for (size_t k = 0; k < t->n; k++) {
		check(t->order[k] < t->n && pos[t->order[k]] == SIZE_MAX);
		pos[t->order[k]] = k;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->m[i].up != SIZE_MAX && rooted(t, i))
			check(pos[t->m[i].up] < pos[i]);
	free(pos);
}

static void check_classify(struct mtab *t, int selected_only)
{
	for (size_t i = 0; i < t->n; i++)
		t->m[i].sel = (unsigned char)(i & 1);
	mtab_classify(t, selected_only);
	for (size_t i = 0; i < t->n; i++) {
		const struct mnt *m = &t->m[i];
		check(m->skip <= SKIP_UNSELECTED && skip_word(m->skip) != NULL);
		check(selected_only || m->skip != SKIP_UNSELECTED);
		check(!selected_only || m->sel || m->skip == SKIP_UNSELECTED);
		if (m->skip)
			continue;
		check(m->source[0] == '/');
		for (size_t j = 0; j < i; j++)
			check(t->m[j].skip || !m->dev || t->m[j].dev != m->dev);
	}
}

/* The table in buf fed in two reads split at k, as mtab_read may meet
 * it: the mounts parsed, or SIZE_MAX when it is refused. */
static size_t fed_in_two(const char *buf, size_t len, size_t k)
{
	struct mtab t;
	char *b = xmalloc(len + 1);
	long used;
	size_t n = SIZE_MAX;
	mtab_init(&t, 1);
	memcpy(b, buf, k);
	b[k] = 0;
	used = mtab_feed(&t, b, k, 0, "fuzz");
	if (used >= 0) {
		size_t rest = len - (size_t)used;
		memmove(b, b + used, k - (size_t)used);
		memcpy(b + k - (size_t)used, buf + k, len - k);
		b[rest] = 0;
		if (mtab_feed(&t, b, rest, 1, "fuzz") >= 0)
			n = t.n;
	}
	mtab_free(&t);
	free(b);
	return n;
}

/* prefix (may be "") and data, as one table. */
void fuzz_mtab(const char *prefix, const uint8_t *data, size_t size)
{
	size_t plen = strlen(prefix), lines = 1;
	char *buf = xmalloc(plen + size + 1);
	struct out o = {-1, 1, 0, 0, NULL};
	struct mtab t;
	memcpy(buf, prefix, plen);
	if (size)
		memcpy(buf + plen, data, size);
	buf[plen + size] = 0;
	for (size_t i = 0; i < plen + size; i++)
		lines += buf[i] == '\n';
	/* split where the data says, before the whole parse writes into buf */
	size_t fed = fed_in_two(buf, plen + size, size ? plen + data[0] % (size + 1) : plen);
	if (mtab_parse(&t, buf, plen + size, "fuzz") != 0) {
		check(fed == SIZE_MAX);
	} else {
		check(fed == t.n);
		check(t.n <= lines);
		check_order(&t);
		for (size_t i = 0; i < t.n; i++)
			check_mount(&t, i, &o);
		check_classify(&t, 0);
		check_classify(&t, 1);
	}
	mtab_free(&t);
	free(o.buf);
	free(buf);
}

/* A validator that let everything through would make the json target
 * worthless: it must tell these apart. */
static void selftest(void)
{
	static const char *const good[] = {
		"\"\"",
		"\"a\\\\b\\\"\"",
		"\"\\u00e9\\/\\b\\f\\n\\r\\t\"",
		"\"\xc3\xa9\xf0\x9f\xa6\x8a\"",
		"\"\\ud83e\\udd8a\"",
		"\"\x7f\"",
	};
	static const char *const bad[] = {
		"",                     /* nothing */
		"\"",                   /* no closing quote */
		"a\"\"",                /* not a string */
		"\"\"\"",               /* two strings, or a stray quote */
		"\"\x01\"",             /* a raw control character */
		"\"\n\"",               /* a raw newline */
		"\"\\x\"",              /* an escape JSON does not have */
		"\"\\u12\"",            /* a short \u */
		"\"\\ud800\"",          /* a lone high surrogate */
		"\"\\udc00\\ud800\"",   /* a pair in the wrong order */
		"\"\xc0\xaf\"",         /* an overlong '/' */
		"\"\xed\xa0\x80\"",     /* a surrogate in UTF-8 */
		"\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
		"\"\xff\"",             /* a byte that is never UTF-8 */
		"\"\xc3\"",             /* a truncated sequence */
		"\"a\\\"",              /* the closing quote escaped */
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		check(json_string_ok(good[i], strlen(good[i]), NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		check(!json_string_ok(bad[i], strlen(bad[i]), NULL));
	/* json, want: only the first gives want back */
	static const char *const pairs[][2] = {
		{"\"a\\u00ff\\u0001\xc3\xa9\\\\\"", "a\377\001\303\251\\"},
		{"\"a\\u00ff\"", "a\303\277"},
		{"\"ab\"", "abc"},
		{"\"abc\"", "ab"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++)
		check(json_string_ok(pairs[i][0], strlen(pairs[i][0]), pairs[i][1]) == !i);
}

/* Malformed input is the point: its one-line complaints would drown
 * libFuzzer's own output, so stderr writes go nowhere. */
int LLVMFuzzerInitialize(int *argc, char ***argv) /* NOLINT(readability-non-const-parameter): libFuzzer's */
{
	(void)argc;
	(void)argv;
	selftest();
	qerr.fd = -1;
	return 0;
}
