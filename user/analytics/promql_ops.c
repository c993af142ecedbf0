// SPDX-License-Identifier: GPL-2.0
/* PromQL aggregations and binary operators (vector matching, set operators), as Prometheus. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/promql_int.h"
#include "model/hashmap.h"

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

int pq_eval_aggr(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
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

	rc = pq_eval_node(c, n->aggr.expr, t, &in);
	if (!rc && n->aggr.param)
		rc = pq_eval_node(c, n->aggr.param, t, &param);
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
		rc = pq_ctx_nomem(c);
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
				rc = pq_ctx_nomem(c);
				goto out;
			}
			metric = labels_builder__finish(&b);
			labels_builder__release(&b);
			if (!metric) {
				rc = pq_ctx_nomem(c);
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

			if (ngl)
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
				rc = pq_ctx_nomem(c);
				goto out;
			}
			if (n->aggr.without) {
				for (size_t j = 0; j < ngl; j++)
					labels_builder__del(&b, gl[j]);
				labels_builder__del(&b, LABEL_METRIC_NAME);
			} else if (op == AG_COUNT_VALUES) {
				const char *names[ngl + 1];

				if (ngl)
					memcpy(names, gl, ngl * sizeof(*names));
				names[ngl] = vlabel;
				labels_builder__keep(&b, names, ngl + 1);
			} else {
				labels_builder__keep(&b, gl, ngl);
			}
			ng_->l = labels_builder__finish(&b);
			labels_builder__release(&b);
			if (!ng_->l || hashmap__set(idx, (const void *)(uintptr_t)key, ng)) {
				rc = pq_ctx_nomem(c);
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
					rc = pq_ctx_nomem(c);
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
					rc = pq_ctx_nomem(c);
					goto out;
				}
			} else {
				topk_add(gr, s, op == AG_TOPK);
			}
			break;
		case AG_QUANTILE:
			if (group_push(gr, s)) {
				rc = pq_ctx_nomem(c);
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
					rc = pq_ctx_nomem(c);
			continue;
		case AG_QUANTILE: {
			double *vals = malloc(gr->nheap * sizeof(*vals));

			if (!vals) {
				rc = pq_ctx_nomem(c);
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
			rc = pq_ctx_nomem(c);
	}
out:
	for (size_t i = 0; g && i < ng; i++) {
		labels__unref(g[i].l);
		free(g[i].heap);
	}
	free(g);
	hashmap__free(idx);
	pq_val_release(&in);
	pq_val_release(&param);
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
			return pq_ctx_nomem(c);
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
		return pq_ctx_nomem(c);
	out->type = PQ_VECTOR;
	struct pq_val *first = op == OP_OR ? lhs : rhs;

	for (size_t i = 0; i < first->vec.n; i++)
		if (hashmap__set(sigs, (const void *)(uintptr_t)signature(n, first->vec.s[i].l),
				 1)) {
			rc = pq_ctx_nomem(c);
			goto out;
		}
	for (size_t i = 0; i < lhs->vec.n; i++) {
		struct pq_sample *s = &lhs->vec.s[i];
		bool in_rhs = op == OP_OR ||
			      hashmap__get(sigs, (const void *)(uintptr_t)signature(n, s->l), NULL);

		if (op == OP_OR || (op == OP_AND) == in_rhs) {
			if (pq_vector_push(&out->vec, labels__ref(s->l), s->t, s->v)) {
				rc = pq_ctx_nomem(c);
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
				rc = pq_ctx_nomem(c);
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
		rc = pq_ctx_nomem(c);
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
			rc = pq_ctx_nomem(c);
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
			rc = pq_ctx_nomem(c);
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
				rc = pq_ctx_nomem(c);
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
				rc = pq_ctx_nomem(c);
				goto out;
			}
		}
		if (pq_vector_push(&out->vec, l, ls->t, v)) {
			labels__unref(l);
			rc = pq_ctx_nomem(c);
			goto out;
		}
	}
out:
	hashmap__free(right);
	hashmap__free(matched);
	hashmap__free(inserted);
	return rc;
}

int pq_eval_binary(struct pq_ctx *c, const struct pq_node *n, int64_t t, struct pq_val *out)
{
	struct pq_val l = { 0 }, r = { 0 };
	int rc = pq_eval_node(c, n->bin.lhs, t, &l);

	if (!rc)
		rc = pq_eval_node(c, n->bin.rhs, t, &r);
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
	pq_val_release(&l);
	pq_val_release(&r);
	return rc;
}
