// SPDX-License-Identifier: GPL-2.0
/* Unit tests: the shared option parser and its validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmd/options.h"
#include "kernel/uprobe.h"

struct t_opts {
	unsigned long freq;
	int positional;
	double dur;
};

static int t_option(int key, const char *arg, void *o)
{
	struct t_opts *t = o;

	if (key == 'F')
		return cli_parse_ulong(arg, 1, 10000, &t->freq) ? cli_error("t", "bad -F") : 0;
	return 1;
}

static int t_positional(int argc, char **argv, void *o)
{
	struct t_opts *t = o;

	t->positional = argc;
	return cli_parse_seconds(argv[0], &t->dur) ? 1 : 0;
}

static const struct cli_spec spec = {
	.name = "t",
	.help = "help text\n",
	.common = CLI_PID | CLI_TID | CLI_STACKS | CLI_OUTPUT | CLI_DURATION | CLI_COMMAND |
		  CLI_STACK_OPTS,
	.short_opts = "F:",
	.option = t_option,
	.positional = t_positional,
};

/* The parser keeps pointers into argv (the command after "--"): argv must outlive c. */
static char *argv_[16];

#define PARSE(...)                                                                      \
	({                                                                              \
		char *a_[] = { "t", __VA_ARGS__, NULL };                                \
		memcpy(argv_, a_, sizeof(a_));                                          \
		memset(&o, 0, sizeof(o));                                               \
		cli_parse(&spec, (int)(sizeof(a_) / sizeof(a_[0])) - 1, argv_, &c, &o); \
	})

static void test_common_options(void **state)
{
	struct common_opts c;
	struct t_opts o;

	(void)state;
	assert_int_equal(PARSE("-p", "12,34", "-p", "56", "-F", "999", "-o", "x.svg", "5"), 0);
	assert_int_equal(c.nr_pids, 3);
	assert_int_equal(c.pids[2], 56);
	assert_int_equal(o.freq, 999);
	assert_int_equal(c.format, EXPORT_SVG);
	assert_int_equal(o.positional, 1);
	assert_true(o.dur == 5.0);
	cli_free_common(&c);

	/* Options after the positional (GNU permutation), and the command after "--". */
	assert_int_equal(PARSE("2.5", "-U", "--", "sleep", "-x", "1"), 0);
	assert_true(o.dur == 2.5);
	assert_true(c.user_only);
	assert_non_null(c.command);
	assert_string_equal(c.command[0], "sleep");
	assert_string_equal(c.command[1], "-x"); /* not parsed as an option */
	cli_free_common(&c);

	assert_int_equal(PARSE("--format", "pprof", "-o", "out.bin"), 0);
	assert_int_equal(c.format, EXPORT_PPROF);
	cli_free_common(&c);
	assert_int_equal(PARSE("-f"), 0);
	assert_true(c.folded_stdout);
	cli_free_common(&c);

	/* Every stack-collector option, the last of the group included. */
	assert_int_equal(PARSE("--top", "5", "--per-thread", "--unwind", "kernel",
			       "--stack-storage-size", "128", "--no-demangle"),
			 0);
	assert_int_equal(c.top, 5);
	assert_true(c.top_given && c.per_thread && c.no_demangle);
	assert_string_equal(c.unwind, "kernel");
	assert_int_equal(c.stack_storage, 128);
	cli_free_common(&c);
}

static void test_errors_return_1(void **state)
{
	struct common_opts c;
	struct t_opts o;

	(void)state;
	assert_int_equal(PARSE("-p", "abc"), 1);
	assert_int_equal(PARSE("-p", "0"), 1);
	assert_int_equal(PARSE("-p", ""), 1);
	assert_int_equal(PARSE("-F", "0"), 1);
	assert_int_equal(PARSE("--bogus"), 1);
	assert_int_equal(PARSE("-Z"), 1);
	assert_int_equal(PARSE("-c", "/x"), 1); /* not enabled for this command */
	assert_int_equal(PARSE("-o", "x.png"), 1);
	assert_int_equal(PARSE("--format", "nope", "-o", "x"), 1);
	assert_int_equal(PARSE("-o", "x.svg", "-f"), 1);
	assert_int_equal(PARSE("-U", "-K"), 1);
	assert_int_equal(PARSE("--"), 1);
	assert_int_equal(PARSE("-p"), 1);
	assert_int_equal(PARSE("-d", "-1"), 1);
	assert_int_equal(PARSE("-d", "nan"), 1);
	assert_int_equal(PARSE("--help"), -1);
}

static void test_number_parsers(void **state)
{
	unsigned long v;
	double d;
	__u32 *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(cli_parse_ulong("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cli_parse_ulong("101", 1, 100, &v), -ERANGE);
	assert_int_equal(cli_parse_ulong("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(cli_parse_ulong("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(cli_parse_ulong("99999999999999999999999", 0, ~0ul, &v), -ERANGE);
	assert_int_equal(cli_parse_seconds("0.5", &d), 0);
	assert_int_equal(cli_parse_seconds("0", &d), -ERANGE);
	assert_int_equal(cli_parse_seconds("inf", &d), -EINVAL);
	assert_int_equal(cli_parse_id_list("1,2", &ids, &n), 0);
	assert_int_equal(cli_parse_id_list("3", &ids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[2], 3);
	assert_int_equal(cli_parse_id_list("4,x", &ids, &n), -EINVAL);
	assert_int_equal(n, 3);
	free(ids);
}

static void test_validate(void **state)
{
	struct common_opts c = { 0 };
	__u32 me = (__u32)getpid(), none = 999999999;
	char *cmd_ok[] = { "sh", NULL }, *cmd_bad[] = { "no-such-cmd-vigil", NULL };

	(void)state;
	c.pids = &me;
	c.nr_pids = 1;
	assert_int_equal(cli_validate_common("t", &c), 0);
	c.pids = &none;
	assert_int_equal(cli_validate_common("t", &c), 1);
	c.nr_pids = 0;
	c.output = "/nonexistent-dir/x.svg";
	assert_int_equal(cli_validate_common("t", &c), 1);
	c.output = NULL;
	c.command = cmd_ok;
	assert_int_equal(cli_validate_common("t", &c), 0);
	c.command = cmd_bad;
	assert_int_equal(cli_validate_common("t", &c), 1);
}

static void test_library_name_matching(void **state)
{
	(void)state;
	assert_true(uprobe_lib_matches("libc.so.6", "libc"));
	assert_true(uprobe_lib_matches("libc.so.6", "c"));
	assert_true(uprobe_lib_matches("libc.so.6", "libc.so.6"));
	assert_true(uprobe_lib_matches("libc-2.36.so", "libc"));
	assert_true(uprobe_lib_matches("python3", "python3"));
	assert_false(uprobe_lib_matches("libcrypto.so.3", "libc"));
	assert_false(uprobe_lib_matches("libcap.so.2", "c"));
	assert_false(uprobe_lib_matches("python3", "python"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_common_options),
		cmocka_unit_test(test_errors_return_1),
		cmocka_unit_test(test_number_parsers),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_library_name_matching),
	};

	/* The parser reports errors on stderr; the tests only look at return values. */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
