// SPDX-License-Identifier: GPL-2.0
/*
 * Stored profiles come back: export_pprof → export_pprof_read gives the same folded stacks, labels
 * (pid, tid, comm, cgroup) and meta; profile__merge sums identical stacks across profiles; broken or
 * oversized input is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "export/export.h"
#include "model/profile.h"

#define PERIOD 10000000ull

static const struct profile_meta cpu_meta = { .count_type = "samples",
					      .count_unit = "count",
					      .value_type = "cpu",
					      .value_unit = "nanoseconds",
					      .weight_unit = "samples",
					      .period = PERIOD,
					      .start_ns = 1700000000000000000ull,
					      .duration_ns = 10000000000ull };

static struct profile *small(void)
{
	struct profile *p = profile__new(&cpu_meta);
	struct profile_mapping app = { 0x555500001000, 0x555500005000, 0x1000, "/usr/bin/app",
				       "0123" };
	__u32 ma, mainf, work, sys, off;

	assert_non_null(p);
	ma = profile__add_mapping(p, &app);
	mainf = profile__add_frame(
		p, &(struct profile_frame){ "main", "app", 0x555500001100, ma, FRAME_USER });
	work = profile__add_frame(
		p, &(struct profile_frame){ "work", "app", 0x555500001200, ma, FRAME_USER });
	sys = profile__add_frame(p,
				 &(struct profile_frame){ "entry_SYSCALL_64", "[kernel.kallsyms]",
							  0xffffffff81000100, 0, FRAME_KERNEL });
	off = profile__add_frame(p,
				 &(struct profile_frame){ "[off-cpu]", "", 0, 0, FRAME_SPECIAL });
	{
		__u32 a[] = { mainf, work }, b[] = { mainf, sys }, c[] = { mainf, off };
		struct profile_stack s[] = {
			{ "app", 10, 0, 2, a, 7, 7 * PERIOD, "/system.slice/app.service" },
			{ "app", 10, 0, 2, b, 3, 3 * PERIOD, "/system.slice/app.service" },
			{ "db", 20, 21, 2, a, 5, 5 * PERIOD, NULL },
			{ "db", 20, 21, 2, c, 1, 1 * PERIOD, NULL },
		};

		for (size_t i = 0; i < 4; i++)
			assert_int_equal(profile__add_stack(p, &s[i]), 0);
	}
	return p;
}

static char *to_mem(const struct profile *p, enum export_format f, size_t *len)
{
	struct export_opts o = { .annotate_kernel = true };
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);

	assert_non_null(m);
	assert_int_equal(export_profile(p, f, m, &o), 0);
	fclose(m);
	return buf;
}

static void test_round_trip(void **state)
{
	struct profile *p = small(), *q;
	size_t len, flen, qlen;
	char *pb = to_mem(p, EXPORT_PPROF, &len), *f1 = to_mem(p, EXPORT_FOLDED, &flen), *f2;
	bool saw_cgroup = false;

	(void)state;
	q = export_pprof_read(pb, len, 1 << 20, &cpu_meta);
	assert_non_null(q);
	f2 = to_mem(q, EXPORT_FOLDED, &qlen);
	assert_string_equal(f1, f2);
	assert_int_equal(profile__meta(q)->period, PERIOD);
	assert_int_equal(profile__meta(q)->start_ns, cpu_meta.start_ns);
	assert_int_equal(profile__meta(q)->duration_ns, cpu_meta.duration_ns);
	assert_string_equal(profile__meta(q)->value_type, "cpu");
	assert_int_equal(profile__nr_stacks(q), 4);
	for (size_t i = 0; i < profile__nr_stacks(q); i++) {
		const struct profile_stack *s = profile__stack(q, i);

		if (s->pid == 10) {
			assert_string_equal(s->cgroup, "/system.slice/app.service");
			saw_cgroup = true;
		} else {
			assert_int_equal(s->pid, 20);
			assert_int_equal(s->tid, 21);
			assert_string_equal(s->comm, "db");
		}
	}
	assert_true(saw_cgroup);
	/* Kernel and special frames keep their kind: folded marks kernel frames _[k]. */
	assert_non_null(strstr(f2, "app;main;entry_SYSCALL_64_[k] 3\n"));
	assert_non_null(strstr(f2, "db;main;[off-cpu] 1\n"));
	free(pb);
	free(f1);
	free(f2);
	profile__free(p);
	profile__free(q);
}

static bool only_db(const struct profile_stack *s, void *arg)
{
	return !strcmp(s->comm, (const char *)arg);
}

