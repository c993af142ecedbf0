/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Grouping and timing of notifications, as Alertmanager 0.25's dispatcher and notification
 * pipeline do it, for Vigil's own receivers:
 *
 * - every firing alert goes to the routes am_route_match() gives, and within a route to the group
 *   of its group_by labels (all labels for '...'); a resolved alert only updates a group it is in;
 * - a new group is flushed after group_wait (at once when its alert started longer than group_wait
 *   ago), then every group_interval;
 * - at a flush, silenced, inhibited and acknowledged alerts are left out, and each integration of
 *   the route's receiver is sent the group when Alertmanager's DedupStage would: on its first
 *   firing alert, when a firing alert is new since the last notification, when everything resolved
 *   (if anything firing had been notified), when an alert resolved (send_resolved only), or
 *   unchanged once repeat_interval has passed since the last notification;
 * - an integration without send_resolved gets the firing alerts only, nothing when none fire;
 * - resolved alerts leave the group after the flush that reported them; an empty group goes.
 *
 * The caller owns the clock: times are milliseconds on any monotonic-enough scale, the notices'
 * times on the same (unix ms). Not thread-safe: one thread feeds and ticks it.
 */
#ifndef VIGIL_ANALYTICS_AMGROUP_H
#define VIGIL_ANALYTICS_AMGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/amroute.h"
#include "analytics/labels.h"
#include "analytics/notice.h"

struct am_alert {
	struct labels *labels, *annotations; /* references owned by the alert */
	int64_t starts_at_ms,
		ends_at_ms; /* ends_at: resolved at, or the valid-until while firing */
	bool resolved;
	bool muted; /* silenced, inhibited or acked */
	uint64_t fingerprint;
	char *generator_url;
};

/* One notification: a group's alerts for one integration. Valid during the callback only. */
struct am_notification {
	const struct am_receiver *receiver;
	const struct am_notifier *integration;
	size_t integration_idx; /* in receiver->n */
	const char *group_key; /* Alertmanager's: route key + ":" + group labels */
	const struct labels *group_labels;
	const struct am_alert *const *alerts; /* firing first? no: Alertmanager's order (job,
					       * instance, labels) */
	size_t nalerts;
	size_t nfiring;
	bool firing; /* status "firing" (any alert firing) else "resolved" */
};

typedef void (*am_notify_fn)(void *arg, const struct am_notification *n);

struct am_dispatch;

/* c must outlive the dispatcher. NULL with errno = ENOMEM. */
struct am_dispatch *am_dispatch__new(const struct am_config *c);
void am_dispatch__free(struct am_dispatch *d);

/* The notices of one evaluation round (copied). 0 or -ENOMEM. */
int am_dispatch__update(struct am_dispatch *d, const struct alert_notice *a, size_t n,
			int64_t now_ms);

/*
 * Flushes the groups due at now_ms, calling fn for every notification to send. Returns the time
 * of the next due flush (INT64_MAX when there are no groups).
 */
int64_t am_dispatch__tick(struct am_dispatch *d, int64_t now_ms, am_notify_fn fn, void *arg);

/*
 * A notification could not be delivered: forget that this integration was told about this group,
 * so the next flush sends it again (as Alertmanager logs only successful notifications).
 */
void am_dispatch__failed(struct am_dispatch *d, const char *group_key, const char *receiver,
			 size_t integration_idx);

/* Groups alive now (for tests and the API). */
size_t am_dispatch__groups(const struct am_dispatch *d);

/* Alertmanager's group key for route r and group labels ls (malloc'd; NULL when out of memory). */
char *am_group_key(const struct am_route *r, const struct labels *ls);

/* Alertmanager's ordering of a notification's alerts: by job, then instance, then labels. */
int am_alert_cmp(const struct am_alert *a, const struct am_alert *b);

#endif
