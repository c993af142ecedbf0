// SPDX-License-Identifier: GPL-2.0
/*
 * Rule files in two passes, as Prometheus reads them: decoding (yaml.v3 into rulefmt's structs:
 * unknown fields, duplicate keys, wrong types, bad durations), then, when that succeeded,
 * validation (rulefmt.Validate: names, expressions, fields that recording rules may not have,
 * label names, templates).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/labels.h"
#include "analytics/rulefile.h"
#include "analytics/yamldoc.h"

struct rp {
	const struct ydoc *y;
	struct rule_diags *diags;
	bool nomem;
};

static void diag(struct rp *p, int line, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void diag(struct rp *p, int line, bool warning, const char *fmt, ...)
{
	struct rule_diag *d = realloc(p->diags->d, (p->diags->n + 1) * sizeof(*d));
	va_list ap;

	if (!d) {
		p->nomem = true;
		return;
	}
	p->diags->d = d;
	d = &d[p->diags->n++];
	d->line = line;
	d->warning = warning;
	if (!warning)
		p->diags->errors++;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

/* yaml.v3's "cannot unmarshal !!seq into string" (scalars show their text). */
static void type_error(struct rp *p, ynode n, const char *into)
{
	enum ytag t = ynode_tag(p->y, n);

	if (ynode_kind(p->y, n) == Y_SCALAR)
		diag(p, ynode_line(p->y, n), false, "cannot unmarshal %s `%s` into %s",
		     ytag_name(t), ynode_str(p->y, n), into);
	else
		diag(p, ynode_line(p->y, n), false, "cannot unmarshal %s into %s", ytag_name(t),
		     into);
}

/* Known keys only, no duplicates. */
static void check_keys(struct rp *p, ynode m, const char *const *known, const char *type)
{
	size_t first;
	long dup = ymap_duplicate(p->y, m, &first);

	if (dup >= 0) {
		ynode k = ymap_key(p->y, m, (size_t)dup);

		diag(p, ynode_line(p->y, k), false, "mapping key \"%s\" already defined at line %d",
		     ynode_str(p->y, k), ynode_line(p->y, ymap_key(p->y, m, first)));
	}
	for (size_t i = 0; i < ynode_len(p->y, m); i++) {
		ynode k = ymap_key(p->y, m, i);
		const char *ks = ynode_str(p->y, k);
		bool ok = false;

		for (const char *const *kn = known; *kn; kn++)
			if (!strcmp(*kn, ks))
				ok = true;
		if (!ok)
			diag(p, ynode_line(p->y, k), false, "field %s not found in type %s", ks,
			     type);
	}
}

/* A string field: any scalar (null is ""); sequences and mappings are type errors. */
static char *str_field(struct rp *p, ynode v)
{
	char *s;

	if (v && ynode_kind(p->y, v) != Y_SCALAR) {
		type_error(p, v, "string");
		return NULL;
	}
	s = strdup(v ? ynode_str(p->y, v) : "");
	if (!s)
		p->nomem = true;
	return s;
}

/* model.Duration from YAML: its text must parse (promtool reports it without a line). */
static void duration_field(struct rp *p, ynode v, int64_t *ms)
{
	const char *s;

	*ms = 0;
	if (!v || ynode_tag(p->y, v) == YT_NULL)
		return;
	if (ynode_kind(p->y, v) != Y_SCALAR) {
		type_error(p, v, "string");
		return;
	}
	s = ynode_str(p->y, v);
	if (pq_parse_duration(s, strlen(s), ms))
		diag(p, ynode_line(p->y, v), false, "not a valid duration string: \"%s\"", s);
}

static void kv_field(struct rp *p, ynode v, struct rule_kv **out, size_t *n)
{
	size_t first;
	long dup;

	*out = NULL;
	*n = 0;
	if (!v || ynode_tag(p->y, v) == YT_NULL)
		return;
	if (ynode_kind(p->y, v) != Y_MAP) {
		type_error(p, v, "map[string]string");
		return;
	}
	dup = ymap_duplicate(p->y, v, &first);
	if (dup >= 0) {
		ynode k = ymap_key(p->y, v, (size_t)dup);

		diag(p, ynode_line(p->y, k), false, "mapping key \"%s\" already defined at line %d",
		     ynode_str(p->y, k), ynode_line(p->y, ymap_key(p->y, v, first)));
	}
	*out = calloc(ynode_len(p->y, v) + 1, sizeof(**out));
	if (!*out) {
		p->nomem = true;
		return;
	}
	for (size_t i = 0; i < ynode_len(p->y, v); i++) {
		ynode k = ymap_key(p->y, v, i), val = ymap_value(p->y, v, i);
		struct rule_kv *kv = &(*out)[*n];

		if (ynode_kind(p->y, k) != Y_SCALAR) {
			type_error(p, k, "string");
			continue;
		}
		kv->name = str_field(p, k);
		kv->value = str_field(p, val);
		kv->line = ynode_line(p->y, k);
		(*n)++;
	}
}

