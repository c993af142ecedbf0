// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: Alertmanager route/receivers configs (accepted and refused with amtool
 * check-config's messages, which tests/integration/test_notify.py compares against the real
 * amtool), routing, the grouping and timing of notifications (group_wait, group_interval,
 * repeat_interval, send_resolved, muting) to the millisecond, and the notification payloads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "analytics/amgroup.h"
#include "analytics/ampayload.h"
#include "analytics/amroute.h"

static int parse(const char *text, struct am_config *c, char *err, size_t errlen)
{
	int line = 0;
	struct ydoc *d = ydoc_load(text, strlen(text), err, errlen, &line);
	int rc;

	assert_non_null(d);
	rc = am_config_parse(d, ydoc_root(d), "vigil.yml", c, err, errlen);
	ydoc_free(d);
	return rc;
}

static void refused(const char *text, const char *want)
{
	struct am_config c;
	char err[512];

	assert_int_equal(parse(text, &c, err, sizeof(err)), -EINVAL);
	if (strcmp(err, want))
		fail_msg("config:\n%s\nwant \"%s\"\ngot  \"%s\"", text, want, err);
}

static const char base[] = "route:\n"
			   "  receiver: team\n"
			   "  group_by: [alertname, cluster]\n"
			   "  group_wait: 5s\n"
			   "  routes:\n"
			   "  - matchers: ['severity=\"page\"', 'team=~\"db|web\"']\n"
			   "    receiver: pager\n"
			   "    group_interval: 2m\n"
			   "    continue: true\n"
			   "  - match: {severity: page}\n"
			   "    receiver: team\n"
			   "    group_by: ['...']\n"
			   "  - match_re: {service: 'api.*'}\n"
			   "    receiver: pager\n"
			   "receivers:\n"
			   "- name: team\n"
			   "  webhook_configs:\n"
			   "  - url: http://127.0.0.1:9/hook\n"
			   "    max_alerts: 3\n"
			   "  slack_configs:\n"
			   "  - api_url: https://hooks.slack.example/T0/B0/x\n"
			   "    channel: '#ops'\n"
			   "- name: pager\n"
			   "  pagerduty_configs:\n"
			   "  - routing_key: abc\n"
			   "  email_configs:\n"
			   "  - to: ops@example.org\n"
			   "    from: vigil@example.org\n"
			   "    smarthost: 127.0.0.1:25\n"
			   "    require_tls: false\n"
			   "alerting:\n"
			   "  alertmanagers:\n"
			   "  - static_configs:\n"
			   "    - targets: ['127.0.0.1:9093', 'am2:9093']\n"
			   "    path_prefix: /am\n"
			   "    timeout: 3s\n"
			   "    basic_auth: {username: am, password: pw}\n";

