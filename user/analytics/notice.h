/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An alert as the alert engine (alerts.h) hands it on: to the notifiers (receivers and
 * Alertmanagers), the incident correlator and the HTTP API. The fields are Alertmanager's
 * (labels, annotations, startsAt, endsAt, generatorURL, fingerprint), plus the engine's state and
 * what muted it. A notice is a snapshot: the engine fills an array per evaluation, the receiver
 * copies what it keeps (labels__ref) before the call returns.
 */
#ifndef VIGIL_ANALYTICS_NOTICE_H
#define VIGIL_ANALYTICS_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/labels.h"

/*
 * The annotation of an alert on CPU or latency (vigil serve) that names the functions whose share
 * of the CPU samples grew most in its window against the window before, as
 * "FUNCTION [MODULE] BEFORE% -> AFTER% (+CHANGE); ..." (shares of all samples, change in
 * percentage points); its generatorURL is that differential flame graph.
 */
#define ALERT_ANNOTATION_TOP_GROWING "top_growing_functions"

enum alert_state {
	ALERT_INACTIVE,
	ALERT_PENDING, /* the expression holds, `for` not yet passed */
	ALERT_FIRING,
	ALERT_RESOLVED, /* was firing; kept (and sent) for a while after it stopped */
};

struct alert_notice {
	const struct labels *labels; /* sorted; includes alertname; the rule's labels applied */
	const struct labels *annotations; /* templates expanded */
	enum alert_state state;
	double value; /* the expression's value at the last evaluation that held */
	int64_t active_at_ms; /* first evaluation that held (pending since) */
	int64_t starts_at_ms; /* fired at (Alertmanager's startsAt); 0 while pending */
	int64_t ends_at_ms; /* resolved at; while firing, the valid-until time Prometheus sends */
	uint64_t fingerprint; /* of labels, as Alertmanager's model.Fingerprint (FNV-1a 64) */
	const char *generator_url; /* link to the expression or the profile diff; may be "" */
	const char *rule_group; /* the group's name ("" if none) */
	/* Muted for Vigil's own receivers (an external Alertmanager still gets every alert and
	 * applies its own silences): */
	bool silenced; /* a silence's matchers match the labels */
	bool inhibited; /* a firing alert of higher severity with the same labels (inhibit rules) */
	bool acked; /* POST /api/v1/alerts/{fingerprint}/ack */
};

/* Alertmanager's state names: "inactive", "pending", "firing", "resolved". */
static inline const char *alert_state_name(enum alert_state s)
{
	static const char *const names[] = { "inactive", "pending", "firing", "resolved" };

	return (unsigned)s < 4 ? names[s] : "inactive";
}

/*
 * What the engine calls after every evaluation round with every pending, firing and recently
 * resolved alert (as Prometheus' sendAlerts: firing ones re-sent each round, resolved ones for
 * 15 minutes). Runs on the service's collection thread: do not block on the network here.
 */
typedef void (*alert_sink_fn)(void *arg, const struct alert_notice *alerts, size_t n,
			      int64_t now_ms);

#endif
