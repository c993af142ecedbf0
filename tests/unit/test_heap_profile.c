// SPDX-License-Identifier: GPL-2.0
/*
 * Heap profiles (vigil mem) through the model and the exporters: the extra sample values a stack
 * carries, pprof's four heap sample types in Go's order with period type space/bytes, the default
 * sample type following the report, the top table's objects and average-size columns, speedscope's
 * byte unit; and the sampling weight the readout gives an allocation.
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
#include <zlib.h>
#include <cmocka.h>

#include "collect/mem.h"
#include "export/export.h"
#include "model/profile.h"
#include "profile.pb-c.h"

/*
 * Two allocating stacks of one process: keep (1000 objects, 4096000 B in use, the same allocated)
 * and churn (nothing in use, 5000 objects / 5120000 B allocated). report_alloc chooses the half
 * that count/value hold, as collect/mem.c does.
 */
static struct profile *heap(bool report_alloc)
{
	struct profile_meta m = {
		.count_type = report_alloc ? "alloc_objects" : "inuse_objects",
		.count_unit = "count",
		.value_type = report_alloc ? "alloc_space" : "inuse_space",
		.value_unit = "bytes",
		.weight_unit = "bytes",
		.weight_div = 1,
		.nr_extra = 2,
		.extra_first = !report_alloc,
		.extra_type = { report_alloc ? "inuse_objects" : "alloc_objects",
				report_alloc ? "inuse_space" : "alloc_space" },
		.extra_unit = { "count", "bytes" },
		.period_type = "space",
		.period_unit = "bytes",
		.period = 524288,
		.count_column = "objects",
		.title = "heap",
	};
	struct profile_frame main_f = { .name = "main", .module = "app", .addr = 0x1000 };
	struct profile_frame keep_f = { .name = "keep", .module = "app", .addr = 0x1100 };
	struct profile_frame churn_f = { .name = "churn", .module = "app", .addr = 0x1200 };
	struct profile *p = profile__new(&m);
	__u32 fk[2], fc[2];
	struct profile_stack s = { .comm = "app", .pid = 7, .nframes = 2 };

	assert_non_null(p);
	fk[0] = fc[0] = profile__add_frame(p, &main_f);
	fk[1] = profile__add_frame(p, &keep_f);
	fc[1] = profile__add_frame(p, &churn_f);
	s.frames = fk;
	s.count = 1000;
	s.value = 4096000;
	s.extra[0] = 1000;
	s.extra[1] = 4096000;
	assert_int_equal(profile__add_stack(p, &s), 0);
	s.frames = fc;
	s.count = report_alloc ? 5000 : 0;
	s.value = report_alloc ? 5120000 : 0;
	s.extra[0] = report_alloc ? 0 : 5000;
	s.extra[1] = report_alloc ? 0 : 5120000;
	assert_int_equal(profile__add_stack(p, &s), 0);
	return p;
}

static char *render(int (*fn)(const struct profile *, FILE *, const struct export_opts *),
		    const struct profile *p, size_t *len)
{
	struct export_opts o = { .annotate_kernel = true };
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(fn(p, f, &o), 0);
	fclose(f);
	return buf;
}

static Perftools__Profiles__Profile *unpack(const char *gz, size_t len)
{
	size_t cap = 1 << 20;
	unsigned char *raw = malloc(cap);
	Perftools__Profiles__Profile *pp;
	z_stream zs = { 0 };

	assert_non_null(raw);
	assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
	zs.next_in = (unsigned char *)gz;
	zs.avail_in = (uInt)len;
	zs.next_out = raw;
	zs.avail_out = (uInt)cap;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	pp = perftools__profiles__profile__unpack(NULL, zs.total_out, raw);
	inflateEnd(&zs);
	free(raw);
	assert_non_null(pp);
	return pp;
}

static const char *str(const Perftools__Profiles__Profile *pp, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < pp->n_string_table);
	return pp->string_table[i];
}

/* The sample whose leaf location names func. */
static const Perftools__Profiles__Sample *sample_of(const Perftools__Profiles__Profile *pp,
						    const char *func)
{
	for (size_t i = 0; i < pp->n_sample; i++) {
		const Perftools__Profiles__Sample *s = pp->sample[i];
		uint64_t leaf = s->location_id[0];

		for (size_t l = 0; l < pp->n_location; l++) {
			const Perftools__Profiles__Location *loc = pp->location[l];

			if (loc->id != leaf)
				continue;
			for (size_t f = 0; f < pp->n_function; f++)
				if (pp->function[f]->id == loc->line[0]->function_id &&
				    !strcmp(str(pp, pp->function[f]->name), func))
					return s;
		}
	}
	fail_msg("no sample with leaf %s", func);
	return NULL;
}

