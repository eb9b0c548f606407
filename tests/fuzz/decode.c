/* decode_mntname: never grows, never reads past the end, and undoes
 * out_escaped exactly; a name without a backslash stays as it is.
 * out_oneline: no control character gets through. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	struct out o = {-1, 1, 0, 0, NULL};
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
	if (!o.buf)
		abort(); /* out of memory */
	check(o.len == escaped_len(s) + 1);
	check(decode_mntname(o.buf) == len && !memcmp(o.buf, s, len));

	/* a message part: one line, nothing lost but control characters */
	o.len = 0;
	out_oneline(&o, s);
	check(o.len >= len && !memchr(o.buf, '\n', o.len) && !memchr(o.buf, 0x7f, o.len));
	for (size_t i = 0; i < o.len; i++)
		check((unsigned char)o.buf[i] >= ' ');
	free(o.buf);
	free(s);
	return 0;
}
