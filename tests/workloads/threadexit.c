// SPDX-License-Identifier: GPL-2.0
/*
 * threadexit SECONDS EARLY_MS: the main thread sleeps for SECONDS in 20 ms naps; a second thread
 * naps for EARLY_MS and exits right away. Prints the early thread's tid. Off-CPU time of the early
 * thread is EARLY_MS: its exit is not a wait.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "workload.h"

static double early_ms = 100;

__attribute__((noinline)) void threadexit_nap(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
			       (long)((ms - 1000 * (time_t)(ms / 1000)) * 1e6) };

	nanosleep(&ts, NULL);
}

static void *early(void *arg)
{
	(void)arg;
	printf("early_tid=%ld\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	threadexit_nap(early_ms);
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3;
	uint64_t end;
	pthread_t t;

	early_ms = argc > 2 ? atof(argv[2]) : 100;
	if (secs <= 0 || early_ms < 0) {
		fprintf(stderr, "usage: threadexit SECONDS EARLY_MS\n");
		return 1;
	}
	end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);
	if (pthread_create(&t, NULL, early, NULL))
		return 1;
	pthread_join(t, NULL);
	while (now_ns(CLOCK_MONOTONIC) < end)
		threadexit_nap(20);
	printf("done\n");
	return 0;
}
