/* Shared by the fuzz targets (support.c): libFuzzer's entry points, a strict
 * JSON string check, and the mount table invariants. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant aborts: a crash is what libFuzzer reports. */
void check(int ok);
void *xmalloc(size_t n); /* malloc or abort */
int json_string_ok(const char *s, size_t len, const char *want);
void fuzz_mtab(const char *prefix, const uint8_t *data, size_t size);

#endif
