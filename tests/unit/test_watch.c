// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: vigil.yml's anomalies: and capacity: sections (accepted, refused with file and line),
 * and their evaluation over an in-memory store: a level shift opens an anomaly with the score and
 * expected series emitted, a replay of the history scores the next point as uninterrupted feeding
 * does (restart), a line growing toward a limit gets the right time to it.
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

#include "analytics/incidents.h"
#include "analytics/tsmem.h"
#include "analytics/watch.h"

static int parse(const char *yaml, struct watch_config *c, char *err, size_t errlen)
{
	int line = 0, rc;
	struct ydoc *d = ydoc_load(yaml, strlen(yaml), err, errlen, &line);
	ynode root;

	assert_non_null(d);
	root = ydoc_root(d);
	rc = anomalies_config_parse(d, ymap_get(d, root, "anomalies"), "vigil.yml", c, err, errlen);
	if (!rc)
		rc = capacity_config_parse(d, ymap_get(d, root, "capacity"), "vigil.yml", c, err,
					   errlen);
	ydoc_free(d);
	return rc;
}

static void test_config_ok(void **state)
{
	struct watch_config c = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(parse("anomalies:\n"
			       "  - name: cpu\n"
			       "    expr: sum by (comm) (rate(vigil_cpu_seconds_total[1m]))\n"
			       "  - name: rss\n"
			       "    expr: vigil_process_resident_bytes\n"
			       "    sensitivity: high\n"
			       "    detector: {warmup: 8, min_hist: 16}\n"
			       "capacity:\n"
			       "  - name: disk\n"
			       "    expr: vigil_store_bytes\n"
			       "    limit: 1e9\n"
			       "    window: 10m\n",
			       &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.nan, 2);
	assert_string_equal(c.an[0].name, "cpu");
	assert_true(fabs(c.an[0].sensitivity - 0.5) < 1e-12);
	assert_true(fabs(c.an[0].threshold - 0.5) < 1e-12);
	assert_true(fabs(c.an[1].threshold - 0.3) < 1e-12);
	assert_true(c.an[1].opts.warmup == 8 && c.an[1].opts.min_hist == 16);
	assert_int_equal(c.ncap, 1);
	assert_true(c.cap[0].limit == 1e9);
	assert_int_equal(c.cap[0].window_ms, 600000);
	assert_int_equal(c.cap[0].line, 9);
	watch_config_release(&c);
	assert_int_equal(c.nan, 0);
}

static void test_config_errors(void **state)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{ "anomalies:\n  - name: a\n    expr: up\n    bogus: 1\n",
		  "vigil.yml:4: anomalies[0]: unknown key 'bogus'" },
		{ "anomalies:\n  - expr: up\n", "vigil.yml:2: anomalies[0]: no name" },
		{ "anomalies:\n  - name: a\n", "vigil.yml:2: anomalies[0] 'a': no expr" },
		{ "anomalies:\n  - name: a\n    expr: rate(up)\n",
		  "vigil.yml:3: anomalies[0] 'a': bad expr:" },
		{ "anomalies:\n  - name: a\n    expr: up[5m]\n",
		  "vigil.yml:3: anomalies[0] 'a': expr gives a range vector" },
		{ "anomalies:\n  - name: a\n    expr: up\n    sensitivity: 2\n",
		  "vigil.yml:4: anomalies[0] 'a': bad sensitivity '2'" },
		{ "anomalies:\n  - name: a\n    expr: up\n  - name: a\n    expr: up\n",
		  "vigil.yml:4: anomalies[1]: name 'a' already used at line 2" },
		{ "anomalies:\n  - name: a\n    expr: up\n    detector: {warmup: x}\n",
		  "vigil.yml:4: anomalies[0] 'a': bad detector knob warmup: 'x'" },
		{ "anomalies: {name: a}\n", "vigil.yml:1: anomalies: want a list" },
		{ "capacity:\n  - name: d\n    expr: up\n",
		  "vigil.yml:2: capacity[0] 'd': no limit" },
		{ "capacity:\n  - name: d\n    expr: up\n    limit: lots\n",
		  "vigil.yml:4: capacity[0] 'd': bad limit 'lots'" },
		{ "capacity:\n  - name: d\n    expr: up\n    limit: 1\n    window: 1s\n",
		  "vigil.yml:5: capacity[0] 'd': bad window '1s'" },
		{ "capacity:\n  - name: 1x\n    expr: up\n    limit: 1\n",
		  "vigil.yml:2: capacity[0]: bad name" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct watch_config c = { 0 };
		char err[512] = "";

		assert_int_equal(parse(cases[i].yaml, &c, err, sizeof(err)), -EINVAL);
		if (strncmp(err, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].want);
		watch_config_release(&c);
	}
}

