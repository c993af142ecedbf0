/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An in-memory time-series store: series by label set, samples appended in time order, and a
 * `struct pq_source` over it for the PromQL evaluator. It backs `vigil rules query --data FILE`, the
 * unit tests and the benchmarks; the service keeps its own store and implements the same source.
 *
 * Not thread-safe: one thread appends and queries (or several query after the last append).
 */
#ifndef VIGIL_ANALYTICS_TSMEM_H
#define VIGIL_ANALYTICS_TSMEM_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/labels.h"
#include "analytics/promql.h"

struct tsmem;

/* NULL with errno set. */
struct tsmem *tsmem__new(void);
/* NULL-safe. */
void tsmem__free(struct tsmem *ts);
/*
 * Appends (t ms, v) to the series named by l (borrowed; the store keeps its own reference). A sample
 * older than the series' newest is refused (-EINVAL), one at the same time replaces it. 0 or -errno.
 */
int tsmem__append(struct tsmem *ts, struct labels *l, int64_t t, double v);
size_t tsmem__series(const struct tsmem *ts);
size_t tsmem__samples(const struct tsmem *ts);
/* Bytes held (series, labels, samples, indexes): for the memory-per-series benchmark. */
size_t tsmem__bytes(const struct tsmem *ts);
/* Oldest and newest sample times; false when empty. */
bool tsmem__bounds(const struct tsmem *ts, int64_t *mint, int64_t *maxt);
/* A source reading ts; valid while ts lives. */
struct pq_source tsmem__source(struct tsmem *ts);

#endif
