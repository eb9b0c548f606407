/* freeze: freeze filesystems, children before parents, and never leave them
 * frozen by accident. */
#include <stdlib.h>

#include "qfs.h"

const char freeze_usage[] =
	"Usage: qfs freeze [-v] [-m MOUNTPOINT]... [-t SECONDS] [-H HOOK]\n"
	"                  [--hook-timeout SECONDS] [--no-sync | --sync-timeout SECONDS]\n"
	"                  [--hold | -- CMD [ARG]...]\n"
	"       qfs freeze -n [-F FILE] [-m MOUNTPOINT]...\n"
	"\n"
	"Freeze the eligible filesystems (see mountlist), or those of -m, children\n"
	"first; a filesystem another qfs freeze holds is joined. See qfs(8).\n"
	"\n"
	"  -m, --mountpoint DIR  the filesystem mounted on DIR (repeatable)\n"
	"  -v, --verbose         a line per filesystem, then a count and times\n"
	"  -n, --dry-run         print the freeze order; freeze nothing\n"
	"  -F, --file FILE       with -n: the mount table from FILE\n"
	"  -t, --timeout SECS    a watchdog thaws after SECS, even if qfs is killed\n"
	"  -H, --hook HOOK       run HOOK freeze before, HOOK thaw after (or a\n"
	"                        directory of them; also $QFS_HOOK)\n"
	"      --hook-timeout SECS  kill a hook still running after SECS (60)\n"
	"      --no-sync         no syncfs of all at once before freezing\n"
	"      --sync-timeout SECS  stop waiting for that syncfs after SECS (30)\n"
	"      --hold            print 'frozen N', wait for end of input, 'thaw', a\n"
	"                        signal or the deadline, thaw, print 'thawed N'\n"
	"  -- CMD [ARG]...       run CMD while frozen, then thaw whatever happens\n"
	"\n"
	"Exit codes: 0 success; 1 failed (nothing left frozen by this call), also when\n"
	"another command thawed under -- CMD or --hold; 2 usage; 3 thawed by the -t\n"
	"deadline; with -- CMD its status (128+N: signal N; 127, 126: not run).\n";

enum { OPT_HOOK_TIMEOUT = 1, OPT_HOLD, OPT_NO_SYNC, OPT_SYNC_TIMEOUT };

static const struct opt opts[] = {
	{"verbose", 'v', 0},
	{"dry-run", 'n', 0},
	{"mountpoint", 'm', 1},
	{"file", 'F', 1},
	{"timeout", 't', 1},
	{"hook", 'H', 1},
	{"hook-timeout", OPT_HOOK_TIMEOUT, 1},
	{"hold", OPT_HOLD, 0},
	{"no-sync", OPT_NO_SYNC, 0},
	{"sync-timeout", OPT_SYNC_TIMEOUT, 1},
	{0, 0, 0},
};

int freeze_main(int argc, char **argv)
{
	struct job j = {.wdctl = -1, .hs = {.dir = -1, .lock = -1}, .sync_timeout = 30};
	struct optstate o;
	const char *file = NULL, *hook = getenv("QFS_HOOK");
	char **paths = must(calloc((size_t)argc + 1, sizeof(*paths)));
	int npaths = 0, dry = 0, holding = 0, k;
	j.hooks.timeout = 60;
	opt_init(&o, argv);
	while ((k = opt_next(&o, opts))) {
		if (k == 'v')
			j.verbose = 1;
		else if (k == 'n')
			dry = 1;
		else if (k == 'm')
			paths[npaths++] = (char *)o.arg;
		else if (k == 'F')
			file = o.arg;
		else if (k == 't')
			j.timeout = opt_seconds(o.arg);
		else if (k == 'H')
			hook = o.arg;
		else if (k == OPT_HOOK_TIMEOUT)
			j.hooks.timeout = opt_seconds(o.arg);
		else if (k == OPT_HOLD)
			holding = 1;
		else if (k == OPT_NO_SYNC)
			j.nosync = 1;
		else if (k == OPT_SYNC_TIMEOUT)
			j.sync_timeout = opt_seconds(o.arg);
	}
	char **cmd = o.dashdash >= 0 ? argv + o.dashdash : NULL;
	if (o.nops && (o.dashdash != 0 || !cmd[0]))
		usage_error("unexpected argument", argv[0]);
	if (cmd && !cmd[0])
		usage_error("no command after --", NULL);
	if (cmd && holding)
		usage_error("--hold and -- CMD", "choose one");
	if (file && !dry)
		usage_error("-F", "only with -n");
	if (holding)
		errors_to_stdout = 1;
	if (!dry)
		state_dir(); /* a bad QFS_STATE_DIR stops here, before a hook runs */
	int bad = job_plan(&j, file, paths, npaths, hook);
	free(paths);
	if (bad)
		return EXIT_FAIL;
	if (dry) {
		for (size_t i = 0; i < j.n; i++)
			fs_said("", j.list[i]);
		return EXIT_OK;
	}
	j.kind = cmd ? HOLD_CMD : holding ? HOLD_HOLD : j.timeout ? HOLD_TIMEOUT : HOLD_PLAIN;
	size_t frozen = job_freeze(&j, cmd), thawed = 0;
	int rc = EXIT_OK;
	if (!cmd && !holding) {
		job_keep(&j);
		return EXIT_OK;
	}
	if (cmd) {
		rc = job_run(&j, cmd);
	} else {
		out_str(&qout, "frozen ");
		out_num(&qout, frozen);
		out_chr(&qout, '\n');
		job_hold(&j);
	}
	if (job_end(&j, &thawed))
		rc = EXIT_FAIL;
	else if (j.expired)
		rc = EXIT_DEADLINE;
	if (holding) {
		out_str(&qout, "thawed ");
		out_num(&qout, thawed);
		out_chr(&qout, '\n');
	}
	return rc;
}
