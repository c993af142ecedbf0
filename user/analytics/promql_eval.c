// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL evaluation. Every selector's samples are loaded once for the whole query (the union of the
 * windows all steps need), then each step evaluates the tree at its time; a range query is the
 * instant evaluations at start, start+step, ..., end, merged by label set. This is Prometheus'
 * semantics (its engine vectorizes the same computation).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/promql_int.h"
#include "model/hashmap.h"

#define DEFAULT_MAX_SAMPLES 50000000
#define DEFAULT_SUBQUERY_STEP 60000 /* Prometheus' global evaluation_interval default */

struct pq_ctx {
	const struct pq_source *src;
	int64_t lookback;
	struct pq_matrix *sel; /* preloaded data, by selector / subquery id */
	struct pq_error *err;
	size_t max_samples, samples;
	bool failed;
	int rc;
};

bool pq_is_stale(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b == PQ_STALE_NAN_BITS;
}

double pq_stale_nan(void)
{
	uint64_t b = PQ_STALE_NAN_BITS;
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

int pq_ctx_error(struct pq_ctx *c, int pos, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return c->rc;
	c->failed = true;
	c->rc = -EINVAL;
	c->err->pos = pos;
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int ctx_nomem(struct pq_ctx *c)
{
	if (!c->failed) {
		c->failed = true;
		c->rc = -ENOMEM;
		c->err->pos = -1;
		snprintf(c->err->msg, sizeof(c->err->msg), "out of memory");
	}
	return -ENOMEM;
}

/* ---- containers ---- */

struct pq_series *pq_matrix_add(struct pq_matrix *m, struct labels *l)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct pq_series *s = realloc(m->s, cap * sizeof(*s));

		if (!s)
			return NULL;
		m->s = s;
		m->cap = cap;
	}
	memset(&m->s[m->n], 0, sizeof(m->s[0]));
	m->s[m->n].l = l;
	return &m->s[m->n++];
}

int pq_series_push(struct pq_series *s, int64_t t, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct pq_point *p = realloc(s->p, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->p = p;
		s->cap = cap;
	}
	s->p[s->n].t = t;
	s->p[s->n].v = v;
	s->n++;
	return 0;
}

void pq_matrix_release(struct pq_matrix *m)
{
	for (size_t i = 0; i < m->n; i++) {
		labels__unref(m->s[i].l);
		free(m->s[i].p);
	}
	free(m->s);
	memset(m, 0, sizeof(*m));
}

int pq_vector_push(struct pq_vector *v, struct labels *l, int64_t t, double val)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		struct pq_sample *s = realloc(v->s, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		v->s = s;
		v->cap = cap;
	}
	v->s[v->n].l = l;
	v->s[v->n].t = t;
	v->s[v->n].v = val;
	v->n++;
	return 0;
}

