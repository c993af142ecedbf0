// SPDX-License-Identifier: GPL-2.0
/*
 * anomalies: and capacity: items (watch.h): their config sections, and their evaluation each
 * interval (a detector per series of an anomaly item, a line fit per series of a capacity item).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/forecast.h"
#include "analytics/watch.h"

/* ---- config ---- */

struct cp {
	const struct ydoc *d;
	const char *path;
	char *err;
	size_t errlen;
};

static int fail(struct cp *p, ynode n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct cp *p, ynode n, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->path, n ? ynode_line(p->d, n) : 0, msg);
	return -EINVAL;
}

int watch_parse_sensitivity(const char *s, double *out)
{
	static const struct {
		const char *name;
		double v;
	} names[] = { { "low", 0.3 }, { "medium", 0.5 }, { "high", 0.7 } };
	char *end;
	double v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			*out = names[i].v;
			return 0;
		}
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1))
		return -EINVAL;
	*out = v;
	return 0;
}

double watch_threshold(double sensitivity)
{
	double t = 1 - sensitivity;

	return t < 0.05 ? 0.05 : t > 0.95 ? 0.95 : t;
}

static bool name_ok(const char *s)
{
	return *s && label_name_valid(s);
}

/* A mapping item's scalar field (NULL when absent); a non-scalar is an error. */
static int scalar(struct cp *p, ynode item, const char *key, const char *sect, size_t i,
		  const char **out)
{
	ynode v = ymap_get(p->d, item, key);

	*out = NULL;
	if (!v)
		return 0;
	if (ynode_kind(p->d, v) != Y_SCALAR)
		return fail(p, v, "%s[%zu].%s: want a single value", sect, i, key);
	*out = ynode_str(p->d, v);
	return 0;
}

static int check_item(struct cp *p, ynode item, const char *sect, size_t i,
		      const char *const *known)
{
	size_t first;
	long dup;

	if (ynode_kind(p->d, item) != Y_MAP)
		return fail(p, item, "%s[%zu]: want a mapping (name, expr, ...)", sect, i);
	dup = ymap_duplicate(p->d, item, &first);
	if (dup >= 0)
		return fail(p, ymap_key(p->d, item, (size_t)dup), "%s[%zu]: '%s' given twice", sect,
			    i, ynode_str(p->d, ymap_key(p->d, item, (size_t)dup)));
	for (size_t k = 0; k < ynode_len(p->d, item); k++) {
		ynode kn = ymap_key(p->d, item, k);
		const char *ks = ynode_str(p->d, kn);
		bool ok = false;

		for (const char *const *kk = known; *kk; kk++)
			ok |= !strcmp(*kk, ks);
		if (!ok)
			return fail(p, kn, "%s[%zu]: unknown key '%s'", sect, i, ks);
	}
	return 0;
}

/* name and expr, both required; the expression must parse and give an instant vector. */
static int name_expr(struct cp *p, ynode item, const char *sect, size_t i, char **name, char **text,
		     struct pq_expr **expr)
{
	const char *n, *e;
	struct pq_error pe = { 0 };
	int err;

