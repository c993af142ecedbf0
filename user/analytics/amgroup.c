// SPDX-License-Identifier: GPL-2.0
/*
 * Alertmanager's aggregation groups (dispatch/dispatch.go) and its DedupStage (notify/notify.go),
 * one dispatcher per config. Groups are few (one per route and label combination) and alerts per
 * group are few, so plain arrays searched linearly keep this short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/amgroup.h"

#define MAX_ROUTES 64

/* What an integration was last told about a group (Alertmanager's nflog entry). */
struct sent {
	bool valid;
	uint64_t *firing, *resolved; /* sorted fingerprints */
	size_t nfiring, nresolved;
	int64_t at_ms;
};

struct group {
	const struct am_route *route;
	const struct am_receiver *receiver;
	struct labels *labels;
	char *key;
	struct am_alert *alerts;
	size_t n, cap;
	bool flushed;
	int64_t next_ms;
	struct sent *sent; /* one per integration of the receiver */
};

struct am_dispatch {
	const struct am_config *c;
	struct group *g;
	size_t n, cap;
};

static void alert_release(struct am_alert *a)
{
	labels__unref(a->labels);
	labels__unref(a->annotations);
	free(a->generator_url);
}

static void sent_release(struct sent *s)
{
	free(s->firing);
	free(s->resolved);
	memset(s, 0, sizeof(*s));
}

static void group_release(struct group *g)
{
	for (size_t i = 0; i < g->n; i++)
		alert_release(&g->alerts[i]);
	free(g->alerts);
	for (size_t i = 0; g->sent && i < g->receiver->nn; i++)
		sent_release(&g->sent[i]);
	free(g->sent);
	labels__unref(g->labels);
	free(g->key);
}

struct am_dispatch *am_dispatch__new(const struct am_config *c)
{
	struct am_dispatch *d = calloc(1, sizeof(*d));

	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->c = c;
	return d;
}

void am_dispatch__free(struct am_dispatch *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		group_release(&d->g[i]);
	free(d->g);
	free(d);
}

size_t am_dispatch__groups(const struct am_dispatch *d)
{
	return d->n;
}

/* model.LabelSet.String(): {a="x", b="y"} with Go's %q quoting. */
static char *labelset_string(const struct labels *ls)
{
	size_t cap = 3;
	char *s, *o;

	for (uint32_t i = 0; i < ls->n; i++)
		cap += strlen(ls->l[i].name) + 4 * strlen(ls->l[i].value) + 6;
	s = malloc(cap);
	if (!s)
		return NULL;
	o = s;
	*o++ = '{';
	for (uint32_t i = 0; i < ls->n; i++) {
		const unsigned char *v = (const unsigned char *)ls->l[i].value;

		o += sprintf(o, "%s%s=\"", i ? ", " : "", ls->l[i].name);
		for (; *v; v++) {
			if (*v == '"' || *v == '\\')
				*o++ = '\\', *o++ = (char)*v;
			else if (*v == '\n')
				*o++ = '\\', *o++ = 'n';
			else if (*v == '\t')
				*o++ = '\\', *o++ = 't';
			else if (*v == '\r')
				*o++ = '\\', *o++ = 'r';
			else if (*v < 0x20 || *v == 0x7f)
				o += sprintf(o, "\\x%02x", *v);
			else
				*o++ = (char)*v;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return s;
}

char *am_group_key(const struct am_route *r, const struct labels *ls)
{
	char *l = labelset_string(ls), *k;

	if (!l)
		return NULL;
	k = malloc(strlen(r->key) + strlen(l) + 2);
	if (k)
		sprintf(k, "%s:%s", r->key, l);
	free(l);
	return k;
}

static struct labels *group_labels(const struct am_route *r, const struct labels *ls)
{
	struct labels_builder b;
	struct labels *g;

	if (r->group_by_all)
		return labels__ref((struct labels *)ls);
	if (labels_builder__init(&b, ls))
		return NULL;
	labels_builder__keep(&b, (const char *const *)r->group_by, r->ngroup_by);
	g = labels_builder__finish(&b);
	labels_builder__release(&b);
	return g;
}

static struct group *find_group(struct am_dispatch *d, const struct am_route *r,
				const struct labels *gl)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->g[i].route == r && labels__equal(d->g[i].labels, gl))
			return &d->g[i];
	return NULL;
}

