// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: the PromQL source over a metric store puts back the points a store skipped (values
 * equal to the previous one, a point kept at least every hold_ms), and only those: a scraper every
 * interval would have seen the same samples.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analytics/storesrc.h"

/* One store with series "m{a="x"}" (points given) and "other" (one point). */
struct fake {
	struct series_point pts[64];
	size_t n;
	int selects;
	char last_name[16];
	int64_t ticks[64]; /* the clock series' points */
	size_t nticks;
	double tickv[64]; /* their values when given (else 0, 1, 2, ...) */
	bool has_tickv;
	__s64 last_from;
};

static int fake_select(void *ctx, const char *name, const struct series_matcher *m, size_t nm,
		       __s64 from_ms, __s64 to_ms, struct series_set *out)
{
	struct fake *f = ctx;
	static const char *const names[] = { "m", "other" };

	f->selects++;
	if (name && !strcmp(name, "clock")) {
		memset(out, 0, sizeof(*out));
		out->s = calloc(1, sizeof(*out->s));
		out->s[0].name = strdup("clock");
		out->s[0].points = calloc(64, sizeof(*out->s[0].points));
		for (size_t i = 0; i < f->nticks; i++)
			if (f->ticks[i] >= from_ms && f->ticks[i] <= to_ms)
				out->s[0].points[out->s[0].nr_points++] = (struct series_point){
					f->ticks[i], f->has_tickv ? f->tickv[i] : (double)i
				};
		out->n = 1;
		return 0;
	}
	snprintf(f->last_name, sizeof(f->last_name), "%s", name ? name : "(any)");
	f->last_from = from_ms;
	memset(out, 0, sizeof(*out));
	out->s = calloc(2, sizeof(*out->s));
	for (int k = 0; k < 2; k++) {
		struct series_label l = { (char *)"a", (char *)"x" };
		struct series *se = &out->s[out->n];
		int match;

		if (name && strcmp(name, names[k]))
			continue;
		match = series_matches(names[k], &l, 1, m, nm);
		if (match <= 0)
			continue;
		se->name = strdup(names[k]);
		se->labels = calloc(1, sizeof(*se->labels));
		se->labels[0].name = strdup("a");
		se->labels[0].value = strdup("x");
		se->nr_labels = 1;
		se->points = calloc(64, sizeof(*se->points));
		if (k == 0) {
			for (size_t i = 0; i < f->n; i++)
				if (f->pts[i].t_ms >= from_ms && f->pts[i].t_ms <= to_ms)
					se->points[se->nr_points++] = f->pts[i];
		} else if (1000 >= from_ms && 1000 <= to_ms) {
			se->points[se->nr_points++] = (struct series_point){ 1000, 7 };
		}
		out->n++;
	}
	return 0;
}

static const struct series_store_ops fake_ops = { .select = fake_select };

static struct pq_matrix sel(struct storesrc *s, const char *metric, int64_t mint, int64_t maxt)
{
	struct pq_source src = storesrc__source(s);
	struct label_matcher m[2];
	struct pq_matrix out = { 0 };
	char err[128];

	assert_int_equal(label_matcher_init(&m[0], MATCH_EQ, "__name__", metric, err, sizeof(err)),
			 0);
	assert_int_equal(label_matcher_init(&m[1], MATCH_RE, "a", "x|y", err, sizeof(err)), 0);
	assert_int_equal(src.select(src.ctx, m, 2, mint, maxt, &out), 0);
	label_matcher_release(&m[0]);
	label_matcher_release(&m[1]);
	return out;
}

static void expect_times(const struct pq_series *s, const int64_t *t, size_t n, double v_first)
{
	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s->p[i].t, t[i]);
	if (n)
		assert_true(s->p[0].v == v_first);
}

