// SPDX-License-Identifier: GPL-2.0
/*
 * The text tables of export/: the top table under --sort keys (per process, per module, both, as
 * perf report --sort) and the off-CPU table that names each wait ("my_nap <- nanosleep  (hrtimer)"),
 * as text and as JSON (parsed back with jansson).
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
#include <jansson.h>

#include "export/export.h"
#include "model/profile.h"

#define assert_contains(hay, needle)                                         \
	do {                                                                 \
		if (!strstr((hay), (needle)))                                \
			fail_msg("missing \"%s\" in:\n%s", (needle), (hay)); \
	} while (0)

static struct profile *new_profile(bool offcpu)
{
	struct profile_meta cpu = { .count_type = "samples",
				    .count_unit = "count",
				    .value_type = "cpu",
				    .value_unit = "nanoseconds",
				    .weight_unit = "samples",
				    .period = 1000 },
			    off = { .count_type = "events",
				    .count_unit = "count",
				    .value_type = "off-cpu",
				    .value_unit = "nanoseconds",
				    .weight_unit = "us",
				    .weight_div = 1000 };
	struct profile *p = profile__new(offcpu ? &off : &cpu);

	assert_non_null(p);
	return p;
}

static char *render(int (*fn)(const struct profile *, FILE *, const struct top_opts *),
		    const struct profile *p, const struct top_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(p, f, o), 0);
	fclose(f);
	return buf;
}

/* Two processes: app (60 samples: 40 in its own code, 20 in libc), db (40 in the kernel). */
static struct profile *cpu_profile(void)
{
	struct profile *p = new_profile(false);
	struct profile_mapping app = { 0x1000, 0x5000, 0, "/usr/bin/app", "" };
	struct profile_mapping libc = { 0x7f0000000000, 0x7f0000100000, 0,
					"/lib/x86_64-linux-gnu/libc.so.6", "" };
	__u32 ma = profile__add_mapping(p, &app), ml = profile__add_mapping(p, &libc);
	__u32 main_ = profile__add_frame(
		p, &(struct profile_frame){ "main", "app", 0x1100, ma, FRAME_USER });
	__u32 hot = profile__add_frame(
		p, &(struct profile_frame){ "hot", "app", 0x1200, ma, FRAME_USER });
	__u32 memcpy_ =
		profile__add_frame(p, &(struct profile_frame){ "memcpy", "libc.so.6",
							       0x7f0000000100, ml, FRAME_USER });
	__u32 kfn = profile__add_frame(p, &(struct profile_frame){ "copy_page", "[kernel.kallsyms]",
								   0xffffffff81000000, 0,
								   FRAME_KERNEL });
	__u32 s1[] = { main_, hot }, s2[] = { main_, hot, memcpy_ }, s3[] = { kfn };
	struct profile_stack st[] = {
		{ "app", 10, 10, 2, s1, 40, 40000 },
		{ "app", 10, 11, 3, s2, 20, 20000 },
		{ "db", 20, 20, 1, s3, 40, 40000 },
	};

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		assert_int_equal(profile__add_stack(p, &st[i]), 0);
	return p;
}

static void test_sort_parse(void **state)
{
	struct top_opts o = { 0 };

	(void)state;
	assert_int_equal(top_parse_sort("comm,dso", &o), 0);
	assert_int_equal(o.nkeys, 2);
	assert_int_equal(o.keys[0], TOP_KEY_COMM);
	assert_int_equal(o.keys[1], TOP_KEY_DSO);
	assert_int_equal(top_parse_sort("sym", &o), 0);
	assert_int_equal(o.nkeys, 1);
	assert_int_equal(top_parse_sort("pid,comm,dso,sym", &o), 0);
	assert_int_equal(o.nkeys, 4);
	assert_int_equal(top_parse_sort("bogus", &o), -EINVAL);
	assert_int_equal(top_parse_sort("comm,comm", &o), -EINVAL);
	assert_int_equal(top_parse_sort("comm,", &o), -EINVAL);
	assert_int_equal(top_parse_sort("", &o), -EINVAL);
	assert_int_equal(top_parse_sort("com", &o), -EINVAL);
}

