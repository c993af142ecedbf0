// SPDX-License-Identifier: GPL-2.0
/*
 * deepstacks DEPTHS MS: for d = 1 .. DEPTHS, recurse d frames deep through deep_step() and burn CPU
 * in deep_leaf() for about MS milliseconds. Every depth is a distinct user stack, so a profiler's
 * stack storage sees DEPTHS different stacks whatever the address-space layout.
 */
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

__attribute__((noinline)) void deep_leaf(uint64_t deadline)
{
	while (now_ns(CLOCK_MONOTONIC) < deadline)
		BURN_LOOP(20000);
}

/* Work after the call keeps the compiler from turning the recursion into a loop. */
__attribute__((noinline)) void deep_step(int left, uint64_t deadline)
{
	if (left > 0)
		deep_step(left - 1, deadline);
	else
		deep_leaf(deadline);
	workload_sink += (uint64_t)left;
}

int main(int argc, char **argv)
{
	int depths = argc > 1 ? atoi(argv[1]) : 100;
	int ms = argc > 2 ? atoi(argv[2]) : 10;

	if (depths <= 0 || depths > 1000 || ms <= 0) {
		fprintf(stderr, "usage: deepstacks DEPTHS(1-1000) MS\n");
		return 2;
	}
	for (int d = 1; d <= depths; d++)
		deep_step(d, now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ull);
	return 0;
}