static void test_merge_sums_identical_stacks(void **state)
{
	struct profile *p = small(), *m = profile__new(&cpu_meta);
	size_t len;
	char *f;

	(void)state;
	assert_non_null(m);
	assert_int_equal(profile__merge(m, p, NULL, NULL,
					PROFILE_MERGE_DROP_TID | PROFILE_MERGE_BY_FUNCTION),
			 0);
	assert_int_equal(profile__merge(m, p, NULL, NULL,
					PROFILE_MERGE_DROP_TID | PROFILE_MERGE_BY_FUNCTION),
			 0);
	assert_int_equal(profile__nr_stacks(m), 4);
	assert_int_equal(profile__total_weight(m), 2 * profile__total_weight(p));
	/* by function: addresses of named frames are 0 now */
	for (size_t i = 1; i <= profile__nr_frames(m); i++)
		if (profile__frame(m, (__u32)i)->kind != FRAME_SPECIAL)
			assert_int_equal(profile__frame(m, (__u32)i)->addr, 0);
	f = to_mem(m, EXPORT_FOLDED, &len);
	assert_non_null(strstr(f, "app;main;work 14\n"));
	assert_non_null(strstr(f, "db;main;work 10\n"));
	free(f);
	for (size_t i = 0; i < profile__nr_stacks(m); i++)
		assert_int_equal(profile__stack(m, i)->tid, 0);
	profile__free(m);

	/* A filter keeps only the chosen stacks. */
	m = profile__new(&cpu_meta);
	assert_int_equal(profile__merge(m, p, only_db, "db", 0), 0);
	assert_int_equal(profile__nr_stacks(m), 2);
	assert_int_equal(profile__total_weight(m), 6);
	assert_int_equal(profile__stack(m, 0)->tid, 21);
	profile__free(m);
	profile__free(p);
}

static void test_merge_by_function_drops_the_addresss_lines(void **state)
{
	struct profile *p = profile__new(&cpu_meta), *m = profile__new(&cpu_meta), *k;
	const struct profile_line l[] = { { "inl", "/src/a.h", 7 }, { NULL, "/src/a.c", 42 } };
	struct profile_frame fr = { "outer", "app", 0x401000, 0, FRAME_USER };
	const struct profile_frame *got;
	__u32 id;

	(void)state;
	assert_non_null(p);
	assert_non_null(m);
	fr.lines = l;
	fr.nlines = 2;
	id = profile__add_frame(p, &fr);
	assert_int_equal(
		profile__add_stack(p, &(struct profile_stack){ "app", 1, 1, 1, &id, 1, 1 }), 0);
	/* Kept with the address... */
	k = profile__new(&cpu_meta);
	assert_int_equal(profile__merge(k, p, NULL, NULL, 0), 0);
	got = profile__frame(k, 1);
	assert_int_equal(got->nlines, 2);
	assert_string_equal(got->lines[0].function, "inl");
	assert_string_equal(got->lines[1].function, "outer");
	assert_int_equal(got->lines[1].line, 42);
	profile__free(k);
	/* ...by function only the function's own file, no line (nor what was inlined there). */
	assert_int_equal(profile__merge(m, p, NULL, NULL, PROFILE_MERGE_BY_FUNCTION), 0);
	got = profile__frame(m, 1);
	assert_int_equal(got->addr, 0);
	assert_int_equal(got->nlines, 1);
	assert_string_equal(got->lines[0].function, "outer");
	assert_string_equal(got->lines[0].file, "/src/a.c");
	assert_int_equal(got->lines[0].line, 0);
	profile__free(m);
	profile__free(p);
}

static void test_bad_input_refused(void **state)
{
	static const char junk[] = "\x1f\x8b not really gzip";
	struct profile *p = small(), *q;
	size_t len;
	char *pb = to_mem(p, EXPORT_PPROF, &len);

	(void)state;
	errno = 0;
	assert_null(export_pprof_read(junk, sizeof(junk), 1 << 20, &cpu_meta));
	assert_int_equal(errno, EINVAL);
	assert_null(export_pprof_read("\x0a\x05", 2, 1 << 20, &cpu_meta));
	/* Inflating past the cap: EFBIG, not an unbounded allocation. */
	errno = 0;
	assert_null(export_pprof_read(pb, len, 64, &cpu_meta));
	assert_int_equal(errno, EFBIG);
	/* Truncated: refused. */
	q = export_pprof_read(pb, len / 2, 1 << 20, &cpu_meta);
	assert_null(q);
	free(pb);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_merge_sums_identical_stacks),
		cmocka_unit_test(test_merge_by_function_drops_the_addresss_lines),
		cmocka_unit_test(test_bad_input_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
