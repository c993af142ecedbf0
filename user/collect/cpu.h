/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The on-CPU sampler (bpf/profile.bpf.c) as a reusable collector: `vigil profile` runs it once,
 * `vigil serve` runs it for days and reads it every interval. The pattern every collector follows is
 * in collect/README.md:
 *
 *   cpu_collector__new      open → configure (rodata, map sizes, autoload) → load → fill the filters
 *   cpu_collector__attach   fork follower (when filtering a COMMAND), then the samplers
 *   cpu_collector__read     the counts so far into a new struct profile (COLLECT_TOTAL), or those since
 *                           the previous read with the maps drained (COLLECT_INTERVAL)
 *   cpu_collector__detach   samplers off (the counts stop moving); __free detaches and unloads
 *
 * Errors are printed (one line, "vigil: ...") where they happen; functions return 0 or -errno,
 * constructors NULL with errno set. Not thread-safe: one thread drives a collector.
 */
#ifndef VIGIL_COLLECT_CPU_H
#define VIGIL_COLLECT_CPU_H

#include <stdbool.h>
#include <linux/types.h>

#include "collect/collector.h"
#include "kernel/features.h"
#include "kernel/perf_event.h"
#include "kernel/filter.h"
#include "vigil/common.h"

struct bpf_object;
struct bpf_map;
struct tp_progs;
struct profile;
struct profile_meta;
struct symbolizer;

struct cpu_collector_opts {
	unsigned long freq; /* samples per second per CPU */
	enum sample_event
		event; /* SAMPLE_CPU_CLOCK or SAMPLE_CYCLES (the caller checked it exists) */
	bool include_idle; /* the idle task's samples too */
	bool user_stacks, kernel_stacks;
	__u32 unwind_mode; /* VG_UNWIND_* (features__user_unwind decides) */
	__u32 max_frames; /* user frames per stack, at most VG_MAX_STACK_DEPTH */
	__u32 unwind_rows; /* CFI rows the kernel holds (VG_UNWIND_CFI) */
	__u32 stack_storage; /* stack map entries; the counts map gets 4x */
	const struct filter_cfg *filter; /* borrowed for __new only; NULL = everything */
	enum tp_attach
		attach; /* flavour of the fork follower and the exec hook (NONE: no exec hook) */
};

struct cpu_collector;

struct cpu_collector *cpu_collector__new(const struct cpu_collector_opts *o);
/* NULL-safe; detaches and unloads. */
void cpu_collector__free(struct cpu_collector *c);

/* The loaded object and its exec hook (runner__spawn attaches the hook and puts COMMAND in the pid
 * filter), and its process-notice ring buffer (runner__track). Owned by the collector. */
struct bpf_object *cpu_collector__object(struct cpu_collector *c);
const struct tp_progs *cpu_collector__exec_progs(struct cpu_collector *c);
struct bpf_map *cpu_collector__notices(struct cpu_collector *c);

/* 0 or -errno (EACCES/EPERM: perf events not allowed). */
int cpu_collector__attach(struct cpu_collector *c);
int cpu_collector__nr_cpus(const struct cpu_collector *c);
void cpu_collector__detach(struct cpu_collector *c);

/*
 * The samples into a new profile (caller frees) with meta (copied; period is set from freq), stacks
 * symbolized with sym (borrowed). cnt gets the event total and loss counters of the same span
 * (VG_CNT_EVENTS = samples + those the full counts map dropped, plus VG_CNT_STACK_GONE). NULL + errno.
 */
struct profile *cpu_collector__read(struct cpu_collector *c, struct symbolizer *sym,
				    const struct profile_meta *meta, enum collect_read mode,
				    __u64 cnt[VG_CNT_NR]);

#endif
