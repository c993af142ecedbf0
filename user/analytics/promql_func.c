// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL functions, each as Prometheus 2.42's promql/functions.go computes it (extrapolatedRate,
 * instantValue, linearRegression with Kahan sums, bucketQuantile with coalesced and monotonic
 * buckets), so results agree with Prometheus to float rounding.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/promql_int.h"
#include "model/hashmap.h"

enum {
	F_RATE,
	F_IRATE,
	F_INCREASE,
	F_DELTA,
	F_IDELTA,
	F_DERIV,
	F_PREDICT_LINEAR,
	F_CHANGES,
	F_RESETS,
	F_AVG_OT,
	F_MIN_OT,
	F_MAX_OT,
	F_SUM_OT,
	F_COUNT_OT,
	F_LAST_OT,
	F_PRESENT_OT,
	F_STDDEV_OT,
	F_STDVAR_OT,
	F_QUANTILE_OT,
	F_ABSENT_OT,
	F_RANGE_END, /* ids below take a range vector */
	F_ABS,
	F_CEIL,
	F_FLOOR,
	F_EXP,
	F_SQRT,
	F_LN,
	F_LOG2,
	F_LOG10,
	F_SGN,
	F_ROUND,
	F_CLAMP,
	F_CLAMP_MIN,
	F_CLAMP_MAX,
	F_TIMESTAMP,
	F_HISTOGRAM_QUANTILE,
	F_TIME,
	F_VECTOR,
	F_SCALAR,
	F_ABSENT,
	F_LABEL_REPLACE,
	F_LABEL_JOIN,
};

#define V PQ_VECTOR
#define M PQ_MATRIX
#define S PQ_SCALAR
#define STR PQ_STRING
static const struct pq_func funcs[] = {
	{ "rate", { M }, 1, 1, V, F_RATE },
	{ "irate", { M }, 1, 1, V, F_IRATE },
	{ "increase", { M }, 1, 1, V, F_INCREASE },
	{ "delta", { M }, 1, 1, V, F_DELTA },
	{ "idelta", { M }, 1, 1, V, F_IDELTA },
	{ "deriv", { M }, 1, 1, V, F_DERIV },
	{ "predict_linear", { M, S }, 2, 2, V, F_PREDICT_LINEAR },
	{ "changes", { M }, 1, 1, V, F_CHANGES },
	{ "resets", { M }, 1, 1, V, F_RESETS },
	{ "avg_over_time", { M }, 1, 1, V, F_AVG_OT },
	{ "min_over_time", { M }, 1, 1, V, F_MIN_OT },
	{ "max_over_time", { M }, 1, 1, V, F_MAX_OT },
	{ "sum_over_time", { M }, 1, 1, V, F_SUM_OT },
	{ "count_over_time", { M }, 1, 1, V, F_COUNT_OT },
	{ "last_over_time", { M }, 1, 1, V, F_LAST_OT },
	{ "present_over_time", { M }, 1, 1, V, F_PRESENT_OT },
	{ "stddev_over_time", { M }, 1, 1, V, F_STDDEV_OT },
	{ "stdvar_over_time", { M }, 1, 1, V, F_STDVAR_OT },
	{ "quantile_over_time", { S, M }, 2, 2, V, F_QUANTILE_OT },
	{ "absent_over_time", { M }, 1, 1, V, F_ABSENT_OT },
	{ "abs", { V }, 1, 1, V, F_ABS },
	{ "ceil", { V }, 1, 1, V, F_CEIL },
	{ "floor", { V }, 1, 1, V, F_FLOOR },
	{ "exp", { V }, 1, 1, V, F_EXP },
	{ "sqrt", { V }, 1, 1, V, F_SQRT },
	{ "ln", { V }, 1, 1, V, F_LN },
	{ "log2", { V }, 1, 1, V, F_LOG2 },
	{ "log10", { V }, 1, 1, V, F_LOG10 },
	{ "sgn", { V }, 1, 1, V, F_SGN },
	{ "round", { V, S }, 1, 2, V, F_ROUND },
	{ "clamp", { V, S, S }, 3, 3, V, F_CLAMP },
	{ "clamp_min", { V, S }, 2, 2, V, F_CLAMP_MIN },
	{ "clamp_max", { V, S }, 2, 2, V, F_CLAMP_MAX },
	{ "timestamp", { V }, 1, 1, V, F_TIMESTAMP },
	{ "histogram_quantile", { S, V }, 2, 2, V, F_HISTOGRAM_QUANTILE },
	{ "time", { 0 }, 0, 0, S, F_TIME },
	{ "vector", { S }, 1, 1, V, F_VECTOR },
	{ "scalar", { V }, 1, 1, S, F_SCALAR },
	{ "absent", { V }, 1, 1, V, F_ABSENT },
	{ "label_replace", { V, STR, STR, STR }, 5, 5, V, F_LABEL_REPLACE },
	{ "label_join", { V, STR, STR, STR }, 3, -1, V, F_LABEL_JOIN },
};
#undef V
#undef M
#undef S
#undef STR

