// SPDX-License-Identifier: GPL-2.0
/*
 * rssgrow RATE_MIB_S MAX_MIB: grow the resident set at RATE_MIB_S MiB per second (pages touched
 * every 50 ms, on a schedule of wall time, so a slow start catches up) up to MAX_MIB, then hold it
 * until killed. Prints its pid first, then "start UNIX_SECONDS RSS_BYTES" when growth begins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workload.h"

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
	double rate = argc > 1 ? atof(argv[1]) : 1, max = argc > 2 ? atof(argv[2]) : 256;
	size_t total = (size_t)(max * 1048576), page = (size_t)sysconf(_SC_PAGESIZE), done = 0;
	char *mem;
	uint64_t t0;

	if (rate <= 0 || max <= 0) {
		fprintf(stderr, "usage: rssgrow RATE_MIB_S MAX_MIB\n");
		return 1;
	}
	mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("%d\n", getpid());
	t0 = now_ns(CLOCK_MONOTONIC);
	printf("start %.3f %ld\n", now_ns(CLOCK_REALTIME) / 1e9, rss_bytes());
	fflush(stdout);
	for (;;) {
		double el = (now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
		size_t want = (size_t)(el * rate * 1048576);

		if (want > total)
			want = total;
		for (; done + page <= want; done += page)
			mem[done] = 1; /* one write per page makes it resident */
		usleep(50000);
	}
	return 0;
}
