// SPDX-License-Identifier: GPL-2.0
/*
 * dlopener DELAY SECONDS LIB: wait DELAY seconds (so a capture already runs; DELAY "sig": until
 * SIGUSR1, which a test sends once the capture has started), dlopen LIB (built -O2 without frame
 * pointers: tests/workloads/lib/plugin.c) and call its plugin_run(SECONDS) from dlopener_call, then
 * exit. Frames inside the plugin unwind only through the library's CFI, which
 * the capture must learn of after it started.
 */
#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "workload.h"

__attribute__((noinline)) unsigned long dlopener_call(unsigned long (*run)(double), double secs)
{
	unsigned long v = run(secs);

	workload_sink += v;
	return v;
}

int main(int argc, char **argv)
{
	double delay = argc > 1 ? atof(argv[1]) : 0.5, secs = argc > 2 ? atof(argv[2]) : 1;
	unsigned long (*run)(double);
	void *h;

	if (argc < 4) {
		fprintf(stderr, "usage: dlopener DELAY SECONDS LIB\n");
		return 1;
	}
	if (!strcmp(argv[1], "sig")) {
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		printf("waiting\n");
		fflush(stdout);
		sigwait(&set, &sig);
	} else {
		usleep((useconds_t)(delay * 1e6));
	}
	h = dlopen(argv[3], RTLD_NOW);
	if (!h || !(run = (unsigned long (*)(double))dlsym(h, "plugin_run"))) {
		fprintf(stderr, "dlopener: %s\n", dlerror());
		return 1;
	}
	printf("plugin calls=%lu\n", dlopener_call(run, secs));
	return 0;
}
