// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: alerts grouped into incidents. Alerts that fire within the window and share a key
 * label form one incident (root cause: the first to fire); the same labels later, or other labels,
 * or a shared label outside the keys form their own; an incident ends when all its alerts resolve
 * or leave the engine's list; pending alerts never join; the config section.
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

#include "analytics/incidents.h"

#define MIN 60000

struct al {
	const char *name, *k1, *v1, *k2, *v2;
	enum alert_state st;
	int64_t starts, ends;
	uint64_t fp;
};

/* Notices for the alerts (labels built here, released after the round). */
static void round_of(struct incidents *c, const struct al *a, size_t n, int64_t now)
{
	struct alert_notice *no = calloc(n + 1, sizeof(*no));
	struct labels **ls = calloc(n + 1, sizeof(*ls));

	for (size_t i = 0; i < n; i++) {
		struct label l[3] = { { "alertname", a[i].name },
				      { a[i].k1 ? a[i].k1 : "x", a[i].v1 ? a[i].v1 : "" },
				      { a[i].k2 ? a[i].k2 : "y", a[i].v2 ? a[i].v2 : "" } };

		ls[i] = labels__new(l, 3);
		no[i] = (struct alert_notice){ .labels = ls[i],
					       .state = a[i].st,
					       .value = 1,
					       .active_at_ms = a[i].starts - 1000,
					       .starts_at_ms =
						       a[i].st == ALERT_PENDING ? 0 : a[i].starts,
					       .ends_at_ms = a[i].ends,
					       .fingerprint = a[i].fp };
	}
	incidents__observe(c, no, n, now);
	for (size_t i = 0; i < n; i++)
		labels__unref(ls[i]);
	free(ls);
	free(no);
}

static void test_group_two_alerts(void **state)
{
	struct incidents *c = incidents__new(NULL);
	struct al a[] = {
		{ "HighCPU", "comm", "postgres", "severity", "page", ALERT_FIRING, 10 * MIN, 0, 1 },
		{ "SlowQueries", "comm", "postgres", "instance", "db1", ALERT_FIRING,
		  10 * MIN + 90000, 0, 2 },
		{ "DiskFull", "disk", "sda", NULL, NULL, ALERT_FIRING, 10 * MIN + 30000, 0, 3 },
	};
	const struct incident *inc;
	size_t n;

	(void)state;
	round_of(c, a, 1, 10 * MIN + 1000);
	round_of(c, a, 3, 10 * MIN + 91000);
	inc = incidents__list(c, &n);
	assert_int_equal(n, 2);
	assert_int_equal(inc[0].n, 2);
	assert_string_equal(labels__get(inc[0].alerts[inc[0].root].labels, "alertname"), "HighCPU");
	assert_int_equal(inc[0].started_ms, 10 * MIN);
	assert_int_equal(inc[0].shared->n, 1);
	assert_string_equal(labels__get(inc[0].shared, "comm"), "postgres");
	assert_int_equal(inc[0].ended_ms, 0);
	assert_int_equal(strlen(inc[0].id), 20);
	assert_memory_equal(inc[0].id, "inc-", 4);
	assert_int_equal(inc[1].n, 1);
	assert_string_equal(labels__get(inc[1].shared, "disk"), "sda");
	assert_string_not_equal(inc[0].id, inc[1].id);

	/* the same round again changes nothing */
	round_of(c, a, 3, 10 * MIN + 100000);
	incidents__list(c, &n);
	assert_int_equal(n, 2);
	assert_int_equal(incidents__list(c, &n)[0].n, 2);

	/* both resolve: the incident ends with the later one */
	a[0].st = a[1].st = ALERT_RESOLVED;
	a[0].ends = 15 * MIN;
	a[1].ends = 16 * MIN;
	round_of(c, a, 3, 16 * MIN + 1000);
	inc = incidents__list(c, &n);
	assert_int_equal(inc[0].ended_ms, 16 * MIN);
	assert_true(inc[0].alerts[0].resolved && inc[0].alerts[1].resolved);
	assert_int_equal(inc[1].ended_ms, 0);

	/* DiskFull leaves the engine's list: resolved then */
	round_of(c, a, 2, 40 * MIN);
	inc = incidents__list(c, &n);
	assert_int_equal(inc[1].ended_ms, 40 * MIN);
	incidents__free(c);
}

