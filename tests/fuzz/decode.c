/* decode_mntname: never grows, never reads past the end, and undoes
 * out_escaped exactly; a name without a backslash stays as it is. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct out o = {-1, 1, 0, 0, NULL};
	check(s != NULL);
	memcpy(s, data, size);
	s[size] = 0;
	size_t len = strlen(s), n = decode_mntname(s);
	check(n <= len && s[n] == 0 && strlen(s) <= n);
	if (!memchr(data, '\\', len))
		check(n == len && !memcmp(s, data, len));

	/* escaped and decoded: the same bytes again */
	memcpy(s, data, len);
	s[len] = 0;
	out_escaped(&o, s);
	out_chr(&o, 0);
	check(o.buf != NULL && o.len == escaped_len(s) + 1);
	check(decode_mntname(o.buf) == len && !memcmp(o.buf, s, len));
	free(o.buf);
	free(s);
	return 0;
}
