// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong N: two processes pass one byte back and forth over two pipes N times (2N context
 * switches at least); prints the wall time in seconds. A scheduler-heavy load for run-queue and
 * off-CPU tracing benchmarks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "workload.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	int ab[2], ba[2];
	uint64_t t0;
	char c = 0;

	if (pipe(ab) || pipe(ba))
		return 1;
	t0 = now_ns(CLOCK_MONOTONIC);
	if (fork() == 0) {
		for (long i = 0; i < n; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	for (long i = 0; i < n; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			return 1;
	wait(NULL);
	printf("%.4f\n", (now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	return 0;
}
