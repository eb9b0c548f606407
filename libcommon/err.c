/* One-line messages on stderr, prefixed with the applet's name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qfs.h"

int errors_to_stdout;

static void line(struct out *o, const char *prefix, const char *const *part)
{
	out_str(o, prefix);
	for (int i = 0; i < 3; i++) {
		if (!part[i])
			continue;
		out_str(o, ": ");
		out_str(o, part[i]);
	}
	out_chr(o, '\n');
	out_flush(o);
}

void complain(const char *a, const char *b, const char *c)
{
	const char *part[3] = {a, b, c};
	line(&qerr, applet_name, part);
	if (errors_to_stdout)
		line(&qout, "error", part);
}

void complain_errno(const char *a, const char *b)
{
	complain(a, b, strerror(errno));
}

_Noreturn void quit(int code)
{
	out_release(&qout);
	out_release(&qerr);
	exit(code);
}

_Noreturn void die(const char *a, const char *b, const char *c)
{
	complain(a, b, c);
	quit(EXIT_FAIL);
}

_Noreturn void usage_error(const char *what, const char *arg)
{
	complain(what, arg, NULL);
	quit(EXIT_USAGE);
}
