// SPDX-License-Identifier: GPL-2.0
/*
 * Online anomaly detection (anomaly.h). Every statistic at point t is computed from points before t
 * and t itself; nothing looks ahead.
 *
 * Why this shape: anomalies in machine metrics come in a few kinds (a spike, a value wrong for the
 * time of day, a level shift or a burst, noise that grows or vanishes, a trend that turns), and no
 * single statistic catches all of them without drowning in false alarms on the series where its
 * kind is normal (spiky CPU, noisy networks). So each kind gets its own statistic, and each statistic
 * is judged against its own past on this series: its upper tail is fitted as an exponential above the
 * (1 - tail_q) quantile of the last `history` values (peaks over threshold; extreme-value theory says
 * excesses over a high threshold follow a generalised Pareto law, of which the exponential is the
 * light-tailed case the fit can estimate from a few hundred points). The tail probability of the
 * current value is then comparable across statistics and across series, which is what lets one
 * threshold work for all of them.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/anomaly.h"

#define RING 8192 /* past values kept: two weeks of 5-minute points, three of 30-minute ones */
#define HIST_CAP 2048 /* statistic history kept */
#define FIT_EVERY 16 /* the tail fits are refreshed every FIT_EVERY points */
#define MIN_HIST (size_t) d->o.min_hist /* a statistic needs this much history before it scores */
#define PERIOD_EVERY 64 /* points between cycle re-estimations */
#define SEASON_K 5 /* earlier cycles the seasonal expectation looks at */
#define MAX_SCORE_LOG10 10.0 /* evidence (-log10 p) that maps to score 1 */
#define SHORT_MAX 256 /* longest short window */

/* The statistics. Several may report under one method. */
enum stat {
	ST_HIGH,
	ST_LOW,
	ST_SPIKE,
	ST_SEASONAL,
	ST_SEASONAL_MEAN,
	ST_LEVEL,
	ST_LEVEL_MEAN,
	ST_SPREAD,
	ST_TREND,
	ST__NR,
};

static const enum anomaly_method stat_method[ST__NR] = {
	[ST_HIGH] = ANOMALY_EXTREME,
	[ST_LOW] = ANOMALY_EXTREME,
	[ST_SPIKE] = ANOMALY_SPIKE,
	[ST_SEASONAL] = ANOMALY_SEASONAL,
	[ST_SEASONAL_MEAN] = ANOMALY_SEASONAL,
	[ST_LEVEL] = ANOMALY_LEVEL,
	[ST_LEVEL_MEAN] = ANOMALY_LEVEL,
	[ST_SPREAD] = ANOMALY_SPREAD,
	[ST_TREND] = ANOMALY_TREND,
};

static const char *const method_names[ANOMALY__NR] = {
	[ANOMALY_NONE] = "none",	 [ANOMALY_EXTREME] = "extreme", [ANOMALY_SPIKE] = "spike",
	[ANOMALY_SEASONAL] = "seasonal", [ANOMALY_LEVEL] = "level",	[ANOMALY_SPREAD] = "spread",
	[ANOMALY_TREND] = "trend",
};

const char *anomaly_method_name(enum anomaly_method m)
{
	return m < ANOMALY__NR ? method_names[m] : "?";
}

/* A statistic's recent values and its fitted tail. */
struct stat_hist {
	double v[HIST_CAP];
	size_t n, head; /* values held, next slot */
	double u, beta; /* tail: P(a > x) = q * exp(-(x - u) / beta) for x > u */
	size_t since_fit;
	bool fitted;
};

struct anomaly_detector {
	struct anomaly_opts o;
	double x[RING]; /* values, x[i % RING] */
	double r[RING]; /* seasonal residuals, same indexing (NAN when none) */
	double ad[RING]; /* |x[i] - x[i-1]| */
	size_t n; /* points fed */
	struct stat_hist h[ST__NR];
	double scratch[HIST_CAP > RING ? HIST_CAP : RING];
	/* step inference */
	double step, last_ts, deltas[15];
	int nd;
	/* cycle */
	size_t period, season_since;
	/* the recent peak score, for the damping */
	double peak, decay;
};