const struct pq_func *pq_func_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (!strcmp(funcs[i].name, name))
			return &funcs[i];
	return NULL;
}

bool pq_func_is_range(int id)
{
	return id < F_RANGE_END;
}

bool pq_func_keeps_name(int id)
{
	return id == F_LAST_OT;
}

/* ---- range functions ---- */

static void kahan_inc(double inc, double *sum, double *c)
{
	double t = *sum + inc;

	/* Using the running compensation as Go's kahanSumInc does. */
	if (fabs(*sum) >= fabs(inc))
		*c += (*sum - t) + inc;
	else
		*c += (inc - t) + *sum;
	*sum = t;
}

static double extrapolated_rate(const struct pq_window *w, int64_t t, int64_t range, int64_t offset,
				bool is_counter, bool is_rate)
{
	const struct pq_point *p = w->p;
	size_t n = w->n;
	double range_start = (double)(t - range - offset), range_end = (double)(t - offset);
	double result = p[n - 1].v - p[0].v;

	if (is_counter) {
		double last = 0;

		for (size_t i = 0; i < n; i++) {
			if (p[i].v < last)
				result += last;
			last = p[i].v;
		}
	}
	double to_start = ((double)p[0].t - range_start) / 1000;
	double to_end = (range_end - (double)p[n - 1].t) / 1000;
	double sampled = (double)(p[n - 1].t - p[0].t) / 1000;
	double avg_step = sampled / (double)(n - 1);

	if (is_counter && result > 0 && p[0].v >= 0) {
		/* Counters cannot go negative: do not extrapolate past the zero point. */
		double to_zero = sampled * (p[0].v / result);

		if (to_zero < to_start)
			to_start = to_zero;
	}
	double threshold = avg_step * 1.1, interval = sampled;

	interval += to_start < threshold ? to_start : avg_step / 2;
	interval += to_end < threshold ? to_end : avg_step / 2;
	double factor = interval / sampled;

	if (is_rate)
		factor /= (double)range / 1000;
	return result * factor;
}

static void linear_regression(const struct pq_point *p, size_t n, int64_t intercept_t,
			      double *slope, double *intercept)
{
	double cn = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
	double init = p[0].v;
	bool consty = true;

	for (size_t i = 0; i < n; i++) {
		double x = (double)(p[i].t - intercept_t) / 1e3;

		if (consty && i > 0 && p[i].v != init)
			consty = false;
		cn += 1;
		kahan_inc(x, &sx, &cx);
		kahan_inc(p[i].v, &sy, &cy);
		kahan_inc(x * p[i].v, &sxy, &cxy);
		kahan_inc(x * x, &sx2, &cx2);
	}
	if (consty) {
		if (isinf(init)) {
			*slope = *intercept = NAN;
			return;
		}
		*slope = 0;
		*intercept = init;
		return;
	}
	sx += cx;
	sy += cy;
	sxy += cxy;
	sx2 += cx2;
	double cov = sxy - sx * sy / cn, var = sx2 - sx * sx / cn;

	*slope = cov / var;
	*intercept = sy / cn - *slope * sx / cn;
}

