// SPDX-License-Identifier: GPL-2.0
/*
 * jit SECONDS: copy a small counting loop into an anonymous executable mapping, name it
 * "jit_hot_loop" in /tmp/perf-PID.map (the perf JIT convention), and run it for SECONDS. Profilers
 * must name the generated code from the map file. Prints its pid first. Removes the map file at exit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "workload.h"

/* mov %rdi,%rax; 1: dec %rax; jnz 1b; ret */
static const unsigned char code[] = { 0x48, 0x89, 0xf8, 0x48, 0xff, 0xc8, 0x75, 0xfb, 0xc3 };
static char map_path[64];

static void cleanup(int sig)
{
	unlink(map_path);
	if (sig)
		_exit(0);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3;
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);
	long (*fn)(long);
	void *mem;
	FILE *f;

	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (mem == MAP_FAILED)
		return 1;
	memcpy(mem, code, sizeof(code));
	fn = (long (*)(long))mem;
	snprintf(map_path, sizeof(map_path), "/tmp/perf-%d.map", getpid());
	f = fopen(map_path, "w");
	if (!f)
		return 1;
	fprintf(f, "%lx %zx jit_hot_loop\n", (unsigned long)mem, sizeof(code));
	fclose(f);
	signal(SIGTERM, cleanup);
	signal(SIGINT, cleanup);
	printf("%d\n", getpid());
	fflush(stdout);
	while (now_ns(CLOCK_MONOTONIC) < end)
		workload_sink += fn(1000000);
	cleanup(0);
	return 0;
}
