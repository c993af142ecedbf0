// SPDX-License-Identifier: GPL-2.0
/*
 * napper SECONDS THREADS: THREADS threads (1 = the main thread alone) each call nap_loop ->
 * napper_nap -> nanosleep(2 ms) until SECONDS pass. napper_nap is what blocks, through libc's
 * nanosleep and clock_nanosleep, which set up no frame pointer: a frame-pointer walk from the
 * syscall skips napper_nap. With several threads glibc takes its cancellation path, where the return
 * address sits deeper than [rsp].
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

static double secs = 2;

__attribute__((noinline)) void napper_nap(void)
{
	struct timespec ts = { 0, 2000000 };

	nanosleep(&ts, NULL);
	workload_sink++;
}

__attribute__((noinline)) void nap_loop(void)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);

	while (now_ns(CLOCK_MONOTONIC) < end)
		napper_nap();
}

static void *thread_main(void *arg)
{
	(void)arg;
	nap_loop();
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	pthread_t t[16];

	secs = argc > 1 ? atof(argv[1]) : 2;
	if (threads < 1 || threads > 16) {
		fprintf(stderr, "usage: napper SECONDS THREADS(1..16)\n");
		return 1;
	}
	for (int i = 1; i < threads; i++)
		pthread_create(&t[i], NULL, thread_main, NULL);
	if (threads == 1)
		nap_loop();
	for (int i = 1; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("napped threads=%d\n", threads);
	return 0;
}
