// SPDX-License-Identifier: GPL-2.0
/*
 * sleeper SECONDS SLEEP_MS WORK_MS: loop for SECONDS of wall time: burn WORK_MS of CPU in
 * sleeper_work(), then sleep SLEEP_MS with nanosleep() in sleeper_sleep(). With WORK_MS = 0 it only
 * sleeps; with WORK_MS = SLEEP_MS it half computes, half sleeps (on an idle host: on a busy one the
 * WORK_MS of CPU take longer). Prints how many sleeps it made, the CPU and wall time it measured and
 * the wall time it spent in sleeper_sleep().
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "workload.h"

__attribute__((noinline)) void sleeper_work(double ms)
{
	uint64_t end = now_ns(CLOCK_THREAD_CPUTIME_ID) + (uint64_t)(ms * 1e6);

	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		BURN_LOOP(2000);
}

/*
 * The syscall is made here, not through libc: libc's wrappers keep no frame pointer, so a
 * frame-pointer unwind from inside them skips their caller and this function would vanish from the
 * stack (perf shows the same). With the syscall inline, the user IP is in sleeper_sleep itself.
 */
__attribute__((noinline)) void sleeper_sleep(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
			       (long)((ms - 1000 * (time_t)(ms / 1000)) * 1e6) };
	register long rem __asm__("r10") = 0; /* the 4th argument: no remainder wanted */
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_clock_nanosleep), "D"((long)CLOCK_MONOTONIC), "S"(0L),
			   "d"(&ts), "r"(rem)
			 : "rcx", "r11", "memory");
	(void)ret;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3, sleep_ms = argc > 2 ? atof(argv[2]) : 20;
	double work_ms = argc > 3 ? atof(argv[3]) : 0;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), end = t0 + (uint64_t)(secs * 1e9);
	uint64_t slept = 0;
	long sleeps = 0;

	if (secs <= 0 || sleep_ms < 0 || work_ms < 0) {
		fprintf(stderr, "usage: sleeper SECONDS SLEEP_MS WORK_MS\n");
		return 1;
	}
	while (now_ns(CLOCK_MONOTONIC) < end) {
		if (work_ms > 0)
			sleeper_work(work_ms);
		uint64_t s0 = now_ns(CLOCK_MONOTONIC);

		sleeper_sleep(sleep_ms);
		slept += now_ns(CLOCK_MONOTONIC) - s0;
		sleeps++;
	}
	printf("sleeps=%ld cpu_ns=%llu wall_ns=%llu sleep_ns=%llu\n", sleeps,
	       (unsigned long long)now_ns(CLOCK_PROCESS_CPUTIME_ID),
	       (unsigned long long)(now_ns(CLOCK_MONOTONIC) - t0), (unsigned long long)slept);
	return 0;
}