void anomaly_opts_default(struct anomaly_opts *o)
{
	*o = (struct anomaly_opts){
		.step = 0,
		.refractory = 120,
		.damp = 0.2,
		.margin = 0.1,
		.tail_q = 0.05,
		.history = 2000,
		.min_hist = 128,
		.window = 288,
		.short_window = 6,
		.season_min_corr = 0.5,
		.cycles = 3,
		.combine = 0.25,
		.warmup = 64,
		.recur = 0.5,
		.sched_damp = 0.5,
		.methods = 0,
	};
}

static int parse_methods(const char *s, unsigned int *out)
{
	unsigned int m = 0;

	while (*s) {
		size_t l = strcspn(s, "+");
		bool found = false;

		for (int k = 1; k < ANOMALY__NR; k++)
			if (strlen(method_names[k]) == l && !strncmp(s, method_names[k], l)) {
				m |= 1u << k;
				found = true;
			}
		if (!found)
			return -EINVAL;
		s += l;
		if (*s)
			s++;
	}
	if (!m)
		return -EINVAL;
	*out = m;
	return 0;
}

int anomaly_opts_set(struct anomaly_opts *o, const char *name, const char *value)
{
	static const struct {
		const char *name;
		size_t off;
		double min, max;
	} knobs[] = {
#define K(f, lo, hi) { #f, offsetof(struct anomaly_opts, f), lo, hi }
		K(step, 0, 1e9),
		K(refractory, 0, 1e6),
		K(damp, 0, 1),
		K(margin, 0, 1),
		K(tail_q, 0.001, 0.5),
		K(history, 64, HIST_CAP),
		K(min_hist, 16, HIST_CAP),
		K(window, 8, RING / 2),
		K(short_window, 2, SHORT_MAX / 4),
		K(season_min_corr, -1, 1),
		K(cycles, 2, 10),
		K(combine, 0, 2),
		K(warmup, 0, 1e9),
		K(recur, 0, 100),
		K(sched_damp, 0, 1),
#undef K
	};
	char *end;
	double v;

	if (!strcmp(name, "methods"))
		return parse_methods(value, &o->methods);
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		if (strcmp(name, knobs[i].name))
			continue;
		errno = 0;
		v = strtod(value, &end);
		if (errno || end == value || *end || !(v >= knobs[i].min && v <= knobs[i].max))
			return -EINVAL;
		memcpy((char *)o + knobs[i].off, &v, sizeof(v));
		return 0;
	}
	return -EINVAL;
}

struct anomaly_detector *anomaly__new(const struct anomaly_opts *opts)
{
	struct anomaly_detector *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (opts)
		d->o = *opts;
	else
		anomaly_opts_default(&d->o);
	d->step = d->o.step;
	d->decay = d->o.refractory > 0 ? pow(0.5, 1.0 / d->o.refractory) : 0;
	d->last_ts = NAN;
	return d;
}

void anomaly__free(struct anomaly_detector *d)
{
	free(d);
}

size_t anomaly__count(const struct anomaly_detector *d)
{
	return d->n;
}

/* ---- small order statistics on scratch copies ---- */

/* The k-th smallest of a[0..n) (Wirth's selection); a is reordered so a[0..k) <= a[k]. */
static double select_k(double *a, size_t n, size_t k)
{
	long l = 0, m = (long)n - 1, kk = (long)k;

	while (l < m) {
		double x = a[kk];
		long i = l, j = m;

		do {
			while (a[i] < x)
				i++;
			while (x < a[j])
				j--;
			if (i <= j) {
				double t = a[i];

				a[i] = a[j];
				a[j] = t;
				i++;
				j--;
			}
		} while (i <= j);
		if (j < kk)
			l = i;
		if (kk < i)
			m = j;
	}
	return a[kk];
}

