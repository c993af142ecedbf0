/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The service side of anomalies, capacity, incidents and profile diffs (vigil serve):
 *
 *   GET /api/v1/anomalies            every anomaly found (open and resolved), newest first:
 *                                    {"anomalies":[{name, labels, value, expected, deviation,
 *                                    score, severity, method, timestamp, started, resolved,
 *                                    resolved_at}], "items":[{name, expr, sensitivity, threshold}]}
 *   GET /api/v1/capacity/forecast    per capacity item and series: {name, labels, limit, window,
 *                                    points, current, rate, rate_lower, rate_upper,
 *                                    seconds_to_limit, lower, upper, timestamp} (null = never)
 *   GET /api/v1/incidents            alerts grouped (analytics/incidents.h): {id, state, started,
 *                                    ended, shared_labels, alerts, root_cause{alert, labels,
 *                                    started, top_function, diff_url}}
 *   GET /api/v1/profiling/diff?from&to&base_from&base_to&kind&comm&pid&cgroup&top&format
 *                                    the differential flame graph of the stored profiles of
 *                                    [from, to) against [base_from, base_to) (default: the window
 *                                    before, of equal length; window default the last 5 min):
 *                                    format=svg (default), json (the top growing and shrinking
 *                                    functions, export_diff_top) or pprof (the window's samples
 *                                    with the baseline's subtracted, scaled to the same total, as
 *                                    go tool pprof -normalize -diff_base computes them)
 *
 * Every interval (collection thread): the watches (analytics/watch.h) evaluated over the store,
 * their series (vigil_anomaly_score, vigil_anomaly_expected, vigil_capacity_seconds_to_limit)
 * appended in one transaction. At the first interval the detectors are fed the stored history of
 * their expressions (WATCH_DEFAULT_REPLAY intervals), so a restart keeps their state.
 */
#ifndef VIGIL_SERVICE_INSIGHTS_H
#define VIGIL_SERVICE_INSIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "analytics/incidents.h"
#include "analytics/notice.h"
#include "analytics/watch.h"

struct http_server;
struct profile_filter;
struct service;
struct insights;

/* Registers the routes and the interval hook. watch (may be NULL: no items) is borrowed for the
 * object's life; inc (NULL: defaults) is copied. NULL + errno. Free after http_server__free. */
struct insights *insights__new(struct service *s, struct http_server *h,
			       const struct watch_config *watch, const struct incident_opts *inc);
void insights__free(struct insights *in); /* NULL-safe */

/* An alert_sink_fn (notice.h) feeding the incident correlator: arg = the insights object. */
void insights__alert_sink(void *arg, const struct alert_notice *a, size_t n, int64_t now_ms);

/*
 * The link to the differential flame graph of the stored CPU profiles of [from, to) against the
 * window of the same length before it:
 * BASE/api/v1/profiling/diff?from=..&to=..&base_from=..&base_to=..[&comm=..][&cgroup=..][&pid=..]
 * (the filters from l's labels comm, cgroup and pid when it has them; l may be NULL). base_url
 * without a trailing slash ("http://127.0.0.1:7470"), or "" for a relative link. malloc'd, NULL
 * when out of memory. Thread-safe.
 */
char *profiling_diff_url(const char *base_url, int64_t from_ms, int64_t to_ms,
			 const struct labels *l);
/*
 * What that link shows, as data: the rows functions whose self share grew most (export_diff_top's
 * JSON "grew" rows: function, module, base_self_pct, new_self_pct, self_change_pct, ...), a new
 * jansson array (empty when nothing grew). NULL with errno when the store cannot be read.
 * Thread-safe.
 */
json_t *profiling_diff_grew(struct service *s, int64_t from_ms, int64_t to_ms,
			    const struct profile_filter *f, unsigned int rows);

#endif
