// SPDX-License-Identifier: GPL-2.0
/* vigil rules check FILE...: Prometheus rule files validated as `promtool check rules` does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/rulefile.h"
#include "cmd/commands.h"
#include "util/cli.h"

static const char check_help[] =
	"Usage: vigil rules check FILE...\n"
	"\n"
	"Validate Prometheus rule files: YAML syntax, known fields, durations, alert/record names,\n"
	"PromQL expressions, label names and alert templates, accepting and refusing what\n"
	"`promtool check rules` does. Every error names FILE:LINE; duplicate rules are a warning.\n"
	"Exit status: 0 when every file is valid, 1 otherwise.\n"
	"\n"
	"Examples:\n"
	"  vigil rules check /etc/vigil/rules/*.yml\n"
	"  vigil rules check alerts.yml && systemctl reload vigil\n";

static int check_one(const char *path)
{
	struct rule_file rf;
	struct rule_diags d;
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!f)
		return cli_error("rules check", "cannot read '%s': %s", path, strerror(errno));
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return cli_error("rules check", "'%s': out of memory", path);
			}
			buf = nb;
		}
		size_t r = fread(buf + len, 1, cap - len, f);

		len += r;
		if (!r)
			break;
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return cli_error("rules check", "cannot read '%s': %s", path, strerror(EIO));
	}
	fclose(f);
	rc = rulefile_parse(buf ? buf : "", len, path, &rf, &d);
	free(buf);
	if (rc == -ENOMEM)
		return cli_error("rules check", "'%s': out of memory", path);
	for (size_t i = 0; i < d.n; i++) {
		if (d.d[i].line)
			fprintf(stderr, "vigil rules check: %s:%d: %s%s\n", path, d.d[i].line,
				d.d[i].warning ? "warning: " : "", d.d[i].msg);
		else
			fprintf(stderr, "vigil rules check: %s: %s%s\n", path,
				d.d[i].warning ? "warning: " : "", d.d[i].msg);
	}
	if (!rc) {
		printf("%s: ok, %zu rules (%zu alerting, %zu recording) in %zu groups\n", path,
		       rule_file_count(&rf, RULE_ALERT) + rule_file_count(&rf, RULE_RECORD),
		       rule_file_count(&rf, RULE_ALERT), rule_file_count(&rf, RULE_RECORD),
		       rf.ngroups);
		rule_file_release(&rf);
	}
	rule_diags_release(&d);
	return rc ? 1 : 0;
}

int cmd_rules_check(int argc, char **argv)
{
	int rc = 0, files = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(check_help, stdout);
			return 0;
		}
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--") && !files) {
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] && strcmp(argv[i - 1], "--"))
			return cli_error("rules check",
					 "unknown option '%s' (see 'vigil rules check --help')",
					 argv[i]);
		files++;
		if (check_one(argv[i]))
			rc = 1;
	}
	if (!files)
		return cli_error("rules check",
				 "no rule file given (see 'vigil rules check --help')");
	return rc;
}
