/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Online anomaly detection over one time series: feed points in time order, get for each a score in
 * [0, 1] computed from that point and the ones before it only (never the future), as the Numenta
 * Anomaly Benchmark requires and as an alerting service needs.
 *
 * Method (anomaly.c explains each step): several detectors look at the series at once: the value
 * against every value of the recent history (extreme), the same point against the same phase of
 * earlier days or weeks when the series has a daily or weekly cycle (seasonal), the short-term median
 * and mean against the recent level (level shifts, bursts), the short-term step-to-step change (noise
 * that grows or vanishes) and the short-term slope (trend turns). Each detector's statistic becomes a
 * tail probability against that statistic's own history on this series (peaks over a high quantile
 * follow an exponential tail, as in extreme-value "SPOT" detectors), so the detectors are comparable
 * and calibrated per series. The evidence is the most surprising detector, Bonferroni-corrected,
 * plus a quarter of what the others add (kinds of anomaly often show in several at once);
 * What the series shows cannot be rarer than it is: a statistic's tail probability is at least
 * the share of its history that was as large (a spike that recurs is not news), and an excursion
 * the series made at this time of day on three of the last seven days (a cron job, a backup) has
 * its evidence damped.
 * score = min(1, evidence / 10) with evidence in -log10 units, so score 0.5 is an event about as
 * rare as one in 100,000 points. One event, one alarm: a score counts in full only when it tops the
 * recent peak, which halves every `refractory` points; other scores are damped.
 *
 * Memory: about 420 KiB per detector (ring buffers of past values and statistic histories). Cost:
 * about 30 microseconds per point here (make bench). Not thread-safe; separate detectors are independent.
 */
#ifndef VIGIL_ANALYTICS_ANOMALY_H
#define VIGIL_ANALYTICS_ANOMALY_H

#include <stddef.h>

/* Which detector explained a point best (struct anomaly_point.method). */
enum anomaly_method {
	ANOMALY_NONE = 0, /* warming up, or nothing stood out */
	ANOMALY_EXTREME, /* the value against every value of the recent history */
	ANOMALY_SPIKE, /* the value against the recent robust level (off by default) */
	ANOMALY_SEASONAL, /* the value against the same phase of earlier cycles */
	ANOMALY_LEVEL, /* the short-term median or mean moved (level shift, burst) */
	ANOMALY_SPREAD, /* the short-term noise grew or vanished */
	ANOMALY_TREND, /* the short-term slope changed */
	ANOMALY__NR,
};

/* "none", "extreme", "spike", "seasonal", "level", "spread", "trend"; "?" when out of range. */
const char *anomaly_method_name(enum anomaly_method m);

/*
 * Tuning knobs, all in points (not seconds) except step. anomaly_opts_default() fills the values the
 * NAB evaluation chose (scripts/nab-eval.py); a caller normally changes none of them.
 */
struct anomaly_opts {
	double step; /* seconds between points; 0 = infer from the timestamps fed */
	double refractory; /* half-life of the recent peak that damps repeated alarms */
	double damp; /* factor applied to scores that do not top the recent peak */
	double margin; /* by how much a score must top the recent peak to count in full */
	double tail_q; /* the tail fit starts at the (1 - tail_q) quantile of a statistic */
	double history; /* statistic history the tail fit uses (<= 2048) */
	double min_hist; /* statistic history needed before it speaks */
	double window; /* the reference window: the recent level and scale */
	double short_window; /* the short window of the level, spread and trend detectors */
	double season_min_corr; /* autocorrelation a daily or weekly cycle needs to be used */
	double cycles; /* cycles of history needed before a cycle is tested */
	double combine; /* weight of the other detectors' evidence added to the best one */
	double warmup; /* points before any score is given */
	double recur; /* a statistic's tail probability is at least recur * (share of its history at
		       * least as large, less one value): what recurs is not news (0 = off) */
	double sched_damp; /* evidence factor for an excursion seen at this time of day on three
			    * of the last seven days (1 = off) */
	unsigned int methods; /* mask of (1 << enum anomaly_method); 0 = all but spike */
};

void anomaly_opts_default(struct anomaly_opts *o);
/*
 * Sets one knob by name, as spelled in struct anomaly_opts ("methods" takes names joined by '+',
 * e.g. "extreme+seasonal+level"). 0 or -EINVAL (unknown name, bad or out-of-range value).
 */
int anomaly_opts_set(struct anomaly_opts *o, const char *name, const char *value);

/* What the detector says about one point. */
struct anomaly_point {
	double score; /* [0, 1], damped after an alarm */
	double raw; /* [0, 1], undamped */
	double expected; /* the seasonal expectation or the recent median; NAN while warming up */
	double deviation; /* (value - expected) / robust scale; 0 while warming up */
	double period; /* the cycle in use, in points; 0 = none */
	enum anomaly_method method; /* the detector that spoke loudest */
};

struct anomaly_detector;

/* A new detector (opts copied; NULL = defaults), or NULL with errno set. */
struct anomaly_detector *anomaly__new(const struct anomaly_opts *opts);
/* NULL-safe. */
void anomaly__free(struct anomaly_detector *d);
/*
 * Feeds the next point (ts in seconds, any epoch, used to infer the step; value finite) and scores
 * it; out may be NULL. Returns the score (>= 0), or -EINVAL for a non-finite value (the point is
 * ignored).
 */
double anomaly__update(struct anomaly_detector *d, double ts, double value,
		       struct anomaly_point *out);
/* Points fed so far. */
size_t anomaly__count(const struct anomaly_detector *d);

/*
 * Scores a whole series offline, exactly as feeding it point by point would: scores[i] for
 * (ts[i], v[i]); ts may be NULL (one second apart). 0 or a negative errno.
 */
int anomaly_score_series(const double *ts, const double *v, size_t n,
			 const struct anomaly_opts *opts, double *scores);

#endif
