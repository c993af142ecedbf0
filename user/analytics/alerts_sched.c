// SPDX-License-Identifier: GPL-2.0
/*
 * When the rule engine's groups are evaluated (alerts.h): at the caller's data interval ends
 * (alerts__eval: the groups due there, within a slack) or, for a group whose interval is no
 * multiple of that interval, on its own exact grid as Prometheus' group loop does
 * (alerts__eval_timer, called by the caller's timer thread). Both take the engine's eval_lock, so
 * rounds never overlap; the sinks of one round run before the next round's.
 */
#include <stdint.h>

#include "analytics/alerts_int.h"

/* Whether g is evaluated at the caller's data interval ends (else on its own timer). */
static bool on_ticks(const struct alerts *a, const struct agroup *g)
{
	return a->o.tick_ms <= 0 || g->interval_ms % a->o.tick_ms == 0;
}

/* After a round that evaluated an alerting rule: links, then the sinks (one round at a time). */
static void round_done(struct alerts *a, int64_t now_ms, bool alerting)
{
	if (!alerting) {
		pthread_mutex_unlock(&a->eval_lock);
		return;
	}
	alerts_link_round(a, now_ms);
	pthread_mutex_unlock(&a->eval_lock);
	pthread_mutex_lock(&a->notify_lock);
	alerts_notify(a, now_ms);
	pthread_mutex_unlock(&a->notify_lock);
}

int alerts__eval(struct alerts *a, int64_t now_ms, int64_t slack_ms)
{
	bool alerting = false;
	int n = 0;

	pthread_mutex_lock(&a->eval_lock);
	for (size_t i = 0; i < a->norigins; i++) {
		for (size_t k = 0; k < a->origins[i]->ngroups; k++) {
			struct agroup *g = a->origins[i]->groups[k];

			if (!on_ticks(a, g) || (g->next_due && now_ms < g->next_due - slack_ms))
				continue;
			alerts_eval_group(a, g, now_ms, &alerting);
			/* on a grid of intervals from the first evaluation; a late one skips ahead */
			g->next_due = g->next_due ? g->next_due + g->interval_ms :
						    now_ms + g->interval_ms;
			if (g->next_due <= now_ms)
				g->next_due = now_ms + g->interval_ms;
			n++;
		}
	}
	a->last_round_ms = now_ms;
	round_done(a, now_ms, alerting);
	return n;
}

int64_t alerts__eval_timer(struct alerts *a, int64_t now_ms)
{
	int64_t next = INT64_MAX;
	bool alerting = false;

	pthread_mutex_lock(&a->eval_lock);
	for (size_t i = 0; i < a->norigins; i++) {
		for (size_t k = 0; k < a->origins[i]->ngroups; k++) {
			struct agroup *g = a->origins[i]->groups[k];
			int64_t ts = now_ms;

			if (on_ticks(a, g))
				continue;
			if (g->next_due && now_ms < g->next_due) {
				next = g->next_due < next ? g->next_due : next;
				continue;
			}
			/* at the latest grid time by now (missed ones skipped, as Prometheus does) */
			if (g->next_due)
				ts = g->next_due +
				     (now_ms - g->next_due) / g->interval_ms * g->interval_ms;
			alerts_eval_group(a, g, ts, &alerting);
			g->next_due = ts + g->interval_ms;
			next = g->next_due < next ? g->next_due : next;
		}
	}
	if (alerting)
		a->last_round_ms = now_ms;
	round_done(a, now_ms, alerting);
	return next;
}