static void test_window_and_keys(void **state)
{
	struct incidents *c = incidents__new(NULL);
	struct al a[] = {
		{ "A", "comm", "nginx", NULL, NULL, ALERT_FIRING, 0 + MIN, 0, 10 },
		/* same comm but 6 min later: beyond the 5 min window */
		{ "B", "comm", "nginx", NULL, NULL, ALERT_FIRING, 7 * MIN, 0, 11 },
		/* fires together but shares only a non-key label */
		{ "C", "team", "web", "comm", "redis", ALERT_FIRING, 7 * MIN, 0, 12 },
		/* pending: never joins */
		{ "D", "comm", "nginx", NULL, NULL, ALERT_PENDING, 7 * MIN, 0, 13 },
	};
	size_t n;

	(void)state;
	round_of(c, a, 1, MIN);
	round_of(c, a, 4, 7 * MIN);
	incidents__list(c, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(incidents__list(c, &n)[i].n, 1);
	incidents__free(c);
}

/* A cascade: each alert within the window of the previous one, all sharing instance. */
static void test_chain_and_narrowing(void **state)
{
	struct incident_opts o = { .window_ms = 2 * MIN,
				   .keys = { "instance", "comm" },
				   .nkeys = 2 };
	struct incidents *c = incidents__new(&o);
	struct al a[] = {
		{ "A", "instance", "h1", "comm", "java", ALERT_FIRING, 1000, 0, 20 },
		{ "B", "instance", "h1", "comm", "java", ALERT_FIRING, 1 * MIN + 30000, 0, 21 },
		{ "C", "instance", "h1", "comm", "gc", ALERT_FIRING, 3 * MIN, 0, 22 },
		{ "D", "instance", "h2", "comm", "java", ALERT_FIRING, 4 * MIN, 0, 23 },
	};
	const struct incident *inc;
	size_t n;

	(void)state;
	for (size_t i = 1; i <= 4; i++)
		round_of(c, a, i, a[i - 1].starts + 1000);
	inc = incidents__list(c, &n);
	assert_int_equal(n, 2);
	assert_int_equal(inc[0].n, 3);
	/* C shares instance only: the shared labels narrowed to it */
	assert_int_equal(inc[0].shared->n, 1);
	assert_string_equal(labels__get(inc[0].shared, "instance"), "h1");
	assert_int_equal(inc[0].last_start_ms, 3 * MIN);
	/* D shares nothing with instance="h1" */
	assert_string_equal(labels__get(inc[1].shared, "instance"), "h2");
	incidents__free(c);
}

/* An alert without any key label is an incident of its own, and ids are stable. */
static void test_keyless_and_ids(void **state)
{
	struct incidents *c1 = incidents__new(NULL), *c2 = incidents__new(NULL);
	struct al a[] = {
		{ "Up", "job", NULL, NULL, NULL, ALERT_FIRING, MIN, 0, 30 },
		{ "Up2", NULL, NULL, NULL, NULL, ALERT_FIRING, MIN, 0, 31 },
	};
	size_t n1, n2;

	(void)state;
	round_of(c1, a, 2, MIN);
	round_of(c2, a, 2, MIN);
	assert_int_equal(incidents__list(c1, &n1)[0].n, 1);
	assert_int_equal(n1, 2);
	incidents__list(c2, &n2);
	assert_string_equal(incidents__list(c1, &n1)[0].id, incidents__list(c2, &n2)[0].id);
	incidents__free(c1);
	incidents__free(c2);
}

static void test_bounded(void **state)
{
	struct incidents *c = incidents__new(NULL);
	size_t n;

	(void)state;
	for (int i = 0; i < INCIDENTS_MAX + 50; i++) {
		char v[16];
		struct al a = { "A", "comm",	     v, NULL, NULL, ALERT_FIRING, (int64_t)i * 1000,
				0,   (uint64_t)i + 1 };

		snprintf(v, sizeof(v), "p%d", i);
		round_of(c, &a, 1, (int64_t)i * 1000);
	}
	incidents__list(c, &n);
	assert_int_equal(n, INCIDENTS_MAX);
	incidents__free(c);
}

static void test_config(void **state)
{
	const char *y = "incidents:\n  window: 2m\n  group_by: [instance, comm]\n";
	const char *bad[] = { "incidents:\n  window: soon\n", "incidents:\n  group_by: [1x]\n",
			      "incidents:\n  bogus: 1\n", "incidents: [a]\n" };
	struct incident_opts o;
	char err[256];
	int line;
	struct ydoc *d = ydoc_load(y, strlen(y), err, sizeof(err), &line);

	(void)state;
	assert_int_equal(incidents_config_parse(d, ymap_get(d, ydoc_root(d), "incidents"), "v.yml",
						&o, err, sizeof(err)),
			 0);
	assert_int_equal(o.window_ms, 2 * MIN);
	assert_int_equal(o.nkeys, 2);
	assert_string_equal(o.keys[1], "comm");
	ydoc_free(d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = ydoc_load(bad[i], strlen(bad[i]), err, sizeof(err), &line);
		assert_int_equal(incidents_config_parse(d, ymap_get(d, ydoc_root(d), "incidents"),
							"v.yml", &o, err, sizeof(err)),
				 -EINVAL);
		assert_memory_equal(err, "v.yml:", 6);
		ydoc_free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_two_alerts),
		cmocka_unit_test(test_window_and_keys),
		cmocka_unit_test(test_chain_and_narrowing),
		cmocka_unit_test(test_keyless_and_ids),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
