/* What main.c would provide, for fuzz targets that link libcommon alone. */
#include <stddef.h>
#include <stdint.h>

#include "qfs.h"

const char *applet_name = "qfs fuzz";
const char *applet_usage = "";

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Malformed input is the point: its one-line complaints would drown
 * libFuzzer's own output, so stderr writes go nowhere. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	qerr.fd = -1;
	return 0;
}
