// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: SLO parsing (errors name FILE:LINE), window scaling and the clamp, the generated rule
 * file (it loads as a rule file; counts and names), and the error-ratio expressions evaluated over
 * counters with known rates. `promtool check rules` on the same output is
 * tests/integration/test_slo.py.
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

#include "analytics/promql.h"
#include "analytics/rulefile.h"
#include "analytics/slo.h"
#include "analytics/tsmem.h"

static const char good[] = "rule_files: [a.yml]\n" /* 1: other sections are ignored */
			   "slos:\n"
			   "  - name: runq-1ms\n" /* 3 */
			   "    objective: 99\n"
			   "    period: 1h\n"
			   "    description: 99% of run-queue waits under 1 ms\n"
			   "    sli:\n"
			   "      latency:\n"
			   "        metric: vigil_runq_latency_seconds\n"
			   "        le: 1e-3\n" /* 10 */
			   "    labels: {team: infra}\n"
			   "    alerting:\n"
			   "      name: RunqBurn\n"
			   "      page_labels: {route: pager}\n"
			   "      ticket_labels: {route: tickets}\n"
			   "      annotations: {runbook: 'https://x/{{ $labels.slo }}'}\n"
			   "  - name: reads\n" /* 17 */
			   "    objective: 99.9\n"
			   "    sli:\n"
			   "      events:\n"
			   "        errors: sum(rate(err_total[{{.window}}]))\n"
			   "        total: sum(rate(req_total[{{ .window }}]))\n";

