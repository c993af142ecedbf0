// SPDX-License-Identifier: GPL-2.0
/* Unit tests: forecasts, intervals and time-to-limit (analytics/forecast.h). */
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

#include "analytics/forecast.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double gauss(void)
{
	double u, v;

	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	u = ((rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0) + 1e-300;
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	v = ((rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void test_student_t(void **state)
{
	/* Student's t table (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2) */
	static const struct {
		double p, df, t;
	} tab[] = {
		{ 0.975, 1, 12.706 }, { 0.975, 2, 4.303 },   { 0.975, 3, 3.182 },
		{ 0.975, 10, 2.228 }, { 0.95, 5, 2.015 },    { 0.995, 20, 2.845 },
		{ 0.90, 30, 1.310 },  { 0.975, 1e6, 1.960 }, { 0.90, 4, 1.533 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		double t = student_t_quantile(tab[i].p, tab[i].df);

		if (fabs(t - tab[i].t) > 0.002 * tab[i].t + 0.001)
			fail_msg("t(%g, %g) = %.4f, table %.3f", tab[i].p, tab[i].df, t, tab[i].t);
	}
}

static void test_linear_by_hand(void **state)
{
	/* x 1..5, y 2 4 5 4 5: slope 0.6, mean 4 at x = 3, SSE 2.4 (by hand), s = sqrt(2.4 / 3),
	 * Sxx 10; the 95% prediction interval at x = 6 is t(0.975, 3) s sqrt(1 + 1/5 + 9/10). */
	double x[] = { 1, 2, 3, 4, 5 }, y[] = { 2, 4, 5, 4, 5 };
	struct linear_fit f;

	(void)state;
	assert_int_equal(linear_fit(x, y, 5, &f), 0);
	assert_true(fabs(f.b - 0.6) < 1e-12);
	assert_true(fabs(f.a - 4) < 1e-12 && f.t0 == 3);
	assert_true(fabs(f.sigma - sqrt(0.8)) < 1e-12);
	assert_true(fabs(f.sxx - 10) < 1e-12);
	assert_true(fabs(linear_fit_halfwidth(&f, 6, 0.95) - 3.182 * sqrt(0.8) * sqrt(2.1)) < 0.01);
	assert_int_equal(linear_fit(x, y, 2, &f), -EINVAL);
	double same[] = { 1, 1, 1 };
	assert_int_equal(linear_fit(same, y, 3, &f), -EINVAL);
}

static void test_linear_coverage(void **state)
{
	/* A line with Gaussian noise: the 80% band holds about 80% of the future points. */
	size_t n = 1000, h = 400, in80 = 0, in95 = 0;
	double *t = malloc((n + h) * sizeof(*t)), *v = malloc((n + h) * sizeof(*v));
	struct forecast_point *out = calloc(h, sizeof(*out));
	struct forecast_opts o = { .horizon = h, .model = FORECAST_LINEAR };
	struct forecast_info info;

	(void)state;
	for (size_t i = 0; i < n + h; i++) {
		t[i] = 1e9 + 60.0 * i;
		v[i] = 10 + 0.05 * i + 2 * gauss();
	}
	assert_int_equal(forecast_series(t, v, n, &o, out, &info), 0);
	assert_int_equal(info.model, FORECAST_LINEAR);
	for (size_t i = 0; i < h; i++) {
		assert_true(out[i].t == t[n + i]);
		assert_true(out[i].lo95 < out[i].lo80 && out[i].lo80 < out[i].mean);
		assert_true(out[i].mean < out[i].hi80 && out[i].hi80 < out[i].hi95);
		in80 += v[n + i] >= out[i].lo80 && v[n + i] <= out[i].hi80;
		in95 += v[n + i] >= out[i].lo95 && v[n + i] <= out[i].hi95;
	}
	if (in80 < 0.72 * h || in80 > 0.88 * h || in95 < 0.90 * h)
		fail_msg("coverage 80%%: %zu/%zu, 95%%: %zu/%zu", in80, h, in95, h);
	free(t);
	free(v);
	free(out);
}

static void test_holt_winters_season(void **state)
{
	/* A daily cycle (48 half-hours) on a slow trend with small noise: the holdout picks a seasonal
	 * model, its forecast follows the cycle, and beats the line by far. */
	size_t n = 48 * 20, h = 48;
	double t[48 * 21], v[48 * 21], mae = 0;
	struct forecast_point out[48];
	struct forecast_opts o = { .horizon = h };
	struct forecast_info info;

	(void)state;
	for (size_t i = 0; i < n + h; i++) {
		t[i] = 1.4e9 + 1800.0 * i;
		v[i] = 100 + 0.02 * i + 20 * sin(2 * M_PI * i / 48) + 0.5 * gauss();
	}
	assert_int_equal(forecast_series(t, v, n, &o, out, &info), 0);
	assert_true(info.model == FORECAST_HOLT_WINTERS || info.model == FORECAST_SEASONAL_NAIVE);
	assert_true(info.period % 48 == 0);
	assert_true(info.holdout_mae[info.model] < info.holdout_mae[FORECAST_LINEAR] / 5);
	for (size_t i = 0; i < h; i++)
		mae += fabs(out[i].mean - v[n + i]) / h;
	if (mae > 1.5)
		fail_msg("mean absolute error %.3f over a day of sd-0.5 noise", mae);
	/* a forced model and period */
	o.model = FORECAST_HOLT_WINTERS;
	o.period = 48;
	assert_int_equal(forecast_series(t, v, n, &o, out, &info), 0);
	assert_int_equal(info.model, FORECAST_HOLT_WINTERS);
	assert_int_equal(info.period, 48);
	/* too little data for two seasons */
	assert_int_equal(forecast_series(t, v, 60, &o, out, &info), -EINVAL);
	o = (struct forecast_opts){ .horizon = 0 };
	assert_int_equal(forecast_series(t, v, n, &o, out, &info), -EINVAL);
	assert_string_equal(forecast_model_name(FORECAST_HOLT_WINTERS), "holt-winters");
	assert_int_equal(forecast_model_by_name("seasonal-naive"), FORECAST_SEASONAL_NAIVE);
	assert_int_equal(forecast_model_by_name("arima"), FORECAST__NR);
}

static void test_capacity(void **state)
{
	/* RSS from 100 MiB growing 1 MiB/s in 64 KiB steps, sampled at 10 Hz for 30 s, toward 1 GiB:
	 * 894 s to go from the last sample. Within 20%, and the interval holds the truth. */
	double t[300], v[300], mib = 1 << 20;
	struct capacity_estimate c;

	(void)state;
	for (size_t i = 0; i < 300; i++) {
		t[i] = 1000 + 0.1 * i + 0.003 * gauss(); /* sampling jitter */
		v[i] = 100 * mib + floor((t[i] - 1000) * 16) * 65536;
	}
	assert_int_equal(capacity_estimate(t, v, 300, 1024 * mib, &c), 0);
	double truth = (1024 * mib - (100 * mib + (t[299] - 1000) * mib)) / mib;

	if (fabs(c.seconds_to_limit - truth) > 0.2 * truth)
		fail_msg("seconds_to_limit %.1f, truth %.1f", c.seconds_to_limit, truth);
	assert_true(fabs(c.rate - mib) < 0.01 * mib);
	assert_true(c.lower <= truth && truth <= c.upper);
	assert_true(c.lower <= c.seconds_to_limit && c.seconds_to_limit <= c.upper);
	/* a falling series toward a lower limit (free space toward 0) */
	for (size_t i = 0; i < 300; i++)
		v[i] = 1000 - 2 * (t[i] - 1000);
	assert_int_equal(capacity_estimate(t, v, 300, 0, &c), 0);
	assert_true(fabs(c.seconds_to_limit - (1000 - 2 * (t[299] - 1000)) / 2) < 1);
	/* moving away, or flat: never */
	assert_int_equal(capacity_estimate(t, v, 300, 5000, &c), 0);
	assert_true(isinf(c.seconds_to_limit) && isinf(c.upper));
	for (size_t i = 0; i < 300; i++)
		v[i] = 42 + 0.1 * gauss();
	assert_int_equal(capacity_estimate(t, v, 300, 100, &c), 0);
	assert_true(isinf(c.upper)); /* a slope not distinguishable from 0 has no upper bound */
	assert_int_equal(capacity_estimate(t, v, 2, 100, &c), -EINVAL);
	assert_int_equal(capacity_estimate(t, v, 300, NAN, &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_student_t),	cmocka_unit_test(test_linear_by_hand),
		cmocka_unit_test(test_linear_coverage), cmocka_unit_test(test_holt_winters_season),
		cmocka_unit_test(test_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
