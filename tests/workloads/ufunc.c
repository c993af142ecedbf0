// SPDX-License-Identifier: GPL-2.0
/*
 * ufunc SECONDS MS [v]: call ufunc_target(MS) in a loop for SECONDS; each call takes MS milliseconds
 * of wall time (it spins on the monotonic clock, so scheduling noise hardly shifts it). For uprobe
 * latency tests. Prints its pid first, then how many calls it made; with "v" also each call's wall
 * time as the caller measured it ("call MS" lines, in order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "workload.h"

__attribute__((noinline)) int ufunc_target(double ms)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(ms * 1e6);
	int spins = 0;

	while (now_ns(CLOCK_MONOTONIC) < end)
		spins++;
	return spins;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3, ms = argc > 2 ? atof(argv[2]) : 5;
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);
	int verbose = argc > 3 && argv[3][0] == 'v';
	long calls = 0;

	printf("%d\n", getpid());
	fflush(stdout);
	while (now_ns(CLOCK_MONOTONIC) < end) {
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);

		ufunc_target(ms);
		if (verbose)
			printf("call %.6f\n", (now_ns(CLOCK_MONOTONIC) - t0) / 1e6);
		calls++;
	}
	printf("calls=%ld\n", calls);
	return 0;
}
