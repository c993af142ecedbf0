/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rule engine: Prometheus rule groups (rulefile.h) evaluated at their interval over a
 * `struct pq_source`, as Prometheus 2.42's rule manager does.
 *
 *   recording rules   the expression's vector, __name__ set to the record name and the rule's
 *                     labels applied, handed to the append callback (a staleness marker for a
 *                     series the previous evaluation had and this one has not)
 *   alerting rules    one alert per label set of the result (the sample's labels without
 *                     __name__, the rule's labels expanded as templates, alertname): pending when
 *                     first seen, firing once it held for `for`, inactive (resolved) when it stops
 *                     holding (after `keep_firing_for` if set); a resolved alert is kept and
 *                     reported for 15 minutes; ALERTS{alertstate} = 1 and ALERTS_FOR_STATE =
 *                     activeAt (Unix seconds) appended for every pending and firing alert from
 *                     the group's second evaluation on (Prometheus restores `for` state first);
 *                     annotations expanded with $labels, $value, $externalLabels, $externalURL
 *   limit             more series / alerts than a group's limit: the rule fails ("exceeded
 *                     limit of N with M alerts"), its alerts are dropped
 *
 * Rules come from several origins (a rule file path, "api", "slo", ...): alerts__add_file() /
 * alerts__add_rules_text() replace the origin's groups, carrying the state of alerts whose group,
 * rule name, expression and labels did not change (as a Prometheus reload does).
 *
 * After each evaluation round that evaluated at least one alerting rule, every sink gets every
 * pending, firing and resolved-but-kept alert (notice.h), with silenced / inhibited / acked set:
 *   silences     Alertmanager's: matchers {name, value, isRegex, isEqual}, startsAt, endsAt,
 *                createdBy, comment; active between startsAt and endsAt
 *   inhibition   Alertmanager's inhibit_rules: a firing alert matching source_matchers mutes the
 *                alerts matching target_matchers whose `equal` labels have the same values
 *                (an alert does not inhibit itself); with no rules given, a firing
 *                severity="critical" alert mutes severity="warning" ones whose other labels are
 *                the same
 *   ack          by fingerprint; cleared when the alert resolves
 *
 * Thread-safety: every function takes the engine's lock; sinks and the append callback are
 * called with it released (they may call back into the engine), from the thread calling
 * alerts__eval().
 */
#ifndef VIGIL_ANALYTICS_ALERTS_H
#define VIGIL_ANALYTICS_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/labels.h"
#include "analytics/notice.h"
#include "analytics/promql.h"
#include "analytics/rulefile.h"
#include "analytics/yamldoc.h"

#define ALERTS_RESOLVED_RETENTION_MS (15 * 60 * 1000) /* Prometheus' resolvedRetention */
#define ALERTS_RESEND_DELAY_MS (60 * 1000) /* Prometheus' --rules.alert.resend-delay default */
#define ALERTS_DEFAULT_INTERVAL_MS (60 * 1000) /* Prometheus' global evaluation_interval */

/* One sample out of the engine: a recording rule's series or ALERTS / ALERTS_FOR_STATE. l
 * includes __name__; v may be a staleness marker (pq_is_stale). Returns 0 or -errno (counted,
 * the evaluation goes on). */
typedef int (*alerts_append_fn)(void *arg, const struct labels *l, int64_t t_ms, double v);
/* After the samples of one rule: commit them so the group's next rule sees them. */
typedef void (*alerts_flush_fn)(void *arg);

/*
 * Links of alerts beyond Prometheus' graph page (alerts_opts.link; optional).
 *
 * For each alerting rule the engine works out what it reads (struct alerts_rule_inputs, through
 * the recording rules of every origin) and asks rule() whether its alerts link elsewhere: a
 * non-NULL answer is the rule's context (released with release()), NULL keeps Prometheus' link.
 * Asked again after any origin's rules change.
 *
 * After every evaluation round, before the sinks, alert() is called for the alerts of such rules
 * whose link may have changed: pending ones every round, others when their state changes (so the
 * sinks always get the new link; alerts__walk() may show the previous one for the moment between
 * an alert's evaluation and the end of the round). It
 * returns the alert's generatorURL (malloc'd; NULL keeps the graph link). When q->annotate is set
 * (once, when the alert first fires) it may also set *annotations (a new reference): annotations
 * the alert carries from then on besides the rule's own (which win when a name is in both).
 * At most ALERTS_LINK_ANNOTATE_PER_ROUND alerts are annotated per round; the others the rounds
 * after. Called on the evaluating thread without the state lock: it may read stores, not block on
 * the network.
 */
#define ALERTS_LINK_ANNOTATE_PER_ROUND 16

struct alerts_rule_inputs {
	const struct rule *r;
	const char *const *metrics; /* the metric names its selectors read by name (= matchers) */
	size_t nmetrics;
	int64_t range_ms; /* how far back it reads: its longest range, plus that of recorded series */
	int64_t interval_ms; /* its group's evaluation interval */
};

struct alerts_link_req {
	const struct alert_notice *n; /* labels, the rule's annotations, state, value, active_at */
	int64_t fired_at_ms; /* 0 while pending */
	int64_t resolved_at_ms; /* 0 unless resolved */
	int64_t now_ms;
	bool annotate;
};

struct alerts_link {
	void *(*rule)(void *arg, const struct alerts_rule_inputs *in);
	char *(*alert)(void *arg, void *rule_ctx, const struct alerts_link_req *q,
		       struct labels **annotations);
	void (*release)(void *arg, void *rule_ctx); /* may be NULL */
	void *arg;
};

struct alerts_opts {
	struct pq_source src; /* where expressions read */
	alerts_append_fn append; /* NULL: results are not stored */
	alerts_flush_fn flush; /* may be NULL */
	void *append_arg;
	int64_t interval_ms; /* global evaluation_interval; 0 = 1 min */
	const struct labels *external_labels; /* borrowed (a reference is taken); may be NULL */
	const char *external_url; /* for $externalURL and generatorURL; may be NULL */
	int64_t lookback_ms; /* 0 = 5 min */
	struct alerts_link link; /* rule and alert unset: Prometheus' graph links only */
	/* The caller's data interval, at whose ends it calls alerts__eval: groups whose interval is
	 * a multiple of it are evaluated there (right after new data), the others on their own
	 * timer through alerts__eval_timer. 0: every group through alerts__eval. */
	int64_t tick_ms;
};

struct alerts;

/* NULL with errno set. */
struct alerts *alerts__new(const struct alerts_opts *o);
void alerts__free(struct alerts *a); /* NULL-safe */

/*
 * Replaces the groups of origin by f's (f is moved into the engine: its contents belong to the
 * engine afterwards, *f is zeroed). An empty f removes the origin. Group names must be unique
 * within an origin (rulefile_parse checks that). 0 or -ENOMEM.
 */
int alerts__add_file(struct alerts *a, const char *origin, struct rule_file *f);
/*
 * Parses yaml as a rule file (rulefile_parse: what promtool accepts) and replaces origin's groups
 * with it. -EINVAL with err set to "ORIGIN:LINE: cause" (the first error), or -ENOMEM.
 */
int alerts__add_rules_text(struct alerts *a, const char *origin, const char *yaml, size_t len,
			   char *err, size_t errlen);
/* Removes origin's groups; false when it had none. */
bool alerts__remove_origin(struct alerts *a, const char *origin);

/* Sinks called after every evaluation round (notice.h). At most 16. 0 or -ENOSPC. */
int alerts__add_sink(struct alerts *a, alert_sink_fn fn, void *arg);

/*
 * Evaluates every group due at now_ms: a group is due when now_ms reaches its next evaluation time
 * minus slack_ms (a caller ticking every T passes T / 2); it is then evaluated at now_ms and next
 * due one interval later. Calls the sinks when an alerting rule was evaluated. Returns the number of
 * groups evaluated.
 */
int alerts__eval(struct alerts *a, int64_t now_ms, int64_t slack_ms);
/*
 * Evaluates the groups on their own timer (opts.tick_ms set, a group interval that is no multiple
 * of it) whose evaluation time came by now_ms, as Prometheus' group loop: on an exact grid from a
 * group's first evaluation, each at its grid time (a missed one skipped). Calls the sinks as
 * alerts__eval does. Returns the next grid time of those groups, or INT64_MAX when there are none.
 */
int64_t alerts__eval_timer(struct alerts *a, int64_t now_ms);
/* The smallest group interval (the global one when there are no groups). */
int64_t alerts__min_interval(const struct alerts *a);

/* ---- silences ---- */

struct silence_matcher {
	char *name, *value;
	bool is_regex, is_equal;
};

struct silence {
	char id[40]; /* a UUID */
	struct silence_matcher *m;
	size_t nm;
	int64_t starts_at_ms, ends_at_ms, updated_at_ms;
	char *created_by, *comment;
};

enum silence_state { SILENCE_PENDING, SILENCE_ACTIVE, SILENCE_EXPIRED };
const char *silence_state_name(enum silence_state s); /* "pending", "active", "expired" */
enum silence_state silence_state_at(const struct silence *s, int64_t now_ms);

/*
 * Validates s as Alertmanager's POST /api/v2/silences does (matchers given, label names valid,
 * regexes compile, at least one matcher that does not match "", startsAt before endsAt, endsAt
 * not in the past, createdBy and comment given) and adds it; an empty id gets a new UUID, a known
 * id is updated (-ENOENT when the id is unknown). s is copied; id_out gets the id. 0, -EINVAL
 * (err says why), -ENOENT, -ENOMEM.
 */
int alerts__silence_put(struct alerts *a, const struct silence *s, int64_t now_ms, char *id_out,
			size_t idlen, char *err, size_t errlen);
/* Adds a stored silence as is (restoring state; expired ones too). 0, -EINVAL, -ENOMEM. */
int alerts__silence_restore(struct alerts *a, const struct silence *s);
/* Expires the silence (endsAt = now). -ENOENT when unknown, -EINVAL when already expired. */
int alerts__silence_expire(struct alerts *a, const char *id, int64_t now_ms);
/* Calls fn for every silence (expired ones kept 5 days after they end). */
void alerts__silences(struct alerts *a, void (*fn)(void *arg, const struct silence *s), void *arg);
/* Silences changed since the last call (for the caller to persist them). */
bool alerts__silences_dirty(struct alerts *a);

/* ---- ack and inhibition ---- */

/* Acknowledges the pending or firing alert with this fingerprint. 0 or -ENOENT. */
int alerts__ack(struct alerts *a, uint64_t fingerprint, int64_t now_ms);

struct inhibit_rule {
	struct label_matcher *source, *target;
	size_t nsource, ntarget;
	char **equal;
	size_t nequal;
};
/* Replaces the inhibit rules (moved into the engine; *r zeroed). n == 0: the default rule. */
int alerts__set_inhibit_rules(struct alerts *a, struct inhibit_rule *r, size_t n);
void inhibit_rule_release(struct inhibit_rule *r);
/*
 * Alertmanager's inhibit_rules section (a sequence of {source_matchers, target_matchers, equal},
 * or the older source_match / source_match_re / target_match / target_match_re maps) of a YAML
 * document (yamldoc.h). *out gets n rules (release each with inhibit_rule_release, then free).
 * 0, or -EINVAL with err = "PATH:LINE: cause", -ENOMEM.
 */
int inhibit_rules_parse(const struct ydoc *d, ynode section, const char *path,
			struct inhibit_rule **out, size_t *n, char *err, size_t errlen);
/* Alertmanager's matcher text (`name="value"`, `name=~"re"`, `name!=value`, ...) into m.
 * 0 or -EINVAL (err says why) / -ENOMEM. */
int alert_matcher_parse(const char *text, struct label_matcher *m, char *err, size_t errlen);

/* ---- reading the state (API, persistence) ---- */

struct alert_view {
	const struct alert_notice *n; /* state, labels, annotations, times, flags */
	int64_t fired_at_ms, resolved_at_ms, keep_firing_since_ms;
};

struct rule_view {
	const struct rule *r;
	const char *health; /* "ok", "err", "unknown" */
	const char *last_error; /* "" when none */
	int64_t last_eval_ms; /* 0: never */
	double eval_seconds;
	enum alert_state state; /* alerting rules: the highest state of its alerts */
};

struct group_view {
	const struct rule_group *g;
	const char *origin;
	int64_t interval_ms; /* effective */
	int64_t last_eval_ms;
	double eval_seconds;
};

struct alerts_visitor {
	/* Return non-zero to stop the walk. Any callback may be NULL. */
	int (*group)(void *arg, const struct group_view *g);
	int (*rule)(void *arg, const struct group_view *g, const struct rule_view *r);
	int (*alert)(void *arg, const struct group_view *g, const struct rule_view *r,
		     const struct alert_view *al);
	int (*group_end)(void *arg, const struct group_view *g);
};
/* Walks groups (in the order added), their rules and alerts (by labels) under the lock; the views
 * are valid during the call. Returns what a callback returned, or 0. */
int alerts__walk(struct alerts *a, const struct alerts_visitor *v, void *arg);

/* Restores one alert's state (e.g. after a restart): the alert of origin/group/rule with these
 * labels. Ignored (0) when no such rule exists. Call before the group's first evaluation. */
struct alert_saved {
	const char *origin, *group, *rule;
	struct labels *labels; /* borrowed */
	struct labels *annotations; /* borrowed; may be NULL */
	enum alert_state state; /* PENDING, FIRING or RESOLVED */
	double value;
	int64_t active_at_ms, fired_at_ms, resolved_at_ms, keep_firing_since_ms;
	bool acked;
};
int alerts__restore(struct alerts *a, const struct alert_saved *s);
/* Alert state changed since the last call (a new alert, a state change, an ack). */
bool alerts__state_dirty(struct alerts *a);

/* Alertmanager's fingerprint of a label set (model.LabelSet.Fingerprint: FNV-1a 64 over the
 * sorted names and values, each followed by 0xff). */
uint64_t alert_fingerprint(const struct labels *l);

#endif