bool pq_func_range(int id, const struct pq_window *w, int64_t t, int64_t range, int64_t offset,
		   const double *scalars, double *out)
{
	const struct pq_point *p = w->p;
	size_t n = w->n;

	switch (id) {
	case F_RATE:
	case F_INCREASE:
	case F_DELTA:
		if (n < 2)
			return false;
		*out = extrapolated_rate(w, t, range, offset, id != F_DELTA, id == F_RATE);
		return true;
	case F_IRATE:
	case F_IDELTA: {
		if (n < 2)
			return false;
		double last = p[n - 1].v, prev = p[n - 2].v;
		int64_t dt = p[n - 1].t - p[n - 2].t;
		double v = (id == F_IRATE && last < prev) ? last : last - prev;

		if (!dt)
			return false;
		if (id == F_IRATE)
			v /= (double)dt / 1000;
		*out = v;
		return true;
	}
	case F_DERIV:
	case F_PREDICT_LINEAR: {
		double slope, icpt;

		if (n < 2)
			return false;
		linear_regression(p, n, id == F_DERIV ? p[0].t : t, &slope, &icpt);
		*out = id == F_DERIV ? slope : slope * scalars[0] + icpt;
		return true;
	}
	case F_CHANGES:
	case F_RESETS: {
		double cnt = 0;

		for (size_t i = 1; i < n; i++) {
			if (id == F_CHANGES) {
				if (p[i].v != p[i - 1].v && !(isnan(p[i].v) && isnan(p[i - 1].v)))
					cnt++;
			} else if (p[i].v < p[i - 1].v) {
				cnt++;
			}
		}
		*out = cnt;
		return true;
	}
	case F_AVG_OT: {
		double mean = 0, count = 0, c = 0;

		for (size_t i = 0; i < n; i++) {
			count++;
			if (isinf(mean)) {
				if (isinf(p[i].v) && (mean > 0) == (p[i].v > 0))
					continue;
				if (!isinf(p[i].v) && !isnan(p[i].v))
					continue;
			}
			kahan_inc(p[i].v / count - mean / count, &mean, &c);
		}
		*out = isinf(mean) ? mean : mean + c;
		return true;
	}
	case F_MIN_OT:
	case F_MAX_OT: {
		double v = p[0].v;

		for (size_t i = 0; i < n; i++) {
			if (id == F_MAX_OT ? (p[i].v > v || isnan(v)) : (p[i].v < v || isnan(v)))
				v = p[i].v;
		}
		*out = v;
		return true;
	}
	case F_SUM_OT: {
		double s = 0, c = 0;

		for (size_t i = 0; i < n; i++)
			kahan_inc(p[i].v, &s, &c);
		*out = isinf(s) ? s : s + c;
		return true;
	}
	case F_COUNT_OT:
		*out = (double)n;
		return true;
	case F_LAST_OT:
		*out = p[n - 1].v;
		return true;
	case F_PRESENT_OT:
		*out = 1;
		return true;
	case F_STDDEV_OT:
	case F_STDVAR_OT: {
		double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;

		for (size_t i = 0; i < n; i++) {
			count++;
			double delta = p[i].v - (mean + cmean);

			kahan_inc(delta / count, &mean, &cmean);
			kahan_inc(delta * (p[i].v - (mean + cmean)), &aux, &caux);
		}
		double var = (aux + caux) / count;

		*out = id == F_STDDEV_OT ? sqrt(var) : var;
		return true;
	}
	case F_QUANTILE_OT: {
		double *v = malloc(n * sizeof(*v));

		if (!v)
			return false;
		for (size_t i = 0; i < n; i++)
			v[i] = p[i].v;
		*out = pq_quantile(scalars[0], v, n);
		free(v);
		return true;
	}
	default:
		return false;
	}
}

/* ---- quantiles ---- */

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	/* NaN sorts first, as Go's sort.Float64s. */
	if (isnan(x))
		return isnan(y) ? 0 : -1;
	if (isnan(y))
		return 1;
	return x < y ? -1 : x > y ? 1 : 0;
}

