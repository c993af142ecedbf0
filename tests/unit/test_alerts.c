// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: the rule engine's state machine over an in-memory store, evaluated every second, with
 * the timings Prometheus 2.42's rules/alerting.go gives (pending at the first evaluation that holds,
 * firing at the first one `for` later, resolved at the first one that does not hold, or after
 * keep_firing_for), ALERTS / ALERTS_FOR_STATE from the second evaluation on, recording rules with
 * staleness markers, limits, silences, inhibition and ack.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analytics/alerts.h"
#include "analytics/tsmem.h"

#define S 1000LL

struct out {
	char line[256][200];
	int n;
};

struct fx {
	struct tsmem *ts;
	struct alerts *a;
	struct out out;
	struct alert_notice last[16];
	char last_state[16][12];
	char last_name[16][32];
	char last_group[32], last_url[200];
	size_t nlast;
	int sink_calls;
};

static int on_append(void *arg, const struct labels *l, int64_t t, double v)
{
	struct fx *f = arg;
	char b[160];

	labels__format(l, b, sizeof(b));
	if (f->out.n < 256)
		snprintf(f->out.line[f->out.n++], 200, "%s %lld %s", b, (long long)(t / S),
			 pq_is_stale(v) ? "stale" : "");
	if (f->out.n <= 256 && !pq_is_stale(v))
		snprintf(f->out.line[f->out.n - 1] + strlen(f->out.line[f->out.n - 1]),
			 200 - strlen(f->out.line[f->out.n - 1]), "%g", v);
	return tsmem__append(f->ts, (struct labels *)l, t, v);
}

static void on_sink(void *arg, const struct alert_notice *n, size_t cnt, int64_t now)
{
	struct fx *f = arg;

	(void)now;
	f->sink_calls++;
	f->nlast = cnt < 16 ? cnt : 16;
	for (size_t i = 0; i < f->nlast; i++) {
		f->last[i] = n[i];
		snprintf(f->last_name[i], sizeof(f->last_name[i]), "%s",
			 labels__get(n[i].labels, "alertname"));
		if (!i) {
			snprintf(f->last_group, sizeof(f->last_group), "%s", n[i].rule_group);
			snprintf(f->last_url, sizeof(f->last_url), "%s", n[i].generator_url);
		}
		f->last[i].rule_group = f->last[i].generator_url = NULL; /* copies: above */
		f->last[i].labels = NULL; /* not kept past the call */
		f->last[i].annotations = NULL;
		snprintf(f->last_state[i], sizeof(f->last_state[i]), "%s",
			 alert_state_name(n[i].state));
	}
}

static struct fx *fx_new(const char *rules)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512] = "";

	assert_non_null(f);
	f->ts = tsmem__new();
	assert_non_null(f->ts);
	f->a = alerts__new(&(struct alerts_opts){ .src = tsmem__source(f->ts),
						  .append = on_append,
						  .append_arg = f,
						  .interval_ms = S,
						  .external_url = "http://vigil:7470" });
	assert_non_null(f->a);
	if (alerts__add_rules_text(f->a, "r.yml", rules, strlen(rules), err, sizeof(err)))
		fail_msg("rules refused: %s", err);
	assert_int_equal(alerts__add_sink(f->a, on_sink, f), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	alerts__free(f->a);
	tsmem__free(f->ts);
	free(f);
}

static void put(struct fx *f, const char *name, const char *lname, const char *lval, int64_t t,
		double v)
{
	struct label l[] = { { "__name__", name }, { lname, lval } };
	struct labels *ls = labels__new(l, 2);

	assert_int_equal(tsmem__append(f->ts, ls, t, v), 0);
	labels__unref(ls);
}

/* One alert's state through the walk. */
struct seen {
	int n;
	char state[12];
	int64_t active, fired, resolved;
	double value;
	char annot[200], labels[200];
	bool silenced, inhibited, acked;
	uint64_t fp;
	char health[8], error[200];
};

