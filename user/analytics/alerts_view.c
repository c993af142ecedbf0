// SPDX-License-Identifier: GPL-2.0
/* The rule engine's state read out (alerts.h): the walk for the API, restore after a restart. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/alerts_int.h"

/* ---- reading ---- */

static enum alert_state rule_state(const struct arule *ar)
{
	enum alert_state s = ALERT_INACTIVE;

	for (size_t i = 0; i < ar->nal; i++) {
		enum alert_state x = ar->al[i]->n.state;

		if (x == ALERT_FIRING)
			return ALERT_FIRING;
		if (x == ALERT_PENDING)
			s = ALERT_PENDING;
	}
	return s;
}

static int cmp_alert_p(const void *x, const void *y)
{
	const struct alert *a = *(struct alert *const *)x, *b = *(struct alert *const *)y;

	return labels__cmp(a->n.labels, b->n.labels);
}

int alerts__walk(struct alerts *a, const struct alerts_visitor *v, void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	alerts_mark(a, a->last_round_ms);
	for (size_t i = 0; i < a->norigins && !rc; i++) {
		for (size_t k = 0; k < a->origins[i]->ngroups && !rc; k++) {
			struct agroup *g = a->origins[i]->groups[k];
			struct group_view gv = { .g = g->g,
						 .origin = g->origin,
						 .interval_ms = g->interval_ms,
						 .last_eval_ms = g->last_eval_ms,
						 .eval_seconds = g->eval_seconds };

			if (v->group)
				rc = v->group(arg, &gv);
			for (size_t j = 0; j < g->nrules && !rc; j++) {
				struct arule *ar = &g->rules[j];
				struct rule_view rv = { .r = ar->r,
							.health = ar->health,
							.last_error = ar->last_error ?
									      ar->last_error :
									      "",
							.last_eval_ms = ar->last_eval_ms,
							.eval_seconds = ar->eval_seconds,
							.state = rule_state(ar) };

				if (v->rule)
					rc = v->rule(arg, &gv, &rv);
				struct alert **sorted =
					ar->nal ? malloc(ar->nal * sizeof(*sorted)) : NULL;

				if (ar->nal && !sorted) {
					rc = -ENOMEM;
					break;
				}
				if (ar->nal)
					memcpy(sorted, ar->al, ar->nal * sizeof(*sorted));
				if (ar->nal > 1)
					qsort(sorted, ar->nal, sizeof(*sorted), cmp_alert_p);
				for (size_t m = 0; m < ar->nal && !rc && v->alert; m++) {
					struct alert *al = sorted[m];
					struct alert_view av = {
						.n = &al->n,
						.fired_at_ms = al->fired_at_ms,
						.resolved_at_ms = al->resolved_at_ms,
						.keep_firing_since_ms = al->keep_firing_since_ms,
					};

					al->n.rule_group = g->g->name;
					al->n.generator_url = alert_url(ar, al);
					rc = v->alert(arg, &gv, &rv, &av);
				}
				free(sorted);
			}
			if (!rc && v->group_end)
				rc = v->group_end(arg, &gv);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

int alerts__restore(struct alerts *a, const struct alert_saved *s)
{
	struct origin *o;
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	o = alerts_find_origin(a, s->origin, NULL);
	for (size_t i = 0; o && i < o->ngroups; i++) {
		struct agroup *g = o->groups[i];

		if (strcmp(g->g->name, s->group))
			continue;
		for (size_t k = 0; k < g->nrules; k++) {
			struct arule *ar = &g->rules[k];
			struct alert *al;
			uint64_t fp;

			if (ar->r->kind != RULE_ALERT || strcmp(ar->r->name, s->rule))
				continue;
			fp = alert_fingerprint(s->labels);
			if (alert_find(ar, fp, NULL))
				break;
			al = calloc(1, sizeof(*al));
			if (!al) {
				rc = -ENOMEM;
				break;
			}
			al->n.labels = labels__ref(s->labels);
			al->n.annotations =
				s->annotations ? labels__ref(s->annotations) : labels__empty();
			al->n.state = s->state;
			al->n.value = s->value;
			al->n.active_at_ms = s->active_at_ms;
			al->n.fingerprint = fp;
			al->n.acked = s->acked;
			al->fired_at_ms = s->fired_at_ms;
			al->resolved_at_ms = s->resolved_at_ms;
			al->keep_firing_since_ms = s->keep_firing_since_ms;
			al->last_eval_ms = s->resolved_at_ms;
			rc = alert_add(ar, al);
			if (rc)
				alert_free(al);
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

bool alerts__state_dirty(struct alerts *a)
{
	bool d;

	pthread_mutex_lock(&a->lock);
	d = a->state_dirty;
	a->state_dirty = false;
	pthread_mutex_unlock(&a->lock);
	return d;
}