double pq_quantile(double q, double *v, size_t n)
{
	if (!n || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(v, n, sizeof(*v), dbl_cmp);
	double rank = q * (double)(n - 1);
	double lo = fmax(0, floor(rank)), hi = fmin((double)(n - 1), lo + 1);
	double w = rank - floor(rank);

	return v[(size_t)lo] * (1 - w) + v[(size_t)hi] * w;
}

static int bucket_cmp(const void *a, const void *b)
{
	double x = ((const struct pq_bucket *)a)->upper, y = ((const struct pq_bucket *)b)->upper;

	return x < y ? -1 : x > y ? 1 : 0;
}

double pq_bucket_quantile(double q, struct pq_bucket *b, size_t n)
{
	size_t m = 0;

	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	if (!n)
		return NAN;
	qsort(b, n, sizeof(*b), bucket_cmp);
	if (!isinf(b[n - 1].upper) || b[n - 1].upper < 0)
		return NAN;
	/* Coalesce buckets with the same bound, then force monotonic counts. */
	for (size_t i = 0; i < n; i++) {
		if (m && b[m - 1].upper == b[i].upper)
			b[m - 1].count += b[i].count;
		else
			b[m++] = b[i];
	}
	n = m;
	double max = -INFINITY;

	for (size_t i = 0; i < n; i++) {
		if (b[i].count > max)
			max = b[i].count;
		else if (b[i].count < max)
			b[i].count = max;
	}
	if (n < 2)
		return NAN;
	double obs = b[n - 1].count;

	if (obs == 0)
		return NAN;
	double rank = q * obs;
	size_t i = 0;

	/* sort.Search over the first n-1 buckets for count >= rank. */
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (b[mid].count >= rank)
			hi = mid;
		else
			lo = mid + 1;
	}
	i = lo;
	if (i == n - 1)
		return b[n - 2].upper;
	if (i == 0 && b[0].upper <= 0)
		return b[0].upper;
	double start = 0, end = b[i].upper, count = b[i].count;

	if (i > 0) {
		start = b[i - 1].upper;
		count -= b[i - 1].count;
		rank -= b[i - 1].count;
	}
	return start + (end - start) * (rank / count);
}

/* ---- instant functions ---- */

/* Go's math.Max / math.Min: NaN wins, unlike C's fmax / fmin. */
static double go_max(double x, double y)
{
	if (isinf(x) && x > 0)
		return x;
	if (isinf(y) && y > 0)
		return y;
	if (isnan(x) || isnan(y))
		return NAN;
	if (x == 0 && x == y)
		return signbit(x) ? y : x;
	return x > y ? x : y;
}

static double go_min(double x, double y)
{
	if (isinf(x) && x < 0)
		return x;
	if (isinf(y) && y < 0)
		return y;
	if (isnan(x) || isnan(y))
		return NAN;
	if (x == 0 && x == y)
		return signbit(x) ? x : y;
	return x < y ? x : y;
}

/* Go's strconv.ParseFloat for the le label: the whole string must be a number. */
static bool parse_float_strict(const char *s, double *out)
{
	char *end;

	if (!s || !*s)
		return false;
	*out = strtod(s, &end);
	return *end == 0;
}

struct labels *pq_absent_labels(const struct pq_node *arg)
{
	struct labels_builder b;
	struct labels *out;
	const struct pq_node *vs = arg;

	while (vs->kind == PQN_PAREN)
		vs = vs->un.expr;
	if (vs->kind == PQN_MATRIX)
		vs = vs->mat.vs;
	if (vs->kind != PQN_SELECTOR)
		return labels__empty();
	if (labels_builder__init(&b, NULL))
		return NULL;
	/* Labels set by exactly one equality matcher; a label matched otherwise (or twice) is left
	 * out, as in Prometheus' createLabelsForAbsentFunction. */
	for (size_t i = 0; i < vs->sel.nm; i++) {
		const struct label_matcher *m = &vs->sel.m[i];
		bool have = false;

		if (!strcmp(m->name, LABEL_METRIC_NAME))
			continue;
		for (size_t j = 0; j < b.n; j++)
			if (!strcmp(b.l[j].name, m->name))
				have = true;
		if (m->type == MATCH_EQ && !have && labels_builder__set(&b, m->name, m->value)) {
			labels_builder__release(&b);
			return NULL;
		}
	}
	for (size_t i = 0; i < vs->sel.nm; i++) {
		const struct label_matcher *m = &vs->sel.m[i];
		size_t first = 0;

		if (!strcmp(m->name, LABEL_METRIC_NAME))
			continue;
		for (size_t j = 0; j < vs->sel.nm; j++)
			if (!strcmp(vs->sel.m[j].name, m->name)) {
				first = j;
				break;
			}
		if (m->type != MATCH_EQ || first != i)
			labels_builder__del(&b, m->name);
	}
	out = labels_builder__finish(&b);
	labels_builder__release(&b);
	return out;
}