static int seen_alert(void *arg, const struct group_view *g, const struct rule_view *r,
		      const struct alert_view *av)
{
	struct seen *s = arg;

	(void)g;
	(void)r;
	s->n++;
	snprintf(s->state, sizeof(s->state), "%s", alert_state_name(av->n->state));
	s->active = av->n->active_at_ms;
	s->fired = av->fired_at_ms;
	s->resolved = av->resolved_at_ms;
	s->value = av->n->value;
	s->silenced = av->n->silenced;
	s->inhibited = av->n->inhibited;
	s->acked = av->n->acked;
	s->fp = av->n->fingerprint;
	labels__format(av->n->annotations, s->annot, sizeof(s->annot));
	labels__format(av->n->labels, s->labels, sizeof(s->labels));
	return 0;
}

static int seen_rule(void *arg, const struct group_view *g, const struct rule_view *r)
{
	struct seen *s = arg;

	(void)g;
	snprintf(s->health, sizeof(s->health), "%s", r->health);
	snprintf(s->error, sizeof(s->error), "%s", r->last_error);
	return 0;
}

static struct seen look(struct fx *f)
{
	struct seen s = { 0 };

	alerts__walk(f->a, &(struct alerts_visitor){ .alert = seen_alert, .rule = seen_rule }, &s);
	return s;
}

struct seen_named {
	const char *name;
	struct seen s;
};

static int seen_named_alert(void *arg, const struct group_view *g, const struct rule_view *r,
			    const struct alert_view *av)
{
	struct seen_named *sn = arg;

	return strcmp(r->r->name, sn->name) ? 0 : seen_alert(&sn->s, g, r, av);
}

/* The alert of the rule named name. */
static struct seen look_rule(struct fx *f, const char *name)
{
	struct seen_named sn = { .name = name };

	alerts__walk(f->a, &(struct alerts_visitor){ .alert = seen_named_alert }, &sn);
	return sn.s;
}

static bool has_line(const struct fx *f, const char *want)
{
	for (int i = 0; i < f->out.n; i++)
		if (!strcmp(f->out.line[i], want))
			return true;
	return false;
}

static const char rules_for3[] = "groups:\n"
				 "- name: g\n"
				 "  rules:\n"
				 "  - alert: High\n"
				 "    expr: x > 5\n"
				 "    for: 3s\n"
				 "    labels: {severity: warning, level: \"{{ $value }}\"}\n"
				 "    annotations:\n"
				 "      summary: \"{{ $labels.i }} is {{ $value }}\"\n";

/* x{i="a"} is 10 for t in [0, 9] s, then 0: pending at 0, firing at 3, resolved at 10. */
static void test_pending_firing_resolved(void **state)
{
	struct fx *f;
	struct seen s;

	(void)state;
	f = fx_new("groups:\n- name: g\n  rules:\n  - alert: High\n    expr: x > 5\n    for: 3s\n"
		   "    annotations:\n      summary: \"{{ $labels.i }} is {{ $value }}\"\n");
	for (int t = 0; t <= 20; t++)
		put(f, "x", "i", "a", t * S, t < 10 ? 10 : 0);
	for (int t = 0; t <= 20; t++) {
		alerts__eval(f->a, t * S, 0);
		s = look(f);
		if (t < 3)
			assert_string_equal(s.state, "pending");
		else if (t < 10)
			assert_string_equal(s.state, "firing");
		else
			assert_string_equal(s.state, "resolved");
		assert_int_equal(s.n, 1);
		assert_int_equal(s.active, 0);
		if (t >= 3)
			assert_int_equal(s.fired, 3 * S);
		if (t >= 10)
			assert_int_equal(s.resolved, 10 * S);
	}
	assert_string_equal(s.annot, "{summary=\"a is 10\"}");
	assert_string_equal(s.labels, "{alertname=\"High\", i=\"a\"}");
	/* every round calls the sinks, resolved alerts included */
	assert_int_equal(f->sink_calls, 21);
	assert_int_equal(f->nlast, 1);
	assert_string_equal(f->last_state[0], "resolved");
	assert_int_equal(f->last[0].starts_at_ms, 3 * S);
	assert_int_equal(f->last[0].ends_at_ms, 10 * S);
	assert_string_equal(f->last_group, "g");
	/* Prometheus' generatorURL */
	assert_string_equal(f->last_url, "http://vigil:7470/graph?g0.expr=x+%3E+5&g0.tab=1");
	/* ALERTS from the second evaluation on; pending at 1 and 2, firing from 3 to 9 */
	assert_false(
		has_line(f, "ALERTS{alertname=\"High\", alertstate=\"pending\", i=\"a\"} 0 1"));
	assert_true(has_line(f, "ALERTS{alertname=\"High\", alertstate=\"pending\", i=\"a\"} 1 1"));
	assert_true(has_line(f, "ALERTS{alertname=\"High\", alertstate=\"pending\", i=\"a\"} 2 1"));
	assert_true(
		has_line(f, "ALERTS{alertname=\"High\", alertstate=\"pending\", i=\"a\"} 3 stale"));
	assert_true(has_line(f, "ALERTS{alertname=\"High\", alertstate=\"firing\", i=\"a\"} 3 1"));
	assert_true(has_line(f, "ALERTS{alertname=\"High\", alertstate=\"firing\", i=\"a\"} 9 1"));
	assert_false(
		has_line(f, "ALERTS{alertname=\"High\", alertstate=\"firing\", i=\"a\"} 10 1"));
	assert_true(
		has_line(f, "ALERTS{alertname=\"High\", alertstate=\"firing\", i=\"a\"} 10 stale"));
	assert_true(has_line(f, "ALERTS_FOR_STATE{alertname=\"High\", i=\"a\"} 5 0"));
	/* kept 15 minutes after it resolved, then gone */
	put(f, "x", "i", "a", (10 + 900) * S, 0);
	alerts__eval(f->a, (10 + 900) * S, 0);
	assert_int_equal(look(f).n, 1);
	put(f, "x", "i", "a", (11 + 900) * S, 0);
	alerts__eval(f->a, (11 + 900) * S, 0);
	assert_int_equal(look(f).n, 0);
	fx_free(f);
}

