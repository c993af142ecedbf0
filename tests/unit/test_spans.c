// SPDX-License-Identifier: GPL-2.0
/* Unit tests: the span model (model/spans.c) and the trace exporters (export/chrome.c, otlp.c,
 * tracemap.c, tracetext.c), their output parsed back with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "export/trace.h"
#include "model/spans.h"

#define MS 1000000ull

/*
 * A small trace: root [0, 100] ms; parent process P (pid 10) [1, 99]; children A (pid 11)
 * [5, 40] and B (pid 12) [5, 90]; P's read [6, 40.5] ended by A's write at 39 ms (a pipe link) and
 * its wait4 [41, 91] woken by B's exit at 90 ms.
 */
struct fixture {
	struct spans *s;
	__u32 root, p, a, b, rd, wt;
};

static void build(struct fixture *f)
{
	static const __u8 tid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct span_link l = { 0 };

	f->s = spans__new();
	assert_non_null(f->s);
	spans__seed(f->s, 42);
	spans__set_trace_id(f->s, tid);
	spans__set_host(f->s, "testhost");
	spans__set_clock(f->s, 1000000000000000000ll);
	f->root = spans__add(f->s, SPAN_ROOT, "job", 10, 10, 0, 100 * MS);
	f->p = spans__add(f->s, SPAN_PROCESS, "parent", 10, 10, 1 * MS, 99 * MS);
	f->a = spans__add(f->s, SPAN_PROCESS, "worker", 11, 11, 5 * MS, 40 * MS);
	f->b = spans__add(f->s, SPAN_PROCESS, "worker", 12, 12, 5 * MS, 90 * MS);
	f->rd = spans__add(f->s, SPAN_SYSCALL, "read", 10, 10, 6 * MS, 40 * MS + MS / 2);
	f->wt = spans__add(f->s, SPAN_SYSCALL, "wait4", 10, 10, 41 * MS, 91 * MS);
	spans__at(f->s, f->p)->parent = f->root;
	spans__at(f->s, f->a)->parent = f->p;
	spans__at(f->s, f->b)->parent = f->p;
	spans__at(f->s, f->rd)->parent = f->p;
	spans__at(f->s, f->wt)->parent = f->p;
	const char *argv[] = { "parent", "--x", "a\"b" };
	assert_int_equal(spans__attr_strs(f->s, f->p, "process.command_args", argv, 3), 0);
	assert_int_equal(spans__attr_int(f->s, f->p, "process.exit.code", 0), 0);
	assert_int_equal(spans__attr_int(f->s, f->a, "process.exit.code", 3), 0);
	assert_int_equal(spans__attr_int(f->s, f->a, "process.parent_pid", 10), 0);
	assert_int_equal(spans__attr_int(f->s, f->b, "process.parent_pid", 10), 0);
	assert_int_equal(spans__attr_int(f->s, f->b, "process.exit.code", 0), 0);
	assert_int_equal(spans__attr_str(f->s, f->rd, "vigil.fd.target", "pipe:[7]"), 0);
	spans__set_status(f->s, f->a, SPAN_STATUS_ERROR, "exit status 3");
	l.kind = LINK_PIPE;
	l.from = f->a;
	l.from_ns = 39 * MS;
	l.to_ns = 40 * MS;
	l.from_pid = l.from_tid = 11;
	assert_int_equal(spans__link(f->s, f->rd, &l), 0);
	l.kind = LINK_WAKEUP;
	l.from = f->b;
	l.from_ns = 90 * MS;
	l.to_ns = 91 * MS;
	l.from_pid = l.from_tid = 12;
	assert_int_equal(spans__link(f->s, f->wt, &l), 0);
}

