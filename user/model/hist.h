/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency histograms in userspace (struct vg_hist from include/vigil/hist.h): merging per-CPU copies,
 * percentiles, units and labelled entries. Their text and Prometheus renderings are in
 * export/histogram.h. Pure functions of their arguments; thread-safe.
 */
#ifndef VIGIL_USER_HIST_H
#define VIGIL_USER_HIST_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "vigil/hist.h"

/* dst += src (counts, sums, buckets, ladder; max of maxima). */
void hist_merge(struct vg_hist *dst, const struct vg_hist *src);
/* dst -= prev, for totals that only grow (interval deltas); max_ns is left as it is. */
void hist_sub(struct vg_hist *dst, const struct vg_hist *prev);
/*
 * The value at quantile q (0..1) in ns, interpolated linearly inside its bucket and capped at max_ns,
 * so the error is below one bucket's width (12.5%). 0 for an empty histogram.
 */
__u64 hist_quantile(const struct vg_hist *h, double q);
double hist_mean_ns(const struct vg_hist *h);

/* A display unit: "nsecs"/1, "usecs"/1000, "msecs"/1000000. */
struct hist_unit {
	const char *name;
	__u64 ns;
};
/* "ns", "us", "ms" -> unit; NULL when unknown. */
const struct hist_unit *hist_unit_by_name(const char *s);

/* "1.23 ms" style: three significant digits with the unit that fits. */
const char *hist_fmt_ns(double ns, char *buf, size_t len);

/* One labelled histogram, as vigil lat reports them. */
#define HIST_MAX_LABELS 5
struct hist_entry {
	char name[96]; /* "clock_nanosleep", "vda write", "runq pid=12 (sshd)" */
	struct {
		const char *key;
		char value[64];
		bool numeric; /* a number in JSON (pid, cpu), a string otherwise */
	} labels[HIST_MAX_LABELS];
	int nlabels;
	struct vg_hist h;
};
void hist_entry_label(struct hist_entry *e, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void hist_entry_label_num(struct hist_entry *e, const char *key, __u64 v);

#endif
