/* One-line messages on stderr, prefixed with the applet's name. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "qfs.h"

int errors_to_stdout;

static void line(struct out *o, const char *prefix, const char *const *part)
{
	out_str(o, prefix);
	for (int i = 0; i < 3; i++) {
		if (!part[i])
			continue;
		out_str(o, ": ");
		out_oneline(o, part[i]);
	}
	out_chr(o, '\n');
	out_flush(o);
}

void complain(const char *a, const char *b, const char *c)
{
	const char *part[3] = {a, b, c};
	out_flush(&qout); /* what was said before comes first, with 2>&1 too */
	line(&qerr, applet_name, part);
	if (errors_to_stdout)
		line(&qout, "error", part);
}

/* glibc's wording, which util-linux's messages (and users) know; it also
 * keeps libc's own table of every errno out of the static binary. The
 * texts are packed in one string, in the order of the numbers: a table of
 * pointers would double the size. */
static const unsigned short errnums[] = {
	EPERM,  ENOENT, ESRCH,  EINTR, EIO,          ENXIO,   E2BIG,  ENOEXEC,   ECHILD,     EAGAIN, ENOMEM,
	EACCES, EBUSY,  EEXIST, EXDEV, ENODEV,       ENOTDIR, EISDIR, EINVAL,    ENFILE,     EMFILE, ETXTBSY,
	EFBIG,  ENOSPC, EROFS,  EPIPE, ENAMETOOLONG, ENOSYS,  ELOOP,  EOVERFLOW, EOPNOTSUPP, ESTALE, EDQUOT,
};
static const char errtexts[] =
	"Operation not permitted\0"
	"No such file or directory\0"
	"No such process\0"
	"Interrupted system call\0"
	"Input/output error\0"
	"No such device or address\0"
	"Argument list too long\0"
	"Exec format error\0"
	"No child processes\0"
	"Resource temporarily unavailable\0"
	"Cannot allocate memory\0"
	"Permission denied\0"
	"Device or resource busy\0"
	"File exists\0"
	"Invalid cross-device link\0"
	"No such device\0"
	"Not a directory\0"
	"Is a directory\0"
	"Invalid argument\0"
	"Too many open files in system\0"
	"Too many open files\0"
	"Text file busy\0"
	"File too large\0"
	"No space left on device\0"
	"Read-only file system\0"
	"Broken pipe\0"
	"File name too long\0"
	"Function not implemented\0"
	"Too many levels of symbolic links\0"
	"Value too large for defined data type\0"
	"Operation not supported\0"
	"Stale file handle\0"
	"Disk quota exceeded\0";

const char *errstr(int num)
{
	static char unknown[24] = "Unknown error ";
	char *p = unknown + sizeof(unknown) - 1;
	unsigned v = num < 0 ? 0u : (unsigned)num;
	const char *t = errtexts;
	for (size_t i = 0; i < sizeof(errnums) / sizeof(*errnums); i++, t += strlen(t) + 1)
		if (errnums[i] == v)
			return t;
	*p = 0;
	p = fmt_uint(p, v);
	memmove(unknown + 14, p, strlen(p) + 1);
	return unknown;
}

void complain_errno(const char *a, const char *b)
{
	complain(a, b, errstr(errno));
}

/* An applet's top-level exit (main.c's run, or an applet's usage and
 * startup errors): never reached by a watchdog or the agent's loop. Output
 * that could not be written is an error, as util-linux's close_stdout says. */
_Noreturn void quit(int code)
{
	out_release(&qout);
	if (out_errno) {
		complain("write error", errstr(out_errno), NULL);
		code = code ? code : EXIT_FAIL;
	}
	out_release(&qerr);
	exit(code);
}

/* Only ever an applet's own process: see quit. */
_Noreturn void die(const char *a, const char *b, const char *c)
{
	complain(a, b, c);
	quit(EXIT_FAIL);
}

/* An allocation nothing can go on without, at an applet's top level only
 * (its startup, the freeze applet): NULL dies. */
void *must(void *p)
{
	if (!p)
		die("out of memory", NULL, NULL);
	return p;
}

/* Option parsing only, at an applet's startup. */
_Noreturn void usage_error(const char *what, const char *arg)
{
	complain(what, arg, NULL);
	quit(EXIT_USAGE);
}

/* A thaw nobody asked for leaves a line in the kernel log ("qfs: WHO thawed
 * N filesystems: WHY") and, if asked, on stderr. */
void kmsg(const char *who, unsigned long long n, const char *why, int to_stderr)
{
	/* on the stack: the watchdog allocates nothing it can do without; who
	 * and why are qfs's own words or a hold's name, far shorter */
	char buf[256], num[24], *p = stpcpy(stpcpy(buf, "<4>qfs: "), who);
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	num[23] = 0;
	p = stpcpy(stpcpy(stpcpy(stpcpy(p, " thawed "), fmt_uint(num + 23, n)), " filesystems: "), why);
	*p++ = '\n';
	if (fd >= 0 && write(fd, buf, (size_t)(p - buf)) < 0) {
		/* no kernel log to write to */
	}
	if (to_stderr && write(2, buf + 3, (size_t)(p - buf) - 3) < 0) {
		/* nobody left to tell */
	}
	if (fd >= 0)
		close(fd);
}
