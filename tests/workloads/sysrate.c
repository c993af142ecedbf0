// SPDX-License-Identifier: GPL-2.0
/*
 * sysrate RATE SECONDS: getppid() at RATE calls per second for SECONDS (paced in 10 ms batches on
 * the monotonic clock; a batch that falls behind is not made up in a burst). Prints the calls made
 * and the rate achieved, "calls=N rate=R".
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "workload.h"

int main(int argc, char **argv)
{
	double rate = argc > 1 ? atof(argv[1]) : 100000, secs = argc > 2 ? atof(argv[2]) : 1;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), end = t0 + (uint64_t)(secs * 1e9), next = t0;
	long per_batch = (long)(rate / 100 + 0.5), calls = 0;
	uint64_t now;

	if (per_batch < 1)
		per_batch = 1;
	while ((now = now_ns(CLOCK_MONOTONIC)) < end) {
		if (now < next)
			continue;
		for (long i = 0; i < per_batch; i++)
			syscall(SYS_getppid);
		calls += per_batch;
		next += 10000000;
		if (next + 10000000 < now)
			next = now; /* behind: no burst to catch up */
	}
	printf("calls=%ld rate=%.0f\n", calls, calls / ((now_ns(CLOCK_MONOTONIC) - t0) / 1e9));
	return 0;
}
