/* One mountinfo line, whatever its bytes: a valid first line makes the
 * table mountinfo, so the input always meets the mountinfo parser. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n' || !data[i])
			return -1; /* not one line: keep it out of the corpus */
	fuzz_mtab("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n", data, size);
	return 0;
}
