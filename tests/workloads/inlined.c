// SPDX-License-Identifier: GPL-2.0
/*
 * inlined SECONDS: burn CPU for SECONDS in inl_mix(), a function always inlined into inl_outer():
 * its samples have one address and two source positions (inl_mix's loop, and the call in
 * inl_outer), so a profiler with DWARF lines shows both. Prints the line numbers to expect at the
 * end.
 */
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

enum { MIX_FIRST = __LINE__ + 1 }; /* inl_mix's lines: MIX_FIRST .. MIX_LAST */
static inline __attribute__((always_inline)) uint64_t inl_mix(uint64_t x)
{
	for (int i = 0; i < 20000; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}
enum { MIX_LAST = __LINE__ - 1 };

static int call_line; /* the line of the inlined call in inl_outer */

__attribute__((noinline)) void inl_outer(double secs)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9), x = workload_sink;

	while (now_ns(CLOCK_MONOTONIC) < end) {
		enum { CALL = __LINE__ + 1 };
		x = inl_mix(x);
		call_line = CALL;
	}
	workload_sink = x;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2;

	if (secs <= 0) {
		fprintf(stderr, "usage: inlined SECONDS\n");
		return 1;
	}
	inl_outer(secs);
	printf("mix_first=%d mix_last=%d call_line=%d\n", MIX_FIRST, MIX_LAST, call_line);
	return 0;
}
