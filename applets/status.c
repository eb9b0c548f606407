/* status: which freezes are in force? */
#include "qfs.h"

const char status_usage[] =
	"Usage: qfs status [-vJ]\n"
	"'frozen' while a qfs freeze holds a filesystem, else 'thawed': --verbose --json\n"
	"Exit codes: 0 success, 1 the holds could not be read, 2 usage error.\n";

static const struct opt opts[] = {{"verbose", 'v', 0}, {"json", 'J', 0}, {0, 0, 0}};

/* JSON "key":N and -v's "key N" lines; what is not there (0) is left out. */
static const char *const names[NVALUES] = {NULL, NULL, "time", "deadline", "watchdog", NULL, "frozen_ms"};
static const char *const words[NVALUES] = {"pid ", NULL, "since ", "deadline ", "watchdog ", NULL, "frozen_ms "};

static void json(const struct hold *h)
{
	out_str(&qout, "{\"pid\":");
	out_num(&qout, h->v[H_PID]);
	out_str(&qout, ",\"kind\":\"");
	out_str(&qout, hold_kinds[h->kind]);
	out_chr(&qout, '"');
	for (int k = H_TIME; k < NVALUES; k++) {
		if (!names[k] || !h->v[k])
			continue;
		out_str(&qout, ",\"");
		out_str(&qout, names[k]);
		out_str(&qout, "\":");
		out_num(&qout, h->v[k]);
	}
	out_str(&qout, ",\"mountpoints\":[");
	for (size_t i = 0; i < h->n; i++) {
		if (i)
			out_chr(&qout, ',');
		json_str(&qout, h->fs[i].target);
	}
	out_str(&qout, "]}");
}

static void block(const struct hold *h)
{
	out_str(&qout, "kind ");
	out_str(&qout, hold_kinds[h->kind]);
	out_chr(&qout, '\n');
	for (int k = 0; k < NVALUES; k++) {
		if (!words[k] || !h->v[k])
			continue;
		out_str(&qout, words[k]);
		out_num(&qout, h->v[k]);
		out_chr(&qout, '\n');
	}
	for (size_t i = 0; i < h->n; i++) {
		out_str(&qout, "frozen ");
		out_escaped(&qout, h->fs[i].target);
		out_chr(&qout, '\n');
	}
}

int status_main(int argc, char **argv)
{
	struct optstate o;
	struct holds hs;
	int verbose = 0, as_json = 0, k, first = 1;
	(void)argc;
	opt_init(&o, argv);
	while ((k = opt_next(&o, opts)))
		k == 'v' ? (verbose = 1) : (as_json = 1);
	if (o.nops)
		usage_error("unexpected argument", argv[0]);
	if (holds_open(&hs, 0))
		return EXIT_FAIL;
	const char *word = "thawed";
	for (size_t i = 0; i < hs.n; i++)
		if (hs.h[i].live && hs.h[i].n)
			word = "frozen";
	if (as_json) {
		out_str(&qout, "{\"status\":\"");
		out_str(&qout, word);
		out_str(&qout, "\",\"freezes\":[");
	} else {
		out_str(&qout, word);
		out_chr(&qout, '\n');
	}
	for (size_t i = 0; i < hs.n; i++) {
		if (!hs.h[i].live || !(as_json || verbose))
			continue;
		if (!first)
			out_str(&qout, as_json ? "," : "\n");
		first = 0;
		as_json ? json(&hs.h[i]) : block(&hs.h[i]);
	}
	if (as_json)
		out_str(&qout, "]}\n");
	holds_close(&hs);
	return EXIT_OK;
}
