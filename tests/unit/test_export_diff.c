// SPDX-License-Identifier: GPL-2.0
/*
 * export_diff_top and export_svg_diff on two small profiles whose every share is known:
 *
 *   base (100 samples): main;a 60   main;b 30   main;gone 10
 *   new  (200 samples): main;a 40   main;b 100  main;rec;rec 40  main;rec 20
 *
 * a: 60% -> 20% (-40 points), b: 30% -> 50% (+20), rec: 0 -> 30% self, 30% total (its recursion
 * counts once), gone: 10% -> 0 (only in base), main 0 self, 100% total in both.
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
#include <cmocka.h>

#include "export/export.h"
#include "model/profile.h"

struct spec {
	__u32 n;
	const char *f[3];
	__u64 count;
};

static struct profile *build(const struct spec *st, size_t n)
{
	struct profile_meta meta = { .count_type = "samples",
				     .count_unit = "count",
				     .value_type = "cpu",
				     .value_unit = "nanoseconds",
				     .weight_unit = "samples",
				     .period = 1000000,
				     .duration_ns = 1000000000ull };
	struct profile *p = profile__new(&meta);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		__u32 ids[3];
		struct profile_stack s = {
			"app", 10, 0, st[i].n, ids, st[i].count, st[i].count * 1000000
		};

		for (__u32 k = 0; k < st[i].n; k++) {
			/* one address per name, so equal names are one frame */
			struct profile_frame f = { st[i].f[k], "app",
						   0x1000 + 16 * (__u64)st[i].f[k][0], 0,
						   FRAME_USER };

			ids[k] = profile__add_frame(p, &f);
			assert_true(ids[k] > 0);
		}
		assert_int_equal(profile__add_stack(p, &s), 0);
	}
	return p;
}

static const struct spec base_spec[] = {
	{ 2, { "main", "a" }, 60 },
	{ 2, { "main", "b" }, 30 },
	{ 2, { "main", "gone" }, 10 },
};
static const struct spec new_spec[] = {
	{ 2, { "main", "a" }, 40 },
	{ 2, { "main", "b" }, 100 },
	{ 3, { "main", "rec", "rec" }, 40 },
	{ 2, { "main", "rec" }, 20 },
};

static char *render(const struct profile *b, const struct profile *n, bool svg, bool json)
{
	struct top_opts to = { .rows = 10, .json = json };
	struct export_opts eo = { .annotate_kernel = true };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(svg ? export_svg_diff(b, n, f, &eo) : export_diff_top(b, n, f, &to), 0);
	fclose(f);
	return buf;
}

static void test_top(void **state)
{
	struct profile *b = build(base_spec, 3), *n = build(new_spec, 4);
	char *text = render(b, n, false, false), *grew, *shrank;

	(void)state;
	grew = strstr(text, "grew:\n");
	shrank = strstr(text, "shrank:\n");
	assert_non_null(grew);
	assert_non_null(shrank);
	/* grew, by self change: rec +30, b +20; shrank: a -40, then gone -10; main did not move */
	assert_non_null(strstr(grew, "  +30.00%    0.00%   30.00%    +30.00%  rec  [app]\n"
				     "  +20.00%   30.00%   50.00%    +20.00%  b  [app]\nshrank:"));
	assert_non_null(strstr(shrank, "  -40.00%   60.00%   20.00%    -40.00%  a  [app]\n"
				       "  -10.00%   10.00%    0.00%    -10.00%  gone  [app]\n"));
	assert_null(strstr(text, "main"));
	assert_non_null(strstr(text, "base: 100 samples in 1.00 s, new: 200 samples in 1.00 s"));
	free(text);
	text = render(b, n, false, true);
	assert_non_null(strstr(text, "\"function\": \"rec\""));
	assert_non_null(strstr(text, "\"new_total_pct\": 30"));
	assert_non_null(strstr(text, "\"self_change_pct\": -40"));
	free(text);
	/* a profile against itself: nothing grew or shrank */
	text = render(b, b, false, false);
	assert_non_null(strstr(text, "grew:\n  (nothing)\nshrank:\n  (nothing)\n"));
	free(text);
	profile__free(b);
	profile__free(n);
}

/* The <g> of the frame named name at depth d: its data-f and data-c. */
static void frame_attrs(const char *svg, const char *name, int d, char *fill, double *change)
{
	char want[128];
	const char *g = svg;

	snprintf(want, sizeof(want), "<title>%s (", name);
	for (;;) {
		const char *t = strstr(g, want), *start;
		int depth;

		assert_non_null(t);
		start = t;
		while (start > svg && strncmp(start, "<g ", 3))
			start--;
		assert_int_equal(sscanf(strstr(start, "data-d=\""), "data-d=\"%d\"", &depth), 1);
		if (depth == d) {
			assert_int_equal(
				sscanf(strstr(start, "data-f=\""), "data-f=\"%31[^\"]\"", fill), 1);
			assert_int_equal(
				sscanf(strstr(start, "data-c=\""), "data-c=\"%lf\"", change), 1);
			return;
		}
		g = t + 1;
	}
}

static void test_svg(void **state)
{
	struct profile *b = build(base_spec, 3), *n = build(new_spec, 4);
	char *svg = render(b, n, true, false), fill[32];
	double c;

	(void)state;
	/* depth 1 is the process, 2 main, 3 its callees; the deepest change (a, -40) sets the scale */
	frame_attrs(svg, "a", 3, fill, &c);
	assert_true(fabs(c + 40) < 1e-3);
	assert_string_equal(fill, "rgb(60,60,255)");
	frame_attrs(svg, "b", 3, fill, &c);
	assert_true(fabs(c - 20) < 1e-3);
	assert_string_equal(fill, "rgb(255,140,140)");
	/* rec's first frame: 30% of new inclusive, none in base */
	frame_attrs(svg, "rec", 3, fill, &c);
	assert_true(fabs(c - 30) < 1e-3);
	frame_attrs(svg, "rec", 4, fill, &c);
	assert_true(fabs(c - 20) < 1e-3);
	frame_attrs(svg, "main", 2, fill, &c);
	assert_true(fabs(c) < 1e-3);
	assert_string_equal(fill, "rgb(235,235,235)");
	assert_non_null(
		strstr(svg, "<title>b (100 samples, 50.00%; base 30, 30.00%; +20.00 points)"));
	assert_null(strstr(svg, "gone"));
	assert_non_null(strstr(svg, "new 200 samples in 1.00 s vs base 100 samples in 1.00 s"));
	free(svg);
	profile__free(b);
	profile__free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_svg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
