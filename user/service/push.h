/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Feeding the engines users already run: every interval's series to a Prometheus remote write 1.0
 * endpoint (protobuf WriteRequest, snappy block compression) and every interval's CPU profile as
 * pprof to a Pyroscope-compatible server (POST URL/ingest?format=pprof). Payloads are built on the
 * collection thread and sent by a push thread (libcurl), so a slow or dead endpoint never stalls
 * collection: the queue is bounded and what it drops is counted and logged. Failures are logged once
 * until the endpoint works again. A series that ended (store.h: store__end_unreported, the end of
 * the store's series) is sent Prometheus' staleness marker (the NaN 0x7ff0000000000002) at its end,
 * so a Prometheus fed by remote write ends it as Vigil's query API does.
 */
#ifndef VIGIL_SERVICE_PUSH_H
#define VIGIL_SERVICE_PUSH_H

#include <stddef.h>
#include <linux/types.h>

#include "model/series.h"

struct metrics;
struct push;

/* Either URL may be NULL. app names the pushed profiles ("vigil.cpu"). NULL + errno after an error
 * line. */
struct push *push__new(const char *remote_write_url, const char *push_url, const char *app,
		       unsigned long sample_hz);
/* Sends what is queued (a few seconds at most), then stops. NULL-safe. */
void push__free(struct push *p);
/* A series that ended at t_ms: its name and labels (without job and instance). */
struct push_end {
	const char *name;
	const struct series_label *l;
	size_t n;
	__s64 t_ms;
};
/* Queue the staleness markers of ends (borrowed) and the series of m at t_ms (m may be NULL:
 * markers only) as one remote write. Collection thread. */
void push__series(struct push *p, const struct metrics *m, __s64 t_ms, const struct push_end *ends,
		  size_t nends);
/* Queue a gzip pprof CPU profile of [t0_ms, t1_ms) (copied). Collection thread. */
void push__profile(struct push *p, const void *blob, size_t len, __s64 t0_ms, __s64 t1_ms);
/* Payloads sent, failed and dropped (queue full) so far. */
void push__stats(struct push *p, __u64 *sent, __u64 *failed, __u64 *dropped);

/* For tests: the WriteRequest (uncompressed protobuf) for ends and m at t_ms, as push__series
 * sends it; malloc'd. 0 or -errno. */
int push_encode_series(const struct metrics *m, __s64 t_ms, const char *instance,
		       const struct push_end *ends, size_t nends, void **buf, size_t *len);

#endif
