/* thaw: thaw filesystems, parents before children. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qfs.h"

const char thaw_usage[] =
	"Usage: qfs thaw [-v] [-m MOUNTPOINT]... [-H HOOK] [--hook-timeout SECONDS]\n"
	"       fsthaw [...]\n"
	"Thaw eligible filesystems or -m's, fully: --mountpoint --verbose --hook\n"
	"--hook-timeout. See qfs(8).\n"
	"Exit codes: 0 success; 1 a filesystem or the hook failed; 2 usage error.\n";

enum { OPT_HOOK_TIMEOUT = 1 };

static const struct opt opts[] = {
	{"verbose", 'v', 0}, {"mountpoint", 'm', 1}, {"hook", 'H', 1}, {"hook-timeout", OPT_HOOK_TIMEOUT, 1}, {0, 0, 0},
};

/* The emergency brake: what this thaw covers leaves every hold that is
 * kept (one still freezing or thawing settles by itself); a hold left with
 * nothing goes, and its watchdog is stopped so that it never thaws a later
 * freeze. */
static void forget(struct holds *hs, struct mnt **list, size_t n, int all)
{
	for (size_t i = 0; i < hs->n; i++) {
		struct hold *h = &hs->h[i];
		size_t keep = 0;
		if (h->v[H_STATE] != HOLD_KEPT)
			continue;
		for (size_t k = 0; k < h->n; k++) {
			int covered = all;
			for (size_t l = 0; l < n && !covered; l++)
				covered = (unsigned long long)list[l]->dev == h->fs[k].dev;
			if (!covered)
				h->fs[keep++] = h->fs[k];
		}
		if (h->live && !keep)
			hold_disarm(h);
		h->dirty = keep != h->n;
		h->n = keep;
	}
}

static int rewrite(struct holds *hs)
{
	int rc = 0;
	for (size_t i = 0; i < hs->n; i++) {
		struct hold *h = &hs->h[i];
		if (!h->live || !h->dirty)
			continue;
		if (!h->n)
			hold_drop(hs, h);
		else if (hold_save(hs, h))
			rc = -1;
	}
	return rc;
}

int thaw_main(int argc, char **argv)
{
	struct optstate o;
	struct mtab t;
	struct holds hs;
	struct hooks hooks = {0};
	const char *hook = getenv("QFS_HOOK");
	char **paths = must(calloc((size_t)argc + 1, sizeof(*paths)));
	int npaths = 0, verbose = 0, rc = EXIT_OK, k;
	size_t count = 0, n;
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
	struct mnt **list = must(malloc((t.n + 1) * sizeof(*list)));
	n = fs_plan(&t, list);
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
	/* The thaw comes first and waits on nothing but the kernel; the holds
	 * after it, if the lock can be had (a holder may be stopped or hung).
	 * A freeze that froze between the two and loses its hold here thaws at
	 * its end what no other hold keeps (job.c's settle). */
	int locked = holds_open(&hs, HOLDS_BRIEF);
	if (locked < 0)
		rc = EXIT_FAIL;
	if (!locked) {
		forget(&hs, list, n, !npaths);
		if (rewrite(&hs))
			rc = EXIT_FAIL;
		holds_close(&hs);
	}
	hooks.verbose = verbose;
	if (hooks.n && sig_setup()) /* the hook's wait reads the signalfd */
		die("signalfd", errstr(errno), NULL);
	hooks.mounts = "QFS_MOUNTPOINTS=";
	n = hooks.n;
	if (hook_run(&hooks, "thaw", &n))
		rc = EXIT_FAIL;
	return rc;
}
