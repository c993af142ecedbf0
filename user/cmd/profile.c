// SPDX-License-Identifier: GPL-2.0
/*
 * vigil profile: sample on-CPU stacks at a fixed frequency on every CPU, aggregated in the kernel, then
 * symbolize and export them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/attach.h"
#include "cmd/options.h"
#include "cmd/output.h"
#include "collect/readout.h"
#include "cmd/commands.h"
#include "export/export.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "util/log.h"
#include "collect/runner.h"
#include "model/profile.h"
#include "symbols/symbolizer.h"
#include "vigil/profile.h"
#include "profile.skel.h"

_Static_assert(sizeof(struct vg_sample_key) == VG_PROFILE_SAMPLE_KEY_SIZE, "sample key layout");

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
	"      --per-thread           folded/SVG: one root per thread (comm-TID) instead of per process\n"
	"  -e, --event EVENT          cpu-clock (default) or cycles (hardware; falls back to cpu-clock)\n"
	"      --unwind fp|kernel     user-stack walker: Vigil's frame-pointer walker (default where\n"
	"                             the kernel allows it; cheaper) or the kernel's (bpf_get_stackid)\n"
	"      --stack-storage-size N stack map entries (default 16384); raise it when stacks are lost\n"
	"      --no-demangle          C++ and Rust function names as mangled in the symbol table\n"
	"  -d, --duration SECONDS     how long to sample (same as DURATION)\n"
	"  -v, --verbose              loader and libbpf diagnostics on stderr (-vv: more)\n"
	"  -h, --help                 this help\n"
	"\n"
	"Examples:\n"
	"  vigil profile 10                      whole host for 10 s, top functions table\n"
	"  vigil profile -o cpu.svg 30           flame graph of 30 s\n"
	"  vigil profile -p 1234 -F 999 -f 5     one process at 999 Hz, folded stacks on stdout\n"
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
		  CLI_COMMAND | CLI_STACK_OPTS | CLI_DURATION_ARG,
	.short_opts = "F:Ie:",
	.longs = profile_longs,
	.option = profile_option,
};

/* Counts map → profile; *samples grows by the number of samples it holds. */
static struct profile *build_profile(struct profile_bpf *skel, struct symbolizer *sym,
				     const struct profile_meta *meta, __u64 *samples)
{
	struct profile *p = profile__new(meta);
	struct stack_resolver *res = NULL;
	struct vg_sample_key *keys = NULL;
	__u64 *vals = NULL;
	long n;

	if (!p)
		return NULL;
	n = map_read_all(bpf_map__fd(skel->maps.counts), sizeof(*keys), sizeof(*vals),
			 (void **)&keys, (void **)&vals);
	if (n < 0) {
		pr_err("reading sample counts failed: %s", strerror((int)-n));
		goto fail;
	}
	res = stack_resolver__new(sym, p, bpf_map__fd(skel->maps.stacks),
				  bpf_map__fd(skel->maps.ustacks));
	if (!res)
		goto fail;
	for (long i = 0; i < n; i++) {
		const struct vg_sample_key *k = &keys[i];
		struct profile_stack s = { .pid = k->pid, .tid = k->tid, .count = vals[i] };
		char comm[VG_COMM_LEN + 1];

		memcpy(comm, k->comm, VG_COMM_LEN);
		comm[VG_COMM_LEN] = '\0';
		s.comm = comm;
		s.value = vals[i] * meta->period;
		*samples += vals[i];
		if (stack_resolver__frames(res, k->pid, k->ustack, k->kstack_id, &s.frames,
					   &s.nframes) ||
		    profile__add_stack(p, &s)) {
			pr_err("building the profile failed: out of memory");
			goto fail;
		}
	}
	stack_resolver__free(res);
	free(keys);
	free(vals);
	return p;
fail:
	stack_resolver__free(res);
	free(keys);
	free(vals);
	profile__free(p);
	return NULL;
}

