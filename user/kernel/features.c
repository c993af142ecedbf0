// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/features.h"
#include "kernel/uprobe.h"
#include "kernel/perf_event.h"
#include "kernel/tracefs.h"
#include "util/log.h"
#include "probe.skel.h"
#include "vigil/unwind.h"

enum { UNKNOWN = 0, YES, NO };

static int state[FEAT_NR];
static char why[FEAT_NR][96];

static const struct {
	const char *name;
	const char *cost;
} info[FEAT_NR] = {
	[FEAT_BTF] = { "btf",
		       "no CO-RE: vigil cannot run (need CONFIG_DEBUG_INFO_BTF=y, or VIGIL_KERNEL_BTF=FILE)" },
	[FEAT_RINGBUF] = { "ringbuf",
			   "no BPF ring buffer: event collectors (trace, mem) cannot run; profile misses early process notices" },
	[FEAT_STACK_MAP] = { "stack_map", "no stack traces: profiles have no stacks" },
	[FEAT_TASK_STORAGE] = { "task_storage",
				"per-task state falls back to hash maps keyed by tid (slower, can fill up)" },
	[FEAT_PERF_CPU_CLOCK] = { "perf_cpu_clock",
				  "no software CPU sampling: vigil profile cannot run" },
	[FEAT_PERF_CYCLES] = { "perf_cycles",
			       "no hardware cycle sampling (typical in VMs): profile uses cpu-clock, which cannot sample inside IRQ-disabled code" },
	[FEAT_PERF_EVENT_PROG] = { "perf_event_prog",
				   "no BPF on perf events: vigil profile cannot run" },
	[FEAT_RAW_TP] = { "raw_tp",
			  "no raw tracepoints: offcpu/lat fall back to classic tracepoints (slower, need tracefs)" },
	[FEAT_TP_BTF] = { "tp_btf",
			  "no BTF tracepoints: offcpu/lat use raw_tp (a few ns more per event)" },
	[FEAT_FENTRY] = { "fentry",
			  "no fentry/fexit: kernel function latency needs kprobes instead" },
	[FEAT_KPROBE] = { "kprobe",
			  "no kprobes: no tracing of arbitrary kernel functions (tracepoints still work)" },
	[FEAT_TRACEFS] = { "tracefs", "tracefs not mountable: classic tracepoints unusable" },
	[FEAT_TRACEPOINT] = { "tracepoint", "no classic tracepoints: only raw_tp/tp_btf hooks" },
	[FEAT_UPROBE] = { "uprobe",
			  "no uprobes: vigil lat uprobe and user-function tracing cannot run" },
	[FEAT_KALLSYMS] = { "kallsyms",
			    "kernel addresses hidden: kernel frames print as [kernel]+0xADDR" },
	[FEAT_USER_UNWIND] = { "user_unwind",
			       "no bpf_task_pt_regs: user stacks use the kernel's walker (about 4 us more per stack in VMs)" },
	[FEAT_UPROBE_MULTI] = { "uprobe_multi",
				"no uprobe_multi links: vigil mem makes one perf event per function, and detaching each waits for an RCU grace period (about 0.1 s apiece)" },
	[FEAT_UPROBE_SESSION] = { "uprobe_session",
				  "no uprobe sessions: vigil mem --sample-bytes still pays the return probe of every unsampled call" },
	[FEAT_BPF_LOOP] = { "bpf_loop",
			    "no bpf_loop (Linux < 5.17): no CFI unwinding; user stacks use the kernel's frame-pointer walker, which loses callers in code built without frame pointers" },
};

const char *features__name(enum feature f)
{
	return info[f].name;
}

const char *features__cost(enum feature f)
{
	return info[f].cost;
}

const char *features__why(enum feature f)
{
	return why[f];
}

const char *features__btf_path(void)
{
	const char *p = getenv("VIGIL_KERNEL_BTF");

	return p && *p ? p : "/sys/kernel/btf/vmlinux";
}

