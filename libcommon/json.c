/* A streaming JSON reader for the guest agent's requests: bytes go in one
 * at a time, whole messages come out. Requests have no framing, so the
 * reader counts braces and brackets outside strings, as qemu-ga's does; it
 * needs no recursion and its memory is fixed (struct jreader): a request
 * deeper than JSON_DEPTH or longer than JSON_MAX is an error, skipped to its
 * end, and the reader goes on. A 0xFF byte, which never occurs in JSON text,
 * resets it (qemu-ga's clients send one to resynchronise). */
#include <stdarg.h>
#include <string.h>

#include "qfs.h"

/* Called once, these functions are still smaller apart than inlined into
 * json_feed and its caller (192 bytes of the binary, counted). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-inline-functions-called-once")
#endif

enum { ST_IDLE, ST_KEY1, ST_KEY, ST_COLON, ST_VAL1, ST_VALUE, ST_AFTER, ST_STR, ST_WORD, ST_SKIP };

/* qemu-ga's texts; its own for a bad escape, byte or keyword are
 * "expecting value" here, as for any other malformed value. */
static const char *const errs[] = {
	"JSON parse error, expecting value",
	"JSON nesting depth limit exceeded",
	"JSON token size limit exceeded",
	"JSON parse error, stray '\xef\xbf\xbd'",
};
/* What a backslash may stand before (qemu-ga takes \' too), and for what. */
static const char esc_in[] = "\"\\/bfnrt'", esc_out[] = "\"\\/\b\f\n\r\t'";

enum { E_VALUE, E_DEPTH, E_SIZE, E_STRAY };

