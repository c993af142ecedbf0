// SPDX-License-Identifier: GPL-2.0
/*
 * forker SECONDS: a process tree with known functions. The parent burns in forker_parent(), a forked
 * child in forker_child(), and that child forks a grandchild that burns in forker_grandchild(); each
 * for about SECONDS of CPU. The parent waits for both. For tests of following a COMMAND's descendants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "workload.h"

static void burn_for(double secs)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);

	while (now_ns(CLOCK_MONOTONIC) < end)
		BURN_LOOP(20000);
}

__attribute__((noinline)) void forker_parent(double s)
{
	burn_for(s);
}

__attribute__((noinline)) void forker_child(double s)
{
	burn_for(s);
}

__attribute__((noinline)) void forker_grandchild(double s)
{
	burn_for(s);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1;
	pid_t c = fork();

	if (c == 0) {
		pid_t g = fork();

		if (g == 0) {
			forker_grandchild(secs);
			_exit(0);
		}
		forker_child(secs);
		waitpid(g, NULL, 0);
		_exit(0);
	}
	forker_parent(secs);
	waitpid(c, NULL, 0);
	printf("forker done\n");
	return 0;
}
