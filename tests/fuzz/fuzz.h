/* Shared by the fuzz targets: libFuzzer's entry point, and a check that
 * aborts, so that a broken invariant is a crash libFuzzer reports. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) ((cond) ? (void)0 : abort())

#endif
