// SPDX-License-Identifier: GPL-2.0
/*
 * cxxhot SECONDS: burn CPU in a C++ method, vigil_demo::Spinner::spin(double), and an overload of a
 * free function, vigil_demo::mix(unsigned long) / mix(double), so a profile shows demangled names and
 * keeps overloads apart.
 */
#include <cstdio>
#include <cstdlib>

#include "workload.h"

namespace vigil_demo {

__attribute__((noinline)) unsigned long mix(unsigned long x)
{
	BURN_LOOP(2000);
	return x * 3 + workload_sink;
}

__attribute__((noinline)) unsigned long mix(double x)
{
	BURN_LOOP(2000);
	return (unsigned long)x + workload_sink;
}

struct Spinner {
	unsigned long acc = 0;
	__attribute__((noinline)) void spin(double secs);
};

void Spinner::spin(double secs)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);

	while (now_ns(CLOCK_MONOTONIC) < end) {
		acc += mix(acc);
		acc += mix((double)acc);
	}
}

} // namespace vigil_demo

int main(int argc, char **argv)
{
	vigil_demo::Spinner s;

	s.spin(argc > 1 ? atof(argv[1]) : 1);
	std::printf("acc=%lu\n", s.acc);
	return 0;
}
