/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency histograms aggregated in the kernel (bpf/lat.bpf.c) as a reusable collector: syscalls
 * (entry to exit), run queue (wake-up or preemption to running), block I/O (issue to completion) or a
 * user function (uprobe to uretprobe). Same lifecycle as collect/cpu.h (collect/README.md): __new
 * (open, configure, load, fill filters) → __attach → __read → __detach → __free. One collector per
 * kind; `vigil serve` runs three side by side. Errors printed where they happen; 0 or -errno.
 * Not thread-safe.
 */
#ifndef VIGIL_COLLECT_LATENCY_H
#define VIGIL_COLLECT_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "collect/collector.h"
#include "kernel/features.h"
#include "kernel/filter.h"
#include "model/hist.h"
#include "vigil/lat.h"

struct bpf_object;
struct tp_progs;
struct uprobe_target;

enum lat_kind {
	LAT_SYSCALL = VG_LAT_SYSCALL,
	LAT_RUNQ = VG_LAT_RUNQ,
	LAT_BIO = VG_LAT_BIO,
	LAT_UPROBE = VG_LAT_UPROBE,
};

struct lat_collector_opts {
	enum lat_kind kind;
	bool per_process; /* one histogram per process (pid, comm labels) */
	bool per_cpu; /* runq, syscall: one histogram per CPU */
	const int *syscalls; /* syscall: only these numbers (< VG_LAT_MAX_SYSCALLS); borrowed */
	int nr_syscalls; /* 0 = all */
	const struct filter_cfg *filter; /* borrowed for __new only; NULL = everything */
	enum tp_attach
		attach; /* flavour of the tracepoint hooks (and fork/exec ones when following) */
	const struct uprobe_target *uprobe; /* uprobe: the resolved target; borrowed for __attach */
	int uprobe_pid; /* uprobe: only this process, -1 = all */
};

struct lat_collector;

struct lat_collector *lat_collector__new(const struct lat_collector_opts *o);
void lat_collector__free(struct lat_collector *c); /* NULL-safe */
struct bpf_object *lat_collector__object(struct lat_collector *c);
/* The exec hook for runner__spawn when following a COMMAND, else NULL. */
const struct tp_progs *lat_collector__exec_progs(struct lat_collector *c);
int lat_collector__attach(struct lat_collector *c);
void lat_collector__detach(struct lat_collector *c);
/* uprobe: "libc:malloc" (after attach); "" otherwise. */
const char *lat_collector__uprobe_name(const struct lat_collector *c);

/*
 * The histograms, named and labelled per kind (syscall: syscall=NAME; bio: disk, op; uprobe:
 * function; per_process adds pid and comm, per_cpu cpu). COLLECT_TOTAL: since attach.
 * COLLECT_INTERVAL: since the previous read, only entries with events (the interval's maximum is
 * not recoverable from totals: max_ns is then the top of the highest non-empty bucket, a safe upper
 * bound). *entries belongs to the collector, valid until the next read. cnt gets the loss counters of
 * the same span, cnt[VG_CNT_EVENTS] the events counted. 0 or -errno.
 */
int lat_collector__read(struct lat_collector *c, enum collect_read mode,
			struct hist_entry **entries, size_t *nr, __u64 cnt[VG_CNT_NR]);
/* Loss counters since attach, with cnt[VG_CNT_EVENTS] = the events in the totals the last read
 * saw. 0 or -errno. Does not disturb interval reads. */
int lat_collector__totals(struct lat_collector *c, __u64 cnt[VG_CNT_NR]);

#endif
