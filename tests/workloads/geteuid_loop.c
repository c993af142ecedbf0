// SPDX-License-Identifier: GPL-2.0
/* geteuid_loop N: N geteuid() syscalls (raw, not cached by libc); prints the wall time in seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "workload.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 4000000;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);

	for (long i = 0; i < n; i++)
		syscall(SYS_geteuid);
	printf("%.4f\n", (now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	return 0;
}
