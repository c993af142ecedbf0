/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers for the test workloads: CPU burning that the compiler cannot remove, and clocks. */
#ifndef VIGIL_WORKLOAD_H
#define VIGIL_WORKLOAD_H

#include <stdint.h>
#include <time.h>

static inline uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Spin on arithmetic for about `iters` rounds; the volatile sink keeps the loop alive. */
static volatile uint64_t workload_sink;
#define BURN_LOOP(iters)                                                           \
	do {                                                                       \
		uint64_t x_ = workload_sink + 1;                                   \
		for (uint64_t i_ = 0; i_ < (iters); i_++)                          \
			x_ = x_ * 6364136223846793005ull + 1442695040888963407ull; \
		workload_sink = x_;                                                \
	} while (0)

#endif
