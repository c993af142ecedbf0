// SPDX-License-Identifier: GPL-2.0
/* Unit tests: latency histogram buckets, percentiles, renderings, syscall names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "export/histogram.h"
#include "kernel/syscalls.h"
#include "model/hist.h"

static void test_buckets_cover_and_order(void **state)
{
	(void)state;
	/* Every value falls in [low, high) of its bucket; buckets are contiguous and increasing. */
	for (__u32 i = 0; i + 1 < VG_HIST_BUCKETS; i++) {
		assert_true(vg_hist_low(i) < vg_hist_high(i));
		assert_int_equal(vg_hist_high(i), vg_hist_low(i + 1));
	}
	for (__u64 v = 0; v < 100000; v += (v < 1000 ? 1 : 97)) {
		__u32 b = vg_hist_bucket(v);

		assert_true(v >= vg_hist_low(b));
		assert_true(v < vg_hist_high(b));
	}
	for (int p = 3; p < VG_HIST_MAX_POW; p++) {
		__u64 v = (1ULL << p) + 12345;
		__u32 b = vg_hist_bucket(v);

		assert_true(v >= vg_hist_low(b) && v < vg_hist_high(b));
		/* A bucket is at most 1/8 of its lower bound wide: percentiles within 12.5%. */
		assert_true((vg_hist_high(b) - vg_hist_low(b)) * 8 <= vg_hist_low(b));
	}
	assert_int_equal(vg_hist_bucket(~0ULL), VG_HIST_BUCKETS - 1);
	assert_int_equal(vg_log2_u64(1), 0);
	assert_int_equal(vg_log2_u64(1ULL << 40), 40);
	assert_int_equal(vg_log2_u64((1ULL << 40) + 1), 40);
	assert_int_equal(vg_log2_u64(~0ULL), 63);
}

static void add(struct vg_hist *h, __u64 v)
{
	h->buckets[vg_hist_bucket(v)]++;
	h->le[vg_le_bucket(v)]++;
	h->count++;
	h->sum_ns += v;
	if (v > h->max_ns)
		h->max_ns = v;
}

static void test_quantiles_within_bucket_error(void **state)
{
	struct vg_hist *h = calloc(1, sizeof(*h));

	(void)state;
	assert_int_equal(hist_quantile(h, 0.5), 0);
	/* 1..100000 ns uniformly: the true p-th percentile is p * 100000. */
	for (__u64 v = 1; v <= 100000; v++)
		add(h, v);
	for (double q = 0.1; q < 1.0; q += 0.1) {
		double got = (double)hist_quantile(h, q), want = q * 100000;

		assert_true(got >= want * 0.875 && got <= want * 1.125);
	}
	assert_int_equal(hist_quantile(h, 1.0), 100000);
	assert_true(hist_mean_ns(h) > 50000 && hist_mean_ns(h) < 50001);
	free(h);

	/* All values equal: every quantile within 12.5% of it, never above the max. */
	h = calloc(1, sizeof(*h));
	for (int i = 0; i < 50; i++)
		add(h, 20100000);
	assert_true(hist_quantile(h, 0.5) >= 20100000 * 0.875);
	assert_true(hist_quantile(h, 0.99) <= 20100000);
	free(h);
}

static void test_merge(void **state)
{
	struct vg_hist *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	(void)state;
	add(a, 100);
	add(b, 100);
	add(b, 5000);
	b->errors = 2;
	hist_merge(a, b);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->errors, 2);
	assert_int_equal(a->sum_ns, 5200);
	assert_int_equal(a->max_ns, 5000);
	assert_int_equal(a->buckets[vg_hist_bucket(100)], 2);
	free(a);
	free(b);
}

static char *render(void (*fn)(FILE *, const struct vg_hist *, const struct hist_unit *),
		    const struct vg_hist *h, const char *unit)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, h, hist_unit_by_name(unit));
	fclose(f);
	return buf;
}

static void test_log2_text_matches_bcc_layout(void **state)
{
	struct vg_hist *h = calloc(1, sizeof(*h));
	char *out;

	(void)state;
	for (int i = 0; i < 10; i++)
		add(h, 3000); /* 3 us: bcc row "2 -> 3" */
	for (int i = 0; i < 5; i++)
		add(h, 20000000); /* 20 ms: row 16384 -> 32767 */
	out = render(hist_print_log2, h, "us");
	assert_non_null(strstr(out, "     usecs               : count    distribution\n"));
	assert_non_null(strstr(out, "         0 -> 1          : 0        |"));
	assert_non_null(strstr(
		out,
		"         2 -> 3          : 10       |****************************************|"));
	assert_non_null(strstr(
		out,
		"     16384 -> 32767      : 5        |********************                    |"));
	free(out);
	free(h);
}

