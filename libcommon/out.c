/* Buffered output on raw descriptors: stdio's printf family would cost more
 * than all of qfs's own code in a static binary. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qfs.h"

struct out qout = {1, 0, 0, 0, 0};
struct out qerr = {2, 0, 0, 0, 0};
int out_errno; /* the first failed write to standard output */

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* a reader that went away is no error of the output's */
			if (fd == 1 && errno != EPIPE)
				out_errno = errno;
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

void out_flush(struct out *o)
{
#ifdef QFS_MUTANT_UNHELD_OUTPUT
	o->hold = o->fd < 0 && o->hold; /* make mutants: stdout, stderr never held */
#endif
	if (o->hold)
		return;
	write_all(o->fd, o->buf, o->len);
	o->len = 0;
}

/* Room for n more bytes in o's buffer: 0, or -1 when they were written
 * straight through (or could not be held). Kept apart from out_mem, or
 * inlined it would slow every call down. */
__attribute__((noinline)) static int out_room(struct out *o, const char *s, size_t n)
{
	out_flush(o);
	if (!o->hold && n >= 4096) {
		write_all(o->fd, s, n);
		return -1;
	}
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + n)
			cap *= 2;
		char *b = realloc(o->buf, cap);
		if (!b)
			return -1; /* held output is best effort; never block a thaw on it */
		o->buf = b;
		o->cap = cap;
	}
	return 0;
}

void out_mem(struct out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap && out_room(o, s, n))
		return;
	if (n)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

void out_chr(struct out *o, char c)
{
	if (o->len < o->cap)
		o->buf[o->len++] = c;
	else
		out_mem(o, &c, 1);
}

/* v in decimal, written backwards so that it ends just before end. */
char *fmt_uint(char *end, unsigned long long v)
{
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

void out_num(struct out *o, unsigned long long v)
{
	char b[24], *p = fmt_uint(b + sizeof(b), v);
	out_mem(o, p, (size_t)(b + sizeof(b) - p));
}

void out_release(struct out *o)
{
	o->hold = 0;
	out_flush(o);
}
