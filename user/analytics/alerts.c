// SPDX-License-Identifier: GPL-2.0
/*
 * The rule engine (alerts.h): groups, their evaluation and the alert state machine, after
 * Prometheus 2.42's rules/manager.go, rules/alerting.go and rules/recording.go. Silences,
 * inhibition and ack are in alerts_mute.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/alerts_int.h"

uint64_t alert_fingerprint(const struct labels *l)
{
	uint64_t h = 14695981039346656037ULL;

	/* model.LabelSet.Fingerprint: names sorted (a labels set is), 0xff after each string */
	for (uint32_t i = 0; l && i < l->n; i++) {
		for (int k = 0; k < 2; k++) {
			const unsigned char *p =
				(const unsigned char *)(k ? l->l[i].value : l->l[i].name);

			for (; *p; p++) {
				h ^= *p;
				h *= 1099511628211ULL;
			}
			h ^= 0xff;
			h *= 1099511628211ULL;
		}
	}
	return h;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- construction ---- */

struct alerts *alerts__new(const struct alerts_opts *o)
{
	struct alerts *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->o = *o;
	if (!a->o.interval_ms)
		a->o.interval_ms = ALERTS_DEFAULT_INTERVAL_MS;
	a->ext = o->external_labels ? labels__ref((struct labels *)o->external_labels) :
				      labels__empty();
	a->ext_url = strdup(o->external_url ? o->external_url : "");
	if (!a->ext || !a->ext_url) {
		alerts__free(a);
		errno = ENOMEM;
		return NULL;
	}
	a->o.external_labels = a->ext;
	a->o.external_url = a->ext_url;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->eval_lock, NULL);
	pthread_mutex_init(&a->notify_lock, NULL);
	return a;
}

void alert_free(struct alert *al)
{
	if (!al)
		return;
	labels__unref((struct labels *)al->n.labels);
	labels__unref((struct labels *)al->n.annotations);
	labels__unref(al->link_ann);
	free(al->link_url);
	free(al);
}

static void series_set_release(struct lset *s)
{
	for (size_t i = 0; i < s->n; i++)
		labels__unref(s->l[i]);
	free(s->l);
	s->l = NULL;
	s->n = s->cap = 0;
}

static void rule_state_release(struct alerts *a, struct arule *r)
{
	alerts_link_release(a, r);
	for (size_t i = 0; i < r->nal; i++)
		alert_free(r->al[i]);
	free(r->al);
	free(r->last_error);
	free(r->gen_url);
	series_set_release(&r->prev);
}

static void group_free(struct alerts *a, struct agroup *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nrules; i++)
		rule_state_release(a, &g->rules[i]);
	free(g->rules);
	free(g);
}

static void origin_free(struct alerts *a, struct origin *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->ngroups; i++)
		group_free(a, o->groups[i]);
	free(o->groups);
	rule_file_release(&o->f);
	free(o->name);
	free(o);
}

void alerts__free(struct alerts *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->norigins; i++)
		origin_free(a, a->origins[i]);
	free(a->origins);
	for (size_t i = 0; i < a->nsil; i++)
		silence_entry_free(a->sil[i]);
	free(a->sil);
	for (size_t i = 0; i < a->ninhibit; i++)
		inhibit_rule_release(&a->inhibit[i]);
	free(a->inhibit);
	labels__unref(a->ext);
	free(a->ext_url);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->eval_lock);
	pthread_mutex_destroy(&a->notify_lock);
	free(a);
}

int alerts__add_sink(struct alerts *a, alert_sink_fn fn, void *arg)
{
	int err = 0;

	pthread_mutex_lock(&a->lock);
	if (a->nsinks == ALERTS_MAX_SINKS)
		err = -ENOSPC;
	else
		a->sinks[a->nsinks++] = (struct sink){ fn, arg };
	pthread_mutex_unlock(&a->lock);
	return err;
}

/* ---- origins and groups ---- */

static char *url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		/* Go's url.QueryEscape */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			*p++ = (char)c;
		} else if (c == ' ') {
			*p++ = '+';
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}

static bool kv_equal(const struct rule_kv *a, size_t na, const struct rule_kv *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) || strcmp(a[i].value, b[i].value))
			return false;
	return true;
}

