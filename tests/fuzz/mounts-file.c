/* A whole table in /proc/self/mounts format: a first line that is not
 * mountinfo decides the format for all that follow. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_mtab("/dev/qfs-no-such-disk / ext4 rw 0 0\n", data, size);
	return 0;
}
