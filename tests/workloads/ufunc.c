// SPDX-License-Identifier: GPL-2.0
/*
 * ufunc SECONDS MS: call ufunc_target(MS) in a loop for SECONDS; each call takes MS milliseconds of
 * wall time (it spins on the monotonic clock, so scheduling noise hardly shifts it). For uprobe
 * latency tests. Prints its pid first, then how many calls it made.
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
	long calls = 0;

	printf("%d\n", getpid());
	fflush(stdout);
	while (now_ns(CLOCK_MONOTONIC) < end) {
		ufunc_target(ms);
		calls++;
	}
	printf("calls=%ld\n", calls);
	return 0;
}
