/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The local store of `vigil serve`: one SQLite database (WAL mode) in the data directory holding the
 * index of interval profiles (gzip pprof blobs), the metric series and their points, and a key-value
 * table for state (the analytics keep alert state there).
 *
 * A kill -9 loses at most the interval being written: each interval is one transaction. A full disk
 * (SQLITE_FULL, ENOSPC) or an I/O error makes store__writable() false with one log line; the next
 * write tries again, so freeing space resumes storing. A corrupt database is refused at open with its
 * path named.
 *
 * Threads: the collection thread writes through its own connection; any number of HTTP threads read
 * through a second, serialized connection (WAL lets reads and the writer proceed together). All
 * functions are thread-safe in that sense; write functions must be called from one thread.
 */
#ifndef VIGIL_SERVICE_STORE_H
#define VIGIL_SERVICE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "model/series.h"

struct store;

/*
 * Open (or create) DIR/vigil.db. DIR is created 0700 when missing; an existing DIR that is
 * world-writable, or not a directory, is refused. NULL + errno after a one-line error:
 * EPERM (unsafe directory), EINVAL (corrupt or foreign database), or the cause.
 */
struct store *store__open(const char *dir);
void store__close(struct store *s); /* NULL-safe */
const char *store__path(const struct store *s);

/* False after a failed write (disk full, I/O error) until a write succeeds again. */
bool store__writable(const struct store *s);

/* One interval's writes in one transaction. 0 or -errno. */
int store__begin(struct store *s);
int store__commit(struct store *s);

/* A profile blob (gzip pprof) of kind ("cpu", "offcpu") covering [t0_ms, t1_ms), at resolution
 * res_s seconds (the interval for fresh profiles). 0 or -errno. */
int store__put_profile(struct store *s, const char *kind, __s64 t0_ms, __s64 t1_ms, int res_s,
		       const void *blob, size_t len);

/* Called with each stored profile of kind overlapping [from_ms, to_ms], oldest first; a non-zero
 * return stops the walk and is returned. Blobs are valid during the call only. 0 or -errno. */
typedef int (*store_profile_fn)(void *arg, __s64 t0_ms, __s64 t1_ms, const void *blob, size_t len);
int store__profiles(struct store *s, const char *kind, __s64 from_ms, __s64 to_ms,
		    store_profile_fn fn, void *arg);
/* How many profiles of kind are stored, and the oldest start (0 when none). */
int store__profile_count(struct store *s, const char *kind, long *n, __s64 *oldest_ms);

/* Points are stored when a value changes, and at least every STORE_HEARTBEAT_MS while it does not
 * (readers hold the last value in between: analytics/storesrc.h puts the skipped points back).
 * Appending series_end_value() (model/series.h: a staleness marker) records the series' end in
 * the table `ends` (the rule engine's resolved ALERTS; the collection loop's, below): select returns it as such a point, readers hold nothing past it, and the
 * series' next point is stored whatever its value. Roll-ups and retention drop ends with the
 * points of their windows. */
#define STORE_HEARTBEAT_MS 60000

/* The metric store interface (model/series.h): select from any thread, append from the writer. */
struct series_store store__series(struct store *s);

/*
 * The collection loop's series end as Prometheus ends a scraped series: at the first interval
 * that does not report it. The loop appends each interval's points through store__reported()
 * (the same interface; a point skipped as unchanged still counts as reported), then, in the same
 * transaction, calls store__end_unreported(s, t_ms): every series reported at the previous call
 * and not since gets its end at t_ms (a staleness marker, above), fn (may be NULL) is called for
 * each with its name, labels and t_ms (valid during the call), and this interval's set becomes the previous one. The sets
 * are kept in memory (no scan of the store); a transaction that does not commit leaves the
 * previous set as it was. Series appended through store__series() are not tracked (the rule
 * engine ends its own). The loop must not call store__end_unreported after a walk that stopped
 * early: a series it did not reach would end.
 *
 * The set of the latest committed interval is kept in the table `live` (rows change when series
 * start and end), so the next run ends what this one reported last: store__end_last_run(), once
 * before the first interval, ends each of them at the previous run's last interval plus
 * interval_ms (where a scraper would have found the target down), or at now_ms if that is
 * sooner, never at or before the series' last point; fn as above. 0 or -errno.
 */
struct series_store store__reported(struct store *s);
typedef void (*store_end_fn)(void *arg, const char *name, const struct series_label *l, size_t n,
			     __s64 t_ms);
int store__end_unreported(struct store *s, __s64 t_ms, store_end_fn fn, void *arg);
int store__end_last_run(struct store *s, __s64 now_ms, __s64 interval_ms, store_end_fn fn,
			void *arg);

/* Every metric name with its type and label sets (JSON-ready): calls fn once per series. */
typedef int (*store_series_fn)(void *arg, const char *name, const char *type,
			       const char *labels_json);
int store__list_series(struct store *s, store_series_fn fn, void *arg);

/* Key-value state (alert state, schema facts). get returns a malloc'd string or NULL. */
int store__kv_set(struct store *s, const char *key, const char *value);
char *store__kv_get(struct store *s, const char *key);

/*
 * Retention and downsampling at time now_ms: drop everything older than retention_s; merge profiles
 * older than age1_s (1 h by default) into res1_s (1-minute) ones and older than age2_s (1 day) into
 * res2_s (10-minute) ones, complete windows only (merge(blobs) does the merging: it returns a new malloc'd blob in *out); roll metric
 * points up the same way (counters keep the last value of each bucket, gauges the mean). Bounded
 * work per call (a few buckets; call it every interval). 0 or -errno.
 */
typedef int (*store_merge_fn)(void *arg, const char *kind, const void *const *blobs,
			      const size_t *lens, size_t n, void **out, size_t *out_len);
struct store_policy {
	long retention_s;
	long age1_s, res1_s; /* older than age1_s: res1_s resolution (1 h: 60 s) */
	long age2_s, res2_s; /* older than age2_s: res2_s resolution (1 day: 600 s) */
};
int store__maintain(struct store *s, __s64 now_ms, const struct store_policy *p,
		    store_merge_fn merge, void *arg);

/* Bytes the database files (db, wal) take on disk. */
long long store__bytes(const struct store *s);

#endif
