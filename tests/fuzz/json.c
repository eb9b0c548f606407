/* json_str: any bytes in, one valid JSON string out, from which every
 * byte can be read back (raw UTF-8, or \u00XX for a byte that is not). */
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
	json_str(&o, s);
	check(o.buf != NULL && json_string_ok(o.buf, o.len, s));
	free(o.buf);
	free(s);
	return 0;
}
