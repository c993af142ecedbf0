// SPDX-License-Identifier: GPL-2.0
/*
 * vigil serve's parts that need no kernel: the store (profiles by range, series with matchers,
 * retention and downsampling, unsafe directories and corrupt files refused), the metric families
 * (bounded labels, the walk), remote write encoding (decoded again with protobuf-c), label
 * matchers, the token compare, Prometheus text escapes, duration and time parsing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "export/prom.h"
#include "model/profile.h"
#include "model/series.h"
#include "service/api.h"
#include "service/http.h"
#include "service/metrics.h"
#include "service/push.h"
#include "service/store.h"
#include "util/cli.h"
#include "util/log.h"
#include "remote.pb-c.h"
#include "tmpdir.h"

struct seen {
	int n;
	__s64 t0[16];
	size_t len[16];
};

static int on_profile(void *arg, __s64 t0, __s64 t1, const void *blob, size_t len)
{
	struct seen *s = arg;

	(void)t1;
	(void)blob;
	s->t0[s->n] = t0;
	s->len[s->n++] = len;
	return 0;
}

static void test_store_profiles_and_reopen(void **state)
{
	char *d = unit_tmpdir("store");
	struct store *st = store__open(d);
	struct seen s = { 0 };
	struct stat sb;
	long n;
	__s64 oldest;

	(void)state;
	assert_non_null(st);
	assert_true(store__writable(st));
	assert_int_equal(store__begin(st), 0);
	assert_int_equal(store__put_profile(st, "cpu", 1000, 2000, 1, "aa", 2), 0);
	assert_int_equal(store__put_profile(st, "cpu", 2000, 3000, 1, "bbb", 3), 0);
	assert_int_equal(store__put_profile(st, "offcpu", 2000, 3000, 1, "c", 1), 0);
	assert_int_equal(store__commit(st), 0);
	/* Overlap: [t0, t1) against [from, to) */
	assert_int_equal(store__profiles(st, "cpu", 1500, 2500, on_profile, &s), 0);
	assert_int_equal(s.n, 2);
	s.n = 0;
	assert_int_equal(store__profiles(st, "cpu", 2000, 2500, on_profile, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.t0[0], 2000);
	assert_int_equal(s.len[0], 3);
	store__close(st);
	/* The file is private, and a reopen sees the same rows. */
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/vigil.db", d);
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_mode & 077, 0);
	}
	st = store__open(d);
	assert_non_null(st);
	assert_int_equal(store__profile_count(st, "cpu", &n, &oldest), 0);
	assert_int_equal(n, 2);
	assert_int_equal(oldest, 1000);
	assert_int_equal(store__kv_set(st, "alert:x", "firing"), 0);
	{
		char *v = store__kv_get(st, "alert:x");

		assert_string_equal(v, "firing");
		free(v);
		assert_null(store__kv_get(st, "none"));
	}
	store__close(st);
	unit_rmrf(d);
	free(d);
}

static void test_store_refuses_unsafe_and_corrupt(void **state)
{
	char *d = unit_tmpdir("store"), p[512];
	FILE *f;

	(void)state;
	log_set_quiet(true);
	assert_int_equal(chmod(d, 0777), 0);
	errno = 0;
	assert_null(store__open(d));
	assert_int_equal(errno, EPERM);
	assert_int_equal(chmod(d, 0700), 0);
	snprintf(p, sizeof(p), "%s/vigil.db", d);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("this is not a database, not even close; just some text to look at", f);
	fclose(f);
	errno = 0;
	assert_null(store__open(d));
	assert_int_equal(errno, EINVAL);
	snprintf(p, sizeof(p), "%s/file", d);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	assert_null(store__open(p));
	log_set_quiet(false);
	unit_rmrf(d);
	free(d);
}

