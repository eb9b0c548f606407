/* The multicall entry point: "qfs APPLET ARGS..." or an applet's name as
 * argv[0] (a symlink). The applet table is generated from config/applets. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qfs.h"

struct applet {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *usage;
};

#define APPLET(name, fn)                      \
	int fn##_main(int argc, char **argv); \
	extern const char fn##_usage[];
#include "applets.h"
#undef APPLET
#define APPLET(name, fn) {name, fn##_main, fn##_usage},
static const struct applet applets[] = {
#include "applets.h"
};
#undef APPLET

static const char qfs_usage[] =
	"Usage: qfs APPLET [ARGS]...  (or APPLET [ARGS]... through a symlink)\n"
	"       qfs --list | --version | --help | --install [-s] DIR\n"
	"Freeze and thaw filesystems safely. 'qfs APPLET --help' describes each.\n"
	"Exit codes: 0 success, 1 failed, 2 usage error, 3 deadline passed.\n";

const char *applet_name = "qfs";
const char *applet_usage = qfs_usage;

static void list(void)
{
	for (size_t i = 0; i < sizeof(applets) / sizeof(*applets); i++) {
		out_str(&qout, applets[i].name);
		out_chr(&qout, '\n');
	}
}

/* Without /proc (early in an initramfs): argv[0], if it is a path. */
static int argv0_path(char *self, size_t size, const char *argv0)
{
	self[0] = 0;
	if (!argv0 || !strchr(argv0, '/') || strlen(argv0) >= size / 2)
		return -1;
	if (*argv0 != '/') {
		if (!getcwd(self, size / 2))
			return -1;
		strcat(self, "/");
	}
	strcat(self, argv0);
	return 0;
}

/* busybox's --install -s: a symlink per applet in dir, to this binary. */
static int install(const char *dir, const char *argv0)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int rc = EXIT_OK;
	struct stat a, b;
	char *slash;
	if (n > 0)
		self[n] = 0;
	else if (argv0_path(self, sizeof(self), argv0))
		die("cannot find this binary's path", argv0, NULL);
	/* a binary installed in dir itself is linked by name, so the tree can be
	 * moved (an initramfs built on another machine) */
	slash = strrchr(self, '/');
	*slash = 0;
	if (!stat(*self ? self : "/", &a) && !stat(dir, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		memmove(self, slash + 1, strlen(slash + 1) + 1);
	else
		*slash = '/';
	for (size_t i = 0; i < sizeof(applets) / sizeof(*applets); i++) {
		char *link = path_join(dir, applets[i].name);
		if (symlink(self, link) && errno != EEXIST) {
			complain_errno(link, NULL);
			rc = EXIT_FAIL;
		}
		free(link);
	}
	return rc;
}

_Noreturn static void run(const struct applet *a, int argc, char **argv)
{
	static char name[64] = "qfs ";
	/* the util-linux drop-in speaks as util-linux does */
	if (!strcmp(a->name, "fsfreeze")) {
		applet_name = "fsfreeze";
	} else {
		/* applet names are config/applets' words, all far shorter */
		stpcpy(name + 4, a->name);
		applet_name = name;
	}
	applet_usage = a->usage;
	quit(a->main(argc, argv));
}

static const struct applet *find(const char *name)
{
	for (size_t i = 0; i < sizeof(applets) / sizeof(*applets); i++)
		if (!strcmp(name, applets[i].name))
			return &applets[i];
	return NULL;
}

/* A closed stdin, stdout or stderr would be taken by the next open file,
 * and qfs would read from or write to it by mistake. Only a closed one is
 * replaced: an initramfs or a chroot may have no /dev/null. (fstat, which
 * qfs has anyway, where fcntl would cost 450 bytes more.) */
static void open_std(void)
{
	struct stat st;
	for (int fd = 0; fd < 3; fd++)
		if (fstat(fd, &st) && errno == EBADF && open("/dev/null", O_RDWR) != fd)
			_exit(EXIT_FAIL);
}

int main(int argc, char **argv)
{
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	const char *a1 = argc > 1 ? argv[1] : NULL;
	const struct applet *ap = find(base ? base + 1 : argv[0] ? argv[0] : "qfs");
	open_std();
	if (ap)
		run(ap, argc, argv);
	if (!a1 || !strcmp(a1, "--list")) {
		list();
	} else if (!strcmp(a1, "--help") || !strcmp(a1, "-h")) {
		out_str(&qout, qfs_usage);
	} else if (!strcmp(a1, "--version")) {
		out_str(&qout, "qfs " QFS_VERSION "\napplets:");
		for (size_t i = 0; i < sizeof(applets) / sizeof(*applets); i++) {
			out_chr(&qout, ' ');
			out_str(&qout, applets[i].name);
		}
		out_chr(&qout, '\n');
	} else if (!strcmp(a1, "--install")) {
		/* busybox's spelling too: -s asks for symbolic links, all qfs makes */
		int s = argc > 2 && !strcmp(argv[2], "-s");
		if (argc != 3 + s)
			usage_error("usage", "qfs --install [-s] DIR");
		quit(install(argv[2 + s], argv[0]));
	} else if ((ap = find(a1))) {
		run(ap, argc - 1, argv + 1);
	} else {
		usage_error("unknown applet", a1);
	}
	quit(EXIT_OK);
}
