/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The service's metric families, as the collection thread builds them: CPU seconds by process name,
 * latency histograms (cumulative, on the exact 1-2.5-5 ladder), resident memory by process name,
 * losses by reason, and the agent's own cost. One walk (metrics__each) feeds /metrics, the store and
 * remote write, so the three always agree.
 *
 * Label cardinality is bounded: each interval, the top N process names (by CPU, by RSS) and syscalls
 * (by calls) keep their own series and the rest add to comm="other" / syscall="other"; a name that
 * leaves the top N for 30 intervals loses its series. Not thread-safe: the collection thread owns it.
 */
#ifndef VIGIL_SERVICE_METRICS_H
#define VIGIL_SERVICE_METRICS_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "collect/procstat.h"
#include "export/prom.h"
#include "model/hist.h"
#include "vigil/common.h"

struct metrics;
struct profile;

struct metrics *metrics__new(unsigned int top_n);
void metrics__free(struct metrics *m);

/* CPU samples of a profile (value = CPU nanoseconds) added to their comm's counter. */
void metrics__add_cpu(struct metrics *m, const struct profile *p);
/* Interval deltas of one latency family ("syscall", "runq", "bio") added to the totals. */
int metrics__add_latency(struct metrics *m, const char *family, const struct hist_entry *e,
			 size_t n);
/* Losses of a collector in an interval (VG_CNT_* deltas) added to vigil_lost_events_total. */
void metrics__add_losses(struct metrics *m, const char *collector, const __u64 cnt[VG_CNT_NR]);
/* Replace the RSS gauges with this interval's reading. */
void metrics__set_rss(struct metrics *m, const struct proc_rss *r, size_t n);
/* The agent's own numbers. */
struct agent_stats {
	double cpu_seconds;
	__u64 rss_bytes;
	double bpf_run_seconds; /* from bpf_stats (0 when kernel.bpf_stats_enabled is off) */
	__u64 bpf_run_count;
	long long store_bytes;
	bool store_writable;
	double intervals;
	__u64 sym_procs; /* processes the symbolizer keeps (live ones and those just exited) */
	__u64 sym_table_bytes; /* memory of the parsed symbol tables */
};
void metrics__set_agent(struct metrics *m, const struct agent_stats *a);
/* End of interval: top-N decisions for the next one, series that fell out dropped. */
void metrics__close_interval(struct metrics *m);

/* One sample: family (metric family name), name (sample name, e.g. ..._bucket), labels. first is
 * true for a family's first sample. Return non-zero to stop. */
typedef int (*metrics_fn)(void *arg, const char *family, const char *type, const char *help,
			  const char *name, const struct prom_label *l, size_t n, double v,
			  int first);
int metrics__each(const struct metrics *m, metrics_fn fn, void *arg);
/* The Prometheus text of everything (promtool-clean). 0 or -EIO. */
int metrics__render(const struct metrics *m, FILE *out);
/* CPU seconds by comm in the interval just closed, top n (for the stream): fn per comm. */
void metrics__interval_cpu(const struct metrics *m,
			   void (*fn)(void *arg, const char *comm, double s), void *arg);

#endif
