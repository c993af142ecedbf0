// SPDX-License-Identifier: GPL-2.0
/*
 * pipeline MS1 MS2 MS3: the parent forks three children; child i execs this binary again as
 * "pipeline --child MSi FD FORK_NS STATUS", burns CPU for MSi milliseconds, writes one line to the
 * parent through the pipe FD and exits with status i + 1. The parent reads the three lines (each
 * read waits for the next writer) and reaps the children. Prints, as JSON on stdout, what it
 * measured itself: each child's pid, exit status and lifetime from just before its fork to just
 * before its exit (CLOCK_MONOTONIC, so the child can subtract its parent's timestamp) as "ms", and
 * from just after fork() returned in the parent as "ms_min" (a loaded host can preempt the parent
 * between its clock read and the fork: the fork happened between the two), "reaped_ms" from before
 * the fork to when waitpid() returned (after the exit, whatever delayed it), and its own lifetime
 * from main() to the end; and "reads": per read() that returned data, the pids whose lines
 * it returned, in write order (on a loaded host two children can finish before the parent reads
 * again: one read then returns both lines, and only the last of them ended its wait).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "workload.h"

__attribute__((noinline)) void pipeline_burn(double ms)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(ms * 1e6);

	while (now_ns(CLOCK_MONOTONIC) < end)
		BURN_LOOP(2000);
}

static int child(double ms, int out, uint64_t forked, int status)
{
	char line[64];
	int n;

	pipeline_burn(ms);
	uint64_t end = now_ns(CLOCK_MONOTONIC);

	n = snprintf(line, sizeof(line), "%d %.3f %llu\n", getpid(), (end - forked) / 1e6,
		     (unsigned long long)end);
	if (write(out, line, (size_t)n) != n)
		return 100;
	return status;
}

int main(int argc, char **argv)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	pid_t pids[3];
	uint64_t before[3], forked[3], reaped[3];
	int status[3], fds[2];
	char buf[256], lines[3][64];
	int nlines = 0, nreads = 0, read_first[3], read_end[3];
	size_t have = 0;

	if (argc == 6 && !strcmp(argv[1], "--child"))
		return child(atof(argv[2]), atoi(argv[3]), strtoull(argv[4], NULL, 10),
			     atoi(argv[5]));
	if (argc != 4) {
		fprintf(stderr, "usage: pipeline MS1 MS2 MS3\n");
		return 2;
	}
	if (pipe(fds))
		return 1;
	for (int i = 0; i < 3; i++) {
		char fd[16], ts[32], st[8];

		snprintf(fd, sizeof(fd), "%d", fds[1]);
		before[i] = now_ns(CLOCK_MONOTONIC);
		snprintf(ts, sizeof(ts), "%llu", (unsigned long long)before[i]);
		snprintf(st, sizeof(st), "%d", i + 1);
		pids[i] = fork();
		if (pids[i] == 0) {
			close(fds[0]);
			execl("/proc/self/exe", "pipeline", "--child", argv[1 + i], fd, ts, st,
			      (char *)NULL);
			_exit(127);
		}
		forked[i] = now_ns(CLOCK_MONOTONIC);
	}
	close(fds[1]);
	while (nlines < 3) {
		ssize_t n = read(fds[0], buf + have, sizeof(buf) - 1 - have);
		char *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		read_first[nreads] = nlines;
		while (nlines < 3 && (nl = strchr(buf, '\n'))) {
			*nl = '\0';
			snprintf(lines[nlines++], sizeof(lines[0]), "%s", buf);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		if (nlines > read_first[nreads])
			read_end[nreads++] = nlines;
	}
	for (int i = 0; i < 3; i++) {
		waitpid(pids[i], &status[i], 0);
		reaped[i] = now_ns(CLOCK_MONOTONIC);
	}
	printf("{\"pid\": %d, \"children\": [", getpid());
	for (int i = 0; i < 3; i++) {
		int pid = 0;
		double ms = 0;
		unsigned long long end = 0;

		for (int k = 0; k < nlines; k++)
			if (sscanf(lines[k], "%d %lf %llu", &pid, &ms, &end) == 3 && pid == pids[i])
				break;
		if (pid != pids[i])
			ms = -1.0, end = forked[i];
		printf("%s{\"pid\": %d, \"status\": %d, \"ms\": %.3f, \"ms_min\": %.3f, "
		       "\"reaped_ms\": %.3f}",
		       i ? ", " : "", pids[i], WEXITSTATUS(status[i]), ms,
		       ((double)end - (double)forked[i]) / 1e6, (reaped[i] - before[i]) / 1e6);
	}
	printf("], \"reads\": [");
	for (int r = 0; r < nreads; r++) {
		printf("%s[", r ? ", " : "");
		for (int k = read_first[r]; k < read_end[r]; k++)
			printf("%s%d", k > read_first[r] ? ", " : "", atoi(lines[k]));
		printf("]");
	}
	printf("], \"ms\": %.3f}\n", (now_ns(CLOCK_MONOTONIC) - t0) / 1e6);
	return 0;
}
