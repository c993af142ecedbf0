// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: labels and matchers, PromQL parsing (precedence, type checks), the evaluator against
 * values worked out by hand from Prometheus' formulas, the in-memory store and the text forms.
 * The comparison with a real Prometheus is tests/integration/test_promql.py.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "analytics/expfmt.h"
#include "analytics/promql.h"
#include "analytics/promql_int.h"
#include "analytics/tsmem.h"

static struct labels *L(const char *name, ...)
{
	struct label l[16];
	size_t n = 0;
	va_list ap;
	const char *k;

	if (name) {
		l[n].name = LABEL_METRIC_NAME;
		l[n++].value = name;
	}
	va_start(ap, name);
	while ((k = va_arg(ap, const char *))) {
		l[n].name = k;
		l[n++].value = va_arg(ap, const char *);
	}
	va_end(ap);
	return labels__new(l, n);
}

static void test_labels(void **state)
{
	(void)state;
	struct labels *a = L("up", "job", "x", "instance", "i", NULL);
	struct labels *b = L("up", "instance", "i", "job", "x", NULL);
	struct labels *c = L("up", "instance", "i", "job", "x", "empty", "", NULL);
	struct labels *d, *e;
	char buf[128];

	assert_true(labels__equal(a, b));
	assert_true(labels__equal(a, c)); /* an empty value is no label */
	assert_int_equal(a->n, 3);
	assert_string_equal(a->l[0].name, LABEL_METRIC_NAME);
	assert_string_equal(a->l[1].name, "instance");
	assert_string_equal(labels__get(a, "job"), "x");
	assert_null(labels__get(a, "nope"));
	d = labels__drop_name(a);
	assert_int_equal(d->n, 2);
	assert_null(labels__get(d, LABEL_METRIC_NAME));
	labels__format(a, buf, sizeof(buf));
	assert_string_equal(buf, "up{instance=\"i\", job=\"x\"}");
	/* by (job) and ignoring (instance) hash alike when the remaining labels agree. */
	static const char *const job[] = { "job" }, *const inst[] = { "instance" };
	e = L("other", "job", "x", "instance", "j", NULL);
	assert_true(labels__hash_subset(a, job, 1, true) == labels__hash_subset(e, job, 1, true));
	assert_true(labels__hash_subset(a, inst, 1, false) ==
		    labels__hash_subset(e, inst, 1, false));
	assert_true(labels__hash_subset(a, job, 1, false) != labels__hash_subset(e, job, 1, false));
	assert_true(labels__cmp(a, e) < 0 || labels__cmp(a, e) > 0);
	assert_int_equal(labels__cmp(a, b), 0);
	assert_true(metric_name_valid("a:b_c1"));
	assert_false(metric_name_valid("1a"));
	assert_true(label_name_valid("_a1"));
	assert_false(label_name_valid("a:b"));
	assert_false(label_value_valid("\xff"));
	labels__unref(a);
	labels__unref(b);
	labels__unref(c);
	labels__unref(d);
	labels__unref(e);
}

static void test_matchers(void **state)
{
	(void)state;
	struct label_matcher m;
	char err[200];

	assert_int_equal(label_matcher_init(&m, MATCH_RE, "code", "5..|4\\d\\d", err, sizeof(err)),
			 0);
	assert_true(label_matcher_matches(&m, "500"));
	assert_true(label_matcher_matches(&m, "404"));
	assert_false(label_matcher_matches(&m, "5000")); /* anchored */
	assert_false(label_matcher_matches(&m, "x500"));
	assert_false(label_matcher_matches(&m, NULL));
	label_matcher_release(&m);
	assert_int_equal(label_matcher_init(&m, MATCH_NRE, "a", "(?i)foo.*", err, sizeof(err)), 0);
	assert_false(label_matcher_matches(&m, "FOObar"));
	assert_true(label_matcher_matches(&m, "bar"));
	assert_true(label_matcher_matches_empty(&m));
	label_matcher_release(&m);
	assert_int_equal(label_matcher_init(&m, MATCH_RE, "a", "[\\w.]+(?:x|y)", err, sizeof(err)),
			 0);
	assert_true(label_matcher_matches(&m, "a.b_x"));
	assert_false(label_matcher_matches(&m, "a-b_x"));
	label_matcher_release(&m);
	assert_int_equal(label_matcher_init(&m, MATCH_RE, "a", "(", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "error parsing regexp"));
}

