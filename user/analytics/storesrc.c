// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL samples from a metric store, with the points the store skipped put back (storesrc.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/storesrc.h"

/* A series' end in the store is the evaluator's staleness marker, bit for bit. */
_Static_assert(SERIES_END_BITS == PQ_STALE_NAN_BITS, "an end is a staleness marker");

struct storesrc {
	struct series_store st;
	struct storesrc_opts o;
	char *clock;
	_Atomic int64_t latest;
};

/* The clock's interval ends in a select's range; restart[k]: the writer restarted before tick k
 * (its clock counter went back), so nothing stored before k is held at k or after. */
struct ticks {
	int64_t *t;
	bool *restart;
	size_t n;
};

struct storesrc *storesrc__new(struct series_store st, const struct storesrc_opts *o)
{
	struct storesrc *s;

	if (!st.ops || !st.ops->select || o->interval_ms <= 0 || o->hold_ms < 0 ||
	    o->raw_age_ms < 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->st = st;
	s->o = *o;
	if (o->clock_metric && !(s->clock = strdup(o->clock_metric))) {
		free(s);
		return NULL;
	}
	s->o.clock_metric = s->clock;
	atomic_init(&s->latest, 0);
	return s;
}

void storesrc__free(struct storesrc *s)
{
	if (!s)
		return;
	free(s->clock);
	free(s);
}

void storesrc__advance(struct storesrc *s, int64_t t_ms)
{
	int64_t cur = atomic_load(&s->latest);

	while (t_ms > cur && !atomic_compare_exchange_weak(&s->latest, &cur, t_ms))
		;
}

int64_t storesrc__latest(const struct storesrc *s)
{
	return atomic_load(&((struct storesrc *)s)->latest);
}

/* The series' labels with __name__, as the evaluator wants them. NULL on ENOMEM. */
static struct labels *series_labels(const struct series *se)
{
	struct label stack[33], *l = stack;
	struct labels *ls;

