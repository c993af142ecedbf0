// SPDX-License-Identifier: GPL-2.0
/* ksyms: kallsyms parsing and lookups, from a fixture (with and without /proc/modules) and live. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "symbols/kallsyms.h"

#define KALLSYMS_FIXTURE "tests/unit/fixtures/kallsyms.txt"
#define MODULES_FIXTURE "tests/unit/fixtures/modules.txt"

static void expect_sym(const struct ksyms *k, __u64 addr, const char *name, const char *module,
		       __u64 sym_addr)
{
	struct ksym_info ki;

	if (ksyms__lookup(k, addr, &ki)) {
		fail_msg("0x%llx: no symbol, want %s", (unsigned long long)addr, name);
		return;
	}
	assert_non_null(ki.name);
	assert_string_equal(ki.name, name);
	assert_string_equal(ki.module, module);
	assert_true(ki.sym_addr == sym_addr);
	assert_true(ki.sym_addr <= addr && addr < ki.sym_end);
}

static void expect_none(const struct ksyms *k, __u64 addr)
{
	struct ksym_info ki;
	int err = ksyms__lookup(k, addr, &ki);

	if (err != -ENOENT)
		fail_msg("0x%llx: want nothing, got %s", (unsigned long long)addr,
			 err	 ? "an error" :
			 ki.name ? ki.name :
				   "(module only)");
}

/* What must hold with and without module extents. */
static void check_common(const struct ksyms *k)
{
	struct ksym_info ki;

	/* Three names at one address: the one without leading underscores names it. */
	expect_sym(k, 0xffffffff81000000ULL, "startup_64", "[kernel.kallsyms]",
		   0xffffffff81000000ULL);
	expect_sym(k, 0xffffffff81000080ULL, "startup_64", "[kernel.kallsyms]",
		   0xffffffff81000000ULL);
	expect_sym(k, 0xffffffff810000ffULL, "startup_64", "[kernel.kallsyms]",
		   0xffffffff81000000ULL);
	expect_sym(k, 0xffffffff81000100ULL, "secondary_startup_64", "[kernel.kallsyms]",
		   0xffffffff81000100ULL);
	expect_sym(k, 0xffffffff81000250ULL, "verify_cpu", "[kernel.kallsyms]",
		   0xffffffff81000200ULL);
	expect_sym(k, 0xffffffff81000400ULL, "arch_weak_fn", "[kernel.kallsyms]",
		   0xffffffff81000400ULL);
	expect_sym(k, 0xffffffff8100050fULL, "__pfx_schedule", "[kernel.kallsyms]",
		   0xffffffff81000500ULL);
	expect_sym(k, 0xffffffff81000510ULL, "schedule", "[kernel.kallsyms]",
		   0xffffffff81000510ULL);
	/* The last function before _etext ends there; _etext itself is no function. */
	expect_sym(k, 0xffffffff810007ffULL, "local_helper", "[kernel.kallsyms]",
		   0xffffffff81000600ULL);
	expect_none(k, 0xffffffff81000800ULL);
	expect_none(k, 0xffffffff81250000ULL); /* rodata */
	expect_none(k, 0xffffffff81300010ULL); /* data */
	/* Init text, ended by _einittext; _sinittext collapses into start_kernel. */
	expect_sym(k, 0xffffffff81400000ULL, "start_kernel", "[kernel.kallsyms]",
		   0xffffffff81400000ULL);
	expect_sym(k, 0xffffffff814001ffULL, "init_helper", "[kernel.kallsyms]",
		   0xffffffff81400100ULL);
	expect_none(k, 0xffffffff81400200ULL);
	/* Before the first symbol, and far past everything. */
	expect_none(k, 0);
	expect_none(k, 0xffffffff80ffffffULL);
	expect_none(k, 0xffffffffffffff00ULL);

	/* Modules: out-of-order lines, names and offsets from the module base. */
	expect_sym(k, 0xffffffffc0000000ULL, "ext4_fill_super", "[ext4]", 0xffffffffc0000000ULL);
	expect_sym(k, 0xffffffffc0000150ULL, "ext4_helper", "[ext4]", 0xffffffffc0000100ULL);
	assert_int_equal(ksyms__lookup(k, 0xffffffffc0000150ULL, &ki), 0);
	assert_true(ki.base == 0xffffffffc0000000ULL);
	assert_true(0xffffffffc0000150ULL - ki.base == 0x150);
	expect_sym(k, 0xffffffffc00002aaULL, "ext4_readdir", "[ext4]", 0xffffffffc0000200ULL);
	/* A module's last function ends at the module's next symbol (data here). */
	expect_sym(k, 0xffffffffc0001fffULL, "ext4_last", "[ext4]", 0xffffffffc0000400ULL);
	expect_none(k, 0xffffffffc0002000ULL);
	expect_sym(k, 0xffffffffc0010010ULL, "xfs_a", "[xfs]", 0xffffffffc0010000ULL);
	expect_sym(k, 0xffffffffc0010fffULL, "xfs_b", "[xfs]", 0xffffffffc0010040ULL);
	/* The last symbol overall: one page past the one it starts in, no further. */
	expect_sym(k, 0xffffffffc0020fffULL, "bpf_prog_6deef7357e7b4530_sd_fw_egress", "[bpf]",
		   0xffffffffc0020000ULL);
	expect_none(k, 0xffffffffc0021000ULL);
	expect_none(k, 0xffffffffc0100000ULL);

	assert_int_equal(ksyms__count(k), 17);
	assert_true(ksyms__addr(k, "schedule") == 0xffffffff81000510ULL);
	assert_true(ksyms__addr(k, "_etext") == 0);
	assert_true(ksyms__addr(k, "some_data") == 0);

	/* The core kernel's offsets count from _stext. */
	assert_int_equal(ksyms__lookup(k, 0xffffffff81000510ULL, &ki), 0);
	assert_true(ki.base == 0xffffffff81000000ULL);
	assert_true(ki.limit == 0xffffffff81400200ULL);
}