static void expect_parse_error(const char *text, const char *msg)
{
	struct pq_error err;
	struct pq_expr *e = pq_parse(text, &err);

	if (e)
		fail_msg("'%s' parsed, want error '%s'", text, msg);
	if (!strstr(err.msg, msg))
		fail_msg("'%s': error '%s', want '%s'", text, err.msg, msg);
}

static double eval_scalar(const char *text)
{
	struct pq_error err;
	struct pq_expr *e = pq_parse(text, &err);
	struct pq_source none = { 0 };
	struct pq_result r;
	double v;

	if (!e)
		fail_msg("'%s': %s", text, err.msg);
	assert_int_equal(pq_eval_instant(e, &none, 0, NULL, &r, &err), 0);
	assert_int_equal(r.type, PQ_SCALAR);
	v = r.scalar;
	pq_result_release(&r);
	pq_expr__free(e);
	return v;
}

static void test_parse(void **state)
{
	(void)state;
	/* Precedence: ^ is right-associative and above unary minus; * above +; and above or. */
	assert_true(eval_scalar("2 ^ 3 ^ 2") == 512);
	assert_true(eval_scalar("-2 ^ 2") == -4);
	assert_true(eval_scalar("1 + 2 * 3") == 7);
	assert_true(eval_scalar("(1 + 2) * 3") == 9);
	assert_true(eval_scalar("10 - 2 - 3") == 5);
	assert_true(eval_scalar("7 % 4 / 2") == 1.5);
	assert_true(eval_scalar("1 < bool 2") == 1);
	assert_true(eval_scalar("0x10 + 1e1") == 26);
	assert_true(isinf(eval_scalar("Inf")));
	assert_true(isnan(eval_scalar("NaN")));
	assert_true(eval_scalar("time()") == 0);
	expect_parse_error("foo(up)", "unknown function with name \"foo\"");
	expect_parse_error("rate(up)", "expected type range vector in call to function \"rate\"");
	expect_parse_error("sum(up[5m])", "expected type instant vector in aggregation expression");
	expect_parse_error("1 > 2", "comparisons between scalars must use BOOL modifier");
	expect_parse_error("up and 1", "set operator \"and\" not allowed");
	expect_parse_error("up + bool up", "bool modifier can only be used on comparison");
	expect_parse_error("{a=~\".*\"}", "at least one non-empty matcher");
	expect_parse_error("up[5x]", "bad duration syntax");
	expect_parse_error("up{a=\"b\"", "unexpected end of input");
	expect_parse_error("topk(up)", "no parameter provided");
	expect_parse_error("(up)[5m]", "ranges only allowed for vector selectors");
	expect_parse_error("up offset 1m offset 2m", "offset may not be set multiple times");
	expect_parse_error("1 + on(a) up", "vector matching only allowed between instant vectors");
	expect_parse_error("up * on(a) group_left(a) up", "must not occur in ON and GROUP clause");
	expect_parse_error("5m", "bad number or duration syntax");
	expect_parse_error("", "no expression found");
	expect_parse_error("up{a=\"\\q\"}", "unknown escape sequence");

	struct pq_error err;
	struct pq_expr *e = pq_parse("rate(x[5m:30s] offset 1h) # a comment", &err);

	assert_non_null(e);
	assert_int_equal(pq_expr__type(e), PQ_VECTOR);
	pq_expr__free(e);
}

/* A store with a counter sampled every 15 s from t=0, +10 per sample, reset after 40. */
static struct tsmem *counter_store(void)
{
	struct tsmem *ts = tsmem__new();
	struct labels *l = L("c_total", "job", "j", NULL);
	double v = 0;

	for (int i = 0; i < 20; i++) {
		assert_int_equal(tsmem__append(ts, l, (int64_t)i * 15000, v), 0);
		v = v >= 40 ? 5 : v + 10;
	}
	labels__unref(l);
	return ts;
}

static double eval_one(struct tsmem *ts, const char *text, int64_t t)
{
	struct pq_error err;
	struct pq_expr *e = pq_parse(text, &err);
	struct pq_source src = tsmem__source(ts);
	struct pq_result r;
	double v;

	if (!e)
		fail_msg("'%s': %s", text, err.msg);
	if (pq_eval_instant(e, &src, t, NULL, &r, &err))
		fail_msg("'%s': %s", text, err.msg);
	assert_int_equal(r.type, PQ_VECTOR);
	if (r.vec.n != 1)
		fail_msg("'%s': %zu samples", text, r.vec.n);
	v = r.vec.s[0].v;
	pq_result_release(&r);
	pq_expr__free(e);
	return v;
}

