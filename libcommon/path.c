/* Paths built from a directory and a name. */
#include <stdlib.h>
#include <string.h>

#include "qfs.h"

char *path_join(const char *dir, const char *name)
{
	char *p = must(malloc(strlen(dir) + strlen(name) + 2)); /* hook_load and --install: startup only */
	stpcpy(stpcpy(stpcpy(p, dir), "/"), name);
	return p;
}