static void set_why(enum feature f, const char *stage, int err)
{
	snprintf(why[f], sizeof(why[f]), "%s: %s", stage, strerror(err < 0 ? -err : err));
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* A function in this binary for the uprobe probe to attach to. */
__attribute__((noinline, used)) int vigil_uprobe_probe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

/* Load only `prog` of the probe object and attach it. Returns true when both work. */
static bool probe_prog(enum feature f, const char *prog_name)
{
	libbpf_print_fn_t old = libbpf_set_print(log_verbose() > 1 ? NULL : silent_print);
	struct bpf_link *link = NULL;
	struct probe_bpf *skel;
	struct bpf_program *p, *target = NULL;
	bool ok = false;
	int err, fd = -1;

	if (log_verbose() > 1)
		libbpf_set_print(old);
	skel = probe_bpf__open();
	if (!skel) {
		set_why(f, "open", errno);
		goto out;
	}
	bpf_object__for_each_program(p, skel->obj)
	{
		bool me = strcmp(bpf_program__name(p), prog_name) == 0;

		bpf_program__set_autoload(p, me);
		if (me)
			target = p;
	}
	err = probe_bpf__load(skel);
	if (err) {
		set_why(f, "load", err);
		goto out;
	}
	if (f == FEAT_UPROBE) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "vigil_uprobe_probe_target");
		link = bpf_program__attach_uprobe_opts(target, 0, "/proc/self/exe", 0, &uo);
	} else if (f == FEAT_PERF_EVENT_PROG) {
		fd = perf_event_open_sampling(0, SAMPLE_CPU_CLOCK, 1);
		if (fd < 0) {
			set_why(f, "perf_event_open", fd);
			goto out;
		}
		link = bpf_program__attach_perf_event(target, fd);
	} else {
		link = bpf_program__attach(target);
	}
	if (!link) {
		set_why(f, "attach", errno);
		goto out;
	}
	if (f == FEAT_UPROBE)
		vigil_uprobe_probe_target(1);
	ok = true;
out:
	bpf_link__destroy(link);
	if (fd >= 0)
		close(fd);
	probe_bpf__destroy(skel);
	libbpf_set_print(old);
	return ok;
}

/* probe_uprobe loaded as a uprobe_multi (or session) program, linked to this binary's target. */
static bool probe_uprobe_multi(enum feature f)
{
	libbpf_print_fn_t old = libbpf_set_print(log_verbose() > 1 ? NULL : silent_print);
	__u32 type = f == FEAT_UPROBE_SESSION ? UPROBE_SESSION_ATTACH : UPROBE_MULTI_ATTACH;
	struct probe_bpf *skel = NULL;
	struct bpf_program *p;
	__u64 off, cookie = 0;
	bool ok = false;
	int err, fd;

	err = uprobe_func_offset("/proc/self/exe", "vigil_uprobe_probe_target", &off);
	if (err) {
		set_why(f, "no probe target", err);
		goto out;
	}
	skel = probe_bpf__open();
	if (!skel) {
		set_why(f, "open", errno);
		goto out;
	}
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == skel->progs.probe_uprobe);
	bpf_program__set_expected_attach_type(skel->progs.probe_uprobe, (enum bpf_attach_type)type);
	err = probe_bpf__load(skel);
	if (err) {
		set_why(f, "load", err);
		goto out;
	}
	fd = uprobe_multi_link(bpf_program__fd(skel->progs.probe_uprobe), type, "/proc/self/exe",
			       &off, &cookie, 1, (__u32)getpid(), false);
	if (fd < 0) {
		set_why(f, "link", fd);
		goto out;
	}
	vigil_uprobe_probe_target(1);
	close(fd);
	ok = true;
out:
	probe_bpf__destroy(skel);
	libbpf_set_print(old);
	return ok;
}

static bool probe_perf(enum feature f, enum sample_event ev)
{
	int fd = perf_event_open_sampling(0, ev, 99);

	if (fd < 0) {
		set_why(f, "perf_event_open", fd);
		return false;
	}
	close(fd);
	return true;
}