static void test_model(void **state)
{
	struct fixture f;
	__u32 kids[8];
	const struct span_attr *a;

	(void)state;
	build(&f);
	assert_int_equal(spans__count(f.s), 6);
	assert_int_equal(f.root, 0);
	/* ids: distinct, not 0, found back */
	for (__u32 i = 0; i < 6; i++) {
		assert_true(spans__get(f.s, i)->span_id != 0);
		assert_int_equal(spans__find_id(f.s, spans__get(f.s, i)->span_id), i);
		for (__u32 k = 0; k < i; k++)
			assert_true(spans__get(f.s, i)->span_id != spans__get(f.s, k)->span_id);
	}
	assert_int_equal(spans__find_id(f.s, 12345), SPAN_NONE);
	/* a key set twice keeps the last value */
	assert_int_equal(spans__attr_int(f.s, f.p, "process.exit.code", 7), 0);
	a = spans__attr(f.s, f.p, "process.exit.code");
	assert_non_null(a);
	assert_int_equal(a->i, 7);
	assert_int_equal(spans__get(f.s, f.p)->nattrs, 2);
	assert_int_equal(spans__children(f.s, f.p, kids, 8), 4);
	assert_int_equal(spans__children(f.s, f.root, kids, 8), 1);
	assert_int_equal(kids[0], f.p);
	assert_null(spans__attr(f.s, f.p, "nope"));
	spans__free(f.s);
	spans__free(NULL);
}

static void test_critical_path(void **state)
{
	struct fixture f;

	(void)state;
	build(&f);
	/* Jaeger's walk from the end: wait4 (last to finish), whose wake-up came from B; B then
	 * covers back to 5 ms, so neither the read nor A (both overlap B) are on the path. */
	spans__critical_path(f.s, f.root);
	assert_true(spans__get(f.s, f.root)->flags & SPAN_F_CRITICAL);
	assert_true(spans__get(f.s, f.p)->flags & SPAN_F_CRITICAL);
	assert_true(spans__get(f.s, f.wt)->flags & SPAN_F_CRITICAL);
	assert_true(spans__get(f.s, f.b)->flags & SPAN_F_CRITICAL);
	assert_false(spans__get(f.s, f.a)->flags & SPAN_F_CRITICAL);
	assert_false(spans__get(f.s, f.rd)->flags & SPAN_F_CRITICAL);
	/* Without the wake-up link, the read (ended by A's write) is next after wait4. */
	spans__at(f.s, f.wt)->nlinks = 0;
	spans__critical_path(f.s, f.root);
	assert_true(spans__get(f.s, f.rd)->flags & SPAN_F_CRITICAL);
	assert_true(spans__get(f.s, f.a)->flags & SPAN_F_CRITICAL);
	spans__free(f.s);
}

static void test_nest_and_traces(void **state)
{
	static const __u8 other[16] = { 0xaa };
	struct fixture f;
	__u32 fn, sc, tr;

	(void)state;
	build(&f);
	fn = spans__add(f.s, SPAN_FUNCTION, "handler", 10, 10, 50 * MS, 60 * MS);
	sc = spans__add(f.s, SPAN_SYSCALL, "write", 10, 10, 55 * MS, 56 * MS);
	spans__at(f.s, fn)->parent = f.p;
	spans__at(f.s, sc)->parent = f.p;
	assert_int_equal(spans__nest(f.s), 0);
	/* the write sits in the handler, which sits in wait4's extent on the same thread */
	assert_int_equal(spans__get(f.s, sc)->parent, fn);
	assert_int_equal(spans__get(f.s, fn)->parent, f.wt);
	assert_int_equal(spans__get(f.s, f.rd)->parent, f.p);
	/* traces: a span's own, inherited by everything below it */
	tr = spans__trace_add(f.s, other);
	assert_int_equal(tr, 1);
	assert_int_equal(spans__trace_add(f.s, other), 1);
	spans__at(f.s, fn)->trace = tr;
	spans__inherit_traces(f.s);
	assert_int_equal(spans__get(f.s, sc)->trace, tr);
	assert_int_equal(spans__get(f.s, f.wt)->trace, 0);
	assert_memory_equal(spans__trace_id(f.s, tr), other, 16);
	spans__free(f.s);
}

/* The exporter's output in memory. */
static char *render(const struct spans *s, enum trace_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(export_trace(s, fmt, m, "9.9"), 0);
	fclose(m);
	return buf;
}

