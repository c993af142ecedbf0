// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "collect/collector.h"
#include "collect/readout.h"

int counter_delta__read(struct counter_delta *d, int counters_fd, enum collect_read mode,
			__u64 cnt[VG_CNT_NR])
{
	__u64 now[VG_CNT_NR] = { 0 };
	int err = read_percpu_counters(counters_fd, now, VG_CNT_NR);

	if (err)
		return err;
	for (int i = 0; i < VG_CNT_NR; i++) {
		/* Per-CPU sums only grow; a smaller value means a CPU came and went. */
		cnt[i] = mode == COLLECT_TOTAL ? now[i] :
			 now[i] >= d->prev[i]  ? now[i] - d->prev[i] :
						 0;
		if (mode == COLLECT_INTERVAL)
			d->prev[i] = now[i];
	}
	return 0;
}
