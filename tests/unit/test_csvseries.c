// SPDX-License-Identifier: GPL-2.0
/* Unit tests: CSV time series and timestamps (analytics/csvseries.h). */
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

#include "analytics/csvseries.h"

static int parse(const char *text, struct csv_series *s, struct csv_error *e)
{
	return csv_series_parse(text, strlen(text), s, e);
}

static void test_timestamps(void **state)
{
	enum ts_style st;
	double t;
	int fd;
	char buf[64];

	(void)state;
	/* date -u -d '2014-04-01 00:00:00' +%s */
	assert_int_equal(ts_parse("2014-04-01 00:00:00", &t, &st, &fd), 0);
	assert_true(t == 1396310400.0);
	assert_int_equal(st, TS_ISO_SPACE);
	assert_int_equal(ts_parse("2014-04-01T00:00:00.500000", &t, &st, &fd), 0);
	assert_true(t == 1396310400.5);
	assert_int_equal(st, TS_ISO_T);
	assert_int_equal(fd, 6);
	/* an offset is applied: 02:00+02:00 is midnight UTC */
	assert_int_equal(ts_parse("2014-04-01T02:00:00+02:00", &t, &st, NULL), 0);
	assert_true(t == 1396310400.0);
	assert_int_equal(st, TS_ISO_TZ);
	assert_int_equal(ts_parse("2014-04-01T00:00:00Z", &t, &st, NULL), 0);
	assert_true(t == 1396310400.0);
	assert_int_equal(ts_parse(" 1396310400 ", &t, &st, NULL), 0);
	assert_true(t == 1396310400.0);
	assert_int_equal(st, TS_EPOCH);
	assert_int_equal(ts_parse("2000-02-29", &t, &st, NULL), 0);
	assert_true(t == 951782400.0); /* a leap day */
	assert_int_equal(st, TS_DATE);
	/* 1970-01-01 and a date before it */
	assert_int_equal(ts_parse("1970-01-01 00:00:00", &t, &st, NULL), 0);
	assert_true(t == 0);
	assert_int_equal(ts_parse("1969-12-31 23:59:59", &t, &st, NULL), 0);
	assert_true(t == -1);
	const char *bad[] = { "",
			      "2014-13-01 00:00:00",
			      "2014-02-30 00:00:00",
			      "1900-02-29",
			      "2014-04-01 24:00:00",
			      "2014-04-01 00:60:00",
			      "2014-4-1",
			      "2014-04-01 00:00:00x",
			      "yesterday",
			      "1e9",
			      "-5",
			      "2014-04-01T00:00:00+25:00",
			      "12.34.56",
			      "2014-04-01 00:00:00." };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!ts_parse(bad[i], &t, &st, NULL))
			fail_msg("accepted bad timestamp '%s'", bad[i]);
	}
	/* printing gives back what was read */
	ts_format(1396310400.0, TS_ISO_SPACE, 0, buf, sizeof(buf));
	assert_string_equal(buf, "2014-04-01 00:00:00");
	ts_format(1396310400.25, TS_ISO_T, 6, buf, sizeof(buf));
	assert_string_equal(buf, "2014-04-01T00:00:00.250000");
	ts_format(1396310400.0, TS_ISO_TZ, 0, buf, sizeof(buf));
	assert_string_equal(buf, "2014-04-01T00:00:00Z");
	ts_format(1396310400.0, TS_EPOCH, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1396310400");
	ts_format(1396310399.9999999, TS_ISO_SPACE, 3, buf, sizeof(buf));
	assert_string_equal(buf, "2014-04-01 00:00:00.000"); /* rounding carries into the second */
}

static void test_parse_rows(void **state)
{
	struct csv_error e;
	struct csv_series s;

	(void)state;
	/* NAB's layout, with CRLF and a trailing blank line */
	assert_int_equal(parse("timestamp,value\r\n2014-04-01 00:00:00,20.5\r\n"
			       "2014-04-01 00:05:00,-3e2\r\n\r\n",
			       &s, &e),
			 0);
	assert_int_equal(s.n, 2);
	assert_true(s.v[0] == 20.5 && s.v[1] == -300);
	assert_true(s.ts[1] - s.ts[0] == 300);
	assert_string_equal(s.value_name, "value");
	csv_series_release(&s);
	/* no header, epoch seconds */
	assert_int_equal(parse("100,1\n160,2\n220,3", &s, &e), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.style, TS_EPOCH);
	csv_series_release(&s);
	/* columns found by name in any order, extra columns ignored, quotes */
	assert_int_equal(parse("host,value,timestamp\n\"a,b\",1.5,\"2014-04-01 00:00:00\"\n"
			       "\"say \"\"hi\"\"\",2.5,2014-04-01 00:01:00\n",
			       &s, &e),
			 0);
	assert_int_equal(s.n, 2);
	assert_true(s.v[1] == 2.5 && s.ts[1] - s.ts[0] == 60);
	csv_series_release(&s);
	/* a header naming neither column: the first two */
	assert_int_equal(parse("when,rss_bytes\n2014-04-01,10\n2014-04-02,11\n", &s, &e), 0);
	assert_string_equal(s.value_name, "rss_bytes");
	assert_true(s.ts[1] - s.ts[0] == 86400);
	csv_series_release(&s);
	/* a byte-order mark */
	assert_int_equal(parse("\xef\xbb\xbftimestamp,value\n1,2\n", &s, &e), 0);
	csv_series_release(&s);
}

