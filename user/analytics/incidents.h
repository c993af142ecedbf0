/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Incidents: alerts that fire close together and share labels, grouped into one.
 *
 * The correlator is an alert sink (notice.h): after every evaluation round it sees every pending,
 * firing and recently resolved alert. An alert joins an incident when it starts firing:
 *  - within `window` (default 5 min) of the incident's latest alert to start firing (so a cascade
 *    of alerts a few minutes apart each is one incident), while the incident is still open, and
 *  - sharing at least one label value with the incident on the grouping keys (default instance,
 *    job, comm, cgroup, pid, service, disk): the incident's shared labels are those of its
 *    alerts' key labels every one of them has, with the same value; joining narrows them, and an
 *    alert that would leave none starts an incident of its own.
 * Among several candidates the one sharing the most labels wins, then the newest. An incident ends
 * when every alert in it resolved (or left the engine's list): ended = the latest alert's end.
 * The suspected root cause is the alert that fired first (ties: its labels' order).
 *
 * Ids are "inc-" and 16 hex digits of a hash of the first alert's fingerprint and start, so they
 * stay the same when the engine's state survives a restart. Not thread-safe (the caller locks).
 */
#ifndef VIGIL_ANALYTICS_INCIDENTS_H
#define VIGIL_ANALYTICS_INCIDENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/labels.h"
#include "analytics/notice.h"
#include "analytics/yamldoc.h"

#define INCIDENTS_DEFAULT_WINDOW_MS (5 * 60 * 1000)
#define INCIDENTS_MAX 200 /* kept; the oldest ended ones go first */
#define INCIDENTS_MAX_KEYS 32

struct incident_opts {
	int64_t window_ms; /* 0 = 5 min */
	const char *keys[INCIDENTS_MAX_KEYS]; /* grouping label names; none = the defaults */
	size_t nkeys;
};

/*
 * The `incidents:` section of vigil.yml: {window: 5m, group_by: [instance, comm]} into out (key
 * strings point into d: keep it loaded while out is used, or copy). 0 or -EINVAL with
 * err = "PATH:LINE: ...".
 */
int incidents_config_parse(const struct ydoc *d, ynode section, const char *path,
			   struct incident_opts *out, char *err, size_t errlen);

struct incident_alert {
	struct labels *labels; /* owned */
	uint64_t fingerprint;
	int64_t starts_at_ms, ends_at_ms; /* ends_at 0 while firing */
	double value;
	bool resolved;
	uint64_t round; /* the correlator's: the last round that listed it */
};

struct incident {
	char id[24];
	int64_t started_ms, ended_ms; /* ended 0 while open */
	int64_t last_start_ms; /* the latest member's start (the window counts from it) */
	struct labels *shared; /* owned: key labels common to every member */
	struct incident_alert *alerts; /* in the order they joined; [root] fired first */
	size_t n;
	size_t root;
};

struct incidents;

/* o is copied (keys too). NULL + errno. */
struct incidents *incidents__new(const struct incident_opts *o);
void incidents__free(struct incidents *c); /* NULL-safe */
/* One evaluation round's alerts (the engine's full list): new firing alerts grouped, ended ones
 * marked. Same signature as alert_sink_fn with c as arg. Errors (out of memory) drop the round. */
void incidents__observe(void *c, const struct alert_notice *a, size_t n, int64_t now_ms);
/* The incidents, oldest first; valid until the next observe. */
const struct incident *incidents__list(const struct incidents *c, size_t *n);

#endif
