/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vigil trace's collector (bpf/trace.bpf.c), the collect/README.md lifecycle: __new (open,
 * configure, load, fill filters) → __attach → records streamed to a tracer (collect/tracer.h) from
 * the session's event loop → __detach → __drain → __counts → __free. The ring buffer is read when
 * the BPF side asks (a batch queued) and on a short timer, so a trickle of records costs no wake-up
 * each. Errors printed where they happen; 0 or -errno. Not thread-safe.
 */
#ifndef VIGIL_COLLECT_TRACE_H
#define VIGIL_COLLECT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "collect/tracer.h"
#include "kernel/features.h"
#include "kernel/filter.h"

struct bpf_object;
struct session;
struct tp_progs;
struct uprobe_target;

struct trace_collector_opts {
	__u64 min_syscall_ns; /* syscall spans from this long on; 0 = every syscall */
	bool no_syscalls; /* no sys_enter/exit hooks: processes, threads, -u only */
	bool no_http; /* no HTTP heads from socket syscalls */
	__u32 buffer_size; /* ring buffer bytes (a power of two, >= 4096) */
	bool follow_pids; /* children of the -p targets join the filter */
	const struct filter_cfg *filter; /* borrowed for __new only; NULL = everything */
	enum tp_attach attach;
	const struct uprobe_target *funcs; /* -u targets, the attach cookie is the index; borrowed
					    * for __attach */
	size_t nr_funcs;
	int func_pid; /* -u: only this process, -1 = all */
};

struct trace_collector;

struct trace_collector *trace_collector__new(const struct trace_collector_opts *o);
void trace_collector__free(struct trace_collector *c); /* NULL-safe: detaches */
struct bpf_object *trace_collector__object(struct trace_collector *c);
/* The exec hook for runner__spawn (also the exec records): always set. */
const struct tp_progs *trace_collector__exec_progs(struct trace_collector *c);
/* Records go to t (borrowed) from session s's loop: the ring buffer's fd and a 50 ms tick. A
 * tracer out of memory ends the loop with SESSION_ERROR (see __failed). 0 or -errno. */
int trace_collector__stream(struct trace_collector *c, struct session *s, struct tracer *t);
/* Hooks (fork first, so no descendant escapes) and -u probes. 0 or -errno. */
int trace_collector__attach(struct trace_collector *c);
/* Every hook off (the exec hook is the runner's); records already queued stay readable. */
void trace_collector__detach(struct trace_collector *c);
/* Read everything still queued. 0 or -errno. */
int trace_collector__drain(struct trace_collector *c);
/* The BPF side's counters (due and lost per record type, other losses) and the tracer's
 * received counts. 0 or -errno. */
int trace_collector__counts(struct trace_collector *c, struct tracer_counts *out);
/* True when the tracer ran out of memory while streaming. */
bool trace_collector__failed(const struct trace_collector *c);

#endif