/* The n hex digits at s, or -1 */
int hexnum(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* The next character of the string at *p (just past its opening quote):
 * an escape's code point, a UTF-8 sequence's first byte, -1 at the closing
 * quote (*p then past it), or -2 for a bad escape or a byte that is not
 * UTF-8. */
long json_cp(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;
	long cp;
	int n;
	if (*s == '"') {
		*p += 1;
		return -1;
	}
	if (*s != '\\') {
		n = *s < 0x80 ? 1 : utf8_len(s);
		if (!n)
			return -2;
		*p += n;
		return *s;
	}
	const char *e = s[1] ? strchr(esc_in, s[1]) : NULL;
	if (e) {
		*p += 2;
		return (unsigned char)esc_out[e - esc_in];
	}
	if (s[1] != 'u' || (cp = hexnum(*p + 2, 4)) < 0)
		return -2;
	*p += 6;
	if (cp >= 0xdc00 && cp < 0xe000)
		return -2;
	if (cp >= 0xd800 && cp < 0xdc00) {
		long lo = (*p)[0] == '\\' && (*p)[1] == 'u' ? hexnum(*p + 2, 4) : -1;
		if (lo < 0xdc00 || lo >= 0xe000)
			return -2;
		*p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return cp;
}

static int is_word(int c)
{
	return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') || c == '.' || c == '+' || c == '-';
}

/* Past the digits at s; NULL when there is none. */
static const char *digits(const char *s)
{
	const char *d = s;
	while (*s >= '0' && *s <= '9')
		s++;
	return s > d ? s : NULL;
}

/* The word at s (a C string) is a number as JSON has it, or true, false,
 * null. */
static int word_ok(const char *s)
{
	if (*s >= 'a')
		return !strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null");
	s += *s == '-';
	s = *s == '0' ? s + 1 : digits(s);
	if (s && *s == '.')
		s = digits(s + 1);
	if (s && (*s | 32) == 'e')
		s = digits(s + 1 + (s[1] == '+' || s[1] == '-'));
	return s && !*s;
}

void json_reset(struct jreader *r)
{
	r->len = 0;
	r->depth = 0;
	r->state = ST_IDLE;
	r->str = r->esc = 0;
}

/* An error in the message being read: skip to its end. */
static int fail(struct jreader *r, int e, const char **err)
{
	*err = errs[e];
	r->state = r->depth || r->str ? ST_SKIP : ST_IDLE;
	return JSON_ERR;
}

/* Skipping a bad message: only strings and nesting are followed. */
static int skip(struct jreader *r, int c)
{
	if (r->esc)
		r->esc = 0;
	else if (r->str)
		r->str = c != '"', r->esc = c == '\\';
	else if (c == '"')
		r->str = 1;
	else if (c == '{' || c == '[')
		r->depth++;
	else if ((c == '}' || c == ']') && r->depth)
		r->depth--;
	if (!r->depth && !r->str)
		json_reset(r);
	return JSON_MORE;
}

static int is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int end_value(struct jreader *r)
{
	r->state = r->depth ? ST_AFTER : ST_IDLE;
	return r->depth ? JSON_MORE : JSON_DONE;
}

/* The string that just closed: every escape and byte checked. */
static int end_str(struct jreader *r, const char **err)
{
	const char *p = r->buf + r->tok + 1;
	long cp;
	r->str = 0;
	while ((cp = json_cp(&p)) >= 0)
		;
	if (cp < -1)
		return fail(r, E_VALUE, err);
	if (r->state == ST_KEY) {
		r->state = ST_COLON;
		return JSON_MORE;
	}
	return end_value(r);
}

static int open_value(struct jreader *r, int c, const char **err)
{
	r->tok = r->len - 1;
	if (c == '}' || c == ']') {
		/* out of place, but it closes what it closes: skip no further */
		r->depth -= r->depth > 0;
		return fail(r, E_VALUE, err);
	}
	if (c == '"') {
		r->str = 1;
		r->state = r->state == ST_KEY1 || r->state == ST_KEY ? ST_KEY : ST_VALUE;
		return JSON_MORE;
	}
	if (r->state == ST_KEY1 || r->state == ST_KEY)
		return fail(r, E_VALUE, err);
	if (c == '{' || c == '[') {
		if (r->depth >= JSON_DEPTH) {
			r->depth++;
			return fail(r, E_DEPTH, err);
		}
		r->stack[r->depth++] = c == '{';
		r->state = c == '{' ? ST_KEY1 : ST_VAL1;
		return JSON_MORE;
	}
	if (c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) {
		r->state = ST_WORD;
		return JSON_MORE;
	}
	return fail(r, E_VALUE, err);
}

static int in_object(const struct jreader *r)
{
	return r->stack[r->depth - 1];
}

static int close_value(struct jreader *r, int c, const char **err)
{
	int closer = c == '}' || c == ']';
	if (!closer || !r->depth || (c == '}') != in_object(r)) {
		/* a closer all the same: {"a":1] ends where qemu-ga's ends */
		r->depth -= closer && r->depth;
		return fail(r, E_VALUE, err);
	}
	r->depth--;
	return end_value(r);
}

/* Feeds one byte. Returns JSON_MORE, JSON_DONE (buf[0..len) is a whole,
 * valid message; the next byte starts a new one) or JSON_ERR (*err says
 * why; one reply, the reader resynchronises by itself). *again: c was not
 * consumed and must be fed again. */
int json_feed(struct jreader *r, int c, const char **err, int *again)
{
	*again = 0;
	if (c == 0xff) {
		int st = r->state;
		json_reset(r);
		return st == ST_SKIP ? JSON_MORE : fail(r, E_STRAY, err);
	}
	if (r->state == ST_SKIP)
		return skip(r, c);
	if (r->state == ST_IDLE) {
		if (is_ws(c))
			return JSON_MORE;
		r->len = 0;
		r->state = ST_VALUE;
	}
	if (r->len >= JSON_MAX - 1)
		return fail(r, E_SIZE, err);
	r->buf[r->len++] = (char)c;
	r->buf[r->len] = 0;
	if (r->str) {
		if (r->esc)
			r->esc = 0;
		else if (c == '\\')
			r->esc = 1;
		else if (c == '"')
			return end_str(r, err);
		else if (c < 0x20)
			return fail(r, E_VALUE, err);
		return JSON_MORE;
	}
	if (r->state == ST_WORD) {
		if (is_word(c))
			return JSON_MORE;
		r->buf[--r->len] = 0;
		*again = 1;
		if (!word_ok(r->buf + r->tok))
			return fail(r, E_VALUE, err);
		return end_value(r);
	}
	if (is_ws(c)) {
		/* kept out: the message is read without any */
		r->buf[--r->len] = 0;
		return JSON_MORE;
	}
	switch (r->state) {
	case ST_COLON:
		if (c != ':')
			return fail(r, E_VALUE, err);
		r->state = ST_VALUE;
		return JSON_MORE;
	case ST_AFTER:
		if (c == ',' && r->depth) {
			r->state = in_object(r) ? ST_KEY : ST_VALUE;
			return JSON_MORE;
		}
		return close_value(r, c, err);
	case ST_KEY1:
	case ST_VAL1:
		if (c == '}' || c == ']')
			return close_value(r, c, err);
		return open_value(r, c, err);
	default: return open_value(r, c, err);
	}
}

/* Past the value at p, in a message as json_feed keeps it. */
const char *json_skip(const char *p)
{
	size_t depth = 0;
	int str = 0;
	for (;; p++) {
		if (str) {
			if (*p == '\\')
				p++;
			else if (*p == '"' && (str = 0, !depth))
				return p + 1;
		} else if (*p == '"') {
			str = 1;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (depth && (*p == '}' || *p == ']')) {
			if (!--depth)
				return p + 1;
		} else if (!depth && !is_word(*p)) {
			return p;
		}
	}
}

/* The UTF-8 of the (valid) string at p, quotes left out: for messages and
 * names. A \u0000 is left out too, so that the result is a C string. */
void json_unq(struct out *o, const char *p)
{
	long cp;
	p++;
	for (;;) {
		/* a valid string: its bytes as they are, but for escapes */
		if (*p != '\\' && *p != '"') {
			out_chr(o, *p++);
			continue;
		}
		if ((cp = json_cp(&p)) < 0)
			return;
		if (cp < 0x80) {
			if (cp)
				out_chr(o, (char)cp);
			continue;
		}
		char u[4];
		int n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		for (int i = n - 1; i > 0; i--, cp >>= 6)
			u[i] = (char)(0x80 | (cp & 0x3f));
		u[0] = (char)((0xf00 >> n) | cp);
		out_mem(o, u, (size_t)n);
	}
}

/* The value at p again, as qemu-ga would write it back: a space after
 * ',' and ':', an integer's "-0" as 0 (json_feed kept no other white
 * space). Strings and other numbers are written as they came, escapes and
 * all, but for \' (not JSON's): qemu-ga re-escapes strings (\u00E9 for an
 * e acute) and prints numbers through a double (0.1 as 0.10000000000000001). */
void json_echo(struct out *o, const char *p)
{
	const char *end = json_skip(p);
	int str = 0;
	while (p < end) {
		char c = *p++;
		if (str) {
			str = c != '"';
			if (c == '\\' && *p != '\'')
				out_chr(o, c);
			if (c == '\\')
				c = *p++;
			out_chr(o, c);
			continue;
		}
		str = c == '"';
		if (c == '-' && *p == '0' && !is_word(p[1]))
			continue;
		out_chr(o, c);
		if (c == ',' || c == ':')
			out_chr(o, ' ');
	}
}

/* The agent's replies: f's text, but %s a string as it is, %j a string as
 * JSON, %e a request's value written back (json_echo), %d a long long, %x
 * a long long in hex without leading zeros. */
void json_fmt(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			out_chr(o, *f);
			continue;
		}
		/* NOLINTBEGIN(clang-analyzer-valist.Uninitialized): clang-tidy 14
		 * says so of any va_arg in a file it reads after another one */
		if (*++f == 'd' || *f == 'x') {
			long long v = va_arg(ap, long long);
			unsigned long long u =
				v < 0 && *f == 'd' ? 0ULL - (unsigned long long)v : (unsigned long long)v;
			int d = 60;
			if (*f == 'd') {
				if (v < 0)
					out_chr(o, '-');
				out_num(o, u);
				continue;
			}
			while (d && !(u >> d))
				d -= 4;
			for (; d >= 0; d -= 4)
				out_chr(o, "0123456789abcdef"[u >> d & 15]);
			continue;
		}
		const char *s = va_arg(ap, const char *);
		/* NOLINTEND(clang-analyzer-valist.Uninitialized) */
		if (*f == 'j')
			json_str(o, s);
		else if (*f == 'e')
			json_echo(o, s);
		else
			out_str(o, s);
	}
	va_end(ap);
}
