/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Notifications of `vigil serve`: the alert engine's notices (notify__sink, an alert_sink_fn)
 * grouped and timed by analytics/amgroup.h for the receivers of `route:` / `receivers:`, and
 * every firing or resolved alert posted to each `alerting.alertmanagers` target every round, as
 * Prometheus' notifier does (POST /api/v2/alerts, batches of 64, no retry: the next round resends).
 *
 *   collection thread   notify__sink: deep-copies the round (labels are not shared across
 *                       threads), builds the Alertmanager bodies, wakes the notify thread
 *   notify thread       groups and flushes on time, builds payloads, and drives every delivery
 *                       at once through one libcurl multi handle (HTTP(S) POSTs, SMTP with MAIL
 *                       FROM / RCPT TO, STARTTLS when require_tls), so a slow receiver delays no
 *                       other; failed deliveries (connection errors, timeouts, 429, 5xx) are
 *                       retried with exponential backoff (1 s, 2 s, 4 s, ... up to 6 attempts);
 *                       what still fails is logged and re-sent by the group's next flush
 *   HTTP threads        GET /api/v1/notifications: the delivery log (a bounded ring, newest first)
 *
 * The queue is bounded (NOTIFY_QUEUE deliveries): a notification that finds it full is dropped,
 * counted, logged and listed in the delivery log as "dropped". Nothing here blocks the caller.
 */
#ifndef VIGIL_SERVICE_NOTIFY_H
#define VIGIL_SERVICE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analytics/amroute.h"
#include "analytics/notice.h"

#define NOTIFY_QUEUE 256
#define NOTIFY_LOG 512
#define NOTIFY_MAX_ATTEMPTS 6

struct http_server;
struct notify;

struct notify_opts {
	const char *external_url; /* links in notifications ("http://127.0.0.1:7470") */
	int64_t backoff_ms; /* first retry delay; 0 = 1000 */
	int64_t timeout_ms; /* per HTTP / SMTP attempt for receivers; 0 = 10000 */
};

/* c must outlive the notifier. NULL + errno after an error line. */
struct notify *notify__new(const struct am_config *c, const struct notify_opts *o);
/* Tries what is queued for up to 2 s, then stops the thread. NULL-safe. */
void notify__free(struct notify *n);

/* An alert_sink_fn (arg: the struct notify). Collection thread; does not block on the network. */
void notify__sink(void *arg, const struct alert_notice *a, size_t n, int64_t now_ms);

/* GET /api/v1/notifications on srv. 0 or -errno. */
int notify__routes(struct notify *n, struct http_server *srv);

/* The delivery log as JSON ({"status":"success","data":{"stats":...,"notifications":[...]}}),
 * malloc'd; NULL when out of memory. Thread-safe. */
char *notify__log_json(struct notify *n);

/* vigil_notifications_total{integration,outcome} in Prometheus text. Thread-safe. */
void notify__metrics(struct notify *n, FILE *out);

#endif