/* $1, ${1}, $name, ${name}, $$ in repl, from the submatches of src (Go's Regexp.Expand). */
static char *expand(const char *repl, const char *src, const regmatch_t *mt, size_t nmt)
{
	size_t cap = strlen(repl) + 1, o = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	for (const char *p = repl; *p;) {
		const char *add = p;
		size_t alen = 1;

		if (*p == '$' && p[1] == '$') {
			p += 2;
		} else if (*p == '$') {
			const char *q = p + 1;
			bool brace = *q == '{';
			size_t idx = 0;
			bool num = true, any = false;

			if (brace)
				q++;
			const char *ns = q;

			while (*q && (isalnum((unsigned char)*q) || *q == '_')) {
				if (!isdigit((unsigned char)*q))
					num = false;
				else if (num)
					idx = idx * 10 + (size_t)(*q - '0');
				q++;
				any = true;
			}
			if (!any || (brace && *q != '}')) {
				/* Not a valid reference: copied as is. */
				p++;
				goto put;
			}
			p = brace ? q + 1 : q;
			alen = 0;
			(void)ns;
			/* Named groups do not exist in POSIX: a name expands to "". */
			if (num && idx < nmt && mt[idx].rm_so >= 0) {
				add = src + mt[idx].rm_so;
				alen = (size_t)(mt[idx].rm_eo - mt[idx].rm_so);
			}
			goto append;
		} else {
			p++;
		}
put:
		add = p - 1;
		alen = 1;
append:
		if (o + alen + 1 > cap) {
			char *n;

			cap = (o + alen + 1) * 2;
			n = realloc(out, cap);
			if (!n) {
				free(out);
				return NULL;
			}
			out = n;
		}
		memcpy(out + o, add, alen);
		o += alen;
	}
	out[o] = 0;
	return out;
}

static int label_replace(struct pq_ctx *c, const struct pq_node *call, struct pq_val *vals,
			 struct pq_val *out)
{
	const char *dst = call->call.args[1]->str, *repl = call->call.args[2]->str;
	const char *srcl = call->call.args[3]->str, *pattern = call->call.args[4]->str;
	regmatch_t mt[10];
	regex_t re;
	char why[200];

	if (label_regex_compile(&re, pattern, false, why, sizeof(why)))
		return pq_ctx_error(c, call->pos,
				    "invalid regular expression in label_replace(): %s", pattern);
	if (!label_name_valid(dst)) {
		regfree(&re);
		return pq_ctx_error(c, call->pos,
				    "invalid destination label name in label_replace(): %s", dst);
	}
	out->type = PQ_VECTOR;
	for (size_t i = 0; i < vals[0].vec.n; i++) {
		struct pq_sample *s = &vals[0].vec.s[i];
		const char *sv = labels__get(s->l, srcl);
		struct labels *l = NULL;

		if (!sv)
			sv = "";
		if (!regexec(&re, sv, 10, mt, 0)) {
			/* Group 1 is the anchoring wrapper label_regex_compile adds: skip it. */
			regmatch_t user[9];
			char *v;

			user[0] = mt[0];
			memcpy(user + 1, mt + 2, 8 * sizeof(*user));
			v = expand(repl, sv, user, 9);
			struct labels_builder b;

			if (v && !labels_builder__init(&b, s->l) &&
			    !labels_builder__set(&b, dst, v)) {
				l = labels_builder__finish(&b);
				labels_builder__release(&b);
			}
			free(v);
		} else {
			l = labels__ref(s->l);
		}
		if (!l || pq_vector_push(&out->vec, l, s->t, s->v)) {
			labels__unref(l);
			regfree(&re);
			return pq_ctx_error(c, call->pos, "out of memory");
		}
	}
	regfree(&re);
	return 0;
}