static void test_sensitivity(void **state)
{
	double s;

	(void)state;
	assert_int_equal(watch_parse_sensitivity("low", &s), 0);
	assert_true(s == 0.3);
	assert_int_equal(watch_parse_sensitivity("0.9", &s), 0);
	assert_true(fabs(watch_threshold(s) - 0.1) < 1e-12);
	assert_true(watch_threshold(1) == 0.05 && watch_threshold(0) == 0.95);
	assert_int_equal(watch_parse_sensitivity("-0.1", &s), -EINVAL);
	assert_int_equal(watch_parse_sensitivity("medium-ish", &s), -EINVAL);
}

/* ---- evaluation over tsmem ---- */

struct sink {
	int score, expected, cap;
	double last_score, last_cap;
	char last_labels[256];
};

static int emit(void *arg, const char *metric, const struct labels *l, int64_t t, double v)
{
	struct sink *s = arg;

	(void)t;
	if (!strcmp(metric, "vigil_anomaly_score")) {
		s->score++;
		s->last_score = v;
		labels__format(l, s->last_labels, sizeof(s->last_labels));
	} else if (!strcmp(metric, "vigil_anomaly_expected")) {
		s->expected++;
	} else if (!strcmp(metric, "vigil_capacity_seconds_to_limit")) {
		s->cap++;
		s->last_cap = v;
	}
	return 0;
}

static struct labels *lab(const char *name, const char *k, const char *v)
{
	struct label l[2] = { { LABEL_METRIC_NAME, name }, { k, v } };

	return labels__new(l, 2);
}

/* Noise around 10 for n points at 1 s, then a jump to 30 at point `shift`. */
static double value_at(size_t i, size_t shift)
{
	double noise = (double)((i * 7919) % 13) / 13.0 - 0.5;

	return (i >= shift ? 30 : 10) + noise;
}

static void fill(struct tsmem *ts, size_t n, size_t shift)
{
	struct labels *l = lab("load", "host", "a");

	for (size_t i = 0; i < n; i++)
		assert_int_equal(
			tsmem__append(ts, l, 1000000 + (int64_t)i * 1000, value_at(i, shift)), 0);
	labels__unref(l);
}

static void config_one(struct watch_config *c, const char *yaml)
{
	char err[512] = "";

	if (parse(yaml, c, err, sizeof(err)))
		fail_msg("%s", err);
}

static const char anomaly_yaml[] = "anomalies:\n"
				   "  - name: load\n"
				   "    expr: load\n"
				   "    detector: {warmup: 16, min_hist: 32}\n";

static void test_level_shift(void **state)
{
	struct tsmem *ts = tsmem__new();
	struct watch_config c = { 0 };
	struct pq_source src = tsmem__source(ts);
	struct watcher *w;
	struct sink s = { 0 };
	const struct watch_event *ev;
	size_t n, before = 0;

	(void)state;
	fill(ts, 260, 200);
	config_one(&c, anomaly_yaml);
	w = watcher__new(&c, &src, 1000);
	assert_non_null(w);
	for (size_t i = 0; i < 260; i++) {
		assert_int_equal(watcher__eval(w, 1000000 + (int64_t)i * 1000, emit, &s), 0);
		if (i == 199) {
			watcher__events(w, &before);
		}
	}
	assert_int_equal(before, 0); /* steady noise: nothing */
	assert_int_equal(s.score, 260);
	assert_true(s.expected > 200);
	assert_string_equal(s.last_labels, "vigil_anomaly_score{anomaly=\"load\", host=\"a\"}");
	ev = watcher__events(w, &n);
	assert_true(n >= 1);
	assert_string_equal(ev[0].anomaly, "load");
	assert_string_equal(labels__get(ev[0].labels, "host"), "a");
	assert_true(ev[0].started_ms >= 1000000 + 200 * 1000 &&
		    ev[0].started_ms <= 1000000 + 205 * 1000);
	assert_true(ev[0].score >= c.an[0].threshold);
	assert_true(ev[0].value > 25 && fabs(ev[0].expected - 10) < 1.5);
	assert_true(ev[0].deviation > 3);
	assert_int_equal(watcher__stats(w)->errors, 0);
	watcher__free(w);
	watch_config_release(&c);
	tsmem__free(ts);
}