/* Whether the state of old rule o carries over to the new rule n. */
static bool same_rule(const struct rule *o, const struct rule *n)
{
	return o->kind == n->kind && !strcmp(o->name, n->name) &&
	       !strcmp(o->expr_text, n->expr_text) &&
	       kv_equal(o->labels, o->nlabels, n->labels, n->nlabels);
}

static struct agroup *group_new(struct alerts *a, struct origin *o, struct rule_group *rg)
{
	struct agroup *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->g = rg;
	g->origin = o->name;
	g->interval_ms = rg->interval_ms ? rg->interval_ms : a->o.interval_ms;
	g->rules = calloc(rg->nrules ? rg->nrules : 1, sizeof(*g->rules));
	if (!g->rules) {
		free(g);
		return NULL;
	}
	g->nrules = rg->nrules;
	for (size_t i = 0; i < rg->nrules; i++) {
		struct arule *r = &g->rules[i];
		char *q = url_escape(rg->rules[i].expr_text);
		size_t len = strlen(a->ext_url) + (q ? strlen(q) : 0) + 32;

		r->r = &rg->rules[i];
		r->health = "unknown";
		r->gen_url = q ? malloc(len) : NULL;
		if (!r->gen_url) {
			free(q);
			group_free(a, g);
			return NULL;
		}
		/* Prometheus' generatorURL: the expression in its graph page */
		snprintf(r->gen_url, len, "%s/graph?g0.expr=%s&g0.tab=1", a->ext_url, q);
		free(q);
	}
	return g;
}

/* Moves the state of the old group's matching rules into g. */
static void carry_state(struct agroup *g, struct agroup *old)
{
	g->next_due = old->next_due;
	g->last_eval_ms = old->last_eval_ms;
	g->eval_seconds = old->eval_seconds;
	g->evaluated = old->evaluated;
	for (size_t i = 0; i < g->nrules; i++) {
		for (size_t k = 0; k < old->nrules; k++) {
			struct arule *n = &g->rules[i], *o = &old->rules[k];

			if (o->moved || !same_rule(o->r, n->r))
				continue;
			n->al = o->al;
			n->nal = o->nal;
			n->cap = o->cap;
			n->prev = o->prev;
			n->health = o->health;
			n->last_error = o->last_error;
			n->last_eval_ms = o->last_eval_ms;
			n->eval_seconds = o->eval_seconds;
			o->al = NULL;
			o->nal = o->cap = 0;
			o->prev = (struct lset){ 0 };
			o->last_error = NULL;
			o->moved = true;
			break;
		}
	}
}

struct origin *alerts_find_origin(struct alerts *a, const char *name, size_t *idx)
{
	for (size_t i = 0; i < a->norigins; i++)
		if (!strcmp(a->origins[i]->name, name)) {
			if (idx)
				*idx = i;
			return a->origins[i];
		}
	return NULL;
}

int alerts__add_file(struct alerts *a, const char *origin, struct rule_file *f)
{
	struct origin *o = calloc(1, sizeof(*o)), *old;
	size_t idx = 0;
	int err = -ENOMEM;

	if (!o)
		goto fail;
	o->name = strdup(origin);
	o->f = *f;
	memset(f, 0, sizeof(*f));
	o->groups = calloc(o->f.ngroups ? o->f.ngroups : 1, sizeof(*o->groups));
	if (!o->name || !o->groups)
		goto fail;
	for (size_t i = 0; i < o->f.ngroups; i++) {
		o->groups[i] = group_new(a, o, &o->f.groups[i]);
		if (!o->groups[i])
			goto fail;
		o->ngroups++;
	}
	pthread_mutex_lock(&a->eval_lock);
	pthread_mutex_lock(&a->lock);
	old = alerts_find_origin(a, origin, &idx);
	if (old) {
		for (size_t i = 0; i < o->ngroups; i++)
			for (size_t k = 0; k < old->ngroups; k++)
				if (!strcmp(o->groups[i]->g->name, old->groups[k]->g->name))
					carry_state(o->groups[i], old->groups[k]);
	}
	err = 0;
	if (!o->ngroups) {
		if (old) {
			memmove(&a->origins[idx], &a->origins[idx + 1],
				(a->norigins - idx - 1) * sizeof(*a->origins));
			a->norigins--;
		}
		origin_free(a, o);
		o = NULL;
	} else if (old) {
		a->origins[idx] = o;
	} else {
		struct origin **no = realloc(a->origins, (a->norigins + 1) * sizeof(*no));

		if (no) {
			a->origins = no;
			a->origins[a->norigins++] = o;
		} else {
			err = -ENOMEM;
		}
	}
	a->state_dirty = true;
	a->rules_gen++;
	pthread_mutex_unlock(&a->lock);
	if (!err && (o || old))
		origin_free(a, old == o ? NULL : old);
	pthread_mutex_unlock(&a->eval_lock);
	if (!err)
		return 0;
fail:
	origin_free(a, o);
	return err;
}

