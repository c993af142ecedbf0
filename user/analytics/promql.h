/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A PromQL subset: parser and evaluator with Prometheus 2.x semantics, over any store that can hand
 * out samples (`struct pq_source`).
 *
 * Supported: number and string literals; selectors `name{l="v", l!="v", l=~"re", l!~"re"}`; range
 * vectors `[5m]`; `offset`; subqueries `expr[range:step]`; unary -/+; binary + - * / % ^ == != < > <= >=
 * (with `bool`), `and or unless`, `on(...)`/`ignoring(...)` with `group_left(...)`/`group_right(...)`;
 * aggregations sum avg min max count group stddev stdvar topk bottomk quantile count_values with
 * `by`/`without`; functions rate irate increase delta idelta deriv predict_linear
 * histogram_quantile, avg/min/max/sum/count/last/present/stddev/stdvar/quantile _over_time,
 * changes resets abs ceil floor round sqrt exp ln log2 log10 sgn clamp clamp_min clamp_max
 * timestamp time vector scalar absent absent_over_time label_replace label_join.
 *
 * Semantics (Prometheus 2.42, the version on this team's machines): an instant selector takes the
 * newest sample in [t - lookback, t] (lookback 5 min by default) unless it is a staleness marker; a
 * range selector takes the samples in [t - range, t]; rate/increase/delta extrapolate exactly as
 * Prometheus' extrapolatedRate; range queries evaluate at start, start+step, ..., end; results are
 * sorted by labels. Times are milliseconds since the epoch.
 *
 * Thread-safety: a parsed expression is immutable and may be evaluated from several threads at once,
 * each with its own result; the source must then be thread-safe itself.
 */
#ifndef VIGIL_ANALYTICS_PROMQL_H
#define VIGIL_ANALYTICS_PROMQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analytics/labels.h"

/* Prometheus' staleness marker: a NaN with this bit pattern ends a series (value.StaleNaN). */
#define PQ_STALE_NAN_BITS 0x7ff0000000000002ULL
bool pq_is_stale(double v);
double pq_stale_nan(void);

#define PQ_DEFAULT_LOOKBACK_MS (5 * 60 * 1000)
#define PQ_MAX_POINTS 11000 /* points per series in a range query, as Prometheus */

enum pq_type { PQ_NONE, PQ_SCALAR, PQ_VECTOR, PQ_MATRIX, PQ_STRING };
const char *pq_type_name(enum pq_type t);

struct pq_point {
	int64_t t;
	double v;
};

/* The index of the first of the n points (sorted by time) at or after t; n when none is. */
static inline size_t pq_points_lower_bound(const struct pq_point *p, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p[mid].t < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pq_series {
	struct labels *l; /* one reference owned */
	struct pq_point *p;
	size_t n, cap;
};

struct pq_matrix {
	struct pq_series *s;
	size_t n, cap;
};

struct pq_sample {
	struct labels *l; /* one reference owned */
	int64_t t;
	double v;
};

struct pq_vector {
	struct pq_sample *s;
	size_t n, cap;
};

/* Matrix helpers for sources: a new series (takes the reference l), a point appended to it. */
struct pq_series *pq_matrix_add(struct pq_matrix *m, struct labels *l);
int pq_series_push(struct pq_series *s, int64_t t, double v);
void pq_matrix_release(struct pq_matrix *m);
int pq_vector_push(struct pq_vector *v, struct labels *l, int64_t t, double val);
void pq_vector_release(struct pq_vector *v);

/*
 * Where samples come from. select() appends to out every series whose labels satisfy all n matchers,
 * each with its samples whose time is in [mint, maxt] in increasing time order (a series with no such
 * sample may be left out). It returns 0 or a negative errno. Labels given to pq_matrix_add() become
 * owned by out.
 */
struct pq_source {
	int (*select)(void *ctx, const struct label_matcher *m, size_t n, int64_t mint,
		      int64_t maxt, struct pq_matrix *out);
	void *ctx;
};

struct pq_error {
	int pos; /* byte offset in the expression, -1 when not about a position */
	char msg[256];
};

struct pq_expr;

/* Parses text. NULL with err filled (errno EINVAL, or ENOMEM). */
struct pq_expr *pq_parse(const char *text, struct pq_error *err);
void pq_expr__free(struct pq_expr *e);
/* The type the expression evaluates to. */
enum pq_type pq_expr__type(const struct pq_expr *e);
/* Calls fn with the matchers of every selector in the expression (for callers that check that the
 * metrics exist, or index them); stops when fn returns non-zero and returns that. */
int pq_expr__for_each_selector(const struct pq_expr *e,
			       int (*fn)(const struct label_matcher *m, size_t n, void *arg),
			       void *arg);
/* The longest span of samples the expression looks back over, in ms: its longest range selector
 * or subquery (a subquery's range plus what its inner expression looks back over); 0 when it has
 * instant selectors only. */
int64_t pq_expr__max_range(const struct pq_expr *e);

#define PQ_MAX_TIMEOUT_MS \
	120000 /* Prometheus' --query.timeout default, and the most a query gets */

struct pq_opts {
	int64_t lookback_ms; /* 0 = 5 min */
	size_t max_samples; /* samples a query may hold at once; 0 = 50 million (Prometheus' default) */
	int64_t timeout_ms; /* evaluation time; 0 = PQ_MAX_TIMEOUT_MS. Past
			     * it the query fails with -ETIMEDOUT, "query timed out in expression
			     * evaluation" */
};

struct pq_result {
	enum pq_type
		type; /* SCALAR, VECTOR, MATRIX (range queries, or an instant range selector) or
			    * STRING */
	int64_t t; /* instant queries: the evaluation time */
	double scalar;
	char *str;
	struct pq_vector vec;
	struct pq_matrix mat;
};

/* Evaluates e at t (ms). 0, or -EINVAL (err says why: e.g. many-to-many matching) / -ENOMEM / the
 * source's error. out is filled only on success; release it with pq_result_release(). */
int pq_eval_instant(const struct pq_expr *e, const struct pq_source *src, int64_t t,
		    const struct pq_opts *opts, struct pq_result *out, struct pq_error *err);
/* Evaluates e at start, start+step, ... <= end; out->type is PQ_MATRIX, sorted by labels. The
 * expression must be a scalar or an instant vector; step > 0; at most PQ_MAX_POINTS steps. */
int pq_eval_range(const struct pq_expr *e, const struct pq_source *src, int64_t start, int64_t end,
		  int64_t step, const struct pq_opts *opts, struct pq_result *out,
		  struct pq_error *err);
void pq_result_release(struct pq_result *r);

/*
 * Writes r as Prometheus' HTTP API body: {"status":"success","data":{"resultType":...,"result":...}},
 * values as strings in Go's shortest 'f' form, times as seconds.
 */
int pq_result_write_json(FILE *out, const struct pq_result *r);
/* {"status":"error","errorType":TYPE,"error":MSG}. */
int pq_error_write_json(FILE *out, const char *type, const char *msg);
/* A float as Prometheus prints it: shortest round-trip form without exponent, "NaN", "+Inf",
 * "-Inf". Returns buf. len >= 400 is always enough. */
char *pq_format_float(double v, char *buf, size_t len);

/* Parses a Prometheus duration ("1h30m", "5m", "250ms", "1d", "2w", "1y"; no fractions). 0 or
 * -EINVAL. zero_ok: whether "0" is allowed. */
int pq_parse_duration(const char *s, size_t len, int64_t *ms);
/* Formats a duration as Prometheus does ("1h30m", "0s"). */
char *pq_format_duration(int64_t ms, char *buf, size_t len);
/* RFC 3339 or a decimal number of seconds, as Prometheus' API accepts "time" parameters. */
int pq_parse_time(const char *s, int64_t *ms);

#endif
