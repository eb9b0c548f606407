/* thaw: thaw filesystems, parents before children. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qfs.h"

const char thaw_usage[] =
	"Usage: qfs thaw [-v] [-m MOUNTPOINT]... [-H HOOK] [--hook-timeout SECONDS]\n"
	"       fsthaw [...]\n"
	"\n"
	"Thaw every eligible filesystem of the mount table, or the ones named with -m,\n"
	"parents before children, each until the kernel says it is no longer frozen.\n"
	"Stops the watchdog of the freeze in force and removes the state file. Thawing\n"
	"what is not frozen is not an error.\n"
	"\n"
	"  -m, --mountpoint DIR     thaw the filesystem mounted on DIR (repeatable)\n"
	"  -v, --verbose            one line per filesystem thawed, then a count\n"
	"  -H, --hook HOOK          run HOOK thaw after thawing (also $QFS_HOOK)\n"
	"      --hook-timeout SECONDS  kill a hook still running after SECONDS (60)\n"
	"\n"
	"Exit codes: 0 success; 1 a filesystem or the hook failed (the others are\n"
	"thawed all the same); 2 usage error.\n";

enum { OPT_HOOK_TIMEOUT = 1 };

static const struct opt opts[] = {
	{"verbose", 'v', 0}, {"mountpoint", 'm', 1}, {"hook", 'H', 1}, {"hook-timeout", OPT_HOOK_TIMEOUT, 1}, {0, 0, 0},
};

static int named(const char *target, struct mnt **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i]->target, target))
			return 1;
	return 0;
}

/* Is pid a qfs (the watchdog), not some process that reused its number? */
static int is_qfs(unsigned long long pid)
{
	char self[256], other[256], num[24], path[48];
	num[23] = 0;
	stpcpy(stpcpy(stpcpy(path, "/proc/"), fmt_uint(num + 23, pid)), "/exe");
	ssize_t a = readlink("/proc/self/exe", self, sizeof(self));
	ssize_t b = readlink(path, other, sizeof(other));
	return a > 0 && a == b && !memcmp(self, other, (size_t)a);
}

/* Drops what this thaw covers from the state file; when nothing is left,
 * the freeze is over. Its watchdog must not thaw a later freeze, so it is
 * stopped before anything is thawed; the file itself is rewritten after,
 * as it could sit on a frozen filesystem. */
static int forget_freeze(struct state *s, struct mnt **list, size_t n, int all)
{
	size_t keep = 0;
	if (state_read(s) <= 0)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (!all && !named(s->targets[i], list, n))
			s->targets[keep++] = s->targets[i];
	s->n = keep;
	if (!keep && s->watchdog && !s->thawed_at && is_qfs(s->watchdog))
		kill((pid_t)s->watchdog, SIGUSR2);
	return 1;
}

int thaw_main(int argc, char **argv)
{
	struct optstate o;
	struct mtab t;
	struct state state;
	struct hooks hooks = {0};
	const char *hook = getenv("QFS_HOOK");
	char **paths = calloc((size_t)argc + 1, sizeof(*paths));
	int npaths = 0, verbose = 0, rc = EXIT_OK, k;
	size_t count = 0, n;
	if (!paths)
		die("out of memory", NULL, NULL);
	hooks.timeout = 60;
	opt_init(&o, argv);
	while ((k = opt_next(&o, opts))) {
		if (k == 'v')
			verbose = 1;
		else if (k == 'm')
			paths[npaths++] = (char *)o.arg;
		else if (k == 'H')
			hook = o.arg;
		else if (k == OPT_HOOK_TIMEOUT)
			hooks.timeout = opt_seconds(o.arg);
	}
	if (o.nops)
		usage_error("unexpected argument", argv[0]);
	int bad = hook_load(&hooks, hook && *hook ? hook : NULL) || mtab_read(&t, NULL, 0) ||
		  mtab_select(&t, paths, npaths);
	free(paths);
	if (bad)
		return EXIT_FAIL;
	mtab_classify(&t, npaths > 0);
	struct mnt **list = malloc((t.n + 1) * sizeof(*list));
	if (!list)
		die("out of memory", NULL, NULL);
	n = fs_plan(&t, list);
	int had_state = forget_freeze(&state, list, n, !npaths);
	for (size_t i = 0; i < n; i++)
		if (fs_open(&t, list[i]))
			rc = EXIT_FAIL;
	for (size_t k2 = 0; verbose && k2 < t.n; k2++) {
		const struct mnt *m = &t.m[t.order[k2]];
		if (m->skip && m->skip != SKIP_UNSELECTED)
			fs_skipped(m, skip_word(m->skip));
	}
	if (fs_thaw_list(list, n, 1, verbose, &count))
		rc = EXIT_FAIL;
	if (verbose)
		fs_count(count, "thawed");
	if (had_state && (state.n ? state_write(&state) : state_remove()))
		rc = EXIT_FAIL;
	hooks.verbose = verbose;
	hooks.mounts = "QFS_MOUNTPOINTS=";
	n = hooks.n;
	if (hook_run(&hooks, "thaw", &n))
		rc = EXIT_FAIL;
	return rc;
}
