// SPDX-License-Identifier: GPL-2.0
/*
 * cpubound ITERS [THREADS]: a fixed CPU-bound job, one thread per CPU by default, each doing ITERS
 * million rounds in a few nested functions (so stacks have depth). Prints the wall time in seconds:
 * the benchmark's measure of how much a profiler slows a busy machine.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "workload.h"

static uint64_t iters;

__attribute__((noinline)) static void leaf_work(uint64_t n)
{
	BURN_LOOP(n);
}

__attribute__((noinline)) static void mid_work(uint64_t n)
{
	for (int i = 0; i < 10; i++)
		leaf_work(n / 10);
}

__attribute__((noinline)) static void *thread_main(void *arg)
{
	(void)arg;
	for (uint64_t m = 0; m < iters; m++)
		mid_work(1000000);
	return NULL;
}

int main(int argc, char **argv)
{
	long nthreads = argc > 2 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t *t;
	uint64_t t0;

	iters = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000;
	if (nthreads <= 0 || !iters) {
		fprintf(stderr, "usage: cpubound ITERS_MILLIONS [THREADS]\n");
		return 1;
	}
	t = calloc(nthreads, sizeof(*t));
	t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, thread_main, NULL);
	for (long i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	printf("%.4f\n", (now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	free(t);
	return 0;
}
