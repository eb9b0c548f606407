/* A whole mount table, either format (as mtab_read would hand it over). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_mtab("", data, size);
	return 0;
}
