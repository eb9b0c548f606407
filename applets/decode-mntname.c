/* decode-mntname: undo the kernel's escaping of mount names. */
#include <string.h>

#include "qfs.h"

const char decode_mntname_usage[] =
	"Usage: qfs decode-mntname [NAME]...\n"
	"Each NAME (else each line of stdin) with mountinfo's escapes decoded.\n"
	"Exit codes: 0 success, 1 standard input could not be read, 2 usage error.\n";

static void put_decoded(char *s)
{
	out_mem(&qout, s, decode_mntname(s));
	out_chr(&qout, '\n');
}

int decode_mntname_main(int argc, char **argv)
{
	struct optstate s;
	static const struct opt none[] = {{0, 0, 0}};
	size_t len;
	char *buf, *p;
	(void)argc;
	opt_init(&s, argv);
	while (opt_next(&s, none))
		;
	for (int i = 0; i < s.nops; i++)
		put_decoded(argv[i]);
	if (s.nops)
		return EXIT_OK;
	buf = read_file("/dev/stdin", &len);
	if (!buf) {
		complain_errno("standard input", NULL);
		return EXIT_FAIL;
	}
	for (p = buf; p < buf + len;) {
		char *nl = memchr(p, '\n', (size_t)(buf + len - p));
		char *end = nl ? nl : buf + len;
		*end = 0;
		put_decoded(p);
		p = end + 1;
	}
	return EXIT_OK;
}
