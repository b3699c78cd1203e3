/*
 * fuzz.h - what the fuzz targets share.  Each target defines
 * LLVMFuzzerTestOneInput; built with -fsanitize=fuzzer, libFuzzer drives
 * it, otherwise replay.c's main() runs it on every file of a corpus.
 * A broken invariant is abort(), which both drivers report as a crash.
 */
#ifndef IPK_FUZZ_H
#define IPK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Inputs above this do not fit a pipe at once and are skipped. */
#define FUZZ_MAX_INPUT (60u * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
			        __FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
