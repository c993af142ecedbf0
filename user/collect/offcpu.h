/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The off-CPU tracer (bpf/offcpu.bpf.c) as a reusable collector: time off-CPU per blocked stack from
 * sched_switch, optionally with the waker's stack (--wakers) or, with wall, on-CPU samples on the same
 * time base. Same lifecycle as collect/cpu.h (collect/README.md): __new (open, configure, load, fill
 * filters) → __attach → __read → __detach → __free. Errors printed where they happen; 0 or -errno.
 * Not thread-safe.
 */
#ifndef VIGIL_COLLECT_OFFCPU_H
#define VIGIL_COLLECT_OFFCPU_H

#include <stdbool.h>
#include <linux/types.h>

#include "collect/collector.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "vigil/common.h"

struct bpf_object;
struct tp_progs;
struct profile;
struct profile_meta;
struct symbolizer;

struct offcpu_collector_opts {
	__u64 min_ns, max_ns; /* count blocks of min_ns..max_ns (min_ns >= 1) */
	__u32 state; /* VG_STATE_S, VG_STATE_D or VG_STATE_ANY */
	bool wakers; /* record the waker's stack too */
	bool wall; /* on-CPU samples as well (freq Hz), for a filtered set of processes */
	unsigned long freq;
	bool user_stacks, kernel_stacks;
	__u32 unwind_mode; /* VG_UNWIND_* (features__user_unwind decides) */
	__u32 max_frames; /* user frames per stack, at most VG_MAX_STACK_DEPTH */
	__u32 unwind_rows; /* CFI rows the kernel holds (VG_UNWIND_CFI) */
	__u32 stack_storage;
	const struct filter_cfg *filter; /* borrowed for __new only; NULL = everything */
	enum tp_attach attach; /* flavour of the scheduler hooks */
};

struct offcpu_collector;

struct offcpu_collector *offcpu_collector__new(const struct offcpu_collector_opts *o);
void offcpu_collector__free(struct offcpu_collector *c); /* NULL-safe */
struct bpf_object *offcpu_collector__object(struct offcpu_collector *c);
/* The exec hook for runner__spawn when following a COMMAND or walking user stacks itself (an exec
 * makes a process's unwind tables stale), else NULL. */
const struct tp_progs *offcpu_collector__exec_progs(struct offcpu_collector *c);
/* Its process-notice ring buffer (runner__track): the user-stack walker announces processes. */
struct bpf_map *offcpu_collector__notices(struct offcpu_collector *c);
int offcpu_collector__attach(struct offcpu_collector *c);
/* Detach everything; the stop time for "still blocked" accounting is taken here. */
void offcpu_collector__detach(struct offcpu_collector *c);

/*
 * Off-CPU time into a new profile (count = blocking episodes, value = nanoseconds), stacks symbolized
 * with sym. COLLECT_TOTAL also counts the time of tasks still blocked at the stop (and, with wall,
 * threads blocked since before the capture or for all of it). COLLECT_INTERVAL drains the counts: a
 * block counts in the interval in which it ends. cnt gets the loss counters of the span. NULL + errno.
 */
struct profile *offcpu_collector__read(struct offcpu_collector *c, struct symbolizer *sym,
				       const struct profile_meta *meta, enum collect_read mode,
				       __u64 cnt[VG_CNT_NR]);

#endif