static void test_parse_good(void **state)
{
	struct slo_set set = { 0 };
	char err[512];

	(void)state;
	assert_int_equal(slo_file_parse(good, strlen(good), "v.yml", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.v[0].name, "runq-1ms");
	assert_true(set.v[0].objective == 99);
	assert_int_equal(set.v[0].period_ms, 3600 * 1000);
	assert_int_equal(set.v[0].sli, SLO_SLI_LATENCY);
	assert_string_equal(set.v[0].metric, "vigil_runq_latency_seconds");
	assert_string_equal(set.v[0].le, "0.001"); /* as Vigil prints its buckets */
	assert_string_equal(set.v[0].alert_name, "RunqBurn");
	assert_int_equal(set.v[0].nlabels, 1);
	assert_int_equal(set.v[0].npage_labels, 1);
	assert_int_equal(set.v[0].line, 3);
	assert_string_equal(set.v[1].period, "30d");
	assert_int_equal(set.v[1].period_ms, SLO_NOMINAL_PERIOD_MS);
	assert_string_equal(set.v[1].alert_name, SLO_ALERT_NAME);
	assert_true(fabs(slo_budget(&set.v[1]) - 0.001) < 1e-15);
	assert_true(slo_budget(&set.v[1]) == 0.001); /* rounded: not 0.0010000000000000009 */

	char *e = slo_error_ratio_expr(&set.v[0], 5000);

	assert_string_equal(e,
			    "1 - (sum(rate(vigil_runq_latency_seconds_bucket{le=\"0.001\"}[5s])) "
			    "/ sum(rate(vigil_runq_latency_seconds_count[5s])))");
	free(e);
	e = slo_error_ratio_expr(&set.v[1], 3600 * 1000);
	assert_string_equal(e, "(sum(rate(err_total[1h]))) / (sum(rate(req_total[1h])))");
	free(e);
	slo_set_release(&set);
	slo_set_release(&set); /* idempotent */
}

static void test_windows(void **state)
{
	struct slo s = { .period_ms = 3600 * 1000 };
	int64_t w[2 * SLO_NBURNS];
	size_t n;

	(void)state;
	/* 1 h: 5m/720 = 0.42 s and 30m/720 = 2.5 s clamp to 4 s; 1h -> 5s, 2h -> 10s, 6h -> 30s,
	 * 1d -> 2m, 3d -> 6m. */
	n = slo_windows(&s, 4000, w);
	assert_int_equal(n, 6);
	int64_t want1h[] = { 4000, 5000, 10000, 30000, 120000, 360000 };

	for (size_t i = 0; i < n; i++)
		assert_int_equal(w[i], want1h[i]);
	/* 30 d: the workbook's windows as they are. */
	s.period_ms = SLO_NOMINAL_PERIOD_MS;
	n = slo_windows(&s, 40000, w);
	assert_int_equal(n, 7);
	int64_t want30d[] = { 300000, 1800000, 3600000, 7200000, 21600000, 86400000, 259200000 };

	for (size_t i = 0; i < n; i++)
		assert_int_equal(w[i], want30d[i]);
	/* 28 d: 1h * 28/30 = 56 min. */
	s.period_ms = 28LL * 86400 * 1000;
	assert_int_equal(slo_window_ms(&s, 3600 * 1000, 1000), 56 * 60 * 1000);
	/* A coarse clamp merges windows: 1 h period at 40 s (10 s interval). */
	s.period_ms = 3600 * 1000;
	n = slo_windows(&s, 40000, w);
	assert_int_equal(n, 3); /* 40s, 2m, 6m */
}

static void test_generated_rules_load(void **state)
{
	struct slo_set set = { 0 };
	struct rule_file rf;
	struct rule_diags d = { 0 };
	char err[512], *text = NULL;
	size_t len;

	(void)state;
	assert_int_equal(slo_file_parse(good, strlen(good), "v.yml", &set, err, sizeof(err)), 0);
	assert_int_equal(slo_rules_text(&set, 1000, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	int rc = rulefile_parse(text, len, "gen.yml", &rf, &d);

	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "gen.yml:%d: %s\n", d.d[i].line, d.d[i].msg);
	assert_int_equal(rc, 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(rf.ngroups, 6);
	/* runq: 6 windows + period, 6 meta; reads: 7 windows + period, 6 meta; 2 alerts each. */
	assert_int_equal(rule_file_count(&rf, RULE_RECORD), 6 + 1 + 6 + 7 + 1 + 6);
	assert_int_equal(rule_file_count(&rf, RULE_ALERT), 4);
	assert_string_equal(rf.groups[0].name, "slo-sli-runq-1ms");
	assert_int_equal(rf.groups[0].interval_ms, 1000);
	assert_string_equal(rf.groups[0].rules[0].name, "slo:sli_error:ratio_rate4s");
	assert_string_equal(rf.groups[0].rules[6].name, "slo:sli_error:ratio_rate1h");
	const struct rule *page = &rf.groups[2].rules[0];

	assert_string_equal(page->name, "RunqBurn");
	assert_non_null(strstr(page->expr_text, "slo:sli_error:ratio_rate4s{slo=\"runq-1ms\"} > "
						"(14.4 * 0.01)"));
	assert_non_null(strstr(page->expr_text, "slo:sli_error:ratio_rate5s{slo=\"runq-1ms\"} > "
						"(14.4 * 0.01)"));
	assert_non_null(strstr(page->expr_text, "ratio_rate30s{slo=\"runq-1ms\"} > (6 * 0.01)"));
	bool sev = false, route = false, team = false;

	for (size_t i = 0; i < page->nlabels; i++) {
		sev |= !strcmp(page->labels[i].name, "severity") &&
		       !strcmp(page->labels[i].value, "page");
		route |= !strcmp(page->labels[i].name, "route") &&
			 !strcmp(page->labels[i].value, "pager");
		team |= !strcmp(page->labels[i].name, "team");
	}
	assert_true(sev && route && team);
	const struct rule *ticket = &rf.groups[2].rules[1];

	assert_non_null(strstr(ticket->expr_text, "ratio_rate2m{slo=\"runq-1ms\"} > (3 * 0.01)"));
	assert_non_null(strstr(ticket->expr_text, "ratio_rate6m{slo=\"runq-1ms\"} > (1 * 0.01)"));
	rule_file_release(&rf);
	rule_diags_release(&d);
	free(text);

	/* No SLOs: still a valid (empty) rule file. */
	struct slo_set none = { 0 };

	assert_int_equal(slo_rules_text(&none, 1000, &text, &len), 0);
	assert_int_equal(rulefile_parse(text, len, "gen.yml", &rf, &d), 0);
	assert_int_equal(rf.ngroups, 0);
	rule_file_release(&rf);
	rule_diags_release(&d);
	free(text);
	slo_set_release(&set);
}

static void append(struct tsmem *ts, const char *name, const char *le, int64_t t, double v)
{
	struct label l[] = { { "__name__", name }, { "le", le } };
	struct labels *ls = labels__new(l, le ? 2 : 1);

	assert_non_null(ls);
	assert_int_equal(tsmem__append(ts, ls, t, v), 0);
	labels__unref(ls);
}

static double eval(struct tsmem *ts, const char *text, int64_t t, bool *empty)
{
	struct pq_source src = tsmem__source(ts);
	struct pq_error err;
	struct pq_expr *e = pq_parse(text, &err);
	struct pq_result r;
	double v = NAN;

	assert_non_null(e);
	assert_int_equal(pq_eval_instant(e, &src, t, NULL, &r, &err), 0);
	assert_int_equal(r.type, PQ_VECTOR);
	*empty = !r.vec.n;
	if (r.vec.n)
		v = r.vec.s[0].v;
	pq_result_release(&r);
	pq_expr__free(e);
	return v;
}

/* 100 observations a second, 90 of them within 1 ms for 60 s, then 40 for 10 s: the ratio over
 * the last 10 s is 0.6, over the first 60 s 0.1. Nothing at all: NaN (no alert). */
static void test_error_ratio_values(void **state)
{
	struct slo_set set = { 0 };
	struct tsmem *ts = tsmem__new();
	char err[512], *e;
	double good_n = 0, all = 0;
	bool empty;

	(void)state;
	assert_int_equal(slo_file_parse(good, strlen(good), "v.yml", &set, err, sizeof(err)), 0);
	for (int64_t s = 0; s <= 70; s++) {
		append(ts, "vigil_runq_latency_seconds_bucket", "0.001", s * 1000, good_n);
		append(ts, "vigil_runq_latency_seconds_bucket", "+Inf", s * 1000, all);
		append(ts, "vigil_runq_latency_seconds_count", NULL, s * 1000, all);
		append(ts, "idle_bucket", "0.001", s * 1000, 0);
		good_n += s < 60 ? 90 : 40;
		all += 100;
	}
	e = slo_error_ratio_expr(&set.v[0], 10000);
	assert_true(fabs(eval(ts, e, 70000, &empty) - 0.6) < 1e-9);
	assert_true(fabs(eval(ts, e, 50000, &empty) - 0.1) < 1e-9);
	free(e);
	/* The burn rate against the 1 % budget: 60x over the last 10 s: a page. */
	assert_true(fabs(0.6 / slo_budget(&set.v[0]) - 60) < 1e-9);
	/* A histogram with no observations: the ratio is NaN, so no alert condition holds. */
	free(set.v[0].metric);
	set.v[0].metric = strdup("idle");
	append(ts, "idle_count", NULL, 69000, 0);
	append(ts, "idle_count", NULL, 70000, 0);
	e = slo_error_ratio_expr(&set.v[0], 10000);
	assert_true(isnan(eval(ts, e, 70000, &empty)));
	free(e);
	tsmem__free(ts);
	slo_set_release(&set);
}

struct bad {
	const char *yaml;
	int line;
	const char *msg;
};

static void test_parse_errors(void **state)
{
	static const char head[] = "slos:\n  - name: x\n"; /* the SLO is line 2 */
	static const char sli[] = "    sli: {latency: {metric: m, le: 0.001}}\n";
	static const struct bad bad[] = {
		{ "    objective: 0.99\n", 3, "objective: 0.99 is outside [1, 100)" },
		{ "    objective: 100\n", 3, "outside [1, 100)" },
		{ "    objective: high\n", 3, "'high' is not a number" },
		{ "    objective: 99\n    period: 1x\n", 4, "period: '1x' is not a duration" },
		{ "    objective: 99\n    period: 30s\n", 4, "of 1m or more" },
		{ "    objective: 99\n    colour: red\n", 4, "unknown key \"colour\"" },
		{ "    objective: 99\n    sli: {latency: {metric: m, le: 0.001}, events: {errors: a, "
		  "total: b}}\n",
		  4, "exactly one of latency or events" },
		{ "    objective: 99\n    sli: {latency: {metric: m_bucket, le: 0.001}}\n", 4,
		  "without _bucket or _count" },
		{ "    objective: 99\n    sli: {latency: {metric: m, le: -1}}\n", 4,
		  "'-1' is not a positive number" },
		{ "    objective: 99\n    sli: {latency: {metric: m}}\n", 4, "\"le\" must be" },
		{ "    objective: 99\n    sli:\n      events:\n        errors: rate(x[{{.window}}]\n"
		  "        total: rate(y[{{.window}}])\n",
		  6, "sli.events.errors: the error ratio" },
		{ "    objective: 99\n    sli:\n      events:\n        errors: x[{{.window}}]\n"
		  "        total: rate(y[{{.window}}])\n",
		  6, "only scalar and instant vector types" },
		{ "    objective: 99\n    sli:\n      events: {errors: a}\n", 5,
		  "missing \"total\"" },
		{ "    objective: 99\n    labels: {slo: y}\n", 4,
		  "label \"slo\" is set by the generated" },
		{ "    objective: 99\n    labels: {severity: y}\n", 4, "label \"severity\"" },
		{ "    objective: 99\n    labels: {0bad: y}\n", 4, "invalid label name \"0bad\"" },
		{ "    objective: 99\n    alerting: {name: my-alert}\n", 4,
		  "not a valid alert name" },
		{ "    objective: 99\n    alerting:\n      annotations: {summary: '{{ .Nope'}\n", 5,
		  "annotations: \"summary\": template: __alert_slo:1: unclosed action" },
	};
	char buf[1024], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct slo_set set = { 0 };
		char want[64];

		snprintf(buf, sizeof(buf), "%s%s%s", head, bad[i].yaml,
			 strstr(bad[i].yaml, "sli:") ? "" : sli);
		int rc = slo_file_parse(buf, strlen(buf), "v.yml", &set, err, sizeof(err));

		if (rc != -EINVAL || !strstr(err, bad[i].msg))
			fail_msg("case %zu: rc %d, '%s' (want '%s')", i, rc, err, bad[i].msg);
		snprintf(want, sizeof(want), "v.yml:%d: slos[0] (x): ", bad[i].line);
		if (strncmp(err, want, strlen(want)))
			fail_msg("case %zu: '%s' does not start with '%s'", i, err, want);
		assert_int_equal(set.n, 0);
	}

	struct {
		const char *yaml, *msg;
	} whole[] = {
		{ "slos: {a: 1}\n", "v.yml:1: slos: must be a list of SLOs" },
		{ "other: 1\n", "v.yml:1: no top-level \"slos:\" list" },
		{ "slos: [\n", "v.yml:" },
		{ "slos:\n  - name: a b\n    objective: 99\n",
		  "v.yml:2: slos[0] (a b): name 'a b'" },
		{ "slos:\n  - objective: 99\n", "v.yml:2: slos[0]: missing \"name\"" },
		{ "slos:\n  - name: a\n    objective: 99\n    sli: {latency: {metric: m, le: 1}}\n"
		  "  - name: a\n    objective: 99\n    sli: {latency: {metric: m, le: 1}}\n",
		  "v.yml:5: slos[1] (a): name 'a' already used by the SLO at line 2" },
	};
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		struct slo_set set = { 0 };
		int rc = slo_file_parse(whole[i].yaml, strlen(whole[i].yaml), "v.yml", &set, err,
					sizeof(err));

		if (rc != -EINVAL || strncmp(err, whole[i].msg, strlen(whole[i].msg)))
			fail_msg("whole %zu: rc %d, '%s' (want '%s...')", i, rc, err, whole[i].msg);
	}
	/* An empty list is fine. */
	struct slo_set set = { 0 };

	assert_int_equal(slo_file_parse("slos: []\n", 9, "v.yml", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 0);
	slo_set_release(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_generated_rules_load),
		cmocka_unit_test(test_error_ratio_values),
		cmocka_unit_test(test_parse_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
