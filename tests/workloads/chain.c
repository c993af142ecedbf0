// SPDX-License-Identifier: GPL-2.0
/*
 * chain SECONDS [DEPTH]: burn CPU in chain_leaf, always called as main -> chain_driver -> chain_mid
 * -> chain_leaf (chain_mid calling itself DEPTH - 1 times first: make bench's deep stacks). Built -O2 -fomit-frame-pointer (its own Makefile rule), as distributions build their
 * packages: no frame pointer anywhere, so only CFI (.eh_frame) finds the callers. A stripped copy
 * (chain-stripped) has no symbol tables at all: its functions can only be named by their FDEs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

#define NOINLINE __attribute__((noinline))

NOINLINE uint64_t chain_leaf(uint64_t x)
{
	/* Enough live values that gcc spills and moves rsp: CFA rows change inside the loop body. */
	uint64_t a = x, b = x * 3, c = x ^ 0x55;

	for (int i = 0; i < 200000; i++) {
		a = a * 6364136223846793005ull + b;
		b ^= a >> 7;
		c += a ^ b;
	}
	return a + b + c;
}

static int depth = 1;

NOINLINE uint64_t chain_mid(uint64_t x, int d)
{
	uint64_t v = d > 1 ? chain_mid(x, d - 1) : chain_leaf(x + 1);

	workload_sink += v; /* no tail call: chain_mid's frame stays */
	return v;
}

NOINLINE uint64_t chain_driver(double secs)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9), n = 0;

	while (now_ns(CLOCK_MONOTONIC) < end)
		workload_sink += chain_mid(n++, depth);
	return n;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2;
	uint64_t n;

	depth = argc > 2 ? atoi(argv[2]) : 1;
	if (depth < 1 || depth > 100) {
		fprintf(stderr, "usage: chain SECONDS [DEPTH 1..100]\n");
		return 1;
	}
	n = chain_driver(secs);

	printf("calls=%llu\n", (unsigned long long)n);
	return 0;
}
