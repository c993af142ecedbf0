// SPDX-License-Identifier: GPL-2.0
/* procmaps: /proc/PID/maps lines and perf-PID.map files, from fixtures and from /proc/self. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "symbols/perfmap.h"
#include "symbols/procmaps.h"

#define MAPS_FIXTURE "tests/unit/fixtures/maps.txt"

static const struct procmaps_entry *must_find(const struct procmaps *m, __u64 addr)
{
	const struct procmaps_entry *e = procmaps__find(m, addr);

	assert_non_null(e);
	return e;
}

static void test_parse_line_fields(void **state)
{
	const char *l = "7f1234528000-7f12346bd000 r-xp 00028000 fd:02 2345678"
			"                    /usr/lib/x86_64-linux-gnu/libc.so.6\n";
	struct procmaps_line pl;

	(void)state;
	assert_int_equal(procmaps__parse_line(l, strlen(l), &pl), 0);
	assert_true(pl.start == 0x7f1234528000ULL);
	assert_true(pl.end == 0x7f12346bd000ULL);
	assert_true(pl.pgoff == 0x28000);
	assert_int_equal(pl.maj, 0xfd);
	assert_int_equal(pl.min, 2);
	assert_true(pl.ino == 2345678);
	assert_int_equal(pl.prot, PROT_READ | PROT_EXEC);
	assert_false(pl.shared);
	assert_false(pl.deleted);
	assert_int_equal(pl.path_len, strlen("/usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_memory_equal(pl.path, "/usr/lib/x86_64-linux-gnu/libc.so.6", pl.path_len);
}

static void test_parse_line_edge_cases(void **state)
{
	static const char *bad[] = {
		"",
		"7f00-7e00 r-xp 00000000 00:00 0", /* end before start */
		"7f00-7f10 r-x 00000000 00:00 0", /* short perms */
		"7f00-7f10 rzxp 00000000 00:00 0", /* bad perm letter */
		"7f00 7f10 r-xp 00000000 00:00 0", /* no dash */
		"7f00-7f10 r-xp 00000000 0000 0", /* no colon in dev */
		"7f00-7f10 r-xp 00000000 00:00", /* no inode */
		"7f00-7f10 r-xp 00000000 00:00 12x /x", /* garbage inode */
		"11112222333344445-7f10 r-xp 0 00:00 0", /* 17 hex digits */
	};
	const char *anon = "7f1234400000-7f1234401000 rwxs 00000000 00:00 0 \n";
	const char *del =
		"7f1234801000-7f1234803000 r-xp 00001000 fd:02 99999  /tmp/a b.so (deleted)";
	struct procmaps_line pl;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(procmaps__parse_line(bad[i], strlen(bad[i]), &pl), -EINVAL);
	assert_int_equal(procmaps__parse_line(anon, strlen(anon), &pl), 0);
	assert_int_equal(pl.path_len, 0);
	assert_true(pl.shared);
	assert_int_equal(pl.prot, PROT_READ | PROT_WRITE | PROT_EXEC);
	assert_int_equal(procmaps__parse_line(del, strlen(del), &pl), 0);
	assert_true(pl.deleted);
	assert_int_equal(pl.path_len, strlen("/tmp/a b.so"));
	assert_memory_equal(pl.path, "/tmp/a b.so", pl.path_len);
	/* The length bounds the parse: a prefix of a valid line is not read past. */
	assert_int_equal(procmaps__parse_line(del, 20, &pl), -EINVAL);
}

