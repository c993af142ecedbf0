// SPDX-License-Identifier: GPL-2.0
/*
 * vigil offcpu: where threads wait. Off-CPU time per blocked stack (optionally with who woke it), or
 * with --wall on-CPU samples and off-CPU time together on one time base.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
#include "model/hashmap.h"
#include "util/log.h"
#include "collect/runner.h"
#include "model/profile.h"
#include "symbols/symbolizer.h"
#include "vigil/offcpu.h"
#include "offcpu.skel.h"

_Static_assert(sizeof(struct vg_offcpu_key) == VG_OFFCPU_KEY_SIZE, "offcpu key layout");

struct offcpu_opts {
	unsigned long min_us, max_us;
	bool max_given;
	__u32 state;
	bool wakers, wall;
	unsigned long freq;
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
	"  -F, --frequency HZ         --wall: on-CPU sampling frequency (default 199)\n"
	"  -o, --output FILE          .folded, .svg, .pb.gz/.pprof, .json (speedscope)\n"
	"      --format NAME          folded, svg, pprof or speedscope\n"
	"  -f, --folded               folded stacks on stdout\n"
	"      --top N                top N stacks' functions by self time (default 15)\n"
	"      --per-thread           one root per thread (comm-TID)\n"
	"      --attach TYPE          tp_btf, raw_tp or tracepoint (default: the best that works)\n"
	"      --unwind fp|kernel     user-stack walker: Vigil's frame-pointer walker (default where\n"
	"                             the kernel allows it; cheaper) or the kernel's (bpf_get_stackid)\n"
	"      --stack-storage-size N stack map entries (default 16384)\n"
	"      --no-demangle          C++ and Rust function names as mangled in the symbol table\n"
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
		  CLI_COMMAND | CLI_STACK_OPTS | CLI_DURATION_ARG,
	.short_opts = "m:M:F:",
	.longs = offcpu_longs,
	.option = offcpu_option,
};

/* What the model needs to turn keys into stacks. */
struct builder {
	struct profile *p;
	struct stack_resolver *res;
	const struct offcpu_opts *opts;
	__u32 off_cpu_frame; /* --wall: leaf marker of blocked time */
	__u32 sep_frame; /* --wakers: "--" */
	struct hashmap *seen_tids; /* --wall: threads with any record */
};

static __u32 *append(__u32 *buf, __u32 *n, const __u32 *src, __u32 cnt, bool reverse)
{
	for (__u32 i = 0; i < cnt; i++)
		buf[(*n)++] = reverse ? src[cnt - 1 - i] : src[i];
	return buf;
}

static int add_key(struct builder *b, const struct vg_offcpu_key *k, __u64 ns, __u64 count)
{
	__u32 frames[4 * (VG_MAX_STACK_DEPTH + 2) + 4], n = 0, m;
	const __u32 *f;
	struct profile_stack s = { .pid = k->pid, .tid = k->tid, .count = count, .value = ns };
	char comm[VG_COMM_LEN + 1], wcomm[VG_COMM_LEN + 1];

	memcpy(comm, k->comm, VG_COMM_LEN);
	comm[VG_COMM_LEN] = '\0';
	s.comm = comm;
	if (stack_resolver__frames(b->res, k->pid, k->ustack, k->kstack_id, &f, &m))
		return -ENOMEM;
	append(frames, &n, f, m, false);
	if (b->opts->wall && k->kind == VG_OFFCPU_BLOCKED)
		frames[n++] = b->off_cpu_frame;
	if (b->opts->wakers && k->waker_pid) {
		/* offwaketime's layout: the waker's stack leaf first, then its name. */
		frames[n++] = b->sep_frame;
		if (stack_resolver__frames(b->res, k->waker_pid, k->waker_ustack,
					   k->waker_kstack_id, &f, &m))
			return -ENOMEM;
		append(frames, &n, f, m, true);
		memcpy(wcomm, k->waker_comm, VG_COMM_LEN);
		wcomm[VG_COMM_LEN] = '\0';
		frames[n] = stack_resolver__special(b->res, wcomm);
		if (!frames[n++])
			return -ENOMEM;
	}
	if (b->seen_tids)
		hashmap__set(b->seen_tids, (const void *)(uintptr_t)k->tid, 1);
	s.frames = frames;
	s.nframes = n;
	return profile__add_stack(b->p, &s);
}

/* Tasks still off-CPU at stop: their time so far counts, up to now. */
static int add_still_blocked(struct builder *b, int start_fd, __u64 now_ns, __u64 min_ns,
			     __u64 max_ns)
{
	struct vg_offcpu_start *vals = NULL;
	__u32 *keys = NULL;
	long n = map_read_all(start_fd, sizeof(*keys), sizeof(*vals), (void **)&keys,
			      (void **)&vals);
	int err = 0;

	if (n < 0)
		return (int)n;
	for (long i = 0; i < n && !err; i++) {
		__u64 d = now_ns > vals[i].ts ? now_ns - vals[i].ts : 0;

		if (d >= min_ns && d <= max_ns)
			err = add_key(b, &vals[i].key, d, 1);
	}
	free(keys);
	free(vals);
	return err;
}