static struct group *new_group(struct am_dispatch *d, const struct am_route *r, struct labels *gl,
			       int64_t now_ms)
{
	struct group *g;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct group *ng = realloc(d->g, cap * sizeof(*ng));

		if (!ng)
			return NULL;
		d->g = ng;
		d->cap = cap;
	}
	g = &d->g[d->n];
	memset(g, 0, sizeof(*g));
	g->route = r;
	g->receiver = am_config_receiver(d->c, r->receiver);
	g->key = am_group_key(r, gl);
	g->sent = calloc(g->receiver && g->receiver->nn ? g->receiver->nn : 1, sizeof(*g->sent));
	if (!g->receiver || !g->key || !g->sent) {
		free(g->key);
		free(g->sent);
		return NULL;
	}
	g->labels = labels__ref(gl);
	g->next_ms = now_ms + r->group_wait_ms;
	d->n++;
	return g;
}

static struct am_alert *find_alert(struct group *g, uint64_t fp)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->alerts[i].fingerprint == fp)
			return &g->alerts[i];
	return NULL;
}

static int set_alert(struct am_alert *a, const struct alert_notice *n)
{
	char *url = strdup(n->generator_url ? n->generator_url : "");

	if (!url)
		return -ENOMEM;
	labels__unref(a->labels);
	labels__unref(a->annotations);
	free(a->generator_url);
	a->labels = labels__ref((struct labels *)n->labels);
	a->annotations =
		n->annotations ? labels__ref((struct labels *)n->annotations) : labels__empty();
	a->generator_url = url;
	a->fingerprint = n->fingerprint;
	a->starts_at_ms = n->starts_at_ms;
	a->ends_at_ms = n->ends_at_ms;
	a->resolved = n->state == ALERT_RESOLVED;
	a->muted = n->silenced || n->inhibited || n->acked;
	return a->annotations ? 0 : -ENOMEM;
}

static int insert(struct am_dispatch *d, const struct am_route *r, const struct alert_notice *n,
		  int64_t now_ms)
{
	struct labels *gl = group_labels(r, n->labels);
	struct group *g;
	struct am_alert *a;

	if (!gl)
		return -ENOMEM;
	g = find_group(d, r, gl);
	if (!g && n->state == ALERT_RESOLVED) {
		/* Never notified as firing here: nothing to resolve. */
		labels__unref(gl);
		return 0;
	}
	if (!g)
		g = new_group(d, r, gl, now_ms);
	labels__unref(gl);
	if (!g)
		return -ENOMEM;
	a = find_alert(g, n->fingerprint);
	if (!a && n->state == ALERT_RESOLVED)
		return 0;
	if (!a) {
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 4;
			struct am_alert *na = realloc(g->alerts, cap * sizeof(*na));

			if (!na)
				return -ENOMEM;
			g->alerts = na;
			g->cap = cap;
		}
		a = &g->alerts[g->n++];
		memset(a, 0, sizeof(*a));
	}
	if (set_alert(a, n))
		return -ENOMEM;
	/* dispatch.go: an alert older than group_wait does not wait for it. */
	if (!g->flushed && !a->resolved && a->starts_at_ms + r->group_wait_ms < now_ms &&
	    g->next_ms > now_ms)
		g->next_ms = now_ms;
	return 0;
}