static void test_config(void **state)
{
	struct am_config c;
	char err[512];
	const struct am_route *r;

	(void)state;
	assert_int_equal(parse(base, &c, err, sizeof(err)), 0);
	assert_true(c.has_route);
	r = &c.route;
	assert_string_equal(r->receiver, "team");
	assert_int_equal(r->ngroup_by, 2);
	assert_string_equal(r->group_by[0], "alertname");
	assert_int_equal(r->group_wait_ms, 5000);
	assert_int_equal(r->group_interval_ms, AM_DEFAULT_GROUP_INTERVAL_MS);
	assert_int_equal(r->repeat_interval_ms, AM_DEFAULT_REPEAT_INTERVAL_MS);
	assert_string_equal(r->key, "{}");
	assert_int_equal(r->nroutes, 3);
	/* inherited group_by and group_wait, own group_interval, sorted matchers */
	assert_int_equal(r->routes[0].ngroup_by, 2);
	assert_int_equal(r->routes[0].group_wait_ms, 5000);
	assert_int_equal(r->routes[0].group_interval_ms, 120000);
	assert_true(r->routes[0].cont);
	assert_string_equal(r->routes[0].key, "{}/{severity=\"page\",team=~\"db|web\"}");
	assert_true(r->routes[1].group_by_all);
	assert_string_equal(r->routes[1].key, "{}/{severity=\"page\"}");
	assert_string_equal(r->routes[2].key, "{}/{service=~\"api.*\"}");
	assert_int_equal(c.nreceivers, 2);
	assert_int_equal(c.receivers[0].nn, 2);
	assert_int_equal(c.receivers[0].n[0].kind, AM_WEBHOOK);
	assert_true(c.receivers[0].n[0].send_resolved);
	assert_int_equal(c.receivers[0].n[0].max_alerts, 3);
	assert_int_equal(c.receivers[0].n[1].kind, AM_SLACK);
	assert_false(c.receivers[0].n[1].send_resolved);
	assert_int_equal(c.receivers[1].n[0].kind, AM_PAGERDUTY);
	assert_true(c.receivers[1].n[0].send_resolved);
	assert_string_equal(c.receivers[1].n[0].url, "https://events.pagerduty.com/v2/enqueue");
	assert_string_equal(c.receivers[1].n[0].severity, "error");
	assert_int_equal(c.receivers[1].n[1].kind, AM_EMAIL);
	assert_false(c.receivers[1].n[1].require_tls);
	assert_false(c.receivers[1].n[1].send_resolved);
	assert_int_equal(c.ntargets, 2);
	assert_string_equal(c.targets[0].url, "http://127.0.0.1:9093/am/api/v2/alerts");
	assert_string_equal(c.targets[1].url, "http://am2:9093/am/api/v2/alerts");
	assert_int_equal(c.targets[0].timeout_ms, 3000);
	assert_string_equal(c.targets[1].http.basic_user, "am");
	assert_string_equal(c.targets[1].http.basic_pass, "pw");
	assert_true(c.targets[1].http.follow_redirects);
	assert_true(c.receivers[0].n[0].http.follow_redirects);
	am_config_release(&c);

	/* no route, no receivers: nothing to do */
	assert_int_equal(parse("rule_files: [x.yml]\n", &c, err, sizeof(err)), 0);
	assert_false(c.has_route);
	am_config_release(&c);
}

