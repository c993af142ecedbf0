/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vigil trace's records (include/vigil/trace.h) into spans (model/spans.h): processes and threads
 * from fork/exec/exit, syscall and -u function spans, HTTP/1.x SERVER and CLIENT spans from socket
 * heads (collect/httptrack.h), links from wake-ups and the last writer of the data a read got, the
 * root span of the capture and the critical path under it.
 *
 * Feed every ring-buffer record to tracer__record() in arrival order, then call tracer__finish()
 * once. The tracer owns the span set until tracer__finish() hands it over. Not thread-safe.
 */
#ifndef VIGIL_COLLECT_TRACER_H
#define VIGIL_COLLECT_TRACER_H

#include <stddef.h>
#include <linux/types.h>

#include "model/spans.h"
#include "vigil/trace.h"

struct tracer_opts {
	const char *root_name; /* name of the root span ("make -j2", "pid 1234") */
	const char *service; /* --service: service.name of the traced command's processes */
	__u32 root_pid; /* -- COMMAND's pid (its process span starts at its exec), or 0 */
	const __u32 *pids; /* -p targets (borrowed); their processes started before the capture */
	size_t nr_pids;
	const char *const *funcs; /* -u display names ("ufunc:ufunc_target") by attach cookie */
	size_t nr_funcs;
	const __u8 *trace_id; /* 16 bytes: the capture's trace id */
	__u64 seed; /* span-id generator seed */
};

/* What the BPF side counted (tcounters, summed over CPUs) and what arrived, for the loss report. */
struct tracer_counts {
	__u64 bpf[VG_TCNT_NR];
	__u64 received[VG_TREC_NR];
	__u64 malformed; /* records with a bad type or size */
	__u64 follow_full; /* descendants not followed (the shared counters map) */
};

struct tracer;

/* NULL + errno. Strings in o are copied. */
struct tracer *tracer__new(const struct tracer_opts *o);
void tracer__free(struct tracer *t);

/* One ring-buffer record. 0; -EINVAL for a malformed record (counted, not fatal); -ENOMEM. */
int tracer__record(struct tracer *t, const void *data, size_t size);

/* Learn a -p target (process and threads from /proc) before the capture starts. */
void tracer__adopt(struct tracer *t, __u32 pid);

/* How many records of each type arrived so far, and how many were malformed (the loss report). */
const __u64 *tracer__received(const struct tracer *t);
__u64 tracer__malformed(const struct tracer *t);

/*
 * Close the capture [start_ns, end_ns] (CLOCK_MONOTONIC): unfinished spans end at end_ns, the root
 * span covers the capture, spans nest per thread, links resolve to spans, traces are inherited and
 * the critical path is marked. counts go into the root span's attributes (vigil.lost.*). Returns
 * the span set (the caller owns it; spans__free) or NULL + errno. The root span is index 0.
 */
struct spans *tracer__finish(struct tracer *t, __u64 start_ns, __u64 end_ns,
			     const struct tracer_counts *counts);

/* "fork", "exec", "exit", "syscall", "function", "socket" by record type. */
const char *tracer_record_name(__u32 type);

#endif
