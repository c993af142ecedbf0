/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every collector of collect/ shares (collect/README.md describes the pattern): how a read spans
 * time, and the per-collector bookkeeping that turns monotonic BPF counters into interval deltas.
 */
#ifndef VIGIL_COLLECT_COLLECTOR_H
#define VIGIL_COLLECT_COLLECTOR_H

#include <stdbool.h>
#include <linux/types.h>

#include "vigil/common.h"

enum collect_read {
	/* Everything since attach; the maps are left as they are (one-shot commands). */
	COLLECT_TOTAL,
	/* What happened since the previous read (or attach): aggregation maps are drained entry by
	 * entry (lookup-and-delete), histograms and counters are differenced against the previous
	 * read's totals. Stack maps are cleared only when they fill up, so stack ids of live keys stay
	 * valid; a stack cleared before its sample was read counts as VG_CNT_STACK_GONE. */
	COLLECT_INTERVAL,
};

/* Per-CPU loss counters read as totals or as deltas since the previous interval read. */
struct counter_delta {
	__u64 prev[VG_CNT_NR];
};
/* cnt = the counters map now (mode TOTAL) or since the last INTERVAL read. 0 or -errno. */
int counter_delta__read(struct counter_delta *d, int counters_fd, enum collect_read mode,
			__u64 cnt[VG_CNT_NR]);

#endif
