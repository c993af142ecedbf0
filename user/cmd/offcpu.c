// SPDX-License-Identifier: GPL-2.0
/*
 * vigil offcpu: where threads wait. Off-CPU time per blocked stack (optionally with who woke it), or
 * with --wall on-CPU samples and off-CPU time together on one time base.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/attach.h"
#include "cmd/options.h"
#include "collect/offcpu.h"
#include "cmd/output.h"
#include "cmd/commands.h"
#include "export/export.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "util/log.h"
#include "collect/runner.h"
#include "model/profile.h"
#include "vigil/offcpu.h"

struct offcpu_opts {
	unsigned long min_us, max_us;
	bool max_given;
	__u32 state;
	bool wakers, wall;
	unsigned long freq;
	bool freq_given;
	const char *attach;
};

enum { OPT_STATE = 3000, OPT_WAKERS, OPT_WALL, OPT_ATTACH };

static const char offcpu_help[] =
	"Usage: vigil offcpu [OPTIONS] [DURATION] [-- COMMAND [ARGS...]]\n"
	"\n"
	"Measure where threads wait: time spent off-CPU (blocked or preempted) by user and kernel\n"
	"stack, from sched_switch. Folded weights are microseconds off-CPU; pprof's sample type is\n"
	"off-cpu/nanoseconds. With --wall, on-CPU samples and off-CPU time share one profile, so the\n"
	"flame graph shows where all the wall-clock time of the target threads goes. A task's exit\n"
	"is not a wait: its final switch-out counts nowhere. As with profile, vigil exits with\n"
	"COMMAND's status and sends COMMAND's stdout to stderr when its own data is on stdout.\n"
	"\n"
	"Options:\n"
	"  -p, --pid PID[,PID...]     only these processes; stops when all have exited\n"
	"  -L, --tid TID[,TID...]     only these threads\n"
	"  -c, --cgroup PATH          only tasks in this cgroup v2\n"
	"  -U, --user-stacks-only     user stacks only\n"
	"  -K, --kernel-stacks-only   kernel stacks only\n"
	"  -m, --min-block US         count only blocks of at least US microseconds (default 1)\n"
	"  -M, --max-block US         count only blocks of at most US microseconds\n"
	"      --state S|D|any        only interruptible (S) or uninterruptible (D) sleep; any\n"
	"                             (default) also counts preemption\n"
	"      --wakers               also record who woke each blocked stack; folded as\n"
	"                             wakee-stack;--;waker-stack (leaf first);waker-comm\n"
	"      --wall                 on-CPU samples + off-CPU time of -p PID or -- COMMAND\n"
	"  -F, --frequency HZ         --wall only: on-CPU sampling frequency (default 199)\n"
	"  -o, --output FILE          .folded, .svg, .pb.gz/.pprof, .json (speedscope)\n"
	"      --format NAME          folded, svg, pprof or speedscope\n"
	"  -f, --folded               folded stacks on stdout\n"
	"      --top N                rows of the table (default 15). The table ranks off-CPU time\n"
	"                             by process and wait: the program's innermost own function,\n"
	"                             what it called and the kernel's reason (with --wakers, who\n"
	"                             woke it): \"my_nap <- nanosleep  (hrtimer)\"\n"
	"      --sort KEYS            a function table instead: sym, dso, comm, pid or a list\n"
	"  -j, --json                 the table as JSON on stdout\n"
	"      --per-thread           one root per thread (comm-TID)\n"
	"      --attach TYPE          tp_btf, raw_tp or tracepoint (default: the best that works)\n"
	"      --unwind cfi|fp|kernel user-stack walker: cfi follows .eh_frame, so code built\n"
	"                             without frame pointers (most distribution packages) unwinds\n"
	"                             fully (default where the kernel has bpf_loop); fp: frame\n"
	"                             pointers only; kernel: the kernel's frame-pointer walker\n"
	"      --max-frames N         user frames per stack (default and most 127)\n"
	"      --unwind-rows N        CFI rows the kernel holds (default 2097152, 8 bytes each)\n"
	"      --stack-storage-size N stack map entries (default 16384)\n"
	"      --no-demangle          C++ and Rust function names as mangled in the symbol table\n"
	"      --lines                folded/SVG: frames as \"func (file.c:42)\" from DWARF, inlined\n"
	"                             calls as frames of their own (pprof has them by default)\n"
	"      --no-lines             pprof without source lines (reads no DWARF: faster output)\n"
	"  -d, --duration SECONDS     how long to collect (same as DURATION)\n"
	"  -v, --verbose              loader diagnostics\n"
	"\n"
	"Examples:\n"
	"  vigil offcpu -p 1234 -f 10                 blocked stacks of one process, folded\n"
	"  vigil offcpu -m 1000 -o waits.svg 30       blocks of 1 ms or more, flame graph\n"
	"  vigil offcpu --state D 10                  uninterruptible (I/O) waits, top table\n"
	"  vigil offcpu --wakers -p 1234 -f 5         who wakes the process's threads\n"
	"  vigil offcpu --wall -o wall.svg -- ./server --once   where the wall-clock time goes\n";

static int offcpu_option(int key, const char *arg, void *o)
{
	struct offcpu_opts *opts = o;

	switch (key) {
	case 'm':
		if (cli_parse_ulong(arg, 0, 1000000000000ul, &opts->min_us))
			return cli_error("offcpu", "invalid -m '%s' (want microseconds)", arg);
		return 0;
	case 'M':
		if (cli_parse_ulong(arg, 1, 1000000000000ul, &opts->max_us))
			return cli_error("offcpu", "invalid -M '%s' (want microseconds >= 1)", arg);
		opts->max_given = true;
		return 0;
	case 'F':
		if (cli_parse_ulong(arg, 1, 10000, &opts->freq))
			return cli_error("offcpu", "invalid frequency '%s' (want 1..10000 Hz)",
					 arg);
		opts->freq_given = true;
		return 0;
	case OPT_STATE:
		if (!strcmp(arg, "S"))
			opts->state = VG_STATE_S;
		else if (!strcmp(arg, "D"))
			opts->state = VG_STATE_D;
		else if (!strcmp(arg, "any"))
			opts->state = VG_STATE_ANY;
		else
			return cli_error("offcpu", "invalid --state '%s' (want S, D or any)", arg);
		return 0;
	case OPT_WAKERS:
		opts->wakers = true;
		return 0;
	case OPT_WALL:
		opts->wall = true;
		return 0;
	case OPT_ATTACH:
		opts->attach = arg;
		return 0;
	}
	return cli_error("offcpu", "unknown option (see 'vigil offcpu --help')");
}

static const struct option offcpu_longs[] = {
	{ "min-block", required_argument, NULL, 'm' },
	{ "max-block", required_argument, NULL, 'M' },
	{ "frequency", required_argument, NULL, 'F' },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "wakers", no_argument, NULL, OPT_WAKERS },
	{ "wall", no_argument, NULL, OPT_WALL },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ 0 },
};

static const struct cli_spec offcpu_spec = {
	.name = "offcpu",
	.help = offcpu_help,
	.common = CLI_PID | CLI_TID | CLI_CGROUP | CLI_STACKS | CLI_OUTPUT | CLI_DURATION |
		  CLI_COMMAND | CLI_STACK_OPTS | CLI_DURATION_ARG | CLI_JSON,
	.short_opts = "m:M:F:",
	.longs = offcpu_longs,
	.option = offcpu_option,
};

int cmd_offcpu(int argc, char **argv)
{
	struct offcpu_opts opts = { .min_us = 0, .freq = 199 };
	struct filter_cfg fcfg = { .cgroup_fd = -1 };
	struct offcpu_collector *col = NULL;
	struct profile *prof = NULL;
	struct profile_meta meta = { 0 };
	struct runner run = { 0 };
	struct common_opts c;
	__u64 cnt[VG_CNT_NR] = { 0 };
	enum tp_attach tpa;
	char title[256], what[160];
	int err, ret = 1;

	err = cli_parse(&offcpu_spec, argc, argv, &c, &opts);
	if (err)
		return err < 0 ? 0 : err;
	if (opts.max_given && opts.min_us > opts.max_us) {
		ret = cli_error("offcpu", "-m %lu is more than -M %lu", opts.min_us, opts.max_us);
		goto out;
	}
	if (opts.wall && !c.nr_pids && !c.command) {
		ret = cli_error("offcpu",
				"--wall needs -p PID or -- COMMAND (whose threads to add up)");
		goto out;
	}
	if (opts.freq_given && !opts.wall) {
		ret = cli_error("offcpu",
				"-F applies to --wall only (off-CPU time is traced, not sampled)");
		goto out;
	}
	if (opts.wall && opts.wakers) {
		ret = cli_error("offcpu", "--wall and --wakers exclude each other");
		goto out;
	}
	if (cli_validate_common("offcpu", &c) || cli_filter_init(&fcfg, "offcpu", &c))
		goto out;
	ret = features__check_basics();
	if (!ret)
		ret = tp_attach_resolve("offcpu", opts.attach, &tpa);
	if (!ret)
		ret = features__user_unwind("offcpu", c.unwind, &c.unwind_mode);
	if (!ret && opts.wall && !features__has(FEAT_PERF_CPU_CLOCK)) {
		pr_err("--wall needs cpu-clock perf events: %s",
		       features__why(FEAT_PERF_CPU_CLOCK));
		ret = 2;
	}
	if (ret)
		goto out;
	ret = 1;
	if (cli_runner_init(&run, "offcpu", &c, true))
		goto out;

	col = offcpu_collector__new(&(struct offcpu_collector_opts){
		.min_ns = opts.min_us ? opts.min_us * 1000 : 1,
		.max_ns = opts.max_given ? opts.max_us * 1000 : ~0ULL,
		.state = opts.state,
		.wakers = opts.wakers,
		.wall = opts.wall,
		.freq = opts.freq,
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
	    runner__spawn(&run, offcpu_collector__object(col), offcpu_collector__exec_progs(col),
			  tpa) ||
	    runner__track(&run, offcpu_collector__notices(col)) ||
	    runner__unwind(&run, offcpu_collector__object(col), c.pids, c.nr_pids) ||
	    offcpu_collector__attach(col))
		goto out;
	if (opts.wall)
		snprintf(what, sizeof(what),
			 "tracing off-CPU time (%s) and sampling on-CPU at %lu Hz",
			 tp_attach_name(tpa), opts.freq);
	else
		snprintf(what, sizeof(what), "tracing off-CPU time (%s)%s", tp_attach_name(tpa),
			 opts.wakers ? " with wakers" : "");
	if (runner__start(&run, what))
		goto out;

	if (runner__run(&run) == SESSION_ERROR)
		goto out;

	/* stop: detach everything, then account for what is still blocked */
	offcpu_collector__detach(col);
	runner__finish(&run);

	meta.count_type = "events";
	meta.count_unit = "count";
	meta.value_type = opts.wall ? "wall" : "off-cpu";
	meta.value_unit = "nanoseconds";
	meta.weight_unit = "us";
	meta.weight_div = 1000;
	runner__timing(&run, &meta.start_ns, &meta.duration_ns);
	snprintf(title, sizeof(title), "vigil offcpu%s%s%s (%.1f s)", opts.wall ? " --wall" : "",
		 c.command ? " -- " : "", c.command ? c.command[0] : "", run.t_stop - run.t_start);
	meta.title = title;
	prof = offcpu_collector__read(col, run.sym, &meta, COLLECT_TOTAL, cnt);
	if (!prof)
		goto out;
	if (cli_write_profile(&run, &c, prof, opts.wall ? CLI_TABLE_FUNCTIONS : CLI_TABLE_WAITS))
		goto out;
	runner__report_losses(&run, cnt, "off-CPU periods");
	ret = runner__exit_code(&run);
out:
	offcpu_collector__free(col);
	runner__release(&run);
	profile__free(prof);
	filter_cfg__release(&fcfg);
	cli_free_common(&c);
	return ret;
}