/* A pending alert that stops holding is dropped, not resolved; it starts again from pending. */
static void test_pending_drops(void **state)
{
	struct fx *f = fx_new(rules_for3);
	struct seen s;

	(void)state;
	for (int t = 0; t <= 8; t++)
		put(f, "x", "i", "a", t * S, t == 2 ? 0 : 10);
	for (int t = 0; t <= 8; t++) {
		alerts__eval(f->a, t * S, 0);
		s = look(f);
		if (t == 2) {
			assert_int_equal(s.n, 0);
			continue;
		}
		assert_int_equal(s.n, 1);
		assert_int_equal(s.active, t < 2 ? 0 : 3 * S);
		assert_string_equal(s.state, t < 6 ? "pending" : "firing");
	}
	/* labels templated with the value that made the alert */
	assert_string_equal(s.labels,
			    "{alertname=\"High\", i=\"a\", level=\"10\", severity=\"warning\"}");
	fx_free(f);
}

/* for: 0 fires at once; keep_firing_for 2s holds it firing two more evaluations. */
static void test_keep_firing_for(void **state)
{
	struct fx *f = fx_new("groups:\n- name: g\n  rules:\n  - alert: K\n    expr: x > 5\n"
			      "    keep_firing_for: 2s\n");
	struct seen s;

	(void)state;
	for (int t = 0; t <= 6; t++)
		put(f, "x", "i", "a", t * S, t < 3 ? 10 : 0);
	for (int t = 0; t <= 6; t++) {
		alerts__eval(f->a, t * S, 0);
		s = look(f);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.state, t < 5 ? "firing" : "resolved");
	}
	assert_int_equal(s.fired, 0);
	assert_int_equal(s.resolved, 5 * S);
	fx_free(f);
}

/* Evaluations a few milliseconds off the grid (the collection interval's ends): for: 3s still fires
 * at the third evaluation after activeAt and keep_firing_for: 2s holds for two, as on
 * Prometheus' exact grid (2,999 ms counts as 3 s, 3,004 ms does not make it 4). */
