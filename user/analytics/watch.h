/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Watches: the `anomalies:` and `capacity:` items of vigil.yml, evaluated every interval over the
 * metric store (any struct pq_source).
 *
 *   anomalies:
 *     - name: cpu                              # [a-zA-Z_][a-zA-Z0-9_]*, unique
 *       expr: sum by (comm) (rate(vigil_cpu_seconds_total[1m]))
 *       sensitivity: 0.5                       # 0..1 or low | medium | high (default medium)
 *       detector: {warmup: 16, min_hist: 32}  # optional anomaly_opts knobs (anomaly.h)
 *   capacity:
 *     - name: rss
 *       expr: vigil_process_resident_bytes{comm="postgres"}
 *       limit: 8e9                             # the value the series must not reach
 *       window: 30m                            # the fit's window (default 30m)
 *
 * Anomalies: each interval the expression is evaluated at the interval's end (an instant query);
 * every series of the result has its own online detector (anomaly.h), fed the value. The score
 * (0..1; 0.5 is an event about as rare as one in 100,000 points) is compared with the item's
 * threshold = 1 - sensitivity, clamped to [0.05, 0.95]: sensitivity low = 0.3 (threshold 0.7, about
 * one in 10^7), medium = 0.5 (0.5, one in 10^5), high = 0.7 (0.3, one in 1,000). A score at or above
 * the threshold opens an anomaly (severity "critical" when the score is at least halfway from the
 * threshold to 1, else "warning"); it stays open while the score stays at or above the threshold or
 * the value is still 3 robust deviations from the expected one, and is resolved at the first point
 * where neither holds. Derived series (emitted for the caller to store):
 *   vigil_anomaly_score{anomaly="NAME", <series labels>}      the score of every point
 *   vigil_anomaly_expected{anomaly="NAME", <series labels>}   the detector's expectation
 * At most WATCH_MAX_SERIES series per item get a detector (about 420 KiB each); the others are
 * counted in watch_stats.dropped.
 *
 * Capacity: each interval the expression is evaluated over [t - window, t] at the interval's step
 * (a range query) and each series' points fitted by capacity_estimate() (forecast.h): current
 * value, rate per second and seconds until the limit with a 95% interval. Derived series:
 *   vigil_capacity_seconds_to_limit{capacity="NAME", <series labels>}   (+Inf: not approaching)
 *
 * Restart: watcher__replay() feeds each detector the expression's values over a past range (the
 * stored history), so a restarted service scores as if it had not stopped.
 *
 * Not thread-safe: one watcher is used by one thread at a time (the caller locks).
 */
#ifndef VIGIL_ANALYTICS_WATCH_H
#define VIGIL_ANALYTICS_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/anomaly.h"
#include "analytics/labels.h"
#include "analytics/promql.h"
#include "analytics/yamldoc.h"

#define WATCH_MAX_SERIES 64 /* detectors per anomaly item */
#define WATCH_MAX_EVENTS 256 /* anomalies kept (oldest dropped first) */
#define WATCH_DEFAULT_WINDOW_MS (30 * 60 * 1000)
#define WATCH_DEFAULT_REPLAY 1000 /* points fed to each detector from history at start */

struct watch_anomaly {
	char *name;
	char *expr_text;
	struct pq_expr *expr;
	double sensitivity; /* 0..1 */
	double threshold; /* 1 - sensitivity, clamped to [0.05, 0.95] */
	struct anomaly_opts opts;
	int line; /* in the config file */
};

struct watch_capacity {
	char *name;
	char *expr_text;
	struct pq_expr *expr;
	double limit;
	int64_t window_ms;
	int line;
};

struct watch_config {
	struct watch_anomaly *an;
	size_t nan;
	struct watch_capacity *cap;
	size_t ncap;
};

/*
 * The `anomalies:` / `capacity:` section (a sequence node of d) into out (appended; items keep
 * their order). path names the file in messages. 0, or -EINVAL with err = "PATH:LINE: what is
 * wrong" (unknown key, missing name or expr, duplicate name, bad expression, bad sensitivity or
 * limit), or -ENOMEM. Signature of the config hook (service/config.h).
 */
int anomalies_config_parse(const struct ydoc *d, ynode section, const char *path,
			   struct watch_config *out, char *err, size_t errlen);
int capacity_config_parse(const struct ydoc *d, ynode section, const char *path,
			  struct watch_config *out, char *err, size_t errlen);
void watch_config_release(struct watch_config *c); /* NULL-safe; leaves it empty */

/* Sensitivity by number ("0.5") or name ("low", "medium", "high"). 0 or -EINVAL. */
int watch_parse_sensitivity(const char *s, double *out);
/* The threshold a sensitivity gives (see above). */
double watch_threshold(double sensitivity);

/* One anomaly, open or resolved. */
struct watch_event {
	const char *anomaly; /* the item's name (the config's string) */
	struct labels *labels; /* the series' labels (no __name__); owned */
	int64_t started_ms, resolved_ms; /* resolved_ms 0 while open */
	int64_t t_ms; /* the latest point while open, the peak's otherwise */
	double value, expected, deviation; /* at the peak score */
	double score; /* the peak score */
	enum anomaly_method method; /* at the peak */
	bool critical;
};

/* The latest capacity estimate of one series of an item. */
struct watch_capacity_row {
	const char *capacity; /* the item's name */
	struct labels *labels; /* owned */
	double limit;
	int64_t window_ms;
	size_t points; /* fitted */
	double now; /* seconds, the last point's time */
	double value, rate, rate_lo, rate_hi; /* fitted value at now, slope per second (95%) */
	double seconds_to_limit, lower, upper; /* estimate and 95% interval (INFINITY: never) */
};

struct watch_stats {
	uint64_t evaluations, errors; /* expression evaluations, and those that failed */
	uint64_t points; /* fed to detectors */
	uint64_t dropped; /* series beyond WATCH_MAX_SERIES */
	char last_error[256];
};

struct watcher;

/* Called for every derived point; labels include __name__ = metric. Return non-zero to stop. */
typedef int (*watch_emit_fn)(void *arg, const char *metric, const struct labels *l, int64_t t_ms,
			     double v);

/* c and src are borrowed for the watcher's life. step_ms: the evaluation interval. NULL + errno. */
struct watcher *watcher__new(const struct watch_config *c, const struct pq_source *src,
			     int64_t step_ms);
void watcher__free(struct watcher *w); /* NULL-safe */
/*
 * Feeds every anomaly detector the item's values at from, from + step, ..., <= to (the stored
 * history before a restart; anomalies found on the way are kept, no series emitted). 0 or -errno
 * (an item whose expression fails is skipped and counted in the stats).
 */
int watcher__replay(struct watcher *w, int64_t from_ms, int64_t to_ms);
/* One interval ending at t_ms: anomalies and capacity, derived points to emit (may be NULL).
 * 0, or -ENOMEM (expression errors are counted in the stats, not returned). */
int watcher__eval(struct watcher *w, int64_t t_ms, watch_emit_fn emit, void *arg);

/* The anomalies kept, oldest first (valid until the next replay/eval). */
const struct watch_event *watcher__events(struct watcher *w, size_t *n);
/* The latest capacity rows, by item then labels (valid until the next eval). */
const struct watch_capacity_row *watcher__capacity(const struct watcher *w, size_t *n);
const struct watch_stats *watcher__stats(const struct watcher *w);

#endif
