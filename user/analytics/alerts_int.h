/* SPDX-License-Identifier: GPL-2.0 */
/* The rule engine's insides, shared by alerts.c, alerts_view.c and alerts_mute.c. */
#ifndef VIGIL_ANALYTICS_ALERTS_INT_H
#define VIGIL_ANALYTICS_ALERTS_INT_H

#include <pthread.h>

#include "analytics/alerts.h"

#define ALERTS_MAX_SINKS 16
#define SILENCE_RETENTION_MS (5LL * 86400 * 1000) /* expired silences listed this long */

struct alert {
	struct alert_notice n; /* labels, annotations owned (the rule's, then link_ann's) */
	int64_t fired_at_ms, resolved_at_ms, keep_firing_since_ms, last_eval_ms;
	/* alerts_opts.link: the alert's own generatorURL (NULL: the rule's), the annotations the
	 * hook added, the state and activeAt the URL was made for, whether it was annotated */
	char *link_url;
	struct labels *link_ann;
	enum alert_state link_state;
	int64_t link_active_ms;
	bool link_annotated;
};

/* Label sets, sorted after each evaluation. */
struct lset {
	struct labels **l;
	size_t n, cap;
};

struct arule {
	const struct rule *r;
	struct alert **al; /* sorted by fingerprint */
	size_t nal, cap;
	const char *health;
	char *last_error;
	int64_t last_eval_ms;
	double eval_seconds;
	char *gen_url;
	void *link_ctx; /* alerts_opts.link.rule's answer for this rule */
	unsigned long link_gen; /* the rules generation link_ctx was asked at (0: never) */
	struct lset prev; /* series the previous evaluation wrote (staleness markers) */
	bool moved; /* state carried to a reloaded rule */
};

struct agroup {
	const struct rule_group *g;
	const char *origin;
	struct arule *rules;
	size_t nrules;
	int64_t interval_ms, next_due, last_eval_ms;
	double eval_seconds;
	bool evaluated; /* once: ALERTS written from the second evaluation on */
};

struct origin {
	char *name;
	struct rule_file f;
	struct agroup **groups;
	size_t ngroups;
};

struct silence_entry {
	struct silence s;
	struct label_matcher *lm; /* s.m compiled */
};

struct sink {
	alert_sink_fn fn;
	void *arg;
};

struct alerts {
	struct alerts_opts o;
	struct labels *ext;
	char *ext_url;
	/* eval_lock: held through an evaluation round and by changes of the groups; lock: the
	 * state (alerts, health, silences), never held while calling out */
	pthread_mutex_t eval_lock, lock;
	pthread_mutex_t notify_lock; /* one round's sinks at a time (ticks and timer threads) */
	struct origin **origins;
	size_t norigins;
	struct sink sinks[ALERTS_MAX_SINKS];
	int nsinks;
	struct silence_entry **sil;
	size_t nsil;
	struct inhibit_rule *inhibit;
	size_t ninhibit; /* 0: the default rule */
	int64_t last_round_ms;
	unsigned long rules_gen; /* bumped whenever an origin's rules change */
	unsigned long append_errors;
	bool state_dirty, silences_dirty;
};

void alert_free(struct alert *al);
/* Evaluates every rule of g at ts (eval_lock held); *alerting set when an alerting rule ran. */
void alerts_eval_group(struct alerts *a, struct agroup *g, int64_t ts, bool *alerting);
struct alert *alert_find(struct arule *ar, uint64_t fp, size_t *idx);
int alert_add(struct arule *ar, struct alert *al);
struct origin *alerts_find_origin(struct alerts *a, const char *name, size_t *idx);
/* Sets the silenced / inhibited flags of every alert at now (lock held). */
void alerts_mark(struct alerts *a, int64_t now_ms);
/* Calls the sinks with every pending, firing and kept resolved alert (no lock held). */
void alerts_notify(struct alerts *a, int64_t now_ms);
void silence_entry_free(struct silence_entry *e);
/* The generatorURL of an alert of ar. */
static inline const char *alert_url(const struct arule *ar, const struct alert *al)
{
	return al->link_url ? al->link_url : ar->gen_url;
}
/* base with the names of extra it lacks (a new set), or NULL on ENOMEM. */
struct labels *alert_annotations_merge(const struct labels *base, const struct labels *extra);
/* Asks alerts_opts.link for the links of the alerts (eval_lock held, lock not). */
void alerts_link_round(struct alerts *a, int64_t now_ms);
/* Releases the link context of a rule being freed. */
void alerts_link_release(struct alerts *a, struct arule *ar);

#endif