static bool probe_kallsyms(void)
{
	FILE *fp = fopen("/proc/kallsyms", "re");
	unsigned long long addr = 0;
	char line[256];
	bool ok = false;

	if (!fp) {
		set_why(FEAT_KALLSYMS, "open", errno);
		return false;
	}
	/* Unprivileged readers see zeros (kptr_restrict). */
	for (int i = 0; i < 16 && fgets(line, sizeof(line), fp); i++)
		if (sscanf(line, "%llx", &addr) == 1 && addr) {
			ok = true;
			break;
		}
	fclose(fp);
	if (!ok)
		snprintf(why[FEAT_KALLSYMS], sizeof(why[0]), "addresses are zero (kptr_restrict)");
	return ok;
}

static bool probe(enum feature f)
{
	struct stat st;
	int r;

	switch (f) {
	case FEAT_BTF:
		if (stat(features__btf_path(), &st)) {
			set_why(f, features__btf_path(), errno);
			return false;
		}
		return true;
	case FEAT_RINGBUF:
	case FEAT_STACK_MAP:
	case FEAT_TASK_STORAGE:
		r = libbpf_probe_bpf_map_type(f == FEAT_RINGBUF	  ? BPF_MAP_TYPE_RINGBUF :
					      f == FEAT_STACK_MAP ? BPF_MAP_TYPE_STACK_TRACE :
								    BPF_MAP_TYPE_TASK_STORAGE,
					      NULL);
		if (r != 1)
			set_why(f, "map create", r < 0 ? r : -EOPNOTSUPP);
		return r == 1;
	case FEAT_PERF_CPU_CLOCK:
		return probe_perf(f, SAMPLE_CPU_CLOCK);
	case FEAT_PERF_CYCLES:
		return probe_perf(f, SAMPLE_CYCLES);
	case FEAT_PERF_EVENT_PROG:
		return probe_prog(f, "probe_perf_event");
	case FEAT_RAW_TP:
		return probe_prog(f, "probe_raw_tp");
	case FEAT_TP_BTF:
		return probe_prog(f, "probe_tp_btf");
	case FEAT_FENTRY:
		return probe_prog(f, "probe_fentry");
	case FEAT_KPROBE:
		return probe_prog(f, "probe_kprobe");
	case FEAT_TRACEFS:
		r = tracefs_ensure(NULL);
		if (r)
			set_why(f, "mount", r);
		return r == 0;
	case FEAT_TRACEPOINT:
		if (!features__has(FEAT_TRACEFS)) {
			snprintf(why[f], sizeof(why[f]), "tracefs unavailable");
			return false;
		}
		return probe_prog(f, "probe_tracepoint");
	case FEAT_UPROBE:
		return probe_prog(f, "probe_uprobe");
	case FEAT_UPROBE_MULTI:
	case FEAT_UPROBE_SESSION:
		return probe_uprobe_multi(f);
	case FEAT_KALLSYMS:
		return probe_kallsyms();
	case FEAT_USER_UNWIND:
		r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_task_pt_regs, NULL);
		if (r == 1)
			r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT,
						    BPF_FUNC_get_current_task_btf, NULL);
		if (r != 1)
			set_why(f, "helper probe", r < 0 ? r : -EOPNOTSUPP);
		return r == 1;
	case FEAT_BPF_LOOP:
		r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_loop, NULL);
		if (r != 1)
			set_why(f, "helper probe", r < 0 ? r : -EOPNOTSUPP);
		return r == 1;
	case FEAT_NR:
		break;
	}
	return false;
}

bool features__has(enum feature f)
{
	if (f >= FEAT_NR)
		return false;
	if (state[f] == UNKNOWN) {
		why[f][0] = '\0';
		state[f] = probe(f) ? YES : NO;
		pr_debug("feature %s: %s%s%s", info[f].name, state[f] == YES ? "yes" : "no",
			 why[f][0] ? " — " : "", why[f]);
	}
	return state[f] == YES;
}

enum tp_attach features_choose_tp(const bool has[FEAT_NR])
{
	if (!has[FEAT_BTF])
		return TP_ATTACH_NONE;
	if (has[FEAT_TP_BTF])
		return TP_ATTACH_TP_BTF;
	if (has[FEAT_RAW_TP])
		return TP_ATTACH_RAW_TP;
	if (has[FEAT_TRACEPOINT])
		return TP_ATTACH_TRACEPOINT;
	return TP_ATTACH_NONE;
}