static double median(double *a, size_t n)
{
	double hi = select_k(a, n, n / 2);

	if (n % 2)
		return hi;
	/* the lower middle is the largest of the lower half, which select_k left below n / 2 */
	double lo = a[0];

	for (size_t i = 1; i < n / 2; i++)
		if (a[i] > lo)
			lo = a[i];
	return (lo + hi) / 2;
}

/* Median and robust scale (1.4826 MAD, falling back to the mean absolute deviation when more than
 * half the values are equal) of a[0..n); a is reordered. */
static void robust(double *a, size_t n, double *med, double *scale)
{
	double m = median(a, n), mad, mean_ad = 0;

	for (size_t i = 0; i < n; i++) {
		a[i] = fabs(a[i] - m);
		mean_ad += a[i];
	}
	mean_ad /= n;
	mad = 1.4826 * median(a, n);
	*med = m;
	*scale = mad > 0 ? mad : 1.2533 * mean_ad;
}

/* ---- values by age ---- */

/* The value fed `ago` points before the current one (ago 0 = the current one). */
static inline double past(const struct anomaly_detector *d, const double *ring, size_t ago)
{
	return ring[(d->n - 1 - ago) % RING];
}

/* ---- statistic tails ---- */

static void hist_push(struct stat_hist *h, double a, size_t cap)
{
	if (cap > HIST_CAP)
		cap = HIST_CAP;
	h->v[h->head] = a;
	h->head = (h->head + 1) % cap;
	if (h->n < cap)
		h->n++;
	h->since_fit++;
}

static void hist_fit(struct anomaly_detector *d, struct stat_hist *h)
{
	double q = d->o.tail_q, sum = 0, *a = d->scratch;
	size_t n = h->n, k, cnt = 0;

	memcpy(a, h->v, n * sizeof(*a));
	k = (size_t)((1 - q) * (n - 1));
	h->u = select_k(a, n, k);
	for (size_t i = 0; i < n; i++)
		if (a[i] > h->u) {
			sum += a[i] - h->u;
			cnt++;
		}
	h->beta = cnt ? sum / cnt : 0;
	/* A statistic that never varied: any excess is news, but not infinitely so. */
	if (h->beta < 1e-3 * (1 + fabs(h->u)))
		h->beta = 1e-3 * (1 + fabs(h->u));
	h->since_fit = 0;
	h->fitted = true;
}

/* -log10 of the tail probability of a under h's history; 0 without enough history. */
static double hist_surprise(struct anomaly_detector *d, struct stat_hist *h, double a)
{
	double lp;

	if (h->n < MIN_HIST || !isfinite(a))
		return 0;
	if (!h->fitted || h->since_fit >= FIT_EVERY)
		hist_fit(d, h);
	/* log10(q * exp(-(a - u) / beta)) */
	lp = log10(d->o.tail_q) - (a - h->u) / h->beta / M_LN10;
	/* The fitted tail never calls a value rarer than the history shows it is: when k of the n
	 * past values were at least as large, it happens about k times in n here (a daily backup's
	 * spike, a nightly job's burst), whatever the exponential says of the bulk's tail. The
	 * first recurrence is still news, so k - 1 counts, scaled by recur. */
	if (d->o.recur > 0 && lp < 0) {
		size_t k = 0;

		for (size_t i = 0; i < h->n; i++)
			k += h->v[i] >= a;
		if (k > 1) {
			double le = log10(d->o.recur * (double)(k - 1) / (double)h->n);

			if (le > lp)
				lp = le;
		}
	}
	return lp < 0 ? -lp : 0;
}

/* ---- the cycle ---- */

static double corr_at(const struct anomaly_detector *d, size_t lag, size_t len)
{
	double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, vx, vy;

	for (size_t i = 0; i < len; i++) {
		double a = past(d, d->x, i), b = past(d, d->x, i + lag);

		sx += a;
		sy += b;
		sxx += a * a;
		syy += b * b;
		sxy += a * b;
	}
	vx = sxx - sx * sx / len;
	vy = syy - sy * sy / len;
	if (!(vx > 0) || !(vy > 0))
		return 0;
	return (sxy - sx * sy / len) / sqrt(vx * vy);
}