static void test_eval_counters(void **state)
{
	(void)state;
	struct tsmem *ts = counter_store();
	struct pq_source src = tsmem__source(ts);

	/*
	 * At t=60 s over [0 s, 60 s]: samples 0,10,20,30,40 at 0..60 s; increase 40 over 60 s; the
	 * window touches both ends, so no extrapolation: rate 40/60.
	 */
	assert_float_equal(eval_one(ts, "rate(c_total[1m])", 60000), 40.0 / 60, 1e-12);
	assert_float_equal(eval_one(ts, "increase(c_total[1m])", 60000), 40, 1e-12);
	/*
	 * At t=70 s over [10 s, 70 s]: samples at 15..60 s (10,20,30,40): raw 30 over 45 s; the gap to
	 * the start is 5 s, to the end 10 s, both under 1.1 x 15 s, so extrapolated to the whole
	 * 60 s (the zero point, 45 s * 10/30 = 15 s back, is further than the start): 30 * 60 / 45.
	 */
	assert_float_equal(eval_one(ts, "increase(c_total[1m])", 70000), 40, 1e-12);
	/* Over [30 s, 90 s] (20 30 40 5 15) the reset adds the 40 before it: 15 - 20 + 40. */
	assert_float_equal(eval_one(ts, "increase(c_total[1m])", 90000), 35, 1e-12);
	assert_float_equal(eval_one(ts, "irate(c_total[1m])", 90000), 10.0 / 15, 1e-12);
	assert_float_equal(eval_one(ts, "resets(c_total[5m])", 300000), 3, 1e-12);
	assert_float_equal(eval_one(ts, "c_total offset 1m", 60000), 0, 1e-12);
	assert_float_equal(eval_one(ts, "count_over_time(c_total[1m])", 60000), 5, 1e-12);
	assert_float_equal(eval_one(ts, "max_over_time(c_total[1m])", 60000), 40, 1e-12);
	assert_float_equal(eval_one(ts, "sum(c_total) by (job)", 60000), 40, 1e-12);
	assert_float_equal(eval_one(ts, "deriv(c_total[1m])", 60000), 10.0 / 15, 1e-12);
	assert_float_equal(eval_one(ts, "predict_linear(c_total[1m], 60)", 60000), 80, 1e-9);

	/* Lookback: the last sample is at 285 s; visible until 285 + 300 s, gone after. */
	struct pq_error err;
	struct pq_expr *e = pq_parse("c_total", &err);
	struct pq_result r;

	assert_int_equal(pq_eval_instant(e, &src, 585000, NULL, &r, &err), 0);
	assert_int_equal(r.vec.n, 1);
	pq_result_release(&r);
	assert_int_equal(pq_eval_instant(e, &src, 585001, NULL, &r, &err), 0);
	assert_int_equal(r.vec.n, 0);
	pq_result_release(&r);

	/* A staleness marker ends the series at once. */
	struct labels *l = L("c_total", "job", "j", NULL);

	assert_int_equal(tsmem__append(ts, l, 300000, pq_stale_nan()), 0);
	labels__unref(l);
	assert_int_equal(pq_eval_instant(e, &src, 301000, NULL, &r, &err), 0);
	assert_int_equal(r.vec.n, 0);
	pq_result_release(&r);

	/* Range query: steps at 0, 30, ..., 120 s. */
	assert_int_equal(pq_eval_range(e, &src, 0, 120000, 30000, NULL, &r, &err), 0);
	assert_int_equal(r.type, PQ_MATRIX);
	assert_int_equal(r.mat.n, 1);
	assert_int_equal(r.mat.s[0].n, 5);
	assert_float_equal(r.mat.s[0].p[3].v, 15, 0); /* 90 s: after the reset */
	assert_float_equal(r.mat.s[0].p[4].v, 35, 0);
	pq_result_release(&r);
	pq_expr__free(e);
	tsmem__free(ts);
}

