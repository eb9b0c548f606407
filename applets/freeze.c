/* freeze: freeze filesystems, children before parents, and never leave them
 * frozen by accident. */
#include <stdlib.h>

#include "qfs.h"

const char freeze_usage[] =
	"Usage: qfs freeze [-vn] [-m DIR]... [-t SECS] [-H HOOK] [--hook-timeout SECS]\n"
	"       [--no-sync | --sync-timeout SECS] [--hold | -- CMD...] [-F FILE]\n"
	"Freeze eligible filesystems or -m's: --mountpoint --verbose --dry-run --file\n"
	"--timeout --hook --hook-timeout --no-sync --sync-timeout --hold. See qfs(8).\n"
	"Exit codes: 0 success; 1 failed, nothing left frozen; 2 usage; 3 thawed at -t;\n"
	"with -- CMD its status.\n";

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
