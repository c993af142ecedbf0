/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `vigil serve --config vigil.yml`: the one configuration document (analytics/yamldoc.h), read
 * once at start:
 *
 *   listen: 127.0.0.1:7470        top-level scalars: the long options of `vigil serve` (either
 *   interval: 10                  `data-dir` or `data_dir`); the command line wins
 *   global:
 *     evaluation_interval: 1m     rule groups' default interval (default: --interval)
 *     external_labels: {k: v}     $externalLabels in templates
 *   rule_files: [rules/a.yml]      Prometheus rule files (globs), relative to this file
 *   inhibit_rules: [...]          Alertmanager's (analytics/alerts.h)
 *   alerting:, route:, receivers:, templates:, slos:, anomalies:, capacity:,
 *   incidents:
 *                                 sections handed to their owners' parsers (config.c's table)
 *
 * Every error is "FILE:LINE: cause" (a rule file's errors name the rule file and its line), so
 * `vigil serve` refuses to start with one line.
 */
#ifndef VIGIL_SERVICE_CONFIG_H
#define VIGIL_SERVICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/alerts.h"
#include "analytics/amroute.h"
#include "analytics/labels.h"
#include "analytics/rulefile.h"
#include "analytics/yamldoc.h"

struct config_opt {
	const char *key; /* as written ("data_dir") */
	const char *value; /* the scalar's text */
	bool is_bool, bval; /* resolved as a YAML bool */
	int line;
};

/* The sections handed on to other modules, by name. */
enum config_section_id {
	CFG_ALERTING, /* Prometheus' alerting: alertmanagers (notifications) */
	CFG_ROUTE, /* Alertmanager's route (notifications) */
	CFG_RECEIVERS, /* Alertmanager's receivers (notifications) */
	CFG_TEMPLATES, /* Alertmanager's templates (notifications) */
	CFG_SLOS, /* slos: (SLO burn-rate rules) */
	CFG_ANOMALIES, /* anomalies: (service analytics) */
	CFG_CAPACITY, /* capacity: (service analytics) */
	CFG_INCIDENTS, /* incidents: (service analytics) */
	CFG_NSECTIONS,
};

struct vigil_config {
	char *path; /* the file as given */
	struct ydoc *doc; /* kept for the sections' owners */
	struct config_opt *opts;
	size_t nopts;
	int64_t eval_interval_ms; /* global.evaluation_interval; 0 when not given */
	struct labels *external_labels; /* never NULL once loaded */
	struct rule_file *rules; /* rule_files: each parsed and valid */
	size_t nrules;
	struct inhibit_rule *inhibit; /* inhibit_rules: (moved out by the alert engine's owner) */
	size_t ninhibit;
	ynode section[CFG_NSECTIONS]; /* 0 when absent */
	/* Owners of the sections above add their parsed forms here (see config.c's table). */
	struct am_config am; /* alerting, route, receivers (analytics/amroute.h; notifications) */
	bool am_parsed;
};

/* The key of a section (e.g. "slos"). */
const char *config_section_name(enum config_section_id id);

/*
 * Reads and validates path. option_keys: the top-level scalar keys allowed (long option names,
 * '-' and '_' both accepted), NULL-terminated. 0, or -errno with err = "FILE:LINE: cause" (out
 * is then released). An empty path gives an empty configuration.
 */
int config_load(const char *path, const char *const *option_keys, struct vigil_config *out,
		char *err, size_t errlen);
void config_release(struct vigil_config *c);
/* The option's entry, or NULL ('-' and '_' equal). */
const struct config_opt *config_opt(const struct vigil_config *c, const char *key);

#endif
