// SPDX-License-Identifier: GPL-2.0
/*
 * Forecasting models, model choice on a holdout, and time-to-limit (forecast.h).
 *
 * Why these models: machine metrics are mostly a level with a daily (or weekly) cycle and a slow
 * drift; additive Holt-Winters models exactly that and updates in O(1) per point. A straight line is
 * what capacity questions ask ("at this rate, when?") and has exact intervals. Seasonal-naive is the
 * benchmark every seasonal model must beat. Holt covers drifting series without a cycle. Which one
 * fits a given series is an empirical question, so the holdout answers it.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/csvseries.h"
#include "analytics/forecast.h"

#define Z80 1.2815515655446004 /* standard normal quantile of 0.90 */
#define Z95 1.9599639845400540 /* ... of 0.975 */
#define MAX_PERIOD 4096 /* longest season tried, in points */
/* The smoothing models and the season search see at most the last SMOOTH_MAX points: with alpha >=
 * 0.02 a point that old weighs (0.98)^20000 ~ 1e-176, and the cost stays bounded. */
#define SMOOTH_MAX 20000

static const char *const model_names[FORECAST__NR] = {
	[FORECAST_AUTO] = "auto",
	[FORECAST_LINEAR] = "linear",
	[FORECAST_HOLT] = "holt",
	[FORECAST_HOLT_WINTERS] = "holt-winters",
	[FORECAST_SEASONAL_NAIVE] = "seasonal-naive",
};

const char *forecast_model_name(enum forecast_model m)
{
	return m < FORECAST__NR ? model_names[m] : "?";
}

enum forecast_model forecast_model_by_name(const char *name)
{
	for (int m = 0; m < FORECAST__NR; m++)
		if (!strcmp(name, model_names[m]))
			return m;
	return FORECAST__NR;
}

/* ---- distributions ---- */

