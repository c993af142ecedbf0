/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forecasts with prediction intervals, and time-to-limit for capacity planning. Pure functions over
 * arrays the caller owns; thread-safe.
 *
 * Models (forecast.c): a least-squares line with its classical prediction interval; Holt's linear
 * trend (damped); additive Holt-Winters with a season found automatically (the daily and weekly
 * cycles of the step, and the strongest autocorrelation peak); the seasonal-naive forecast. Each is
 * fitted on all but the last `holdout` points and scored on them (mean absolute error); the best one
 * is refitted on everything and forecasts. Exponential-smoothing intervals follow Hyndman et al.,
 * "Forecasting with Exponential Smoothing" (2008), class 1 variances; the residual spread is widened
 * when the holdout shows the one-step errors understate the multi-step ones.
 */
#ifndef VIGIL_ANALYTICS_FORECAST_H
#define VIGIL_ANALYTICS_FORECAST_H

#include <stddef.h>

enum forecast_model {
	FORECAST_AUTO = 0, /* choose on the holdout (options) / none chosen (result) */
	FORECAST_LINEAR,
	FORECAST_HOLT,
	FORECAST_HOLT_WINTERS,
	FORECAST_SEASONAL_NAIVE,
	FORECAST__NR,
};

/* "auto", "linear", "holt", "holt-winters", "seasonal-naive". */
const char *forecast_model_name(enum forecast_model m);
/* By name; FORECAST__NR when unknown. */
enum forecast_model forecast_model_by_name(const char *name);

struct forecast_opts {
	size_t horizon; /* points to forecast (>= 1) */
	double step; /* seconds between points; 0 = the median step of ts */
	enum forecast_model model; /* FORECAST_AUTO = best on the holdout */
	size_t period; /* season length in points; 0 = find it */
	size_t holdout; /* points held out to choose the model; 0 = horizon (at most n / 4) */
};

struct forecast_point {
	double t; /* timestamp: last ts + k * step */
	double mean;
	double lo80, hi80, lo95, hi95;
};

/* What was chosen and how the candidates did. */
struct forecast_info {
	enum forecast_model model;
	size_t period; /* season of the chosen model, in points; 0 = none */
	double step;
	double holdout_mae[FORECAST__NR]; /* NAN for candidates not tried */
	size_t holdout;
	double sigma; /* one-step residual standard deviation of the final fit */
};

/*
 * Forecasts opts->horizon points after (ts, v) (n points, ts ascending; regular steps assumed by the
 * smoothing models). out has room for opts->horizon points; info may be NULL. Returns 0, -EINVAL
 * (n < 3, horizon 0, non-finite values, or a forced model that needs more data), or -ENOMEM.
 */
int forecast_series(const double *ts, const double *v, size_t n, const struct forecast_opts *opts,
		    struct forecast_point *out, struct forecast_info *info);

/* Least-squares line v = a + b * (t - t0) over n points, with what its intervals need. */
struct linear_fit {
	double t0, a, b; /* intercept at t0 (the mean time), slope per second */
	double sigma; /* residual standard deviation (n - 2 degrees of freedom) */
	double sxx; /* sum of (t - t0)^2 */
	size_t n;
};

/* 0, or -EINVAL when n < 3 or every t is equal. */
int linear_fit(const double *t, const double *v, size_t n, struct linear_fit *f);
/* The prediction interval half-width at t for a two-sided level (0.8, 0.95): Student-t quantile. */
double linear_fit_halfwidth(const struct linear_fit *f, double t, double level);
/* Student's t quantile of probability p (0.5 < p < 1) with df degrees of freedom (>= 1). */
double student_t_quantile(double p, double df);

/*
 * Capacity: when does the series reach limit? A line fitted to (ts, v) (the caller passes the window
 * it trusts, e.g. the last 30 minutes), its slope's 95% confidence interval, and from them the
 * seconds from the last timestamp until the fitted line crosses limit, with an interval from the
 * slope's bounds. A limit above the fitted value is reached by growth, one below by decline; moving
 * away from it (or a flat line) gives INFINITY, and a slope bound on the wrong side of 0 an upper
 * bound of INFINITY. At the limit: 0.
 */
struct capacity_estimate {
	double now; /* the last timestamp */
	double value; /* the fitted value at now */
	double rate, rate_lo, rate_hi; /* slope per second and its 95% interval */
	double seconds_to_limit, lower, upper; /* estimate and 95% interval */
};

/* 0, or -EINVAL (n < 3, identical timestamps, non-finite input). */
int capacity_estimate(const double *ts, const double *v, size_t n, double limit,
		      struct capacity_estimate *out);

#endif