static void test_config_refused(void **state)
{
	(void)state;
	/* the messages amtool check-config (Alertmanager 0.25) prints, with the line */
	refused("receivers:\n- name: a\n", "vigil.yml:1: no routes provided");
	refused("route:\n  group_by: [x]\nreceivers:\n- name: a\n",
		"vigil.yml:2: root route must specify a default receiver");
	refused("route:\n  receiver: b\nreceivers:\n- name: a\n",
		"vigil.yml:2: undefined receiver \"b\" used in route");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n- name: a\n",
		"vigil.yml:5: notification config name \"a\" is not unique");
	refused("route:\n  receiver: a\nreceivers:\n- webhook_configs: []\n",
		"vigil.yml:4: missing name in receiver");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - send_resolved: true\n",
		"vigil.yml:6: missing URL in webhook config");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - url: ftp://x/y\n",
		"vigil.yml:6: unsupported scheme \"ftp\" for URL");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - url: 'http://'\n",
		"vigil.yml:6: missing host for URL");
	refused("route:\n  receiver: a\n  foo: 1\nreceivers:\n- name: a\n",
		"vigil.yml:3: field foo not found in type config.plain");
	refused("route:\n  receiver: a\n  receiver: b\nreceivers:\n- name: a\n",
		"vigil.yml:3: field receiver already set in type config.plain");
	refused("route:\n  receiver: a\n  group_by: [\"...\", a]\nreceivers:\n- name: a\n",
		"vigil.yml:3: cannot have wildcard group_by (`...`) and other other labels at the "
		"same time");
	refused("route:\n  receiver: a\n  group_by: [\"a-b\"]\nreceivers:\n- name: a\n",
		"vigil.yml:3: invalid label name \"a-b\" in group_by list");
	refused("route:\n  receiver: a\n  group_by: [a, a]\nreceivers:\n- name: a\n",
		"vigil.yml:3: duplicated label \"a\" in group_by");
	refused("route:\n  receiver: a\n  group_interval: 0s\nreceivers:\n- name: a\n",
		"vigil.yml:3: group_interval cannot be zero");
	refused("route:\n  receiver: a\n  repeat_interval: 0s\nreceivers:\n- name: a\n",
		"vigil.yml:3: repeat_interval cannot be zero");
	refused("route:\n  receiver: a\n  group_wait: 5x\nreceivers:\n- name: a\n",
		"vigil.yml:3: not a valid duration string: \"5x\"");
	refused("route:\n  receiver: a\n  group_by: x\nreceivers:\n- name: a\n",
		"vigil.yml:3: cannot unmarshal !!str `x` into []string");
	refused("route:\n  receiver: a\n  matchers: [a=b]\nreceivers:\n- name: a\n",
		"vigil.yml:2: root route must not have any matchers");
	refused("route:\n  receiver: a\n  routes:\n  - matchers: [\"a\"]\nreceivers:\n- name: a\n",
		"vigil.yml:4: bad matcher format: a");
	refused("route:\n  receiver: a\n  routes:\n  - matchers: ['a=\"b']\nreceivers:\n- name: a\n",
		"vigil.yml:4: matcher value contains unescaped double quote: \"b");
	refused("route:\n  receiver: a\n  routes:\n  - match: {\"a-b\": x}\nreceivers:\n- name: a\n",
		"vigil.yml:4: invalid label name \"a-b\"");
	refused("route:\n  receiver: a\n  routes:\n  - mute_time_intervals: [x]\nreceivers:\n"
		"- name: a\n",
		"vigil.yml:4: undefined time interval \"x\" used in route");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  slack_configs:\n  - channel: x\n",
		"vigil.yml:6: no global Slack API URL set either inline or in a file");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  pagerduty_configs:\n"
		"  - severity: x\n",
		"vigil.yml:6: missing service or routing key in PagerDuty config");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  email_configs:\n  - to: x@y\n",
		"vigil.yml:6: no global SMTP smarthost set");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  email_configs:\n"
		"  - to: x@y\n    smarthost: h:25\n",
		"vigil.yml:6: no global SMTP from set");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  email_configs:\n"
		"  - from: a@b\n    smarthost: h:25\n",
		"vigil.yml:6: missing to address in email config");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  email_configs:\n"
		"  - to: a@b\n    from: a@b\n    smarthost: localhost\n",
		"vigil.yml:8: address localhost: missing port in address");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - url: http://x/\n    send_resolved: maybe\n",
		"vigil.yml:7: cannot unmarshal !!str `maybe` into bool");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - url: http://x/\n    max_alerts: -1\n",
		"vigil.yml:7: cannot unmarshal !!int `-1` into uint64");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  opsgenie_configs: []\n",
		"vigil.yml:5: receivers: opsgenie_configs is not supported by vigil");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - url: http://x/\n    http_config:\n      basic_auth: {username: u, password: p}\n"
		"      bearer_token: x\n",
		"vigil.yml:8: at most one of basic_auth, oauth2, bearer_token & bearer_token_file "
		"must be configured");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - url: http://x/\n    http_config:\n      authorization: {type: Basic, "
		"credentials: x}\n",
		"vigil.yml:8: authorization type cannot be set to \"basic\", use \"basic_auth\" "
		"instead");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - url: http://x/\n    http_config:\n      authorization: {credentials: x}\n"
		"      basic_auth: {username: u}\n",
		"vigil.yml:8: at most one of basic_auth, oauth2 & authorization must be configured");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - url: http://x/\n    http_config:\n      authorization: {credentials: x}\n"
		"      bearer_token: y\n",
		"vigil.yml:8: authorization is not compatible with bearer_token & bearer_token_file");
	refused("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
		"  - url: http://x/\n    http_config:\n      foo: 1\n",
		"vigil.yml:8: field foo not found in type config.plain");
	refused("alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['http://x/']\n",
		"vigil.yml:4: \"http://x/\" is not a valid hostname:port target");
}