	if ((err = scalar(p, item, "name", sect, i, &n)) ||
	    (err = scalar(p, item, "expr", sect, i, &e)))
		return err;
	if (!n || !name_ok(n))
		return fail(p, n ? ymap_get(p->d, item, "name") : item,
			    "%s[%zu]: %s (want a name like [a-zA-Z_][a-zA-Z0-9_]*)", sect, i,
			    n ? "bad name" : "no name");
	if (!e || !*e)
		return fail(p, item, "%s[%zu] '%s': no expr", sect, i, n);
	*expr = pq_parse(e, &pe);
	if (!*expr)
		return errno == ENOMEM ? -ENOMEM :
					 fail(p, ymap_get(p->d, item, "expr"),
					      "%s[%zu] '%s': bad expr: %s", sect, i, n, pe.msg);
	if (pq_expr__type(*expr) != PQ_VECTOR && pq_expr__type(*expr) != PQ_SCALAR) {
		const char *tn = pq_type_name(pq_expr__type(*expr));

		pq_expr__free(*expr);
		*expr = NULL;
		return fail(p, ymap_get(p->d, item, "expr"),
			    "%s[%zu] '%s': expr gives a %s (want an instant vector)", sect, i, n,
			    tn);
	}
	*name = strdup(n);
	*text = strdup(e);
	if (!*name || !*text) {
		pq_expr__free(*expr);
		*expr = NULL;
		free(*name);
		free(*text);
		*name = *text = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int section_ok(struct cp *p, ynode section, const char *sect)
{
	if (!section || ynode_tag(p->d, section) == YT_NULL)
		return 1; /* empty: nothing to add */
	if (ynode_kind(p->d, section) != Y_SEQ)
		return fail(p, section, "%s: want a list of items (- name: ...)", sect);
	return 0;
}

int anomalies_config_parse(const struct ydoc *d, ynode section, const char *path,
			   struct watch_config *out, char *err, size_t errlen)
{
	static const char *const known[] = { "name", "expr", "sensitivity", "detector", NULL };
	struct cp p = { d, path, err, errlen };
	int rc = section_ok(&p, section, "anomalies");

	if (rc)
		return rc > 0 ? 0 : rc;
	for (size_t i = 0; i < ynode_len(d, section); i++) {
		ynode item = yseq_item(d, section, i), det;
		struct watch_anomaly a = { .sensitivity = 0.5, .line = ynode_line(d, item) };
		struct watch_anomaly *na;
		const char *sens;

		if ((rc = check_item(&p, item, "anomalies", i, known)) ||
		    (rc = name_expr(&p, item, "anomalies", i, &a.name, &a.expr_text, &a.expr)))
			return rc;
		anomaly_opts_default(&a.opts);
		for (size_t k = 0; k < out->nan; k++)
			if (!strcmp(out->an[k].name, a.name))
				rc = fail(&p, item,
					  "anomalies[%zu]: name '%s' already used at line %d", i,
					  a.name, out->an[k].line);
		if (!rc && !(rc = scalar(&p, item, "sensitivity", "anomalies", i, &sens)) && sens &&
		    watch_parse_sensitivity(sens, &a.sensitivity))
			rc = fail(&p, ymap_get(d, item, "sensitivity"),
				  "anomalies[%zu] '%s': bad sensitivity '%s' (want 0..1 or low, "
				  "medium, high)",
				  i, a.name, sens);
		det = ymap_get(d, item, "detector");
		if (!rc && det && ynode_kind(d, det) != Y_MAP)
			rc = fail(&p, det, "anomalies[%zu] '%s': detector: want a mapping of knobs",
				  i, a.name);
		for (size_t k = 0; !rc && det && k < ynode_len(d, det); k++) {
			ynode kn = ymap_key(d, det, k), vn = ymap_value(d, det, k);

			if (ynode_kind(d, vn) != Y_SCALAR ||
			    anomaly_opts_set(&a.opts, ynode_str(d, kn), ynode_str(d, vn)))
				rc = fail(&p, kn,
					  "anomalies[%zu] '%s': bad detector knob %s: '%s' (see "
					  "anomaly.h's struct anomaly_opts)",
					  i, a.name, ynode_str(d, kn), ynode_str(d, vn));
		}
		a.threshold = watch_threshold(a.sensitivity);
		na = rc ? NULL : realloc(out->an, (out->nan + 1) * sizeof(*na));
		if (!na) {
			pq_expr__free(a.expr);
			free(a.name);
			free(a.expr_text);
			return rc ? rc : -ENOMEM;
		}
		out->an = na;
		out->an[out->nan++] = a;
	}
	return 0;
}

int capacity_config_parse(const struct ydoc *d, ynode section, const char *path,
			  struct watch_config *out, char *err, size_t errlen)
{
	static const char *const known[] = { "name", "expr", "limit", "window", NULL };
	struct cp p = { d, path, err, errlen };
	int rc = section_ok(&p, section, "capacity");

	if (rc)
		return rc > 0 ? 0 : rc;
	for (size_t i = 0; i < ynode_len(d, section); i++) {
		ynode item = yseq_item(d, section, i);
		struct watch_capacity c = { .window_ms = WATCH_DEFAULT_WINDOW_MS,
					    .line = ynode_line(d, item) };
		struct watch_capacity *nc;
		const char *lim, *win;
		char *end;

		if ((rc = check_item(&p, item, "capacity", i, known)) ||
		    (rc = name_expr(&p, item, "capacity", i, &c.name, &c.expr_text, &c.expr)))
			return rc;
		for (size_t k = 0; k < out->ncap; k++)
			if (!strcmp(out->cap[k].name, c.name))
				rc = fail(&p, item,
					  "capacity[%zu]: name '%s' already used at line %d", i,
					  c.name, out->cap[k].line);
		if (!rc && !(rc = scalar(&p, item, "limit", "capacity", i, &lim))) {
			errno = 0;
			c.limit = lim ? strtod(lim, &end) : NAN;
			if (!lim)
				rc = fail(&p, item, "capacity[%zu] '%s': no limit", i, c.name);
			else if (errno || end == lim || *end || !isfinite(c.limit))
				rc = fail(&p, ymap_get(d, item, "limit"),
					  "capacity[%zu] '%s': bad limit '%s' (want a number)", i,
					  c.name, lim);
		}
		if (!rc && !(rc = scalar(&p, item, "window", "capacity", i, &win)) && win &&
		    (pq_parse_duration(win, strlen(win), &c.window_ms) || c.window_ms < 3000))
			rc = fail(
				&p, ymap_get(d, item, "window"),
				"capacity[%zu] '%s': bad window '%s' (want a duration of at least "
				"3s, e.g. 30m)",
				i, c.name, win);
		nc = rc ? NULL : realloc(out->cap, (out->ncap + 1) * sizeof(*nc));
		if (!nc) {
			pq_expr__free(c.expr);
			free(c.name);
			free(c.expr_text);
			return rc ? rc : -ENOMEM;
		}
		out->cap = nc;
		out->cap[out->ncap++] = c;
	}
	return 0;
}

void watch_config_release(struct watch_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nan; i++) {
		free(c->an[i].name);
		free(c->an[i].expr_text);
		pq_expr__free(c->an[i].expr);
	}
	for (size_t i = 0; i < c->ncap; i++) {
		free(c->cap[i].name);
		free(c->cap[i].expr_text);
		pq_expr__free(c->cap[i].expr);
	}
	free(c->an);
	free(c->cap);
	*c = (struct watch_config){ 0 };
}

/* ---- evaluation ---- */

struct track {
	struct labels *labels; /* the series' labels without __name__ */
	struct anomaly_detector *det;
	long open; /* index into the events (as a sequence number), -1 when none is open */
	int64_t last_t;
};

struct item_state {
	struct track **tracks;
	size_t ntracks;
};

struct watcher {
	const struct watch_config *c;
	struct pq_source src;
	int64_t step_ms;
	struct item_state *items; /* one per anomaly item */
	struct watch_event ev[WATCH_MAX_EVENTS]; /* ring: oldest at ev_first */
	struct watch_event ev_lin[WATCH_MAX_EVENTS]; /* oldest-first view for watcher__events */
	size_t ev_first, nev;
	long ev_seq; /* events ever opened */
	struct watch_capacity_row *cap;
	size_t ncap;
	struct watch_stats st;
};

struct watcher *watcher__new(const struct watch_config *c, const struct pq_source *src,
			     int64_t step_ms)
{
	struct watcher *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->c = c;
	w->src = *src;
	w->step_ms = step_ms > 0 ? step_ms : 10000;
	w->items = calloc(c->nan + 1, sizeof(*w->items));
	if (!w->items) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	return w;
}

static void rows_release(struct watch_capacity_row *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		labels__unref(r[i].labels);
	free(r);
}

void watcher__free(struct watcher *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->c->nan; i++) {
		struct item_state *it = &w->items[i];

		for (size_t k = 0; k < it->ntracks; k++) {
			labels__unref(it->tracks[k]->labels);
			anomaly__free(it->tracks[k]->det);
			free(it->tracks[k]);
		}
		free(it->tracks);
	}
	free(w->items);
	for (size_t i = 0; i < w->nev; i++)
		labels__unref(w->ev[(w->ev_first + i) % WATCH_MAX_EVENTS].labels);
	rows_release(w->cap, w->ncap);
	free(w);
}