static void test_put_back(void **state)
{
	/* Interval 10 s, hold 60 s: stored at 0 (v=1), 60 (heartbeat, v=1), 80.2 (v=2, the tick 200 ms
	 * late), 200 (v=3, after the series was absent from 140 s on). */
	struct fake f = { .pts = { { 0, 1 }, { 60000, 1 }, { 80200, 2 }, { 200000, 3 } }, .n = 4 };
	struct storesrc *s =
		storesrc__new((struct series_store){ &fake_ops, &f },
			      &(struct storesrc_opts){ .interval_ms = 10000, .hold_ms = 60000 });
	struct pq_matrix m;

	(void)state;
	assert_non_null(s);
	/* Before any interval is known nothing is put back after the newest point. */
	m = sel(s, "m", 0, 300000);
	assert_int_equal(m.n, 1);
	{
		static const int64_t want[] = { 0,	10000,	20000,	30000,	40000,
						50000,	60000,	70000,	80200,	90200,
						100200, 110200, 120200, 130200, 200000 };
		expect_times(&m.s[0], want, sizeof(want) / sizeof(want[0]), 1);
		/* 70 s holds 1 (stored at 60), 90.2 s and 130.2 s hold 2. */
		assert_true(m.s[0].p[7].v == 1);
		assert_true(m.s[0].p[9].v == 2);
		assert_true(m.s[0].p[13].v == 2);
	}
	/* The store was asked from hold_ms before the window, with the name narrowing the scan. */
	assert_string_equal(f.last_name, "m");
	assert_int_equal(f.last_from, -60000);
	pq_matrix_release(&m);

	/* After the writer's interval at 230 s, the newest point is held to it. */
	storesrc__advance(s, 230000);
	storesrc__advance(s, 100); /* older: ignored */
	assert_int_equal(storesrc__latest(s), 230000);
	m = sel(s, "m", 190000, 300000);
	{
		static const int64_t want[] = { 200000, 210000, 220000, 230000 };
		expect_times(&m.s[0], want, 4, 3);
	}
	pq_matrix_release(&m);

	/* A window inside a held run: the value stored before it is put back into it. */
	m = sel(s, "m", 12000, 33000);
	{
		static const int64_t want[] = { 20000, 30000 };
		expect_times(&m.s[0], want, 2, 1);
	}
	pq_matrix_release(&m);

	/* A window with nothing in it, put back or stored: no series. */
	m = sel(s, "m", 140000, 190000);
	assert_int_equal(m.n, 0);
	pq_matrix_release(&m);
	storesrc__free(s);
}

static void test_raw_age_and_no_hold(void **state)
{
	struct fake f = { .pts = { { 0, 1 }, { 60000, 1 }, { 120000, 1 } }, .n = 3 };
	struct storesrc *s = storesrc__new((struct series_store){ &fake_ops, &f },
					   &(struct storesrc_opts){ .interval_ms = 10000,
								    .hold_ms = 60000,
								    .raw_age_ms = 100000 });
	struct pq_matrix m;

	(void)state;
	storesrc__advance(s, 150000);
	/* Points older than 150 - 100 = 50 s are downsampled: returned as stored. */
	m = sel(s, "m", 0, 150000);
	{
		static const int64_t want[] = { 0,	60000,	70000,	80000,	90000, 100000,
						110000, 120000, 130000, 140000, 150000 };
		expect_times(&m.s[0], want, sizeof(want) / sizeof(want[0]), 1);
	}
	pq_matrix_release(&m);
	storesrc__free(s);

	s = storesrc__new((struct series_store){ &fake_ops, &f },
			  &(struct storesrc_opts){ .interval_ms = 10000 });
	storesrc__advance(s, 150000);
	m = sel(s, "m", 0, 150000);
	assert_int_equal(m.s[0].n, 3);
	pq_matrix_release(&m);
	/* Matchers the store is not given (regexes) are applied here. */
	m = sel(s, "other", 0, 150000);
	assert_int_equal(m.n, 1);
	assert_string_equal(labels__get(m.s[0].l, "__name__"), "other");
	pq_matrix_release(&m);
	storesrc__free(s);

	assert_null(storesrc__new((struct series_store){ &fake_ops, &f },
				  &(struct storesrc_opts){ .interval_ms = 0 }));
	assert_int_equal(errno, EINVAL);
}