static int label_join(struct pq_ctx *c, const struct pq_node *call, struct pq_val *vals,
		      struct pq_val *out)
{
	const char *dst = call->call.args[1]->str, *sep = call->call.args[2]->str;

	if (!label_name_valid(dst))
		return pq_ctx_error(c, call->pos,
				    "invalid destination label name in label_join(): %s", dst);
	out->type = PQ_VECTOR;
	for (size_t i = 0; i < vals[0].vec.n; i++) {
		struct pq_sample *s = &vals[0].vec.s[i];
		size_t len = 1;
		struct labels_builder b;
		struct labels *l = NULL;
		char *v;

		for (int a = 3; a < call->call.nargs; a++) {
			const char *x = labels__get(s->l, call->call.args[a]->str);

			len += (x ? strlen(x) : 0) + strlen(sep);
		}
		v = calloc(1, len);
		for (int a = 3; v && a < call->call.nargs; a++) {
			const char *x = labels__get(s->l, call->call.args[a]->str);

			if (a > 3)
				strcat(v, sep);
			strcat(v, x ? x : "");
		}
		if (v && !labels_builder__init(&b, s->l) && !labels_builder__set(&b, dst, v)) {
			l = labels_builder__finish(&b);
			labels_builder__release(&b);
		}
		free(v);
		if (!l || pq_vector_push(&out->vec, l, s->t, s->v)) {
			labels__unref(l);
			return pq_ctx_error(c, call->pos, "out of memory");
		}
	}
	return 0;
}

static int histogram_quantile(struct pq_ctx *c, double q, struct pq_vector *in, int64_t t,
			      struct pq_val *out)
{
	struct hg {
		uint64_t sig;
		struct labels *l;
		struct pq_bucket *b;
		size_t n;
	} *g = calloc(in->n + 1, sizeof(*g));
	size_t ng = 0;
	int rc = 0;
	static const char *const le[] = { "le" };

	if (!g)
		return pq_ctx_error(c, -1, "out of memory");
	out->type = PQ_VECTOR;
	for (size_t i = 0; i < in->n; i++) {
		struct pq_sample *s = &in->s[i];
		const char *name = labels__get(s->l, LABEL_METRIC_NAME);
		double upper;
		size_t j;

		if (!parse_float_strict(labels__get(s->l, "le"), &upper))
			continue;
		/* Grouped by every label but le, the metric name included (Prometheus #9910). */
		uint64_t sig = labels__hash_subset(s->l, le, 1, false) ^
			       (name ? hash_bytes(name, strlen(name), 7) : 0);

		for (j = 0; j < ng && g[j].sig != sig; j++)
			;
		if (j == ng) {
			struct labels_builder b;

			if (labels_builder__init(&b, s->l)) {
				rc = -ENOMEM;
				break;
			}
			labels_builder__del(&b, LABEL_METRIC_NAME);
			labels_builder__del(&b, "le");
			g[j].l = labels_builder__finish(&b);
			labels_builder__release(&b);
			g[j].sig = sig;
			g[j].b = calloc(in->n, sizeof(*g[j].b));
			ng++;
			if (!g[j].l || !g[j].b) {
				rc = -ENOMEM;
				break;
			}
		}
		g[j].b[g[j].n].upper = upper;
		g[j].b[g[j].n].count = s->v;
		g[j].n++;
	}
	for (size_t j = 0; j < ng && !rc; j++) {
		if (pq_vector_push(&out->vec, labels__ref(g[j].l), t,
				   pq_bucket_quantile(q, g[j].b, g[j].n))) {
			labels__unref(g[j].l);
			rc = -ENOMEM;
		}
	}
	for (size_t j = 0; j < ng; j++) {
		labels__unref(g[j].l);
		free(g[j].b);
	}
	free(g);
	return rc ? pq_ctx_error(c, -1, "out of memory") : 0;
}

int pq_func_instant(struct pq_ctx *c, const struct pq_node *call, struct pq_val *vals, int64_t t,
		    struct pq_val *out)
{
	int id = call->call.f->id;

