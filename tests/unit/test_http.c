// SPDX-License-Identifier: GPL-2.0
/* Unit tests: the HTTP/1.x head parser and W3C traceparent (model/http.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/http.h"

static void test_request(void **state)
{
	static const char req[] = "GET /index.html?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
				  "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
	struct http_head h;
	char path[64];

	(void)state;
	assert_int_equal(http_parse_head(req, sizeof(req) - 1, &h), 0);
	assert_true(h.is_request);
	assert_true(h.complete);
	assert_false(h.truncated);
	assert_string_equal(h.method, "GET");
	assert_string_equal(h.target, "/index.html?q=1");
	assert_int_equal(h.minor, 1);
	assert_string_equal(h.host, "127.0.0.1:8000");
	assert_string_equal(h.user_agent, "curl/7.88.1");
	assert_int_equal(h.content_length, -1);
	assert_false(h.has_traceparent);
	http_target_path(h.target, path, sizeof(path));
	assert_string_equal(path, "/index.html");
	http_target_path("http://example.com:80/a/b?c", path, sizeof(path));
	assert_string_equal(path, "/a/b");
	http_target_path("http://example.com", path, sizeof(path));
	assert_string_equal(path, "/");
	http_target_path("/very/long/path", path, 6);
	assert_string_equal(path, "/very");
}

static void test_response(void **state)
{
	static const char resp[] = "HTTP/1.0 404 File not found\r\nServer: SimpleHTTP/0.6\r\n"
				   "Content-Length: 335\r\n\r\n<html>";
	struct http_head h;

	(void)state;
	assert_int_equal(http_parse_head(resp, sizeof(resp) - 1, &h), 0);
	assert_false(h.is_request);
	assert_int_equal(h.status, 404);
	assert_int_equal(h.minor, 0);
	assert_string_equal(h.reason, "File not found");
	assert_int_equal(h.content_length, 335);
	assert_true(h.complete);
	/* Status line only, without a reason phrase, cut by the capture: still a head. */
	assert_int_equal(http_parse_head("HTTP/1.1 200\r\nConn", 18, &h), 0);
	assert_int_equal(h.status, 200);
	assert_false(h.complete);
}

static void test_not_http(void **state)
{
	struct http_head h;
	static const char *const bad[] = {
		"",
		"GET",
		"GET / HTTP/2.0\r\n",
		"GET  / HTTP/1.1\r\n",
		"GE T / HTTP/1.1\r\n",
		"GET / HTTP/1.1 extra\r\n",
		"HTTP/1.1 20 OK\r\n",
		"HTTP/1.1 2000 OK\r\n",
		"HTTP/1.1 099 Low\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"GET /\x01 HTTP/1.1\r\n",
		"VERYLONGMETHODNAME / HTTP/1.1\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(http_parse_head(bad[i], strlen(bad[i]), &h), -EINVAL);
		assert_false(h.is_request);
		assert_int_equal(h.status, 0);
	}
	assert_int_equal(http_parse_head(NULL, 0, &h), -EINVAL);
}

static void test_traceparent(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nTraceParent: "
				  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n";
	static const __u8 want[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
				       0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
	struct http_head h;
	__u8 id[16], flags;
	__u64 parent;

	(void)state;
	assert_int_equal(http_parse_head(req, sizeof(req) - 1, &h), 0);
	assert_true(h.has_traceparent);
	assert_memory_equal(h.trace_id, want, 16);
	assert_int_equal(h.parent_id, 0x00f067aa0ba902b7ULL);
	assert_int_equal(h.trace_flags, 1);
	/* W3C rules: lowercase hex, no all-zero ids, version ff invalid, 00 exactly 55 chars,
	 * later versions may extend. */
	static const char *const bad[] = {
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
			http_parse_traceparent(bad[i], strlen(bad[i]), id, &parent, &flags),
			-EINVAL);
	assert_int_equal(http_parse_traceparent(
				 "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
				 61, id, &parent, &flags),
			 0);
	assert_int_equal(
		http_parse_traceparent(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ",
				       57, id, &parent, &flags),
		0);
	assert_int_equal(flags, 0);
	/* Two traceparent headers: neither counts. */
	{
		static const char two[] =
			"GET / HTTP/1.1\r\n"
			"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
			"traceparent: 00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n";

		assert_int_equal(http_parse_head(two, sizeof(two) - 1, &h), 0);
		assert_false(h.has_traceparent);
	}
}

static void test_truncation(void **state)
{
	char buf[2048];
	struct http_head h;
	size_t n;

	(void)state;
	/* A target and a header longer than their fields: kept truncated, flagged. */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "POST /%0400d HTTP/1.1\r\nHost: %0300d\r\n"
			     "Content-Length: 12\r\n\r\n",
			     0, 0);
	assert_int_equal(http_parse_head(buf, n, &h), 0);
	assert_true(h.truncated);
	assert_int_equal(strlen(h.target), sizeof(h.target) - 1);
	assert_int_equal(strlen(h.host), sizeof(h.host) - 1);
	assert_int_equal(h.content_length, 12);
	/* Every prefix of a valid head parses or is refused, never more. */
	for (size_t k = 0; k <= n; k++) {
		int err = http_parse_head(buf, k, &h);

		assert_true(err == 0 || err == -EINVAL);
	}
	/* Bare LF line ends are accepted, headers without a colon ignored. */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "GET / HTTP/1.0\nbogus line\nHost: a\nContent-Length: x1\n\n");
	assert_int_equal(http_parse_head(buf, n, &h), 0);
	assert_string_equal(h.host, "a");
	assert_int_equal(h.content_length, -1);
	assert_true(h.complete);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),	   cmocka_unit_test(test_response),
		cmocka_unit_test(test_not_http),   cmocka_unit_test(test_traceparent),
		cmocka_unit_test(test_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
