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
#include "model/series.h"
#include "util/clock.h"

#define DEFAULT_MAX_SAMPLES 50000000
#define DEFAULT_SUBQUERY_STEP 60000 /* Prometheus' global evaluation_interval default */

struct pq_ctx {
	const struct pq_source *src;
	int64_t lookback;
	struct pq_matrix *sel; /* preloaded data, by selector / subquery id */
	struct pq_error *err;
	size_t max_samples, samples;
	int64_t deadline; /* mono_ms() past which evaluation stops */
	bool failed;
	int rc;
};

/* The store's end of a series is Prometheus' staleness marker: the same bits (storesrc.c). */
bool pq_is_stale(double v)
{
	return series_is_end(v);
}

double pq_stale_nan(void)
{
	return series_end_value();
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

/* -ETIMEDOUT once the query's time is up: checked at every evaluation step (a subquery over a
 * year at a 1 s step is 31 million of them, each cheap, none of them bounded by max_samples). */
static int check_deadline(struct pq_ctx *c)
{
	if (mono_ms() <= c->deadline)
		return 0;
	if (!c->failed) {
		c->failed = true;
		c->rc = -ETIMEDOUT;
		c->err->pos = -1;
		snprintf(c->err->msg, sizeof(c->err->msg),
			 "query timed out in expression evaluation");
	}
	return c->rc;
}

int pq_ctx_nomem(struct pq_ctx *c)
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

void pq_val_release(struct pq_val *v)
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

		/* (one read is not cut short: max_samples bounds it) */
		if ((rc = check_deadline(c)))
			return rc;
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
	size_t a = pq_points_lower_bound(s->p, s->n, ref - range), b = upper_bound(s->p, s->n, ref),
	       n = 0;
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
			return pq_ctx_nomem(c);
		}
	}
	return 0;
}

/* ---- evaluation ---- */

static int eval_node_kind(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out);

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
			return pq_ctx_nomem(c);
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

		rc = pq_eval_node(c, n->call.args[i], t, &v);
		if (rc)
			return rc;
		scalars[ns++ < 4 ? ns - 1 : 3] = v.scalar;
		pq_val_release(&v);
	}
	m = matrix_arg(c, n->call.args[mi], &range, &offset);
	out->type = PQ_VECTOR;
	for (size_t i = 0; i < m->n; i++) {
		struct pq_window w = { .l = m->s[i].l };
		double v;

		w.n = window_points(&m->s[i], t - offset, range, &w.p, &scratch, &scap);
		if (w.n == (size_t)-1) {
			rc = pq_ctx_nomem(c);
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
			rc = pq_ctx_nomem(c);
			break;
		}
	}
	free(scratch);
	if (!rc && !strcmp(f->name, "absent_over_time") && !any) {
		struct labels *l = pq_absent_labels(n->call.args[mi]);

		if (!l || pq_vector_push(&out->vec, l, t, 1)) {
			labels__unref(l);
			return pq_ctx_nomem(c);
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
		rc = pq_eval_node(c, n->call.args[i], t, &vals[i]);
	if (!rc)
		rc = pq_func_instant(c, n, vals, t, out);
	for (int i = 0; i < nv; i++)
		pq_val_release(&vals[i]);
	return rc;
}

static int eval_node_kind(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
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
		return pq_eval_node(c, n->un.expr, t, out);
	case PQN_UNARY: {
		int rc = pq_eval_node(c, n->un.expr, t, out);

		if (rc)
			return rc;
		if (out->type == PQ_SCALAR) {
			out->scalar = -out->scalar;
			return 0;
		}
		for (size_t i = 0; i < out->vec.n; i++) {
			struct labels *l = labels__drop_name(out->vec.s[i].l);

			if (!l)
				return pq_ctx_nomem(c);
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
		return pq_eval_aggr(c, n, t, out);
	case PQN_BINARY:
		return pq_eval_binary(c, n, t, out);
	case PQN_MATRIX:
	case PQN_SUBQUERY:
		return pq_ctx_error(c, n->pos,
				    "range vector used where an instant vector is needed");
	}
	return pq_ctx_error(c, n->pos, "unknown expression");
}

int pq_eval_node(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->failed)
		return c->rc;
	rc = eval_node_kind(c, n, t, out);
	if (rc)
		pq_val_release(out);
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
		return pq_ctx_nomem(c);
	rc = preload(c, root, start, end);
	for (int64_t t = start; !rc && t <= end; t += step) {
		struct pq_val v;

		if ((rc = check_deadline(c)))
			break;
		rc = pq_eval_node(c, root, t, &v);
		if (rc)
			break;
		if (v.type == PQ_SCALAR) {
			if (!empty && !(empty = labels__empty())) {
				rc = pq_ctx_nomem(c);
				break;
			}
			v.type = PQ_VECTOR;
			if (pq_vector_push(&v.vec, labels__ref(empty), t, v.scalar)) {
				labels__unref(empty);
				rc = pq_ctx_nomem(c);
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
					rc = pq_ctx_nomem(c);
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
				rc = pq_ctx_nomem(c);
		}
		pq_val_release(&v);
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
	c->deadline =
		mono_ms() + (opts && opts->timeout_ms > 0 ? opts->timeout_ms : PQ_MAX_TIMEOUT_MS);
	c->sel = calloc((size_t)e->nselectors + 1, sizeof(*c->sel));
	err->pos = -1;
	err->msg[0] = 0;
	return c->sel ? 0 : pq_ctx_nomem(c);
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
				rc = pq_ctx_nomem(&c);
				break;
			}
			if (!np)
				continue;
			s = pq_matrix_add(&out->mat, labels__ref(m->s[i].l));
			if (!s) {
				labels__unref(m->s[i].l);
				rc = pq_ctx_nomem(&c);
				break;
			}
			for (size_t j = 0; j < np && !rc; j++)
				if (pq_series_push(s, p[j].t, p[j].v))
					rc = pq_ctx_nomem(&c);
		}
		free(scratch);
		if (!rc && out->mat.n)
			qsort(out->mat.s, out->mat.n, sizeof(*out->mat.s), series_cmp);
	} else if (!rc) {
		struct pq_val v;

		rc = pq_eval_node(&c, root, t, &v);
		if (!rc) {
			out->type = v.type;
			out->scalar = v.scalar;
			if (v.type == PQ_STRING && !(out->str = strdup(v.str)))
				rc = pq_ctx_nomem(&c);
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
						rc = pq_ctx_nomem(&c);
				}
				if (!seen)
					rc = pq_ctx_nomem(&c);
				hashmap__free(seen);
			}
		}
	}
	ctx_release(&c, e);
	if (rc)
		pq_result_release(out);
	return rc;
}