/* --wall: time of threads that blocked before the capture and never blocked again (pending), and
 * of threads that were blocked for the whole capture (no record at all). */
static int add_wall_rest(struct builder *b, int pending_fd, int pid_filter_fd, __u64 wall_ns)
{
	struct vg_offcpu_pending *pend = NULL;
	__u32 *keys = NULL;
	__u8 *flags = NULL;
	long n = map_read_all(pending_fd, sizeof(*keys), sizeof(*pend), (void **)&keys,
			      (void **)&pend);
	__u32 before = stack_resolver__special(b->res, "[blocked since before the capture]");
	__u32 whole = stack_resolver__special(b->res, "[blocked for the whole capture]");
	int err = 0;

	if (n < 0)
		return (int)n;
	for (long i = 0; i < n && !err; i++) {
		char comm[VG_COMM_LEN + 1];
		struct profile_stack s = { .pid = pend[i].pid,
					   .tid = pend[i].tid,
					   .count = 1,
					   .value = pend[i].ns,
					   .comm = comm,
					   .frames = &before,
					   .nframes = 1 };

		memcpy(comm, pend[i].comm, VG_COMM_LEN);
		comm[VG_COMM_LEN] = '\0';
		hashmap__set(b->seen_tids, (const void *)(uintptr_t)pend[i].tid, 1);
		err = profile__add_stack(b->p, &s);
	}
	free(keys);
	free(pend);
	if (err)
		return err;

	/* Threads of the target processes that left no trace were blocked all along. */
	n = map_read_all(pid_filter_fd, sizeof(*keys), sizeof(*flags), (void **)&keys,
			 (void **)&flags);
	if (n < 0)
		return (int)n;
	for (long i = 0; i < n && !err; i++) {
		char path[64], comm[32] = "?";
		struct dirent *de;
		FILE *f;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%u/comm", keys[i]);
		if ((f = fopen(path, "re"))) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%u/task", keys[i]);
		d = opendir(path);
		while (d && (de = readdir(d)) && !err) {
			unsigned long tid = strtoul(de->d_name, NULL, 10);
			struct profile_stack s = { .pid = keys[i],
						   .tid = (__u32)tid,
						   .count = 1,
						   .value = wall_ns,
						   .comm = comm,
						   .frames = &whole,
						   .nframes = 1 };

			if (!tid || hashmap__get(b->seen_tids, (const void *)(uintptr_t)tid, NULL))
				continue;
			err = profile__add_stack(b->p, &s);
		}
		if (d)
			closedir(d);
	}
	free(keys);
	free(flags);
	return err;
}

static struct profile *build_profile(struct offcpu_bpf *skel, struct symbolizer *sym,
				     const struct offcpu_opts *opts,
				     const struct profile_meta *meta, __u64 stop_ktime,
				     __u64 wall_ns)
{
	struct builder b = { .opts = opts };
	struct vg_offcpu_key *keys = NULL;
	struct vg_offcpu_val *vals = NULL;
	long n;
	int err = -ENOMEM;

	b.p = profile__new(meta);
	if (!b.p)
		return NULL;
	b.res = stack_resolver__new(sym, b.p, bpf_map__fd(skel->maps.stacks),
				    bpf_map__fd(skel->maps.ustacks));
	if (!b.res)
		goto fail;
	b.off_cpu_frame = stack_resolver__special(b.res, "[off-cpu]");
	b.sep_frame = stack_resolver__special(b.res, "--");
	if (opts->wall && !(b.seen_tids = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL)))
		goto fail;
	n = map_read_all(bpf_map__fd(skel->maps.counts), sizeof(*keys), sizeof(*vals),
			 (void **)&keys, (void **)&vals);
	if (n < 0) {
		err = (int)n;
		goto fail;
	}
	err = 0;
	for (long i = 0; i < n && !err; i++)
		err = add_key(&b, &keys[i], vals[i].total_ns, vals[i].count);
	if (!err)
		err = add_still_blocked(&b, bpf_map__fd(skel->maps.start), stop_ktime,
					skel->rodata->min_ns, skel->rodata->max_ns);
	if (!err && opts->wall)
		err = add_wall_rest(&b, bpf_map__fd(skel->maps.pending),
				    bpf_map__fd(skel->maps.pid_filter), wall_ns);
	if (err)
		goto fail;
	free(keys);
	free(vals);
	stack_resolver__free(b.res);
	hashmap__free(b.seen_tids);
	return b.p;
fail:
	pr_err("building the profile failed: %s", strerror(-err));
	free(keys);
	free(vals);
	stack_resolver__free(b.res);
	hashmap__free(b.seen_tids);
	profile__free(b.p);
	return NULL;
}

