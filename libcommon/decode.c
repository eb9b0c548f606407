/* Mount names as the kernel escapes them, and JSON strings. */
#include <string.h>

#include "qfs.h"

static int odigit(char c, char hi)
{
	return c >= '0' && c <= hi;
}

/* In place, as qemu-ga's decode_mntname: "\\" is a backslash, "\ooo" with a
 * first digit 0-3 is that byte, and any other backslash stays as it is.
 * "\000" ends the name, as the NUL it stands for would in C. Returns the
 * new length. */
size_t decode_mntname(char *s)
{
	char *w = s, *r = s;
	for (;;) {
		char *b = strchrnul(r, '\\');
		if (w != r)
			memmove(w, r, (size_t)(b - r));
		w += b - r;
		r = b;
		if (!*r)
			break;
		if (r[1] == '\\') {
			*w++ = '\\';
			r += 2;
		} else if (odigit(r[1], '3') && odigit(r[2], '7') && odigit(r[3], '7')) {
			*w = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			if (!*w)
				break;
			w++;
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
	return (size_t)(w - s);
}

/* strstr for short needles (where sub is in s, or NULL); libc's two-way search is bigger than all of
 * qfs's uses of it together. */
char *contains(const char *s, const char *sub)
{
	size_t n = strlen(sub);
	for (; *s; s++)
		if (!strncmp(s, sub, n))
			return (char *)s;
	return NULL;
}

/* The kernel's escaping (mangle() in fs/proc_namespace.c) covers a space,
 * a tab, a newline and a backslash; qfs adds every other control
 * character, so that an escaped name is always one printable field. */
static const unsigned char escape_tab[256] = {[0 ... ' '] = 1, ['\\'] = 1, [0x7f] = 1};

/* The first byte from s on that escaping changes: all of them rare in a
 * name, but the NUL or space that ends it. Two bytes a step halves the
 * loop's own cost. */
char *escape_next(const char *s)
{
	const unsigned char *e = (const unsigned char *)s;
	for (;; e += 2) {
		if (escape_tab[e[0]])
			return (char *)e;
		if (escape_tab[e[1]])
			return (char *)e + 1;
	}
}

/* \ooo, as the kernel escapes a byte */
static void out_octal(struct out *o, unsigned char c)
{
	char e[4] = {'\\', (char)('0' + (c >> 6)), (char)('0' + ((c >> 3) & 7)), (char)('0' + (c & 7))};
	out_mem(o, e, 4);
}

/* The inverse, as the kernel writes /proc/self/mounts (\040 for a space), so
 * that a line of names splits on blanks and decodes back. Returns the
 * width; with o NULL, only measures it. */
size_t out_escaped(struct out *o, const char *s)
{
	size_t width = 0;
	for (;;) {
		const char *e = escape_next(s);
		if (o)
			out_mem(o, s, (size_t)(e - s));
		width += (size_t)(e - s);
		if (!*e)
			return width;
		if (o)
			out_octal(o, (unsigned char)*e);
		width += 4;
		s = e + 1;
	}
}

/* Text for a one-line message: control characters (a newline in a name)
 * as the kernel would write them, so that a message stays one line and
 * cannot pass for another; everything else as it is. */
void out_oneline(struct out *o, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= ' ' && c != 0x7f) {
			out_chr(o, (char)c);
			continue;
		}
		out_octal(o, c);
	}
}

size_t escaped_len(const char *s)
{
	return out_escaped(NULL, s);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
int utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	unsigned cp;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	cp = s[0] & (0x3f >> (n - 1));
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A JSON string. Control characters are escaped; a byte that is not part of
 * valid UTF-8 becomes \u00XX (its Latin-1 reading), so the output is always
 * valid JSON and no byte is silently lost. */
void json_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	out_chr(o, '"');
	while (*p) {
		int n = *p >= 0x80 ? utf8_len(p) : 1;
		if (n > 1) {
			out_mem(o, (const char *)p, (size_t)n);
			p += n;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			out_chr(o, '\\');
			out_chr(o, (char)*p);
		} else if (*p >= 0x20 && *p < 0x7f) {
			out_chr(o, (char)*p);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
			out_mem(o, e, 6);
		}
		p++;
	}
	out_chr(o, '"');
}