static void test_fixture(void **state)
{
	struct procmaps *m = procmaps__read(MAPS_FIXTURE);
	const struct procmaps_entry *e;

	(void)state;
	assert_non_null(m);
	/* 23 lines, one of them not a mapping. */
	assert_int_equal(procmaps__count(m), 22);
	for (size_t i = 1; i < procmaps__count(m); i++)
		assert_true(procmaps__entry(m, i - 1)->start < procmaps__entry(m, i)->start);

	/* PIE executable: five segments of one file, text at file offset 0x1000. */
	e = must_find(m, 0x55d0c0a01000ULL);
	assert_string_equal(e->path, "/usr/bin/app");
	assert_int_equal(e->kind, PROCMAPS_FILE);
	assert_int_equal(e->prot, PROT_READ | PROT_EXEC);
	assert_true(procmaps_entry__file_offset(e, 0x55d0c0a01000ULL) == 0x1000);
	assert_true(procmaps_entry__file_offset(e, 0x55d0c0a04fffULL) == 0x4fff);
	e = must_find(m, 0x55d0c0a08123ULL);
	assert_int_equal(e->prot, PROT_READ | PROT_WRITE);
	assert_true(procmaps_entry__file_offset(e, 0x55d0c0a08123ULL) == 0x7123);
	/* The gap between the executable and the heap, and the byte just past a mapping. */
	assert_null(procmaps__find(m, 0x55d0c0a09000ULL));
	assert_null(procmaps__find(m, 0x55d0c0a00000ULL - 1));
	assert_null(procmaps__find(m, 0));

	/* Shared library text at a non-zero offset. */
	e = must_find(m, 0x7f1234600000ULL);
	assert_string_equal(e->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_true(e->start == 0x7f1234528000ULL && e->pgoff == 0x28000);
	assert_true(procmaps_entry__file_offset(e, 0x7f1234600000ULL) == 0x28000 + 0xd8000);
	assert_int_equal(e->maj, 0xfd);
	assert_int_equal(e->min, 2);
	assert_true(e->ino == 2345678);

	/* Deleted file with a space in its name. */
	e = must_find(m, 0x7f1234802000ULL);
	assert_string_equal(e->path, "/tmp/jit lib.so");
	assert_true(e->deleted);
	assert_true(procmaps_entry__file_offset(e, 0x7f1234802000ULL) == 0x2000);
	e = must_find(m, 0x7f1234a00000ULL);
	assert_string_equal(e->path, "/SYSV00000000");
	assert_true(e->deleted && e->shared);

	/* Several spaces in a row inside a path survive. */
	e = must_find(m, 0x7f1234900abcULL);
	assert_string_equal(e->path, "/opt/my app/lib with  spaces.so");
	assert_false(e->deleted);
	/* The kernel's escape for a newline in a name. */
	e = must_find(m, 0x7f1234b00000ULL);
	assert_string_equal(e->path, "/opt/line\nbreak.so");

	/* Anonymous and special mappings. */
	e = must_find(m, 0x7f1234400800ULL);
	assert_string_equal(e->path, "");
	assert_int_equal(e->kind, PROCMAPS_ANON);
	e = must_find(m, 0x7f1234470000ULL);
	assert_string_equal(e->path, "[anon:v8 code]");
	assert_int_equal(e->kind, PROCMAPS_SPECIAL);
	assert_string_equal(must_find(m, 0x55d0c1b00010ULL)->path, "[heap]");
	assert_string_equal(must_find(m, 0x7ffd12320000ULL)->path, "[stack]");
	e = must_find(m, 0x7ffd123ff000ULL);
	assert_string_equal(e->path, "[vdso]");
	assert_int_equal(e->prot, PROT_READ | PROT_EXEC);
	e = must_find(m, 0xffffffffff600000ULL);
	assert_string_equal(e->path, "[vsyscall]");
	assert_int_equal(e->prot, PROT_EXEC);
	assert_null(procmaps__find(m, 0xffffffffff601000ULL));
	procmaps__free(m);
}

static void test_unsorted_and_unterminated(void **state)
{
	const char text[] = "3000-4000 r-xp 00000000 00:00 0 [b]\n"
			    "1000-2000 r-xp 00000000 00:00 0 [a]\n"
			    "5000-6000 r-xp 00000000 00:00 0 /last/without/newline";
	struct procmaps *m = procmaps__parse(text, sizeof(text) - 1);

	(void)state;
	assert_non_null(m);
	assert_int_equal(procmaps__count(m), 3);
	assert_string_equal(procmaps__entry(m, 0)->path, "[a]");
	assert_string_equal(must_find(m, 0x3fff)->path, "[b]");
	assert_string_equal(must_find(m, 0x5000)->path, "/last/without/newline");
	assert_null(procmaps__find(m, 0x2000));
	assert_null(procmaps__entry(m, 3));
	procmaps__free(m);
}

/* The live maps of this process: this function's own address lies in an executable mapping of it. */
static void test_self(void **state)
{
	struct procmaps *m = procmaps__read("/proc/self/maps");
	const struct procmaps_entry *e;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	(void)state;
	assert_non_null(m);
	assert_true(n > 0);
	exe[n] = '\0';
	e = must_find(m, (__u64)(uintptr_t)&test_self);
	assert_string_equal(e->path, exe);
	assert_true(e->prot & PROT_EXEC);
	assert_int_equal(e->kind, PROCMAPS_FILE);
	procmaps__free(m);
	assert_null(procmaps__read("/proc/self/no-such-file"));
	assert_int_equal(errno, ENOENT);
}

static void test_perfmap(void **state)
{
	const char text[] = "7f0000001000 40 LazyCompile:*foo bar.js:1\n"
			    "0x7f0000002000 0x100 Builtin:Two\r\n"
			    "garbage line\n"
			    "7f0000003000 0 zero size is skipped\n"
			    "7f0000004000 20 stub old\n"
			    "7f0000004000 30 stub new\n"
			    "7f0000001000 10";
	struct perfmap *m = perfmap__parse(text, sizeof(text) - 1);
	const struct perfmap_sym *s;

	(void)state;
	assert_non_null(m);
	assert_int_equal(perfmap__count(m), 3);
	s = perfmap__find(m, 0x7f000000103fULL);
	assert_non_null(s);
	assert_string_equal(s->name, "LazyCompile:*foo bar.js:1");
	assert_true(s->start == 0x7f0000001000ULL && s->end == 0x7f0000001040ULL);
	assert_null(perfmap__find(m, 0x7f0000001040ULL));
	assert_null(perfmap__find(m, 0x7f0000000fffULL));
	s = perfmap__find(m, 0x7f0000002080ULL);
	assert_non_null(s);
	assert_string_equal(s->name, "Builtin:Two");
	assert_null(perfmap__find(m, 0x7f0000003000ULL));
	/* The later line for one address wins. */
	s = perfmap__find(m, 0x7f000000402fULL);
	assert_non_null(s);
	assert_string_equal(s->name, "stub new");
	perfmap__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line_fields),
		cmocka_unit_test(test_parse_line_edge_cases),
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_unsorted_and_unterminated),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_perfmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
