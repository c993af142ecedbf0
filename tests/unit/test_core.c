// SPDX-License-Identifier: GPL-2.0
/* Unit tests: hash map, profile model, attach-type choice, CPU lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/attach.h"
#include "kernel/features.h"
#include "model/hashmap.h"
#include "model/profile.h"
#include "util/suggest.h"

static void test_hashmap_basic(void **state)
{
	struct hashmap *m = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	uintptr_t v;

	(void)state;
	assert_non_null(m);
	/* Enough entries to force several grows. */
	for (uintptr_t i = 1; i <= 10000; i++)
		assert_int_equal(hashmap__set(m, (const void *)i, i * 3), 0);
	assert_int_equal(hashmap__size(m), 10000);
	for (uintptr_t i = 1; i <= 10000; i++) {
		assert_true(hashmap__get(m, (const void *)i, &v));
		assert_int_equal(v, i * 3);
	}
	assert_false(hashmap__get(m, (const void *)20000, &v));
	assert_int_equal(hashmap__set(m, (const void *)5, 7), 0); /* replace */
	assert_true(hashmap__get(m, (const void *)5, &v));
	assert_int_equal(v, 7);
	assert_int_equal(hashmap__size(m), 10000);
	assert_true(hashmap__delete(m, (const void *)5));
	assert_false(hashmap__delete(m, (const void *)5));
	assert_false(hashmap__get(m, (const void *)5, NULL));
	assert_int_equal(hashmap__size(m), 9999);
	hashmap__free(m);
	hashmap__free(NULL);
}

static int sum_values(const void *key, uintptr_t value, void *arg)
{
	(void)key;
	*(uintptr_t *)arg += value;
	return 0;
}

static void test_hashmap_strings(void **state)
{
	struct hashmap *m = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	char a[] = "alpha", a2[] = "alpha";
	uintptr_t v, sum = 0;

	(void)state;
	assert_int_equal(hashmap__set(m, a, 1), 0);
	assert_int_equal(hashmap__set(m, "beta", 2), 0);
	/* Equal content, another pointer: the same key. */
	assert_true(hashmap__get(m, a2, &v));
	assert_int_equal(v, 1);
	assert_int_equal(hashmap__for_each(m, sum_values, &sum), 0);
	assert_int_equal(sum, 3);
	hashmap__free(m);
}

static struct profile *small_profile(void)
{
	struct profile_meta meta = { .value_type = "cpu",
				     .value_unit = "nanoseconds",
				     .period = 10,
				     .weight_unit = "samples" };

	return profile__new(&meta);
}

static void test_profile_dedup(void **state)
{
	struct profile *p = small_profile();
	struct profile_mapping m = {
		.start = 0x1000, .limit = 0x2000, .path = "/bin/x", .build_id = "ab"
	};
	struct profile_frame f = {
		.name = "main", .module = "x", .addr = 0x1100, .kind = FRAME_USER
	};
	__u32 m1, m2, f1, f2, f3;

	(void)state;
	assert_non_null(p);
	m1 = profile__add_mapping(p, &m);
	m2 = profile__add_mapping(p, &m);
	assert_int_equal(m1, 1);
	assert_int_equal(m1, m2);
	f.mapping = m1;
	f1 = profile__add_frame(p, &f);
	f2 = profile__add_frame(p, &f);
	assert_int_equal(f1, f2);
	f.addr = 0x1104; /* another address in the same function: another location */
	f3 = profile__add_frame(p, &f);
	assert_int_not_equal(f1, f3);
	assert_int_equal(profile__nr_frames(p), 2);
	assert_string_equal(profile__frame(p, f3)->name, "main");
	assert_ptr_equal(profile__frame(p, f1)->name, profile__frame(p, f3)->name); /* interned */
	assert_null(profile__frame(p, 0));
	assert_null(profile__frame(p, 3));
	assert_string_equal(profile__mapping(p, 1)->build_id, "ab");
	f.mapping = 7; /* no such mapping */
	assert_int_equal(profile__add_frame(p, &f), 0);
	assert_int_equal(errno, EINVAL);
	profile__free(p);
}

