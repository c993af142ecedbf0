// SPDX-License-Identifier: GPL-2.0
/*
 * Ends of the collection loop's series (service/store.h: store__reported, store__end_unreported,
 * store__end_last_run): a series reported at one interval and not at the next ends there, all the
 * series of a histogram together, one skipped as unchanged is still reported; PromQL over the store
 * (analytics/storesrc.h) stops returning an ended series at its end and keeps its points before; a
 * transaction that does not commit ends the same series at the next interval; a restart (after a
 * kill -9: a child that exits inside a transaction) ends what the last run reported last, between
 * its last point and the new run's first; remote write carries the ends as Prometheus' staleness
 * marker, bit for bit.
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
#include <sys/wait.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "analytics/promql.h"
#include "analytics/storesrc.h"
#include "model/series.h"
#include "service/metrics.h"
#include "service/push.h"
#include "service/store.h"
#include "service/store_int.h"
#include "remote.pb-c.h"
#include "tmpdir.h"

static const __s64 base = 1800000000000LL;

/* What store_end_fn was given. */
struct ends_log {
	int n;
	char what[64][96]; /* "name{l=v,...}" */
	__s64 t[64];
};

static void log_end(void *arg, const char *name, const struct series_label *l, size_t n, __s64 t_ms)
{
	struct ends_log *e = arg;
	char *p = e->what[e->n];
	size_t left = sizeof(e->what[0]);
	int w = snprintf(p, left, "%s{", name);

	assert_true(e->n < 64);
	for (size_t i = 0; i < n; i++) {
		p += w;
		left -= (size_t)w;
		w = snprintf(p, left, "%s%s=%s", i ? "," : "", l[i].name, l[i].value);
	}
	snprintf(p + w, left - (size_t)w, "}");
	e->t[e->n++] = t_ms;
}

static bool logged(const struct ends_log *e, const char *what, __s64 t)
{
	for (int i = 0; i < e->n; i++)
		if (!strcmp(e->what[i], what) && e->t[i] == t)
			return true;
	return false;
}

/*
 * One interval of the collection loop at t: the clock, a resident-bytes gauge per comm (constant:
 * stored once, skipped after), and with hist a 3-bucket histogram, then the close. The clock counts
 * from clock0.
 */
static int interval(struct store *st, __s64 t, double clock, const char *const *comms, size_t n,
		    bool hist, struct ends_log *log)
{
	struct series_store ss = store__reported(st);
	static const char *const les[] = { "0.1", "1", "+Inf" };
	int err;

	assert_int_equal(store__begin(st), 0);
	assert_int_equal(ss.ops->append(ss.ctx, "clock", NULL, 0, "counter", t, clock), 0);
	for (size_t i = 0; i < n; i++) {
		struct series_label l = { "comm", (char *)comms[i] };

		assert_int_equal(ss.ops->append(ss.ctx, "rss", &l, 1, "gauge", t, 100), 0);
	}
	for (size_t i = 0; hist && i < 3; i++) {
		struct series_label l[2] = { { "syscall", "read" }, { "le", (char *)les[i] } };

		assert_int_equal(ss.ops->append(ss.ctx, "h_bucket", l, 2, "counter", t, clock + i),
				 0);
	}
	if (hist) {
		struct series_label l = { "syscall", "read" };

		assert_int_equal(ss.ops->append(ss.ctx, "h_sum", &l, 1, "counter", t, clock), 0);
		assert_int_equal(ss.ops->append(ss.ctx, "h_count", &l, 1, "counter", t, clock), 0);
	}
	assert_int_equal(store__end_unreported(st, t, log ? log_end : NULL, log), 0);
	err = store__commit(st);
	return err;
}

