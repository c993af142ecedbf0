/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SLOs (vigil.yml's `slos:`) and the Prometheus rule file they generate, as Sloth does: recording
 * rules for the SLI's error ratio over each alert window, meta recordings (objective, error budget,
 * burn rates, budget remaining) and the multiwindow, multi-burn-rate alerts of Google's SRE
 * workbook (chapter 5, table 5-8). The alert engine loads the generated file like any rule file, and
 * the same text passes `promtool check rules` and runs in a real Prometheus.
 *
 *   slos:
 *     - name: runq-1ms                  # [A-Za-z0-9_.:-]+, unique; the `slo` label of every rule
 *       objective: 99                   # percent of good events, as Sloth (99.9 = three nines)
 *       period: 1h                      # Prometheus duration; 30d when absent
 *       description: "..."              # optional, into the alerts' annotations
 *       sli:
 *         latency:                      # good = an observation in the histogram's le bucket
 *           metric: vigil_runq_latency_seconds   # histogram name (or name{matchers})
 *           le: 0.001                   # a bucket bound the histogram has
 *       # or  events: {errors: EXPR, total: EXPR}, PromQL with {{.window}} for the range
 *       labels: {team: infra}           # added to every generated series and alert
 *       alerting:
 *         name: RunqLatencyBudgetBurn   # alertname (default SLOBurnRate)
 *         page_labels: {route: pager}
 *         ticket_labels: {route: tickets}
 *         annotations: {runbook: "..."}
 *
 * The error ratio over a window w: latency SLIs
 *   1 - (sum(rate(M_bucket{le="X"}[w])) / sum(rate(M_count[w])))
 * events SLIs (ERRORS) / (TOTAL) with {{.window}} replaced by w. No events in w gives NaN: no
 * alert (as in Sloth).
 *
 * Windows are the workbook's for a 30-day period scaled by period / 30d and rounded to whole
 * seconds, then clamped to at least SLO_MIN_WINDOW_INTERVALS evaluation intervals (so every rate()
 * sees 4 or more samples): a 1 h SLO has page windows 1h/720 = 5 s and 5m/720 = 0.4 s -> the clamp.
 * Windows that clamp to the same value share one recording rule.
 *
 * Pure functions; thread-safe on distinct objects.
 */
#ifndef VIGIL_ANALYTICS_SLO_H
#define VIGIL_ANALYTICS_SLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/yamldoc.h"

#define SLO_NOMINAL_PERIOD_MS (30LL * 86400 * 1000)
#define SLO_ALERT_NAME "SLOBurnRate"
#define SLO_MIN_WINDOW_INTERVALS 4 /* the clamp: windows hold at least this many intervals */

struct slo_kv {
	char *name, *value;
};

enum slo_sli { SLO_SLI_LATENCY, SLO_SLI_EVENTS };

struct slo {
	char *name;
	char *description; /* "" when absent */
	double objective; /* percent, in [1, 100) */
	int64_t period_ms;
	char *period; /* as written ("30d" when absent): names the period's recording */
	enum slo_sli sli;
	char *metric; /* latency: the histogram's name */
	char *matchers; /* latency: matchers inside the braces as written ("" when none) */
	char *le; /* latency: the bucket bound as a label value ("0.001") */
	char *errors, *total; /* events: expressions with {{.window}} */
	char *alert_name;
	struct slo_kv *labels, *page_labels, *ticket_labels, *annotations;
	size_t nlabels, npage_labels, nticket_labels, nannotations;
	int line;
};

struct slo_set {
	struct slo *v;
	size_t n;
};

/* One row of the workbook's table for a 30-day period. */
struct slo_burn {
	const char *severity; /* "page" or "ticket" */
	double factor; /* burn rate: 14.4, 6, 3, 1 */
	int64_t long_ms, short_ms; /* nominal windows */
};

#define SLO_NBURNS 4
extern const struct slo_burn slo_burns[SLO_NBURNS];

/*
 * Parses a `slos:` section (a sequence; null is empty) of a loaded YAML document. path is for
 * messages. 0, or -EINVAL with err = "PATH:LINE: what is wrong" (the first problem), or -ENOMEM.
 * out is filled only on success (release with slo_set_release). The signature of vigil.yml's
 * section hooks (service/config.c).
 */
int slo_config_parse(const struct ydoc *d, ynode section, const char *path, struct slo_set *out,
		     char *err, size_t errlen);
/* The same for a whole YAML file (buf of len bytes) whose top-level mapping holds `slos:`; other
 * keys are ignored, so vigil.yml itself may be given. */
int slo_file_parse(const char *buf, size_t len, const char *path, struct slo_set *out, char *err,
		   size_t errlen);
void slo_set_release(struct slo_set *s); /* NULL-safe; leaves s empty */

/* The error budget as a ratio: 1 - objective / 100, rounded to 12 significant digits. */
double slo_budget(const struct slo *s);
/* A nominal window scaled by period / 30d, rounded to whole seconds, at least min_ms. */
int64_t slo_window_ms(const struct slo *s, int64_t nominal_ms, int64_t min_ms);
/* The windows the generated rules record, ascending and distinct (at most 2 * SLO_NBURNS). */
size_t slo_windows(const struct slo *s, int64_t min_ms, int64_t *out);
/*
 * The error-ratio expression over window_ms (PromQL text, malloc'd), as described above. NULL with
 * errno set (ENOMEM).
 */
char *slo_error_ratio_expr(const struct slo *s, int64_t window_ms);

/*
 * The generated Prometheus rule file for all SLOs (YAML, malloc'd, NUL-terminated; *len without
 * the NUL). Per SLO three groups: "slo-sli-<name>" (slo:sli_error:ratio_rate<W> for each window
 * and for the period), "slo-meta-<name>" (slo:objective:ratio, slo:error_budget:ratio,
 * slo:time_period:days, slo:current_burn_rate:ratio, slo:period_burn_rate:ratio,
 * slo:period_error_budget_remaining:ratio) and "slo-alerts-<name>" (page and ticket). Every
 * series carries `slo` and the SLO's labels; window recordings `slo_window`; alerts `severity`.
 * Every group is evaluated every interval_ms (the service's interval, or Prometheus' scrape
 * interval) and no window is shorter than SLO_MIN_WINDOW_INTERVALS of them. 0 or -ENOMEM.
 */
int slo_rules_text(const struct slo_set *s, int64_t interval_ms, char **text, size_t *len);

#endif