static void set_error(struct watcher *w, const char *item, const char *msg)
{
	w->st.errors++;
	snprintf(w->st.last_error, sizeof(w->st.last_error), "%s: %s", item, msg);
}

/* The track of labels l (without __name__) in item i, created on first sight; NULL when the item
 * has WATCH_MAX_SERIES already (counted) or out of memory (*nomem). */
static struct track *track_of(struct watcher *w, size_t i, struct labels *l, bool *nomem)
{
	struct item_state *it = &w->items[i];
	struct track *t, **nt;

	/* at most WATCH_MAX_SERIES: a scan by hash is as quick as an index */
	for (size_t k = 0; k < it->ntracks; k++)
		if (it->tracks[k]->labels->hash == l->hash &&
		    labels__equal(it->tracks[k]->labels, l))
			return it->tracks[k];
	if (it->ntracks >= WATCH_MAX_SERIES) {
		w->st.dropped++;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	nt = realloc(it->tracks, (it->ntracks + 1) * sizeof(*nt));
	if (nt)
		it->tracks = nt;
	if (!t || !nt || !(t->det = anomaly__new(&w->c->an[i].opts))) {
		free(t);
		*nomem = true;
		return NULL;
	}
	t->labels = labels__ref(l);
	t->open = -1;
	t->last_t = INT64_MIN;
	it->tracks[it->ntracks++] = t;
	return t;
}

static struct watch_event *event_by_seq(struct watcher *w, long seq)
{
	long oldest = w->ev_seq - (long)w->nev;