static int count_rows(const char *db_path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int n;

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The series an instant query returns at t (each one's comm or le label, or its name), sorted and
 * joined by spaces. */
static void instant(struct storesrc *src, const char *q, __s64 t, char *out, size_t len)
{
	struct pq_source ps = storesrc__source(src);
	struct pq_error err;
	struct pq_expr *e = pq_parse(q, &err);
	struct pq_result r;
	const char *names[64];

	assert_non_null(e);
	assert_int_equal(pq_eval_instant(e, &ps, t, NULL, &r, &err), 0);
	assert_int_equal(r.type, PQ_VECTOR);
	assert_true(r.vec.n <= 64);
	for (size_t i = 0; i < r.vec.n; i++) {
		const char *c = labels__get(r.vec.s[i].l, "comm");
		const char *le = labels__get(r.vec.s[i].l, "le");

		names[i] = c ? c : le ? le : labels__get(r.vec.s[i].l, LABEL_METRIC_NAME);
	}
	qsort(names, r.vec.n, sizeof(names[0]), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < r.vec.n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", names[i]);
	pq_result_release(&r);
	pq_expr__free(e);
}

/* A process may name itself with the cache key's separators (prctl): its end names it whole. */
static void test_end_names_with_separators(void **state)
{
	static const char *const odd[] = { "x\x1fy\x1ez", "b" }, *const b[] = { "b" };
	char *d = unit_tmpdir("ends");
	struct store *st = store__open(d);
	struct ends_log log = { 0 };

	(void)state;
	assert_non_null(st);
	assert_int_equal(interval(st, base + 1000, 1, odd, 2, false, &log), 0);
	assert_int_equal(interval(st, base + 2000, 2, b, 1, false, &log), 0);
	assert_int_equal(log.n, 1);
	assert_true(logged(&log, "rss{comm=x\x1fy\x1ez}", base + 2000));
	store__close(st);
	unit_rmrf(d);
	free(d);
}

static void test_unreported_series_end(void **state)
{
	static const char *const ab[] = { "a", "b" }, *const b[] = { "b" };
	char *d = unit_tmpdir("ends");
	struct store *st = store__open(d);
	struct series_store plain;
	struct series_label alert = { "alertname", "X" };
	struct ends_log log = { 0 };
	struct storesrc *src;
	struct pq_source ps;
	struct pq_error perr;
	struct pq_expr *e;
	struct pq_result r;
	char got[256];

	(void)state;
	assert_non_null(st);
	/* A series the rule engine writes (store__series) is not the loop's: it never ends here. */
	plain = store__series(st);
	assert_int_equal(store__begin(st), 0);
	assert_int_equal(plain.ops->append(plain.ctx, "ALERTS", &alert, 1, "gauge", base, 1), 0);
	assert_int_equal(store__commit(st), 0);
	/* 1 s intervals: a and b and the histogram for 3, then a and the histogram gone, then a
	 * back at 6 s with its old value. */
	for (int i = 1; i <= 3; i++)
		assert_int_equal(interval(st, base + i * 1000, i, ab, 2, true, &log), 0);
	assert_int_equal(log.n, 0);
	assert_int_equal(count_rows(store__path(st), "SELECT count(*) FROM live"), 2 + 5 + 1);
	assert_int_equal(interval(st, base + 4000, 4, b, 1, false, &log), 0);
	/* a (whose unchanged points were skipped since 1 s: reported all the same) and every series
	 * of the histogram end at 4 s, together; b, the clock and ALERTS do not */
	assert_int_equal(log.n, 6);
	assert_true(logged(&log, "rss{comm=a}", base + 4000));
	assert_true(logged(&log, "h_bucket{le=0.1,syscall=read}", base + 4000));
	assert_true(logged(&log, "h_bucket{le=1,syscall=read}", base + 4000));
	assert_true(logged(&log, "h_bucket{le=+Inf,syscall=read}", base + 4000));
	assert_true(logged(&log, "h_sum{syscall=read}", base + 4000));
	assert_true(logged(&log, "h_count{syscall=read}", base + 4000));
	assert_int_equal(count_rows(store__path(st), "SELECT count(*) FROM ends"), 6);
	assert_int_equal(count_rows(store__path(st), "SELECT count(*) FROM live"), 2);
	/* nothing more ends while it stays away */
	assert_int_equal(interval(st, base + 5000, 5, b, 1, false, &log), 0);
	assert_int_equal(log.n, 6);
	assert_int_equal(interval(st, base + 6000, 6, ab, 2, false, &log), 0);
	assert_int_equal(interval(st, base + 7000, 7, ab, 2, false, &log), 0);
	assert_int_equal(log.n, 6);

	/* PromQL over the store, as the query API reads it (60 s hold, the clock's ticks). */
	src = storesrc__new(store__series(st), &(struct storesrc_opts){ .interval_ms = 1000,
									.hold_ms = 60000,
									.clock_metric = "clock" });
	assert_non_null(src);
	instant(src, "rss", base + 3500, got, sizeof(got));
	assert_string_equal(got, "a b");
	instant(src, "rss", base + 4000, got, sizeof(got));
	assert_string_equal(got, "b");
	instant(src, "rss", base + 5999, got, sizeof(got));
	assert_string_equal(got, "b");
	/* back with its old value: stored again (no hold across the end) */
	instant(src, "rss", base + 6000, got, sizeof(got));
	assert_string_equal(got, "a b");
	instant(src, "h_bucket", base + 3999, got, sizeof(got));
	assert_string_equal(got, "+Inf 0.1 1");
	instant(src, "h_bucket", base + 4000, got, sizeof(got));
	assert_string_equal(got, "");
	instant(src, "ALERTS", base + 4000, got, sizeof(got));
	assert_string_equal(got, "ALERTS");
	/* a range query over a's life still has its samples (stored and put back): 1, 2, 3 s */
	e = pq_parse("rss{comm=\"a\"}", &perr);
	ps = storesrc__source(src);
	assert_int_equal(pq_eval_range(e, &ps, base + 1000, base + 7000, 1000, NULL, &r, &perr), 0);
	assert_int_equal(r.mat.n, 1);
	assert_int_equal(r.mat.s[0].n, 5);
	assert_int_equal(r.mat.s[0].p[0].t, base + 1000);
	assert_int_equal(r.mat.s[0].p[2].t, base + 3000);
	assert_int_equal(r.mat.s[0].p[3].t, base + 6000);
	pq_result_release(&r);
	pq_expr__free(e);
	storesrc__free(src);
	store__close(st);
	unit_rmrf(d);
	free(d);
}

static void test_uncommitted_close_ends_at_the_next(void **state)
{
	static const char *const ab[] = { "a", "b" }, *const b[] = { "b" }, *const c[] = { "c" };
	char *d = unit_tmpdir("ends");
	struct store *st = store__open(d);
	struct ends_log log = { 0 };

	(void)state;
	assert_non_null(st);
	assert_int_equal(interval(st, base + 1000, 1, ab, 2, false, &log), 0);
	/* The close at 2 s does not commit (rolled back under it: the store sees COMMIT fail). */
	{
		struct series_store ss = store__reported(st);
		struct series_label l = { "comm", "b" };

		assert_int_equal(store__begin(st), 0);
		assert_int_equal(
			ss.ops->append(ss.ctx, "clock", NULL, 0, "counter", base + 2000, 2), 0);
		assert_int_equal(ss.ops->append(ss.ctx, "rss", &l, 1, "gauge", base + 2000, 100),
				 0);
		assert_int_equal(store__end_unreported(st, base + 2000, log_end, &log), 0);
		assert_int_equal(log.n, 1);
		assert_int_equal(sqlite3_exec(st->w, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
		assert_int_not_equal(store__commit(st), 0);
	}
	assert_int_equal(count_rows(store__path(st), "SELECT count(*) FROM ends"), 0);
	/* The next close ends a again, at its own time; c, new, is live, b still is. */
	assert_int_equal(interval(st, base + 3000, 3, c, 1, false, &log), 0);
	assert_int_equal(log.n, 3);
	assert_true(logged(&log, "rss{comm=a}", base + 3000));
	assert_true(logged(&log, "rss{comm=b}", base + 3000));
	assert_int_equal(count_rows(store__path(st), "SELECT count(*) FROM ends"), 2);
	assert_int_equal(count_rows(store__path(st), "SELECT count(*) FROM live"), 2);
	assert_true(store__writable(st));
	(void)b;
	store__close(st);
	unit_rmrf(d);
	free(d);
}

static void test_restart_ends_last_run(void **state)
{
	static const char *const ab[] = { "a", "b" }, *const a[] = { "a" };
	char *d = unit_tmpdir("ends");
	struct store *st;
	struct ends_log log = { 0 };
	int status;
	pid_t pid;

	(void)state;
	/* The last run, killed (kill -9) inside its fourth interval's transaction: b ended at 3 s,
	 * a was reported last at 3 s, skipped as unchanged since 1 s. */
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct store *c = store__open(d);
		struct series_store ss;
		struct series_label l = { "comm", "c" };

		if (!c || interval(c, base + 1000, 1, ab, 2, false, NULL) ||
		    interval(c, base + 2000, 2, ab, 2, false, NULL) ||
		    interval(c, base + 3000, 3, a, 1, false, NULL))
			_exit(1);
		ss = store__reported(c);
		if (store__begin(c) ||
		    ss.ops->append(ss.ctx, "rss", &l, 1, "gauge", base + 4000, 100) ||
		    store__end_unreported(c, base + 4000, NULL, NULL))
			_exit(1);
		_exit(0); /* no commit, no close */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	st = store__open(d);
	assert_non_null(st);
	assert_int_equal(count_rows(store__path(st), "SELECT count(*) FROM live"), 2);
	/* Started again 5.5 s in (interval 1 s): the last run's series end at 4 s, where its next
	 * interval would have been; c never was. */
	assert_int_equal(store__end_last_run(st, base + 5500, 1000, log_end, &log), 0);
	assert_int_equal(log.n, 2);
	assert_true(logged(&log, "rss{comm=a}", base + 4000));
	assert_true(logged(&log, "clock{}", base + 4000));
	assert_int_equal(count_rows(store__path(st), "SELECT count(*) FROM live"), 0);
	assert_int_equal(count_rows(store__path(st),
				    "SELECT count(*) FROM ends e JOIN series s ON s.id = e.series "
				    "WHERE s.labels = '{\"comm\":\"b\"}' AND e.t = 1800000003000"),
			 1);
	/* a second call finds nothing left */
	assert_int_equal(store__end_last_run(st, base + 5500, 1000, log_end, &log), 0);
	assert_int_equal(log.n, 2);
	/* This run: a again at 6.5 s, stored whatever its value; ended as usual later. */
	assert_int_equal(interval(st, base + 6500, 1, a, 1, false, &log), 0);
	assert_int_equal(log.n, 2);
	{
		struct storesrc *src = storesrc__new(
			store__series(st), &(struct storesrc_opts){ .interval_ms = 1000,
								    .hold_ms = 60000,
								    .clock_metric = "clock" });
		char got[64];

		instant(src, "rss", base + 3999, got, sizeof(got));
		assert_string_equal(got, "a");
		instant(src, "rss", base + 4000, got, sizeof(got));
		assert_string_equal(got, "");
		instant(src, "rss", base + 6499, got, sizeof(got));
		assert_string_equal(got, "");
		instant(src, "rss", base + 6500, got, sizeof(got));
		assert_string_equal(got, "a");
		storesrc__free(src);
	}
	store__close(st);

	/* A quick restart (0.3 s after the last interval) ends them when it starts; a clock that
	 * went back still ends them after their last point. */
	st = store__open(d);
	log.n = 0;
	assert_int_equal(store__end_last_run(st, base + 6800, 1000, log_end, &log), 0);
	assert_int_equal(log.n, 2);
	assert_true(logged(&log, "rss{comm=a}", base + 6800));
	assert_int_equal(interval(st, base + 7800, 1, a, 1, false, NULL), 0);
	store__close(st);
	st = store__open(d);
	log.n = 0;
	assert_int_equal(store__end_last_run(st, base + 100, 1000, log_end, &log), 0);
	assert_int_equal(log.n, 2);
	assert_true(logged(&log, "rss{comm=a}", base + 7801));
	store__close(st);
	unit_rmrf(d);
	free(d);
}

static void test_remote_write_markers(void **state)
{
	struct metrics *m = metrics__new(20);
	struct series_label l[2] = { { "comm", "gone" }, { "a", "b" } };
	struct push_end ends[] = { { "vigil_process_resident_bytes", l, 1, 1700000000000LL },
				   { "vigil_x_bucket", l, 2, 1700000000000LL } };
	Prometheus__WriteRequest *wr;
	void *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(m);
	assert_int_equal(push_encode_series(m, 1700000001000LL, "host1", ends, 2, &buf, &len), 0);
	wr = prometheus__write_request__unpack(NULL, len, buf);
	assert_non_null(wr);
	assert_true(wr->n_timeseries > 2);
	/* the ends first, each one sample: the staleness marker's bits at its end */
	for (size_t i = 0; i < 2; i++) {
		Prometheus__TimeSeries *ts = wr->timeseries[i];
		__u64 bits;

		assert_int_equal(ts->n_samples, 1);
		memcpy(&bits, &ts->samples[0]->value, sizeof(bits));
		assert_true(bits == 0x7ff0000000000002ULL);
		assert_int_equal(ts->samples[0]->timestamp, 1700000000000LL);
		assert_int_equal(ts->n_labels, 3 + ends[i].n);
		for (size_t k = 1; k < ts->n_labels; k++)
			assert_true(strcmp(ts->labels[k - 1]->name, ts->labels[k]->name) < 0);
	}
	assert_string_equal(wr->timeseries[0]->labels[0]->name, "__name__");
	assert_string_equal(wr->timeseries[0]->labels[0]->value, "vigil_process_resident_bytes");
	assert_string_equal(wr->timeseries[0]->labels[1]->name, "comm");
	assert_string_equal(wr->timeseries[0]->labels[1]->value, "gone");
	assert_int_equal(wr->timeseries[2]->samples[0]->timestamp, 1700000001000LL);
	prometheus__write_request__free_unpacked(wr, NULL);
	free(buf);
	/* markers only (a restart's ends) */
	assert_int_equal(push_encode_series(NULL, 0, "host1", ends, 1, &buf, &len), 0);
	wr = prometheus__write_request__unpack(NULL, len, buf);
	assert_non_null(wr);
	assert_int_equal(wr->n_timeseries, 1);
	prometheus__write_request__free_unpacked(wr, NULL);
	free(buf);
	metrics__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreported_series_end),
		cmocka_unit_test(test_end_names_with_separators),
		cmocka_unit_test(test_uncommitted_close_ends_at_the_next),
		cmocka_unit_test(test_restart_ends_last_run),
		cmocka_unit_test(test_remote_write_markers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
