/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus rule files: `groups: [{name, interval, limit, rules: [{alert | record, expr, for,
 * keep_firing_for, labels, annotations}]}]`, parsed and validated as Prometheus 2.42's rulefmt does
 * (what `promtool check rules` accepts, this accepts; what it refuses, this refuses), with every
 * error naming its line. Expressions are parsed with the PromQL subset (promql.h); alert label and
 * annotation templates with template.h.
 *
 * Pure functions over the buffer the caller hands in; thread-safe.
 */
#ifndef VIGIL_ANALYTICS_RULEFILE_H
#define VIGIL_ANALYTICS_RULEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/promql.h"
#include "analytics/template.h"

struct rule_kv {
	char *name;
	char *value; /* the template text as written */
	struct tmpl *t; /* parsed (alerting rules only; NULL for recording rules) */
	int line;
};

enum rule_kind { RULE_ALERT, RULE_RECORD };

struct rule {
	enum rule_kind kind;
	char *name; /* alert or record */
	char *expr_text;
	struct pq_expr *expr;
	int64_t for_ms, keep_firing_for_ms;
	struct rule_kv *labels;
	size_t nlabels;
	struct rule_kv *annotations;
	size_t nannotations;
	int line;
};

struct rule_group {
	char *name;
	int64_t interval_ms; /* 0: the global evaluation interval */
	long long limit;
	struct rule *rules;
	size_t nrules;
	int line;
};

struct rule_file {
	char *path;
	struct rule_group *groups;
	size_t ngroups;
};

struct rule_diag {
	int line; /* 1-based; 0 when the problem has no single line (never for vigil's own checks) */
	bool warning; /* a lint (duplicate rules): promtool still accepts the file */
	char msg[320];
};

struct rule_diags {
	struct rule_diag *d;
	size_t n;
	size_t errors; /* diagnostics that are not warnings */
};

/*
 * Parses and validates buf (the contents of path; path is used in messages only). Returns 0 when
 * the file is valid (diags may still hold warnings), -EINVAL when diags holds errors, -ENOMEM. On
 * success out is filled (release with rule_file_release); on error out holds nothing.
 */
int rulefile_parse(const char *buf, size_t len, const char *path, struct rule_file *out,
		   struct rule_diags *diags);
void rule_file_release(struct rule_file *f);
void rule_diags_release(struct rule_diags *d);
/* Rules in the file (all groups). */
size_t rule_file_count(const struct rule_file *f, enum rule_kind kind);

#endif
