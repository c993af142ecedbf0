/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Alertmanager's routing configuration, as vigil.yml carries it: `route:` (the routing tree),
 * `receivers:` (webhook, Slack, PagerDuty and email integrations) and Prometheus' `alerting:
 * alertmanagers:` (where every alert is also sent). Decoded and validated as Alertmanager 0.25 does
 * (`amtool check-config` accepts it, this accepts it; what it refuses, this refuses, with its
 * message), with Alertmanager's defaults filled in, and every error naming its line
 * ("FILE:LINE: cause").
 *
 * Defaults that differ from Alertmanager's, on purpose: group_wait 10s (Alertmanager: 30s) and
 * group_interval 1m (5m), so that a new alert reaches its receivers well within 30 s and a change
 * within a minute; repeat_interval 4h as Alertmanager. A route that sets them keeps its values.
 *
 * Pure functions over a loaded YAML document; the result is immutable and thread-safe to read.
 */
#ifndef VIGIL_ANALYTICS_AMROUTE_H
#define VIGIL_ANALYTICS_AMROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/labels.h"
#include "analytics/yamldoc.h"

#define AM_DEFAULT_GROUP_WAIT_MS 10000
#define AM_DEFAULT_GROUP_INTERVAL_MS 60000
#define AM_DEFAULT_REPEAT_INTERVAL_MS (4 * 3600 * 1000LL)

struct am_route {
	char *receiver; /* inherited from the parent when not set */
	bool group_by_all; /* group_by: ['...'] */
	char **group_by; /* sorted label names */
	size_t ngroup_by;
	int64_t group_wait_ms, group_interval_ms, repeat_interval_ms; /* inherited when not set */
	struct label_matcher *matchers; /* matchers, match and match_re, sorted as Alertmanager */
	size_t nmatchers;
	bool cont; /* continue */
	struct am_route *routes;
	size_t nroutes;
	char *key; /* Alertmanager's route key: "{}" for the root, parent key + "/" + matchers */
	int line;
};

enum am_kind { AM_WEBHOOK, AM_SLACK, AM_PAGERDUTY, AM_EMAIL };

/* http_config (Prometheus' common HTTPClientConfig): NULL strings are unset. */
struct am_http {
	char *basic_user, *basic_pass;
	char *auth_type, *auth_credentials; /* Authorization: TYPE CREDENTIALS (bearer_token too) */
	char *ca_file, *cert_file, *key_file, *server_name;
	bool insecure_skip_verify;
	char *proxy_url;
	bool follow_redirects; /* default true */
};

/* One integration of a receiver; the fields of its kind are set, the others NULL. */
struct am_notifier {
	enum am_kind kind;
	bool send_resolved; /* Alertmanager's default: webhook, PagerDuty true; Slack, email false */
	int line;
	/* webhook */
	char *url;
	uint64_t max_alerts; /* 0: all */
	/* slack */
	char *api_url, *channel, *username, *title, *text, *color, *title_link;
	/* pagerduty (url: the Events API v2 endpoint) */
	char *routing_key, *severity, *description, *client, *client_url, *source;
	/* email */
	char *to, *from, *smarthost, *hello, *auth_username, *auth_password, *subject;
	bool require_tls;
	struct am_http http; /* webhook, Slack, PagerDuty */
};

struct am_receiver {
	char *name;
	struct am_notifier *n;
	size_t nn;
	int line;
};

/* One Alertmanager from alerting.alertmanagers: the POST /api/v2/alerts URL. */
struct am_target {
	char *url; /* scheme://target/path_prefix/api/v2/alerts */
	int64_t timeout_ms; /* default 10s */
	struct am_http http;
};

struct am_config {
	bool has_route; /* route: and receivers: present */
	struct am_route route;
	struct am_receiver *receivers;
	size_t nreceivers;
	struct am_target *targets;
	size_t ntargets;
};

/*
 * Reads `route`, `receivers` and `alerting` from the top-level mapping root of d (other keys are
 * left to their owners; a document with none of the three gives an empty config). path names the
 * file in messages. 0; -EINVAL with err = "PATH:LINE: cause"; -ENOMEM. On error out holds nothing.
 */
int am_config_parse(const struct ydoc *d, ynode root, const char *path, struct am_config *out,
		    char *err, size_t errlen);
void am_config_release(struct am_config *c);

/* The receiver named name, or NULL. */
const struct am_receiver *am_config_receiver(const struct am_config *c, const char *name);

/*
 * The routes an alert with labels ls goes to, as Alertmanager's Route.Match: depth first, a
 * matching route's children are tried in order (stopping at the first match unless it has
 * `continue`); a matching route no child of which matches is itself the result. Writes up to max
 * routes to out and returns how many matched (may exceed max).
 */
size_t am_route_match(const struct am_route *root, const struct labels *ls,
		      const struct am_route **out, size_t max);

/*
 * Parses one Alertmanager matcher string ('severity="critical"', 'a=~"x|y"', 'b!=c', or several
 * in braces separated by commas) into matchers appended to *m / *n. 0; -EINVAL with err set
 * ("bad matcher format: ..."); -ENOMEM.
 */
int am_parse_matchers(const char *s, struct label_matcher **m, size_t *n, char *err, size_t errlen);

#endif
