// SPDX-License-Identifier: GPL-2.0
/* vigil: the subcommand table. */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "kernel/caps.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "profile", cmd_profile,
	  "sample on-CPU stacks: top table, flame graph, pprof, speedscope" },
	{ "offcpu", cmd_offcpu, "off-CPU time by blocked stack, wakers, or --wall (on + off CPU)" },
	{ "lat", cmd_lat,
	  "latency histograms: syscall, runq, bio, uprobe (text, JSON, Prometheus)" },
	{ "mem", cmd_mem,
	  "memory profiles: allocations in use or churned by stack, page faults, RSS, kernel" },
	{ "serve", cmd_serve,
	  "continuous profiling service: store, HTTP API, /metrics, pprof, web view" },
	{ "anomaly", cmd_anomaly,
	  "score a CSV time series for anomalies, online (timestamp,value,anomaly_score)" },
	{ "trace", cmd_trace,
	  "cross-process spans: processes, syscalls, functions, HTTP; Chrome trace, OTLP" },
	{ "forecast", cmd_forecast,
	  "forecast a CSV time series with 80%/95% intervals (line, Holt-Winters, ...)" },
	{ "rules", cmd_rules, "PromQL and Prometheus rule files offline: check, query" },
	{ "diff", cmd_diff,
	  "differential flame graph of two pprof profiles (red grew, blue shrank) and top changes" },
	{ "doctor", cmd_doctor, "what this kernel supports and what each missing feature costs" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: vigil COMMAND [OPTIONS]\n\n"
		     "Kernel-level profiler and tracer (eBPF).\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].what);
	fprintf(out, "\nRun 'vigil COMMAND --help' for a command's options and examples.\n"
		     "Examples:\n"
		     "  sudo vigil profile -o cpu.svg 10\n"
		     "  sudo vigil offcpu -p 1234 -o waits.svg 10\n"
		     "  sudo vigil lat syscall -p 1234 -d 5\n"
		     "  sudo vigil mem -p 1234 -o heap.pb.gz 30\n"
		     "  sudo vigil serve --offcpu\n"
		     "  sudo vigil trace -o trace.json -- make -j2\n"
		     "  sudo vigil doctor\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("vigil %s\n", VIGIL_VERSION);
		return 0;
	}
	/* Least privilege: only the capabilities kernel/caps.c lists, whatever we were given. */
	caps__drop_unneeded();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vigil: unknown command '%s' (see 'vigil --help')\n", argv[1]);
	return 1;
}