static void test_store_series_select_and_matchers(void **state)
{
	char *d = unit_tmpdir("store");
	struct store *st = store__open(d);
	struct series_store ss;
	struct series_label a[] = { { "comm", "bash" }, { "cpu", "0" } },
			    b[] = { { "cpu", "1" }, { "comm", "sshd" } };
	struct series_matcher m1[] = { { "comm", SERIES_EQ, "bash" } },
			      m2[] = { { "comm", SERIES_RE, "b.*|ssh." } },
			      m3[] = { { "comm", SERIES_NRE, "b.*" }, { "cpu", SERIES_NE, "0" } },
			      bad[] = { { "comm", SERIES_RE, "(" } };
	struct series_set set;

	(void)state;
	assert_non_null(st);
	ss = store__series(st);
	assert_int_equal(store__begin(st), 0);
	for (int t = 0; t < 5; t++) {
		assert_int_equal(ss.ops->append(ss.ctx, "m_total", a, 2, "counter", 1000 * t, t),
				 0);
		assert_int_equal(
			ss.ops->append(ss.ctx, "m_total", b, 2, "counter", 1000 * t, 10 * t), 0);
	}
	assert_int_equal(store__commit(st), 0);
	assert_int_equal(ss.ops->select(ss.ctx, "m_total", m1, 1, 1000, 3000, &set), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.s[0].nr_points, 3);
	assert_string_equal(series__label(&set.s[0], "comm"), "bash");
	assert_string_equal(set.s[0].labels[0].name, "comm"); /* sorted */
	assert_string_equal(set.s[0].type, "counter");
	series_set__release(&set);
	assert_int_equal(ss.ops->select(ss.ctx, "m_total", m2, 1, 0, 10000, &set), 0);
	assert_int_equal(set.n, 2);
	series_set__release(&set);
	assert_int_equal(ss.ops->select(ss.ctx, "m_total", m3, 2, 0, 10000, &set), 0);
	assert_int_equal(set.n, 1);
	assert_string_equal(series__label(&set.s[0], "comm"), "sshd");
	assert_true(set.s[0].points[4].v == 40);
	series_set__release(&set);
	assert_int_equal(ss.ops->select(ss.ctx, "m_total", bad, 1, 0, 10000, &set), -EINVAL);
	/* Out of range: no series at all. */
	assert_int_equal(ss.ops->select(ss.ctx, "m_total", NULL, 0, 9000, 10000, &set), 0);
	assert_int_equal(set.n, 0);
	series_set__release(&set);
	/* An unchanged value is stored once per heartbeat (60 s), not every interval. */
	assert_int_equal(store__begin(st), 0);
	for (int t = 0; t <= 70; t += 10)
		assert_int_equal(ss.ops->append(ss.ctx, "flat", NULL, 0, "gauge", 1000 * t, 7), 0);
	assert_int_equal(store__commit(st), 0);
	assert_int_equal(ss.ops->select(ss.ctx, "flat", NULL, 0, 0, 100000, &set), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.s[0].nr_points, 2); /* t = 0 and t = 60 s */
	assert_int_equal(set.s[0].points[1].t_ms, 60000);
	series_set__release(&set);
	/* __name__ matcher with no name. */
	{
		struct series_matcher nm[] = { { "__name__", SERIES_EQ, "m_total" },
					       { "cpu", SERIES_EQ, "1" } };

		assert_int_equal(ss.ops->select(ss.ctx, NULL, nm, 2, 0, 10000, &set), 0);
		assert_int_equal(set.n, 1);
		series_set__release(&set);
	}
	store__close(st);
	unit_rmrf(d);
	free(d);
}

static int concat_merge(void *arg, const char *kind, const void *const *blobs, const size_t *lens,
			size_t n, void **out, size_t *out_len)
{
	size_t total = 0;
	char *o;

	(void)arg;
	(void)kind;
	for (size_t i = 0; i < n; i++)
		total += lens[i];
	o = malloc(total + 1);
	*out_len = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(o + *out_len, blobs[i], lens[i]);
		*out_len += lens[i];
	}
	*out = o;
	return 0;
}