/* Daily and weekly cycles only: machine metrics follow people's days and weeks, and testing two lags
 * costs little where a full autocorrelation scan would cost a lot and find spurious cycles. */
static void update_period(struct anomaly_detector *d)
{
	size_t best = 0, cands[2];
	double best_r = d->o.season_min_corr;

	if (!(d->step > 0) || d->n % PERIOD_EVERY)
		return;
	cands[0] = (size_t)llround(86400.0 / d->step);
	cands[1] = 7 * cands[0];
	for (int c = 0; c < 2; c++) {
		size_t p = cands[c], len;
		double r;

		if (p < 4 || (size_t)d->o.cycles * p > d->n || p + 2 > RING / 2)
			continue;
		len = d->n - p;
		if (len > 3 * p)
			len = 3 * p;
		if (len + p > RING)
			len = RING - p;
		r = corr_at(d, p, len);
		/* a weekly cycle must explain more than the daily one it contains */
		if (r > best_r + (best ? 0.05 : 0)) {
			best_r = r;
			best = p;
		}
	}
	if (best != d->period) {
		d->period = best;
		d->season_since = d->n;
		d->h[ST_SEASONAL].n = d->h[ST_SEASONAL].head = 0;
		d->h[ST_SEASONAL_MEAN].n = d->h[ST_SEASONAL_MEAN].head = 0;
		d->h[ST_SEASONAL].fitted = d->h[ST_SEASONAL_MEAN].fitted = false;
	}
}

/* Median of the values at the same phase (±1 point) of up to SEASON_K earlier cycles. */
static double seasonal_expectation(struct anomaly_detector *d)
{
	double a[SEASON_K * 3];
	size_t m = 0, p = d->period;

	for (size_t k = 1; k <= SEASON_K; k++) {
		if (k * p + 1 >= d->n || k * p + 1 >= RING)
			break;
		for (int j = -1; j <= 1; j++)
			a[m++] = past(d, d->x, k * p + j);
	}
	return m ? median(a, m) : NAN;
}

static void infer_step(struct anomaly_detector *d, double ts)
{
	if (d->o.step > 0 || !isfinite(ts))
		return;
	if (isfinite(d->last_ts) && ts > d->last_ts && d->nd < (int)(sizeof(d->deltas) / 8)) {
		double s[sizeof(d->deltas) / 8];

		d->deltas[d->nd++] = ts - d->last_ts;
		memcpy(s, d->deltas, d->nd * sizeof(*s));
		d->step = median(s, d->nd);
	}
	d->last_ts = ts;
}

static bool method_on(const struct anomaly_detector *d, enum stat s)
{
	/* By default every detector but "spike": the extreme and level ones cover what it finds,
	 * and on NAB it added more false alarms than detections. */
	unsigned int on = d->o.methods ? d->o.methods : ~(1u << ANOMALY_SPIKE);

	return on & (1u << stat_method[s]);
}

/* Median of the last m values (m <= SHORT_MAX) of ring. */
static double recent_median(const struct anomaly_detector *d, const double *ring, size_t m)
{
	double a[SHORT_MAX];

	for (size_t i = 0; i < m; i++)
		a[i] = past(d, ring, i);
	return median(a, m);
}

/*
 * The statistics of the current point, each >= 0 and larger when stranger; NAN when it cannot be
 * computed yet. Fills pt's expected and deviation.
 */
static void statistics(struct anomaly_detector *d, double value, double *a,
		       struct anomaly_point *pt)
{
	size_t n = d->n, m = (size_t)d->o.short_window, w = (size_t)d->o.window;
	double med, scale, mean_step = 0, med_step;

