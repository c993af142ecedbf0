// SPDX-License-Identifier: GPL-2.0
/*
 * Links of alerts (alerts.h, alerts_opts.link): what each alerting rule reads, through the
 * recording rules, handed to the caller's rule hook; after a round, the alerts of the rules it
 * took asked for their own generatorURL and, once they fire, extra annotations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/alerts_int.h"

#define MAX_RECORD_DEPTH 8 /* recording rules reading recording rules, followed this deep */
#define MAX_INPUTS 64

struct inputs {
	struct alerts *a;
	const char *names[MAX_INPUTS];
	size_t n;
	int64_t range_ms; /* the longest found so far through the selector being walked */
	int depth;
};

static void walk_expr(struct inputs *in, const struct pq_expr *e, int64_t base_ms);

/* The recording rules (of every origin) that record name. */
static void walk_recorded(struct inputs *in, const char *name, int64_t base_ms, bool *found)
{
	struct alerts *a = in->a;

	for (size_t i = 0; i < a->norigins; i++)
		for (size_t g = 0; g < a->origins[i]->ngroups; g++) {
			const struct rule_group *rg = a->origins[i]->groups[g]->g;

			for (size_t r = 0; r < rg->nrules; r++) {
				const struct rule *ru = &rg->rules[r];

				if (ru->kind != RULE_RECORD || strcmp(ru->name, name) || !ru->expr)
					continue;
				*found = true;
				in->depth++;
				walk_expr(in, ru->expr, base_ms);
				in->depth--;
			}
		}
}

struct sel_arg {
	struct inputs *in;
	int64_t base_ms;
};

static int on_selector(const struct label_matcher *m, size_t n, void *arg)
{
	struct sel_arg *sa = arg;
	struct inputs *in = sa->in;
	const char *name = NULL;
	bool recorded = false;

	for (size_t i = 0; i < n && !name; i++)
		if (m[i].type == MATCH_EQ && !strcmp(m[i].name, LABEL_METRIC_NAME))
			name = m[i].value;
	if (!name)
		return 0;
	if (in->depth < MAX_RECORD_DEPTH)
		walk_recorded(in, name, sa->base_ms, &recorded);
	if (recorded)
		return 0;
	for (size_t i = 0; i < in->n; i++)
		if (!strcmp(in->names[i], name))
			return 0;
	if (in->n < MAX_INPUTS)
		in->names[in->n++] = name;
	return 0;
}

/* Adds e's metric names; base_ms: how far back the expressions reading e's result look. */
static void walk_expr(struct inputs *in, const struct pq_expr *e, int64_t base_ms)
{
	struct sel_arg sa = { in, base_ms + pq_expr__max_range(e) };

	if (sa.base_ms > in->range_ms)
		in->range_ms = sa.base_ms;
	pq_expr__for_each_selector(e, on_selector, &sa);
}

void alerts_link_release(struct alerts *a, struct arule *ar)
{
	if (ar->link_ctx && a->o.link.release)
		a->o.link.release(a->o.link.arg, ar->link_ctx);
	ar->link_ctx = NULL;
	ar->link_gen = 0;
}

struct labels *alert_annotations_merge(const struct labels *base, const struct labels *extra)
{
	struct labels_builder b;
	struct labels *out = NULL;
	uint32_t i;

	if (labels_builder__init(&b, base))
		return NULL;
	for (i = 0; extra && i < extra->n; i++)
		if (!labels__get(base, extra->l[i].name) &&
		    labels_builder__set(&b, extra->l[i].name, extra->l[i].value))
			break;
	if (!extra || i == extra->n)
		out = labels_builder__finish(&b);
	labels_builder__release(&b);
	return out;
}

/* One alert to ask about: a snapshot taken under the state lock. */
struct ask {
	struct alert *al;
	struct alert_notice n;
	int64_t fired_at_ms, resolved_at_ms;
	bool annotate;
	char *url;
	struct labels *ann;
};