	if (se->nr_labels + 1 > sizeof(stack) / sizeof(stack[0])) {
		l = malloc((se->nr_labels + 1) * sizeof(*l));
		if (!l)
			return NULL;
	}
	l[0] = (struct label){ LABEL_METRIC_NAME, se->name };
	for (size_t i = 0; i < se->nr_labels; i++)
		l[i + 1] = (struct label){ se->labels[i].name, se->labels[i].value };
	ls = labels__new(l, se->nr_labels + 1);
	if (l != stack)
		free(l);
	return ls;
}

static int push_in(struct pq_series *ps, int64_t t, double v, int64_t mint, int64_t maxt)
{
	if (t < mint || t > maxt)
		return 0;
	return pq_series_push(ps, t, v);
}

/* The first tick after t. */
static size_t tick_after(const struct ticks *tk, int64_t t)
{
	size_t lo = 0, hi = tk->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tk->t[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The stored points of se with the skipped ones put back, clipped to [mint, maxt]. */
static int fill(const struct storesrc *s, const struct series *se, int64_t mint, int64_t maxt,
		int64_t latest, const struct ticks *tk, struct pq_series *ps)
{
	const int64_t step = s->o.interval_ms, hold = s->o.hold_ms;
	const int64_t raw_from = s->o.raw_age_ms ? latest - s->o.raw_age_ms : INT64_MIN;

	for (size_t i = 0; i < se->nr_points; i++) {
		const struct series_point *p = &se->points[i];
		bool last = i + 1 == se->nr_points;
		int64_t until = p->t_ms + hold; /* put-back samples stay before this */
		int rc = push_in(ps, p->t_ms, p->v, mint, maxt);

		if (rc)
			return rc;
		/* An end (a staleness marker for the evaluator) holds nothing. */
		if (!hold || p->t_ms < raw_from || p->t_ms >= maxt || series_is_end(p->v))
			continue;
		if (maxt + 1 < until)
			until = maxt + 1;
		if (tk->n) {
			/* At the interval ends strictly between this point and the next. */
			if (!last && se->points[i + 1].t_ms < until)
				until = se->points[i + 1].t_ms;
			/* A new writer stores every series it reports at its first interval:
			 * what it did not report there is not held across the restart. */
			for (size_t k = tick_after(tk, p->t_ms);
			     k < tk->n && tk->t[k] < until && !tk->restart[k]; k++) {
				rc = push_in(ps, tk->t[k], p->v, mint, maxt);
				if (rc)
					return rc;
			}
			continue;
		}
		if (!last) {
			if (se->points[i + 1].t_ms - step / 2 < until)
				until = se->points[i + 1].t_ms - step / 2;
		} else if (latest + 1 < until) {
			until = latest + 1;
		}
		for (int64_t t = p->t_ms + step; t < until; t += step) {
			rc = push_in(ps, t, p->v, mint, maxt);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* The clock's points in [from, to] (none without a clock). 0 or -errno. */
static int load_ticks(const struct storesrc *s, int64_t from, int64_t to, struct ticks *tk)
{
	struct series_set set = { 0 };
	int rc;

	tk->t = NULL;
	tk->restart = NULL;
	tk->n = 0;
	if (!s->clock || !s->o.hold_ms)
		return 0;
	rc = s->st.ops->select(s->st.ctx, s->clock, NULL, 0, from, to, &set);
	if (rc)
		return rc;
	for (size_t i = 0; i < set.n; i++) {
		if (set.s[i].nr_labels || !set.s[i].nr_points)
			continue;
		tk->t = malloc(set.s[i].nr_points * sizeof(*tk->t));
		tk->restart = calloc(set.s[i].nr_points, sizeof(*tk->restart));
		if (!tk->t || !tk->restart) {
			free(tk->t);
			free(tk->restart);
			tk->t = NULL;
			tk->restart = NULL;
			rc = -ENOMEM;
			break;
		}
		for (size_t k = 0; k < set.s[i].nr_points; k++) {
			tk->t[k] = set.s[i].points[k].t_ms;
			/* the clock counts intervals: it never repeats or falls within one writer */
			tk->restart[k] = k && set.s[i].points[k].v <= set.s[i].points[k - 1].v;
		}
		tk->n = set.s[i].nr_points;
		break;
	}
	series_set__release(&set);
	return rc;
}

int64_t storesrc__first_tick(const struct storesrc *s, int64_t from, int64_t to)
{
	struct ticks tk;
	int64_t first = -1;

	if (load_ticks(s, from + 1, to, &tk))
		return -1;
	if (tk.n)
		first = tk.t[0];
	free(tk.t);
	free(tk.restart);
	return first;
}

static int select_fn(void *ctx, const struct label_matcher *m, size_t nm, int64_t mint,
		     int64_t maxt, struct pq_matrix *out)
{
	struct storesrc *s = ctx;
	struct series_matcher sm[32];
	struct series_set set = { 0 };
	const char *name = NULL;
	size_t nsm = 0;
	int64_t latest = storesrc__latest(s);
	struct ticks tk;
	int rc;

	/* Equality matchers narrow the store's scan; every matcher is applied here (RE2 regexes). */
	for (size_t i = 0; i < nm && nsm < sizeof(sm) / sizeof(sm[0]); i++) {
		if (m[i].type != MATCH_EQ && m[i].type != MATCH_NE)
			continue;
		if (m[i].type == MATCH_EQ && !strcmp(m[i].name, LABEL_METRIC_NAME)) {
			name = m[i].value;
			continue;
		}
		sm[nsm++] = (struct series_matcher){
			.name = m[i].name,
			.op = m[i].type == MATCH_EQ ? SERIES_EQ : SERIES_NE,
			.value = m[i].value,
		};
	}
	/* A point up to hold_ms before mint may be held into the window. */
	rc = load_ticks(s, mint - s->o.hold_ms, maxt, &tk);
	if (rc)
		return rc;
	/* The clock's newest interval is the writer's latest (the same transaction as its points). */
	if (tk.n && tk.t[tk.n - 1] > latest)
		latest = tk.t[tk.n - 1];
	rc = s->st.ops->select(s->st.ctx, name, sm, nsm, mint - s->o.hold_ms, maxt, &set);
	if (rc) {
		free(tk.t);
		free(tk.restart);
		return rc;
	}
	for (size_t i = 0; i < set.n && !rc; i++) {
		struct labels *ls = series_labels(&set.s[i]);
		struct pq_series *ps;

		if (!ls) {
			rc = -ENOMEM;
			break;
		}
		if (!labels__match(ls, m, nm)) {
			labels__unref(ls);
			continue;
		}
		ps = pq_matrix_add(out, ls);
		if (!ps) {
			labels__unref(ls);
			rc = -ENOMEM;
			break;
		}
		rc = fill(s, &set.s[i], mint, maxt, latest, &tk, ps);
		if (!rc && !ps->n) {
			/* Nothing in the window: drop the series again. */
			free(ps->p);
			labels__unref(ps->l);
			out->n--;
		}
	}
	series_set__release(&set);
	free(tk.t);
	free(tk.restart);
	return rc;
}

struct pq_source storesrc__source(struct storesrc *s)
{
	return (struct pq_source){ .select = select_fn, .ctx = s };
}