int am_dispatch__update(struct am_dispatch *d, const struct alert_notice *a, size_t n,
			int64_t now_ms)
{
	const struct am_route *routes[MAX_ROUTES];

	if (!d->c->has_route)
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t nr;

		if (a[i].state != ALERT_FIRING && a[i].state != ALERT_RESOLVED)
			continue;
		nr = am_route_match(&d->c->route, a[i].labels, routes, MAX_ROUTES);
		if (nr > MAX_ROUTES)
			nr = MAX_ROUTES;
		for (size_t r = 0; r < nr; r++)
			if (insert(d, routes[r], &a[i], now_ms))
				return -ENOMEM;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether every element of sub is in set (both sorted). */
static bool subset(const uint64_t *sub, size_t nsub, const uint64_t *set, size_t nset)
{
	size_t j = 0;

	for (size_t i = 0; i < nsub; i++) {
		while (j < nset && set[j] < sub[i])
			j++;
		if (j == nset || set[j] != sub[i])
			return false;
	}
	return true;
}

/* notify.go DedupStage.needsUpdate. */
static bool needs_update(const struct sent *e, const uint64_t *firing, size_t nf,
			 const uint64_t *resolved, size_t nr, bool send_resolved, int64_t repeat_ms,
			 int64_t now_ms)
{
	if (!e->valid)
		return nf > 0;
	if (!subset(firing, nf, e->firing, e->nfiring))
		return true;
	if (!nf)
		return e->nfiring > 0;
	if (send_resolved && !subset(resolved, nr, e->resolved, e->nresolved))
		return true;
	return e->at_ms < now_ms - repeat_ms;
}

static const char *label_or_null(const struct labels *ls, const char *name)
{
	return labels__get(ls, name);
}

int am_alert_cmp(const struct am_alert *a, const struct am_alert *b)
{
	static const char *const keys[] = { "job", "instance" };

	for (size_t i = 0; i < 2; i++) {
		const char *x = label_or_null(a->labels, keys[i]),
			   *y = label_or_null(b->labels, keys[i]);
		int c;

		if (!x && !y)
			continue;
		if (!x)
			return 1;
		if (!y)
			return -1;
		c = strcmp(x, y);
		if (c)
			return c < 0 ? -1 : 1;
	}
	return labels__cmp(a->labels, b->labels);
}

static int cmp_alert_ptr(const void *a, const void *b)
{
	return am_alert_cmp(*(const struct am_alert *const *)a, *(const struct am_alert *const *)b);
}

static int flush(struct group *g, int64_t now_ms, am_notify_fn fn, void *arg)
{
	const struct am_alert **all = calloc(g->n + 1, sizeof(*all)), **firing_only = NULL;
	uint64_t *f = calloc(g->n + 1, sizeof(*f)), *r = calloc(g->n + 1, sizeof(*r));
	size_t na = 0, nf = 0, nr = 0;
	int rc = 0;

	if (!all || !f || !r) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < g->n; i++) {
		struct am_alert *a = &g->alerts[i];

		/* A firing alert no longer refreshed resolves at its valid-until time. */
		if (!a->resolved && a->ends_at_ms > 0 && a->ends_at_ms <= now_ms)
			a->resolved = true;
		if (a->muted)
			continue;
		all[na++] = a;
		if (a->resolved)
			r[nr++] = a->fingerprint;
		else
			f[nf++] = a->fingerprint;
	}
	qsort(all, na, sizeof(*all), cmp_alert_ptr);
	qsort(f, nf, sizeof(*f), cmp_u64);
	qsort(r, nr, sizeof(*r), cmp_u64);
	firing_only = calloc(na + 1, sizeof(*firing_only));
	if (!firing_only) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < g->receiver->nn; i++) {
		const struct am_notifier *integ = &g->receiver->n[i];
		struct sent *e = &g->sent[i];
		struct am_notification n = { g->receiver, integ, i,  g->key, g->labels,
					     all,	  na,	 nf, nf > 0 };

		if (!needs_update(e, f, nf, r, nr, integ->send_resolved,
				  g->route->repeat_interval_ms, now_ms))
			continue;
		if (!integ->send_resolved) {
			size_t k = 0;

			for (size_t j = 0; j < na; j++)
				if (!all[j]->resolved)
					firing_only[k++] = all[j];
			n.alerts = firing_only;
			n.nalerts = k;
		}
		if (n.nalerts)
			fn(arg, &n);
		/* SetNotifiesStage: log what this notification covered. */
		sent_release(e);
		e->firing = malloc((nf + 1) * sizeof(*f));
		e->resolved = malloc((nr + 1) * sizeof(*r));
		if (!e->firing || !e->resolved) {
			sent_release(e);
			rc = -ENOMEM;
			continue;
		}
		memcpy(e->firing, f, nf * sizeof(*f));
		memcpy(e->resolved, r, nr * sizeof(*r));
		e->nfiring = nf;
		e->nresolved = nr;
		e->at_ms = now_ms;
		e->valid = true;
	}
	/* Resolved alerts have been reported: they leave the group. */
	for (size_t i = 0; i < g->n;) {
		if (g->alerts[i].resolved) {
			alert_release(&g->alerts[i]);
			g->alerts[i] = g->alerts[--g->n];
		} else {
			i++;
		}
	}
out:
	free(all);
	free(firing_only);
	free(f);
	free(r);
	return rc;
}

int64_t am_dispatch__tick(struct am_dispatch *d, int64_t now_ms, am_notify_fn fn, void *arg)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < d->n;) {
		struct group *g = &d->g[i];

		if (g->next_ms <= now_ms) {
			flush(g, now_ms, fn, arg);
			g->flushed = true;
			g->next_ms = now_ms + g->route->group_interval_ms;
			if (!g->n) {
				group_release(g);
				d->g[i] = d->g[--d->n];
				continue;
			}
		}
		if (g->next_ms < next)
			next = g->next_ms;
		i++;
	}
	return next;
}

void am_dispatch__failed(struct am_dispatch *d, const char *group_key, const char *receiver,
			 size_t integration_idx)
{
	for (size_t i = 0; i < d->n; i++) {
		struct group *g = &d->g[i];

		if (strcmp(g->key, group_key) || strcmp(g->receiver->name, receiver) ||
		    integration_idx >= g->receiver->nn)
			continue;
		sent_release(&g->sent[integration_idx]);
	}
}