static void test_store_downsampling_and_retention(void **state)
{
	char *d = unit_tmpdir("store");
	struct store *st = store__open(d);
	struct series_store ss;
	struct series_label g[] = { { "k", "v" } };
	struct store_policy pol = {
		.retention_s = 1000, .age1_s = 100, .res1_s = 60, .age2_s = 300, .res2_s = 600
	};
	struct series_set set;
	struct seen s = { 0 };
	const __s64 base = 1800000000000LL; /* a 10-minute boundary */

	(void)state;
	assert_non_null(st);
	ss = store__series(st);
	assert_int_equal(store__begin(st), 0);
	/* 12 ten-second intervals over two minutes, a gauge and a counter per interval */
	for (int i = 0; i < 12; i++) {
		__s64 t0 = base + i * 10000LL;

		assert_int_equal(store__put_profile(st, "cpu", t0, t0 + 10000, 10, "x", 1), 0);
		assert_int_equal(ss.ops->append(ss.ctx, "g", g, 1, "gauge", t0 + 10000, i), 0);
		assert_int_equal(
			ss.ops->append(ss.ctx, "c_total", g, 1, "counter", t0 + 10000, 100 + i), 0);
	}
	assert_int_equal(store__commit(st), 0);
	/* 130 s after the last interval: both minutes are older than age1 (100 s), none than age2. */
	assert_int_equal(store__begin(st), 0);
	assert_int_equal(store__maintain(st, base + 120000 + 130000, &pol, concat_merge, NULL), 0);
	assert_int_equal(store__commit(st), 0);
	assert_int_equal(store__profiles(st, "cpu", base, base + 200000, on_profile, &s), 0);
	assert_int_equal(s.n, 2); /* one per minute */
	/* the six intervals starting in each minute, concatenated by the merge callback */
	assert_int_equal(s.len[0], 6);
	assert_int_equal(s.len[1], 6);
	assert_int_equal(ss.ops->select(ss.ctx, "g", NULL, 0, base, base + 200000, &set), 0);
	assert_int_equal(set.n, 1);
	/* the first minute's points (t = 10..50 s end times, values 0..4): their mean */
	assert_true(set.s[0].nr_points >= 2);
	assert_true(set.s[0].points[0].v == 2.0);
	assert_int_equal(set.s[0].points[0].t_ms, base + 59999);
	series_set__release(&set);
	assert_int_equal(ss.ops->select(ss.ctx, "c_total", NULL, 0, base, base + 200000, &set), 0);
	/* counters keep the last value of the window */
	assert_true(set.s[0].points[0].v == 104.0);
	series_set__release(&set);
	/* Much later: past the retention, everything goes. */
	assert_int_equal(store__begin(st), 0);
	assert_int_equal(store__maintain(st, base + 5000000, &pol, concat_merge, NULL), 0);
	assert_int_equal(store__commit(st), 0);
	s.n = 0;
	assert_int_equal(store__profiles(st, "cpu", base, base + 5000000, on_profile, &s), 0);
	assert_int_equal(s.n, 0);
	store__close(st);
	unit_rmrf(d);
	free(d);
}

/*
 * A series' end (a staleness marker appended: an alert resolved) is kept in the store, read back
 * in time order after a reopen, makes the next equal value be stored, leaves a series with only
 * ends out, and goes with roll-ups and retention.
 */