/* A restarted service replays the stored history: the next point scores as without the stop. */
static void test_replay_equals_feeding(void **state)
{
	struct tsmem *ts = tsmem__new();
	struct watch_config c = { 0 };
	struct pq_source src = tsmem__source(ts);
	struct watcher *a, *b;
	struct sink sa = { 0 }, sb = { 0 };
	size_t na, nb;

	(void)state;
	fill(ts, 240, 200);
	config_one(&c, anomaly_yaml);
	a = watcher__new(&c, &src, 1000);
	b = watcher__new(&c, &src, 1000);
	for (size_t i = 0; i < 240; i++)
		assert_int_equal(watcher__eval(a, 1000000 + (int64_t)i * 1000, emit, &sa), 0);
	assert_int_equal(watcher__replay(b, 1000000, 1000000 + 238 * 1000), 0);
	assert_int_equal(sb.score, 0); /* a replay emits nothing: the series are stored */
	assert_int_equal(watcher__eval(b, 1000000 + 239 * 1000, emit, &sb), 0);
	assert_int_equal(sb.score, 1);
	assert_true(sa.last_score == sb.last_score);
	watcher__events(a, &na);
	watcher__events(b, &nb);
	assert_int_equal(na, nb);
	watcher__free(a);
	watcher__free(b);
	watch_config_release(&c);
	tsmem__free(ts);
}

static void test_capacity(void **state)
{
	struct tsmem *ts = tsmem__new();
	struct watch_config c = { 0 };
	struct pq_source src = tsmem__source(ts);
	struct labels *l = lab("rss", "comm", "db");
	struct watcher *w;
	struct sink s = { 0 };
	const struct watch_capacity_row *r;
	size_t n;

	(void)state;
	/* 1 MB/s from 100 MB, with a little noise; limit 500 MB */
	for (int i = 0; i <= 60; i++)
		tsmem__append(ts, l, 2000000 + i * 1000, 100e6 + i * 1e6 + ((i % 3) - 1) * 1e4);
	labels__unref(l);
	config_one(&c,
		   "capacity:\n  - name: mem\n    expr: rss\n    limit: 500e6\n    window: 30s\n");
	w = watcher__new(&c, &src, 1000);
	assert_int_equal(watcher__eval(w, 2000000 + 60 * 1000, emit, &s), 0);
	r = watcher__capacity(w, &n);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].capacity, "mem");
	assert_string_equal(labels__get(r[0].labels, "comm"), "db");
	assert_int_equal(r[0].points, 31);
	assert_true(fabs(r[0].rate - 1e6) < 2e3);
	assert_true(fabs(r[0].seconds_to_limit - 340) < 2);
	assert_true(r[0].lower <= r[0].seconds_to_limit && r[0].seconds_to_limit <= r[0].upper);
	assert_int_equal(s.cap, 1);
	assert_true(s.last_cap == r[0].seconds_to_limit);
	watcher__free(w);
	watch_config_release(&c);
	tsmem__free(ts);
}

/* An expression that fails at evaluation is counted, not fatal. */
static void test_eval_error_counted(void **state)
{
	struct tsmem *ts = tsmem__new();
	struct watch_config c = { 0 };
	struct pq_source src = tsmem__source(ts);
	struct labels *l1 = lab("x", "a", "1"), *l2 = lab("x", "a", "2");
	struct watcher *w;

	(void)state;
	tsmem__append(ts, l1, 1000, 1);
	tsmem__append(ts, l2, 1000, 1);
	/* many-to-many matching: an execution error */
	config_one(&c, "anomalies:\n  - name: m\n    expr: x + on() x\n");
	w = watcher__new(&c, &src, 1000);
	assert_int_equal(watcher__eval(w, 1000, NULL, NULL), 0);
	assert_int_equal(watcher__stats(w)->errors, 1);
	assert_non_null(strstr(watcher__stats(w)->last_error, "m: "));
	watcher__free(w);
	watch_config_release(&c);
	labels__unref(l1);
	labels__unref(l2);
	tsmem__free(ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_ok),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_sensitivity),
		cmocka_unit_test(test_level_shift),
		cmocka_unit_test(test_replay_equals_feeding),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_eval_error_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