static void test_fixture_with_modules(void **state)
{
	struct ksyms *k = ksyms__load(KALLSYMS_FIXTURE, MODULES_FIXTURE);
	struct ksym_info ki;

	(void)state;
	assert_non_null(k);
	check_common(k);
	/* /proc/modules bounds xfs's last function at base + size. */
	expect_none(k, 0xffffffffc0011000ULL);
	/* Inside a module's extent but in none of its symbols: the module, without a name. */
	assert_int_equal(ksyms__lookup(k, 0xffffffffc0030010ULL, &ki), 0);
	assert_null(ki.name);
	assert_string_equal(ki.module, "[nosyms]");
	assert_true(ki.base == 0xffffffffc0030000ULL && ki.limit == 0xffffffffc0031000ULL);
	expect_none(k, 0xffffffffc0031000ULL);
	assert_int_equal(ksyms__lookup(k, 0xffffffffc0010fffULL, &ki), 0);
	assert_true(ki.limit == 0xffffffffc0011000ULL);
	ksyms__free(k);
}

static void test_fixture_without_modules(void **state)
{
	struct ksyms *k = ksyms__load(KALLSYMS_FIXTURE, NULL);

	(void)state;
	assert_non_null(k);
	check_common(k);
	/* Without extents xfs_b gets the page rule: the rest of its page and one more. */
	expect_sym(k, 0xffffffffc0011fffULL, "xfs_b", "[xfs]", 0xffffffffc0010040ULL);
	expect_none(k, 0xffffffffc0012000ULL);
	expect_none(k, 0xffffffffc0030010ULL);
	ksyms__free(k);
}

static void test_buffers(void **state)
{
	const char hidden[] = "0000000000000000 T _stext\n0000000000000000 T schedule\n";
	const char noeol[] = "ffffffff81000000 T first\nffffffff81000010 t last";
	struct ksyms *k;

	(void)state;
	/* kptr_restrict: addresses shown as zeros. */
	k = ksyms__parse(hidden, sizeof(hidden) - 1, NULL, 0);
	assert_null(k);
	assert_int_equal(errno, EPERM);
	/* Empty input: no symbols, nothing found, no error. */
	k = ksyms__parse("", 0, NULL, 0);
	assert_non_null(k);
	assert_int_equal(ksyms__count(k), 0);
	expect_none(k, 0xffffffff81000000ULL);
	ksyms__free(k);
	/* The last line needs no newline, and the buffer need not be NUL-terminated. */
	k = ksyms__parse(noeol, sizeof(noeol) - 1, NULL, 0);
	assert_non_null(k);
	expect_sym(k, 0xffffffff8100000fULL, "first", "[kernel.kallsyms]", 0xffffffff81000000ULL);
	expect_sym(k, 0xffffffff81000010ULL, "last", "[kernel.kallsyms]", 0xffffffff81000010ULL);
	ksyms__free(k);
	assert_null(ksyms__load("/nonexistent/kallsyms", NULL));
	assert_int_equal(errno, ENOENT);
}

/* The running kernel: every sampled text line resolves to a symbol at its own address. */
static void test_live(void **state)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	unsigned long long addr;
	char type, name[256], line[512];
	struct ksyms *k;
	int checked = 0, n = 0;

	(void)state;
	if (!f)
		skip();
	k = ksyms__load("/proc/kallsyms", "/proc/modules");
	if (!k && errno == EPERM) {
		fclose(f);
		skip(); /* not root: addresses hidden */
	}
	assert_non_null(k);
	assert_true(ksyms__count(k) > 1000);
	while (fgets(line, sizeof(line), f)) {
		struct ksym_info ki;

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if ((type != 't' && type != 'T') || !strcmp(name, "_etext") ||
		    !strcmp(name, "_einittext") || n++ % 97)
			continue;
		assert_int_equal(ksyms__lookup(k, addr, &ki), 0);
		assert_non_null(ki.name);
		if (ki.sym_addr != addr)
			fail_msg("%s at 0x%llx resolved to %s at 0x%llx", name, addr, ki.name,
				 (unsigned long long)ki.sym_addr);
		checked++;
	}
	fclose(f);
	assert_true(checked > 10);
	ksyms__free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_with_modules),
		cmocka_unit_test(test_fixture_without_modules),
		cmocka_unit_test(test_buffers),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