static void test_store_end_of_series(void **state)
{
	char *d = unit_tmpdir("store");
	struct store *st = store__open(d);
	struct series_store ss;
	struct series_label a[] = { { "alertname", "X" } };
	struct store_policy pol = {
		.retention_s = 1000, .age1_s = 100, .res1_s = 60, .age2_s = 300, .res2_s = 600
	};
	struct series_set set;
	const __s64 base = 1800000000000LL;

	(void)state;
	assert_non_null(st);
	ss = store__series(st);
	assert_int_equal(store__begin(st), 0);
	assert_int_equal(ss.ops->append(ss.ctx, "ALERTS", a, 1, "gauge", base + 1000, 1), 0);
	assert_int_equal(ss.ops->append(ss.ctx, "ALERTS", a, 1, "gauge", base + 2000, 1), 0);
	assert_int_equal(
		ss.ops->append(ss.ctx, "ALERTS", a, 1, "gauge", base + 3000, series_end_value()),
		0);
	/* the same value again after the end: stored (within the heartbeat otherwise skipped) */
	assert_int_equal(ss.ops->append(ss.ctx, "ALERTS", a, 1, "gauge", base + 9000, 1), 0);
	assert_int_equal(store__commit(st), 0);
	store__close(st);
	st = store__open(d);
	assert_non_null(st);
	ss = store__series(st);
	assert_int_equal(ss.ops->select(ss.ctx, "ALERTS", NULL, 0, base, base + 10000, &set), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.s[0].nr_points, 3);
	assert_int_equal(set.s[0].points[0].t_ms, base + 1000);
	assert_true(set.s[0].points[0].v == 1);
	assert_int_equal(set.s[0].points[1].t_ms, base + 3000);
	assert_true(series_is_end(set.s[0].points[1].v));
	assert_int_equal(set.s[0].points[2].t_ms, base + 9000);
	series_set__release(&set);
	/* a range with nothing but the end: no series */
	assert_int_equal(ss.ops->select(ss.ctx, "ALERTS", NULL, 0, base + 2500, base + 8000, &set),
			 0);
	assert_int_equal(set.n, 0);
	series_set__release(&set);
	/* the first minute rolled up: its end goes with the raw points */
	assert_int_equal(store__begin(st), 0);
	assert_int_equal(store__maintain(st, base + 60000 + 101000, &pol, concat_merge, NULL), 0);
	assert_int_equal(store__commit(st), 0);
	assert_int_equal(ss.ops->select(ss.ctx, "ALERTS", NULL, 0, base, base + 70000, &set), 0);
	assert_int_equal(set.n, 1);
	for (size_t i = 0; i < set.s[0].nr_points; i++)
		assert_false(series_is_end(set.s[0].points[i].v));
	series_set__release(&set);
	/* an end past the retention goes too */
	assert_int_equal(store__begin(st), 0);
	assert_int_equal(
		ss.ops->append(ss.ctx, "ALERTS", a, 1, "gauge", base + 200000, series_end_value()),
		0);
	assert_int_equal(store__commit(st), 0);
	assert_int_equal(store__begin(st), 0);
	assert_int_equal(store__maintain(st, base + 200000 + 1001000, &pol, concat_merge, NULL), 0);
	assert_int_equal(store__commit(st), 0);
	{
		sqlite3 *db;
		sqlite3_stmt *q;

		assert_int_equal(sqlite3_open(store__path(st), &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM ends", -1, &q, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), 0);
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
	store__close(st);
	unit_rmrf(d);
	free(d);
}

/* Points of a series s between from and to (inclusive), into t[] and v[]; their number. */
static size_t points_of(struct series_store ss, const char *name, __s64 from, __s64 to, __s64 *t,
			double *v, size_t max)
{
	struct series_set set;
	size_t n = 0;

	assert_int_equal(ss.ops->select(ss.ctx, name, NULL, 0, from, to, &set), 0);
	for (size_t i = 0; set.n && i < set.s[0].nr_points && n < max; i++, n++) {
		t[n] = set.s[0].points[i].t_ms;
		v[n] = set.s[0].points[i].v;
	}
	series_set__release(&set);
	return n;
}

/*
 * Point roll-ups go on from where they stopped: across a gap of hours (no window-by-window walk
 * through it), and after a restart (the progress is in the database), never rolling a window twice.
 */
static void test_store_rollup_gap_and_restart(void **state)
{
	char *d = unit_tmpdir("store");
	struct store *st = store__open(d);
	struct series_store ss;
	struct series_label g[] = { { "k", "v" } };
	struct store_policy pol = {
		.retention_s = 100000, .age1_s = 100, .res1_s = 60, .age2_s = 50000, .res2_s = 600
	};
	const __s64 base = 1800000000000LL, late = base + 5 * 3600 * 1000LL;
	__s64 t[64];
	double v[64];
	size_t n;

	(void)state;
	assert_non_null(st);
	ss = store__series(st);
	/* Two minutes of points, then five hours later two more minutes. */
	assert_int_equal(store__begin(st), 0);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(ss.ops->append(ss.ctx, "g", g, 1, "gauge", base + i * 10000LL, i),
				 0);
		assert_int_equal(
			ss.ops->append(ss.ctx, "g", g, 1, "gauge", late + i * 10000LL, 100 + i), 0);
	}
	assert_int_equal(store__commit(st), 0);
	/* Now: the first two minutes are older than age1, the late ones not yet. */
	assert_int_equal(store__maintain(st, late + 60000, &pol, concat_merge, NULL), 0);
	n = points_of(ss, "g", base, base + 120000, t, v, 64);
	assert_int_equal(n, 2);
	assert_int_equal(t[0], base + 59999);
	assert_true(v[0] == 2.5); /* 0..5 */
	assert_int_equal(t[1], base + 119999);
	assert_true(v[1] == 8.5); /* 6..11 */
	assert_int_equal(points_of(ss, "g", late, late + 120000, t, v, 64), 12);
	store__close(st);

	/* A restart: what was rolled stays as it is, the rest follows when its time comes. */
	st = store__open(d);
	assert_non_null(st);
	ss = store__series(st);
	assert_int_equal(store__maintain(st, late + 120000 + 100000, &pol, concat_merge, NULL), 0);
	n = points_of(ss, "g", base, late + 200000, t, v, 64);
	assert_int_equal(n, 4);
	assert_int_equal(t[0], base + 59999);
	assert_true(v[0] == 2.5);
	assert_int_equal(t[1], base + 119999);
	assert_true(v[1] == 8.5);
	assert_int_equal(t[2], late + 59999);
	assert_true(v[2] == 102.5);
	assert_int_equal(t[3], late + 119999);
	assert_true(v[3] == 108.5);
	store__close(st);
	unit_rmrf(d);
	free(d);
}

static struct profile *cpu_profile(const char *const *comms, int n, __u64 ns_each)
{
	struct profile_meta meta = { .value_type = "cpu", .value_unit = "nanoseconds" };
	struct profile *p = profile__new(&meta);

	assert_non_null(p);
	for (int i = 0; i < n; i++) {
		struct profile_stack s = {
			.comm = comms[i], .pid = (__u32)i + 1, .count = 1, .value = ns_each
		};

		assert_int_equal(profile__add_stack(p, &s), 0);
	}
	return p;
}

struct walk_seen {
	int cpu_series;
	double other;
	double total;
	int families;
};

static int count_cpu(void *arg, const char *fam, const char *type, const char *help,
		     const char *name, const struct prom_label *l, size_t n, double v, int first)
{
	struct walk_seen *w = arg;

	(void)type;
	(void)help;
	w->families += first;
	if (strcmp(fam, "vigil_cpu_seconds_total"))
		return 0;
	assert_string_equal(name, fam);
	assert_int_equal(n, 1);
	w->cpu_series++;
	w->total += v;
	if (!strcmp(l[0].value, "other"))
		w->other = v;
	return 0;
}

static void test_metrics_bounded_labels(void **state)
{
	const char *comms[] = { "a", "b", "c", "d", "e" };
	struct metrics *m = metrics__new(2);
	struct walk_seen w = { 0 };
	struct profile *p = cpu_profile(comms, 5, 1000000000ull), *q;

	(void)state;
	assert_non_null(m);
	metrics__add_cpu(m, p);
	metrics__each(m, count_cpu, &w);
	/* before the first ranking, everything is "other" */
	assert_int_equal(w.cpu_series, 1);
	assert_true(w.other == 5.0);
	metrics__close_interval(m);
	/* "a" twice as busy next time: a and one more get their own series, the rest stay other */
	q = cpu_profile(comms, 5, 1000000000ull);
	metrics__add_cpu(m, q);
	metrics__add_cpu(m, q);
	memset(&w, 0, sizeof(w));
	metrics__each(m, count_cpu, &w);
	assert_int_equal(w.cpu_series, 3);
	assert_true(w.total == 15.0); /* nothing lost or counted twice */
	profile__free(p);
	profile__free(q);
	metrics__free(m);
}

static void test_remote_write_encoding(void **state)
{
	const char *comms[] = { "bash" };
	struct metrics *m = metrics__new(20);
	struct profile *p = cpu_profile(comms, 1, 2500000000ull);
	Prometheus__WriteRequest *wr;
	void *buf = NULL;
	size_t len = 0;
	bool found = false;

	(void)state;
	metrics__add_cpu(m, p);
	metrics__close_interval(m);
	metrics__add_cpu(m, p);
	assert_int_equal(push_encode_series(m, 1700000000123LL, "host1", NULL, 0, &buf, &len), 0);
	wr = prometheus__write_request__unpack(NULL, len, buf);
	assert_non_null(wr);
	assert_true(wr->n_timeseries > 5);
	for (size_t i = 0; i < wr->n_timeseries; i++) {
		Prometheus__TimeSeries *ts = wr->timeseries[i];
		const char *name = NULL, *comm = NULL;

		assert_int_equal(ts->n_samples, 1);
		assert_int_equal(ts->samples[0]->timestamp, 1700000000123LL);
		for (size_t k = 0; k < ts->n_labels; k++) {
			if (k)
				assert_true(strcmp(ts->labels[k - 1]->name, ts->labels[k]->name) <
					    0);
			if (!strcmp(ts->labels[k]->name, "__name__"))
				name = ts->labels[k]->value;
			if (!strcmp(ts->labels[k]->name, "comm"))
				comm = ts->labels[k]->value;
		}
		assert_non_null(name);
		if (!strcmp(name, "vigil_cpu_seconds_total") && comm && !strcmp(comm, "bash")) {
			assert_true(ts->samples[0]->value == 2.5);
			found = true;
		}
	}
	assert_true(found);
	prometheus__write_request__free_unpacked(wr, NULL);
	free(buf);
	profile__free(p);
	metrics__free(m);
}

static void test_small_parsers(void **state)
{
	char buf[64];
	double d;
	__s64 t;

	(void)state;
	assert_true(http_token_equal("abc123", "abc123"));
	assert_false(http_token_equal("abc123", "abc124"));
	assert_false(http_token_equal("abc123", "abc1234"));
	assert_false(http_token_equal("", "x"));
	assert_string_equal(prom_escape("a\"b\\c\nd", buf, sizeof(buf)), "a\\\"b\\\\c\\nd");
	assert_int_equal(cli_parse_duration("7d", &d), 0);
	assert_true(d == 7 * 86400);
	assert_int_equal(cli_parse_duration("1.5h", &d), 0);
	assert_true(d == 5400);
	assert_int_equal(cli_parse_duration("250ms", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(cli_parse_duration("90", &d), 0);
	assert_true(d == 90);
	assert_int_equal(cli_parse_duration("-1s", &d), -EINVAL);
	assert_int_equal(cli_parse_duration("3 parsecs", &d), -EINVAL);
	assert_int_equal(cli_parse_duration("", &d), -EINVAL);
	assert_int_equal(api_parse_time("now", 1700000000000LL, &t), 0);
	assert_int_equal(t, 1700000000000LL);
	assert_int_equal(api_parse_time("now-1h", 1700000000000LL, &t), 0);
	assert_int_equal(t, 1700000000000LL - 3600000);
	assert_int_equal(api_parse_time("1700000000.5", 0, &t), 0);
	assert_int_equal(t, 1700000000500LL);
	assert_int_equal(api_parse_time("12", 0, &t), -EINVAL);
	assert_int_equal(api_parse_time("now-", 0, &t), -EINVAL);
	assert_int_equal(api_parse_time("%zz", 0, &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_profiles_and_reopen),
		cmocka_unit_test(test_store_refuses_unsafe_and_corrupt),
		cmocka_unit_test(test_store_series_select_and_matchers),
		cmocka_unit_test(test_store_downsampling_and_retention),
		cmocka_unit_test(test_store_end_of_series),
		cmocka_unit_test(test_store_rollup_gap_and_restart),
		cmocka_unit_test(test_metrics_bounded_labels),
		cmocka_unit_test(test_remote_write_encoding),
		cmocka_unit_test(test_small_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