	switch (id) {
	case F_TIME:
		out->type = PQ_SCALAR;
		out->scalar = (double)t / 1000;
		return 0;
	case F_VECTOR: {
		struct labels *l = labels__empty();

		out->type = PQ_VECTOR;
		if (!l || pq_vector_push(&out->vec, l, t, vals[0].scalar)) {
			labels__unref(l);
			return pq_ctx_error(c, call->pos, "out of memory");
		}
		return 0;
	}
	case F_SCALAR:
		out->type = PQ_SCALAR;
		out->scalar = vals[0].vec.n == 1 ? vals[0].vec.s[0].v : NAN;
		return 0;
	case F_ABSENT: {
		struct labels *l;

		out->type = PQ_VECTOR;
		if (vals[0].vec.n)
			return 0;
		l = pq_absent_labels(call->call.args[0]);
		if (!l || pq_vector_push(&out->vec, l, t, 1)) {
			labels__unref(l);
			return pq_ctx_error(c, call->pos, "out of memory");
		}
		return 0;
	}
	case F_LABEL_REPLACE:
		return label_replace(c, call, vals, out);
	case F_LABEL_JOIN:
		return label_join(c, call, vals, out);
	case F_HISTOGRAM_QUANTILE:
		return histogram_quantile(c, vals[0].scalar, &vals[1].vec, t, out);
	case F_TIMESTAMP: {
		const struct pq_node *a = call->call.args[0];

		while (a->kind == PQN_PAREN)
			a = a->un.expr;
		/* Of a selector: the samples' own times, not the evaluation time. */
		if (a->kind == PQN_SELECTOR) {
			pq_vector_release(&vals[0].vec);
			vals[0].type = PQ_VECTOR;
			int rc = pq_ctx_sample_times(c, a, t, &vals[0]);

			if (rc)
				return rc;
		}
		break;
	}
	default:
		break;
	}
	bool of_selector = false;

	if (id == F_TIMESTAMP) {
		const struct pq_node *a = call->call.args[0];

		while (a->kind == PQN_PAREN)
			a = a->un.expr;
		of_selector = a->kind == PQN_SELECTOR;
	}
	double p1 = call->call.nargs > 1 ? vals[1].scalar : 0;
	double p2 = call->call.nargs > 2 ? vals[2].scalar : 0;

	out->type = PQ_VECTOR;
	if (id == F_CLAMP && p2 < p1)
		return 0;
	for (size_t i = 0; i < vals[0].vec.n; i++) {
		struct pq_sample *s = &vals[0].vec.s[i];
		double v = s->v;

		switch (id) {
		case F_ABS:
			v = fabs(v);
			break;
		case F_CEIL:
			v = ceil(v);
			break;
		case F_FLOOR:
			v = floor(v);
			break;
		case F_EXP:
			v = exp(v);
			break;
		case F_SQRT:
			v = sqrt(v);
			break;
		case F_LN:
			v = log(v);
			break;
		case F_LOG2:
			v = log2(v);
			break;
		case F_LOG10:
			v = log10(v);
			break;
		case F_SGN:
			v = v < 0 ? -1 : v > 0 ? 1 : v;
			break;
		case F_ROUND: {
			double inv = 1.0 / (call->call.nargs > 1 ? p1 : 1);

			v = floor(v * inv + 0.5) / inv;
			break;
		}
		case F_CLAMP:
			v = go_max(p1, go_min(p2, v));
			break;
		case F_CLAMP_MIN:
			v = go_max(p1, v);
			break;
		case F_CLAMP_MAX:
			v = go_min(p1, v);
			break;
		case F_TIMESTAMP:
			/* s->v already holds the time for selectors; else the evaluation time. */
			if (!of_selector)
				v = (double)t / 1000;
			break;
		default:
			return pq_ctx_error(c, call->pos, "function %s not implemented",
					    call->call.f->name);
		}
		struct labels *l = labels__drop_name(s->l);

		if (!l || pq_vector_push(&out->vec, l, t, v)) {
			labels__unref(l);
			return pq_ctx_error(c, call->pos, "out of memory");
		}
	}
	return 0;
}