static json_t *find_event(json_t *events, const char *ph, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(events, i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "ph")), ph) &&
		    !strcmp(json_string_value(json_object_get(e, "name")), name))
			return e;
	}
	return NULL;
}

static void test_chrome(void **state)
{
	struct fixture f;
	json_error_t jerr;
	json_t *doc, *ev, *e, *args;
	char *text, id[17];
	size_t i, flows_s = 0, flows_f = 0, x = 0;

	(void)state;
	build(&f);
	spans__critical_path(f.s, f.root);
	text = render(f.s, TRACE_FMT_CHROME);
	doc = json_loads(text, 0, &jerr);
	assert_non_null(doc);
	ev = json_object_get(doc, "traceEvents");
	assert_true(json_is_array(ev));
	json_array_foreach(ev, i, e)
	{
		const char *ph = json_string_value(json_object_get(e, "ph"));

		x += !strcmp(ph, "X");
		flows_s += !strcmp(ph, "s");
		flows_f += !strcmp(ph, "f");
	}
	assert_int_equal(x, 6);
	assert_int_equal(flows_s, 2);
	assert_int_equal(flows_f, 2);
	e = find_event(ev, "X", "parent");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "cat")), "process");
	assert_true(json_number_value(json_object_get(e, "dur")) == 98000.0);
	assert_true(json_number_value(json_object_get(e, "ts")) == 1000.0);
	args = json_object_get(e, "args");
	assert_int_equal(json_array_size(json_object_get(args, "argv")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(args, "argv"), 2)),
			    "a\"b");
	assert_int_equal(json_integer_value(json_object_get(args, "exit_code")), 0);
	assert_true(json_is_true(json_object_get(args, "critical_path")));
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)spans__get(f.s, f.root)->span_id);
	assert_string_equal(json_string_value(json_object_get(args, "parent_span_id")), id);
	e = find_event(ev, "X", "worker"); /* B: starts with A, ends later, so comes first */
	args = json_object_get(e, "args");
	assert_int_equal(json_integer_value(json_object_get(e, "pid")), 12);
	assert_int_equal(json_integer_value(json_object_get(args, "ppid")), 10);
	assert_null(json_object_get(args, "error"));
	e = find_event(ev, "X", "read");
	assert_string_equal(json_string_value(json_object_get(e, "cat")), "syscall");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(e, "args"), "target")),
		"pipe:[7]");
	/* The pipe flow: from A's track at 39 ms to P's track, inside the read. */
	e = find_event(ev, "s", "pipe");
	assert_int_equal(json_integer_value(json_object_get(e, "pid")), 11);
	assert_true(json_number_value(json_object_get(e, "ts")) == 39000.0);
	e = find_event(ev, "f", "pipe");
	assert_int_equal(json_integer_value(json_object_get(e, "pid")), 10);
	assert_string_equal(json_string_value(json_object_get(e, "bp")), "e");
	assert_true(json_number_value(json_object_get(e, "ts")) < 40500.0);
	assert_non_null(find_event(ev, "M", "process_name"));
	json_decref(doc);
	free(text);
	spans__free(f.s);
}