static void test_jittered_evaluations(void **state)
{
	static const int jitter[] = { 0, 3, -2, -1, 4, -3, 3, -4, -2, 0 };
	struct fx *f = fx_new("groups:\n- name: g\n  rules:\n  - alert: J\n    expr: x > 5\n"
			      "    for: 3s\n    keep_firing_for: 2s\n");
	struct seen s;

	(void)state;
	for (int t = 0; t < 10; t++) {
		int64_t ts = t * S + jitter[t];

		put(f, "x", "i", "a", ts, t < 6 ? 10 : 0);
		alerts__eval(f->a, ts, S / 2);
		s = look(f);
		assert_int_equal(s.n, 1);
		/* pending 0-2, firing 3-5, kept firing at 6 and 7, resolved at 8 */
		assert_string_equal(s.state, t < 3 ? "pending" : t < 8 ? "firing" : "resolved");
	}
	assert_int_equal(s.fired, 3 * S + jitter[3]);
	assert_int_equal(s.resolved, 8 * S + jitter[8]);
	fx_free(f);

	/* A 15 s group on 10 s collection ends is evaluated at 0, 10, 30, 40, 60 (the ends nearest
	 * its grid): 10 s is not 15, so for: 15s fires at 30, not at 10. */
	f = fx_new("groups:\n- name: g\n  interval: 15s\n  rules:\n  - alert: Q\n"
		   "    expr: x > 5\n    for: 15s\n");
	for (int t = 0; t <= 30; t += 10) {
		put(f, "x", "i", "a", t * S, 10);
		alerts__eval(f->a, t * S, 5 * S);
		s = look(f);
		assert_string_equal(s.state, t < 30 ? "pending" : "firing");
	}
	assert_int_equal(s.fired, 30 * S);
	fx_free(f);
}

/* A group whose interval is no multiple of the caller's data interval (1 s groups, 2 s data):
 * not evaluated at the data's ends but on its own grid through alerts__eval_timer, so for: 3s
 * fires 3 s after activeAt, not 4; a late call evaluates at the latest grid time (missed ones
 * skipped). */
static void test_group_timer(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *rules = "groups:\n- name: t\n  interval: 1s\n  rules:\n  - alert: T\n"
			    "    expr: x > 5\n    for: 3s\n"
			    "- name: d\n  interval: 4s\n  rules:\n  - alert: D\n    expr: x > 5\n";
	char err[256];
	struct seen s;

	(void)state;
	f->ts = tsmem__new();
	f->a = alerts__new(&(struct alerts_opts){ .src = tsmem__source(f->ts),
						  .append = on_append,
						  .append_arg = f,
						  .interval_ms = S,
						  .tick_ms = 2 * S });
	assert_non_null(f->a);
	assert_int_equal(
		alerts__add_rules_text(f->a, "r.yml", rules, strlen(rules), err, sizeof(err)), 0);
	for (int t = 0; t <= 20; t += 2)
		put(f, "x", "i", "a", t * S, 10);
	/* at the data's ends only the 4 s group (a multiple of 2 s) */
	assert_int_equal(alerts__eval(f->a, 0, S), 1);
	assert_int_equal(alerts__eval_timer(f->a, 0), 1 * S);
	assert_int_equal(alerts__eval_timer(f->a, 500), 1 * S); /* not due */
	for (int t = 1; t <= 3; t++) {
		assert_int_equal(alerts__eval_timer(f->a, t * S + 7), (t + 1) * S);
		s = look_rule(f, "T");
		assert_string_equal(s.state, t < 3 ? "pending" : "firing");
	}
	assert_int_equal(s.active, 0);
	assert_int_equal(s.fired, 3 * S); /* the grid time, not the call's */
	/* called 2.6 s late: evaluated at 6 s, next at 7 s */
	assert_int_equal(alerts__eval_timer(f->a, 6 * S + 600), 7 * S);
	assert_int_equal(alerts__eval(f->a, 4 * S, S), 1);
	fx_free(f);
}

/* Recording rules: renamed series with the rule's labels, a staleness marker when one ends. */
static void test_recording(void **state)
{
	struct fx *f = fx_new("groups:\n- name: r\n  rules:\n  - record: job:x:sum\n"
			      "    expr: sum by (i) (x)\n    labels: {team: db}\n"
			      "  - alert: FromRecord\n    expr: job:x:sum > 5\n");
	struct seen s;

	(void)state;
	put(f, "x", "i", "a", 0, 10);
	put(f, "x", "i", "b", 0, 1);
	alerts__eval(f->a, 0, 0);
	assert_true(has_line(f, "job:x:sum{i=\"a\", team=\"db\"} 0 10"));
	assert_true(has_line(f, "job:x:sum{i=\"b\", team=\"db\"} 0 1"));
	/* the group's next rule sees the recorded series at the same evaluation */
	s = look(f);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.state, "firing");
	assert_string_equal(s.labels, "{alertname=\"FromRecord\", i=\"a\", team=\"db\"}");
	/* b goes away (a staleness marker at 400 s ends it) */
	put(f, "x", "i", "a", 400 * S, 10);
	put(f, "x", "i", "b", 400 * S, pq_stale_nan());
	alerts__eval(f->a, 400 * S, 0);
	assert_true(has_line(f, "job:x:sum{i=\"b\", team=\"db\"} 400 stale"));
	assert_true(has_line(f, "job:x:sum{i=\"a\", team=\"db\"} 400 10"));
	fx_free(f);
}