static void test_bucket_quantile(void **state)
{
	(void)state;
	/* Buckets le=1: 10, le=2: 30, le=+Inf: 40. Median rank 20 lies in (1,2]: 1 + (20-10)/20. */
	struct pq_bucket b[] = { { INFINITY, 40 }, { 1, 10 }, { 2, 30 } };

	assert_float_equal(pq_bucket_quantile(0.5, b, 3), 1.5, 1e-12);
	struct pq_bucket c[] = { { 1, 10 }, { 2, 30 }, { INFINITY, 40 } };

	/* Rank 38 falls in +Inf: the highest finite bound. */
	assert_float_equal(pq_bucket_quantile(0.95, c, 3), 2, 1e-12);
	struct pq_bucket d[] = { { 1, 10 }, { 2, 5 }, { INFINITY, 10 } };

	/* Non-monotonic counts are fixed up: le=2 becomes 10, so the median is within (0,1]. */
	assert_float_equal(pq_bucket_quantile(0.5, d, 3), 0.5, 1e-12);
	struct pq_bucket e[] = { { 1, 10 }, { 2, 30 } };

	assert_true(isnan(pq_bucket_quantile(0.5, e, 2))); /* no +Inf bucket */
	assert_true(isinf(pq_bucket_quantile(1.5, c, 3)));
	double v[] = { 4, 1, 3, 2 };

	assert_float_equal(pq_quantile(0.5, v, 4), 2.5, 1e-12);
}

static void test_binary_matching(void **state)
{
	(void)state;
	struct tsmem *ts = tsmem__new();
	struct labels *a1 = L("used", "inst", "a", "area", "heap", NULL);
	struct labels *a2 = L("used", "inst", "a", "area", "stack", NULL);
	struct labels *lim = L("limit", "inst", "a", NULL);
	struct pq_source src = tsmem__source(ts);
	struct pq_error err;
	struct pq_result r;

	tsmem__append(ts, a1, 1000, 30);
	tsmem__append(ts, a2, 1000, 10);
	tsmem__append(ts, lim, 1000, 100);
	struct pq_expr *e = pq_parse("used / ignoring(area) group_left limit", &err);

	assert_int_equal(pq_eval_instant(e, &src, 1000, NULL, &r, &err), 0);
	assert_int_equal(r.vec.n, 2);
	assert_null(labels__get(r.vec.s[0].l, LABEL_METRIC_NAME));
	assert_float_equal(r.vec.s[0].v + r.vec.s[1].v, 0.4, 1e-12);
	pq_result_release(&r);
	pq_expr__free(e);
	e = pq_parse("used / ignoring(area) limit", &err);
	assert_int_equal(pq_eval_instant(e, &src, 1000, NULL, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "many-to-one matching must be explicit"));
	pq_expr__free(e);
	e = pq_parse("used unless on(area) used{area=\"heap\"}", &err);
	assert_int_equal(pq_eval_instant(e, &src, 1000, NULL, &r, &err), 0);
	assert_int_equal(r.vec.n, 1);
	assert_string_equal(labels__get(r.vec.s[0].l, "area"), "stack");
	pq_result_release(&r);
	pq_expr__free(e);
	labels__unref(a1);
	labels__unref(a2);
	labels__unref(lim);
	tsmem__free(ts);
}