int cmd_profile(int argc, char **argv)
{
	struct profile_opts opts = { .freq = 99 };
	struct filter_cfg fcfg = { .cgroup_fd = -1 };
	struct tp_progs fork_progs, exec_progs;
	struct profile_bpf *skel = NULL;
	struct perf_attach *pa = NULL;
	struct bpf_link *fork_link = NULL;
	struct profile *prof = NULL;
	struct profile_meta meta = { 0 };
	struct runner run = { 0 };
	struct common_opts c;
	__u64 cnt[VG_CNT_NR] = { 0 }, samples = 0;
	enum tp_attach tpa = TP_ATTACH_NONE;
	bool own_unwind = false;
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
		ret = features__user_unwind("profile", c.unwind, &own_unwind);
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

	/* open → configure (rodata, map sizes, autoload) → load */
	skel = profile_bpf__open();
	if (!skel) {
		pr_err("opening the BPF program failed: %s", strerror(errno));
		goto out;
	}
	skel->rodata->user_stacks = !c.kernel_only;
	skel->rodata->kernel_stacks = !c.user_only;
	skel->rodata->include_idle = opts.idle;
	skel->rodata->fp_unwind = own_unwind;
	filter_cfg__set_rodata(&fcfg, skel->rodata);
	bpf_map__set_max_entries(skel->maps.stacks, c.stack_storage);
	bpf_map__set_max_entries(skel->maps.ustacks, c.stack_storage);
	bpf_map__set_max_entries(skel->maps.counts, c.stack_storage * 4);
	fork_progs =
		(struct tp_progs){ skel->progs.vg_profile_fork_btf, skel->progs.vg_profile_fork_raw,
				   skel->progs.vg_profile_fork_tp };
	exec_progs =
		(struct tp_progs){ skel->progs.vg_profile_exec_btf, skel->progs.vg_profile_exec_raw,
				   skel->progs.vg_profile_exec_tp };
	tp_progs__autoload(&fork_progs, tpa, fcfg.follow);
	tp_progs__autoload(&exec_progs, tpa, true);
	err = profile_bpf__load(skel);
	if (err) {
		pr_err("loading the BPF program failed: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto out;
	}
	if (filter_cfg__apply(&fcfg, skel->obj) ||
	    runner__spawn(&run, skel->obj, &exec_progs, tpa) ||
	    runner__track(&run, skel->maps.events))
		goto out;

	/* attach: followers and exec notices first, then the samplers */
	if (fcfg.follow) {
		fork_link = tp_progs__attach(&fork_progs, tpa);
		if (!fork_link) {
			pr_err("attaching to sched_process_fork (%s) failed: %s",
			       tp_attach_name(tpa), strerror(errno));
			goto out;
		}
	}
	pa = perf_attach__new(skel->progs.vg_profile_sample, opts.event, opts.freq);
	if (!pa) {
		ret = errno == EACCES || errno == EPERM ? 2 : 1;
		pr_err("attaching to %s perf events failed: %s",
		       opts.event == SAMPLE_CYCLES ? "cycles" : "cpu-clock", strerror(errno));
		goto out;
	}
	snprintf(what, sizeof(what), "sampling %d CPUs at %lu Hz", perf_attach__nr_cpus(pa),
		 opts.freq);
	if (runner__start(&run, what))
		goto out;

	if (runner__run(&run) == SESSION_ERROR)
		goto out;

	/* stop: detach the samplers first so the counts stop moving */
	perf_attach__free(pa);
	pa = NULL;
	runner__finish(&run);
	read_percpu_counters(bpf_map__fd(skel->maps.counters), cnt, VG_CNT_NR);

	meta.count_type = "samples";
	meta.count_unit = "count";
	meta.value_type = "cpu";
	meta.value_unit = "nanoseconds";
	meta.weight_unit = "samples";
	meta.period = 1000000000ull / opts.freq;
	runner__timing(&run, &meta.start_ns, &meta.duration_ns);
	snprintf(title, sizeof(title), "vigil profile -F %lu%s%s (%.1f s)", opts.freq,
		 c.command ? " -- " : "", c.command ? c.command[0] : "", run.t_stop - run.t_start);
	meta.title = title;
	prof = build_profile(skel, run.sym, &meta, &samples);
	if (!prof)
		goto out;
	/* The BPF side keeps no event counter: the samples are the counts, plus those that found
	 * the counts map full. */
	cnt[VG_CNT_EVENTS] = samples + cnt[VG_CNT_MAP_FULL];
	if (cli_write_profile(&run, &c, prof))
		goto out;
	runner__report_losses(&run, cnt, "samples");
	ret = runner__exit_code(&run);
out:
	perf_attach__free(pa);
	bpf_link__destroy(fork_link);
	runner__release(&run);
	profile_bpf__destroy(skel);
	profile__free(prof);
	filter_cfg__release(&fcfg);
	cli_free_common(&c);
	return ret;
}
