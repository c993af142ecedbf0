// SPDX-License-Identifier: GPL-2.0
/* The streaming JSON writer: escaping, UTF-8, numbers, layout, and misuse reported as -EINVAL. */
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

#include "export/json.h"

struct doc {
	char *buf;
	size_t len;
	FILE *f;
	struct json *j;
};

static void doc_open(struct doc *d, bool pretty)
{
	d->buf = NULL;
	d->f = open_memstream(&d->buf, &d->len);
	assert_non_null(d->f);
	d->j = json__new(d->f, pretty);
	assert_non_null(d->j);
}

/* Finishes the document; returns json__finish()'s answer, the text in d->buf. */
static int doc_close(struct doc *d)
{
	int err = json__finish(d->j);

	json__free(d->j);
	assert_int_equal(fclose(d->f), 0);
	return err;
}

static char *one_string(const char *s)
{
	struct doc d;

	doc_open(&d, false);
	json__str(d.j, s);
	assert_int_equal(doc_close(&d), 0);
	return d.buf;
}

static void test_escapes(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "", "\"\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "\n\r\t", "\"\\n\\r\\t\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		{ "</script>", "\"</script>\"" },
		/* Valid UTF-8 passes through untouched: 2, 3 and 4 byte sequences. */
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5",
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\"" },
		/* Not UTF-8: a stray byte, a lone continuation, a truncated sequence, an overlong '/',
		 * a surrogate, a value past U+10FFFF; each bad byte becomes U+FFFD. */
		{ "x\xffy", "\"x\xef\xbf\xbdy\"" },
		{ "\x80", "\"\xef\xbf\xbd\"" },
		{ "\xc3(", "\"\xef\xbf\xbd(\"" },
		{ "\xe2\x82", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = one_string(cases[i].in);

		if (strcmp(s, cases[i].out))
			fail_msg("case %zu: got %s, want %s", i, s, cases[i].out);
		free(s);
	}
}