/* A yaml.Node field (record, alert, expr): its scalar text, "" for other nodes. */
static char *node_field(struct rp *p, ynode v)
{
	char *s = strdup(v && ynode_kind(p->y, v) == Y_SCALAR ? ynode_str(p->y, v) : "");

	if (!s)
		p->nomem = true;
	return s;
}

static const char *const group_keys[] = { "name", "interval", "limit", "rules", NULL };
static const char *const rule_keys[] = { "record",	    "alert",  "expr",	     "for",
					 "keep_firing_for", "labels", "annotations", NULL };

/* Line of the rule's alert/record/expr value, as promtool names it. */
struct rule_pos {
	int record, alert, expr;
	bool has_record, has_alert;
};

static void decode_rule(struct rp *p, ynode n, struct rule *r, struct rule_pos *pos)
{
	ynode rec, al, ex;

	r->line = ynode_line(p->y, n);
	if (ynode_kind(p->y, n) != Y_MAP) {
		if (ynode_tag(p->y, n) != YT_NULL)
			type_error(p, n, "rulefmt.RuleNode");
		return;
	}
	check_keys(p, n, rule_keys, "rulefmt.RuleNode");
	rec = ymap_get(p->y, n, "record");
	al = ymap_get(p->y, n, "alert");
	ex = ymap_get(p->y, n, "expr");
	pos->record = ynode_line(p->y, rec);
	pos->alert = ynode_line(p->y, al);
	pos->expr = ynode_line(p->y, ex);
	char *record = node_field(p, rec), *alert = node_field(p, al);

	pos->has_record = record && *record;
	pos->has_alert = alert && *alert;
	r->kind = pos->has_record ? RULE_RECORD : RULE_ALERT;
	r->name = pos->has_record ? record : alert;
	free(pos->has_record ? alert : record);
	if (pos->has_record && pos->has_alert) {
		/* Both set: keep the alert's name too for the message. */
		free(r->name);
		r->name = node_field(p, al);
		r->kind = RULE_ALERT;
		pos->has_record = true;
	}
	r->expr_text = node_field(p, ex);
	duration_field(p, ymap_get(p->y, n, "for"), &r->for_ms);
	duration_field(p, ymap_get(p->y, n, "keep_firing_for"), &r->keep_firing_for_ms);
	kv_field(p, ymap_get(p->y, n, "labels"), &r->labels, &r->nlabels);
	kv_field(p, ymap_get(p->y, n, "annotations"), &r->annotations, &r->nannotations);
}

static void decode_group(struct rp *p, ynode n, struct rule_group *g, struct rule_pos **pos)
{
	ynode rules, lim;

	g->line = ynode_line(p->y, n);
	if (ynode_kind(p->y, n) != Y_MAP) {
		if (ynode_tag(p->y, n) != YT_NULL)
			type_error(p, n, "rulefmt.RuleGroup");
		return;
	}
	check_keys(p, n, group_keys, "rulefmt.RuleGroup");
	g->name = str_field(p, ymap_get(p->y, n, "name"));
	duration_field(p, ymap_get(p->y, n, "interval"), &g->interval_ms);
	lim = ymap_get(p->y, n, "limit");
	if (lim && ynode_tag(p->y, lim) != YT_NULL && ynode_int(p->y, lim, &g->limit))
		type_error(p, lim, "int");
	rules = ymap_get(p->y, n, "rules");
	if (!rules || ynode_tag(p->y, rules) == YT_NULL)
		return;
	if (ynode_kind(p->y, rules) != Y_SEQ) {
		type_error(p, rules, "[]rulefmt.RuleNode");
		return;
	}
	g->rules = calloc(ynode_len(p->y, rules) + 1, sizeof(*g->rules));
	*pos = calloc(ynode_len(p->y, rules) + 1, sizeof(**pos));
	if (!g->rules || !*pos) {
		p->nomem = true;
		return;
	}
	for (size_t i = 0; i < ynode_len(p->y, rules); i++)
		decode_rule(p, yseq_item(p->y, rules, i), &g->rules[g->nrules++], &(*pos)[i]);
}