static __u64 ktime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int cmd_offcpu(int argc, char **argv)
{
	struct offcpu_opts opts = { .min_us = 0, .freq = 199 };
	struct filter_cfg fcfg = { .cgroup_fd = -1 };
	struct tp_progs switch_progs, waking_progs, fork_progs, exec_progs;
	struct bpf_link *links[3] = { NULL };
	struct offcpu_bpf *skel = NULL;
	struct perf_attach *pa = NULL;
	struct profile *prof = NULL;
	struct profile_meta meta = { 0 };
	struct runner run = { 0 };
	struct common_opts c;
	__u64 cnt[VG_CNT_NR] = { 0 }, stop_ktime;
	enum tp_attach tpa;
	bool own_unwind = false;
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
		ret = features__user_unwind("offcpu", c.unwind, &own_unwind);
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

	/* open → configure → load */
	skel = offcpu_bpf__open();
	if (!skel) {
		pr_err("opening the BPF program failed: %s", strerror(errno));
		goto out;
	}
	skel->rodata->user_stacks = !c.kernel_only;
	skel->rodata->kernel_stacks = !c.user_only;
	skel->rodata->min_ns = opts.min_us ? opts.min_us * 1000 : 1;
	skel->rodata->max_ns = opts.max_given ? opts.max_us * 1000 : ~0ULL;
	skel->rodata->state_filter = opts.state;
	skel->rodata->wakers = opts.wakers;
	skel->rodata->wall = opts.wall;
	skel->rodata->sample_period_ns = 1000000000ull / opts.freq;
	skel->rodata->fp_unwind = own_unwind;
	filter_cfg__set_rodata(&fcfg, skel->rodata);
	bpf_map__set_max_entries(skel->maps.stacks, c.stack_storage);
	bpf_map__set_max_entries(skel->maps.ustacks, c.stack_storage);
	bpf_map__set_max_entries(skel->maps.counts, c.stack_storage * 4);
	switch_progs = (struct tp_progs){ skel->progs.vg_offcpu_switch_btf,
					  skel->progs.vg_offcpu_switch_raw,
					  skel->progs.vg_offcpu_switch_tp };
	waking_progs = (struct tp_progs){ skel->progs.vg_offcpu_waking_btf,
					  skel->progs.vg_offcpu_waking_raw,
					  skel->progs.vg_offcpu_waking_tp };
	fork_progs =
		(struct tp_progs){ skel->progs.vg_offcpu_fork_btf, skel->progs.vg_offcpu_fork_raw,
				   skel->progs.vg_offcpu_fork_tp };
	exec_progs =
		(struct tp_progs){ skel->progs.vg_offcpu_exec_btf, skel->progs.vg_offcpu_exec_raw,
				   skel->progs.vg_offcpu_exec_tp };
	tp_progs__autoload(&exec_progs, tpa, fcfg.follow);
	tp_progs__autoload(&switch_progs, tpa, true);
	tp_progs__autoload(&waking_progs, tpa, opts.wakers);
	tp_progs__autoload(&fork_progs, tpa, fcfg.follow);
	bpf_program__set_autoload(skel->progs.vg_offcpu_oncpu, opts.wall);
	err = offcpu_bpf__load(skel);
	if (err) {
		pr_err("loading the BPF program (%s) failed: %s (run with -v for the verifier log)",
		       tp_attach_name(tpa), strerror(-err));
		goto out;
	}
	if (filter_cfg__apply(&fcfg, skel->obj) ||
	    runner__spawn(&run, skel->obj, fcfg.follow ? &exec_progs : NULL, tpa) ||
	    runner__track(&run, NULL))
		goto out;

	/* attach: followers, wakers, then the switch hook and the on-CPU sampler */
	if ((fcfg.follow && !(links[0] = tp_progs__attach(&fork_progs, tpa))) ||
	    (opts.wakers && !(links[1] = tp_progs__attach(&waking_progs, tpa))) ||
	    !(links[2] = tp_progs__attach(&switch_progs, tpa))) {
		pr_err("attaching to the scheduler tracepoints (%s) failed: %s",
		       tp_attach_name(tpa), strerror(errno));
		goto out;
	}
	if (opts.wall) {
		pa = perf_attach__new(skel->progs.vg_offcpu_oncpu, SAMPLE_CPU_CLOCK, opts.freq);
		if (!pa) {
			pr_err("attaching to cpu-clock perf events failed: %s", strerror(errno));
			goto out;
		}
	}
	skel->bss->capture_start_ns = ktime_ns();
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
	perf_attach__free(pa);
	pa = NULL;
	for (int i = 0; i < 3; i++) {
		bpf_link__destroy(links[i]);
		links[i] = NULL;
	}
	stop_ktime = ktime_ns();
	runner__finish(&run);
	read_percpu_counters(bpf_map__fd(skel->maps.counters), cnt, VG_CNT_NR);

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
	prof = build_profile(skel, run.sym, &opts, &meta, stop_ktime,
			     stop_ktime - skel->bss->capture_start_ns);
	if (!prof)
		goto out;
	if (cli_write_profile(&run, &c, prof))
		goto out;
	runner__report_losses(&run, cnt, "off-CPU periods");
	ret = runner__exit_code(&run);
out:
	perf_attach__free(pa);
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(links[i]);
	runner__release(&run);
	offcpu_bpf__destroy(skel);
	profile__free(prof);
	filter_cfg__release(&fcfg);
	cli_free_common(&c);
	return ret;
}
