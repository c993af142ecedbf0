/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Time series as the metric store holds them and the analytics read them: a metric name, a label set
 * and (t, value) points. `struct series_store` is the interface to a store (vigil serve implements it
 * over SQLite in service/store.c) so analytics/ can select series by name and label matchers over a
 * time range and append the series it derives (recording rules, ALERTS) without knowing the database.
 *
 * Ownership: a series_set owns its series, their names, labels and points (series_set__release).
 * Functions here are pure and thread-safe; a store's thread-safety is its own (service/store.h).
 */
#ifndef VIGIL_MODEL_SERIES_H
#define VIGIL_MODEL_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct series_label {
	char *name;
	char *value;
};

struct series_point {
	__s64 t_ms; /* unix milliseconds */
	double v; /* or the end of the series (series_is_end) */
};

/*
 * The end of a series: from this point on it has no value until its next point (Prometheus'
 * staleness marker, value.StaleNaN: a NaN with these bits; analytics/promql.h's pq_stale_nan).
 * Appending one records the end; select returns it as a point with this value.
 */
#define SERIES_END_BITS 0x7ff0000000000002ULL
bool series_is_end(double v);
double series_end_value(void);

struct series {
	char *name; /* metric name, e.g. "vigil_cpu_seconds_total" */
	struct series_label *labels; /* sorted by name; no "__name__" */
	size_t nr_labels;
	struct series_point *points; /* ascending t_ms */
	size_t nr_points;
	char type[16]; /* "counter", "gauge" (histogram parts are counters) */
};

struct series_set {
	struct series *s;
	size_t n;
};

void series_set__release(struct series_set *set);
/* The value of label name, or NULL. */
const char *series__label(const struct series *s, const char *name);

/* PromQL's label matchers: =, !=, =~, !~ (regexes fully anchored, POSIX extended syntax). */
enum series_match_op { SERIES_EQ, SERIES_NE, SERIES_RE, SERIES_NRE };
struct series_matcher {
	const char *name; /* "__name__" matches the metric name */
	enum series_match_op op;
	const char *value;
};

/* Does (name, labels) satisfy every matcher? A missing label has the value "". -EINVAL when a
 * regex does not compile, else 1 or 0. */
int series_matches(const char *name, const struct series_label *l, size_t n,
		   const struct series_matcher *m, size_t nm);

struct series_store_ops {
	/*
	 * The series named name (NULL: any name, then matchers should name it) that satisfy the
	 * matchers, with their points in [from_ms, to_ms]; series without points in the range are
	 * left out. Ends of series in the range come as points (series_is_end), in time order
	 * with the others; a series with nothing but ends in the range is left out. Fills out
	 * (release with series_set__release). 0 or -errno.
	 */
	int (*select)(void *ctx, const char *name, const struct series_matcher *m, size_t nm,
		      __s64 from_ms, __s64 to_ms, struct series_set *out);
	/* Append one point (type "counter" or "gauge"); labels need not be sorted. A store may skip
	 * a point whose value equals the series' previous one (service/store.c keeps one at least
	 * every 60 s): a series holds its last value until its next point, or its end (v =
	 * series_end_value()). 0 or -errno. */
	int (*append)(void *ctx, const char *name, const struct series_label *l, size_t nl,
		      const char *type, __s64 t_ms, double v);
};

struct series_store {
	const struct series_store_ops *ops;
	void *ctx;
};

#endif
