// SPDX-License-Identifier: GPL-2.0
/*
 * fpleaf SECONDS: frame pointers everywhere but in the hot leaf (built with
 * -momit-leaf-frame-pointer, its own Makefile rule), like every libc syscall wrapper: a
 * frame-pointer walk from inside fpleaf_hot skips its caller fpleaf_caller; CFI does not.
 */
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

__attribute__((noinline)) uint64_t fpleaf_hot(uint64_t x)
{
	for (int i = 0; i < 100000; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

__attribute__((noinline)) uint64_t fpleaf_caller(uint64_t x)
{
	uint64_t v = fpleaf_hot(x);

	workload_sink += v;
	return v + 1;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2;
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9), n = 0;

	while (now_ns(CLOCK_MONOTONIC) < end)
		workload_sink += fpleaf_caller(n++);
	printf("calls=%llu\n", (unsigned long long)n);
	return 0;
}