/* rulefmt's RuleNode.Validate plus the template checks, with the rule's place in messages. */
static void validate_rule(struct rp *p, const struct rule_group *g, size_t idx, struct rule *r,
			  const struct rule_pos *pos, const char *fname)
{
	char where[200], err[256];
	int line = pos->expr ? pos->expr : r->line;

	snprintf(where, sizeof(where), "group \"%s\", rule %zu, \"%s\"", g->name ? g->name : "",
		 idx + 1, r->name ? r->name : "");
	if (pos->has_record && pos->has_alert)
		diag(p, pos->record, false, "%s: only one of 'record' and 'alert' must be set",
		     where);
	if (!pos->has_record && !pos->has_alert)
		diag(p,
		     pos->record ? pos->record :
		     pos->alert	 ? pos->alert :
				   r->line,
		     false, "%s: one of 'record' or 'alert' must be set", where);
	if (!r->expr_text || !*r->expr_text) {
		diag(p, line, false, "%s: field 'expr' must be set in rule", where);
	} else {
		struct pq_error pe;

		r->expr = pq_parse(r->expr_text, &pe);
		if (!r->expr)
			diag(p, line, false, "%s: could not parse expression: %s", where, pe.msg);
	}
	if (r->kind == RULE_RECORD && pos->has_record && !pos->has_alert) {
		if (r->nannotations)
			diag(p, pos->record, false,
			     "%s: invalid field 'annotations' in recording rule", where);
		if (r->for_ms)
			diag(p, pos->record, false, "%s: invalid field 'for' in recording rule",
			     where);
		if (r->keep_firing_for_ms)
			diag(p, pos->record, false,
			     "%s: invalid field 'keep_firing_for' in recording rule", where);
		if (!metric_name_valid(r->name))
			diag(p, pos->record, false, "%s: invalid recording rule name: %s", where,
			     r->name);
	}
	for (size_t i = 0; i < r->nlabels; i++) {
		struct rule_kv *kv = &r->labels[i];

		if (!label_name_valid(kv->name) || !strcmp(kv->name, LABEL_METRIC_NAME))
			diag(p, kv->line, false, "%s: invalid label name: %s", where, kv->name);
		if (!label_value_valid(kv->value))
			diag(p, kv->line, false, "%s: invalid label value: %s", where, kv->value);
	}
	for (size_t i = 0; i < r->nannotations; i++)
		if (!label_name_valid(r->annotations[i].name))
			diag(p, r->annotations[i].line, false, "%s: invalid annotation name: %s",
			     where, r->annotations[i].name);
	if (r->kind != RULE_ALERT || !pos->has_alert)
		return;
	/* Templates, under the name Prometheus gives them. */
	char tname[200];

	snprintf(tname, sizeof(tname), "__alert_%s", r->name);
	for (int pass = 0; pass < 2; pass++) {
		struct rule_kv *kv = pass ? r->annotations : r->labels;
		size_t n = pass ? r->nannotations : r->nlabels;

		for (size_t i = 0; i < n; i++) {
			kv[i].t = tmpl_parse(kv[i].value, tname, err, sizeof(err));
			if (!kv[i].t)
				diag(p, kv[i].line, false, "%s: %s \"%s\": %s", where,
				     pass ? "annotation" : "label", kv[i].name, err);
		}
	}
	(void)fname;
}

static int rule_key_cmp(const struct rule *a, const struct rule *b)
{
	int c = strcmp(a->name ? a->name : "", b->name ? b->name : "");

	if (c || a->nlabels != b->nlabels)
		return c ? c : 1;
	for (size_t i = 0; i < a->nlabels; i++) {
		bool found = false;

		for (size_t j = 0; j < b->nlabels; j++)
			if (!strcmp(a->labels[i].name, b->labels[j].name) &&
			    !strcmp(a->labels[i].value, b->labels[j].value))
				found = true;
		if (!found)
			return 1;
	}
	return 0;
}

int rulefile_parse(const char *buf, size_t len, const char *path, struct rule_file *out,
		   struct rule_diags *diags)
{
	char err[300];
	int line;
	struct ydoc *y;
	struct rp p = { .diags = diags };
	struct rule_pos **pos = NULL;
	ynode root, groups;

