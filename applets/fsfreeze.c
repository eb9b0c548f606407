/* fsfreeze: util-linux fsfreeze 2.38, exactly: same options, messages and
 * exit codes, one mount point, and never "everything". */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qfs.h"

const char fsfreeze_usage[] =
	"\n"
	"Usage:\n"
	" fsfreeze [options] <mountpoint>\n"
	"\n"
	"Suspend access to a filesystem.\n"
	"\n"
	"Options:\n"
	" -f, --freeze      freeze the filesystem\n"
	" -u, --unfreeze    unfreeze the filesystem\n"
	"\n"
	" -h, --help        display this help\n"
	" -V, --version     display version\n"
	"\n"
	"For more details see fsfreeze(8).\n";

/* "fsfreeze: " and the parts, then util-linux's hint when it gives one. */
static _Noreturn void fail(int hint, const char *a, const char *b, const char *c, const char *d)
{
	const char *part[4] = {a, b, c, d};
	out_str(&qerr, "fsfreeze: ");
	for (int i = 0; i < 4; i++)
		if (part[i])
			out_str(&qerr, part[i]);
	out_str(&qerr, hint ? "\nTry 'fsfreeze --help' for more information.\n" : "\n");
	quit(EXIT_FAIL);
}

/* getopt_long's rules: bundles, operands anywhere, unique prefixes of long
 * options (the four have distinct first letters), "--". */
static void option(const char *a, char *action)
{
	static const char *const longs[] = {"freeze", "unfreeze", "help", "version"};
	static const char shorts[] = "fuhV";
	char one[3] = {'-', 0, 0};
	if (a[1] == '-') {
		size_t n = strlen(a + 2);
		for (int i = 0; i < 4 && !one[1]; i++)
			if (n <= strlen(longs[i]) && !memcmp(longs[i], a + 2, n))
				one[1] = shorts[i];
		if (!one[1])
			fail(1, "unrecognized option '", a, "'", NULL);
		option(one, action);
		return;
	}
	for (a++; *a; a++) {
		const char *c = strchr(shorts, (unsigned char)*a);
		one[0] = *a;
		one[1] = 0;
		if (!c)
			fail(1, "invalid option -- '", one, "'", NULL);
		if (*c == 'h') {
			out_str(&qout, fsfreeze_usage);
			quit(EXIT_OK);
		}
		if (*c == 'V') {
			out_str(&qout, "fsfreeze from qfs " QFS_VERSION " (util-linux 2.38.1 compatible)\n");
			quit(EXIT_OK);
		}
		if (*action && *action != *c)
			fail(0, "mutually exclusive arguments: --freeze --unfreeze", NULL, NULL, NULL);
		*action = *c;
	}
}

int fsfreeze_main(int argc, char **argv)
{
	char *path = NULL;
	int nops = 0, fd, dashdash = 0;
	char action = 0;
	struct stat st;
	(void)argc;
	for (int i = 1; argv[i]; i++) {
		if (!dashdash && !strcmp(argv[i], "--"))
			dashdash = 1;
		else if (!dashdash && argv[i][0] == '-' && argv[i][1])
			option(argv[i], &action);
		else if (!nops++)
			path = argv[i];
	}
	if (!action)
		fail(0, "neither --freeze or --unfreeze specified", NULL, NULL, NULL);
	if (!path)
		fail(0, "no filename specified", NULL, NULL, NULL);
	if (nops > 1)
		fail(1, "unexpected number of arguments", NULL, NULL, NULL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail(0, "cannot open ", path, ": ", errstr(errno));
	if (fstat(fd, &st))
		fail(0, "stat of ", path, " failed: ", errstr(errno));
	if (!S_ISDIR(st.st_mode))
		fail(0, path, ": is not a directory", NULL, NULL);
	if (action == 'f' && fs_freeze(fd))
		fail(0, path, ": freeze failed: ", errstr(errno), NULL);
	if (action == 'u' && fs_unfreeze(fd))
		fail(0, path, ": unfreeze failed: ", errstr(errno), NULL);
	close(fd);
	return EXIT_OK;
}
