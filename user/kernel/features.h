/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What this kernel supports, probed once per process by loading and attaching tiny programs
 * (bpf/probe.bpf.c) and opening perf events. Shared by the collectors (which pick an attach type) and
 * by `vigil doctor` (which prints it all). Results are cached; not thread-safe.
 */
#ifndef VIGIL_FEATURES_H
#define VIGIL_FEATURES_H

#include <stdbool.h>
#include <linux/types.h>

enum feature {
	FEAT_BTF, /* kernel BTF (CO-RE) */
	FEAT_RINGBUF, /* BPF_MAP_TYPE_RINGBUF */
	FEAT_STACK_MAP, /* BPF_MAP_TYPE_STACK_TRACE */
	FEAT_TASK_STORAGE, /* BPF_MAP_TYPE_TASK_STORAGE */
	FEAT_PERF_CPU_CLOCK, /* software cpu-clock sampling */
	FEAT_PERF_CYCLES, /* hardware cycles sampling */
	FEAT_PERF_EVENT_PROG, /* BPF on perf events */
	FEAT_RAW_TP, /* raw_tp/ (BPF_RAW_TRACEPOINT_OPEN) */
	FEAT_TP_BTF, /* tp_btf/ */
	FEAT_FENTRY, /* fentry/fexit */
	FEAT_KPROBE, /* kprobe/kretprobe */
	FEAT_TRACEFS, /* tracefs mounted (or mountable: probing mounts it) */
	FEAT_TRACEPOINT, /* classic tracepoint/ (needs tracefs) */
	FEAT_UPROBE, /* uprobe/uretprobe */
	FEAT_KALLSYMS, /* /proc/kallsyms with real addresses */
	FEAT_USER_UNWIND, /* bpf_task_pt_regs: Vigil's own user-stack walker */
	FEAT_UPROBE_MULTI, /* uprobe_multi links: many functions per link (Linux 6.6) */
	FEAT_UPROBE_SESSION, /* uprobe sessions: an entry program may skip the return (Linux 6.13) */
	FEAT_BPF_LOOP, /* bpf_loop: the walker's loop over frames (CFI and frame pointers) */
	FEAT_NR
};

/* True when the feature works here. Probes it on first use. */
bool features__has(enum feature f);
/* Short name ("tp_btf") and a line on what is lost without it. */
const char *features__name(enum feature f);
const char *features__cost(enum feature f);
/* Why a probe failed ("load: Operation not permitted"), "" when it worked or was not probed. */
const char *features__why(enum feature f);
/* The BTF file CO-RE uses: $VIGIL_KERNEL_BTF or /sys/kernel/btf/vmlinux. */
const char *features__btf_path(void);

/* How to attach to a kernel tracepoint, best first. */
enum tp_attach { TP_ATTACH_NONE, TP_ATTACH_TP_BTF, TP_ATTACH_RAW_TP, TP_ATTACH_TRACEPOINT };
/*
 * Pure choice for a tracepoint hook from what the kernel has: tp_btf (cheapest, typed), else raw_tp
 * (no tracefs needed), else a classic tracepoint (needs tracefs). has[] is indexed by enum feature.
 */
enum tp_attach features_choose_tp(const bool has[FEAT_NR]);
/* The same choice for this kernel. */
enum tp_attach features__tp_attach(void);
const char *tp_attach_name(enum tp_attach a);

/*
 * Which user-stack walker to use (VG_UNWIND_* of vigil/unwind.h): forced ("cfi", "fp" or "kernel",
 * from --unwind) or the best this kernel allows: cfi when it has bpf_loop and bpf_task_pt_regs, else
 * the kernel's walker with a one-line notice. Sets *mode. 0; 1 after an error line for an unknown
 * name; 2 after one when "cfi" or "fp" was forced but cannot work here.
 */
int features__user_unwind(const char *cmd, const char *forced, __u32 *mode);
/* The default walker's name ("cfi" or "kernel") and why, for vigil doctor. */
const char *features__unwind_default(const char **why);
/* "cfi", "fp", "kernel". */
const char *unwind_mode_name(__u32 mode);

/*
 * Privileges and BTF, checked before any work: 0, or 2 (the exit code) after printing what is missing
 * ("missing capability CAP_BPF ..."; "kernel has no BTF ...").
 */
int features__check_basics(void);

#endif
