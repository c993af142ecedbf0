// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: the rule engine's link hook (alerts.h, alerts_opts.link) over an in-memory store,
 * evaluated every second: what a rule reads through recording rules (names, range), which alerts
 * get their own generatorURL and when the hook is asked again, annotations added once at firing
 * and kept through every later evaluation (the rule's own winning a clash), contexts released on
 * reload; and the service's window for those links (alerting_link_window) and CPU / latency rules.
 */
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
#include "service/alerting.h"

#define S 1000LL

struct rule_seen {
	char name[32], metrics[128];
	int64_t range_ms, interval_ms;
};

struct fx {
	struct tsmem *ts;
	struct alerts *a;
	struct rule_seen rules[8];
	int nrules, released, link_calls, annotate_calls;
	int64_t last_now;
	char url[8][200], annot[8][300], name[8][32];
	size_t nlast;
};

static int on_append(void *arg, const struct labels *l, int64_t t, double v)
{
	struct fx *f = arg;

	return tsmem__append(f->ts, (struct labels *)l, t, v);
}

static void on_sink(void *arg, const struct alert_notice *n, size_t cnt, int64_t now)
{
	struct fx *f = arg;

	(void)now;
	f->nlast = cnt < 8 ? cnt : 8;
	for (size_t i = 0; i < f->nlast; i++) {
		snprintf(f->url[i], sizeof(f->url[i]), "%s", n[i].generator_url);
		labels__format(n[i].annotations, f->annot[i], sizeof(f->annot[i]));
		snprintf(f->name[i], sizeof(f->name[i]), "%s",
			 labels__get(n[i].labels, "alertname"));
	}
}

/* Takes the rules that read cpu_total; their context is the range. */
static void *link_rule(void *arg, const struct alerts_rule_inputs *in)
{
	struct fx *f = arg;
	struct rule_seen *r = &f->rules[f->nrules++ % 8];
	bool cpu = false;
	size_t o = 0;

	snprintf(r->name, sizeof(r->name), "%s", in->r->name);
	r->metrics[0] = '\0';
	for (size_t i = 0; i < in->nmetrics; i++) {
		o += (size_t)snprintf(r->metrics + o, sizeof(r->metrics) - o, "%s%s", i ? "," : "",
				      in->metrics[i]);
		cpu |= !strcmp(in->metrics[i], "cpu_total");
	}
	r->range_ms = in->range_ms;
	r->interval_ms = in->interval_ms;
	if (!cpu)
		return NULL;
	int64_t *ctx = malloc(sizeof(*ctx));

	*ctx = in->range_ms;
	return ctx;
}

static char *link_alert(void *arg, void *ctx, const struct alerts_link_req *q,
			struct labels **annotations)
{
	struct fx *f = arg;
	int64_t back = *(int64_t *)ctx, to;
	char *u = malloc(100);

	f->link_calls++;
	f->last_now = q->now_ms;
	to = q->resolved_at_ms ? q->resolved_at_ms : q->fired_at_ms ? q->fired_at_ms : q->now_ms;
	snprintf(u, 100, "diff?from=%lld&to=%lld", (long long)((q->n->active_at_ms - back) / S),
		 (long long)(to / S));
	assert_true(q->annotate == (annotations != NULL));
	if (annotations) {
		struct label l[] = { { "summary", "ignored: the rule's own wins" },
				     { "top", "hot_fn 0% -> 90%" } };

		assert_int_equal(q->n->state, ALERT_FIRING);
		f->annotate_calls++;
		*annotations = labels__new(l, 2);
	}
	return u;
}

static void link_release(void *arg, void *ctx)
{
	struct fx *f = arg;

	f->released++;
	free(ctx);
}

static const char rules[] = "groups:\n"
			    "- name: g\n"
			    "  rules:\n"
			    "  - record: job:cpu:avg5s\n"
			    "    expr: avg_over_time(cpu_total[5s])\n"
			    "  - alert: Hot\n"
			    "    expr: max_over_time(job:cpu:avg5s[2s]) > 5\n"
			    "    for: 2s\n"
			    "    annotations: {summary: \"{{ $value }}\"}\n"
			    "  - alert: Other\n"
			    "    expr: y > 5\n";

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512] = "";

	assert_non_null(f);
	f->ts = tsmem__new();
	assert_non_null(f->ts);
	f->a = alerts__new(&(struct alerts_opts){
		.src = tsmem__source(f->ts),
		.append = on_append,
		.append_arg = f,
		.interval_ms = S,
		.external_url = "http://vigil:7470",
		.link = { .rule = link_rule,
			  .alert = link_alert,
			  .release = link_release,
			  .arg = f },
	});
	assert_non_null(f->a);
	if (alerts__add_rules_text(f->a, "r.yml", rules, strlen(rules), err, sizeof(err)))
		fail_msg("rules refused: %s", err);
	assert_int_equal(alerts__add_sink(f->a, on_sink, f), 0);
	return f;
}