static void test_profile_stacks_and_weights(void **state)
{
	struct profile *p = small_profile();
	struct profile_frame f = { .name = "a", .module = "m", .kind = FRAME_USER };
	__u32 ids[2], bad[1] = { 99 };
	struct profile_stack s = { .comm = "proc", .pid = 1, .tid = 2, .count = 3, .value = 30 };

	(void)state;
	ids[0] = profile__add_frame(p, &f);
	f.name = "b";
	ids[1] = profile__add_frame(p, &f);
	s.frames = ids;
	s.nframes = 2;
	assert_int_equal(profile__add_stack(p, &s), 0);
	s.count = 5;
	s.value = 50;
	s.nframes = 0;
	assert_int_equal(profile__add_stack(p, &s), 0);
	s.frames = bad;
	s.nframes = 1;
	assert_int_equal(profile__add_stack(p, &s), -EINVAL);
	assert_int_equal(profile__nr_stacks(p), 2);
	ids[0] = 0; /* the model copied the frames */
	assert_int_not_equal(profile__stack(p, 0)->frames[0], 0);
	assert_int_equal(profile__total_weight(p), 8); /* weight = count without weight_div */
	profile__free(p);

	{
		struct profile_meta meta = { .weight_div = 1000, .weight_unit = "us" };
		struct profile_stack t = { .comm = "x", .count = 1, .value = 2500000 };

		p = profile__new(&meta);
		assert_int_equal(profile__add_stack(p, &t), 0);
		assert_int_equal(profile__weight(p, profile__stack(p, 0)), 2500);
		assert_string_equal(profile__meta(p)->weight_unit, "us");
		assert_string_equal(profile__meta(p)->value_type, "cpu"); /* defaults */
		profile__free(p);
	}
}

/* Every combination of the four features that decide a tracepoint hook's flavour. */
static void test_choose_tp_all_combinations(void **state)
{
	(void)state;
	for (int mask = 0; mask < 16; mask++) {
		bool has[FEAT_NR] = { false };
		enum tp_attach want;

		has[FEAT_BTF] = mask & 1;
		has[FEAT_TP_BTF] = mask & 2;
		has[FEAT_RAW_TP] = mask & 4;
		has[FEAT_TRACEPOINT] = mask & 8;
		if (!has[FEAT_BTF])
			want = TP_ATTACH_NONE; /* CO-RE needs BTF, whatever else works */
		else if (has[FEAT_TP_BTF])
			want = TP_ATTACH_TP_BTF;
		else if (has[FEAT_RAW_TP])
			want = TP_ATTACH_RAW_TP;
		else if (has[FEAT_TRACEPOINT])
			want = TP_ATTACH_TRACEPOINT;
		else
			want = TP_ATTACH_NONE;
		assert_int_equal(features_choose_tp(has), want);
	}
	assert_string_equal(tp_attach_name(TP_ATTACH_RAW_TP), "raw_tp");
	assert_string_equal(tp_attach_name(TP_ATTACH_NONE), "none");
}

static void test_features_metadata(void **state)
{
	(void)state;
	for (int f = 0; f < FEAT_NR; f++) {
		assert_non_null(features__name(f));
		assert_true(strlen(features__cost(f)) > 10);
	}
}

static void test_parse_cpu_list(void **state)
{
	int *cpus = NULL;

	(void)state;
	assert_int_equal(parse_cpu_list("0-3,8,10-11\n", &cpus), 7);
	assert_int_equal(cpus[0], 0);
	assert_int_equal(cpus[3], 3);
	assert_int_equal(cpus[4], 8);
	assert_int_equal(cpus[6], 11);
	free(cpus);
	assert_int_equal(parse_cpu_list("5", &cpus), 1);
	assert_int_equal(cpus[0], 5);
	free(cpus);
	assert_int_equal(parse_cpu_list("", &cpus), -EINVAL);
	assert_int_equal(parse_cpu_list("3-1", &cpus), -EINVAL);
	assert_int_equal(parse_cpu_list("a", &cpus), -EINVAL);
	assert_int_equal(parse_cpu_list("1,,", &cpus), -EINVAL);
	assert_int_equal(parse_cpu_list("0-99999999", &cpus), -EINVAL);
}

static void test_suggest(void **state)
{
	static const char *const names[] = { "malloc", "calloc",   "realloc",
					     "free",   "mallinfo", "posix_memalign" };
	struct suggest sg;
	char buf[128];

	(void)state;
	assert_int_equal(suggest_distance("kitten", "sitting"), 3);
	assert_int_equal(suggest_distance("", "abc"), 3);
	assert_int_equal(suggest_distance("same", "same"), 0);
	suggest__init(&sg, "mallok");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		suggest__add(&sg, names[i]);
	suggest__format(&sg, 3, buf, sizeof(buf));
	assert_string_equal(buf, "malloc, calloc, realloc");
	/* Containing the wanted name counts as close, whatever the length. */
	suggest__init(&sg, "memalign");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		suggest__add(&sg, names[i]);
	suggest__format(&sg, 1, buf, sizeof(buf));
	assert_string_equal(buf, "posix_memalign");
	suggest__init(&sg, "zzzzzzzz");
	suggest__add(&sg, "free");
	suggest__format(&sg, 3, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashmap_basic),
		cmocka_unit_test(test_hashmap_strings),
		cmocka_unit_test(test_profile_dedup),
		cmocka_unit_test(test_profile_stacks_and_weights),
		cmocka_unit_test(test_choose_tp_all_combinations),
		cmocka_unit_test(test_features_metadata),
		cmocka_unit_test(test_parse_cpu_list),
		cmocka_unit_test(test_suggest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