/* Inverse of the standard normal CDF (P. J. Acklam's rational approximation, |rel err| < 1.2e-9). */
static double normal_quantile(double p)
{
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
				    -2.759285104469687e+02, 1.383577518672690e+02,
				    -3.066479806614716e+01, 2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
				    -1.556989798598866e+02, 6.680131188771972e+01,
				    -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
				    -2.400758277161838e+00, -2.549732539343734e+00,
				    4.374664141464968e+00,  2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
				    2.445134137142996e+00, 3.754408661907416e+00 };
	double q, r;

	if (p <= 0)
		return -INFINITY;
	if (p >= 1)
		return INFINITY;
	if (p < 0.02425) {
		q = sqrt(-2 * log(p));
		return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		       ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	if (p > 1 - 0.02425)
		return -normal_quantile(1 - p);
	q = p - 0.5;
	r = q * q;
	return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
	       (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

double student_t_quantile(double p, double df)
{
	double z, z2, g1, g2, g3, g4;

	if (df < 1)
		df = 1;
	if (df < 1.5) /* Cauchy */
		return tan(M_PI * (p - 0.5));
	if (df < 2.5)
		return (2 * p - 1) / sqrt(2 * p * (1 - p));
	/* Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5) */
	z = normal_quantile(p);
	z2 = z * z;
	g1 = (z2 + 1) * z / 4;
	g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
	g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
	g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
	return z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
}

/* ---- the line ---- */

int linear_fit(const double *t, const double *v, size_t n, struct linear_fit *f)
{
	double mt = 0, mv = 0, sxx = 0, sxy = 0, sse = 0;

	if (n < 3)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		mt += t[i];
		mv += v[i];
	}
	mt /= n;
	mv /= n;
	for (size_t i = 0; i < n; i++) {
		sxx += (t[i] - mt) * (t[i] - mt);
		sxy += (t[i] - mt) * (v[i] - mv);
	}
	if (!(sxx > 0))
		return -EINVAL;
	f->t0 = mt;
	f->a = mv;
	f->b = sxy / sxx;
	for (size_t i = 0; i < n; i++) {
		double e = v[i] - (f->a + f->b * (t[i] - mt));

		sse += e * e;
	}
	f->sigma = sqrt(sse / (n - 2));
	f->sxx = sxx;
	f->n = n;
	return 0;
}

double linear_fit_halfwidth(const struct linear_fit *f, double t, double level)
{
	double q = student_t_quantile((1 + level) / 2, (double)f->n - 2);

	return q * f->sigma * sqrt(1 + 1.0 / f->n + (t - f->t0) * (t - f->t0) / f->sxx);
}

/* ---- exponential smoothing ---- */

struct hw_params {
	double alpha, beta, gamma, phi; /* classical form: beta and gamma are beta*, gamma* */
	size_t m; /* season; 0 = Holt (no season) */
};

struct hw_state {
	double l, b;
	double *s; /* m seasonal terms, s[t % m] */
	double sse;
	size_t nerr, n;
};

/*
 * Runs the smoother over v[0..n): initial level, trend and season from the first one or two seasons
 * (Hyndman & Athanasopoulos' simple initialisation), then the error-correction updates. Returns the
 * sum of squared one-step errors after the first season; st (with room for m terms) holds the end.
 */
static double hw_run(const double *v, size_t n, const struct hw_params *p, struct hw_state *st)
{
	size_t m = p->m, start;
	double a = p->alpha, b = p->beta, g = p->gamma, phi = p->phi;

	st->sse = 0;
	st->nerr = 0;
	st->n = n;
	if (m) {
		double m1 = 0, m2 = 0;

		for (size_t i = 0; i < m; i++)
			m1 += v[i];
		m1 /= m;
		if (n >= 2 * m) {
			for (size_t i = m; i < 2 * m; i++)
				m2 += v[i];
			m2 /= m;
			st->b = (m2 - m1) / m;
		} else {
			st->b = 0;
		}
		/* the level at the end of the first season, trend included */
		st->l = m1 + st->b * (m - 1) / 2.0;
		for (size_t i = 0; i < m; i++)
			st->s[i] = v[i] - (m1 + st->b * ((double)i - (m - 1) / 2.0));
		start = m;
	} else {
		st->l = v[0];
		st->b = v[1] - v[0];
		start = 1;
	}
	for (size_t t = start; t < n; t++) {
		double s_old = m ? st->s[t % m] : 0;
		double pred = st->l + phi * st->b + s_old, e = v[t] - pred, l_old = st->l;

		st->sse += e * e;
		st->nerr++;
		st->l = a * (v[t] - s_old) + (1 - a) * (l_old + phi * st->b);
		st->b = b * (st->l - l_old) + (1 - b) * phi * st->b;
		if (m)
			st->s[t % m] = g * (v[t] - st->l) + (1 - g) * s_old;
	}
	return st->sse;
}

/* Forecast h (>= 1) steps after the end of st, and its variance in units of sigma^2. */
static void hw_forecast(const struct hw_params *p, const struct hw_state *st, size_t h,
			double *mean, double *var)
{
	double phi_h = 0, pw = 1, v = 1;
	/* state-space smoothing parameters (Hyndman et al. 2008, section 2.5) */
	double bss = p->alpha * p->beta, gss = p->gamma * (1 - p->alpha);

	for (size_t i = 1; i <= h; i++) {
		pw *= p->phi;
		phi_h += pw;
	}
	*mean = st->l + phi_h * st->b + (p->m ? st->s[(st->n + h - 1) % p->m] : 0);
	/* Var(h) = sigma^2 (1 + sum_{j<h} c_j^2), c_j = alpha + beta phi_j + gamma [j % m == 0] */
	for (size_t j = 1; j < h; j++) {
		double phi_j, c;

		phi_j = p->phi == 1 ? (double)j : p->phi * (1 - pow(p->phi, j)) / (1 - p->phi);
		c = p->alpha + bss * phi_j + (p->m && j % p->m == 0 ? gss : 0);
		v += c * c;
	}
	*var = v;
}

/* Smoothing parameters minimising the one-step squared error: a grid, then a local search. */
static void hw_fit(const double *v, size_t n, size_t m, bool trend, struct hw_params *best,
		   struct hw_state *st)
{
	static const double alphas[] = { 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5 };
	static const double betas[] = { 0, 0.01, 0.05, 0.15 };
	static const double gammas[] = { 0.01, 0.05, 0.1, 0.2, 0.4 };
	static const double phis[] = { 0.9, 0.98, 1.0 };
	size_t nb = trend ? 4 : 1, ng = m ? 5 : 1, np = trend ? 3 : 1;
	double best_sse = INFINITY;
	struct hw_params p = { .m = m, .phi = 1 };

	for (size_t ia = 0; ia < sizeof(alphas) / sizeof(alphas[0]); ia++)
		for (size_t ib = 0; ib < nb; ib++)
			for (size_t ig = 0; ig < ng; ig++)
				for (size_t ip = 0; ip < np; ip++) {
					double sse;

					p.alpha = alphas[ia];
					p.beta = betas[ib];
					p.gamma = m ? gammas[ig] : 0;
					p.phi = trend ? phis[ip] : 1;
					sse = hw_run(v, n, &p, st);
					if (sse < best_sse) {
						best_sse = sse;
						*best = p;
					}
				}
	/* coordinate search around the best grid point, steps halving */
	for (double step = 0.05; step > 0.004; step /= 2) {
		bool moved = true;

		for (int round = 0; moved && round < 8; round++) {
			moved = false;
			for (int k = 0; k < 4; k++) {
				double *x = k == 0 ? &p.alpha :
					    k == 1 ? &p.beta :
					    k == 2 ? &p.gamma :
						     &p.phi;
				double lo = k == 3 ? 0.8 : 0, hi = k == 3 ? 1 : k == 1 ? 0.3 : 0.5;

				if ((k == 1 || k == 3) && !trend)
					continue;
				if (k == 2 && !m)
					continue;
				for (int dir = -1; dir <= 1; dir += 2) {
					double sse, keep;

					p = *best;
					keep = *x;
					*x = keep + dir * step;
					if (*x < lo || *x > hi)
						continue;
					sse = hw_run(v, n, &p, st);
					if (sse < best_sse) {
						best_sse = sse;
						*best = p;
						moved = true;
					}
				}
			}
		}
	}
	hw_run(v, n, best, st);
}

/* ---- candidates ---- */

/* A fitted model, ready to forecast from the end of the data it saw. */
struct fitted {
	enum forecast_model model;
	size_t m;
	double sigma; /* one-step residual sd */
	struct linear_fit lf;
	struct hw_params hp;
	struct hw_state hs;
	const double *v; /* seasonal naive: the data */
	size_t n;
	double t_last, step;
};

static int fit_model(enum forecast_model model, size_t m, const double *ts, const double *v,
		     size_t n, double step, double *season_buf, struct fitted *f)
{
	if (model != FORECAST_LINEAR && n > SMOOTH_MAX) {
		ts += n - SMOOTH_MAX;
		v += n - SMOOTH_MAX;
		n = SMOOTH_MAX;
	}
	memset(f, 0, sizeof(*f));
	f->model = model;
	f->m = m;
	f->v = v;
	f->n = n;
	f->t_last = ts[n - 1];
	f->step = step;
	switch (model) {
	case FORECAST_LINEAR:
		if (linear_fit(ts, v, n, &f->lf))
			return -EINVAL;
		f->sigma = f->lf.sigma;
		return 0;
	case FORECAST_HOLT:
	case FORECAST_HOLT_WINTERS:
		if (model == FORECAST_HOLT)
			m = f->m = 0;
		if (n < (m ? 2 * m + 2 : 4))
			return -EINVAL;
		f->hs.s = season_buf;
		hw_fit(v, n, m, true, &f->hp, &f->hs);
		f->sigma = f->hs.nerr > 1 ? sqrt(f->hs.sse / (f->hs.nerr - 1)) : 0;
		return 0;
	case FORECAST_SEASONAL_NAIVE: {
		double sse = 0;

		if (!m || n < m + 2)
			return -EINVAL;
		for (size_t i = m; i < n; i++)
			sse += (v[i] - v[i - m]) * (v[i] - v[i - m]);
		f->sigma = sqrt(sse / (n - m));
		return 0;
	}
	default:
		return -EINVAL;
	}
}

/* Mean and standard deviation of the forecast h (>= 1) steps after the end. */
static void predict(const struct fitted *f, size_t h, double *mean, double *sd)
{
	double var;

	switch (f->model) {
	case FORECAST_LINEAR: {
		double t = f->t_last + h * f->step;

		*mean = f->lf.a + f->lf.b * (t - f->lf.t0);
		/* the t-based half-width at 95%, as a standard deviation for the common code */
		*sd = linear_fit_halfwidth(&f->lf, t, 0.95) / Z95;
		return;
	}
	case FORECAST_HOLT:
	case FORECAST_HOLT_WINTERS:
		hw_forecast(&f->hp, &f->hs, h, mean, &var);
		*sd = f->sigma * sqrt(var);
		return;
	case FORECAST_SEASONAL_NAIVE: {
		size_t k = (h - 1) / f->m + 1;

		*mean = f->v[f->n - f->m * k + (h - 1) % f->m];
		*sd = f->sigma * sqrt((double)k);
		return;
	}
	default:
		*mean = NAN;
		*sd = NAN;
	}
}

/* Pearson autocorrelation of v at lag. */
static double acf(const double *v, size_t n, size_t lag)
{
	double mean = 0, num = 0, den = 0;

	for (size_t i = 0; i < n; i++)
		mean += v[i];
	mean /= n;
	for (size_t i = 0; i < n; i++) {
		den += (v[i] - mean) * (v[i] - mean);
		if (i >= lag)
			num += (v[i] - mean) * (v[i - lag] - mean);
	}
	return den > 0 ? num / den : 0;
}

/*
 * Season lengths worth trying on n points: a day and a week of steps, and the lag of the highest
 * autocorrelation peak (above 0.3) up to a third of the data. At most 3, distinct, >= 2.
 */
static size_t periods(const double *v, size_t n, double step, size_t *out)
{
	size_t k = 0, lim = n / 3 < MAX_PERIOD ? n / 3 : MAX_PERIOD, peak = 0;
	double best = 0.3, prev = 1, cur = 1;

	if (step > 0) {
		size_t day = (size_t)llround(86400.0 / step);

		if (day >= 2 && 2 * day + 2 <= n && day <= MAX_PERIOD)
			out[k++] = day;
		if (day >= 2 && 2 * 7 * day + 2 <= n && 7 * day <= MAX_PERIOD)
			out[k++] = 7 * day;
	}
	/* autocorrelation peaks: a lag higher than both neighbours */
	for (size_t lag = 2; lag + 1 <= lim; lag++) {
		double next = acf(v, n, lag + 1);

		if (lag == 2)
			cur = acf(v, n, 2);
		if (cur > prev && cur >= next && cur > best) {
			best = cur;
			peak = lag;
		}
		prev = cur;
		cur = next;
	}
	if (peak && 2 * peak + 2 <= n) {
		bool dup = false;

		for (size_t i = 0; i < k; i++)
			dup |= out[i] == peak;
		if (!dup)
			out[k++] = peak;
	}
	return k;
}

/* Forecasts h points after the end and sums the absolute errors against truth[0..h). */
static double holdout_mae(const struct fitted *f, const double *truth, size_t h)
{
	double sum = 0;

	for (size_t i = 0; i < h; i++) {
		double mean, sd;

		predict(f, i + 1, &mean, &sd);
		sum += fabs(truth[i] - mean);
	}
	return sum / h;
}

/* How much wider (or narrower) the intervals must be for the holdout's errors: the RMS of the
 * standardised errors, within [0.75, 3]. */
static double interval_scale(const struct fitted *f, const double *truth, size_t h)
{
	double sum = 0, k;
	size_t cnt = 0;

	for (size_t i = 0; i < h; i++) {
		double mean, sd;

		predict(f, i + 1, &mean, &sd);
		if (sd > 0) {
			double z = (truth[i] - mean) / sd;

			sum += z * z;
			cnt++;
		}
	}
	if (cnt < 10)
		return 1;
	k = sqrt(sum / cnt);
	return k < 0.75 ? 0.75 : k > 3 ? 3 : k;
}

int forecast_series(const double *ts, const double *v, size_t n, const struct forecast_opts *opts,
		    struct forecast_point *out, struct forecast_info *info)
{
	size_t hold, ntrain, per[3], nper, best_m = 0;
	enum forecast_model best = FORECAST_AUTO;
	double step, best_mae = INFINITY, scale = 1;
	struct forecast_info inf = { 0 };
	double *season = NULL;
	struct fitted f, chosen_train;
	int err = 0;

	if (n < 3 || !opts || !opts->horizon)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]) || !isfinite(ts[i]))
			return -EINVAL;
	step = opts->step > 0 ? opts->step : ts_step(ts, n);
	if (!(step > 0))
		step = 1;
	hold = opts->holdout ? opts->holdout : opts->horizon;
	if (hold > n / 4)
		hold = n / 4;
	ntrain = n - hold;
	season = malloc(MAX_PERIOD * sizeof(*season));
	if (!season)
		return -ENOMEM;
	for (int m = 0; m < FORECAST__NR; m++)
		inf.holdout_mae[m] = NAN;
	inf.step = step;
	inf.holdout = hold;
	if (opts->period) {
		per[0] = opts->period;
		nper = 1;
	} else {
		size_t len = ntrain < SMOOTH_MAX ? ntrain : SMOOTH_MAX;

		nper = periods(v + ntrain - len, len, step, per);
	}
	memset(&chosen_train, 0, sizeof(chosen_train));
	/* every candidate on the training part, scored on the holdout */
	for (int m = FORECAST_LINEAR; m < FORECAST__NR && hold >= 1; m++) {
		bool seasonal = m == FORECAST_HOLT_WINTERS || m == FORECAST_SEASONAL_NAIVE;

		if (opts->model != FORECAST_AUTO && m != (int)opts->model)
			continue;
		for (size_t k = 0; k < (seasonal ? nper : 1); k++) {
			double mae;

			if (fit_model(m, seasonal ? per[k] : 0, ts, v, ntrain, step, season, &f))
				continue;
			mae = holdout_mae(&f, v + ntrain, hold);
			if (!(mae >= inf.holdout_mae[m]))
				inf.holdout_mae[m] = mae;
			if (mae < best_mae) {
				best_mae = mae;
				best = m;
				best_m = seasonal ? per[k] : 0;
			}
		}
	}
	if (best == FORECAST_AUTO) {
		/* too little data for a holdout, or a forced model: fit on everything */
		best = opts->model != FORECAST_AUTO ? opts->model : FORECAST_LINEAR;
		best_m = opts->period;
		if (best == FORECAST_HOLT_WINTERS || best == FORECAST_SEASONAL_NAIVE) {
			if (!best_m) {
				size_t len = n < SMOOTH_MAX ? n : SMOOTH_MAX;

				nper = periods(v + n - len, len, step, per);
				best_m = nper ? per[0] : 0;
			}
		}
		scale = 1;
	} else {
		/* the chosen model's intervals against the holdout it did not see */
		if (!fit_model(best, best_m, ts, v, ntrain, step, season, &chosen_train))
			scale = interval_scale(&chosen_train, v + ntrain, hold);
		else
			scale = 1;
	}
	err = fit_model(best, best_m, ts, v, n, step, season, &f);
	if (err)
		goto out;
	for (size_t h = 1; h <= opts->horizon; h++) {
		struct forecast_point *p = &out[h - 1];
		double mean, sd;

		predict(&f, h, &mean, &sd);
		sd *= scale;
		p->t = ts[n - 1] + h * step;
		p->mean = mean;
		if (best == FORECAST_LINEAR) {
			/* Student-t bands for the line, as its textbook interval */
			double w80 = linear_fit_halfwidth(&f.lf, p->t, 0.80) * scale;
			double w95 = linear_fit_halfwidth(&f.lf, p->t, 0.95) * scale;

			p->lo80 = mean - w80;
			p->hi80 = mean + w80;
			p->lo95 = mean - w95;
			p->hi95 = mean + w95;
		} else {
			p->lo80 = mean - Z80 * sd;
			p->hi80 = mean + Z80 * sd;
			p->lo95 = mean - Z95 * sd;
			p->hi95 = mean + Z95 * sd;
		}
	}
	inf.model = best;
	inf.period = best == FORECAST_HOLT_WINTERS || best == FORECAST_SEASONAL_NAIVE ? best_m : 0;
	inf.sigma = f.sigma * scale;
	if (info)
		*info = inf;