int alerts__add_rules_text(struct alerts *a, const char *origin, const char *yaml, size_t len,
			   char *err, size_t errlen)
{
	struct rule_file f;
	struct rule_diags d;
	int rc = rulefile_parse(yaml, len, origin, &f, &d);

	if (rc) {
		const struct rule_diag *first = NULL;

		for (size_t i = 0; i < d.n && !first; i++)
			if (!d.d[i].warning)
				first = &d.d[i];
		if (rc == -ENOMEM)
			snprintf(err, errlen, "%s: out of memory", origin);
		else if (first && first->line)
			snprintf(err, errlen, "%s:%d: %s", origin, first->line, first->msg);
		else
			snprintf(err, errlen, "%s: %s", origin, first ? first->msg : "invalid");
		rule_diags_release(&d);
		return rc;
	}
	rule_diags_release(&d);
	rc = alerts__add_file(a, origin, &f);
	rule_file_release(&f);
	if (rc)
		snprintf(err, errlen, "%s: out of memory", origin);
	return rc;
}

bool alerts__remove_origin(struct alerts *a, const char *origin)
{
	struct rule_file empty = { 0 };
	bool had;

	pthread_mutex_lock(&a->lock);
	had = alerts_find_origin(a, origin, NULL) != NULL;
	pthread_mutex_unlock(&a->lock);
	if (had)
		alerts__add_file(a, origin, &empty);
	return had;
}

int64_t alerts__min_interval(const struct alerts *a)
{
	int64_t m = 0;

	pthread_mutex_lock((pthread_mutex_t *)&a->lock);
	for (size_t i = 0; i < a->norigins; i++)
		for (size_t k = 0; k < a->origins[i]->ngroups; k++) {
			int64_t iv = a->origins[i]->groups[k]->interval_ms;

			if (!m || iv < m)
				m = iv;
		}
	pthread_mutex_unlock((pthread_mutex_t *)&a->lock);
	return m ? m : a->o.interval_ms;
}

/* ---- evaluation ---- */

static int lset_add(struct lset *s, struct labels *l)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct labels **nl = realloc(s->l, cap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		s->l = nl;
		s->cap = cap;
	}
	s->l[s->n++] = labels__ref(l);
	return 0;
}

static int cmp_labels_p(const void *a, const void *b)
{
	return labels__cmp(*(struct labels *const *)a, *(struct labels *const *)b);
}

static bool lset_has(const struct lset *s, const struct labels *l)
{
	/* s sorted */
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = labels__cmp(s->l[mid], l);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* A sample the rule produced: queued, appended after the lock is released. */
struct outq {
	struct labels **l;
	double *v;
	size_t n, cap;
};

static int outq_push(struct outq *q, struct labels *l, double v)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 16;
		struct labels **nl = realloc(q->l, cap * sizeof(*nl));
		double *nv;

		if (!nl)
			return -ENOMEM;
		q->l = nl;
		nv = realloc(q->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		q->v = nv;
		q->cap = cap;
	}
	q->l[q->n] = l; /* the reference moves in */
	q->v[q->n++] = v;
	return 0;
}

