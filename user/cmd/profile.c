// SPDX-License-Identifier: GPL-2.0
/*
 * vigil profile: sample on-CPU stacks at a fixed frequency on every CPU, aggregated in the kernel, then
 * symbolize and export them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/options.h"
#include "kernel/attach.h"
#include "collect/cpu.h"
#include "cmd/output.h"
#include "cmd/commands.h"
#include "export/export.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "util/log.h"
#include "collect/runner.h"
#include "model/profile.h"

struct profile_opts {
	unsigned long freq;
	bool idle;
	enum sample_event event;
};

static const char profile_help[] =
	"Usage: vigil profile [OPTIONS] [DURATION] [-- COMMAND [ARGS...]]\n"
	"\n"
	"Sample on-CPU stacks (user and kernel) at a fixed frequency on every CPU. Counts are\n"
	"aggregated in the kernel; symbols are resolved at the end, including for processes that\n"
	"exited during the capture. Runs for DURATION seconds, until Ctrl-C, or until COMMAND exits.\n"
	"COMMAND (and its children) count from its exec; vigil exits with COMMAND's status, and\n"
	"COMMAND's stdout goes to stderr when vigil writes its data to stdout (-f, the table).\n"
	"\n"
	"Options:\n"
	"  -p, --pid PID[,PID...]     only these processes; stops when all have exited\n"
	"  -L, --tid TID[,TID...]     only these threads\n"
	"  -c, --cgroup PATH          only tasks in this cgroup v2 (path, or relative to the mount)\n"
	"  -F, --frequency HZ         samples per second per CPU (default 99, 1..10000)\n"
	"  -U, --user-stacks-only     user stacks only\n"
	"  -K, --kernel-stacks-only   kernel stacks only\n"
	"  -I, --include-idle         include the idle task (excluded by default)\n"
	"  -o, --output FILE          write FILE; format from the extension: .folded, .svg,\n"
	"                             .pb.gz/.pprof (pprof), .json (speedscope)\n"
	"      --format NAME          folded, svg, pprof or speedscope (overrides the extension)\n"
	"  -f, --folded               folded stacks on stdout\n"
	"      --top N                print the top N functions by self time (default 15; shown\n"
	"                             anyway when neither -o nor -f is given)\n"
	"      --sort KEYS            table rows by sym, dso, comm, pid or a list (comm,dso), as\n"
	"                             perf report --sort: per-process and per-module totals\n"
	"  -j, --json                 the table as JSON on stdout\n"
	"      --per-thread           folded/SVG: one root per thread (comm-TID) instead of per process\n"
	"  -e, --event EVENT          cpu-clock (default) or cycles (hardware; falls back to cpu-clock)\n"
	"      --unwind cfi|fp|kernel user-stack walker: cfi follows .eh_frame, so code built\n"
	"                             without frame pointers (most distribution packages) unwinds\n"
	"                             fully (default where the kernel has bpf_loop); fp: frame\n"
	"                             pointers only; kernel: the kernel's frame-pointer walker\n"
	"      --max-frames N         user frames per stack (default and most 127)\n"
	"      --unwind-rows N        CFI rows the kernel holds (default 2097152, 8 bytes each)\n"
	"      --stack-storage-size N stack map entries (default 16384); raise it when stacks are lost\n"
	"      --no-demangle          C++ and Rust function names as mangled in the symbol table\n"
	"      --lines                folded/SVG: frames as \"func (file.c:42)\" from DWARF, inlined\n"
	"                             calls as frames of their own (pprof has them by default)\n"
	"      --no-lines             pprof without source lines (reads no DWARF: faster output)\n"
	"  -d, --duration SECONDS     how long to sample (same as DURATION)\n"
	"  -v, --verbose              loader and libbpf diagnostics on stderr (-vv: more)\n"
	"  -h, --help                 this help\n"
	"\n"
	"Examples:\n"
	"  vigil profile 10                      whole host for 10 s, top functions table\n"
	"  vigil profile -o cpu.svg 30           flame graph of 30 s\n"
	"  vigil profile -p 1234 -F 999 -f 5     one process at 999 Hz, folded stacks on stdout\n"
	"  vigil profile --sort comm,dso 10      CPU time per process and module\n"
	"  vigil profile -o out.pb.gz -- make -j2   profile a build and its children (pprof)\n"
	"  vigil profile -c /sys/fs/cgroup/unified/web -o web.json   one cgroup, speedscope JSON\n";

static int profile_option(int key, const char *arg, void *o)
{
	struct profile_opts *opts = o;

	switch (key) {
	case 'F':
		if (cli_parse_ulong(arg, 1, 10000, &opts->freq))
			return cli_error("profile", "invalid frequency '%s' (want 1..10000 Hz)",
					 arg);
		return 0;
	case 'I':
		opts->idle = true;
		return 0;
	case 'e':
		if (strcmp(arg, "cpu-clock") == 0)
			opts->event = SAMPLE_CPU_CLOCK;
		else if (strcmp(arg, "cycles") == 0)
			opts->event = SAMPLE_CYCLES;
		else
			return cli_error("profile", "unknown event '%s' (known: cpu-clock, cycles)",
					 arg);
		return 0;
	}
	return cli_error("profile", "unknown option (see 'vigil profile --help')");
}

static const struct option profile_longs[] = {
	{ "frequency", required_argument, NULL, 'F' },
	{ "include-idle", no_argument, NULL, 'I' },
	{ "event", required_argument, NULL, 'e' },
	{ 0 },
};

static const struct cli_spec profile_spec = {
	.name = "profile",
	.help = profile_help,
	.common = CLI_PID | CLI_TID | CLI_CGROUP | CLI_STACKS | CLI_OUTPUT | CLI_DURATION |
		  CLI_COMMAND | CLI_STACK_OPTS | CLI_DURATION_ARG | CLI_JSON,
	.short_opts = "F:Ie:",
	.longs = profile_longs,
	.option = profile_option,
};

int cmd_profile(int argc, char **argv)
{
	struct profile_opts opts = { .freq = 99 };
	struct filter_cfg fcfg = { .cgroup_fd = -1 };
	struct cpu_collector *col = NULL;
	struct profile *prof = NULL;
	struct profile_meta meta = { 0 };
	struct runner run = { 0 };
	struct common_opts c;
	__u64 cnt[VG_CNT_NR] = { 0 };
	enum tp_attach tpa = TP_ATTACH_NONE;
	char title[256], what[128];
	int err, ret = 1;

	err = cli_parse(&profile_spec, argc, argv, &c, &opts);
	if (err)
		return err < 0 ? 0 : err;
	if (cli_validate_common("profile", &c) || cli_filter_init(&fcfg, "profile", &c))
		goto out;
	ret = features__check_basics();
	if (!ret && !features__has(FEAT_PERF_CPU_CLOCK)) {
		pr_err("cannot open cpu-clock perf events: %s (is perf_event_open allowed here?)",
		       features__why(FEAT_PERF_CPU_CLOCK));
		ret = 2;
	}
	if (!ret && fcfg.follow)
		ret = tp_attach_resolve("profile", NULL, &tpa);
	else if (!ret)
		tpa = features__tp_attach(); /* the exec hook only: it may be missing */
	if (!ret)
		ret = features__user_unwind("profile", c.unwind, &c.unwind_mode);
	if (ret)
		goto out;
	ret = 1;
	if (opts.event == SAMPLE_CYCLES && !features__has(FEAT_PERF_CYCLES)) {
		pr_warn("hardware cycles not available (%s); sampling cpu-clock instead",
			features__why(FEAT_PERF_CYCLES));
		opts.event = SAMPLE_CPU_CLOCK;
	}
	if (cli_runner_init(&run, "profile", &c, true))
		goto out;

	col = cpu_collector__new(&(struct cpu_collector_opts){
		.freq = opts.freq,
		.event = opts.event,
		.include_idle = opts.idle,
		.user_stacks = !c.kernel_only,
		.kernel_stacks = !c.user_only,
		.unwind_mode = c.unwind_mode,
		.max_frames = (__u32)c.max_frames,
		.unwind_rows = (__u32)c.unwind_rows,
		.stack_storage = (__u32)c.stack_storage,
		.filter = &fcfg,
		.attach = tpa,
	});
	if (!col ||
	    runner__spawn(&run, cpu_collector__object(col), cpu_collector__exec_progs(col), tpa) ||
	    runner__track(&run, cpu_collector__notices(col)) ||
	    runner__unwind(&run, cpu_collector__object(col), c.pids, c.nr_pids))
		goto out;
	err = cpu_collector__attach(col);
	if (err) {
		ret = err == -EACCES || err == -EPERM ? 2 : 1;
		goto out;
	}
	snprintf(what, sizeof(what), "sampling %d CPUs at %lu Hz", cpu_collector__nr_cpus(col),
		 opts.freq);
	if (runner__start(&run, what))
		goto out;

	if (runner__run(&run) == SESSION_ERROR)
		goto out;

	/* stop: detach the samplers first so the counts stop moving */
	cpu_collector__detach(col);
	runner__finish(&run);

	meta.count_type = "samples";
	meta.count_unit = "count";
	meta.value_type = "cpu";
	meta.value_unit = "nanoseconds";
	meta.weight_unit = "samples";
	runner__timing(&run, &meta.start_ns, &meta.duration_ns);
	snprintf(title, sizeof(title), "vigil profile -F %lu%s%s (%.1f s)", opts.freq,
		 c.command ? " -- " : "", c.command ? c.command[0] : "", run.t_stop - run.t_start);
	meta.title = title;
	prof = cpu_collector__read(col, run.sym, &meta, COLLECT_TOTAL, cnt);
	if (!prof)
		goto out;
	if (cli_write_profile(&run, &c, prof, CLI_TABLE_FUNCTIONS))
		goto out;
	runner__report_losses(&run, cnt, "samples");
	ret = runner__exit_code(&run);
out:
	cpu_collector__free(col);
	runner__release(&run);
	profile__free(prof);
	filter_cfg__release(&fcfg);
	cli_free_common(&c);
	return ret;
}