enum tp_attach features__tp_attach(void)
{
	bool has[FEAT_NR] = { false };

	/* Probe lazily in preference order: the first that works is the answer. */
	has[FEAT_BTF] = features__has(FEAT_BTF);
	has[FEAT_TP_BTF] = has[FEAT_BTF] && features__has(FEAT_TP_BTF);
	has[FEAT_RAW_TP] = has[FEAT_BTF] && !has[FEAT_TP_BTF] && features__has(FEAT_RAW_TP);
	has[FEAT_TRACEPOINT] = has[FEAT_BTF] && !has[FEAT_TP_BTF] && !has[FEAT_RAW_TP] &&
			       features__has(FEAT_TRACEPOINT);
	return features_choose_tp(has);
}

const char *tp_attach_name(enum tp_attach a)
{
	switch (a) {
	case TP_ATTACH_TP_BTF:
		return "tp_btf";
	case TP_ATTACH_RAW_TP:
		return "raw_tp";
	case TP_ATTACH_TRACEPOINT:
		return "tracepoint";
	case TP_ATTACH_NONE:
		break;
	}
	return "none";
}

const char *unwind_mode_name(__u32 mode)
{
	return mode == VG_UNWIND_CFI ? "cfi" : mode == VG_UNWIND_FP ? "fp" : "kernel";
}

/* Vigil's own walkers need both helpers. */
static bool own_walker(enum feature *missing)
{
	*missing = !features__has(FEAT_USER_UNWIND) ? FEAT_USER_UNWIND :
		   !features__has(FEAT_BPF_LOOP)    ? FEAT_BPF_LOOP :
						      FEAT_NR;
	return *missing == FEAT_NR;
}

const char *features__unwind_default(const char **why)
{
	enum feature missing;

	if (own_walker(&missing)) {
		*why = "bpf_loop and bpf_task_pt_regs available: .eh_frame CFI, frame pointers where a file has none";
		return "cfi";
	}
	*why = features__cost(missing);
	return "kernel";
}

int features__user_unwind(const char *cmd, const char *forced, __u32 *mode)
{
	enum feature missing;
	bool own = own_walker(&missing);

	if (!forced) {
		*mode = own ? VG_UNWIND_CFI : VG_UNWIND_KERNEL;
		if (!own)
			pr_info("user stacks by the kernel's frame-pointer walker: this kernel has no %s (%s)",
				features__name(missing), features__why(missing));
		return 0;
	}
	if (!strcmp(forced, "kernel")) {
		*mode = VG_UNWIND_KERNEL;
		return 0;
	}
	if (strcmp(forced, "fp") && strcmp(forced, "cfi")) {
		fprintf(stderr, "vigil %s: unknown unwinder '%s' (known: cfi, fp, kernel)\n", cmd,
			forced);
		return 1;
	}
	if (!own) {
		pr_err("the %s unwinder does not work on this kernel: no %s (%s); use --unwind kernel",
		       forced, features__name(missing), features__why(missing));
		return 2;
	}
	*mode = strcmp(forced, "cfi") ? VG_UNWIND_FP : VG_UNWIND_CFI;
	return 0;
}

static bool have_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

int features__check_basics(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data)) {
		pr_err("cannot read capabilities: %s", strerror(errno));
		return 2;
	}
	if (!have_cap(data, CAP_SYS_ADMIN) &&
	    (!have_cap(data, CAP_BPF) || !have_cap(data, CAP_PERFMON))) {
		pr_err("missing capability %s (run as root, or grant CAP_BPF and CAP_PERFMON)",
		       !have_cap(data, CAP_BPF) && !have_cap(data, CAP_PERFMON) ?
			       "CAP_BPF and CAP_PERFMON" :
		       !have_cap(data, CAP_BPF) ? "CAP_BPF" :
						  "CAP_PERFMON");
		return 2;
	}
	if (!features__has(FEAT_BTF)) {
		pr_err("kernel has no BTF (%s missing); need CONFIG_DEBUG_INFO_BTF=y, or VIGIL_KERNEL_BTF=FILE",
		       features__btf_path());
		return 2;
	}
	return 0;
}
