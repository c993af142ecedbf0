/* SPDX-License-Identifier: GPL-2.0 */
/* PromQL internals shared by promql_parse.c, promql_eval.c and promql_func.c. Not for other files. */
#ifndef VIGIL_ANALYTICS_PROMQL_INT_H
#define VIGIL_ANALYTICS_PROMQL_INT_H

#include "analytics/promql.h"

enum pq_kind {
	PQN_NUMBER,
	PQN_STRING,
	PQN_SELECTOR, /* instant vector selector */
	PQN_MATRIX, /* range selector: sel[range] */
	PQN_SUBQUERY, /* expr[range:step] */
	PQN_CALL,
	PQN_AGGR,
	PQN_BINARY,
	PQN_UNARY, /* only '-' is kept; unary '+' is dropped */
	PQN_PAREN,
};

enum pq_op {
	OP_NONE,
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
	OP_POW,
	OP_ATAN2,
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_GT,
	OP_LE,
	OP_GE,
	OP_AND,
	OP_OR,
	OP_UNLESS,
};

enum pq_aggr {
	AG_SUM,
	AG_AVG,
	AG_MIN,
	AG_MAX,
	AG_COUNT,
	AG_GROUP,
	AG_STDDEV,
	AG_STDVAR,
	AG_TOPK,
	AG_BOTTOMK,
	AG_QUANTILE,
	AG_COUNT_VALUES,
};

enum pq_card { CARD_ONE_TO_ONE, CARD_MANY_TO_ONE, CARD_ONE_TO_MANY, CARD_MANY_TO_MANY };

struct pq_node;

/* A function's evaluation: args already evaluated (see promql_func.c). */
struct pq_func {
	const char *name;
	enum pq_type args[4];
	int nargs; /* required */
	int maxargs; /* -1: variadic of the last type */
	enum pq_type ret;
	int id;
};

struct pq_node {
	enum pq_kind kind;
	int pos;
	union {
		double num;
		char *str;
		struct {
			char *name; /* may be NULL */
			struct label_matcher *m;
			size_t nm;
			int64_t offset;
			int id; /* index of the selector in the expression (preloaded data) */
		} sel;
		struct {
			struct pq_node *vs; /* PQN_SELECTOR */
			int64_t range;
		} mat;
		struct {
			struct pq_node *expr;
			int64_t range, step, offset; /* step 0: the default interval */
			int id;
		} sub;
		struct {
			const struct pq_func *f;
			struct pq_node **args;
			int nargs;
		} call;
		struct {
			enum pq_aggr op;
			struct pq_node *expr, *param;
			char **grouping;
			size_t ngrouping;
			bool without;
		} aggr;
		struct {
			enum pq_op op;
			struct pq_node *lhs, *rhs;
			bool ret_bool;
			enum pq_card card;
			bool on; /* on(...) rather than ignoring(...) */
			char **mlabels; /* matching labels */
			size_t nmlabels;
			char **include; /* group_x(...) labels */
			size_t ninclude;
		} bin;
		struct {
			struct pq_node *expr;
		} un; /* PQN_UNARY and PQN_PAREN */
	};
};

struct pq_expr {
	struct pq_node *root;
	int nselectors; /* PQN_SELECTOR and PQN_SUBQUERY ids */
	char *text;
};

enum pq_type pq_node_type(const struct pq_node *n);
const struct pq_func *pq_func_lookup(const char *name);
void pq_node_free(struct pq_node *n);

/* Evaluation state (promql_eval.c). */
struct pq_ctx;

/* An evaluated instant value: a scalar or a vector (owned), or a string. */
struct pq_val {
	enum pq_type type;
	double scalar;
	const char *str; /* borrowed from the expression */
	struct pq_vector vec;
};

/* The samples of one series inside a range window, borrowed from the preloaded data. */
struct pq_window {
	struct labels *l;
	const struct pq_point *p;
	size_t n;
};

/*
 * Range-vector functions: the window of one series at time t; args holds the other (scalar)
 * arguments. Returns false when the function yields nothing for this series.
 */
bool pq_func_range(int id, const struct pq_window *w, int64_t t, int64_t range, int64_t offset,
		   const double *scalars, double *out);
/* Instant-vector and scalar functions over evaluated arguments; vals[0] for the vector or first arg.
 * Fills out. 0 or -errno (err set). */
int pq_func_instant(struct pq_ctx *c, const struct pq_node *call, struct pq_val *vals, int64_t t,
		    struct pq_val *out);
/* Range-function ids, tested by the evaluator. */
bool pq_func_is_range(int id);
bool pq_func_keeps_name(int id);
/* Evaluates n at t into out (promql_eval.c); on failure out holds nothing. 0 or -errno. */
int pq_eval_node(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out);
/* Aggregations and binary operators (promql_ops.c). */
int pq_eval_aggr(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out);
int pq_eval_binary(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out);
void pq_val_release(struct pq_val *v);
int pq_ctx_nomem(struct pq_ctx *c);
int pq_ctx_error(struct pq_ctx *c, int pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether the selector (PQN_SELECTOR) would select anything: used by absent(). */
int pq_ctx_selected(struct pq_ctx *c, const struct pq_node *sel, int64_t t);

/* timestamp(selector): the selected samples' own times in seconds, metric name dropped. */
int pq_ctx_sample_times(struct pq_ctx *c, const struct pq_node *sel, int64_t t, struct pq_val *out);
/* absent()'s labels: the equality matchers of a selector argument (none for other expressions). */
struct labels *pq_absent_labels(const struct pq_node *arg);

/* histogram_quantile's bucket interpolation (Prometheus' bucketQuantile). */
struct pq_bucket {
	double upper;
	double count;
};
double pq_bucket_quantile(double q, struct pq_bucket *b, size_t n);
/* quantile() and quantile_over_time()'s interpolation; sorts v. */
double pq_quantile(double q, double *v, size_t n);

#endif