/* A group limit: more alerts than allowed fails the rule and drops its alerts. */
static void test_limit_and_errors(void **state)
{
	struct fx *f = fx_new("groups:\n- name: g\n  limit: 1\n  rules:\n  - alert: L\n"
			      "    expr: x > 5\n");
	struct seen s;
	char err[300];

	(void)state;
	put(f, "x", "i", "a", 0, 10);
	put(f, "x", "i", "b", 0, 10);
	alerts__eval(f->a, 0, 0);
	s = look(f);
	assert_int_equal(s.n, 0);
	assert_string_equal(s.health, "err");
	assert_string_equal(s.error, "exceeded limit of 1 with 2 alerts");
	/* a rule on a metric that does not exist: healthy and inactive */
	assert_int_equal(alerts__add_rules_text(f->a, "r.yml",
						"groups:\n- name: g\n  rules:\n  - alert: M\n"
						"    expr: no_such_metric > 0\n",
						62, err, sizeof(err)),
			 0);
	alerts__eval(f->a, S, 0);
	s = look(f);
	assert_int_equal(s.n, 0);
	assert_string_equal(s.health, "ok");
	/* an unknown function is refused with the origin and line */
	assert_int_equal(alerts__add_rules_text(f->a, "api",
						"groups:\n- name: g\n  rules:\n  - alert: M\n"
						"    expr: nosuch(x) > 0\n",
						57, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "api:5: "));
	assert_non_null(strstr(err, "nosuch"));
	fx_free(f);
}

/* A reload with the same rule keeps the alert's state (as Prometheus' reload). */
static void test_reload_keeps_state(void **state)
{
	struct fx *f = fx_new(rules_for3);
	char err[300];
	struct seen s;

	(void)state;
	for (int t = 0; t <= 5; t++)
		put(f, "x", "i", "a", t * S, 10);
	for (int t = 0; t <= 4; t++)
		alerts__eval(f->a, t * S, 0);
	assert_int_equal(alerts__add_rules_text(f->a, "r.yml", rules_for3, strlen(rules_for3), err,
						sizeof(err)),
			 0);
	alerts__eval(f->a, 5 * S, 0);
	s = look(f);
	assert_string_equal(s.state, "firing");
	assert_int_equal(s.active, 0);
	assert_int_equal(s.fired, 3 * S);
	fx_free(f);
}

/* Alertmanager's fingerprint: prometheus/common's model signature test vectors. */
static void test_fingerprint(void **state)
{
	struct label l[] = { { "name", "garland, briggs" }, { "fear", "love is not enough" } };
	struct labels *ls = labels__new(l, 2), *e = labels__empty();

	(void)state;
	assert_true(alert_fingerprint(e) == 14695981039346656037ULL);
	assert_true(alert_fingerprint(ls) == 5799056148416392346ULL);
	labels__unref(ls);
	labels__unref(e);
}