static void test_prom_text(void **state)
{
	struct hist_entry e[2];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	memset(e, 0, sizeof(e));
	hist_entry_label(&e[0], "syscall", "read");
	hist_entry_label(&e[1], "syscall", "we\"ird\\");
	add(&e[0].h, 1500);
	add(&e[0].h, 3000);
	add(&e[1].h, 100);
	e[1].h.errors = 1;
	assert_int_equal(
		hist_write_prom(f, "vigil_test_seconds", "Test.", "vigil_test_errors_total", e, 2),
		0);
	fclose(f);
	assert_non_null(strstr(buf, "# TYPE vigil_test_seconds histogram\n"));
	/* Cumulative buckets on the exact ladder, in seconds: 1500 ns <= 2.5 us, 3000 ns <= 5 us. */
	assert_non_null(
		strstr(buf, "vigil_test_seconds_bucket{syscall=\"read\",le=\"1e-06\"} 0\n"));
	assert_non_null(
		strstr(buf, "vigil_test_seconds_bucket{syscall=\"read\",le=\"2.5e-06\"} 1\n"));
	assert_non_null(
		strstr(buf, "vigil_test_seconds_bucket{syscall=\"read\",le=\"5e-06\"} 2\n"));
	assert_non_null(strstr(buf, "vigil_test_seconds_bucket{syscall=\"read\",le=\"10\"} 2\n"));
	assert_non_null(strstr(buf, "vigil_test_seconds_bucket{syscall=\"read\",le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(buf, "vigil_test_seconds_sum{syscall=\"read\"} 0.000004500\n"));
	assert_non_null(strstr(buf, "vigil_test_seconds_count{syscall=\"read\"} 2\n"));
	assert_non_null(strstr(buf, "syscall=\"we\\\"ird\\\\\""));
	assert_non_null(strstr(buf, "# TYPE vigil_test_errors_total counter\n"));
	free(buf);
}

/* The ladder is exact at its edges: a value equal to a boundary is inside it (le means <=). */
static void test_le_ladder(void **state)
{
	static const __u64 want[VG_LE_BOUNDS] = {
		1000,	    2500,	5000,	    10000,	 25000,	    50000,
		100000,	    250000,	500000,	    1000000,	 2500000,   5000000,
		10000000,   25000000,	50000000,   100000000,	 250000000, 500000000,
		1000000000, 2500000000, 5000000000, 10000000000,
	};
	char b[32];

	(void)state;
	for (__u32 i = 0; i < VG_LE_BOUNDS; i++) {
		assert_int_equal(vg_le_bound(i), want[i]);
		assert_int_equal(vg_le_bucket(want[i]), i);
		assert_int_equal(vg_le_bucket(want[i] + 1), i + 1);
	}
	assert_int_equal(vg_le_bucket(0), 0);
	assert_int_equal(vg_le_bucket(~0ULL), VG_LE_BOUNDS);
	assert_string_equal(hist_le_label(0, b, sizeof(b)), "1e-06");
	assert_string_equal(hist_le_label(10, b, sizeof(b)), "0.0025");
	assert_string_equal(hist_le_label(21, b, sizeof(b)), "10");
}

static void test_syscall_names(void **state)
{
	char buf[32], hint[128];

	(void)state;
	assert_string_equal(syscall_name(0, buf, sizeof(buf)), "read");
	assert_string_equal(syscall_name(60, buf, sizeof(buf)), "exit");
	assert_string_equal(syscall_name(1000, buf, sizeof(buf)), "syscall_1000");
	assert_int_equal(syscall_number("read"), 0);
	assert_int_equal(syscall_number("sys_write"), 1);
	assert_int_equal(syscall_number("clock_nanosleep"), 230);
	assert_int_equal(syscall_number("syscall_5"), 5);
	assert_int_equal(syscall_number("notasyscall"), -1);
	syscall_suggest("opn", hint, sizeof(hint));
	assert_non_null(strstr(hint, "open"));
	syscall_suggest("zzzzzzzzzzzzzzzz", hint, sizeof(hint));
	assert_string_equal(hint, "");
}

static void test_fmt(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(hist_fmt_ns(20100000, b, sizeof(b)), "20.1 ms");
	assert_string_equal(hist_fmt_ns(999, b, sizeof(b)), "999 ns");
	assert_string_equal(hist_fmt_ns(1.5e9, b, sizeof(b)), "1.50 s");
	assert_null(hist_unit_by_name("parsecs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_cover_and_order),
		cmocka_unit_test(test_quantiles_within_bucket_error),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_log2_text_matches_bcc_layout),
		cmocka_unit_test(test_prom_text),
		cmocka_unit_test(test_le_ladder),
		cmocka_unit_test(test_syscall_names),
		cmocka_unit_test(test_fmt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
