/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PromQL evaluator's view of a metric store (`struct series_store`, model/series.h): a
 * `struct pq_source` whose samples are what a Prometheus scraping the writer every interval would
 * hold.
 *
 * A store may skip a point whose value equals the series' previous one and keep one at least every
 * hold_ms (service/store.c: 60 s). This source puts the skipped samples back, with the stored
 * point's value, at the writer's interval ends between that point and the series' next one (and
 * younger than hold_ms after it): the times of the clock series, one the writer stores at every
 * interval (vigil serve: vigil_intervals_total, stored in the same transaction as the interval's
 * points). So the samples are exactly those a scraper every interval (or Prometheus' remote write)
 * got, and rate() over a window of an idle counter is 0, not absent. A series the writer stopped
 * without an end is held for up to hold_ms (vigil serve writes one: service/store.h,
 * store__end_unreported). Without a clock (or where it has
 * no points), put-back samples are every interval_ms after the stored point, up to half an interval
 * before the next one, and after a series' newest point up to the latest storesrc__advance() time.
 * A series' end (series_is_end, recorded by the writer: an alert resolved, a recorded series gone)
 * comes as Prometheus' staleness marker and nothing is put back after it. A restart of the writer
 * (the clock's count goes back) ends every hold: the new writer stores each series it reports at
 * its first interval, and one it does not report was not seen (a scraper would have found the
 * target down, not the value unchanged).
 * Points older than raw_age_ms before the latest interval (downsampled by the store) are returned
 * as stored.
 *
 * Thread-safety: select() may run from several threads at once if the store's select may; advance()
 * from any thread.
 */
#ifndef VIGIL_ANALYTICS_STORESRC_H
#define VIGIL_ANALYTICS_STORESRC_H

#include <stdint.h>

#include "analytics/promql.h"
#include "model/series.h"

struct storesrc_opts {
	int64_t interval_ms; /* the writer's interval (> 0) */
	int64_t hold_ms; /* the store keeps a point at least this often; 0: nothing is put back */
	int64_t raw_age_ms; /* older points are downsampled: returned as stored; 0: none are */
	const char *clock_metric; /* stored at every interval end (label-free), or NULL */
};

struct storesrc;

/* st is borrowed and must outlive the source. NULL with errno set. */
struct storesrc *storesrc__new(struct series_store st, const struct storesrc_opts *o);
void storesrc__free(struct storesrc *s); /* NULL-safe */
/* The time of the clock's first point in (from, to], -1 when none (or no clock). Thread-safe. */
int64_t storesrc__first_tick(const struct storesrc *s, int64_t from, int64_t to);

/* The writer stored an interval ending at t_ms (monotonically increasing; older values ignored). */
void storesrc__advance(struct storesrc *s, int64_t t_ms);
int64_t storesrc__latest(const struct storesrc *s);
/* A source reading s; valid while s lives. */
struct pq_source storesrc__source(struct storesrc *s);

#endif
