// SPDX-License-Identifier: GPL-2.0
/*
 * shortlived N MS [PARALLEL]: start N processes, each a fresh exec of this binary (so each has its own
 * address-space layout), named "slchild", that burn CPU in shortlived_hot() for about MS milliseconds
 * and exit. At most PARALLEL (default 2) run at once. Profilers must resolve their stacks although
 * every one of them is gone before the capture ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "workload.h"

__attribute__((noinline)) void shortlived_hot(uint64_t deadline)
{
	while (now_ns(CLOCK_MONOTONIC) < deadline)
		BURN_LOOP(20000);
}

static int child(int ms)
{
	prctl(PR_SET_NAME, "slchild");
	shortlived_hot(now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ull);
	return 0;
}

int main(int argc, char **argv)
{
	int n, ms, par, running = 0, failed = 0;
	char msbuf[16];

	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return child(atoi(argv[2]));
	n = argc > 1 ? atoi(argv[1]) : 100;
	ms = argc > 2 ? atoi(argv[2]) : 40;
	par = argc > 3 ? atoi(argv[3]) : 2;
	if (n <= 0 || ms <= 0 || par <= 0) {
		fprintf(stderr, "usage: shortlived N MS [PARALLEL]\n");
		return 1;
	}
	snprintf(msbuf, sizeof(msbuf), "%d", ms);
	for (int i = 0; i < n; i++) {
		int st;

		if (running == par) {
			if (wait(&st) > 0 && (!WIFEXITED(st) || WEXITSTATUS(st)))
				failed++;
			running--;
		}
		pid_t pid = fork();

		if (pid == 0) {
			execl("/proc/self/exe", argv[0], "--child", msbuf, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			running++;
	}
	while (running-- > 0) {
		int st;

		if (wait(&st) > 0 && (!WIFEXITED(st) || WEXITSTATUS(st)))
			failed++;
	}
	printf("started=%d failed=%d\n", n, failed);
	return failed ? 1 : 0;
}