	/* The reference: the median and robust scale of the last `window` points before this one. */
	if (w > n - 1)
		w = n - 1;
	for (size_t i = 0; i < w; i++)
		d->scratch[i] = past(d, d->x, i + 1);
	robust(d->scratch, w, &med, &scale);
	for (size_t i = 0; i < w; i++)
		mean_step += (d->scratch[i] = past(d, d->ad, i + 1));
	mean_step /= w;
	med_step = median(d->scratch, w);
	/* Floors for the scale: a quarter of the typical step-to-step change (quantized series have a
	 * MAD of 0), and a millionth of the level (a flat series). */
	if (scale < 0.25 * mean_step)
		scale = 0.25 * mean_step;
	if (scale < 1e-6 * (fabs(med) + 1e-3))
		scale = 1e-6 * (fabs(med) + 1e-3);
	pt->expected = med;
	pt->deviation = (value - med) / scale;

	/* extreme: the value itself, both tails (its history is the recent values) */
	a[ST_HIGH] = value;
	a[ST_LOW] = -value;
	a[ST_SPIKE] = fabs(pt->deviation);
	/* level: the short window's median (a shift; a lone spike does not move it) and the mean of
	 * four short windows (bursts, denser spikes) against the reference level */
	a[ST_LEVEL] = fabs(recent_median(d, d->x, m) - med) / scale;
	{
		size_t ml = 4 * m < n ? 4 * m : n;
		double sum = 0;

		for (size_t i = 0; i < ml; i++)
			sum += past(d, d->x, i);
		a[ST_LEVEL_MEAN] = fabs(sum / ml - med) / scale;
	}
	/* spread: the median step-to-step change over two short windows against the reference's,
	 * as a log ratio (noise that doubles or halves weighs the same) */
	a[ST_SPREAD] = fabs(
		log((recent_median(d, d->ad, 2 * m) + 0.1 * scale) / (med_step + 0.1 * scale)));
	/* trend: the least-squares slope over the short window, in scales per window */
	{
		double mean = 0, sx = 0, sxy = 0, sxx = 0;

		for (size_t i = 0; i < m; i++) {
			double v = past(d, d->x, i), t = -(double)i;

			mean += v;
			sx += t;
			sxy += t * v;
			sxx += t * t;
		}
		mean /= m;
		a[ST_TREND] = fabs((sxy - sx * mean) / (sxx - sx * sx / m)) * m / scale;
	}
	/* seasonal: the value against the same phase of earlier cycles, judged by the residuals'
	 * own robust level and scale over the reference window (so a cycle that drifts does not
	 * alarm forever), and the short window's mean residual (a day that goes wrong slowly) */
	if (d->period) {
		double e = seasonal_expectation(d), rmed, rscale, rmean = 0;
		size_t rw = n - d->season_since, k = 0;

		pt->period = d->period;
		if (!isfinite(e))
			return;
		d->r[(n - 1) % RING] = value - e;
		if (rw > w)
			rw = w;
		for (size_t i = 1; i <= rw; i++) {
			double r = past(d, d->r, i);

			if (isfinite(r))
				d->scratch[k++] = r;
		}
		if (k < 16)
			return;
		robust(d->scratch, k, &rmed, &rscale);
		if (rscale < scale / 16)
			rscale = scale / 16;
		a[ST_SEASONAL] = fabs(value - e - rmed) / rscale;
		pt->expected = e + rmed;
		pt->deviation = (value - e - rmed) / rscale;
		for (size_t i = 0; i < m; i++) {
			double r = past(d, d->r, i);

			rmean += isfinite(r) ? r : value - e;
		}
		a[ST_SEASONAL_MEAN] = fabs(rmean / m - rmed) / rscale;
	}
}

/*
 * Machine metrics follow schedules: a backup, a cron job, a nightly batch moves the series at about
 * the same time every day. True when, on at least three of the last seven days, the series went the
 * same way at least 80% as far from the reference level within half an hour of this time of day:
 * then the point is the schedule, and its evidence is damped (sched_damp). Needs the step and a
 * point at least 3 scales from the reference; series without a daily rhythm are never affected.
 */
