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

/* glibc's wording, which util-linux's messages (and users) know; it also
 * keeps libc's own table of every errno out of the static binary. */
static const struct {
	int num;
	const char *text;
} errtab[] = {
	{EPERM, "Operation not permitted"}, {ENOENT, "No such file or directory"},
	{ESRCH, "No such process"}, {EINTR, "Interrupted system call"},
	{EIO, "Input/output error"}, {ENXIO, "No such device or address"},
	{E2BIG, "Argument list too long"}, {ENOEXEC, "Exec format error"},
	{ECHILD, "No child processes"}, {EAGAIN, "Resource temporarily unavailable"},
	{ENOMEM, "Cannot allocate memory"}, {EACCES, "Permission denied"},
	{EBUSY, "Device or resource busy"}, {EEXIST, "File exists"},
	{EXDEV, "Invalid cross-device link"}, {ENODEV, "No such device"},
	{ENOTDIR, "Not a directory"}, {EISDIR, "Is a directory"},
	{EINVAL, "Invalid argument"}, {ENFILE, "Too many open files in system"},
	{EMFILE, "Too many open files"}, {ETXTBSY, "Text file busy"},
	{ENOSPC, "No space left on device"}, {EROFS, "Read-only file system"},
	{EPIPE, "Broken pipe"}, {ENAMETOOLONG, "File name too long"},
	{ENOSYS, "Function not implemented"}, {ELOOP, "Too many levels of symbolic links"},
	{EOVERFLOW, "Value too large for defined data type"}, {EOPNOTSUPP, "Operation not supported"},
	{ESTALE, "Stale file handle"}, {EDQUOT, "Disk quota exceeded"},
};

const char *errstr(int num)
{
	static char unknown[24] = "Unknown error ";
	char *p = unknown + sizeof(unknown) - 1;
	unsigned v = num < 0 ? 0u : (unsigned)num;
	for (size_t i = 0; i < sizeof(errtab) / sizeof(*errtab); i++)
		if (errtab[i].num == num)
			return errtab[i].text;
	*p = 0;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	memmove(unknown + 14, p, strlen(p) + 1);
	return unknown;
}

void complain_errno(const char *a, const char *b)
{
	complain(a, b, errstr(errno));
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