static void test_clock_ticks(void **state)
{
	/* The writer's interval ends jitter and bunch (a late interval, then one right after); the
	 * series changed at 0 and 52.3 and was held in between, then stayed until it ended. */
	struct fake f = { .pts = { { 0, 1 }, { 52300, 2 } },
			  .n = 2,
			  .ticks = { 0, 10004, 19998, 31500, 32100, 41000, 52300, 62301, 72302,
				     82299, 92300, 102300, 112301, 122300 },
			  .nticks = 14 };
	struct storesrc *s = storesrc__new((struct series_store){ &fake_ops, &f },
					   &(struct storesrc_opts){ .interval_ms = 10000,
								    .hold_ms = 60000,
								    .clock_metric = "clock" });
	struct pq_matrix m;

	(void)state;
	m = sel(s, "m", 0, 200000);
	{
		/* Held to every interval end between the points; after the newest one for less
		 * than hold_ms (112301 is 60.001 s after it: a live series would have had its
		 * heartbeat stored there). No advance() needed: the clock says how far the writer
		 * got. */
		static const int64_t want[] = { 0,     10004, 19998, 31500, 32100, 41000,
						52300, 62301, 72302, 82299, 92300, 102300 };
		expect_times(&m.s[0], want, sizeof(want) / sizeof(want[0]), 1);
		assert_true(m.s[0].p[5].v == 1);
		assert_true(m.s[0].p[6].v == 2);
		assert_true(m.s[0].p[11].v == 2);
	}
	pq_matrix_release(&m);
	/* A window that starts in a held run. */
	m = sel(s, "m", 30000, 45000);
	{
		static const int64_t want[] = { 31500, 32100, 41000 };
		expect_times(&m.s[0], want, 3, 1);
	}
	pq_matrix_release(&m);
	storesrc__free(s);
}

/* A series' end (an alert resolved): a staleness marker in the samples, nothing held after it,
 * with the clock's ticks and without them; the next point starts the series again. */
static void test_end_of_series(void **state)
{
	struct fake f = { .pts = { { 0, 1 }, { 30000, 0 }, { 80000, 1 } },
			  .n = 3,
			  .ticks = { 0, 10000, 20000, 30000, 40000, 50000, 60000, 70000, 80000,
				     90000 },
			  .nticks = 10 };
	struct storesrc *s;
	struct pq_matrix m;

	(void)state;
	f.pts[1].v = series_end_value();
	for (int clock = 0; clock < 2; clock++) {
		s = storesrc__new(
			(struct series_store){ &fake_ops, &f },
			&(struct storesrc_opts){ .interval_ms = 10000,
						 .hold_ms = 60000,
						 .clock_metric = clock ? "clock" : NULL });
		storesrc__advance(s, 90000);
		m = sel(s, "m", 0, 90000);
		{
			static const int64_t want[] = { 0, 10000, 20000, 30000, 80000, 90000 };
			expect_times(&m.s[0], want, 6, 1);
			assert_true(m.s[0].p[2].v == 1);
			assert_true(pq_is_stale(m.s[0].p[3].v));
			assert_true(m.s[0].p[5].v == 1);
		}
		pq_matrix_release(&m);
		/* a window between the end and the next point: no series */
		m = sel(s, "m", 31000, 79000);
		assert_int_equal(m.n, 0);
		pq_matrix_release(&m);
		storesrc__free(s);
	}
}

/* The writer restarted (its clock counts from 1 again at 50 s): the value stored at 30 s is not
 * held at the new writer's intervals, where it did not report the series. */
static void test_restart_ends_hold(void **state)
{
	struct fake f = { .pts = { { 0, 1 }, { 30000, 2 }, { 60000, 3 } },
			  .n = 3,
			  .ticks = { 0, 10000, 20000, 30000, 40000, 50000, 60000, 70000 },
			  .nticks = 8,
			  .tickv = { 1, 2, 3, 4, 5, 1, 2, 3 },
			  .has_tickv = true };
	struct storesrc *s = storesrc__new((struct series_store){ &fake_ops, &f },
					   &(struct storesrc_opts){ .interval_ms = 10000,
								    .hold_ms = 60000,
								    .clock_metric = "clock" });
	struct pq_matrix m;

	(void)state;
	m = sel(s, "m", 0, 70000);
	{
		static const int64_t want[] = { 0, 10000, 20000, 30000, 40000, 60000, 70000 };
		expect_times(&m.s[0], want, 7, 1);
		assert_true(m.s[0].p[4].v == 2);
		assert_true(m.s[0].p[6].v == 3);
	}
	pq_matrix_release(&m);
	storesrc__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_back),
		cmocka_unit_test(test_raw_age_and_no_hold),
		cmocka_unit_test(test_clock_ticks),
		cmocka_unit_test(test_end_of_series),
		cmocka_unit_test(test_restart_ends_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
