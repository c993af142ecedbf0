/* SPDX-License-Identifier: GPL-2.0 */
/* Latency histograms (model/hist.h) written as bcc's log2 text and as Prometheus text. Thread-safe. */
#ifndef VIGIL_EXPORT_HISTOGRAM_H
#define VIGIL_EXPORT_HISTOGRAM_H

#include <stddef.h>
#include <stdio.h>

#include "model/hist.h"

/* bcc's log2 layout ("     usecs : count distribution" with star bars), in unit. */
void hist_print_log2(FILE *out, const struct vg_hist *h, const struct hist_unit *u);
/*
 * Prometheus text format 0.0.4: one histogram family `metric` (seconds, cumulative le buckets on
 * the exact 1-2.5-5 ladder from 1e-06 to 10 (vigil/hist.h), +Inf, _sum, _count) over the entries' labels, and when errors_metric
 * is not NULL, a counter family of their errors. Returns 0 or -EIO.
 */
/* The `le` label value of ladder boundary i in seconds ("1e-06", "0.0025", "10"). Returns buf. */
const char *hist_le_label(__u32 i, char *buf, size_t len);
int hist_write_prom(FILE *out, const char *metric, const char *help, const char *errors_metric,
		    const struct hist_entry *e, size_t n);

#endif