void pq_vector_release(struct pq_vector *v)
{
	for (size_t i = 0; i < v->n; i++)
		labels__unref(v->s[i].l);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

static void val_release(struct pq_val *v)
{
	if (v->type == PQ_VECTOR)
		pq_vector_release(&v->vec);
	v->type = PQ_NONE;
}

void pq_result_release(struct pq_result *r)
{
	pq_vector_release(&r->vec);
	pq_matrix_release(&r->mat);
	free(r->str);
	memset(r, 0, sizeof(*r));
}

/* ---- loading ---- */

static int eval_range_into(struct pq_ctx *c, const struct pq_node *root, int64_t start, int64_t end,
			   int64_t step, struct pq_matrix *out);

static int preload(struct pq_ctx *c, const struct pq_node *n, int64_t start, int64_t end)
{
	int rc = 0;

	if (c->failed)
		return c->rc;
	switch (n->kind) {
	case PQN_SELECTOR:
	case PQN_MATRIX: {
		const struct pq_node *vs = n->kind == PQN_MATRIX ? n->mat.vs : n;
		int64_t before = n->kind == PQN_MATRIX ? n->mat.range : c->lookback;
		struct pq_matrix *m = &c->sel[vs->sel.id];

		rc = c->src->select(c->src->ctx, vs->sel.m, vs->sel.nm,
				    start - vs->sel.offset - before, end - vs->sel.offset, m);
		if (rc) {
			if (!c->failed) {
				c->failed = true;
				c->rc = rc;
				c->err->pos = n->pos;
				snprintf(c->err->msg, sizeof(c->err->msg), "reading series: %s",
					 strerror(-rc));
			}
			return rc;
		}
		for (size_t i = 0; i < m->n; i++)
			c->samples += m->s[i].n;
		if (c->samples > c->max_samples)
			return pq_ctx_error(c, n->pos,
					    "query processing would load too many samples into "
					    "memory in query execution");
		return 0;
	}
	case PQN_SUBQUERY: {
		int64_t step = n->sub.step ? n->sub.step : DEFAULT_SUBQUERY_STEP;
		int64_t lo = start - n->sub.offset - n->sub.range, hi = end - n->sub.offset;
		/* First time at or after lo that is a multiple of step, as Prometheus aligns. */
		int64_t s0 = step * (lo / step);

		if (s0 < lo)
			s0 += step;
		if (hi < s0)
			return 0;
		return eval_range_into(c, n->sub.expr, s0, hi, step, &c->sel[n->sub.id]);
	}
	case PQN_CALL:
		for (int i = 0; i < n->call.nargs && !rc; i++)
			rc = preload(c, n->call.args[i], start, end);
		return rc;
	case PQN_AGGR:
		rc = preload(c, n->aggr.expr, start, end);
		if (!rc && n->aggr.param)
			rc = preload(c, n->aggr.param, start, end);
		return rc;
	case PQN_BINARY:
		rc = preload(c, n->bin.lhs, start, end);
		return rc ? rc : preload(c, n->bin.rhs, start, end);
	case PQN_UNARY:
	case PQN_PAREN:
		return preload(c, n->un.expr, start, end);
	default:
		return 0;
	}
}

/* Index of the first point with time > t. */
static size_t upper_bound(const struct pq_point *p, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p[mid].t <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t lower_bound(const struct pq_point *p, size_t n, int64_t t)
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

/* The newest sample in [ref - lookback, ref] of series s, unless it is a staleness marker. */
static bool instant_point(const struct pq_ctx *c, const struct pq_series *s, int64_t ref,
			  struct pq_point *out)
{
	size_t i = upper_bound(s->p, s->n, ref);

	if (!i)
		return false;
	if (s->p[i - 1].t < ref - c->lookback || pq_is_stale(s->p[i - 1].v))
		return false;
	*out = s->p[i - 1];
	return true;
}

/*
 * The samples of s in [ref - range, ref] without staleness markers. Markers are rare, so the window
 * is a slice of the loaded array when it holds none; otherwise a filtered copy in *scratch.
 */
static size_t window_points(const struct pq_series *s, int64_t ref, int64_t range,
			    const struct pq_point **out, struct pq_point **scratch, size_t *scap)
{
	size_t a = lower_bound(s->p, s->n, ref - range), b = upper_bound(s->p, s->n, ref), n = 0;
	bool stale = false;

	for (size_t i = a; i < b; i++)
		if (pq_is_stale(s->p[i].v))
			stale = true;
	if (!stale) {
		*out = s->p + a;
		return b > a ? b - a : 0;
	}
	if (*scap < b - a) {
		struct pq_point *np = realloc(*scratch, (b - a) * sizeof(*np));

		if (!np)
			return (size_t)-1;
		*scratch = np;
		*scap = b - a;
	}
	for (size_t i = a; i < b; i++)
		if (!pq_is_stale(s->p[i].v))
			(*scratch)[n++] = s->p[i];
	*out = *scratch;
	return n;
}

int pq_ctx_selected(struct pq_ctx *c, const struct pq_node *sel, int64_t t)
{
	const struct pq_matrix *m = &c->sel[sel->sel.id];
	struct pq_point pt;

	for (size_t i = 0; i < m->n; i++)
		if (instant_point(c, &m->s[i], t - sel->sel.offset, &pt))
			return 1;
	return 0;
}

int pq_ctx_sample_times(struct pq_ctx *c, const struct pq_node *sel, int64_t t, struct pq_val *out)
{
	const struct pq_matrix *m = &c->sel[sel->sel.id];

	out->type = PQ_VECTOR;
	for (size_t i = 0; i < m->n; i++) {
		struct pq_point pt;

		if (!instant_point(c, &m->s[i], t - sel->sel.offset, &pt))
			continue;
		if (pq_vector_push(&out->vec, labels__ref(m->s[i].l), t, (double)pt.t / 1000)) {
			labels__unref(m->s[i].l);
			return ctx_nomem(c);
		}
	}
	return 0;
}

/* ---- evaluation ---- */

static int eval(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out);

static int eval_selector(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
{
	const struct pq_matrix *m = &c->sel[n->sel.id];

	out->type = PQ_VECTOR;
	for (size_t i = 0; i < m->n; i++) {
		struct pq_point pt;

		if (!instant_point(c, &m->s[i], t - n->sel.offset, &pt))
			continue;
		if (pq_vector_push(&out->vec, labels__ref(m->s[i].l), t, pt.v)) {
			labels__unref(m->s[i].l);
			return ctx_nomem(c);
		}
	}
	return 0;
}

/* The matrix argument of a range function: its loaded data, range and offset. */
static const struct pq_matrix *matrix_arg(struct pq_ctx *c, const struct pq_node *a, int64_t *range,
					  int64_t *offset)
{
	if (a->kind == PQN_MATRIX) {
		*range = a->mat.range;
		*offset = a->mat.vs->sel.offset;
		return &c->sel[a->mat.vs->sel.id];
	}
	*range = a->sub.range;
	*offset = a->sub.offset;
	return &c->sel[a->sub.id];
}

static int eval_range_call(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
{
	const struct pq_func *f = n->call.f;
	double scalars[4] = { 0 };
	int mi = -1, ns = 0, rc = 0;
	const struct pq_matrix *m;
	int64_t range, offset;
	struct pq_point *scratch = NULL;
	size_t scap = 0;
	bool any = false;

	for (int i = 0; i < n->call.nargs; i++) {
		if (pq_node_type(n->call.args[i]) == PQ_MATRIX) {
			mi = i;
			continue;
		}
		struct pq_val v = { 0 };

		rc = eval(c, n->call.args[i], t, &v);
		if (rc)
			return rc;
		scalars[ns++ < 4 ? ns - 1 : 3] = v.scalar;
		val_release(&v);
	}
	m = matrix_arg(c, n->call.args[mi], &range, &offset);
	out->type = PQ_VECTOR;
	for (size_t i = 0; i < m->n; i++) {
		struct pq_window w = { .l = m->s[i].l };
		double v;

		w.n = window_points(&m->s[i], t - offset, range, &w.p, &scratch, &scap);
		if (w.n == (size_t)-1) {
			rc = ctx_nomem(c);
			break;
		}
		if (!w.n)
			continue;
		any = true;
		if (!strcmp(f->name, "absent_over_time"))
			break;
		if (!pq_func_range(f->id, &w, t, range, offset, scalars, &v))
			continue;
		struct labels *l =
			pq_func_keeps_name(f->id) ? labels__ref(w.l) : labels__drop_name(w.l);

		if (!l || pq_vector_push(&out->vec, l, t, v)) {
			labels__unref(l);
			rc = ctx_nomem(c);
			break;
		}
	}
	free(scratch);
	if (!rc && !strcmp(f->name, "absent_over_time") && !any) {
		struct labels *l = pq_absent_labels(n->call.args[mi]);

		if (!l || pq_vector_push(&out->vec, l, t, 1)) {
			labels__unref(l);
			return ctx_nomem(c);
		}
	}
	return rc;
}

static int eval_call(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
{
	struct pq_val vals[4] = { 0 };
	int rc = 0, nv = n->call.nargs < 4 ? n->call.nargs : 4;

	if (pq_func_is_range(n->call.f->id))
		return eval_range_call(c, n, t, out);
	for (int i = 0; i < nv && !rc; i++)
		rc = eval(c, n->call.args[i], t, &vals[i]);
	if (!rc)
		rc = pq_func_instant(c, n, vals, t, out);
	for (int i = 0; i < nv; i++)
		val_release(&vals[i]);
	return rc;
}

/* ---- aggregation ---- */

struct group {
	struct labels *l;
	double value, mean, count;
	struct pq_sample *heap; /* topk/bottomk/quantile members (borrowed labels) */
	size_t nheap, capheap;
};

static int group_push(struct group *g, const struct pq_sample *s)
{
	if (g->nheap == g->capheap) {
		size_t cap = g->capheap ? g->capheap * 2 : 4;
		struct pq_sample *h = realloc(g->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		g->heap = h;
		g->capheap = cap;
	}
	g->heap[g->nheap++] = *s;
	return 0;
}

/* topk keeps the k largest (NaN counts as smallest); bottomk the k smallest (NaN as largest). */
static bool better(double a, double b, bool top)
{
	if (isnan(b))
		return !isnan(a);
	if (isnan(a))
		return false;
	return top ? a > b : a < b;
}

static int cmp_top(const void *a, const void *b)
{
	double x = ((const struct pq_sample *)a)->v, y = ((const struct pq_sample *)b)->v;

	return better(x, y, true) ? -1 : better(y, x, true) ? 1 : 0;
}

static int cmp_bottom(const void *a, const void *b)
{
	double x = ((const struct pq_sample *)a)->v, y = ((const struct pq_sample *)b)->v;

	return better(x, y, false) ? -1 : better(y, x, false) ? 1 : 0;
}

/* The group holds k members: s replaces the worst when it is better (Prometheus' heap rule). */
static void topk_add(struct group *g, const struct pq_sample *s, bool top)
{
	size_t worst = 0;

	for (size_t i = 1; i < g->nheap; i++)
		if (better(g->heap[worst].v, g->heap[i].v, top))
			worst = i;
	if (better(s->v, g->heap[worst].v, top) || isnan(g->heap[worst].v))
		g->heap[worst] = *s;
}

static int eval_aggr(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
{
	enum pq_aggr op = n->aggr.op;
	struct pq_val in = { 0 }, param = { 0 };
	struct hashmap *idx = NULL;
	struct group *g = NULL;
	size_t ng = 0, k = 0;
	double q = 0;
	const char **gl = (const char **)n->aggr.grouping;
	size_t ngl = n->aggr.ngrouping;
	const char *vlabel = NULL;
	char vbuf[400];
	int rc;

	rc = eval(c, n->aggr.expr, t, &in);
	if (!rc && n->aggr.param)
		rc = eval(c, n->aggr.param, t, &param);
	if (rc)
		goto out;
	if (op == AG_TOPK || op == AG_BOTTOMK) {
		if (!(param.scalar >= -9.2e18 && param.scalar <= 9.2e18)) {
			rc = pq_ctx_error(c, n->pos, "Scalar value %g overflows int64",
					  param.scalar);
			goto out;
		}
		if (param.scalar < 1) {
			out->type = PQ_VECTOR;
			goto out;
		}
		k = (size_t)param.scalar;
	}
	if (op == AG_QUANTILE)
		q = param.scalar;
	if (op == AG_COUNT_VALUES)
		vlabel = param.str;
	idx = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	g = calloc(in.vec.n ? in.vec.n : 1, sizeof(*g));
	if (!idx || !g) {
		rc = ctx_nomem(c);
		goto out;
	}
	for (size_t i = 0; i < in.vec.n; i++) {
		struct pq_sample *s = &in.vec.s[i];
		struct labels *metric = s->l;
		uint64_t key;
		uintptr_t gi;

		if (op == AG_COUNT_VALUES) {
			struct labels_builder b;

			if (labels_builder__init(&b, s->l) ||
			    labels_builder__set(&b, vlabel,
						pq_format_float(s->v, vbuf, sizeof(vbuf)))) {
				labels_builder__release(&b);
				rc = ctx_nomem(c);
				goto out;
			}
			metric = labels_builder__finish(&b);
			labels_builder__release(&b);
			if (!metric) {
				rc = ctx_nomem(c);
				goto out;
			}
			/* The new labels replace the sample's (freed with the input vector). */
			labels__unref(s->l);
			s->l = metric;
		}
		if (n->aggr.without) {
			key = labels__hash_subset(metric, gl, ngl, false);
		} else if (op == AG_COUNT_VALUES) {
			/* by (...) plus the value label. */
			const char *names[ngl + 1];

			memcpy(names, gl, ngl * sizeof(*names));
			names[ngl] = vlabel;
			key = labels__hash_subset(metric, names, ngl + 1, true);
		} else {
			key = labels__hash_subset(metric, gl, ngl, true);
		}
		if (!hashmap__get(idx, (const void *)(uintptr_t)key, &gi)) {
			struct group *ng_ = &g[ng];
			struct labels_builder b;

			if (labels_builder__init(&b, metric)) {
				rc = ctx_nomem(c);
				goto out;
			}
			if (n->aggr.without) {
				for (size_t j = 0; j < ngl; j++)
					labels_builder__del(&b, gl[j]);
				labels_builder__del(&b, LABEL_METRIC_NAME);
			} else if (op == AG_COUNT_VALUES) {
				const char *names[ngl + 1];

				memcpy(names, gl, ngl * sizeof(*names));
				names[ngl] = vlabel;
				labels_builder__keep(&b, names, ngl + 1);
			} else {
				labels_builder__keep(&b, gl, ngl);
			}
			ng_->l = labels_builder__finish(&b);
			labels_builder__release(&b);
			if (!ng_->l || hashmap__set(idx, (const void *)(uintptr_t)key, ng)) {
				rc = ctx_nomem(c);
				goto out;
			}
			ng++;
			ng_->value = ng_->mean = s->v;
			ng_->count = 1;
			if (op == AG_STDDEV || op == AG_STDVAR)
				ng_->value = 0;
			if (op == AG_GROUP)
				ng_->value = 1;
			if (op == AG_TOPK || op == AG_BOTTOMK || op == AG_QUANTILE) {
				if (group_push(ng_, s)) {
					rc = ctx_nomem(c);
					goto out;
				}
			}
			continue;
		}
		struct group *gr = &g[gi];

		switch (op) {
		case AG_SUM:
			gr->value += s->v;
			break;
		case AG_AVG:
			gr->count++;
			if (isinf(gr->mean)) {
				if (isinf(s->v) && (gr->mean > 0) == (s->v > 0))
					break;
				if (!isinf(s->v) && !isnan(s->v))
					break;
			}
			gr->mean += s->v / gr->count - gr->mean / gr->count;
			break;
		case AG_MAX:
			if (gr->value < s->v || isnan(gr->value))
				gr->value = s->v;
			break;
		case AG_MIN:
			if (gr->value > s->v || isnan(gr->value))
				gr->value = s->v;
			break;
		case AG_COUNT:
		case AG_COUNT_VALUES:
			gr->count++;
			break;
		case AG_STDDEV:
		case AG_STDVAR: {
			double delta = s->v - gr->mean;

			gr->count++;
			gr->mean += delta / gr->count;
			gr->value += delta * (s->v - gr->mean);
			break;
		}
		case AG_TOPK:
		case AG_BOTTOMK:
			if (gr->nheap < k) {
				if (group_push(gr, s)) {
					rc = ctx_nomem(c);
					goto out;
				}
			} else {
				topk_add(gr, s, op == AG_TOPK);
			}
			break;
		case AG_QUANTILE:
			if (group_push(gr, s)) {
				rc = ctx_nomem(c);
				goto out;
			}
			break;
		case AG_GROUP:
			break;
		}
	}
	out->type = PQ_VECTOR;
	for (size_t i = 0; i < ng && !rc; i++) {
		struct group *gr = &g[i];
		double v = gr->value;

		switch (op) {
		case AG_AVG:
			v = gr->mean;
			break;
		case AG_COUNT:
		case AG_COUNT_VALUES:
			v = gr->count;
			break;
		case AG_STDVAR:
			v = gr->value / gr->count;
			break;
		case AG_STDDEV:
			v = sqrt(gr->value / gr->count);
			break;
		case AG_TOPK:
		case AG_BOTTOMK:
			qsort(gr->heap, gr->nheap, sizeof(*gr->heap),
			      op == AG_TOPK ? cmp_top : cmp_bottom);
			for (size_t j = 0; j < gr->nheap && !rc; j++)
				if (pq_vector_push(&out->vec, labels__ref(gr->heap[j].l), t,
						   gr->heap[j].v))
					rc = ctx_nomem(c);
			continue;
		case AG_QUANTILE: {
			double *vals = malloc(gr->nheap * sizeof(*vals));

			if (!vals) {
				rc = ctx_nomem(c);
				continue;
			}
			for (size_t j = 0; j < gr->nheap; j++)
				vals[j] = gr->heap[j].v;
			v = pq_quantile(q, vals, gr->nheap);
			free(vals);
			break;
		}
		default:
			break;
		}
		if (pq_vector_push(&out->vec, labels__ref(gr->l), t, v))
			rc = ctx_nomem(c);
	}
out:
	for (size_t i = 0; g && i < ng; i++) {
		labels__unref(g[i].l);
		free(g[i].heap);
	}
	free(g);
	hashmap__free(idx);
	val_release(&in);
	val_release(&param);
	return rc;
}

/* ---- binary operators ---- */

static bool op_cmp(enum pq_op op)
{
	return op >= OP_EQ && op <= OP_GE;
}

/* Value and whether to keep the element (comparisons filter). */
static double binop(enum pq_op op, double l, double r, bool *keep)
{
	*keep = true;
	switch (op) {
	case OP_ADD:
		return l + r;
	case OP_SUB:
		return l - r;
	case OP_MUL:
		return l * r;
	case OP_DIV:
		return l / r;
	case OP_MOD:
		return fmod(l, r);
	case OP_POW:
		return pow(l, r);
	case OP_ATAN2:
		return atan2(l, r);
	case OP_EQ:
		*keep = l == r;
		return l;
	case OP_NE:
		*keep = l != r;
		return l;
	case OP_LT:
		*keep = l < r;
		return l;
	case OP_GT:
		*keep = l > r;
		return l;
	case OP_LE:
		*keep = l <= r;
		return l;
	case OP_GE:
		*keep = l >= r;
		return l;
	default:
		*keep = false;
		return 0;
	}
}

static int eval_vector_scalar(struct pq_ctx *c, const struct pq_node *n, struct pq_val *vec,
			      double scalar, bool swap, struct pq_val *out)
{
	enum pq_op op = n->bin.op;
	bool drop = !op_cmp(op) || n->bin.ret_bool;

	out->type = PQ_VECTOR;
	for (size_t i = 0; i < vec->vec.n; i++) {
		struct pq_sample *s = &vec->vec.s[i];
		double lv = swap ? scalar : s->v, rv = swap ? s->v : scalar, v;
		bool keep;

		v = binop(op, lv, rv, &keep);
		/* A comparison keeps the vector element's value, whichever side it is on. */
		if (op_cmp(op) && swap)
			v = rv;
		if (n->bin.ret_bool) {
			v = keep ? 1 : 0;
			keep = true;
		}
		if (!keep)
			continue;
		struct labels *l = drop ? labels__drop_name(s->l) : labels__ref(s->l);

		if (!l || pq_vector_push(&out->vec, l, s->t, v)) {
			labels__unref(l);
			return ctx_nomem(c);
		}
	}
	return 0;
}

static uint64_t signature(const struct pq_node *n, const struct labels *l)
{
	return labels__hash_subset(l, (const char *const *)n->bin.mlabels, n->bin.nmlabels,
				   n->bin.on);
}

static int eval_set(struct pq_ctx *c, const struct pq_node *n, struct pq_val *lhs,
		    struct pq_val *rhs, struct pq_val *out)
{
	struct hashmap *sigs = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	enum pq_op op = n->bin.op;
	int rc = 0;

	if (!sigs)
		return ctx_nomem(c);
	out->type = PQ_VECTOR;
	struct pq_val *first = op == OP_OR ? lhs : rhs;

	for (size_t i = 0; i < first->vec.n; i++)
		if (hashmap__set(sigs, (const void *)(uintptr_t)signature(n, first->vec.s[i].l),
				 1)) {
			rc = ctx_nomem(c);
			goto out;
		}
	for (size_t i = 0; i < lhs->vec.n; i++) {
		struct pq_sample *s = &lhs->vec.s[i];
		bool in_rhs = op == OP_OR ||
			      hashmap__get(sigs, (const void *)(uintptr_t)signature(n, s->l), NULL);

		if (op == OP_OR || (op == OP_AND) == in_rhs) {
			if (pq_vector_push(&out->vec, labels__ref(s->l), s->t, s->v)) {
				rc = ctx_nomem(c);
				goto out;
			}
		}
	}
	if (op == OP_OR) {
		for (size_t i = 0; i < rhs->vec.n; i++) {
			struct pq_sample *s = &rhs->vec.s[i];

			if (hashmap__get(sigs, (const void *)(uintptr_t)signature(n, s->l), NULL))
				continue;
			if (pq_vector_push(&out->vec, labels__ref(s->l), s->t, s->v)) {
				rc = ctx_nomem(c);
				goto out;
			}
		}
	}
out:
	hashmap__free(sigs);
	return rc;
}

/* The labels of a vector-vector result (Prometheus' resultMetric). */
static struct labels *result_metric(const struct pq_node *n, const struct labels *l,
				    const struct labels *r)
{
	struct labels_builder b;
	struct labels *out;

	if (labels_builder__init(&b, l))
		return NULL;
	if (!op_cmp(n->bin.op))
		labels_builder__del(&b, LABEL_METRIC_NAME);
	if (n->bin.card == CARD_ONE_TO_ONE) {
		if (n->bin.on)
			labels_builder__keep(&b, (const char *const *)n->bin.mlabels,
					     n->bin.nmlabels);
		else
			for (size_t i = 0; i < n->bin.nmlabels; i++)
				labels_builder__del(&b, n->bin.mlabels[i]);
	}
	for (size_t i = 0; i < n->bin.ninclude; i++) {
		const char *v = labels__get(r, n->bin.include[i]);

		if (v) {
			if (labels_builder__set(&b, n->bin.include[i], v)) {
				labels_builder__release(&b);
				return NULL;
			}
		} else {
			labels_builder__del(&b, n->bin.include[i]);
		}
	}
	if (n->bin.ret_bool)
		labels_builder__del(&b, LABEL_METRIC_NAME);
	out = labels_builder__finish(&b);
	labels_builder__release(&b);
	return out;
}

static int eval_vector_vector(struct pq_ctx *c, const struct pq_node *n, struct pq_val *lhs,
			      struct pq_val *rhs, struct pq_val *out)
{
	struct hashmap *right = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	struct hashmap *matched = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	struct hashmap *inserted = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	bool one_to_many = n->bin.card == CARD_ONE_TO_MANY;
	struct pq_val *many = one_to_many ? rhs : lhs, *one = one_to_many ? lhs : rhs;
	char a[256], b[256];
	int rc = 0;

	out->type = PQ_VECTOR;
	if (!right || !matched || !inserted) {
		rc = ctx_nomem(c);
		goto out;
	}
	for (size_t i = 0; i < one->vec.n; i++) {
		uint64_t sig = signature(n, one->vec.s[i].l);
		uintptr_t prev;

		if (hashmap__get(right, (const void *)(uintptr_t)sig, &prev)) {
			labels__format(one->vec.s[i].l, a, sizeof(a));
			labels__format(one->vec.s[prev].l, b, sizeof(b));
			rc = pq_ctx_error(
				c, n->pos,
				"found duplicate series for the match group on the %s "
				"hand-side of the operation: [%s, %s];many-to-many matching "
				"not allowed: matching labels must be unique on one side",
				one_to_many ? "left" : "right", a, b);
			goto out;
		}
		if (hashmap__set(right, (const void *)(uintptr_t)sig, i)) {
			rc = ctx_nomem(c);
			goto out;
		}
	}
	for (size_t i = 0; i < many->vec.n; i++) {
		struct pq_sample *ls = &many->vec.s[i];
		uint64_t sig = signature(n, ls->l);
		uintptr_t ri;
		bool keep;
		double v;

		if (!hashmap__get(right, (const void *)(uintptr_t)sig, &ri))
			continue;
		struct pq_sample *rs = &one->vec.s[ri];
		double vl = one_to_many ? rs->v : ls->v, vr = one_to_many ? ls->v : rs->v;

		v = binop(n->bin.op, vl, vr, &keep);
		if (n->bin.ret_bool)
			v = keep ? 1 : 0;
		else if (!keep)
			continue;
		struct labels *l = result_metric(n, ls->l, rs->l);

		if (!l) {
			rc = ctx_nomem(c);
			goto out;
		}
		if (n->bin.card == CARD_ONE_TO_ONE) {
			if (hashmap__get(matched, (const void *)(uintptr_t)sig, NULL)) {
				labels__unref(l);
				rc = pq_ctx_error(
					c, n->pos,
					"multiple matches for labels: many-to-one matching "
					"must be explicit (group_left/group_right)");
				goto out;
			}
			if (hashmap__set(matched, (const void *)(uintptr_t)sig, 1)) {
				labels__unref(l);
				rc = ctx_nomem(c);
				goto out;
			}
		} else {
			uint64_t ins = l->hash ^ hash_u64(sig);

			if (hashmap__get(inserted, (const void *)(uintptr_t)ins, NULL)) {
				labels__unref(l);
				rc = pq_ctx_error(
					c, n->pos,
					"multiple matches for labels: grouping labels must "
					"ensure unique matches");
				goto out;
			}
			if (hashmap__set(inserted, (const void *)(uintptr_t)ins, 1)) {
				labels__unref(l);
				rc = ctx_nomem(c);
				goto out;
			}
		}
		if (pq_vector_push(&out->vec, l, ls->t, v)) {
			labels__unref(l);
			rc = ctx_nomem(c);
			goto out;
		}
	}
out:
	hashmap__free(right);
	hashmap__free(matched);
	hashmap__free(inserted);
	return rc;
}

static int eval_binary(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
{
	struct pq_val l = { 0 }, r = { 0 };
	int rc = eval(c, n->bin.lhs, t, &l);

	if (!rc)
		rc = eval(c, n->bin.rhs, t, &r);
	if (rc)
		goto out;
	if (l.type == PQ_SCALAR && r.type == PQ_SCALAR) {
		bool keep;
		double v = binop(n->bin.op, l.scalar, r.scalar, &keep);

		out->type = PQ_SCALAR;
		out->scalar = op_cmp(n->bin.op) ? (keep ? 1 : 0) : v;
	} else if (l.type == PQ_VECTOR && r.type == PQ_SCALAR) {
		rc = eval_vector_scalar(c, n, &l, r.scalar, false, out);
	} else if (l.type == PQ_SCALAR && r.type == PQ_VECTOR) {
		rc = eval_vector_scalar(c, n, &r, l.scalar, true, out);
	} else if (n->bin.card == CARD_MANY_TO_MANY) {
		rc = eval_set(c, n, &l, &r, out);
	} else {
		rc = eval_vector_vector(c, n, &l, &r, out);
	}
out:
	val_release(&l);
	val_release(&r);
	return rc;
}

static int eval_node(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
{
	switch (n->kind) {
	case PQN_NUMBER:
		out->type = PQ_SCALAR;
		out->scalar = n->num;
		return 0;
	case PQN_STRING:
		out->type = PQ_STRING;
		out->str = n->str;
		return 0;
	case PQN_PAREN:
		return eval(c, n->un.expr, t, out);
	case PQN_UNARY: {
		int rc = eval(c, n->un.expr, t, out);

		if (rc)
			return rc;
		if (out->type == PQ_SCALAR) {
			out->scalar = -out->scalar;
			return 0;
		}
		for (size_t i = 0; i < out->vec.n; i++) {
			struct labels *l = labels__drop_name(out->vec.s[i].l);

			if (!l)
				return ctx_nomem(c);
			labels__unref(out->vec.s[i].l);
			out->vec.s[i].l = l;
			out->vec.s[i].v = -out->vec.s[i].v;
		}
		return 0;
	}
	case PQN_SELECTOR:
		return eval_selector(c, n, t, out);
	case PQN_CALL:
		return eval_call(c, n, t, out);
	case PQN_AGGR:
		return eval_aggr(c, n, t, out);
	case PQN_BINARY:
		return eval_binary(c, n, t, out);
	case PQN_MATRIX:
	case PQN_SUBQUERY:
		return pq_ctx_error(c, n->pos,
				    "range vector used where an instant vector is needed");
	}
	return pq_ctx_error(c, n->pos, "unknown expression");
}

/* On failure out holds nothing: partial results are released here. */
static int eval(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->failed)
		return c->rc;
	rc = eval_node(c, n, t, out);
	if (rc)
		val_release(out);
	return rc;
}

/* ---- queries ---- */

static uint64_t labels_hash_cb(const void *k, void *ctx)
{
	(void)ctx;
	return ((const struct labels *)k)->hash;
}

static bool labels_equal_cb(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return labels__equal(a, b);
}

static int series_cmp(const void *a, const void *b)
{
	return labels__cmp(((const struct pq_series *)a)->l, ((const struct pq_series *)b)->l);
}

static int eval_range_into(struct pq_ctx *c, const struct pq_node *root, int64_t start, int64_t end,
			   int64_t step, struct pq_matrix *out)
{
	struct hashmap *idx = hashmap__new(labels_hash_cb, labels_equal_cb, NULL);
	struct labels *empty = NULL;
	int rc;

	if (!idx)
		return ctx_nomem(c);
	rc = preload(c, root, start, end);
	for (int64_t t = start; !rc && t <= end; t += step) {
		struct pq_val v;

		rc = eval(c, root, t, &v);
		if (rc)
			break;
		if (v.type == PQ_SCALAR) {
			if (!empty && !(empty = labels__empty())) {
				rc = ctx_nomem(c);
				break;
			}
			v.type = PQ_VECTOR;
			if (pq_vector_push(&v.vec, labels__ref(empty), t, v.scalar)) {
				labels__unref(empty);
				rc = ctx_nomem(c);
				break;
			}
		}
		for (size_t i = 0; i < v.vec.n && !rc; i++) {
			struct pq_sample *s = &v.vec.s[i];
			uintptr_t si;
			struct pq_series *ser;

			if (!hashmap__get(idx, s->l, &si)) {
				ser = pq_matrix_add(out, labels__ref(s->l));
				if (!ser || hashmap__set(idx, ser->l, out->n - 1)) {
					if (!ser)
						labels__unref(s->l);
					rc = ctx_nomem(c);
					break;
				}
				si = out->n - 1;
			} else if (out->s[si].n && out->s[si].p[out->s[si].n - 1].t == t) {
				rc = pq_ctx_error(
					c, root->pos,
					"vector cannot contain metrics with the same labelset");
				break;
			}
			if (pq_series_push(&out->s[si], t, s->v))
				rc = ctx_nomem(c);
		}
		val_release(&v);
	}
	labels__unref(empty);
	hashmap__free(idx);
	if (!rc && out->n)
		qsort(out->s, out->n, sizeof(*out->s), series_cmp);
	return rc;
}

static int ctx_init(struct pq_ctx *c, const struct pq_expr *e, const struct pq_source *src,
		    const struct pq_opts *opts, struct pq_error *err)
{
	memset(c, 0, sizeof(*c));
	c->src = src;
	c->err = err;
	c->lookback = opts && opts->lookback_ms > 0 ? opts->lookback_ms : PQ_DEFAULT_LOOKBACK_MS;
	c->max_samples = opts && opts->max_samples ? opts->max_samples : DEFAULT_MAX_SAMPLES;
	c->sel = calloc((size_t)e->nselectors + 1, sizeof(*c->sel));
	err->pos = -1;
	err->msg[0] = 0;
	return c->sel ? 0 : ctx_nomem(c);
}

static void ctx_release(struct pq_ctx *c, const struct pq_expr *e)
{
	for (int i = 0; c->sel && i < e->nselectors; i++)
		pq_matrix_release(&c->sel[i]);
	free(c->sel);
}

int pq_eval_range(const struct pq_expr *e, const struct pq_source *src, int64_t start, int64_t end,
		  int64_t step, const struct pq_opts *opts, struct pq_result *out,
		  struct pq_error *err)
{
	struct pq_error dummy = { 0 };
	struct pq_ctx c;
	enum pq_type t = pq_expr__type(e);
	int rc;

	memset(out, 0, sizeof(*out));
	err = err ? err : &dummy;
	if ((rc = ctx_init(&c, e, src, opts, err)))
		return rc;
	if (t != PQ_SCALAR && t != PQ_VECTOR)
		rc = pq_ctx_error(
			&c, -1,
			"invalid expression type \"%s\" for range query, must be Scalar or "
			"instant Vector",
			pq_type_name(t));
	else if (step <= 0)
		rc = pq_ctx_error(&c, -1,
				  "zero or negative query resolution step widths are not accepted. "
				  "Try a positive integer");
	else if (end < start)
		rc = pq_ctx_error(&c, -1, "end timestamp must not be before start time");
	else if ((end - start) / step >= PQ_MAX_POINTS)
		rc = pq_ctx_error(
			&c, -1,
			"exceeded maximum resolution of 11,000 points per timeseries. Try "
			"decreasing the query resolution (?step=XX)");
	if (!rc) {
		out->type = PQ_MATRIX;
		rc = eval_range_into(&c, e->root, start, end, step, &out->mat);
	}
	ctx_release(&c, e);
	if (rc)
		pq_result_release(out);
	return rc;
}

int pq_eval_instant(const struct pq_expr *e, const struct pq_source *src, int64_t t,
		    const struct pq_opts *opts, struct pq_result *out, struct pq_error *err)
{
	struct pq_error dummy = { 0 };
	struct pq_ctx c;
	const struct pq_node *root = e->root;
	int rc;

	memset(out, 0, sizeof(*out));
	err = err ? err : &dummy;
	if ((rc = ctx_init(&c, e, src, opts, err)))
		return rc;
	out->t = t;
	while (root->kind == PQN_PAREN)
		root = root->un.expr;
	rc = preload(&c, root, t, t);
	if (!rc && (root->kind == PQN_MATRIX || root->kind == PQN_SUBQUERY)) {
		int64_t range, offset;
		const struct pq_matrix *m = matrix_arg(&c, root, &range, &offset);
		struct pq_point *scratch = NULL;
		size_t scap = 0;

		out->type = PQ_MATRIX;
		for (size_t i = 0; i < m->n && !rc; i++) {
			const struct pq_point *p;
			size_t np = window_points(&m->s[i], t - offset, range, &p, &scratch, &scap);
			struct pq_series *s;

			if (np == (size_t)-1) {
				rc = ctx_nomem(&c);
				break;
			}
			if (!np)
				continue;
			s = pq_matrix_add(&out->mat, labels__ref(m->s[i].l));
			if (!s) {
				labels__unref(m->s[i].l);
				rc = ctx_nomem(&c);
				break;
			}
			for (size_t j = 0; j < np && !rc; j++)
				if (pq_series_push(s, p[j].t, p[j].v))
					rc = ctx_nomem(&c);
		}
		free(scratch);
		if (!rc && out->mat.n)
			qsort(out->mat.s, out->mat.n, sizeof(*out->mat.s), series_cmp);
	} else if (!rc) {
		struct pq_val v;

		rc = eval(&c, root, t, &v);
		if (!rc) {
			out->type = v.type;
			out->scalar = v.scalar;
			if (v.type == PQ_STRING && !(out->str = strdup(v.str)))
				rc = ctx_nomem(&c);
			out->vec = v.vec;
			/* Duplicate label sets in one vector are an error, as in Prometheus. */
			if (!rc && v.type == PQ_VECTOR) {
				struct hashmap *seen =
					hashmap__new(labels_hash_cb, labels_equal_cb, NULL);

				for (size_t i = 0; seen && i < v.vec.n && !rc; i++) {
					if (hashmap__get(seen, v.vec.s[i].l, NULL))
						rc = pq_ctx_error(&c, root->pos,
								  "vector cannot contain metrics "
								  "with the same labelset");
					else if (hashmap__set(seen, v.vec.s[i].l, 1))
						rc = ctx_nomem(&c);
				}
				if (!seen)
					rc = ctx_nomem(&c);
				hashmap__free(seen);
			}
		}
	}
	ctx_release(&c, e);
	if (rc)
		pq_result_release(out);
	return rc;
}