static void check_heap_pprof(bool report_alloc)
{
	static const char *const types[] = { "alloc_objects", "alloc_space", "inuse_objects",
					     "inuse_space" };
	static const char *const units[] = { "count", "bytes", "count", "bytes" };
	struct profile *p = heap(report_alloc);
	Perftools__Profiles__Profile *pp;
	const Perftools__Profiles__Sample *s;
	size_t len;
	char *out = render(export_pprof, p, &len);

	pp = unpack(out, len);
	/* Go's order whichever half the report is about. */
	assert_int_equal(pp->n_sample_type, 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(str(pp, pp->sample_type[i]->type), types[i]);
		assert_string_equal(str(pp, pp->sample_type[i]->unit), units[i]);
	}
	assert_string_equal(str(pp, pp->period_type->type), "space");
	assert_string_equal(str(pp, pp->period_type->unit), "bytes");
	assert_int_equal(pp->period, 524288);
	assert_string_equal(str(pp, pp->default_sample_type),
			    report_alloc ? "alloc_space" : "inuse_space");
	assert_int_equal(pp->n_sample, 2);
	s = sample_of(pp, "keep");
	assert_int_equal(s->n_value, 4);
	assert_int_equal(s->value[0], 1000);
	assert_int_equal(s->value[1], 4096000);
	assert_int_equal(s->value[2], 1000);
	assert_int_equal(s->value[3], 4096000);
	s = sample_of(pp, "churn");
	assert_int_equal(s->n_value, 4);
	assert_int_equal(s->value[0], 5000);
	assert_int_equal(s->value[1], 5120000);
	assert_int_equal(s->value[2], 0);
	assert_int_equal(s->value[3], 0);
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(out);
	profile__free(p);
}

static void test_pprof_inuse_report(void **state)
{
	(void)state;
	check_heap_pprof(false);
}

static void test_pprof_alloc_report(void **state)
{
	(void)state;
	check_heap_pprof(true);
}

/* A CPU profile is unchanged: two sample types, the period type is the value type. */
static void test_pprof_without_extras(void **state)
{
	struct profile_meta m = { .count_type = "samples", .value_type = "cpu", .period = 10 };
	struct profile *p = profile__new(&m);
	Perftools__Profiles__Profile *pp;
	size_t len;
	char *out;

	(void)state;
	assert_non_null(p);
	out = render(export_pprof, p, &len);
	pp = unpack(out, len);
	assert_int_equal(pp->n_sample_type, 2);
	assert_string_equal(str(pp, pp->period_type->type), "cpu");
	assert_string_equal(str(pp, pp->period_type->unit), "nanoseconds");
	assert_string_equal(str(pp, pp->default_sample_type), "cpu");
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(out);
	profile__free(p);
}

static void test_model_extras(void **state)
{
	struct profile_meta m = { .nr_extra = PROFILE_MAX_EXTRA + 1 };
	struct profile_stack s = { .comm = "x", .count = 1, .value = 2, .extra = { 3, 4 } };
	struct profile *p;

	(void)state;
	errno = 0;
	assert_null(profile__new(&m));
	assert_int_equal(errno, EINVAL);
	/* Extras the meta does not declare are not kept. */
	m.nr_extra = 1;
	p = profile__new(&m);
	assert_non_null(p);
	assert_string_equal(profile__meta(p)->extra_type[0], "extra");
	assert_null(profile__meta(p)->extra_type[1]);
	assert_int_equal(profile__add_stack(p, &s), 0);
	assert_int_equal(profile__stack(p, 0)->extra[0], 3);
	assert_int_equal(profile__stack(p, 0)->extra[1], 0);
	profile__free(p);
}

static void test_top_objects_and_average(void **state)
{
	struct profile *p = heap(true);
	char *buf = NULL, *row;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(export_top(p, f, 10), 0);
	fclose(f);
	assert_non_null(
		strstr(buf, "  SELF%  TOTAL%   bytes  objects        avg  FUNCTION MODULE\n"));
	row = strstr(buf, " churn ");
	assert_non_null(row);
	while (row > buf && row[-1] != '\n')
		row--;
	assert_int_equal(
		strncmp(row, " 55.56%  55.56% 5120000     5000     1024.0  churn    app\n", 58), 0);
	free(buf);
	profile__free(p);
}

static void test_speedscope_bytes(void **state)
{
	struct profile *p = heap(false);
	size_t len;
	char *out = render(export_speedscope, p, &len);

	(void)state;
	assert_non_null(strstr(out, "\"unit\":\"bytes\""));
	/* Only the stack with bytes in use is drawn. */
	assert_non_null(strstr(out, "\"endValue\":4096000"));
	free(out);
	profile__free(p);
}

static void test_sample_weight(void **state)
{
	(void)state;
	assert_true(mem_sample_weight(100, 0) == 1.0);
	assert_true(mem_sample_weight(0, 524288) == 1.0);
	/* 1 / (1 - e^-1) at size = N */
	assert_true(fabs(mem_sample_weight(524288, 524288) - 1.5819767068693265) < 1e-12);
	/* small sizes: about N / size + 1/2 */
	assert_true(fabs(mem_sample_weight(1, 524288) - 524288.5) < 1e-3);
	/* far above N: every allocation sampled */
	assert_true(mem_sample_weight(16ull * 524288, 524288) == 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pprof_inuse_report),
		cmocka_unit_test(test_pprof_alloc_report),
		cmocka_unit_test(test_pprof_without_extras),
		cmocka_unit_test(test_model_extras),
		cmocka_unit_test(test_top_objects_and_average),
		cmocka_unit_test(test_speedscope_bytes),
		cmocka_unit_test(test_sample_weight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
