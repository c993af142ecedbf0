// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: alert templates (expected texts are what `promtool test rules` printed for the same
 * templates and values) and rule-file parsing. The accept/reject comparison with promtool over a
 * corpus is tests/integration/test_rulefiles.py.
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

#include "analytics/rulefile.h"
#include "analytics/template.h"

static const char all_funcs[] =
	"{{ $value }}|{{ humanize $value }}|{{ printf \"%.2f\" $value }}|{{ $labels }}|"
	"{{ humanizeDuration $value }}|{{ humanize1024 $value }}|{{ humanizePercentage $value }}|"
	"{{ humanizeTimestamp $value }}|{{ printf \"%d\" $value }}|{{ printf \"%s\" $value }}|"
	"{{ title \"hello wOrld\" }}|{{ $value | printf \"%v\" }}|{{ 1.5 }}|{{ 1e6 }}|"
	"{{ print 1 2 \"a\" 3 }}";

static char *render(const char *text, double v, const char *a)
{
	struct label l[] = { { "__name__", "x" }, { "a", a } };
	struct labels *ls = labels__new(l, 2);
	struct tmpl_data d = { .value = v, .labels = ls };
	char *out = tmpl_render(text, "__alert_A", &d);

	labels__unref(ls);
	assert_non_null(out);
	return out;
}

static void expect(const char *text, double v, const char *want)
{
	char *got = render(text, v, "1");

	if (strcmp(got, want))
		fail_msg("template '%s' with %g:\n got '%s'\nwant '%s'", text, v, got, want);
	free(got);
}

static void test_template_matches_promtool(void **state)
{
	(void)state;
	expect(all_funcs, 1234567,
	       "1.234567e+06|1.235M|1234567.00|map[__name__:x a:1]|14d 6h 56m 7s|1.177Mi|"
	       "1.235e+08%|1970-01-15 06:56:07 +0000 UTC|%!d(float64=1.234567e+06)|"
	       "%!s(float64=1.234567e+06)|Hello WOrld|1.234567e+06|1.5|1e+06|1 2a3");
	expect(all_funcs, 0.000012345,
	       "1.2345e-05|12.35u|0.00|map[__name__:x a:1]|12.35us|1.234e-05|0.001234%|"
	       "1970-01-01 00:00:00 +0000 UTC|%!d(float64=1.2345e-05)|%!s(float64=1.2345e-05)|"
	       "Hello WOrld|1.2345e-05|1.5|1e+06|1 2a3");
	expect(all_funcs, 123456,
	       "123456|123.5k|123456.00|map[__name__:x a:1]|1d 10h 17m 36s|120.6ki|1.235e+07%|"
	       "1970-01-02 10:17:36 +0000 UTC|%!d(float64=123456)|%!s(float64=123456)|Hello WOrld|"
	       "123456|1.5|1e+06|1 2a3");
}

static void test_template_control(void **state)
{
	(void)state;
	expect("{{ if gt $value 1.0 }}big{{ else if eq $value 1.0 }}one{{ else }}small{{ end }}", 2,
	       "big");
	expect("{{ if gt $value 1.0 }}big{{ else if eq $value 1.0 }}one{{ else }}small{{ end }}", 1,
	       "one");
	expect("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", 0, "__name__=x;a=1;");
	expect("{{ with $labels.a }}a is {{ . }}{{ end }}{{ with $labels.nope }}no{{ end }}", 0,
	       "a is 1");
	expect("{{- /* trim */ -}}  x  {{- $labels.a -}}  y", 0, "x1y");
	expect("{{ $x := 5 }}{{ $x }}{{ $x = 6 }}{{ $x }}", 0, "56");
	expect("{{ define \"d\" }}[{{ . }}]{{ end }}{{ template \"d\" $labels.a }}", 0, "[1]");
	expect("{{ .Labels.a }} {{ .Value }}", 3, "1 3");
	expect("{{ reReplaceAll \"(.*):.*\" \"$1\" \"host:9090\" }} {{ stripPort \"h:1\" }}", 0,
	       "host h");
	expect("{{ gt $value 1 }}", 2,
	       "<error expanding template: incompatible types for comparison>");
	char *s = render("{{ query \"up\" }}", 0, "1");

	assert_non_null(strstr(s, "<error expanding template:"));
	free(s);
}

