/* status: is a freeze in force? */
#include "qfs.h"

const char status_usage[] =
	"Usage: qfs status [-vJ]\n"
	"\n"
	"Print 'frozen' or 'thawed', from the state file that freeze writes and thaw\n"
	"removes ($QFS_STATE_DIR/state, by default /run/qfs/state).\n"
	"\n"
	"  -v, --verbose  also who froze, when, and the mount points\n"
	"  -J, --json     {\"status\":\"frozen\",\"pid\":N,\"time\":T,\"deadline\":T,\n"
	"                 \"watchdog\":N,\"thawed\":T,\"frozen_ms\":N,\"mountpoints\":[...]}\n"
	"                 (0s left out)\n"
	"\n"
	"Exit codes: 0 success, 1 the state file could not be read, 2 usage error.\n";

static const struct opt opts[] = {{"verbose", 'v', 0}, {"json", 'J', 0}, {0, 0, 0}};

static void field(const char *key, unsigned long long v)
{
	if (!v)
		return;
	out_str(&qout, ",\"");
	out_str(&qout, key);
	out_str(&qout, "\":");
	out_num(&qout, v);
}

static void json(const struct state *s, const char *word)
{
	out_str(&qout, "{\"status\":\"");
	out_str(&qout, word);
	out_chr(&qout, '"');
	field("pid", s->pid);
	field("time", s->time);
	field("deadline", s->deadline);
	field("watchdog", s->watchdog);
	field("thawed", s->thawed_at);
	field("frozen_ms", s->frozen_ms);
	out_str(&qout, ",\"mountpoints\":[");
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			out_chr(&qout, ',');
		json_str(&qout, s->targets[i]);
	}
	out_str(&qout, "]}\n");
}

static void line(const char *what, unsigned long long v)
{
	if (!v)
		return;
	out_str(&qout, what);
	out_num(&qout, v);
	out_chr(&qout, '\n');
}

int status_main(int argc, char **argv)
{
	struct optstate o;
	struct state s;
	int verbose = 0, as_json = 0, k, r;
	(void)argc;
	opt_init(&o, argv);
	while ((k = opt_next(&o, opts)))
		k == 'v' ? (verbose = 1) : (as_json = 1);
	if (o.nops)
		usage_error("unexpected argument", argv[0]);
	r = state_read(&s);
	if (r < 0)
		return EXIT_FAIL;
	const char *word = r && s.n && !s.thawed_at ? "frozen" : "thawed";
	if (as_json) {
		json(&s, word);
	} else {
		out_str(&qout, word);
		out_chr(&qout, '\n');
	}
	if (verbose && !as_json) {
		line("pid ", s.pid);
		line("since ", s.time);
		line("deadline ", s.deadline);
		line("watchdog ", s.watchdog);
		line("thawed by the watchdog at ", s.thawed_at);
		for (size_t i = 0; i < s.n; i++) {
			out_str(&qout, s.thawed_at ? "was frozen " : "frozen ");
			out_str(&qout, s.targets[i]);
			out_chr(&qout, '\n');
		}
	}
	state_free(&s);
	return EXIT_OK;
}