static bool scheduled(const struct anomaly_detector *d, double value, double ref, double dev)
{
	size_t day, w, hits = 0;
	double need;

	if (!(d->step > 0) || !isfinite(ref) || fabs(dev) < 3)
		return false;
	day = (size_t)llround(86400.0 / d->step);
	w = (size_t)llround(1800.0 / d->step);
	if (day < 4 || w > day / 4)
		return false;
	need = 0.8 * (value - ref);
	for (size_t k = 1; k <= 7; k++) {
		bool hit = false;

		if (k * day + w + 1 >= d->n || k * day + w + 1 >= RING)
			break;
		for (size_t j = k * day - w; j <= k * day + w && !hit; j++) {
			double x = past(d, d->x, j) - ref;

			hit = need > 0 ? x >= need : x <= need;
		}
		hits += hit;
	}
	return hits >= 3;
}

double anomaly__update(struct anomaly_detector *d, double ts, double value,
		       struct anomaly_point *out)
{
	double a[ST__NR], best = 0, total = 0, raw, score;
	enum anomaly_method why = ANOMALY_NONE;
	struct anomaly_point pt = { .expected = NAN };
	size_t n, m = (size_t)d->o.short_window;
	int active = 0;

	if (!isfinite(value))
		return -EINVAL;
	infer_step(d, ts);
	d->x[d->n % RING] = value;
	d->ad[d->n % RING] = d->n ? fabs(value - past(d, d->x, 0)) : 0;
	d->r[d->n % RING] = NAN;
	/* d->n counts the current point from here on */
	n = ++d->n;
	update_period(d);
	if (n >= 8 + m) {
		for (int s = 0; s < ST__NR; s++)
			a[s] = NAN;
		statistics(d, value, a, &pt);
		for (int s = 0; s < ST__NR; s++) {
			struct stat_hist *h = &d->h[s];
			double sup;

			if (!isfinite(a[s]) || !method_on(d, s))
				continue;
			if (h->n >= MIN_HIST) {
				sup = hist_surprise(d, h, a[s]);
				active++;
				total += sup;
				if (sup > best) {
					best = sup;
					why = stat_method[s];
				}
			}
			hist_push(h, a[s], (size_t)d->o.history);
		}
	}
	/* The evidence: the loudest detector, Bonferroni-corrected for how many could speak, plus a
	 * share of what the others say (a real anomaly often shows in several; chance rarely). */
	if (active > 1)
		best += d->o.combine * (total - best) - log10(active);
	if (best > 0 && d->o.sched_damp < 1 && scheduled(d, value, pt.expected, pt.deviation))
		best *= d->o.sched_damp;
	if (n <= d->o.warmup || best < 0)
		best = 0;
	raw = fmin(1, best / MAX_SCORE_LOG10);
	/* One event, one alarm: a score counts in full only when it tops the recent peak (which
	 * halves every `refractory` points) by `margin`; otherwise it is damped. Scores saturate at
	 * 1, so a long, strong event alarms again as the peak decays. */
	score = raw > d->peak + d->o.margin ? raw : raw * d->o.damp;
	d->peak = fmax(raw, d->peak * d->decay);
	pt.score = score;
	pt.raw = raw;
	pt.method = raw > 0 ? why : ANOMALY_NONE;
	if (out)
		*out = pt;
	return score;
}

int anomaly_score_series(const double *ts, const double *v, size_t n,
			 const struct anomaly_opts *opts, double *scores)
{
	struct anomaly_detector *d = anomaly__new(opts);

	if (!d)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		double s = anomaly__update(d, ts ? ts[i] : (double)i, v[i], NULL);

		if (s < 0) {
			anomaly__free(d);
			return (int)s;
		}
		scores[i] = s;
	}
	anomaly__free(d);
	return 0;
}