static void ask_rule(struct alerts *a, struct agroup *g, struct arule *ar, int64_t now_ms,
		     int *budget)
{
	struct ask *q;
	size_t n = 0;

	if (ar->link_gen != a->rules_gen) {
		struct inputs in = { .a = a };

		alerts_link_release(a, ar);
		walk_expr(&in, ar->r->expr, 0);
		ar->link_ctx = a->o.link.rule(
			a->o.link.arg,
			&(struct alerts_rule_inputs){ .r = ar->r,
						      .metrics = in.names,
						      .nmetrics = in.n,
						      .range_ms = in.range_ms,
						      .interval_ms = g->interval_ms });
		ar->link_gen = a->rules_gen;
	}
	if (!ar->link_ctx)
		return;
	pthread_mutex_lock(&a->lock);
	q = calloc(ar->nal ? ar->nal : 1, sizeof(*q));
	for (size_t i = 0; q && i < ar->nal; i++) {
		struct alert *al = ar->al[i];
		bool annotate = al->n.state == ALERT_FIRING && !al->link_annotated && *budget > 0;

		if (al->n.state == ALERT_INACTIVE)
			continue;
		/* a pending alert's window ends now; other links change with the state only */
		if (!annotate && al->n.state != ALERT_PENDING && al->link_state == al->n.state &&
		    al->link_active_ms == al->n.active_at_ms)
			continue;
		if (annotate)
			(*budget)--;
		q[n] = (struct ask){ .al = al,
				     .n = al->n,
				     .fired_at_ms = al->fired_at_ms,
				     .resolved_at_ms = al->resolved_at_ms,
				     .annotate = annotate };
		q[n].n.labels = labels__ref((struct labels *)al->n.labels);
		q[n].n.annotations = labels__ref((struct labels *)al->n.annotations);
		q[n].n.starts_at_ms = al->fired_at_ms;
		q[n].n.ends_at_ms = al->resolved_at_ms;
		q[n].n.generator_url = NULL;
		n++;
	}
	pthread_mutex_unlock(&a->lock);
	if (!q)
		return;
	/* the hook may take a while (a profile diff): without the state lock; eval_lock keeps the
	 * rules and their alerts */
	for (size_t i = 0; i < n; i++)
		q[i].url = a->o.link.alert(a->o.link.arg, ar->link_ctx,
					   &(struct alerts_link_req){
						   .n = &q[i].n,
						   .fired_at_ms = q[i].fired_at_ms,
						   .resolved_at_ms = q[i].resolved_at_ms,
						   .now_ms = now_ms,
						   .annotate = q[i].annotate,
					   },
					   q[i].annotate ? &q[i].ann : NULL);
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < n; i++) {
		struct alert *al = q[i].al;

		if (q[i].url) {
			free(al->link_url);
			al->link_url = q[i].url;
			q[i].url = NULL;
		}
		al->link_state = q[i].n.state;
		al->link_active_ms = q[i].n.active_at_ms;
		if (!q[i].annotate)
			continue;
		al->link_annotated = true;
		if (q[i].ann) {
			struct labels *m = alert_annotations_merge(al->n.annotations, q[i].ann);

			if (m) {
				labels__unref((struct labels *)al->n.annotations);
				al->n.annotations = m;
				labels__unref(al->link_ann);
				al->link_ann = q[i].ann;
				q[i].ann = NULL;
				a->state_dirty = true;
			}
		}
	}
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < n; i++) {
		labels__unref((struct labels *)q[i].n.labels);
		labels__unref((struct labels *)q[i].n.annotations);
		labels__unref(q[i].ann);
		free(q[i].url);
	}
	free(q);
}

void alerts_link_round(struct alerts *a, int64_t now_ms)
{
	int budget = ALERTS_LINK_ANNOTATE_PER_ROUND;

	if (!a->o.link.rule || !a->o.link.alert)
		return;
	for (size_t i = 0; i < a->norigins; i++)
		for (size_t k = 0; k < a->origins[i]->ngroups; k++) {
			struct agroup *g = a->origins[i]->groups[k];

			for (size_t r = 0; r < g->nrules; r++)
				if (g->rules[r].r->kind == RULE_ALERT)
					ask_rule(a, g, &g->rules[r], now_ms, &budget);
		}
}
