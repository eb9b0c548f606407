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
	"Freeze every eligible filesystem of the mount table (see mountlist), or the\n"
	"ones named with -m, children before parents.\n"
	"\n"
	"  -m, --mountpoint DIR     freeze the filesystem mounted on DIR (repeatable)\n"
	"  -v, --verbose            one line per filesystem, then a count and times\n"
	"  -n, --dry-run            print the mount points in freeze order; freeze nothing\n"
	"  -F, --file FILE          with -n: read the mount table from FILE\n"
	"  -t, --timeout SECONDS    a watchdog thaws after SECONDS, even if qfs is killed\n"
	"  -H, --hook HOOK          run HOOK freeze before freezing and HOOK thaw after\n"
	"                           thawing; a directory runs its executables in name\n"
	"                           order (reverse order for thaw); also $QFS_HOOK\n"
	"      --hook-timeout SECONDS  kill a hook still running after SECONDS (60)\n"
	"      --no-sync            do not syncfs them all at once first\n"
	"      --sync-timeout SECONDS  give up that syncfs after SECONDS (30)\n"
	"      --hold               print 'frozen N', wait for end of input, a 'thaw'\n"
	"                           line, SIGINT/TERM/HUP/QUIT/USR1 or the -t deadline,\n"
	"                           then thaw and print 'thawed N'\n"
	"  -- CMD [ARG]...          run CMD while frozen, then thaw whatever happens;\n"
	"                           SIGINT/TERM/HUP/QUIT/USR1 are passed on to CMD\n"
	"\n"
	"With -- CMD or --hold a watchdog thaws as soon as qfs dies.\n"
	"Exit codes: 0 success; 1 freezing or thawing failed (nothing is left frozen\n"
	"by this call); 2 usage error; 3 thawed because the -t deadline passed (--hold,\n"
	"-- CMD); with -- CMD otherwise CMD's status (128+N if killed by signal N, 127\n"
	"not found, 126 not executable); 128+N when signal N stopped the freeze.\n";

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
	char **paths = calloc((size_t)argc + 1, sizeof(*paths));
	int npaths = 0, dry = 0, holding = 0, k;
	if (!paths)
		die("out of memory", NULL, NULL);
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