static void test_otlp(void **state)
{
	struct fixture f;
	json_error_t jerr;
	json_t *doc, *rs, *r, *spans, *sp;
	char *text;
	size_t i, k, total = 0;
	bool saw_link = false;

	(void)state;
	build(&f);
	text = render(f.s, TRACE_FMT_OTLP);
	doc = json_loads(text, 0, &jerr);
	assert_non_null(doc);
	rs = json_object_get(doc, "resourceSpans");
	assert_int_equal(json_array_size(rs), 3); /* one per process; the root in its command's */
	json_array_foreach(rs, i, r)
	{
		json_t *attrs = json_object_get(json_object_get(r, "resource"), "attributes"), *a;
		bool svc = false, host = false, pid = false;

		json_array_foreach(attrs, k, a)
		{
			const char *key = json_string_value(json_object_get(a, "key"));

			svc |= !strcmp(key, "service.name");
			host |= !strcmp(key, "host.name");
			pid |= !strcmp(key, "process.pid");
		}
		assert_true(svc && host && pid);
		sp = json_array_get(json_object_get(r, "scopeSpans"), 0);
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(sp, "scope"), "version")),
			"9.9");
		spans = json_object_get(sp, "spans");
		json_array_foreach(spans, k, sp)
		{
			const char *tid = json_string_value(json_object_get(sp, "traceId"));
			const char *sid = json_string_value(json_object_get(sp, "spanId"));
			const char *start =
				json_string_value(json_object_get(sp, "startTimeUnixNano"));

			total++;
			assert_int_equal(strlen(tid), 32);
			assert_string_equal(tid, "0102030405060708090a0b0c0d0e0f10");
			assert_int_equal(strlen(sid), 16);
			assert_non_null(start);
			assert_true(strtoull(start, NULL, 10) >= 1000000000000000000ull);
			if (json_array_size(json_object_get(sp, "links")))
				saw_link = true;
			if (!strcmp(json_string_value(json_object_get(sp, "name")), "worker") &&
			    json_object_get(json_object_get(sp, "status"), "code"))
				assert_int_equal(json_integer_value(json_object_get(
							 json_object_get(sp, "status"), "code")),
						 2);
		}
	}
	assert_int_equal(total, 6);
	assert_true(saw_link);
	json_decref(doc);
	free(text);
	spans__free(f.s);
}

static void test_map_and_text(void **state)
{
	struct fixture f;
	json_error_t jerr;
	json_t *doc, *edges, *e;
	char *text;
	size_t i;
	bool pipe = false;

	(void)state;
	build(&f);
	spans__critical_path(f.s, f.root);
	text = render(f.s, TRACE_FMT_MAP_JSON);
	doc = json_loads(text, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "services")), 2);
	edges = json_object_get(doc, "edges");
	json_array_foreach(edges, i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "kind")), "pipe")) {
			pipe = true;
			assert_string_equal(json_string_value(json_object_get(e, "from")),
					    "worker");
			assert_string_equal(json_string_value(json_object_get(e, "to")), "parent");
			assert_int_equal(json_integer_value(json_object_get(e, "count")), 1);
			assert_true(json_number_value(json_object_get(e, "p50_ms")) == 1.0);
			assert_int_equal(json_integer_value(json_object_get(e, "errors")), 0);
		}
	}
	assert_true(pipe);
	json_decref(doc);
	free(text);
	text = render(f.s, TRACE_FMT_DOT);
	assert_non_null(strstr(text, "digraph vigil {"));
	assert_non_null(strstr(text, "\"worker\" -> \"parent\" [label=\"pipe x1"));
	free(text);
	text = render(f.s, TRACE_FMT_TEXT);
	assert_non_null(strstr(text, "3 processes"));
	assert_non_null(strstr(text, "* └─ "));
	assert_non_null(strstr(text, "worker [12]  exit 0"));
	assert_non_null(strstr(text, "critical path:"));
	free(text);
	spans__free(f.s);
}

static void test_formats(void **state)
{
	(void)state;
	assert_int_equal(trace_format_by_path("a.json"), TRACE_FMT_CHROME);
	assert_int_equal(trace_format_by_path("a.otlp.json"), TRACE_FMT_OTLP);
	assert_int_equal(trace_format_by_path("a.dot"), TRACE_FMT_DOT);
	assert_int_equal(trace_format_by_path("a.svg"), TRACE_FMT_NONE);
	assert_int_equal(trace_format_by_name("otlp"), TRACE_FMT_OTLP);
	assert_int_equal(trace_format_by_name("pprof"), TRACE_FMT_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_critical_path),
		cmocka_unit_test(test_nest_and_traces),
		cmocka_unit_test(test_chrome),
		cmocka_unit_test(test_otlp),
		cmocka_unit_test(test_map_and_text),
		cmocka_unit_test(test_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