static void test_sort_by_comm_and_dso(void **state)
{
	struct profile *p = cpu_profile();
	struct top_opts o = { 0 };
	char *t;

	(void)state;
	/* Per process: self = total = the process's share. */
	assert_int_equal(top_parse_sort("comm", &o), 0);
	t = render(export_top_by, p, &o);
	assert_true(strncmp(t, "  SELF%  TOTAL% samples  COMM\n", 30) == 0);
	assert_contains(t, " 60.00%  60.00%      60  app\n");
	assert_contains(t, " 40.00%  40.00%      40  db\n");
	free(t);
	/* Per module: libc's self is its leaf samples; app's total counts each stack once. */
	assert_int_equal(top_parse_sort("dso", &o), 0);
	t = render(export_top_by, p, &o);
	assert_contains(t, " 40.00%  60.00%      40  app\n");
	assert_contains(t, " 40.00%  40.00%      40  [kernel.kallsyms]\n");
	assert_contains(t, " 20.00%  20.00%      20  libc.so.6\n");
	free(t);
	/* Both, in the order given; a process with two modules has two rows. */
	assert_int_equal(top_parse_sort("comm,dso", &o), 0);
	t = render(export_top_by, p, &o);
	assert_contains(t, "COMM MODULE\n");
	assert_contains(t, " 40.00%  60.00%      40  app  app\n");
	assert_contains(t, " 20.00%  20.00%      20  app  libc.so.6\n");
	assert_contains(t, " 40.00%  40.00%      40  db   [kernel.kallsyms]\n");
	free(t);
	assert_int_equal(top_parse_sort("pid", &o), 0);
	t = render(export_top_by, p, &o);
	assert_contains(t, " 60.00%  60.00%      60  10:app\n");
	free(t);
	profile__free(p);
}

static void test_top_json(void **state)
{
	struct profile *p = cpu_profile();
	struct top_opts o = { .json = true, .rows = 2 };
	json_error_t jerr;
	json_t *doc, *rows;
	char *t;

	(void)state;
	assert_int_equal(top_parse_sort("comm,dso", &o), 0);
	t = render(export_top_by, p, &o);
	doc = json_loads(t, 0, &jerr);
	if (!doc)
		fail_msg("not JSON (%s): %s", jerr.text, t);
	assert_string_equal(json_string_value(json_object_get(doc, "unit")), "samples");
	assert_int_equal(json_integer_value(json_object_get(doc, "total")), 100);
	rows = json_object_get(doc, "rows");
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "comm")),
			    "app");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "module")),
			    "app");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "self")), 40);
	assert_null(json_object_get(json_array_get(rows, 0), "function"));
	json_decref(doc);
	free(t);
	profile__free(p);
}

/* Frames of the off-CPU profile, by name. */
struct off {
	struct profile *p;
	__u32 ma, ml;
};

static __u32 uf(struct off *o, const char *name, bool libc)
{
	static __u64 addr = 0x1000;

	return profile__add_frame(o->p, &(struct profile_frame){ name, libc ? "libc.so.6" : "app",
								 addr += 16, libc ? o->ml : o->ma,
								 FRAME_USER });
}

static __u32 kf(struct off *o, const char *name)
{
	static __u64 addr = 0xffffffff81000000;

	return profile__add_frame(o->p, &(struct profile_frame){ name, "[kernel.kallsyms]",
								 addr += 16, 0, FRAME_KERNEL });
}

