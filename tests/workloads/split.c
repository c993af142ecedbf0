// SPDX-License-Identifier: GPL-2.0
/*
 * split PCT_A SECONDS: burn CPU in two functions, hot_alpha() and hot_beta(), so that hot_alpha gets
 * about PCT_A% of the thread's CPU time, interleaved in ~0.25 ms slices so that no sampling frequency
 * can beat against the pattern. Measures its own split with the thread CPU clock and prints
 * "alpha_ns=N beta_ns=N alpha_pct=P" at the end.
 */
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

__attribute__((noinline)) void hot_alpha(uint64_t iters)
{
	BURN_LOOP(iters);
}

__attribute__((noinline)) void hot_beta(uint64_t iters)
{
	BURN_LOOP(iters);
}

int main(int argc, char **argv)
{
	int pct = argc > 1 ? atoi(argv[1]) : 70;
	double secs = argc > 2 ? atof(argv[2]) : 3;
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);
	uint64_t a_ns = 0, b_ns = 0, t0, t1, t2, slice = 200000;
	unsigned int seed = 1;

	if (pct < 0 || pct > 100 || secs <= 0) {
		fprintf(stderr, "usage: split PCT_A SECONDS\n");
		return 1;
	}
	while (now_ns(CLOCK_MONOTONIC) < end) {
		/* Jitter the slice lengths a little; keep the ratio exact on average. */
		uint64_t n = slice + rand_r(&seed) % (slice / 4);

		t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		hot_alpha(n * pct / 100);
		t1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		hot_beta(n * (100 - pct) / 100);
		t2 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		a_ns += t1 - t0;
		b_ns += t2 - t1;
	}
	printf("alpha_ns=%llu beta_ns=%llu alpha_pct=%.2f\n", (unsigned long long)a_ns,
	       (unsigned long long)b_ns, 100.0 * a_ns / (double)(a_ns + b_ns));
	return 0;
}