static struct labels *L(const char *a, ...)
{
	struct label l[16];
	size_t n = 0;
	va_list ap;

	va_start(ap, a);
	for (const char *k = a; k && n < 16; k = va_arg(ap, const char *)) {
		l[n].name = k;
		l[n].value = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	return labels__new(l, n);
}

static void test_route_match(void **state)
{
	struct am_config c;
	char err[512];
	const struct am_route *out[8];
	struct labels *ls;

	(void)state;
	assert_int_equal(parse(base, &c, err, sizeof(err)), 0);
	/* routes[0] matches and continues; routes[1] matches too and stops */
	ls = L("alertname", "X", "severity", "page", "team", "db", NULL);
	assert_int_equal(am_route_match(&c.route, ls, out, 8), 2);
	assert_ptr_equal(out[0], &c.route.routes[0]);
	assert_ptr_equal(out[1], &c.route.routes[1]);
	labels__unref(ls);
	/* regex anchored: "dbx" is not "db|web" */
	ls = L("alertname", "X", "severity", "page", "team", "dbx", NULL);
	assert_int_equal(am_route_match(&c.route, ls, out, 8), 1);
	assert_ptr_equal(out[0], &c.route.routes[1]);
	labels__unref(ls);
	ls = L("alertname", "X", "service", "api-gw", NULL);
	assert_int_equal(am_route_match(&c.route, ls, out, 8), 1);
	assert_ptr_equal(out[0], &c.route.routes[2]);
	labels__unref(ls);
	/* nothing matches a child: the root */
	ls = L("alertname", "X", NULL);
	assert_int_equal(am_route_match(&c.route, ls, out, 8), 1);
	assert_ptr_equal(out[0], &c.route);
	labels__unref(ls);
	am_config_release(&c);
}

/* ---- timing ---- */

struct sink {
	int n;
	char key[8][256];
	size_t nalerts[8], nfiring[8];
	const char *integ[8];
	bool firing[8];
};

static void on_notify(void *arg, const struct am_notification *n)
{
	struct sink *s = arg;

	if (s->n >= 8)
		return;
	snprintf(s->key[s->n], sizeof(s->key[0]), "%s", n->group_key);
	s->nalerts[s->n] = n->nalerts;
	s->nfiring[s->n] = n->nfiring;
	s->integ[s->n] = n->integration->url;
	s->firing[s->n] = n->firing;
	s->n++;
}

static struct alert_notice notice(struct labels *ls, enum alert_state st, int64_t starts,
				  int64_t ends)
{
	struct alert_notice a = { 0 };

	a.labels = ls;
	a.annotations = NULL;
	a.state = st;
	a.starts_at_ms = starts;
	a.ends_at_ms = ends;
	a.fingerprint = ls->hash;
	a.generator_url = "http://vigil/graph";
	return a;
}

static const char timing_cfg[] = "route:\n"
				 "  receiver: r\n"
				 "  group_by: [alertname]\n"
				 "  group_wait: 10s\n"
				 "  group_interval: 1m\n"
				 "  repeat_interval: 5m\n"
				 "receivers:\n"
				 "- name: r\n"
				 "  webhook_configs:\n"
				 "  - url: http://127.0.0.1:1/resolved\n"
				 "  - url: http://127.0.0.1:1/firing-only\n"
				 "    send_resolved: false\n";

/* One evaluation every second from..to (ms, inclusive), ticking every 1 ms-exact step. */
static void run(struct am_dispatch *d, struct alert_notice *a, size_t n, int64_t from, int64_t to,
		struct sink *s)
{
	for (int64_t t = from; t <= to; t += 1000) {
		assert_int_equal(am_dispatch__update(d, a, n, t), 0);
		am_dispatch__tick(d, t, on_notify, s);
	}
}

static void test_timing(void **state)
{
	struct am_config c;
	char err[512];
	struct am_dispatch *d;
	struct labels *a1 = L("alertname", "Hot", "host", "a", NULL);
	struct labels *a2 = L("alertname", "Hot", "host", "b", NULL);
	struct alert_notice n[2];
	struct sink s = { 0 };
	int64_t t0 = 1000000, next;

	(void)state;
	assert_int_equal(parse(timing_cfg, &c, err, sizeof(err)), 0);
	d = am_dispatch__new(&c);
	assert_non_null(d);

	/* a1 fires at t0: the group waits group_wait (10 s), not 9.999 s */
	n[0] = notice(a1, ALERT_FIRING, t0, t0 + 10000000);
	assert_int_equal(am_dispatch__update(d, n, 1, t0), 0);
	next = am_dispatch__tick(d, t0, on_notify, &s);
	assert_int_equal(next, t0 + 10000);
	am_dispatch__tick(d, t0 + 9999, on_notify, &s);
	assert_int_equal(s.n, 0);
	next = am_dispatch__tick(d, t0 + 10000, on_notify, &s);
	assert_int_equal(s.n, 2); /* both integrations */
	assert_string_equal(s.key[0], "{}:{alertname=\"Hot\"}");
	assert_int_equal(s.nalerts[0], 1);
	assert_true(s.firing[0]);
	assert_int_equal(next, t0 + 70000);

	/* a2 joins at +20 s: told at the next group_interval (+70 s), not before */
	s.n = 0;
	n[1] = notice(a2, ALERT_FIRING, t0 + 20000, t0 + 10000000);
	run(d, n, 2, t0 + 11000, t0 + 69000, &s);
	assert_int_equal(s.n, 0);
	run(d, n, 2, t0 + 70000, t0 + 70000, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.nalerts[0], 2);

	/* unchanged: nothing at +130 s .. +370 s; repeat_interval (5 m) passes at +370 s: flushes
	 * are at +70 + k*60 s, so the first one past +370 s is +430 s */
	s.n = 0;
	run(d, n, 2, t0 + 71000, t0 + 429000, &s);
	assert_int_equal(s.n, 0);
	run(d, n, 2, t0 + 430000, t0 + 430000, &s);
	assert_int_equal(s.n, 2);

	/* a1 resolves at +440 s: the send_resolved integration hears at +490 s with a1 resolved,
	 * the other does not (its firing set only shrank) */
	s.n = 0;
	n[0] = notice(a1, ALERT_RESOLVED, t0, t0 + 440000);
	run(d, n, 2, t0 + 440000, t0 + 490000, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.integ[0], "http://127.0.0.1:1/resolved");
	assert_int_equal(s.nalerts[0], 2);
	assert_int_equal(s.nfiring[0], 1);
	assert_true(s.firing[0]);

	/* a1 stays resolved in the engine's notices (15 min): never re-added, nothing more sent */
	s.n = 0;
	run(d, n, 2, t0 + 491000, t0 + 600000, &s);
	assert_int_equal(s.n, 0);

	/* a2 resolves: status resolved to the first; the firing-only one is told nothing (no
	 * firing alerts) yet its log is cleared; the group goes */
	n[1] = notice(a2, ALERT_RESOLVED, t0 + 20000, t0 + 605000);
	run(d, n, 2, t0 + 601000, t0 + 670000, &s);
	assert_int_equal(s.n, 1);
	assert_false(s.firing[0]);
	assert_int_equal(s.nalerts[0], 1);
	assert_int_equal(am_dispatch__groups(d), 0);

	/* a firing alert that started long before the group existed does not wait */
	s.n = 0;
	n[0] = notice(a1, ALERT_FIRING, t0 + 100000, t0 + 2000000);
	assert_int_equal(am_dispatch__update(d, n, 1, t0 + 700000), 0);
	am_dispatch__tick(d, t0 + 700000, on_notify, &s);
	assert_int_equal(s.n, 2);

	am_dispatch__free(d);
	labels__unref(a1);
	labels__unref(a2);
	am_config_release(&c);
}

static void test_timing_muted_failed(void **state)
{
	struct am_config c;
	char err[512];
	struct am_dispatch *d;
	struct labels *a1 = L("alertname", "Hot", "host", "a", NULL);
	struct alert_notice n[1];
	struct sink s = { 0 };
	int64_t t0 = 5000000;

	(void)state;
	assert_int_equal(parse(timing_cfg, &c, err, sizeof(err)), 0);
	d = am_dispatch__new(&c);
	/* silenced: not sent at group_wait nor after */
	n[0] = notice(a1, ALERT_FIRING, t0, t0 + 10000000);
	n[0].silenced = true;
	run(d, n, 1, t0, t0 + 70000, &s);
	assert_int_equal(s.n, 0);
	/* the silence expires: told at the next flush (+70 s) */
	n[0].silenced = false;
	run(d, n, 1, t0 + 71000, t0 + 130000, &s);
	assert_int_equal(s.n, 2);
	/* acked: nothing more even after repeat_interval */
	s.n = 0;
	n[0].acked = true;
	run(d, n, 1, t0 + 131000, t0 + 800000, &s);
	assert_int_equal(s.n, 0);
	/* a failed delivery is forgotten: the next flush sends again */
	n[0].acked = false;
	run(d, n, 1, t0 + 801000, t0 + 850000, &s);
	assert_int_equal(s.n, 2); /* repeat passed while acked */
	s.n = 0;
	am_dispatch__failed(d, "{}:{alertname=\"Hot\"}", "r", 0);
	run(d, n, 1, t0 + 851000, t0 + 910000, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.integ[0], "http://127.0.0.1:1/resolved");
	am_dispatch__free(d);
	labels__unref(a1);
	am_config_release(&c);
}

/* ---- payloads ---- */

static void test_payloads(void **state)
{
	struct labels *l1 = L("alertname", "Hot", "host", "a", "severity", "page", NULL);
	struct labels *l2 = L("alertname", "Hot", "host", "b", "severity", "page", NULL);
	struct labels *an = L("summary", "hot \"cpu\"", NULL), *gl = L("alertname", "Hot", NULL);
	struct am_alert a1 = { l1,    an,    1764700000123,	    0,
			       false, false, 0xabcdef0123456789ULL, "http://h/g" };
	struct am_alert a2 = { l2, an, 1764700001000, 1764700060000, true, false, 0x1ULL, "" };
	const struct am_alert *alerts[] = { &a1, &a2 };
	struct am_receiver rcv = { "team.a", NULL, 0, 1 };
	struct am_notifier w = { .kind = AM_WEBHOOK, .send_resolved = true, .max_alerts = 1 };
	struct am_notifier pd = { .kind = AM_PAGERDUTY,
				  .routing_key = "rk",
				  .severity = "critical" };
	struct am_notifier sl = {
		.kind = AM_SLACK,
		.channel = "#ops",
		.text = "{{ $labels.severity }} on {{ $value }} hosts",
		.title = "{{ .Status | toUpper }}: {{ .CommonAnnotations.summary }} "
			 "({{ .GroupLabels.alertname }}, {{ .Receiver }})"
	};
	struct am_notifier em = { .kind = AM_EMAIL, .to = "ops@x", .from = "v@x" };
	struct am_notification n = {
		&rcv, &w, 0, "{}:{alertname=\"Hot\"}", gl, alerts, 2, 1, true
	};
	char *s, sha[65], t[48];
	json_t *j, *al;
	json_error_t je;

	(void)state;
	am_sha256_hex("abc", 3, sha);
	assert_string_equal(sha,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	am_sha256_hex("", 0, sha);
	assert_string_equal(sha,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	{
		char m[200];

		memset(m, 'a', sizeof(m));
		am_sha256_hex(m, 56, sha); /* the padding spills into a second block */
		assert_string_equal(
			sha, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	}
	am_format_time(1764700000123, t, sizeof(t));
	assert_string_equal(t, "2025-12-02T18:26:40.123Z");
	am_format_time(1764700000500, t, sizeof(t));
	assert_string_equal(t, "2025-12-02T18:26:40.5Z");
	am_format_time(0, t, sizeof(t));
	assert_string_equal(t, "0001-01-01T00:00:00Z");

	s = am_default_subject(&n);
	assert_string_equal(s, "[FIRING:1] Hot (page)");
	free(s);

	s = am_webhook_payload(&n, "http://vigil:9464");
	j = json_loads(s, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "version")), "4");
	assert_string_equal(json_string_value(json_object_get(j, "receiver")), "team\\.a");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "firing");
	assert_string_equal(json_string_value(json_object_get(j, "groupKey")),
			    "{}:{alertname=\"Hot\"}");
	assert_int_equal(json_integer_value(json_object_get(j, "truncatedAlerts")), 1);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "commonLabels"), "severity")),
		"page");
	assert_null(json_object_get(json_object_get(j, "commonLabels"), "host"));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(j, "commonAnnotations"), "summary")),
			    "hot \"cpu\"");
	al = json_array_get(json_object_get(j, "alerts"), 0);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 1);
	assert_string_equal(json_string_value(json_object_get(al, "fingerprint")),
			    "abcdef0123456789");
	assert_string_equal(json_string_value(json_object_get(al, "startsAt")),
			    "2025-12-02T18:26:40.123Z");
	assert_string_equal(json_string_value(json_object_get(al, "endsAt")),
			    "0001-01-01T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(al, "generatorURL")), "http://h/g");
	json_decref(j);
	free(s);

	n.integration = &pd;
	s = am_pagerduty_payload(&n, "http://vigil:9464");
	j = json_loads(s, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "event_action")), "trigger");
	am_sha256_hex(n.group_key, strlen(n.group_key), sha);
	assert_string_equal(json_string_value(json_object_get(j, "dedup_key")), sha);
	al = json_object_get(j, "payload");
	assert_string_equal(json_string_value(json_object_get(al, "summary")),
			    "[FIRING:1] Hot (page)");
	assert_string_equal(json_string_value(json_object_get(al, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(json_object_get(al, "custom_details"),
							      "num_resolved")),
			    "1");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(al, "custom_details"), "firing")),
		"Labels:\n - alertname = Hot\n - host = a\n - severity = page\n"
		"Annotations:\n - summary = hot \"cpu\"\nSource: http://h/g\n");
	assert_string_equal(json_string_value(json_object_get(j, "client_url")),
			    "http://vigil:9464/#/alerts?receiver=team%5C.a");
	json_decref(j);
	free(s);

	n.integration = &sl;
	s = am_slack_payload(&n, "http://vigil:9464");
	j = json_loads(s, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "channel")), "#ops");
	al = json_array_get(json_object_get(j, "attachments"), 0);
	assert_string_equal(json_string_value(json_object_get(al, "title")),
			    "FIRING: hot \"cpu\" (Hot, team\\.a)");
	assert_string_equal(json_string_value(json_object_get(al, "color")), "danger");
	assert_string_equal(json_string_value(json_object_get(al, "text")), "page on 1 hosts");
	json_decref(j);
	free(s);

	n.integration = &em;
	s = am_email_message(&n, "http://vigil:9464", 1764700000000, "host1");
	assert_non_null(strstr(s, "\r\nSubject: [FIRING:1] Hot (page)\r\n"));
	assert_non_null(strstr(s, "Date: Tue, 02 Dec 2025 18:26:40 +0000\r\n"));
	assert_non_null(strstr(s, "From: v@x\r\nTo: ops@x\r\n"));
	assert_non_null(strstr(s, "Content-Type: text/plain; charset=UTF-8"));
	assert_non_null(strstr(s, " - host =3D a"));
	free(s);

	{
		struct alert_notice v[2] = { { 0 }, { 0 } };

		v[0].labels = l1;
		v[0].annotations = an;
		v[0].state = ALERT_FIRING;
		v[0].starts_at_ms = 1764700000000;
		v[0].ends_at_ms = 1764700240000;
		v[0].generator_url = "http://h/g";
		v[1] = v[0];
		v[1].state = ALERT_PENDING;
		s = am_v2_alerts_payload(v, 2);
		assert_string_equal(
			s, "[{\"labels\":{\"alertname\":\"Hot\",\"host\":\"a\","
			   "\"severity\":\"page\"},\"annotations\":{\"summary\":"
			   "\"hot \\\"cpu\\\"\"},\"startsAt\":\"2025-12-02T18:26:40.000Z\","
			   "\"endsAt\":\"2025-12-02T18:30:40.000Z\",\"generatorURL\":"
			   "\"http://h/g\"}]");
		free(s);
	}
	labels__unref(l1);
	labels__unref(l2);
	labels__unref(an);
	labels__unref(gl);
}