out:
	free(season);
	return err;
}

/* ---- capacity ---- */

int capacity_estimate(const double *ts, const double *v, size_t n, double limit,
		      struct capacity_estimate *out)
{
	struct linear_fit f;
	double q, se, gap;

	if (!isfinite(limit))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(ts[i]) || !isfinite(v[i]))
			return -EINVAL;
	if (linear_fit(ts, v, n, &f))
		return -EINVAL;
	q = student_t_quantile(0.975, (double)n - 2);
	se = f.sigma / sqrt(f.sxx);
	out->now = ts[n - 1];
	out->value = f.a + f.b * (out->now - f.t0);
	out->rate = f.b;
	out->rate_lo = f.b - q * se;
	out->rate_hi = f.b + q * se;
	gap = limit - out->value;
	if (gap == 0) {
		out->seconds_to_limit = out->lower = out->upper = 0;
		return 0;
	}
	/* toward the limit only when the gap and the slope share a sign */
	if ((gap > 0) != (f.b > 0) || f.b == 0) {
		out->seconds_to_limit = out->lower = out->upper = INFINITY;
		return 0;
	}
	out->seconds_to_limit = gap / f.b;
	if (gap > 0) {
		out->lower = gap / out->rate_hi;
		out->upper = out->rate_lo > 0 ? gap / out->rate_lo : INFINITY;
	} else {
		out->lower = gap / out->rate_lo;
		out->upper = out->rate_hi < 0 ? gap / out->rate_hi : INFINITY;
	}
	return 0;
}
