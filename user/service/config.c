// SPDX-License-Identifier: GPL-2.0
/* vigil.yml (config.h): one YAML document, its sections checked here or by their owners. */
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/config.h"
#include "util/file.h"

#define MAX_CONFIG_BYTES (16u << 20)

static int cfail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int cfail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
	char what[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", path, line, what);
	else
		snprintf(err, errlen, "%s: %s", path, what);
	return -EINVAL;
}

static bool same_key(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return false;
	return *a == *b;
}

/* ---- global: ---- */

static int parse_global(const struct ydoc *d, ynode n, const char *path, struct vigil_config *c,
			char *err, size_t errlen)
{
	if (ynode_tag(d, n) == YT_NULL)
		return 0;
	if (ynode_kind(d, n) != Y_MAP)
		return cfail(err, errlen, path, ynode_line(d, n), "global wants a mapping");
	for (size_t i = 0; i < ynode_len(d, n); i++) {
		ynode k = ymap_key(d, n, i), v = ymap_value(d, n, i);
		const char *key = ynode_str(d, k);

		if (!strcmp(key, "evaluation_interval")) {
			const char *s = ynode_str(d, v);
			int64_t ms;

			if (ynode_kind(d, v) != Y_SCALAR || pq_parse_duration(s, strlen(s), &ms) ||
			    ms <= 0)
				return cfail(err, errlen, path, ynode_line(d, v),
					     "not a valid duration string: \"%s\"", s);
			c->eval_interval_ms = ms;
		} else if (!strcmp(key, "external_labels")) {
			struct label *l;
			size_t nl = ynode_len(d, v);
			struct labels *ls;

			if (ynode_tag(d, v) == YT_NULL)
				continue;
			if (ynode_kind(d, v) != Y_MAP)
				return cfail(err, errlen, path, ynode_line(d, v),
					     "external_labels wants a mapping");
			l = calloc(nl + 1, sizeof(*l));
			if (!l)
				return -ENOMEM;
			for (size_t j = 0; j < nl; j++) {
				ynode lk = ymap_key(d, v, j), lv = ymap_value(d, v, j);

				l[j].name = ynode_str(d, lk);
				l[j].value = ynode_str(d, lv);
				if (!label_name_valid(l[j].name) ||
				    !strcmp(l[j].name, LABEL_METRIC_NAME)) {
					free(l);
					return cfail(err, errlen, path, ynode_line(d, lk),
						     "\"%s\" is not a valid label name",
						     ynode_str(d, lk));
				}
				if (ynode_kind(d, lv) != Y_SCALAR) {
					free(l);
					return cfail(err, errlen, path, ynode_line(d, lv),
						     "the value of label \"%s\" must be a string",
						     ynode_str(d, lk));
				}
			}
			ls = labels__new(l, nl);
			free(l);
			if (!ls)
				return -ENOMEM;
			labels__unref(c->external_labels);
			c->external_labels = ls;
		} else {
			return cfail(err, errlen, path, ynode_line(d, k),
				     "field %s not found in global (known: evaluation_interval, "
				     "external_labels)",
				     key);
		}
	}
	return 0;
}

/* ---- rule_files: ---- */

static int load_rule_file(const char *file, struct vigil_config *c, char *err, size_t errlen)
{
	struct rule_file rf, *n;
	struct rule_diags dg;
	size_t len = 0;
	char *buf = file_read(file, MAX_CONFIG_BYTES, &len);
	int rc;

	if (!buf)
		return cfail(err, errlen, file, 0, "cannot read the rule file: %s",
			     strerror(errno));
	rc = rulefile_parse(buf, len, file, &rf, &dg);
	free(buf);
	if (rc) {
		const struct rule_diag *first = NULL;

		for (size_t i = 0; i < dg.n && !first; i++)
			if (!dg.d[i].warning)
				first = &dg.d[i];
		if (rc == -ENOMEM)
			snprintf(err, errlen, "%s: out of memory", file);
		else
			cfail(err, errlen, file, first ? first->line : 0, "%s",
			      first ? first->msg : "invalid rule file");
		rule_diags_release(&dg);
		return rc;
	}
	rule_diags_release(&dg);
	n = realloc(c->rules, (c->nrules + 1) * sizeof(*n));
	if (!n) {
		rule_file_release(&rf);
		return -ENOMEM;
	}
	c->rules = n;
	c->rules[c->nrules++] = rf;
	return 0;
}