	if (seq < oldest || seq >= w->ev_seq)
		return NULL;
	return &w->ev[(w->ev_first + (size_t)(seq - oldest)) % WATCH_MAX_EVENTS];
}

static struct watch_event *event_open(struct watcher *w)
{
	struct watch_event *e;

	if (w->nev == WATCH_MAX_EVENTS) {
		labels__unref(w->ev[w->ev_first].labels);
		w->ev_first = (w->ev_first + 1) % WATCH_MAX_EVENTS;
		w->nev--;
	}
	e = &w->ev[(w->ev_first + w->nev) % WATCH_MAX_EVENTS];
	memset(e, 0, sizeof(*e));
	w->nev++;
	w->ev_seq++;
	return e;
}

/* One point of one series: score it, open, extend or resolve its anomaly. */
static void feed(struct watcher *w, size_t i, struct track *t, int64_t t_ms, double v,
		 struct anomaly_point *pt)
{
	const struct watch_anomaly *a = &w->c->an[i];
	struct watch_event *e = t->open >= 0 ? event_by_seq(w, t->open) : NULL;
	double score;

	if (t_ms <= t->last_t || !isfinite(v)) {
		pt->score = NAN;
		return;
	}
	t->last_t = t_ms;
	score = anomaly__update(t->det, (double)t_ms / 1000.0, v, pt);
	if (score < 0) {
		pt->score = NAN;
		return;
	}
	w->st.points++;
	if (!e && t->open >= 0)
		t->open = -1; /* dropped from the ring */
	if (score >= a->threshold) {
		if (!e) {
			e = event_open(w);
			e->anomaly = a->name;
			e->labels = labels__ref(t->labels);
			e->started_ms = t_ms;
			t->open = w->ev_seq - 1;
		}
		if (score > e->score || !e->score) {
			e->score = score;
			e->value = v;
			e->expected = pt->expected;
			e->deviation = pt->deviation;
			e->method = pt->method;
			e->critical = score >= (1 + a->threshold) / 2;
		}
		e->t_ms = t_ms;
		return;
	}
	if (!e)
		return;
	if (fabs(pt->deviation) >= 3) {
		e->t_ms = t_ms; /* still off its expectation */
		return;
	}
	e->resolved_ms = t_ms;
	t->open = -1;
}

static int emit_point(watch_emit_fn emit, void *arg, const char *metric, const char *key,
		      const char *name, const struct labels *l, int64_t t_ms, double v)
{
	struct labels_builder b;
	struct labels *out;
	int rc;

	if (!emit)
		return 0;
	if (labels_builder__init(&b, l) || labels_builder__set(&b, key, name) ||
	    labels_builder__set(&b, LABEL_METRIC_NAME, metric)) {
		labels_builder__release(&b);
		return -ENOMEM;
	}
	out = labels_builder__finish(&b);
	labels_builder__release(&b);
	if (!out)
		return -ENOMEM;
	rc = emit(arg, metric, out, t_ms, v);
	labels__unref(out);
	return rc;
}

static int anomaly_eval(struct watcher *w, size_t i, int64_t t_ms, watch_emit_fn emit, void *arg)
{
	const struct watch_anomaly *a = &w->c->an[i];
	struct pq_result r = { 0 };
	struct pq_error pe = { 0 };
	bool nomem = false;
	size_t n;
	int rc;

	w->st.evaluations++;
	rc = pq_eval_instant(a->expr, &w->src, t_ms, NULL, &r, &pe);
	if (rc) {
		if (rc == -ENOMEM)
			return rc;
		set_error(w, a->name, rc == -EINVAL ? pe.msg : strerror(-rc));
		return 0;
	}
	/* a vector's series, or a scalar as one series without labels */
	n = r.type == PQ_VECTOR ? r.vec.n : r.type == PQ_SCALAR ? 1 : 0;
	for (size_t k = 0; k < n && !nomem && !rc; k++) {
		struct labels *l =
			r.type == PQ_VECTOR ? labels__drop_name(r.vec.s[k].l) : labels__empty();
		double v = r.type == PQ_VECTOR ? r.vec.s[k].v : r.scalar;
		struct anomaly_point pt = { 0 };
		struct track *t;

		if (!l)
			return -ENOMEM;
		t = track_of(w, i, l, &nomem);
		if (t) {
			feed(w, i, t, t_ms, v, &pt);
			if (isfinite(pt.score)) {
				rc = emit_point(emit, arg, "vigil_anomaly_score", "anomaly",
						a->name, l, t_ms, pt.score);
				if (!rc && isfinite(pt.expected))
					rc = emit_point(emit, arg, "vigil_anomaly_expected",
							"anomaly", a->name, l, t_ms, pt.expected);
			}
		}
		labels__unref(l);
	}
	pq_result_release(&r);
	return nomem ? -ENOMEM : rc;
}

int watcher__replay(struct watcher *w, int64_t from_ms, int64_t to_ms)
{
	if (to_ms < from_ms)
		return 0;
	/* Ranges of at most PQ_MAX_POINTS steps, oldest first. */
	for (size_t i = 0; i < w->c->nan; i++) {
		const struct watch_anomaly *a = &w->c->an[i];

		for (int64_t s = from_ms; s <= to_ms; s += w->step_ms * PQ_MAX_POINTS) {
			int64_t e = s + w->step_ms * (PQ_MAX_POINTS - 1);
			struct pq_result r = { 0 };
			struct pq_error pe = { 0 };
			bool nomem = false;
			int rc;

			if (e > to_ms)
				e = to_ms;
			rc = pq_eval_range(a->expr, &w->src, s, e, w->step_ms, NULL, &r, &pe);
			if (rc == -ENOMEM)
				return rc;
			if (rc) {
				set_error(w, a->name, rc == -EINVAL ? pe.msg : strerror(-rc));
				break;
			}
			/* Points of all series in time order, so the events come in order too. */
			for (int64_t t = s; t <= e && !nomem; t += w->step_ms)
				for (size_t k = 0; k < r.mat.n && !nomem; k++) {
					struct pq_series *se = &r.mat.s[k];
					size_t at = pq_points_lower_bound(se->p, se->n, t);
					struct anomaly_point pt;
					struct labels *l;
					struct track *tr;

					if (at == se->n || se->p[at].t != t)
						continue;
					l = labels__drop_name(se->l);
					if (!l) {
						nomem = true;
						break;
					}
					tr = track_of(w, i, l, &nomem);
					if (tr)
						feed(w, i, tr, t, se->p[at].v, &pt);
					labels__unref(l);
				}
			pq_result_release(&r);
			if (nomem)
				return -ENOMEM;
		}
	}
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct watch_capacity_row *x = a, *y = b;
	int c = strcmp(x->capacity, y->capacity);

	return c ? (c < 0 ? -1 : 1) : labels__cmp(x->labels, y->labels);
}

static int capacity_eval(struct watcher *w, size_t i, int64_t t_ms, watch_emit_fn emit, void *arg,
			 struct watch_capacity_row **rows, size_t *nrows)
{
	const struct watch_capacity *c = &w->c->cap[i];
	struct pq_result r = { 0 };
	struct pq_error pe = { 0 };
	int64_t from = t_ms - c->window_ms;
	int rc;

