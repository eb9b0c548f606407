/* Option parsing shared by the applets: short bundles (-vm X, -mX), long
 * options (--timeout 5, --timeout=5), operands anywhere, "--", and --help. */
#include <string.h>

#include "qfs.h"

void opt_init(struct optstate *s, char **argv)
{
	memset(s, 0, sizeof(*s));
	s->argv = argv;
	s->i = 1;
	s->dashdash = -1;
}

static void help(void)
{
	out_str(&qout, applet_usage);
	quit(EXIT_OK); /* --help: option parsing, an applet's startup only */
}

static const char *need_arg(struct optstate *s, const char *shown)
{
	const char *a = s->argv[s->i];
	if (!a)
		usage_error("option requires an argument", shown);
	s->i++;
	return a;
}

static int long_opt(struct optstate *s, const struct opt *opts, const char *word)
{
	const char *eq = strchr(word, '=');
	size_t len = eq ? (size_t)(eq - word) : strlen(word);
	const char *shown = s->argv[s->i - 1];
	if (len == 4 && !strncmp(word, "help", 4))
		help();
	for (const struct opt *o = opts; o->key; o++) {
		if (!o->name || strlen(o->name) != len || strncmp(o->name, word, len) != 0)
			continue;
		if (!o->arg && eq)
			usage_error("option takes no argument", shown);
		s->arg = !o->arg ? NULL : eq ? eq + 1 : need_arg(s, shown);
		return (unsigned char)o->key;
	}
	usage_error("unknown option", shown);
}

static int short_opt(struct optstate *s, const struct opt *opts)
{
	char shown[3] = {'-', *s->next++, 0};
	if (shown[1] == 'h')
		help();
	for (const struct opt *o = opts; o->key; o++) {
		if (o->key != shown[1])
			continue;
		s->arg = NULL;
		if (o->arg)
			s->arg = *s->next ? s->next : need_arg(s, shown);
		if (o->arg || !*s->next)
			s->next = NULL;
		return (unsigned char)o->key;
	}
	usage_error("unknown option", shown);
}

/* Returns the next option's key, or 0 when done; operands are gathered at
 * argv[0..nops) (argv[0] itself is no longer needed). */
int opt_next(struct optstate *s, const struct opt *opts)
{
	if (s->next)
		return short_opt(s, opts);
	for (char *a; (a = s->argv[s->i]);) {
		s->i++;
		if (s->dashdash >= 0 || a[0] != '-' || !a[1]) {
			s->argv[s->nops++] = a;
		} else if (!strcmp(a, "--")) {
			s->dashdash = s->nops;
		} else if (a[1] == '-') {
			return long_opt(s, opts, a + 2);
		} else {
			s->next = a + 1;
			return short_opt(s, opts);
		}
	}
	s->argv[s->nops] = NULL;
	return 0;
}

/* The decimal number at s, at most max and 19 digits (so that it cannot
 * wrap): returns where it ends, or NULL when there is none or too large. */
const char *scan_uint(const char *s, unsigned long long max, unsigned long long *v)
{
	unsigned long long n = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (p == s || p - s > 19 || n > max)
		return NULL;
	*v = n;
	return p;
}

/* A whole string of digits. */
int parse_uint(const char *s, unsigned long long max, unsigned long long *v)
{
	const char *end = scan_uint(s, max, v);
	return end && !*end ? 0 : -1;
}

/* A duration in whole seconds, 1 to a day. */
unsigned opt_seconds(const char *s)
{
	unsigned long long v;
	if (parse_uint(s, 86400, &v) || !v)
		usage_error("invalid number of seconds", s);
	return (unsigned)v;
}