	memset(out, 0, sizeof(*out));
	memset(diags, 0, sizeof(*diags));
	out->path = strdup(path ? path : "");
	if (!out->path)
		return -ENOMEM;
	y = ydoc_load(buf, len, err, sizeof(err), &line);
	if (!y) {
		if (errno == ENOMEM) {
			rule_file_release(out);
			return -ENOMEM;
		}
		diag(&p, line, false, "%s", err);
		rule_file_release(out);
		return p.nomem ? -ENOMEM : -EINVAL;
	}
	p.y = y;
	root = ydoc_root(y);
	if (root && ynode_kind(y, root) != Y_MAP) {
		if (ynode_tag(y, root) != YT_NULL)
			type_error(&p, root, "rulefmt.RuleGroups");
		goto done;
	}
	static const char *const root_keys[] = { "groups", NULL };

	if (root)
		check_keys(&p, root, root_keys, "rulefmt.RuleGroups");
	groups = ymap_get(y, root, "groups");
	if (!groups || ynode_tag(y, groups) == YT_NULL)
		goto done;
	if (ynode_kind(y, groups) != Y_SEQ) {
		type_error(&p, groups, "[]rulefmt.RuleGroup");
		goto done;
	}
	out->groups = calloc(ynode_len(y, groups) + 1, sizeof(*out->groups));
	pos = calloc(ynode_len(y, groups) + 1, sizeof(*pos));
	if (!out->groups || !pos) {
		p.nomem = true;
		goto done;
	}
	for (size_t i = 0; i < ynode_len(y, groups); i++)
		decode_group(&p, yseq_item(y, groups, i), &out->groups[out->ngroups++], &pos[i]);
	if (diags->errors || p.nomem)
		goto done;
	/* Validation, only once everything decoded (as rulefmt.Parse). */
	for (size_t i = 0; i < out->ngroups; i++) {
		struct rule_group *g = &out->groups[i];

		if (!g->name || !*g->name)
			diag(&p, g->line, false, "Groupname must not be empty");
		for (size_t j = 0; j < i && g->name && *g->name; j++)
			if (out->groups[j].name && !strcmp(out->groups[j].name, g->name)) {
				diag(&p, g->line, false,
				     "groupname: \"%s\" is repeated in the same file", g->name);
				break;
			}
		for (size_t r = 0; r < g->nrules; r++)
			validate_rule(&p, g, r, &g->rules[r], &pos[i][r], path);
	}
	/* promtool's duplicate-rules lint: a warning, the file is still valid. */
	if (!diags->errors) {
		size_t dups = 0;
		int first_line = 0;

		for (size_t i = 0; i < out->ngroups; i++)
			for (size_t r = 0; r < out->groups[i].nrules; r++)
				for (size_t j = 0; j <= i; j++)
					for (size_t s = 0; s < (j == i ? r : out->groups[j].nrules);
					     s++)
						if (!rule_key_cmp(&out->groups[i].rules[r],
								  &out->groups[j].rules[s])) {
							if (!dups++)
								first_line = out->groups[i]
										     .rules[r]
										     .line;
							j = i + 1;
							break;
						}
		if (dups)
			diag(&p, first_line, true,
			     "%zu duplicate rule(s) found (same name and labels)", dups);
	}
done:
	for (size_t i = 0; pos && i < out->ngroups; i++)
		free(pos[i]);
	free(pos);
	ydoc_free(y);
	if (p.nomem || diags->errors) {
		rule_file_release(out);
		return p.nomem ? -ENOMEM : -EINVAL;
	}
	return 0;
}

static void kv_release(struct rule_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
		tmpl__free(kv[i].t);
	}
	free(kv);
}

void rule_file_release(struct rule_file *f)
{
	for (size_t i = 0; i < f->ngroups; i++) {
		struct rule_group *g = &f->groups[i];

		for (size_t r = 0; r < g->nrules; r++) {
			struct rule *ru = &g->rules[r];

			free(ru->name);
			free(ru->expr_text);
			pq_expr__free(ru->expr);
			kv_release(ru->labels, ru->nlabels);
			kv_release(ru->annotations, ru->nannotations);
		}
		free(g->rules);
		free(g->name);
	}
	free(f->groups);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

void rule_diags_release(struct rule_diags *d)
{
	free(d->d);
	memset(d, 0, sizeof(*d));
}

size_t rule_file_count(const struct rule_file *f, enum rule_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < f->ngroups; i++)
		for (size_t r = 0; r < f->groups[i].nrules; r++)
			n += f->groups[i].rules[r].kind == kind;
	return n;
}