static void test_template_parse_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "{{ $value ", "unclosed action" },
		{ "{{ $foo }}", "undefined variable \"$foo\"" },
		{ "{{ frob $value }}", "function \"frob\" not defined" },
		{ "{{ end }}", "unexpected {{end}}" },
		{ "{{ else }}", "unexpected {{else}}" },
		{ "{{ if }}x{{ end }}", "missing value for if" },
		{ "{{ if 1 }}", "unexpected EOF" },
		{ "{{ }}", "missing value for command" },
		{ "{{ break }}", "{{break}} outside {{range}}" },
		{ "{{ 1 | 2 }}", "non executable command in pipeline stage 2" },
		{ "{{/* x */ }}", "comment ends before closing delimiter" },
		{ "{{ \"abc }}", "unterminated quoted string" },
		{ "{{ \"a\".x }}", "unexpected . after term" },
		{ "{{ $labels.\"x\" }}", "bad character U+0022" },
		{ "{{ with $x := 1 }}{{ end }}{{ $x }}", "undefined variable \"$x\"" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tmpl *t = tmpl_parse(bad[i].text, "__alert_a", err, sizeof(err));

		if (t)
			fail_msg("'%s' parsed", bad[i].text);
		if (!strstr(err, bad[i].msg) || strncmp(err, "template: __alert_a:1: ", 23))
			fail_msg("'%s': '%s', want '%s'", bad[i].text, err, bad[i].msg);
	}
	static const char *const good[] = { "{{ 1 | }}",    "{{ 1 2 }}", "{{ printf }}",
					    "{{ $y = 2 }}", "}}",	 "{{ nil }}",
					    "{{ .Foo }}" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tmpl *t = tmpl_parse(good[i], "x", err, sizeof(err));

		if (!t)
			fail_msg("'%s': %s", good[i], err);
		tmpl__free(t);
	}
}

static void test_rulefile(void **state)
{
	(void)state;
	static const char good[] = "groups:\n"
				   "- name: g\n"
				   "  interval: 30s\n"
				   "  rules:\n"
				   "  - alert: HighCPU\n"
				   "    expr: rate(x[5m]) > 1\n"
				   "    for: 3s\n"
				   "    keep_firing_for: 1m\n"
				   "    labels: {severity: page}\n"
				   "    annotations:\n"
				   "      summary: '{{ $value }} on {{ $labels.instance }}'\n"
				   "  - record: job:x:rate5m\n"
				   "    expr: sum by (job) (rate(x[5m]))\n";
	struct rule_file rf;
	struct rule_diags d;

	assert_int_equal(rulefile_parse(good, strlen(good), "g.yml", &rf, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(rf.ngroups, 1);
	assert_int_equal(rf.groups[0].interval_ms, 30000);
	assert_int_equal(rf.groups[0].nrules, 2);
	struct rule *r = &rf.groups[0].rules[0];

	assert_int_equal(r->kind, RULE_ALERT);
	assert_string_equal(r->name, "HighCPU");
	assert_int_equal(r->for_ms, 3000);
	assert_int_equal(r->keep_firing_for_ms, 60000);
	assert_int_equal(r->line, 5);
	assert_non_null(r->expr);
	assert_non_null(r->annotations[0].t);
	assert_int_equal(rf.groups[0].rules[1].kind, RULE_RECORD);
	rule_file_release(&rf);
	rule_diags_release(&d);

	static const char bad[] = "groups:\n"
				  "- name: g\n"
				  "  rules:\n"
				  "  - alert: A\n"
				  "    expr: rate(up)\n"
				  "    labels:\n"
				  "      bad-name: x\n";
	assert_int_equal(rulefile_parse(bad, strlen(bad), "b.yml", &rf, &d), -EINVAL);
	assert_int_equal(d.errors, 2);
	assert_int_equal(d.d[0].line, 5);
	assert_non_null(strstr(d.d[0].msg, "could not parse expression"));
	assert_int_equal(d.d[1].line, 7);
	assert_non_null(strstr(d.d[1].msg, "invalid label name: bad-name"));
	rule_diags_release(&d);
	assert_int_equal(rulefile_parse("a: [", 4, "c.yml", &rf, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.d[0].line, 1);
	assert_non_null(strstr(d.d[0].msg, "yaml: did not find expected node content"));
	rule_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_matches_promtool),
		cmocka_unit_test(test_template_control),
		cmocka_unit_test(test_template_parse_errors),
		cmocka_unit_test(test_rulefile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