static void put(struct fx *f, const char *name, int64_t t, double v)
{
	struct label l[] = { { "__name__", name }, { "comm", "spin" } };
	struct labels *ls = labels__new(l, 2);

	assert_int_equal(tsmem__append(f->ts, ls, t, v), 0);
	labels__unref(ls);
}

static const char *url_of(struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->nlast; i++)
		if (!strcmp(f->name[i], name))
			return f->url[i];
	return NULL;
}

static const char *annot_of(struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->nlast; i++)
		if (!strcmp(f->name[i], name))
			return f->annot[i];
	return NULL;
}

static int walk_url(void *arg, const struct group_view *g, const struct rule_view *r,
		    const struct alert_view *av)
{
	(void)g;
	if (!strcmp(r->r->name, "Hot"))
		snprintf(arg, 200, "%s", av->n->generator_url);
	return 0;
}

/*
 * cpu_total is 10 from t = 0 to 9 s, then 0; y is 10 throughout. Hot (through the recording rule:
 * range 5 s + 2 s) is pending at 0, firing at 2, resolved once the 5 s average and its 2 s maximum
 * fall to 5 or below; Other fires at 0 and keeps Prometheus' link.
 */
static void test_links_through_recording_rules(void **state)
{
	struct fx *f = fx_new();
	char walked[200] = "", err[300];

	(void)state;
	for (int t = 0; t <= 30; t++) {
		put(f, "cpu_total", t * S, t < 10 ? 10 : 0);
		put(f, "y", t * S, 10);
	}
	for (int t = 0; t <= 30; t++) {
		int before = f->link_calls;

		alerts__eval(f->a, t * S, 0);
		if (t == 0) {
			/* asked once per alerting rule, with what it reads */
			assert_int_equal(f->nrules, 2);
			assert_string_equal(f->rules[0].name, "Hot");
			assert_string_equal(f->rules[0].metrics, "cpu_total");
			assert_int_equal(f->rules[0].range_ms, 7 * S);
			assert_int_equal(f->rules[0].interval_ms, S);
			assert_string_equal(f->rules[1].name, "Other");
			assert_string_equal(f->rules[1].metrics, "y");
			assert_int_equal(f->rules[1].range_ms, 0);
			/* pending: its window ends now */
			assert_string_equal(url_of(f, "Hot"), "diff?from=-7&to=0");
			assert_null(strstr(annot_of(f, "Hot"), "top="));
		}
		if (t == 1)
			assert_string_equal(url_of(f, "Hot"), "diff?from=-7&to=1");
		if (t == 2) {
			/* fired: asked once with annotate; the window ends when it fired */
			assert_int_equal(f->annotate_calls, 1);
			assert_string_equal(url_of(f, "Hot"), "diff?from=-7&to=2");
			assert_string_equal(annot_of(f, "Hot"),
					    "{summary=\"10\", top=\"hot_fn 0% -> 90%\"}");
		}
		if (t > 2 && t < 10) {
			/* firing: not asked again, the annotations kept through re-evaluation */
			assert_int_equal(f->link_calls, before);
			assert_string_equal(annot_of(f, "Hot"),
					    "{summary=\"10\", top=\"hot_fn 0% -> 90%\"}");
		}
		/* Prometheus' link for the rule the hook did not take */
		assert_string_equal(url_of(f, "Other"),
				    "http://vigil:7470/graph?g0.expr=y+%3E+5&g0.tab=1");
	}
	/* resolved: asked once more, the window ends when it resolved (the average of [t-5, t] is
	 * 5 at t = 12 when it was already falling: the 2 s maximum last held at t = 13) */
	assert_int_equal(f->annotate_calls, 1);
	assert_string_equal(url_of(f, "Hot"), "diff?from=-7&to=14");
	/* the value it last held (6.67 at t = 13), the hook's annotation kept */
	assert_string_equal(annot_of(f, "Hot"),
			    "{summary=\"6.666666666666667\", top=\"hot_fn 0% -> 90%\"}");
	alerts__walk(f->a, &(struct alerts_visitor){ .alert = walk_url }, walked);
	assert_string_equal(walked, "diff?from=-7&to=14");
	/* pending 0, 1; fired 2; resolved: 4 calls in all */
	assert_int_equal(f->link_calls, 4);
	/* a reload asks the rules again and releases the old contexts (one: Other had none) */
	assert_int_equal(
		alerts__add_rules_text(f->a, "r.yml", rules, strlen(rules), err, sizeof(err)), 0);
	assert_int_equal(f->released, 1);
	alerts__eval(f->a, 31 * S, 0);
	assert_int_equal(f->nrules, 4);
	alerts__free(f->a);
	assert_int_equal(f->released, 2);
	tsmem__free(f->ts);
	free(f);
}

