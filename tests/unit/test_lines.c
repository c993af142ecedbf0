// SPDX-License-Identifier: GPL-2.0
/*
 * symbols/lines.c on a -O0 -g fixture: an address inside an always-inlined function gives two
 * lines, the inlined function at its own line and the caller at the line of the call (as
 * addr2line -i); the caller's own code gives one; a file without DWARF gives none, quietly.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "symbols/elf.h"
#include "symbols/lines.h"

#define FIXTURE ".output/tests/fixtures/linefixture"
#define SOURCE "tests/unit/fixtures/linefixture.c"

/* The line of the source that carries marker. */
static __u32 marker_line(const char *marker)
{
	FILE *f = fopen(SOURCE, "r");
	char buf[512];
	__u32 n = 0;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		n++;
		if (strstr(buf, marker)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	fail_msg("no %s in %s", marker, SOURCE);
	return 0;
}

static __u64 symbol(const char *name)
{
	struct elf_file *ef = elf_file__open(FIXTURE, NULL);
	struct elf_symbol s;

	assert_non_null(ef);
	assert_int_equal(elf_file__find(ef, name, &s), 0);
	elf_file__free(ef);
	return s.addr;
}

static void test_inlined_chain(void **state)
{
	struct line_table *t = line_table__new(open(FIXTURE, O_RDONLY | O_CLOEXEC), -1);
	struct src_line l[LINES_MAX_INLINE];
	int n;

	(void)state;
	assert_non_null(t);
	n = line_table__lookup(t, symbol("lf_inlined_here"), l, LINES_MAX_INLINE);
	assert_int_equal(n, 2);
	assert_string_equal(l[0].function, "lf_inl");
	assert_int_equal(l[0].line, marker_line("LF_AFTER"));
	assert_non_null(strstr(l[0].file, "linefixture.c"));
	assert_string_equal(l[1].function, "lf_outer");
	assert_int_equal(l[1].line, marker_line("LF_CALL"));
	/* Asked again: the cached answer, the same strings. */
	{
		struct src_line again[LINES_MAX_INLINE];

		assert_int_equal(line_table__lookup(t, symbol("lf_inlined_here"), again, 1), 1);
		assert_ptr_equal(again[0].function, l[0].function);
	}
	/* The caller's own code: one line, in lf_outer. */
	n = line_table__lookup(t, symbol("lf_outer") + 8, l, LINES_MAX_INLINE);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].function, "lf_outer");
	assert_true(l[0].line >= marker_line("LF_OUTER") - 2 &&
		    l[0].line <= marker_line("LF_OUTER"));
	/* Outside every compile unit. */
	assert_int_equal(line_table__lookup(t, 0x10, l, LINES_MAX_INLINE), 0);
	line_table__free(t);
}

static void test_deep_chain_keeps_the_real_function(void **state)
{
	struct line_table *t = line_table__new(open(FIXTURE, O_RDONLY | O_CLOEXEC), -1);
	struct src_line l[LINES_MAX_INLINE];
	char want[16];
	int n;

	(void)state;
	assert_non_null(t);
	n = line_table__lookup(t, symbol("lf_deep_here"), l, LINES_MAX_INLINE);
	assert_int_equal(n, LINES_MAX_INLINE);
	/* Innermost first, as deep as fits, then the function the chain was inlined into. */
	for (int i = 0; i < LINES_MAX_INLINE - 1; i++) {
		snprintf(want, sizeof(want), "lf_d%d", i);
		assert_string_equal(l[i].function, want);
	}
	assert_string_equal(l[LINES_MAX_INLINE - 1].function, "lf_deep");
	line_table__free(t);
}

static void test_no_dwarf(void **state)
{
	/* /bin/true is stripped: no DWARF, no lines, no error. */
	struct line_table *t = line_table__new(open("/bin/true", O_RDONLY | O_CLOEXEC), -1);
	struct src_line l[4];

	(void)state;
	assert_non_null(t);
	assert_int_equal(line_table__lookup(t, 0x2000, l, 4), 0);
	line_table__free(t);
	/* Not even a file. */
	t = line_table__new(-1, -1);
	assert_non_null(t);
	assert_int_equal(line_table__lookup(t, 0x2000, l, 4), 0);
	line_table__free(t);
	line_table__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inlined_chain),
		cmocka_unit_test(test_deep_chain_keeps_the_real_function),
		cmocka_unit_test(test_no_dwarf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