/* Vigil's default Slack text: each firing alert's profile-diff link and what grew (Slack's
 * control characters escaped); nothing for alerts without the annotation or resolved ones. */
static void test_slack_default_text(void **state)
{
	struct labels *l1 = L("alertname", "Hot", "comm", "spin", NULL);
	struct labels *l2 = L("alertname", "Cold", "comm", "x", NULL);
	struct labels *an = L(ALERT_ANNOTATION_TOP_GROWING,
			      "spin_hot [spin] 0.0% -> 99.1% (+99.1); "
			      "f<int> [a&b] 1.0% -> 1.5% (+0.5)",
			      NULL);
	struct labels *gl = L("alertname", "Hot", NULL);
	struct am_alert a1 = { l1,    an,    1000, 0,
			       false, false, 1,	   "http://v/api/v1/profiling/diff?from=1&to=2" };
	struct am_alert a2 = { l2, an, 1000, 2000, true, false, 2, "http://v/x" };
	struct am_alert a3 = { l2, gl, 1000, 0, false, false, 3, "http://v/graph" };
	const struct am_alert *alerts[] = { &a1, &a2, &a3 };
	struct am_receiver rcv = { "r", NULL, 0, 1 };
	struct am_notifier sl = { .kind = AM_SLACK };
	struct am_notification n = { &rcv, &sl, 0, "{}:{}", gl, alerts, 3, 2, true };
	char *s = NULL;
	json_t *j, *at;

	(void)state;
	s = am_slack_payload(&n, "http://v");
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	at = json_array_get(json_object_get(j, "attachments"), 0);
	assert_string_equal(json_string_value(json_object_get(at, "text")),
			    "<http://v/api/v1/profiling/diff?from=1&amp;to=2|Hot> grew: spin_hot "
			    "[spin] 0.0% -&gt; 99.1% (+99.1); f&lt;int&gt; [a&amp;b] 1.0% -&gt; "
			    "1.5% (+0.5)");
	json_decref(j);
	free(s);
	/* none of them has it: no text, as Alertmanager */
	a1.annotations = gl;
	s = am_slack_payload(&n, "http://v");
	j = json_loads(s, 0, NULL);
	at = json_array_get(json_object_get(j, "attachments"), 0);
	assert_null(json_object_get(at, "text"));
	json_decref(j);
	free(s);
	labels__unref(l1);
	labels__unref(l2);
	labels__unref(an);
	labels__unref(gl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slack_default_text),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test(test_route_match),
		cmocka_unit_test(test_timing),
		cmocka_unit_test(test_timing_muted_failed),
		cmocka_unit_test(test_payloads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
