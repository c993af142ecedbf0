// SPDX-License-Identifier: GPL-2.0
/* spin SECONDS: burn CPU in spin_hot() for SECONDS (0 = until killed). Prints its pid first. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "workload.h"

__attribute__((noinline)) void spin_hot(double secs)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);

	while (secs <= 0 || now_ns(CLOCK_MONOTONIC) < end)
		BURN_LOOP(20000);
}

int main(int argc, char **argv)
{
	printf("%d\n", getpid());
	fflush(stdout);
	spin_hot(argc > 1 ? atof(argv[1]) : 0);
	return 0;
}