static int parse_rule_files(const struct ydoc *d, ynode n, const char *path, struct vigil_config *c,
			    char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;

	if (ynode_tag(d, n) == YT_NULL)
		return 0;
	if (ynode_kind(d, n) != Y_SEQ)
		return cfail(err, errlen, path, ynode_line(d, n),
			     "rule_files wants a list of file names or globs");
	for (size_t i = 0; i < ynode_len(d, n); i++) {
		ynode it = yseq_item(d, n, i);
		const char *pat = ynode_str(d, it);
		char full[4096];
		glob_t g;
		int rc;

		if (ynode_kind(d, it) != Y_SCALAR || !pat[0])
			return cfail(err, errlen, path, ynode_line(d, it),
				     "a rule file must be a file name or a glob");
		if (pat[0] == '/')
			snprintf(full, sizeof(full), "%s", pat);
		else
			snprintf(full, sizeof(full), "%.*s%s", (int)dirlen, path, pat);
		rc = glob(full, GLOB_ERR, NULL, &g);
		if (rc == GLOB_NOMATCH) {
			/* Prometheus accepts a pattern that matches nothing; a plain name that
			 * does not exist is more likely a typo: say so. */
			if (!strpbrk(pat, "*?["))
				return cfail(err, errlen, path, ynode_line(d, it),
					     "rule file \"%s\" does not exist", full);
			continue;
		}
		if (rc)
			return cfail(err, errlen, path, ynode_line(d, it), "cannot list \"%s\"",
				     full);
		for (size_t k = 0; k < g.gl_pathc && !rc; k++) {
			bool dup = false;

			for (size_t j = 0; j < c->nrules && !dup; j++)
				dup = !strcmp(c->rules[j].path ? c->rules[j].path : "",
					      g.gl_pathv[k]);
			if (!dup)
				rc = load_rule_file(g.gl_pathv[k], c, err, errlen);
		}
		globfree(&g);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_inhibit(const struct ydoc *d, ynode n, const char *path, struct vigil_config *c,
			 char *err, size_t errlen)
{
	return inhibit_rules_parse(d, n, path, &c->inhibit, &c->ninhibit, err, errlen);
}

/*
 * The sections. A NULL parser: accepted as written, handed on through c->section[] to the
 * module that owns it (which parses it when it starts; until its parser is listed here, errors in
 * it show then). Owners: add `{ "name", CFG_X, your_parse }` with
 *   int your_parse(const struct ydoc *d, ynode section, const char *path,
 *                  struct vigil_config *c, char *err, size_t errlen)
 * filling your field of struct vigil_config, errors "PATH:LINE: cause".
 */
typedef int (*section_fn)(const struct ydoc *d, ynode n, const char *path, struct vigil_config *c,
			  char *err, size_t errlen);

/* route, receivers and alerting refer to each other: read together, at the first of them. */
static int parse_notify(const struct ydoc *d, ynode n, const char *path, struct vigil_config *c,
			char *err, size_t errlen)
{
	(void)n;
	if (c->am_parsed)
		return 0;
	c->am_parsed = true;
	return am_config_parse(d, ydoc_root(d), path, &c->am, err, errlen);
}

/* Alertmanager's templates: files of named templates, which Vigil does not read. */
static int parse_templates(const struct ydoc *d, ynode n, const char *path, struct vigil_config *c,
			   char *err, size_t errlen)
{
	(void)c;
	if (ynode_tag(d, n) == YT_NULL || (ynode_kind(d, n) == Y_SEQ && !ynode_len(d, n)))
		return 0;
	snprintf(err, errlen,
		 "%s:%d: templates: not supported by vigil (title, text, subject and description "
		 "take Go templates inline)",
		 path, ynode_line(d, n));
	return -EINVAL;
}

static const struct {
	const char *key;
	int id; /* enum config_section_id, or -1 */
	section_fn parse;
} sections[] = {
	{ "global", -1, parse_global },
	{ "rule_files", -1, parse_rule_files },
	{ "inhibit_rules", -1, parse_inhibit },
	{ "alerting", CFG_ALERTING, parse_notify },
	{ "route", CFG_ROUTE, parse_notify },
	{ "receivers", CFG_RECEIVERS, parse_notify },
	{ "templates", CFG_TEMPLATES, parse_templates },
	{ "slos", CFG_SLOS, NULL },
	{ "anomalies", CFG_ANOMALIES, NULL },
	{ "capacity", CFG_CAPACITY, NULL },
	{ "incidents", CFG_INCIDENTS, NULL },
};

#define NSECT (sizeof(sections) / sizeof(sections[0]))

const char *config_section_name(enum config_section_id id)
{
	for (size_t i = 0; i < NSECT; i++)
		if (sections[i].id == (int)id)
			return sections[i].key;
	return "";
}

void config_release(struct vigil_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrules; i++)
		rule_file_release(&c->rules[i]);
	free(c->rules);
	for (size_t i = 0; i < c->ninhibit; i++)
		inhibit_rule_release(&c->inhibit[i]);
	free(c->inhibit);
	labels__unref(c->external_labels);
	am_config_release(&c->am);
	free(c->opts);
	ydoc_free(c->doc);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

const struct config_opt *config_opt(const struct vigil_config *c, const char *key)
{
	for (size_t i = 0; i < c->nopts; i++)
		if (same_key(c->opts[i].key, key))
			return &c->opts[i];
	return NULL;
}

static int parse_doc(struct vigil_config *c, const char *const *option_keys, char *err,
		     size_t errlen)
{
	const struct ydoc *d = c->doc;
	ynode root = ydoc_root(d);
	size_t n, first;
	long dup;
	int rc = 0;

	if (!root || ynode_tag(d, root) == YT_NULL)
		return 0;
	if (ynode_kind(d, root) != Y_MAP)
		return cfail(err, errlen, c->path, ynode_line(d, root),
			     "the configuration must be a mapping (key: value lines)");
	dup = ymap_duplicate(d, root, &first);
	if (dup >= 0)
		return cfail(err, errlen, c->path, ynode_line(d, ymap_key(d, root, (size_t)dup)),
			     "mapping key \"%s\" already defined at line %d",
			     ynode_str(d, ymap_key(d, root, (size_t)dup)),
			     ynode_line(d, ymap_key(d, root, first)));
	n = ynode_len(d, root);
	c->opts = calloc(n + 1, sizeof(*c->opts));
	if (!c->opts)
		return -ENOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		ynode k = ymap_key(d, root, i), v = ymap_value(d, root, i);
		const char *key = ynode_str(d, k);
		bool done = false;

		for (size_t s = 0; s < NSECT && !done; s++) {
			if (strcmp(key, sections[s].key))
				continue;
			done = true;
			if (sections[s].id >= 0)
				c->section[sections[s].id] = v;
			if (sections[s].parse)
				rc = sections[s].parse(d, v, c->path, c, err, errlen);
		}
		for (const char *const *o = option_keys; !done && o && *o; o++) {
			if (!same_key(key, *o))
				continue;
			done = true;
			if (ynode_kind(d, v) != Y_SCALAR)
				rc = cfail(err, errlen, c->path, ynode_line(d, v),
					   "'%s' wants a single value", key);
			else
				c->opts[c->nopts++] = (struct config_opt){
					.key = key,
					.value = ynode_str(d, v),
					.is_bool = ynode_tag(d, v) == YT_BOOL,
					.bval = ynode_tag(d, v) == YT_BOOL &&
						(!strcmp(ynode_str(d, v), "true") ||
						 !strcmp(ynode_str(d, v), "True") ||
						 !strcmp(ynode_str(d, v), "TRUE") ||
						 !strcmp(ynode_str(d, v), "yes") ||
						 !strcmp(ynode_str(d, v), "on")),
					.line = ynode_line(d, v),
				};
		}
		if (!done && !rc)
			rc = cfail(
				err, errlen, c->path, ynode_line(d, k),
				"unknown key '%s' (options, global, rule_files, inhibit_rules, "
				"alerting, route, receivers, templates, slos, anomalies, capacity, "
				"incidents)",
				key);
	}
	return rc;
}

int config_load(const char *path, const char *const *option_keys, struct vigil_config *out,
		char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int line = 0, rc;

	memset(out, 0, sizeof(*out));
	out->external_labels = labels__empty();
	out->path = strdup(path ? path : "");
	if (!out->external_labels || !out->path) {
		rc = -ENOMEM;
		goto fail;
	}
	if (!path || !path[0])
		return 0;
	buf = file_read(path, MAX_CONFIG_BYTES, &len);
	if (!buf) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read the configuration: %s", path,
			 strerror(errno));
		goto fail;
	}
	out->doc = ydoc_load(buf, len, err, errlen, &line);
	free(buf);
	if (!out->doc) {
		char why[400];

		rc = -errno;
		snprintf(why, sizeof(why), "%s", err);
		cfail(err, errlen, path, line, "%s", why);
		goto fail;
	}
	rc = parse_doc(out, option_keys, err, errlen);
	if (!rc)
		return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path ? path : "config");
	config_release(out);
	return rc;
}
