/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The alert engine (analytics/alerts.h) inside `vigil serve`: rule files and global settings from
 * the configuration, evaluation of a group whose interval is a multiple of --interval after the
 * interval's points are stored (at the interval end; global.evaluation_interval defaults to
 * --interval), of any other group on its own timer thread (its exact interval, as Prometheus'
 * group loop, over the points stored by then), recording-rule
 * and ALERTS series written to the store, and the engine's state in the store's key-value table
 * (firing alerts with their activeAt, acks, silences, rules added through the API), so a restart
 * or kill -9 on the same data directory resumes it.
 *
 * Endpoints (alerting_api.c), JSON as Prometheus 2.42 and Alertmanager v2:
 *   GET  /api/v1/alerts                     Prometheus' (plus fingerprint, silenced, inhibited,
 *                                           acked, startsAt, generatorURL)
 *   GET  /api/v1/rules[?type=alert|record]  Prometheus'
 *   GET|POST|PUT /api/v1/alerts/rules       rules added through the API (a rule file, YAML or
 *   DELETE /api/v1/alerts/rules/GROUP        JSON, validated as rule files; POST adds groups,
 *                                           PUT adds or replaces them)
 *   POST /api/v1/alerts/FINGERPRINT/ack
 *   GET|POST /api/v1/silences, GET|DELETE /api/v1/silence/ID   Alertmanager v2's
 *
 * Other modules reach the engine through service__alerts(): alerts__add_sink() (notifications,
 * incidents), alerts__add_rules_text() (SLO rules).
 */
#ifndef VIGIL_SERVICE_ALERTING_H
#define VIGIL_SERVICE_ALERTING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "analytics/alerts.h"

struct alerting;
struct http_server;
struct service;
struct vigil_config;

/* cfg may be NULL (no configuration file); its rule files and inhibit rules are moved into the
 * engine. Registers routes and an interval hook. NULL + errno after an error line. */
struct alerting *alerting__new(struct service *s, struct http_server *h, struct vigil_config *cfg);
void alerting__free(struct alerting *al); /* NULL-safe; after the HTTP server stopped */
struct alerts *alerting__engine(struct alerting *al);

/* ---- shared by alerting.c and alerting_api.c ---- */
struct alerting_int {
	struct service *svc;
	struct alerts *eng;
	struct storesrc *src;
	pthread_mutex_t api_lock; /* the API's groups */
	json_t *api_groups; /* array of rule groups as JSON rule-file objects */
	int64_t interval_ms; /* the service's */
	char base_url[300]; /* the service's own URL ("http://127.0.0.1:7470"), for links */
	bool restored, in_tx; /* in_tx: only within an evaluation round (the engine's eval_lock) */
	/* the timer thread of groups off the interval ends (started after the state is restored) */
	pthread_t timer;
	pthread_mutex_t timer_lock;
	pthread_cond_t timer_cv;
	bool timer_started, timer_stop;
};

/*
 * alertlink.c: the engine's link hook (alerts.h, struct alerts_link). A rule that reads a CPU
 * metric (vigil_*cpu_seconds_total) or a latency one (vigil_*_latency_seconds*), directly or
 * through recording rules, links its alerts to /api/v1/profiling/diff of their window
 * [activeAt - back, end) against the window of the same length before it, with the alert's comm,
 * cgroup and pid labels as filters; back = alerting_link_back(), end = when it fired (so every
 * notification and an Alertmanager carry the same link; when it resolved once resolved; now while
 * pending). When it fires it gets the
 * annotation ALERT_ANNOTATION_TOP_GROWING (notice.h): the 5 functions that grew most there.
 * Other rules keep Prometheus' graph link.
 */
struct alerts_link alerting_link(struct alerting_int *al);
/* How far before activeAt an alert's window starts: the samples its expression first held on
 * (range_ms: how far back it reads, through recording rules), from the interval the range's first
 * point sums up, and half an interval for the jitter of interval ends: range + 1.5 intervals. */
int64_t alerting_link_back(int64_t range_ms, int64_t interval_ms);
/* Whether a rule reading these metrics links to the profile diff. */
bool alerting_links_to_diff(const char *const *metrics, size_t n);
/* The window described above for one alert. */
void alerting_link_window(int64_t back_ms, const struct alerts_link_req *q, int64_t *from,
			  int64_t *to);

/* Saves what changed (alert state, silences) into the store. */
void alerting_save(struct alerting_int *al);
int alerting_api_register(struct alerting_int *al, struct http_server *h);
/* The API's groups into the engine and the store. 0 or -errno (err says why). */
int alerting_api_apply(struct alerting_int *al, char *err, size_t errlen);
/* A time as Go's time.Time marshals it (RFC 3339, UTC, fraction without trailing zeros). */
char *alerting_time(int64_t ms, char *buf, size_t len);
json_t *alerting_labels_json(const struct labels *l);
/* The silences as Alertmanager's gettable silences. */
json_t *alerting_silences_json(struct alerts *eng, int64_t now_ms, const char *only_id);
int alerting_silence_from_json(json_t *j, struct silence *s, char *err, size_t errlen);
void alerting_silence_release(struct silence *s);

#endif