	/* align to the step so successive fits see the same sample times */
	from -= ((from % w->step_ms) + w->step_ms) % w->step_ms;
	w->st.evaluations++;
	rc = pq_eval_range(c->expr, &w->src, from, t_ms, w->step_ms, NULL, &r, &pe);
	if (rc) {
		if (rc == -ENOMEM)
			return rc;
		set_error(w, c->name, rc == -EINVAL ? pe.msg : strerror(-rc));
		return 0;
	}
	for (size_t k = 0; k < r.mat.n && !rc; k++) {
		struct pq_series *se = &r.mat.s[k];
		double *ts = malloc((se->n + 1) * sizeof(*ts)),
		       *vs = malloc((se->n + 1) * sizeof(*vs));
		struct capacity_estimate ce;
		struct watch_capacity_row *nr, *row;
		struct labels *l;

		if (!ts || !vs) {
			free(ts);
			free(vs);
			rc = -ENOMEM;
			break;
		}
		for (size_t p = 0; p < se->n; p++) {
			ts[p] = (double)se->p[p].t / 1000.0;
			vs[p] = se->p[p].v;
		}
		if (capacity_estimate(ts, vs, se->n, c->limit, &ce)) {
			free(ts);
			free(vs);
			continue; /* fewer than 3 points yet */
		}
		free(ts);
		free(vs);
		l = labels__drop_name(se->l);
		nr = l ? realloc(*rows, (*nrows + 1) * sizeof(*nr)) : NULL;
		if (!nr) {
			labels__unref(l);
			rc = -ENOMEM;
			break;
		}
		*rows = nr;
		row = &nr[(*nrows)++];
		*row = (struct watch_capacity_row){
			.capacity = c->name,
			.labels = l,
			.limit = c->limit,
			.window_ms = c->window_ms,
			.points = se->n,
			.now = ce.now,
			.value = ce.value,
			.rate = ce.rate,
			.rate_lo = ce.rate_lo,
			.rate_hi = ce.rate_hi,
			.seconds_to_limit = ce.seconds_to_limit,
			.lower = ce.lower,
			.upper = ce.upper,
		};
		rc = emit_point(emit, arg, "vigil_capacity_seconds_to_limit", "capacity", c->name,
				l, t_ms, ce.seconds_to_limit);
	}
	pq_result_release(&r);
	return rc;
}

int watcher__eval(struct watcher *w, int64_t t_ms, watch_emit_fn emit, void *arg)
{
	struct watch_capacity_row *rows = NULL;
	size_t nrows = 0;
	int rc = 0;

	for (size_t i = 0; i < w->c->nan && !rc; i++)
		rc = anomaly_eval(w, i, t_ms, emit, arg);
	for (size_t i = 0; i < w->c->ncap && !rc; i++)
		rc = capacity_eval(w, i, t_ms, emit, arg, &rows, &nrows);
	if (rc) {
		rows_release(rows, nrows);
		return rc;
	}
	if (nrows > 1)
		qsort(rows, nrows, sizeof(*rows), cmp_row);
	rows_release(w->cap, w->ncap);
	w->cap = rows;
	w->ncap = nrows;
	return 0;
}

const struct watch_event *watcher__events(struct watcher *w, size_t *n)
{
	for (size_t i = 0; i < w->nev; i++)
		w->ev_lin[i] = w->ev[(w->ev_first + i) % WATCH_MAX_EVENTS];
	*n = w->nev;
	return w->ev_lin;
}

const struct watch_capacity_row *watcher__capacity(const struct watcher *w, size_t *n)
{
	*n = w->ncap;
	return w->cap;
}

const struct watch_stats *watcher__stats(const struct watcher *w)
{
	return &w->st;
}