static void test_waits(void **state)
{
	struct off o = { .p = new_profile(true) };
	struct profile_mapping app = { 0x1000, 0x5000, 0, "/usr/bin/app", "" };
	struct profile_mapping libc = { 0x7f0000000000, 0x7f0000100000, 0,
					"/lib/x86_64-linux-gnu/libc.so.6", "" };
	struct top_opts to = { 0 };
	char *t;

	(void)state;
	o.ma = profile__add_mapping(o.p, &app);
	o.ml = profile__add_mapping(o.p, &libc);
	{
		/* main -> my_nap -> nanosleep (libc) -> the kernel's nanosleep path */
		__u32 f[] = { uf(&o, "main", false),	   uf(&o, "my_nap", false),
			      uf(&o, "nanosleep", true),   kf(&o, "entry_SYSCALL_64_after_hwframe"),
			      kf(&o, "do_syscall_64"),	   kf(&o, "__x64_sys_clock_nanosleep"),
			      kf(&o, "hrtimer_nanosleep"), kf(&o, "do_nanosleep"),
			      kf(&o, "schedule"),	   kf(&o, "__schedule") };
		struct profile_stack s = { "nap", 1, 1, 10, f, 100, 2000000000ull };

		assert_int_equal(profile__add_stack(o.p, &s), 0);
	}
	{
		/* a pipe reader woken by sh's write */
		__u32 f[] = { uf(&o, "reader", false),
			      uf(&o, "read", true),
			      kf(&o, "__x64_sys_read"),
			      kf(&o, "vfs_read"),
			      kf(&o, "anon_pipe_read"),
			      kf(&o, "schedule"),
			      kf(&o, "__schedule"),
			      profile__add_frame(o.p, &(struct profile_frame){ "--", "", 0, 0,
									       FRAME_SPECIAL }),
			      kf(&o, "try_to_wake_up"),
			      kf(&o, "__wake_up_common"),
			      kf(&o, "anon_pipe_write"),
			      kf(&o, "__x64_sys_write"),
			      uf(&o, "write", true),
			      uf(&o, "writer", false),
			      profile__add_frame(o.p, &(struct profile_frame){ "sh", "", 0, 0,
									       FRAME_SPECIAL }) };
		struct profile_stack s = { "cat", 2, 2, 15, f, 10, 500000000ull };

		assert_int_equal(profile__add_stack(o.p, &s), 0);
	}
	{
		/* preempted in its own code */
		__u32 f[] = { uf(&o, "spin", false), kf(&o, "asm_sysvec_apic_timer_interrupt"),
			      kf(&o, "irqentry_exit"), kf(&o, "preempt_schedule_irq"),
			      kf(&o, "__schedule") };
		struct profile_stack s = { "hog", 3, 3, 5, f, 4, 1000000ull };

		assert_int_equal(profile__add_stack(o.p, &s), 0);
	}
	t = render(export_waits, o.p, &to);
	assert_true(strncmp(t, " TOTAL%       TIME    COUNT        AVG  COMM WAIT", 48) == 0);
	assert_contains(
		t, " 79.97%     2.00 s      100    20.0 ms  nap  my_nap <- nanosleep  (hrtimer)");
	assert_contains(t, "cat  reader <- read  (pipe)");
	assert_contains(t, "sh: writer <- write  (pipe)");
	assert_contains(t, "hog  spin  (preempted)");
	/* ranked by time: nap, cat, hog */
	assert_true(strstr(t, " nap ") < strstr(t, " cat ") &&
		    strstr(t, " cat ") < strstr(t, " hog "));
	free(t);

	to.json = true;
	to.rows = 2;
	t = render(export_waits, o.p, &to);
	{
		json_error_t jerr;
		json_t *doc = json_loads(t, 0, &jerr), *w;

		if (!doc)
			fail_msg("not JSON (%s): %s", jerr.text, t);
		w = json_object_get(doc, "waits");
		assert_int_equal(json_array_size(w), 2);
		assert_string_equal(
			json_string_value(json_object_get(json_array_get(w, 0), "wait")),
			"my_nap <- nanosleep  (hrtimer)");
		assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 0), "ns")),
				 2000000000);
		assert_string_equal(
			json_string_value(json_object_get(json_array_get(w, 1), "woken_by")),
			"sh: writer <- write  (pipe)");
		json_decref(doc);
	}
	free(t);
	profile__free(o.p);
}

/* A stream that fails (a full disk) says why, not "Input/output error". */
static void test_stream_error(void **state)
{
	struct profile *p = cpu_profile();
	FILE *f = fopen("/dev/full", "w");
	int err;

	(void)state;
	if (!f)
		skip();
	setvbuf(f, NULL, _IOFBF, 64);
	err = export_stream_error(f, export_top(p, f, 0));
	assert_int_equal(err, -ENOSPC);
	fclose(f);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_parse),   cmocka_unit_test(test_sort_by_comm_and_dso),
		cmocka_unit_test(test_top_json),     cmocka_unit_test(test_waits),
		cmocka_unit_test(test_stream_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