static void test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(json_utf8_len(""), 0);
	assert_int_equal(json_utf8_len("a"), 1);
	assert_int_equal(json_utf8_len("\xc3\xa9"), 2);
	assert_int_equal(json_utf8_len("\xe2\x82\xac"), 3);
	assert_int_equal(json_utf8_len("\xf0\x9f\x94\xa5"), 4);
	assert_int_equal(json_utf8_len("\xc3"), 0); /* the NUL is no continuation byte */
	assert_int_equal(json_utf8_len("\xe0\x80\x80"), 0); /* overlong */
	assert_int_equal(json_utf8_len("\xed\xbf\xbf"), 0); /* surrogate */
	assert_int_equal(json_utf8_len("\xf8\x88\x80\x80\x80"), 0); /* 5-byte form */
	assert_int_equal(json_utf8_len("\xef\xbf\xbf"), 3); /* U+FFFF is UTF-8 */
	assert_int_equal(json_utf8_len("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF, the last */
}

static void test_document(void **state)
{
	struct doc d;

	(void)state;
	doc_open(&d, false);
	json__begin_object(d.j);
	json__kv_str(d.j, "s", "v");
	json__kv_u64(d.j, "big", UINT64_MAX);
	json__kv_i64(d.j, "neg", INT64_MIN);
	json__kv_double(d.j, "nan", NAN);
	json__kv_double(d.j, "inf", -INFINITY);
	json__kv_double(d.j, "x", 3.25);
	json__kv_double(d.j, "tenth", 0.1);
	json__kv_double(d.j, "third", 1.0 / 3);
	json__kv_double(d.j, "huge", 1e300);
	json__kv_bool(d.j, "t", true);
	json__kv_str(d.j, "null", NULL);
	json__key(d.j, "a");
	json__begin_array(d.j);
	json__begin_array(d.j);
	json__end_array(d.j);
	json__begin_object(d.j);
	json__end_object(d.j);
	json__null(d.j);
	json__bool(d.j, false);
	json__u64(d.j, 0);
	json__end_array(d.j);
	json__key(d.j, "q\"k");
	json__begin_object(d.j);
	json__key(d.j, "inner");
	json__i64(d.j, -1);
	json__end_object(d.j);
	json__end_object(d.j);
	assert_int_equal(doc_close(&d), 0);
	assert_string_equal(d.buf, "{\"s\":\"v\",\"big\":18446744073709551615,"
				   "\"neg\":-9223372036854775808,\"nan\":null,\"inf\":null,"
				   "\"x\":3.25,\"tenth\":0.1,\"third\":0.33333333333333331,"
				   "\"huge\":1e+300,\"t\":true,\"null\":null,"
				   "\"a\":[[],{},null,false,0],\"q\\\"k\":{\"inner\":-1}}");
	/* Doubles read back exactly. */
	assert_true(strtod(strstr(d.buf, "\"third\":") + 8, NULL) == 1.0 / 3);
	free(d.buf);
}

static void test_pretty(void **state)
{
	struct doc d;

	(void)state;
	doc_open(&d, true);
	json__begin_object(d.j);
	json__kv_u64(d.j, "a", 1);
	json__key(d.j, "b");
	json__begin_array(d.j);
	json__u64(d.j, 2);
	json__begin_object(d.j);
	json__end_object(d.j);
	json__end_array(d.j);
	json__key(d.j, "e");
	json__begin_array(d.j);
	json__end_array(d.j);
	json__end_object(d.j);
	assert_int_equal(doc_close(&d), 0);
	assert_string_equal(d.buf,
			    "{\n  \"a\": 1,\n  \"b\": [\n    2,\n    {}\n  ],\n  \"e\": []\n}");
	free(d.buf);
}

/* Each misuse is reported at json__finish(). */
static void test_misuse(void **state)
{
	struct doc d;

	(void)state;
	/* unclosed */
	doc_open(&d, false);
	json__begin_object(d.j);
	assert_int_equal(doc_close(&d), -EINVAL);
	free(d.buf);
	/* closed twice */
	doc_open(&d, false);
	json__begin_array(d.j);
	json__end_array(d.j);
	json__end_array(d.j);
	assert_int_equal(doc_close(&d), -EINVAL);
	free(d.buf);
	/* mismatched */
	doc_open(&d, false);
	json__begin_array(d.j);
	json__end_object(d.j);
	assert_int_equal(doc_close(&d), -EINVAL);
	free(d.buf);
	/* a value in an object without a key */
	doc_open(&d, false);
	json__begin_object(d.j);
	json__u64(d.j, 1);
	json__end_object(d.j);
	assert_int_equal(doc_close(&d), -EINVAL);
	free(d.buf);
	/* a key in an array */
	doc_open(&d, false);
	json__begin_array(d.j);
	json__key(d.j, "k");
	json__u64(d.j, 1);
	json__end_array(d.j);
	assert_int_equal(doc_close(&d), -EINVAL);
	free(d.buf);
	/* a key without a value */
	doc_open(&d, false);
	json__begin_object(d.j);
	json__key(d.j, "k");
	json__end_object(d.j);
	assert_int_equal(doc_close(&d), -EINVAL);
	free(d.buf);
	/* two top-level values */
	doc_open(&d, false);
	json__u64(d.j, 1);
	json__u64(d.j, 2);
	assert_int_equal(doc_close(&d), -EINVAL);
	free(d.buf);
	/* nothing at all */
	doc_open(&d, false);
	assert_int_equal(doc_close(&d), -EINVAL);
	free(d.buf);
	/* too deep */
	doc_open(&d, false);
	for (int i = 0; i < 100; i++)
		json__begin_array(d.j);
	for (int i = 0; i < 100; i++)
		json__end_array(d.j);
	assert_int_equal(doc_close(&d), -EINVAL);
	free(d.buf);
	/* deep but within the limit is fine */
	doc_open(&d, false);
	for (int i = 0; i < 64; i++)
		json__begin_array(d.j);
	for (int i = 0; i < 64; i++)
		json__end_array(d.j);
	assert_int_equal(doc_close(&d), 0);
	free(d.buf);
}

static void test_null_writer_and_stream_errors(void **state)
{
	struct json *j;
	FILE *f;

	(void)state;
	/* Every call takes a NULL writer, so a failed json__new() needs one check. */
	json__begin_object(NULL);
	json__kv_str(NULL, "k", "v");
	json__kv_u64(NULL, "k", 1);
	json__end_object(NULL);
	json__free(NULL);
	assert_int_equal(json__finish(NULL), -ENOMEM);
	assert_null(json__new(NULL, false));

	/* A stream that fails: -EIO. */
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	j = json__new(f, false);
	json__begin_array(j);
	for (int i = 0; i < 10000; i++)
		json__str(j, "fill the buffer so that the write happens before the flush");
	json__end_array(j);
	assert_int_equal(json__finish(j), -EIO);
	json__free(j);
	fclose(f);
}

static void test_write_string_alone(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	json_write_string(f, "a\"\xff");
	json_write_string(f, NULL);
	fclose(f);
	assert_string_equal(buf, "\"a\\\"\xef\xbf\xbd\"\"\"");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_null_writer_and_stream_errors),
		cmocka_unit_test(test_write_string_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
