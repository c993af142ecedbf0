/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Alert templates: Go text/template as Prometheus uses it in rule labels and annotations
 * ("{{ $value }}", "{{ $labels.instance }}", "{{ humanize $value }}", "{{ if gt $value 1.0 }}").
 *
 * Parsing follows text/template's parser, so a template `promtool check rules` refuses is refused
 * here with the same message (unclosed action, unexpected {{end}}, undefined variable "$x", function
 * "x" not defined, ...). Parsing predeclares $labels, $externalLabels, $externalURL and $value, as
 * Prometheus does.
 *
 * Execution supports: text, actions with pipelines, variables, fields of . and of maps, if / else
 * if / else, with, range over label maps, break, continue, define / template / block; the functions
 * and, or, not, len, index, print, printf, println, eq, ne, lt, le, gt, ge, humanize, humanize1024,
 * humanizeDuration, humanizePercentage, humanizeTimestamp, toUpper, toLower, title, match,
 * reReplaceAll, stripPort, stripDomain, safeHtml, urlquery, html, js, externalURL, pathPrefix,
 * parseDuration. Functions that query the store (query, first, label, value, sortByLabel, strvalue,
 * args, tableLink, graphLink, toTime) parse but fail at execution; like Prometheus, a failed
 * expansion yields "<error expanding template: ...>".
 *
 * Pure functions; thread-safe (a parsed template is immutable).
 */
#ifndef VIGIL_ANALYTICS_TEMPLATE_H
#define VIGIL_ANALYTICS_TEMPLATE_H

#include <stddef.h>

#include "analytics/labels.h"

struct tmpl;

/* Parses text. NULL with err set to text/template's message ("template: NAME:LINE: why"). name
 * names the template in messages (Prometheus uses "__alert_" + the alert name). */
struct tmpl *tmpl_parse(const char *text, const char *name, char *err, size_t errlen);
void tmpl__free(struct tmpl *t);

/* A further field of "." (notification templates: .Status, .CommonLabels, ...): a string or,
 * when m is set, a label map. */
struct tmpl_field {
	const char *name;
	const char *s;
	const struct labels *m;
};

struct tmpl_data {
	double value;
	const struct labels *labels;
	const struct labels *external_labels; /* may be NULL */
	const char *external_url; /* may be NULL */
	const struct tmpl_field *fields; /* may be NULL */
	size_t nfields;
};

/* The expansion (malloc'd; NULL only when out of memory). An execution error gives Prometheus'
 * "<error expanding template: ...>" text. */
char *tmpl_expand(const struct tmpl *t, const struct tmpl_data *d);
/* Parse then expand; a parse error is reported in the text the same way. */
char *tmpl_render(const char *text, const char *name, const struct tmpl_data *d);

#endif
