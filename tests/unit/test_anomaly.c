// SPDX-License-Identifier: GPL-2.0
/* Unit tests: the online anomaly detector (analytics/anomaly.h) on synthetic series of known shape. */
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

#include "analytics/anomaly.h"

#define STEP 300.0 /* 5-minute points, as NAB's */
#define ALARM 0.35 /* about where NAB's standard profile puts the threshold */

/* Deterministic standard normal deviates (xorshift64* + Box-Muller). */
static uint64_t rng = 88172645463325252ull;

static double uniform(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

static double gauss(void)
{
	double u = uniform(), v = uniform();

	return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static double *noise(size_t n, double level, double sd)
{
	double *v = malloc(n * sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = level + sd * gauss();
	return v;
}

/* Scores of v[0..n) with default options; the caller frees. */
static double *score(const double *v, size_t n)
{
	double *ts = malloc(n * sizeof(*ts)), *s = malloc(n * sizeof(*s));

	assert_non_null(ts);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		ts[i] = 1.4e9 + i * STEP;
	assert_int_equal(anomaly_score_series(ts, v, n, NULL, s), 0);
	free(ts);
	return s;
}

static size_t alarms(const double *s, size_t from, size_t to)
{
	size_t k = 0;

	for (size_t i = from; i < to; i++) {
		assert_true(s[i] >= 0 && s[i] <= 1);
		k += s[i] >= ALARM;
	}
	return k;
}

/* First index in [from, to) scoring >= ALARM, or to. */
static size_t first_alarm(const double *s, size_t from, size_t to)
{
	while (from < to && s[from] < ALARM)
		from++;
	return from;
}

static void test_quiet_noise_spike(void **state)
{
	size_t n = 4000;
	double *v = noise(n, 50, 2), *s;

	(void)state;
	v[3000] = 50 + 12 * 2; /* 12 sigma */
	s = score(v, n);
	/* Gaussian noise: at most one alarm in 500 points (the scores are tail probabilities; this
	 * seed gives 3 in 2400) */
	if (alarms(s, 600, 3000) > 5)
		fail_msg("%zu alarms in 2400 points of noise", alarms(s, 600, 3000));
	assert_true(s[3000] >= 0.5);
	free(v);
	free(s);
}

/*
 * A nightly job: 5-minute points of noise with a burst of 30 sigma at 03:00 (give or take 10
 * minutes) every night for ten nights. The first nights alarm; once it has come at that time on
 * three of the last seven nights it is the schedule, and its evidence is damped. A burst larger
 * than any night's, at another time of day, still alarms.
 */
static void test_scheduled(void **state)
{
	size_t day = 288, n = 12 * day, first = 0, late = 0;
	double *v = noise(n, 20, 1), *s;

	(void)state;
	for (size_t k = 1; k <= 10; k++) {
		size_t at = k * day + 36 + (k * 7) % 5 - 2; /* 03:00 +- 10 minutes */

		for (size_t j = 0; j < 3; j++)
			v[at + j] = 50 + gauss();
	}
	v[11 * day + 150] = 80; /* 12:30 on day 11: larger than ever */
	s = score(v, n);
	for (size_t k = 1; k <= 3; k++)
		first += alarms(s, k * day + 30, k * day + 45) > 0;
	for (size_t k = 6; k <= 10; k++)
		late += alarms(s, k * day + 30, k * day + 45) > 0;
	if (first < 2 || late > 1)
		fail_msg(
			"nights 1-3: %zu of 3 alarmed (want >= 2); nights 6-10: %zu of 5 (want <= 1)",
			first, late);
	assert_true(s[11 * day + 150] >= ALARM);
	free(v);
	free(s);
}

static void test_level_shift(void **state)
{
	size_t n = 4000;
	double *v = noise(n, 50, 2), *s;

	(void)state;
	for (size_t i = 3000; i < n; i++)
		v[i] += 5 * 2; /* +5 sigma from here on: no single point is extreme */
	s = score(v, n);
	assert_true(alarms(s, 600, 3000) <= 2);
	/* found within the short window, and not for ever after: the detector adapts */
	assert_true(first_alarm(s, 3000, n) < 3000 + 8);
	assert_true(alarms(s, 3400, n) <= 2);
	free(v);
	free(s);
}

static void test_daily_cycle(void **state)
{
	/* A daily sine at 5-minute points (288 per day) with small noise; on day 10 the value stays at
	 * the mean for 60 points: every value is ordinary, only its time of day is wrong. */
	size_t n = 288 * 12, start = 288 * 10 + 50;
	double *v = noise(n, 0, 0.5), *ts = malloc(n * sizeof(*ts)), *s = malloc(n * sizeof(*s));
	struct anomaly_detector *d = anomaly__new(NULL);
	struct anomaly_point p;

	(void)state;
	assert_non_null(d);
	for (size_t i = 0; i < n; i++) {
		v[i] += 50 + 20 * sin(2 * M_PI * i / 288.0);
		if (i >= start && i < start + 60)
			v[i] = 50 + 0.5 * gauss();
		ts[i] = 1.4e9 + i * STEP;
		s[i] = anomaly__update(d, ts[i], v[i], &p);
		assert_true(s[i] >= 0);
	}
	assert_true(p.period == 288); /* the daily cycle was found */
	assert_true(isfinite(p.expected));
	assert_true(alarms(s, 900, start) <= 2);
	assert_true(first_alarm(s, start, start + 60) < start + 60);
	anomaly__free(d);
	free(v);
	free(ts);
	free(s);
}

static void test_flatline(void **state)
{
	size_t n = 2000;
	double v[2000], *s;

	(void)state;
	for (size_t i = 0; i < n; i++)
		v[i] = i < 1500 ? 45 : 46;
	s = score(v, n);
	assert_int_equal(alarms(s, 0, 1500), 0);
	assert_true(s[1500] >= 0.5);
	free(s);
}

static void test_online(void **state)
{
	/* A point's score uses only the past: changing the future changes no earlier score. */
	size_t n = 3000, cut = 2000;
	double *a = noise(n, 10, 1), *b = malloc(n * sizeof(*b)), *sa, *sb;

	(void)state;
	memcpy(b, a, n * sizeof(*b));
	for (size_t i = cut; i < n; i++)
		b[i] = 1000 - b[i];
	sa = score(a, n);
	sb = score(b, n);
	assert_memory_equal(sa, sb, cut * sizeof(*sa));
	assert_memory_not_equal(sa + cut, sb + cut, (n - cut) * sizeof(*sa));
	free(a);
	free(b);
	free(sa);
	free(sb);
}

static void test_api(void **state)
{
	struct anomaly_opts o;
	struct anomaly_detector *d;
	struct anomaly_point p;

	(void)state;
	anomaly_opts_default(&o);
	assert_int_equal(anomaly_opts_set(&o, "window", "144"), 0);
	assert_true(o.window == 144);
	assert_int_equal(anomaly_opts_set(&o, "methods", "extreme+level"), 0);
	assert_int_equal(o.methods, (1u << ANOMALY_EXTREME) | (1u << ANOMALY_LEVEL));
	assert_int_equal(anomaly_opts_set(&o, "methods", "extreme+bogus"), -EINVAL);
	assert_int_equal(anomaly_opts_set(&o, "window", "2"), -EINVAL);
	assert_int_equal(anomaly_opts_set(&o, "window", "12x"), -EINVAL);
	assert_int_equal(anomaly_opts_set(&o, "nosuch", "1"), -EINVAL);
	assert_string_equal(anomaly_method_name(ANOMALY_SEASONAL), "seasonal");
	d = anomaly__new(&o);
	assert_non_null(d);
	assert_true(anomaly__update(d, 0, NAN, &p) == -EINVAL);
	assert_true(anomaly__update(d, 0, INFINITY, NULL) == -EINVAL);
	assert_int_equal(anomaly__count(d), 0);
	assert_true(anomaly__update(d, 0, 1, &p) == 0);
	assert_int_equal(p.method, ANOMALY_NONE);
	assert_int_equal(anomaly__count(d), 1);
	anomaly__free(d);
	anomaly__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_noise_spike),
		cmocka_unit_test(test_level_shift),
		cmocka_unit_test(test_scheduled),
		cmocka_unit_test(test_daily_cycle),
		cmocka_unit_test(test_flatline),
		cmocka_unit_test(test_online),
		cmocka_unit_test(test_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