static void test_text_forms(void **state)
{
	(void)state;
	char buf[400];
	int64_t ms;

	assert_string_equal(pq_format_float(0.1, buf, sizeof(buf)), "0.1");
	assert_string_equal(pq_format_float(1e21, buf, sizeof(buf)), "1000000000000000000000");
	assert_string_equal(pq_format_float(1.5e-7, buf, sizeof(buf)), "0.00000015");
	assert_string_equal(pq_format_float(-2.5, buf, sizeof(buf)), "-2.5");
	assert_string_equal(pq_format_float(100, buf, sizeof(buf)), "100");
	assert_string_equal(pq_format_float(1.0 / 3, buf, sizeof(buf)), "0.3333333333333333");
	assert_string_equal(pq_format_float(INFINITY, buf, sizeof(buf)), "+Inf");
	assert_string_equal(pq_format_float(NAN, buf, sizeof(buf)), "NaN");
	assert_int_equal(pq_parse_duration("1h30m", 5, &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(pq_parse_duration("1d2h3m4s5ms", 11, &ms), 0);
	assert_int_equal(ms, 93784005);
	assert_int_equal(pq_parse_duration("0", 1, &ms), 0);
	assert_int_equal(pq_parse_duration("5m1h", 4, &ms), -EINVAL); /* out of order */
	assert_int_equal(pq_parse_duration("1.5h", 4, &ms), -EINVAL);
	assert_int_equal(pq_parse_duration("", 0, &ms), -EINVAL);
	assert_string_equal(pq_format_duration(5400000, buf, sizeof(buf)), "1h30m");
	assert_string_equal(pq_format_duration(0, buf, sizeof(buf)), "0s");
	assert_int_equal(pq_parse_time("2023-11-14T22:13:20Z", &ms), 0);
	assert_int_equal(ms, 1700000000000LL);
	assert_int_equal(pq_parse_time("2023-11-14T23:13:20.5+01:00", &ms), 0);
	assert_int_equal(ms, 1700000000500LL);
	assert_int_equal(pq_parse_time("1700000000.25", &ms), 0);
	assert_int_equal(ms, 1700000000250LL);
	/* Prometheus' rounding: through float seconds, the fraction to ms, then ns, then ms. */
	assert_int_equal(pq_parse_time("1796224193.0765", &ms), 0);
	assert_int_equal(ms, 1796224193076LL);
	assert_int_equal(pq_parse_time("1700000000.9999", &ms), 0);
	assert_int_equal(ms, 1700000001000LL);
	assert_int_equal(pq_parse_time("-1.5", &ms), 0);
	assert_int_equal(ms, -1500);
	assert_int_equal(pq_parse_time("yesterday", &ms), -EINVAL);
}

static int count_cb(void *arg, struct labels *l, int64_t t, double v)
{
	size_t *n = arg;

	(void)l;
	(void)v;
	(*n)++;
	return t > 0 ? 0 : -EINVAL;
}

static void test_expfmt(void **state)
{
	(void)state;
	static const char om[] = "# TYPE a counter\n"
				 "a_total{x=\"1\",y=\"q\\\"\"} 1.5 1700000000.5\n"
				 "a_total 2 1700000001 # {trace_id=\"x\"} 1\n"
				 "# EOF\n";
	static const char bad[] = "ok 1 1000\nbad{x=1} 2 1000\n";
	struct expfmt_error err;
	size_t n = 0;

	assert_int_equal(expfmt_parse(om, strlen(om), 0, count_cb, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(expfmt_parse(bad, strlen(bad), 0, count_cb, &n, &err), -EINVAL);
	assert_int_equal(err.line, 2);
}

/* A subquery of millions of steps over one series stops at the query's timeout with Prometheus'
 * error; the same query with a coarse step finishes and is right. */
static void test_timeout(void **state)
{
	(void)state;
	struct tsmem *ts = tsmem__new();
	struct labels *g = L("g", NULL);
	struct pq_opts o = { .timeout_ms = 100 };
	struct pq_error err;
	struct pq_result r;
	struct pq_expr *e;
	struct pq_source src;
	struct timespec a, b;
	double took;

	assert_non_null(ts);
	tsmem__append(ts, g, 1000, 2);
	src = tsmem__source(ts);
	e = pq_parse("avg_over_time(sum(g)[58w:8s])", &err);
	assert_non_null(e);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(pq_eval_instant(e, &src, 60000, &o, &r, &err), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	assert_string_equal(err.msg, "query timed out in expression evaluation");
	assert_true(took >= 0.1 && took < 5);
	assert_int_equal(pq_eval_range(e, &src, 0, 120000, 15000, &o, &r, &err), -ETIMEDOUT);
	pq_expr__free(e);
	e = pq_parse("avg_over_time(sum(g)[1m:1s])", &err);
	assert_non_null(e);
	assert_int_equal(pq_eval_instant(e, &src, 60000, &o, &r, &err), 0);
	assert_int_equal(r.type, PQ_VECTOR);
	assert_int_equal(r.vec.n, 1);
	assert_true(r.vec.s[0].v == 2);
	pq_result_release(&r);
	pq_expr__free(e);
	labels__unref(g);
	tsmem__free(ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),		cmocka_unit_test(test_matchers),
		cmocka_unit_test(test_parse),		cmocka_unit_test(test_eval_counters),
		cmocka_unit_test(test_bucket_quantile), cmocka_unit_test(test_binary_matching),
		cmocka_unit_test(test_text_forms),	cmocka_unit_test(test_expfmt),
		cmocka_unit_test(test_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