static void test_silence_ack_inhibit(void **state)
{
	struct fx *f =
		fx_new("groups:\n- name: g\n  rules:\n"
		       "  - alert: Disk\n    expr: x > 5\n    labels: {severity: warning}\n"
		       "  - alert: Disk\n    expr: x > 8\n    labels: {severity: critical}\n");
	struct silence_matcher m = {
		.name = "alertname", .value = "Di.*", .is_regex = true, .is_equal = true
	};
	struct silence sil = { .m = &m,
			       .nm = 1,
			       .starts_at_ms = 0,
			       .ends_at_ms = 10 * S,
			       .created_by = "me",
			       .comment = "maintenance" };
	char id[64], err[256];
	int warn = -1, crit = -1;

	(void)state;
	put(f, "x", "i", "a", 0, 9);
	alerts__eval(f->a, 0, 0);
	assert_int_equal(f->nlast, 2);
	for (size_t i = 0; i < 2; i++) {
		if (f->last[i].inhibited)
			warn = (int)i;
		else
			crit = (int)i;
	}
	/* the critical one inhibits the warning with the same other labels */
	assert_true(warn >= 0 && crit >= 0);
	assert_false(f->last[crit].silenced);
	/* a silence from 1 s to 10 s */
	assert_int_equal(alerts__silence_put(f->a, &sil, S, id, sizeof(id), err, sizeof(err)), 0);
	assert_int_equal(strlen(id), 36);
	put(f, "x", "i", "a", 2 * S, 9);
	alerts__eval(f->a, 2 * S, 0);
	assert_true(f->last[0].silenced && f->last[1].silenced);
	/* ack one by fingerprint; acks of unknown fingerprints fail */
	assert_int_equal(alerts__ack(f->a, f->last[0].fingerprint, 2 * S), 0);
	assert_int_equal(alerts__ack(f->a, 12345, 2 * S), -ENOENT);
	put(f, "x", "i", "a", 3 * S, 9);
	alerts__eval(f->a, 3 * S, 0);
	assert_true(f->last[0].acked);
	assert_false(f->last[1].acked);
	/* expired silence: no longer silenced */
	assert_int_equal(alerts__silence_expire(f->a, id, 4 * S), 0);
	assert_int_equal(alerts__silence_expire(f->a, id, 4 * S), -EINVAL);
	put(f, "x", "i", "a", 5 * S, 6);
	alerts__eval(f->a, 5 * S, 0);
	assert_int_equal(f->nlast, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_false(f->last[i].silenced);
		/* the critical one resolved: the warning is no longer inhibited; ack cleared */
		assert_false(f->last[i].inhibited);
		if (!strcmp(f->last_state[i], "resolved"))
			assert_false(f->last[i].acked);
	}
	/* invalid silences, as Alertmanager refuses them */
	m.value = ".*";
	assert_int_equal(alerts__silence_put(f->a, &sil, S, id, sizeof(id), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "at least one matcher must not match the empty string");
	m.value = "x";
	sil.ends_at_ms = 0;
	assert_int_equal(alerts__silence_put(f->a, &sil, S, id, sizeof(id), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "failed to create silence: start time must be before end time");
	fx_free(f);
}

static void test_inhibit_rules(void **state)
{
	struct fx *f = fx_new("groups:\n- name: g\n  rules:\n"
			      "  - alert: Down\n    expr: x > 5\n"
			      "  - alert: Slow\n    expr: x > 5\n");
	struct inhibit_rule r = { 0 };
	struct label_matcher m;
	char err[200];

	(void)state;
	assert_int_equal(alert_matcher_parse("alertname=\"Down\"", &m, err, sizeof(err)), 0);
	r.source = calloc(1, sizeof(m));
	r.source[0] = m;
	r.nsource = 1;
	assert_int_equal(alert_matcher_parse("alertname =~ Sl.*", &m, err, sizeof(err)), 0);
	r.target = calloc(1, sizeof(m));
	r.target[0] = m;
	r.ntarget = 1;
	r.equal = calloc(1, sizeof(char *));
	r.equal[0] = strdup("i");
	r.nequal = 1;
	assert_int_equal(alerts__set_inhibit_rules(f->a, &r, 1), 0);
	assert_int_equal(alert_matcher_parse("a=", &m, err, sizeof(err)), 0);
	label_matcher_release(&m);
	assert_int_equal(alert_matcher_parse("=x", &m, err, sizeof(err)), -EINVAL);
	put(f, "x", "i", "a", 0, 9);
	alerts__eval(f->a, 0, 0);
	assert_int_equal(f->nlast, 2);
	for (size_t i = 0; i < 2; i++)
		assert_true(f->last[i].inhibited == !strcmp(f->last_name[i], "Slow"));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pending_firing_resolved),
		cmocka_unit_test(test_pending_drops),
		cmocka_unit_test(test_keep_firing_for),
		cmocka_unit_test(test_jittered_evaluations),
		cmocka_unit_test(test_group_timer),
		cmocka_unit_test(test_recording),
		cmocka_unit_test(test_limit_and_errors),
		cmocka_unit_test(test_reload_keeps_state),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_silence_ack_inhibit),
		cmocka_unit_test(test_inhibit_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
