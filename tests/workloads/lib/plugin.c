// SPDX-License-Identifier: GPL-2.0
/*
 * The library dlopener loads mid-capture: plugin_run -> plugin_outer -> plugin_inner, built -O2
 * -fomit-frame-pointer (libplugin.so's Makefile rule).
 */
#include <stdint.h>
#include <time.h>

static volatile uint64_t plugin_sink;

__attribute__((noinline)) uint64_t plugin_inner(uint64_t x)
{
	uint64_t a = x, b = x ^ 0x1234;

	for (int i = 0; i < 100000; i++) {
		a = a * 6364136223846793005ull + b;
		b += a >> 11;
	}
	return a ^ b;
}

__attribute__((noinline)) uint64_t plugin_outer(uint64_t x)
{
	uint64_t v = plugin_inner(x);

	plugin_sink += v;
	return v;
}

unsigned long plugin_run(double secs)
{
	struct timespec ts;
	uint64_t end, n = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + (uint64_t)(secs * 1e9);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec >= end)
			break;
		plugin_sink += plugin_outer(n++);
	}
	return n;
}