static void outq_release(struct outq *q)
{
	for (size_t i = 0; i < q->n; i++)
		labels__unref(q->l[i]);
	free(q->l);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

/* The rule's result as a vector (a scalar is one sample with no labels). */
static int eval_expr(struct alerts *a, const struct rule *r, int64_t ts, struct pq_vector *vec,
		     char *err, size_t errlen)
{
	struct pq_opts po = { .lookback_ms = a->o.lookback_ms };
	struct pq_result res;
	struct pq_error pe = { 0 };
	int rc = pq_eval_instant(r->expr, &a->o.src, ts, &po, &res, &pe);

	memset(vec, 0, sizeof(*vec));
	if (rc) {
		snprintf(err, errlen, "%s", pe.msg[0] ? pe.msg : strerror(-rc));
		return rc;
	}
	if (res.type == PQ_VECTOR) {
		*vec = res.vec;
		memset(&res.vec, 0, sizeof(res.vec));
	} else if (res.type == PQ_SCALAR) {
		struct labels *e = labels__empty();

		rc = e ? pq_vector_push(vec, e, ts, res.scalar) : -ENOMEM;
		if (rc)
			labels__unref(e);
	} else {
		snprintf(err, errlen, "rule result is not a vector or scalar");
		rc = -EINVAL;
	}
	pq_result_release(&res);
	return rc;
}

/* The sample's labels renamed and with the rule's labels: a recording rule's output. */
static struct labels *record_labels(const struct rule *r, const struct labels *in)
{
	struct labels_builder b;
	struct labels *out = NULL;

	if (labels_builder__init(&b, in))
		return NULL;
	if (!labels_builder__set(&b, LABEL_METRIC_NAME, r->name)) {
		size_t i;

		for (i = 0; i < r->nlabels; i++)
			if (labels_builder__set(&b, r->labels[i].name, r->labels[i].value))
				break;
		if (i == r->nlabels)
			out = labels_builder__finish(&b);
	}
	labels_builder__release(&b);
	return out;
}

static int eval_recording(struct alerts *a, struct agroup *g, struct arule *ar, int64_t ts,
			  struct outq *q, char *err, size_t errlen)
{
	const struct rule *r = ar->r;
	struct pq_vector vec;
	struct lset now = { 0 };
	int rc = eval_expr(a, r, ts, &vec, err, errlen);

	if (rc)
		return rc;
	for (size_t i = 0; i < vec.n && !rc; i++) {
		struct labels *l = record_labels(r, vec.s[i].l);

		if (!l) {
			rc = -ENOMEM;
			break;
		}
		rc = lset_add(&now, l);
		if (!rc)
			rc = outq_push(q, l, vec.s[i].v);
		else
			labels__unref(l);
	}
	if (!rc && now.n > 1) {
		qsort(now.l, now.n, sizeof(*now.l), cmp_labels_p);
		for (size_t i = 1; i < now.n; i++)
			if (labels__equal(now.l[i - 1], now.l[i])) {
				snprintf(err, errlen,
					 "vector contains metrics with the same labelset after "
					 "applying rule labels");
				rc = -EINVAL;
				break;
			}
	}
	if (!rc && g->g->limit > 0 && (long long)vec.n > g->g->limit) {
		snprintf(err, errlen, "exceeded limit %lld with %zu series", g->g->limit, vec.n);
		rc = -EINVAL;
	}
	pq_vector_release(&vec);
	if (rc) {
		series_set_release(&now);
		outq_release(q);
		return rc;
	}
	/* Series the previous evaluation had and this one has not: staleness markers. */
	for (size_t i = 0; i < ar->prev.n && !rc; i++)
		if (!lset_has(&now, ar->prev.l[i]))
			rc = outq_push(q, labels__ref(ar->prev.l[i]), pq_stale_nan());
	series_set_release(&ar->prev);
	ar->prev = now;
	return rc;
}

/* A rule's alerts are kept sorted by fingerprint. */
static size_t alert_pos(const struct arule *ar, uint64_t fp)
{
	size_t lo = 0, hi = ar->nal;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ar->al[mid]->n.fingerprint < fp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct alert *alert_find(struct arule *ar, uint64_t fp, size_t *idx)
{
	size_t i = alert_pos(ar, fp);

	if (i == ar->nal || ar->al[i]->n.fingerprint != fp)
		return NULL;
	if (idx)
		*idx = i;
	return ar->al[i];
}

int alert_add(struct arule *ar, struct alert *al)
{
	size_t i;

	if (ar->nal == ar->cap) {
		size_t cap = ar->cap ? 2 * ar->cap : 4;
		struct alert **n = realloc(ar->al, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ar->al = n;
		ar->cap = cap;
	}
	i = alert_pos(ar, al->n.fingerprint);
	memmove(&ar->al[i + 1], &ar->al[i], (ar->nal - i) * sizeof(*ar->al));
	ar->al[i] = al;
	ar->nal++;
	return 0;
}

static void drop_alert(struct arule *ar, size_t i)
{
	alert_free(ar->al[i]);
	memmove(&ar->al[i], &ar->al[i + 1], (ar->nal - i - 1) * sizeof(*ar->al));
	ar->nal--;
}

static char *expand(const struct rule_kv *kv, const struct tmpl_data *td)
{
	return kv->t ? tmpl_expand(kv->t, td) : strdup(kv->value);
}

/* The alert for one sample: labels and annotations expanded. NULL on ENOMEM. */
static struct alert *alert_for(struct alerts *a, const struct rule *r, const struct pq_sample *smp,
			       int64_t ts)
{
	struct tmpl_data td = { .value = smp->v,
				.labels = smp->l,
				.external_labels = a->ext,
				.external_url = a->ext_url };
	struct alert *al = calloc(1, sizeof(*al));
	struct labels_builder b = { 0 };
	char **lv = calloc(r->nlabels + r->nannotations + 1, sizeof(*lv));
	struct label *an = calloc(r->nannotations + 1, sizeof(*an));
	bool ok = al && lv && an && !labels_builder__init(&b, smp->l);

	if (ok) {
		labels_builder__del(&b, LABEL_METRIC_NAME);
		for (size_t i = 0; i < r->nlabels && ok; i++) {
			lv[i] = expand(&r->labels[i], &td);
			ok = lv[i] && !labels_builder__set(&b, r->labels[i].name, lv[i]);
		}
		ok = ok && !labels_builder__set(&b, "alertname", r->name);
		if (ok)
			ok = (al->n.labels = labels_builder__finish(&b)) != NULL;
		for (size_t i = 0; i < r->nannotations && ok; i++) {
			char **v = &lv[r->nlabels + i];

			*v = expand(&r->annotations[i], &td);
			ok = *v != NULL;
			an[i] = (struct label){ r->annotations[i].name, *v };
		}
		if (ok)
			ok = (al->n.annotations = labels__new(an, r->nannotations)) != NULL;
	}
	labels_builder__release(&b);
	for (size_t i = 0; lv && i < r->nlabels + r->nannotations; i++)
		free(lv[i]);
	free(lv);
	free(an);
	if (!ok) {
		alert_free(al);
		return NULL;
	}
	al->n.value = smp->v;
	al->n.active_at_ms = ts;
	al->n.state = ALERT_PENDING;
	al->n.fingerprint = alert_fingerprint(al->n.labels);
	return al;
}

static struct labels *alerts_series(const struct alert *al, const char *state)
{
	struct labels_builder b;
	struct labels *out = NULL;

	if (labels_builder__init(&b, al->n.labels))
		return NULL;
	if (!labels_builder__set(&b, LABEL_METRIC_NAME, state ? "ALERTS" : "ALERTS_FOR_STATE") &&
	    (!state || !labels_builder__set(&b, "alertstate", state)))
		out = labels_builder__finish(&b);
	labels_builder__release(&b);
	return out;
}

/*
 * Time since an alert's activeAt / keepFiringSince as on Prometheus' exact evaluation grid, where
 * `for: 3s` at 1 s fires at the third evaluation after the alert was first seen and
 * keep_firing_for: 4s holds for four: here evaluations follow the collection interval's ends, a
 * few milliseconds off the grid, and 2,999 ms must count as 3 s. A time within a quarter interval
 * of a whole number of intervals counts as that; others (a group interval that is no multiple of
 * the collection interval, evaluated at the nearest ends) as they are.
 */
static int64_t grid_elapsed(const struct agroup *g, int64_t d)
{
	int64_t iv = g->interval_ms, k, off;

	if (iv <= 0 || d <= 0)
		return d;
	k = (d + iv / 2) / iv;
	off = d - k * iv;
	return off <= iv / 4 && off >= -iv / 4 ? k * iv : d;
}

static int cmp_fp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * AlertingRule.Eval: the vector is computed (without the state lock), then merged into the
 * active alerts (with it). On an error the state stays as it was.
 */
static int eval_alerting(struct alerts *a, struct agroup *g, struct arule *ar, int64_t ts,
			 struct outq *q, char *err, size_t errlen)
{
	const struct rule *r = ar->r;
	struct pq_vector vec;
	struct alert **fresh = NULL;
	uint64_t *fps = NULL, *sorted = NULL;
	size_t nfresh = 0;
	long long active = 0;
	int rc = eval_expr(a, r, ts, &vec, err, errlen);

	if (rc)
		return rc;
	fresh = calloc(vec.n + 1, sizeof(*fresh));
	fps = calloc(vec.n + 1, sizeof(*fps));
	if (!fresh || !fps)
		rc = -ENOMEM;
	for (size_t i = 0; i < vec.n && !rc; i++) {
		fresh[i] = alert_for(a, r, &vec.s[i], ts);
		if (!fresh[i]) {
			rc = -ENOMEM;
			break;
		}
		fps[i] = fresh[i]->n.fingerprint;
		nfresh++;
	}
	pq_vector_release(&vec);
	if (!rc && nfresh) {
		sorted = malloc(nfresh * sizeof(*sorted));
		if (!sorted) {
			rc = -ENOMEM;
		} else {
			memcpy(sorted, fps, nfresh * sizeof(*sorted));
			qsort(sorted, nfresh, sizeof(*sorted), cmp_fp);
			for (size_t i = 1; i < nfresh; i++)
				if (sorted[i] == sorted[i - 1]) {
					snprintf(err, errlen,
						 "vector contains metrics with the same labelset "
						 "after applying alert labels");
					rc = -EINVAL;
					break;
				}
		}
	}
	pthread_mutex_lock(&a->lock);
	/* New alerts join; ones already pending or firing take the new value and annotations. */
	for (size_t i = 0; i < nfresh && !rc; i++) {
		size_t k;
		struct alert *ex = alert_find(ar, fps[i], &k);

		if (ex && ex->n.state != ALERT_INACTIVE && ex->n.state != ALERT_RESOLVED) {
			struct labels *an = (struct labels *)fresh[i]->n.annotations;

			/* the link's annotations stay (alerts_link_round adds them once) */
			if (ex->link_ann) {
				struct labels *m = alert_annotations_merge(an, ex->link_ann);

				if (m) {
					labels__unref(an);
					an = m;
				}
			}
			labels__unref((struct labels *)ex->n.annotations);
			ex->n.annotations = an;
			fresh[i]->n.annotations = NULL;
			ex->n.value = fresh[i]->n.value;
			alert_free(fresh[i]);
		} else {
			if (ex)
				drop_alert(ar, k);
			rc = alert_add(ar, fresh[i]);
			if (rc)
				break;
			a->state_dirty = true;
		}
		fresh[i] = NULL;
	}
	for (size_t i = 0; i < ar->nal && !rc;) {
		struct alert *al = ar->al[i];
		bool in = nfresh &&
			  bsearch(&al->n.fingerprint, sorted, nfresh, sizeof(*sorted), cmp_fp);
		bool keep = false;

		if (!in) {
			if (al->n.state == ALERT_FIRING && r->keep_firing_for_ms > 0) {
				if (!al->keep_firing_since_ms)
					al->keep_firing_since_ms = ts;
				if (grid_elapsed(g, ts - al->keep_firing_since_ms) <
				    r->keep_firing_for_ms)
					keep = true;
			}
			if (al->n.state == ALERT_PENDING ||
			    (al->resolved_at_ms &&
			     ts - al->resolved_at_ms > ALERTS_RESOLVED_RETENTION_MS)) {
				drop_alert(ar, i);
				a->state_dirty = true;
				continue;
			}
			if (al->n.state != ALERT_RESOLVED && !keep) {
				al->n.state = ALERT_RESOLVED;
				al->resolved_at_ms = ts;
				al->n.acked = false;
				a->state_dirty = true;
			}
			if (!keep) {
				i++;
				continue;
			}
		} else {
			al->keep_firing_since_ms = 0;
		}
		active++;
		if (al->n.state == ALERT_PENDING &&
		    grid_elapsed(g, ts - al->n.active_at_ms) >= r->for_ms) {
			al->n.state = ALERT_FIRING;
			al->fired_at_ms = ts;
			a->state_dirty = true;
		}
		al->last_eval_ms = ts;
		if (g->evaluated) {
			struct labels *s1 = alerts_series(al, alert_state_name(al->n.state));
			struct labels *s2 = alerts_series(al, NULL);

			if (!s1 || !s2 || outq_push(q, s1, 1)) {
				labels__unref(s1);
				labels__unref(s2);
				rc = -ENOMEM;
				break;
			}
			if (outq_push(q, s2, (double)(al->n.active_at_ms / 1000))) {
				labels__unref(s2);
				rc = -ENOMEM;
				break;
			}
		}
		i++;
	}
	if (!rc && g->g->limit > 0 && active > g->g->limit) {
		for (size_t i = 0; i < ar->nal; i++)
			alert_free(ar->al[i]);
		ar->nal = 0;
		a->state_dirty = true;
		outq_release(q);
		snprintf(err, errlen, "exceeded limit of %lld with %lld alerts", g->g->limit,
			 active);
		rc = -EINVAL;
	}
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < nfresh; i++)
		alert_free(fresh[i]);
	free(fresh);
	free(fps);
	free(sorted);
	return rc;
}

/* Writes a rule's output: ALERTS and recorded series, with staleness markers for ALERTS series
 * that the previous evaluation wrote and this one did not. */
static void emit(struct alerts *a, struct arule *ar, int64_t ts, struct outq *q)
{
	if (ar->r->kind == RULE_ALERT) {
		struct lset now = { 0 };
		size_t n0 = q->n;
		bool ok = true;

		for (size_t i = 0; i < n0 && ok; i++)
			ok = !lset_add(&now, q->l[i]);
		if (ok) {
			if (now.n > 1)
				qsort(now.l, now.n, sizeof(*now.l), cmp_labels_p);
			for (size_t i = 0; i < ar->prev.n && ok; i++)
				if (!lset_has(&now, ar->prev.l[i]))
					ok = !outq_push(q, labels__ref(ar->prev.l[i]),
							pq_stale_nan());
			series_set_release(&ar->prev);
			ar->prev = now;
		} else {
			series_set_release(&now);
		}
	}
	if (!a->o.append)
		return;
	for (size_t i = 0; i < q->n; i++)
		if (a->o.append(a->o.append_arg, q->l[i], ts, q->v[i]))
			a->append_errors++;
	if (a->o.flush && q->n)
		a->o.flush(a->o.append_arg);
}

void alerts_eval_group(struct alerts *a, struct agroup *g, int64_t ts, bool *alerting)
{
	double t0 = mono();

	for (size_t i = 0; i < g->nrules; i++) {
		struct arule *ar = &g->rules[i];
		struct outq q = { 0 };
		char err[512] = "";
		double r0 = mono();
		int rc;

		if (ar->r->kind == RULE_ALERT) {
			rc = eval_alerting(a, g, ar, ts, &q, err, sizeof(err));
			*alerting = true;
		} else {
			rc = eval_recording(a, g, ar, ts, &q, err, sizeof(err));
		}
		if (!rc)
			emit(a, ar, ts, &q);
		outq_release(&q);
		pthread_mutex_lock(&a->lock);
		free(ar->last_error);
		ar->last_error = NULL;
		if (rc) {
			if (!err[0])
				snprintf(err, sizeof(err), "%s", strerror(-rc));
			ar->last_error = strdup(err);
			ar->health = "err";
		} else {
			ar->health = "ok";
		}
		ar->last_eval_ms = ts;
		ar->eval_seconds = mono() - r0;
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_lock(&a->lock);
	g->last_eval_ms = ts;
	g->eval_seconds = mono() - t0;
	g->evaluated = true;
	pthread_mutex_unlock(&a->lock);
}