static struct alerts_link_req req(int64_t active, int64_t fired, int64_t resolved, int64_t now)
{
	static struct alert_notice n;

	n.active_at_ms = active;
	return (struct alerts_link_req){
		.n = &n, .fired_at_ms = fired, .resolved_at_ms = resolved, .now_ms = now
	};
}

/* The service's window: back = range + 1.5 intervals; ends when fired, resolved, or now. */
static void test_service_window(void **state)
{
	static const char *const cpu[] = { "up", "vigil_cpu_seconds_total" };
	static const char *const lat[] = { "vigil_runq_latency_seconds_bucket" };
	static const char *const other[] = { "vigil_process_resident_bytes", "up" };
	struct alerts_link_req q;
	int64_t from, to, back = alerting_link_back(3 * S, S);

	(void)state;
	assert_int_equal(back, 4500);
	q = req(100 * S, 0, 0, 101 * S);
	alerting_link_window(back, &q, &from, &to);
	assert_int_equal(from, 95500);
	assert_int_equal(to, 101 * S);
	q = req(100 * S, 103 * S, 0, 200 * S);
	alerting_link_window(back, &q, &from, &to);
	assert_int_equal(to, 103 * S);
	q = req(100 * S, 103 * S, 150 * S, 200 * S);
	alerting_link_window(back, &q, &from, &to);
	assert_int_equal(from, 95500);
	assert_int_equal(to, 150 * S);
	/* a window over 31 days keeps its last 31 days */
	q = req(100 * S, 103 * S, 100 * S + 40LL * 86400 * S, 0);
	alerting_link_window(back, &q, &from, &to);
	assert_int_equal(to - from, 31LL * 86400 * S);
	assert_true(alerting_links_to_diff(cpu, 2));
	assert_true(alerting_links_to_diff(lat, 1));
	assert_false(alerting_links_to_diff(other, 2));
	assert_false(alerting_links_to_diff(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links_through_recording_rules),
		cmocka_unit_test(test_service_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
