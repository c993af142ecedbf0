/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `vigil serve`: the collectors of collect/ running continuously, a local store, the HTTP API and
 * the pushes to existing engines, in one process.
 *
 *   collection thread (service__run)    every second: the CPU sampler drained into the interval's
 *                                       profile (and into live /debug/pprof requests); every interval:
 *                                       off-CPU profile, latency histograms, /proc gauges, one stored
 *                                       profile per kind and one point per series, /metrics rebuilt,
 *                                       an event for /api/v1/stream, the pushes queued
 *   HTTP threads (service/http.c)       handlers in service/api.c and service/web.c
 *   push thread (service/push.c)        remote write and pprof push, off the collection path
 *
 * The analytics plug in through service__http() (their routes), service__series() (the metric
 * store) and service__on_interval() (evaluate rules after each interval's points are stored).
 */
#ifndef VIGIL_SERVICE_H
#define VIGIL_SERVICE_H

#include <stdbool.h>
#include <linux/types.h>

#include "model/series.h"

struct alerts;
struct http_server;
struct incident_opts;
struct insights;
struct service;
struct watch_config;
struct slo_set;
struct vigil_config;

struct service_opts {
	const char *listen; /* "127.0.0.1:7470" */
	const char *data_dir; /* "/var/lib/vigil" */
	double interval_s; /* 10 */
	long retention_s; /* 7 days */
	long downsample_age1_s, downsample_res1_s; /* after 1 h: 1 min resolution */
	long downsample_age2_s, downsample_res2_s; /* after 1 day: 10 min */
	unsigned long profile_hz; /* 97 */
	bool offcpu; /* --offcpu */
	bool latency; /* syscall, run-queue and block-I/O histograms (default on) */
	unsigned int top_n; /* label cardinality: top N comm / syscall per interval (20) */
	const char *token; /* bearer token (contents of --token-file), or NULL */
	const char *tls_cert_pem, *tls_key_pem; /* PEM contents, or NULL */
	const char *remote_write_url; /* Prometheus remote write 1.0 endpoint, or NULL */
	const char *push_url; /* Pyroscope-compatible server (POST URL/ingest), or NULL */
	const char *push_app; /* application name for the push ("vigil.cpu") */
	__u32 unwind_mode; /* VG_UNWIND_* user-stack walker (features__user_unwind) */
	__u32 stack_storage; /* stack map entries (16384) */
	/* vigil.yml's anomalies: and capacity: items (borrowed for the service's life; NULL: none)
	 * and incidents: (NULL: defaults) */
	const struct watch_config *watch;
	const struct incident_opts *incidents;
	struct slo_set *slos; /* the config's slos: (moved into the service; NULL: none) */
	struct vigil_config *config; /* --config (service/config.h), or NULL; its rule files and
				      * inhibit rules move into the alert engine */
};

/* Open the store, load and attach the collectors, bind the HTTP server. NULL + errno after an
 * error line; errno EPERM/EACCES (privileges) and ENOTSUP (kernel) map to exit status 2. */
struct service *service__new(const struct service_opts *o);
/* Collect, store and serve until SIGINT/SIGTERM. 0, or 1 after an error line. */
int service__run(struct service *s);
/* Detach, flush the current interval, stop the servers. NULL-safe. */
void service__free(struct service *s);

/* For the analytics: their routes, the metric store, a hook after each interval (collection thread,
 * t_ms = the interval's end). */
struct http_server *service__http(struct service *s);
struct series_store service__series(struct service *s);
int service__on_interval(struct service *s, void (*fn)(void *arg, __s64 t_ms), void *arg);
/* Anomalies, capacity, incidents, profile diffs (service/insights.h): the alert engine hands its
 * notices to insights__alert_sink(service__insights(s), ...). */
struct insights *service__insights(struct service *s);
/* The alert engine (analytics/alerts.h: alerts__add_sink, alerts__add_rules_text) and the
 * configuration (service/config.h; NULL without --config). */
struct alerts *service__alerts(struct service *s);
struct vigil_config *service__config(struct service *s);
/* The listen address as given, and whether the server speaks TLS. */
const char *service__listen(const struct service *s);
bool service__tls(const struct service *s);

/* ---- for service/api.c and service/web.c (HTTP threads; all thread-safe) ---- */

/* The latest /metrics text (malloc'd copy). */
char *service__metrics_text(struct service *s, size_t *len);
/* A live CPU profile of the next `seconds` seconds as gzip pprof (malloc'd); blocks. 0 or -errno
 * (-ECANCELED when the service stops meanwhile). */
int service__live_pprof(struct service *s, double seconds, void **blob, size_t *len);
/* Ready: collectors attached and store writable. reason gets why not. */
bool service__ready(struct service *s, char *reason, size_t len);
/* The store (range reads) and the collection interval. */
struct store *service__store(struct service *s);
double service__interval(const struct service *s);
/* Points older than this (ms) are downsampled by the store. */
long long service__raw_age_ms(const struct service *s);
/* Server-sent events: wait until an event newer than *seq exists (or timeout_ms passes); returns a
 * malloc'd JSON text and advances *seq, or NULL on timeout / stop. */
char *service__next_event(struct service *s, __u64 *seq, int timeout_ms);
bool service__stopping(const struct service *s);

#endif
