/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memory collector (bpf/mem.bpf.c) behind the collector pattern of collect/README.md:
 *
 *   mem_collector__new      open → configure (mode, sampling tables, map sizes, autoload) → load →
 *                           fill the filters
 *   mem_collector__attach   fork follower (when filtering a COMMAND), then the mode's hooks: the
 *                           allocator's uprobes per target and the mmap syscalls (malloc), user page
 *                           faults (faults), rss_stat (rss), kmem tracepoints (kernel)
 *   mem_collector__detach   hooks off; the maps stay readable
 *   mem_collector__read     allocations into a heap profile (in use at the read, allocated since
 *                           attach), or page faults into a profile of bytes faulted in
 *   mem_collector__read_rss --mode rss: each address space's resident set now
 *
 * Errors are printed (one line) where they happen; functions return 0 or -errno, constructors NULL
 * with errno set. Not thread-safe: one thread drives a collector.
 */
#ifndef VIGIL_COLLECT_MEM_H
#define VIGIL_COLLECT_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "collect/collector.h"
#include "kernel/allocator.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "vigil/common.h"
#include "vigil/mem.h"

struct bpf_object;
struct bpf_map;
struct profile;
struct profile_meta;
struct symbolizer;

/* Where the allocator's uprobes go: one process (its allocator) or every process (pid -1). */
struct mem_target {
	int pid;
	const struct allocator *alloc; /* borrowed for __attach */
};

/* How the allocator's uprobes attach (best first): one uprobe session link per library, whose entry
 * skips the return probe of calls with nothing to record (Linux 6.13); uprobe_multi entry and
 * return links per library (6.6); or one perf-event uprobe and uretprobe per function. */
enum mem_uprobes { MEM_UPROBES_SESSION, MEM_UPROBES_MULTI, MEM_UPROBES_PERF };

struct mem_collector_opts {
	__u32 mode; /* VG_MEM_MODE_* */
	__u64 sample_bytes; /* --sample-bytes N (malloc mode); 0 = every allocation */
	__u32 unwind_mode; /* VG_UNWIND_* (features__user_unwind decides) */
	__u32 max_frames; /* user frames per stack, at most VG_MAX_STACK_DEPTH */
	__u32 unwind_rows; /* CFI rows the kernel holds (VG_UNWIND_CFI) */
	__u32 stack_storage; /* stack map entries; the totals map gets 4x */
	__u32 max_outstanding; /* outstanding-table entries */
	bool syscalls; /* malloc mode: mmap/munmap/mremap tracepoints too */
	enum mem_uprobes uprobes; /* malloc mode (the caller checked the kernel has it) */
	const struct filter_cfg *filter; /* borrowed for __new only; NULL = everything */
	enum tp_attach attach; /* fork follower and page-fault hook flavour */
};

struct mem_collector;

struct mem_collector *mem_collector__new(const struct mem_collector_opts *o);
/* NULL-safe; detaches and unloads. */
void mem_collector__free(struct mem_collector *c);

/* The loaded object (runner__spawn puts COMMAND in its pid filter), its exec-notice hook in the
 * flavours of bpf/common.bpf.h, and its process-notice ring buffer (runner__track). Owned by the
 * collector. */
struct bpf_object *mem_collector__object(struct mem_collector *c);
struct tp_progs;
const struct tp_progs *mem_collector__exec_progs(struct mem_collector *c);
struct bpf_map *mem_collector__notices(struct mem_collector *c);

/* Attach the mode's hooks (malloc mode: the allocator of each target). 0 or -errno (EACCES/EPERM:
 * not allowed), after an error line. Says in what[len] what it hooked. */
int mem_collector__attach(struct mem_collector *c, const struct mem_target *targets,
			  size_t nr_targets, char *what, size_t len);
void mem_collector__detach(struct mem_collector *c);

struct mem_read_opts {
	bool report_alloc; /* the report is what was allocated (else what is in use) */
	__u64 older_than_ns; /* in use: only allocations at least this old at now_ns; 0 = all */
	__u64 now_ns; /* CLOCK_MONOTONIC of the end of the capture */
};

/*
 * The allocations (malloc, kernel) or page faults (faults) into a new profile (caller frees),
 * with meta's title and times (copied; the sample types are set here: a heap profile's four,
 * or faults/count and space/bytes), stacks symbolized with sym (borrowed). cnt and mcnt get the
 * common and the mem counters (VG_CNT_EVENTS: allocations or faults recorded, plus those a full
 * totals map dropped). NULL + errno.
 * COLLECT_TOTAL: allocated since attach. COLLECT_INTERVAL: allocated since the previous read (the
 * totals are drained, the counters differenced); the in-use half is always what is outstanding
 * now, whenever it was allocated, so the stack maps are never recycled here (an old allocation
 * keeps its stack): when they fill, the loss counters say so.
 */
struct profile *mem_collector__read(struct mem_collector *c, struct symbolizer *sym,
				    const struct profile_meta *meta, const struct mem_read_opts *ro,
				    enum collect_read mode, __u64 cnt[VG_CNT_NR],
				    __u64 mcnt[VG_MEM_CNT_NR]);

/* --mode rss: one row per address space seen. */
struct mem_rss_row {
	__u32 pid;
	__u32 mm_id;
	char comm[VG_COMM_LEN + 1];
	__s64 size[VG_MEM_RSS_MEMBERS]; /* bytes: file, anon, swap, shmem */
	__s64 peak; /* largest resident (file + anon + shmem) since attach */
	__u64 updates;
};

/* The rows now (caller frees *rows), sorted by pid. 0 or -errno. */
int mem_collector__read_rss(struct mem_collector *c, struct mem_rss_row **rows, size_t *n);

/* The sampling weight of an allocation of size bytes at --sample-bytes n: 1 / (1 - exp(-size/n)),
 * and 1 when n is 0. Pure; for the readout and the tests. */
double mem_sample_weight(__u64 size, __u64 n);

#endif