/* Each bad input fails with -EINVAL on the expected line and a message containing `what`. */
static void expect_error(const char *text, size_t line, const char *what)
{
	struct csv_error e;
	struct csv_series s;

	assert_int_equal(parse(text, &s, &e), -EINVAL);
	if (e.line != line || !strstr(e.msg, what))
		fail_msg("'%s': got line %zu '%s', want line %zu '%s'", text, e.line, e.msg, line,
			 what);
	assert_null(s.ts);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_error("timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,\n", 3,
		     "empty value");
	expect_error("timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00\n", 3,
		     "1 column(s)");
	expect_error("timestamp,value\n2014-04-01 00:00:00,1\n\n2014-04-01 00:10:00,3\n", 3,
		     "blank line");
	expect_error("timestamp,value\n2014-04-01 00:00:00,abc\n", 2, "'abc' is not a number");
	expect_error("timestamp,value\n2014-04-01 00:00:00,nan\n", 2, "not a number");
	expect_error("timestamp,value\n2014-04-01 00:00:00,inf\n", 2, "not a number");
	expect_error("timestamp,value\n2014-04-01 00:00:00,1e999\n", 2, "out of range");
	expect_error("timestamp,value\n2014-04-01 00:00:00,0x10\n", 2, "not a number");
	expect_error("timestamp,value\n2014-04-01 00:00:00,1\n2014-02-30 00:00:00,2\n", 3,
		     "bad timestamp '2014-02-30 00:00:00'");
	expect_error("timestamp,value\n2014-07-01,4\n13,1700\n", 3,
		     "'13' is seconds since the epoch but the first row has a date");
	expect_error("2014-07-01 00:00:00,4\n2014-07-02,5\n", 2, "one style per file");
	expect_error("timestamp,value\n", 1, "no data rows");
	expect_error("", 1, "no data rows");
	expect_error("value\n", 1, "header has 1 column");
	expect_error("timestamp,value\n\"2014-04-01 00:00:00,1\n", 2, "unterminated");
	expect_error("timestamp,value\n2014-04-01 00:00:00,1\"2\n", 2, "quote");
	{
		/* a NUL byte inside a field */
		static const char nul[] = "timestamp,value\n2014-04-01 00:00:00,1\0\n";
		struct csv_error e;
		struct csv_series s;

		assert_int_equal(csv_series_parse(nul, sizeof(nul) - 1, &s, &e), -EINVAL);
		assert_int_equal(e.line, 2);
	}
}

static void test_step(void **state)
{
	/* the median of the positive differences: robust to a gap, a duplicate and a step back */
	double ts[] = { 0, 300, 600, 600, 900, 4500, 4800, 4200, 5100, 5400 };

	(void)state;
	assert_true(ts_step(ts, sizeof(ts) / sizeof(ts[0])) == 300);
	assert_true(ts_step(ts, 1) == 0);
}

/* Found by fuzz_csv: a buffer that is not NUL-terminated, and the digits promised 0..9. */
static void test_fuzz_regressions(void **state)
{
	struct csv_series s;
	struct csv_error e;
	char *blank = malloc(1);
	enum ts_style st;
	double t;
	int frac;

	(void)state;
	assert_non_null(blank);
	blank[0] = ' '; /* one blank byte, no NUL after it: read as a blank line, nothing past it */
	assert_int_equal(csv_series_parse(blank, 1, &s, &e), -EINVAL);
	free(blank);
	assert_int_equal(ts_parse("1396310400.123456789012", &t, &st, &frac), 0);
	assert_int_equal(st, TS_EPOCH);
	assert_int_equal(frac, 9);
	assert_int_equal(parse("t,v\n1396310400.123456789012,1\n", &s, &e), 0);
	assert_int_equal(s.frac_digits, 9);
	csv_series_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamps),	 cmocka_unit_test(test_parse_rows),
		cmocka_unit_test(test_parse_errors),	 cmocka_unit_test(test_step),
		cmocka_unit_test(test_fuzz_regressions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
