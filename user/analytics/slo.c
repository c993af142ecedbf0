// SPDX-License-Identifier: GPL-2.0
/*
 * SLOs: the `slos:` section decoded and checked (every error names FILE:LINE), and the Prometheus
 * rule file they generate (Sloth's layout, the SRE workbook's multiwindow multi-burn-rate alerts).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/labels.h"
#include "analytics/promql.h"
#include "analytics/rulefile.h"
#include "analytics/slo.h"
#include "analytics/template.h"

#define H (3600LL * 1000)
#define M (60LL * 1000)

/* Google SRE workbook, "Alerting on SLOs", table 5-8 (30-day period). */
const struct slo_burn slo_burns[SLO_NBURNS] = {
	{ "page", 14.4, 1 * H, 5 * M },
	{ "page", 6, 6 * H, 30 * M },
	{ "ticket", 3, 24 * H, 2 * H },
	{ "ticket", 1, 72 * H, 6 * H },
};

/* Labels the generated rules set themselves. */
static const char *const reserved[] = { "slo", "slo_window", "severity", LABEL_METRIC_NAME, NULL };

struct sp {
	const struct ydoc *y;
	const char *path;
	char *err;
	size_t errlen;
	int rc; /* first error */
	char where[160]; /* "slos[2] (name)" */
};

static void fail(struct sp *p, ynode n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(struct sp *p, ynode n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (p->rc)
		return;
	p->rc = -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s: %s", p->path, n ? ynode_line(p->y, n) : 0, p->where,
		 msg);
}

static void nomem(struct sp *p)
{
	if (!p->rc) {
		p->rc = -ENOMEM;
		snprintf(p->err, p->errlen, "%s: out of memory", p->path);
	}
}

static char *dup_or_fail(struct sp *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		nomem(p);
	return d;
}

static bool is_scalar(struct sp *p, ynode n)
{
	return n && ynode_kind(p->y, n) == Y_SCALAR && ynode_tag(p->y, n) != YT_NULL;
}

static void check_keys(struct sp *p, ynode m, const char *const *known, const char *what)
{
	size_t first;
	long dup = ymap_duplicate(p->y, m, &first);

	if (dup >= 0) {
		ynode k = ymap_key(p->y, m, (size_t)dup);

		fail(p, k, "%s: key \"%s\" already defined at line %d", what, ynode_str(p->y, k),
		     ynode_line(p->y, ymap_key(p->y, m, first)));
	}
	for (size_t i = 0; i < ynode_len(p->y, m); i++) {
		ynode k = ymap_key(p->y, m, i);
		const char *ks = ynode_str(p->y, k);
		const char *const *kn = known;

		while (*kn && strcmp(*kn, ks))
			kn++;
		if (!*kn) {
			char list[200] = "";
			size_t o = 0;

			for (kn = known; *kn && o < sizeof(list); kn++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
						      kn == known ? "" : ", ", *kn);
			fail(p, k, "%s: unknown key \"%s\" (known: %s)", what, ks, list);
		}
	}
}

/* A string scalar field; NULL (no error) when absent and !required. */
static char *str_field(struct sp *p, ynode parent, const char *key, bool required)
{
	ynode v = ymap_get(p->y, parent, key);

	if (!v || ynode_tag(p->y, v) == YT_NULL) {
		if (required)
			fail(p, parent, "missing \"%s\"", key);
		return NULL;
	}
	if (ynode_kind(p->y, v) != Y_SCALAR) {
		fail(p, v, "\"%s\" must be a string", key);
		return NULL;
	}
	return dup_or_fail(p, ynode_str(p->y, v));
}

static void kv_field(struct sp *p, ynode parent, const char *key, bool templates,
		     struct slo_kv **out, size_t *n)
{
	ynode v = ymap_get(p->y, parent, key);
	size_t first;
	long dup;

	if (!v || ynode_tag(p->y, v) == YT_NULL)
		return;
	if (ynode_kind(p->y, v) != Y_MAP) {
		fail(p, v, "\"%s\" must be a mapping of names to strings", key);
		return;
	}
	dup = ymap_duplicate(p->y, v, &first);
	if (dup >= 0) {
		fail(p, ymap_key(p->y, v, (size_t)dup), "%s: key \"%s\" already defined at line %d",
		     key, ynode_str(p->y, ymap_key(p->y, v, (size_t)dup)),
		     ynode_line(p->y, ymap_key(p->y, v, first)));
		return;
	}
	*out = calloc(ynode_len(p->y, v) + 1, sizeof(**out));
	if (!*out) {
		nomem(p);
		return;
	}
	for (size_t i = 0; i < ynode_len(p->y, v) && !p->rc; i++) {
		ynode k = ymap_key(p->y, v, i), val = ymap_value(p->y, v, i);
		const char *ks = ynode_str(p->y, k);

		if (!label_name_valid(ks)) {
			fail(p, k, "%s: invalid %s name \"%s\"", key,
			     templates ? "annotation" : "label", ks);
			return;
		}
		for (const char *const *r = reserved; !templates && *r; r++)
			if (!strcmp(*r, ks)) {
				fail(p, k, "%s: label \"%s\" is set by the generated rules", key,
				     ks);
				return;
			}
		if (val && ynode_kind(p->y, val) != Y_SCALAR) {
			fail(p, val, "%s: the value of \"%s\" must be a string", key, ks);
			return;
		}
		if (!label_value_valid(ynode_str(p->y, val))) {
			fail(p, val, "%s: the value of \"%s\" is not valid UTF-8", key, ks);
			return;
		}
		/* Labels and annotations of alerting rules are templates (for every SLO label). */
		char terr[256];
		struct tmpl *t = tmpl_parse(val ? ynode_str(p->y, val) : "", "__alert_slo", terr,
					    sizeof(terr));

		if (!t) {
			fail(p, val ? val : k, "%s: \"%s\": %s", key, ks, terr);
			return;
		}
		tmpl__free(t);
		(*out)[*n].name = dup_or_fail(p, ks);
		(*out)[*n].value = dup_or_fail(p, val ? ynode_str(p->y, val) : "");
		(*n)++;
	}
}

static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == ':' || *s == '-'))
			return false;
	return true;
}

/* Checks that an expression built from the SLI parses to an instant vector (5 m window). */
static void check_expr(struct sp *p, const struct slo *s, ynode at, const char *what)
{
	char *text = slo_error_ratio_expr(s, 5 * M);
	struct pq_error pe = { 0 };
	struct pq_expr *e;

	if (!text) {
		nomem(p);
		return;
	}
	e = pq_parse(text, &pe);
	if (!e)
		fail(p, at, "%s: the error ratio '%s' does not parse: %s", what, text, pe.msg);
	else if (pq_expr__type(e) != PQ_VECTOR)
		fail(p, at, "%s: the error ratio '%s' is a %s, not an instant vector", what, text,
		     pq_type_name(pq_expr__type(e)));
	pq_expr__free(e);
	free(text);
}

static void parse_latency(struct sp *p, struct slo *s, ynode lat)
{
	static const char *const keys[] = { "metric", "le", NULL };
	ynode le;
	char *m, *brace, buf[64], *end;
	double b;

	if (ynode_kind(p->y, lat) != Y_MAP) {
		fail(p, lat, "sli.latency must be a mapping {metric, le}");
		return;
	}
	check_keys(p, lat, keys, "sli.latency");
	m = str_field(p, lat, "metric", true);
	if (!m)
		return;
	brace = strchr(m, '{');
	if (brace) {
		size_t n = strlen(brace);

		if (n < 2 || brace[n - 1] != '}') {
			fail(p, ymap_get(p->y, lat, "metric"),
			     "sli.latency.metric: '%s' should be NAME or NAME{MATCHERS}", m);
			free(m);
			return;
		}
		brace[n - 1] = 0;
		s->matchers = dup_or_fail(p, brace + 1);
		*brace = 0;
	} else {
		s->matchers = dup_or_fail(p, "");
	}
	s->metric = m;
	if (!metric_name_valid(m)) {
		fail(p, ymap_get(p->y, lat, "metric"),
		     "sli.latency.metric: invalid metric name '%s'", m);
		return;
	}
	size_t ml = strlen(m);

	if ((ml > 7 && !strcmp(m + ml - 7, "_bucket")) ||
	    (ml > 6 && !strcmp(m + ml - 6, "_count"))) {
		fail(p, ymap_get(p->y, lat, "metric"),
		     "sli.latency.metric: give the histogram's name, without _bucket or _count");
		return;
	}
	le = ymap_get(p->y, lat, "le");
	if (!is_scalar(p, le)) {
		fail(p, le ? le : lat, "sli.latency: \"le\" must be a bucket bound (e.g. 0.001)");
		return;
	}
	errno = 0;
	b = strtod(ynode_str(p->y, le), &end);
	if (end == ynode_str(p->y, le) || *end || errno || !isfinite(b) || b <= 0) {
		fail(p, le, "sli.latency.le: '%s' is not a positive number", ynode_str(p->y, le));
		return;
	}
	/* As Vigil labels its buckets (export/histogram.c: %.9g of the bound). */
	snprintf(buf, sizeof(buf), "%.9g", b);
	s->le = dup_or_fail(p, buf);
	if (!p->rc)
		check_expr(p, s, ymap_get(p->y, lat, "metric"), "sli.latency");
}

static void parse_events(struct sp *p, struct slo *s, ynode ev)
{
	static const char *const keys[] = { "errors", "total", NULL };

	if (ynode_kind(p->y, ev) != Y_MAP) {
		fail(p, ev, "sli.events must be a mapping {errors, total}");
		return;
	}
	check_keys(p, ev, keys, "sli.events");
	s->errors = str_field(p, ev, "errors", true);
	s->total = str_field(p, ev, "total", true);
	if (p->rc)
		return;
	/* Each side alone first, so the message names the right line. */
	char *keep = s->total;

	s->total = (char *)"1";
	check_expr(p, s, ymap_get(p->y, ev, "errors"), "sli.events.errors");
	s->total = keep;
	keep = s->errors;
	s->errors = (char *)"1";
	check_expr(p, s, ymap_get(p->y, ev, "total"), "sli.events.total");
	s->errors = keep;
	if (!p->rc)
		check_expr(p, s, ev, "sli.events");
}

static void parse_alerting(struct sp *p, struct slo *s, ynode al)
{
	static const char *const keys[] = { "name", "page_labels", "ticket_labels", "annotations",
					    NULL };

	if (!al || ynode_tag(p->y, al) == YT_NULL)
		return;
	if (ynode_kind(p->y, al) != Y_MAP) {
		fail(p, al, "\"alerting\" must be a mapping");
		return;
	}
	check_keys(p, al, keys, "alerting");
	char *name = str_field(p, al, "name", false);

	if (name) {
		if (!metric_name_valid(name))
			fail(p, ymap_get(p->y, al, "name"),
			     "alerting.name: '%s' is not a valid alert name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
			     name);
		free(s->alert_name);
		s->alert_name = name;
	}
	kv_field(p, al, "page_labels", false, &s->page_labels, &s->npage_labels);
	kv_field(p, al, "ticket_labels", false, &s->ticket_labels, &s->nticket_labels);
	kv_field(p, al, "annotations", true, &s->annotations, &s->nannotations);
}

static void parse_one(struct sp *p, ynode n, struct slo *s)
{
	static const char *const keys[] = { "name", "objective", "period",   "description",
					    "sli",  "labels",	 "alerting", NULL };
	ynode obj, per, sli, lat, ev;

	s->line = ynode_line(p->y, n);
	if (ynode_kind(p->y, n) != Y_MAP) {
		fail(p, n, "an SLO must be a mapping {name, objective, period, sli, ...}");
		return;
	}
	s->name = str_field(p, n, "name", true);
	if (s->name)
		snprintf(p->where + strlen(p->where), sizeof(p->where) - strlen(p->where), " (%s)",
			 s->name);
	check_keys(p, n, keys, "slo");
	if (p->rc)
		return;
	if (!name_ok(s->name) || strlen(s->name) > 64) {
		fail(p, ymap_get(p->y, n, "name"),
		     "name '%s' must be 1 to 64 characters of [A-Za-z0-9_.:-]", s->name);
		return;
	}
	s->alert_name = dup_or_fail(p, SLO_ALERT_NAME);
	s->description = str_field(p, n, "description", false);
	if (!s->description && !p->rc)
		s->description = dup_or_fail(p, "");
	if (s->description && *s->description) {
		char terr[256];
		struct tmpl *t = tmpl_parse(s->description, "__alert_slo", terr, sizeof(terr));

		if (!t)
			fail(p, ymap_get(p->y, n, "description"), "description: %s", terr);
		tmpl__free(t);
	}

	obj = ymap_get(p->y, n, "objective");
	if (!obj) {
		fail(p, n, "missing \"objective\" (a percentage such as 99.9)");
		return;
	}
	char *end;
	const char *ot = ynode_str(p->y, obj);

	errno = 0;
	s->objective = strtod(ot, &end);
	if (!is_scalar(p, obj) ||
	    (ynode_tag(p->y, obj) != YT_INT && ynode_tag(p->y, obj) != YT_FLOAT) || *end || errno ||
	    !isfinite(s->objective)) {
		fail(p, obj, "objective: '%s' is not a number (a percentage such as 99.9)", ot);
		return;
	}
	if (s->objective < 1 || s->objective >= 100) {
		fail(p, obj,
		     "objective: %s is outside [1, 100): objectives are percentages as in "
		     "Sloth (write 99.9, not 0.999)",
		     ot);
		return;
	}

	per = ymap_get(p->y, n, "period");
	s->period_ms = SLO_NOMINAL_PERIOD_MS;
	if (per && ynode_tag(p->y, per) != YT_NULL) {
		const char *pt = ynode_str(p->y, per);

		if (ynode_kind(p->y, per) != Y_SCALAR ||
		    pq_parse_duration(pt, strlen(pt), &s->period_ms) || s->period_ms < 60 * 1000) {
			fail(p, per, "period: '%s' is not a duration of 1m or more (e.g. 30d, 1h)",
			     pt);
			return;
		}
		s->period = dup_or_fail(p, pt);
	} else {
		s->period = dup_or_fail(p, "30d");
	}

	sli = ymap_get(p->y, n, "sli");
	if (!sli || ynode_kind(p->y, sli) != Y_MAP) {
		fail(p, sli ? sli : n,
		     "\"sli\" must be {latency: {metric, le}} or {events: {errors, "
		     "total}}");
		return;
	}
	check_keys(p, sli, (const char *const[]){ "latency", "events", NULL }, "sli");
	lat = ymap_get(p->y, sli, "latency");
	ev = ymap_get(p->y, sli, "events");
	if (!p->rc && (!lat) == (!ev))
		fail(p, sli, "\"sli\" takes exactly one of latency or events");
	if (p->rc)
		return;
	s->sli = lat ? SLO_SLI_LATENCY : SLO_SLI_EVENTS;
	if (lat)
		parse_latency(p, s, lat);
	else
		parse_events(p, s, ev);
	kv_field(p, n, "labels", false, &s->labels, &s->nlabels);
	parse_alerting(p, s, ymap_get(p->y, n, "alerting"));
}

static void slo_release(struct slo *s)
{
	struct slo_kv *kvs[] = { s->labels, s->page_labels, s->ticket_labels, s->annotations };
	size_t ns[] = { s->nlabels, s->npage_labels, s->nticket_labels, s->nannotations };

	for (size_t k = 0; k < 4; k++) {
		for (size_t i = 0; i < ns[k]; i++) {
			free(kvs[k][i].name);
			free(kvs[k][i].value);
		}
		free(kvs[k]);
	}
	free(s->name);
	free(s->description);
	free(s->period);
	free(s->metric);
	free(s->matchers);
	free(s->le);
	free(s->errors);
	free(s->total);
	free(s->alert_name);
}

void slo_set_release(struct slo_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		slo_release(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* The generated rules of one SLO must load: catches templates in annotations. */
static void check_generated(struct sp *p, const struct slo *s, ynode at)
{
	struct slo_set one = { (struct slo *)s, 1 };
	struct rule_file rf;
	struct rule_diags d = { 0 };
	char *text = NULL;
	size_t len;
	int rc = slo_rules_text(&one, 1000, &text, &len);

	if (rc) {
		nomem(p);
		return;
	}
	rc = rulefile_parse(text, len, p->path, &rf, &d);
	if (rc == -ENOMEM)
		nomem(p);
	else if (rc)
		for (size_t i = 0; i < d.n; i++)
			if (!d.d[i].warning) {
				fail(p, at, "the generated rules are invalid: %s", d.d[i].msg);
				break;
			}
	if (!rc)
		rule_file_release(&rf);
	rule_diags_release(&d);
	free(text);
}

int slo_config_parse(const struct ydoc *d, ynode section, const char *path, struct slo_set *out,
		     char *err, size_t errlen)
{
	struct sp p = { .y = d, .path = path, .err = err, .errlen = errlen };
	struct slo_set set = { 0 };

	snprintf(p.where, sizeof(p.where), "slos");
	if (errlen)
		err[0] = 0;
	if (section && ynode_tag(d, section) != YT_NULL) {
		if (ynode_kind(d, section) != Y_SEQ) {
			fail(&p, section, "must be a list of SLOs");
			return p.rc;
		}
		set.v = calloc(ynode_len(d, section) + 1, sizeof(*set.v));
		if (!set.v) {
			nomem(&p);
			return p.rc;
		}
		for (size_t i = 0; i < ynode_len(d, section) && !p.rc; i++) {
			ynode n = yseq_item(d, section, i);

			snprintf(p.where, sizeof(p.where), "slos[%zu]", i);
			parse_one(&p, n, &set.v[set.n++]);
			for (size_t j = 0; j + 1 < set.n && !p.rc; j++)
				if (!strcmp(set.v[j].name, set.v[set.n - 1].name))
					fail(&p, ymap_get(d, n, "name"),
					     "name '%s' already used by the SLO at line %d",
					     set.v[j].name, set.v[j].line);
			if (!p.rc)
				check_generated(&p, &set.v[set.n - 1], n);
		}
	}
	if (p.rc) {
		slo_set_release(&set);
		return p.rc;
	}
	*out = set;
	return 0;
}

int slo_file_parse(const char *buf, size_t len, const char *path, struct slo_set *out, char *err,
		   size_t errlen)
{
	char yerr[256];
	int line = 0, rc;
	struct ydoc *d = ydoc_load(buf, len, yerr, sizeof(yerr), &line);
	ynode root, sec;

	if (!d) {
		if (errno == ENOMEM) {
			snprintf(err, errlen, "%s: out of memory", path);
			return -ENOMEM;
		}
		snprintf(err, errlen, "%s:%d: %s", path, line, yerr);
		return -EINVAL;
	}
	root = ydoc_root(d);
	if (!root || ynode_kind(d, root) != Y_MAP || !(sec = ymap_get(d, root, "slos"))) {
		snprintf(err, errlen, "%s:%d: no top-level \"slos:\" list", path,
			 root ? ynode_line(d, root) : 1);
		ydoc_free(d);
		return -EINVAL;
	}
	rc = slo_config_parse(d, sec, path, out, err, errlen);
	ydoc_free(d);
	return rc;
}

/* ---- generation ---- */

double slo_budget(const struct slo *s)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.12g", 1 - s->objective / 100);
	return strtod(buf, NULL);
}

int64_t slo_window_ms(const struct slo *s, int64_t nominal_ms, int64_t min_ms)
{
	double w = (double)nominal_ms * ((double)s->period_ms / (double)SLO_NOMINAL_PERIOD_MS);
	int64_t ms = (int64_t)llround(w / 1000) * 1000;

	return ms < min_ms ? min_ms : ms;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

size_t slo_windows(const struct slo *s, int64_t min_ms, int64_t *out)
{
	int64_t all[2 * SLO_NBURNS];
	size_t n = 0;

	for (size_t i = 0; i < SLO_NBURNS; i++) {
		all[2 * i] = slo_window_ms(s, slo_burns[i].short_ms, min_ms);
		all[2 * i + 1] = slo_window_ms(s, slo_burns[i].long_ms, min_ms);
	}
	qsort(all, 2 * SLO_NBURNS, sizeof(all[0]), cmp_i64);
	for (size_t i = 0; i < 2 * SLO_NBURNS; i++)
		if (!n || out[n - 1] != all[i])
			out[n++] = all[i];
	return n;
}

/* text with every {{.window}} (spaces allowed inside the braces) replaced by w. */
static void put_windowed(FILE *f, const char *text, const char *w)
{
	for (const char *c = text; *c;) {
		if (c[0] == '{' && c[1] == '{') {
			const char *q = c + 2;

			while (*q == ' ')
				q++;
			if (!strncmp(q, ".window", 7)) {
				q += 7;
				while (*q == ' ')
					q++;
				if (q[0] == '}' && q[1] == '}') {
					fputs(w, f);
					c = q + 2;
					continue;
				}
			}
		}
		fputc(*c++, f);
	}
}

char *slo_error_ratio_expr(const struct slo *s, int64_t window_ms)
{
	char w[64], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	pq_format_duration(window_ms, w, sizeof(w));
	if (s->sli == SLO_SLI_LATENCY) {
		const char *sep = *s->matchers ? "," : "";

		fprintf(f,
			"1 - (sum(rate(%s_bucket{%s%sle=\"%s\"}[%s])) / sum(rate(%s_count%s%s%s[%s])))",
			s->metric, s->matchers, sep, s->le, w, s->metric, *sep ? "{" : "",
			s->matchers, *sep ? "}" : "", w);
	} else {
		fputs("(", f);
		put_windowed(f, s->errors, w);
		fputs(") / (", f);
		put_windowed(f, s->total, w);
		fputs(")", f);
	}
	if (fclose(f)) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	return buf;
}

/* A YAML double-quoted scalar. */
static void yq(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c == '\t')
			fputs("\\t", f);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static void put_kvs(FILE *f, const struct slo_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "          %s: ", kv[i].name);
		yq(f, kv[i].value);
		fputc('\n', f);
	}
}

static void put_labels(FILE *f, const struct slo *s, const char *window, const char *severity)
{
	fputs("        labels:\n          slo: ", f);
	yq(f, s->name);
	fputc('\n', f);
	if (window) {
		fputs("          slo_window: ", f);
		yq(f, window);
		fputc('\n', f);
	}
	if (severity)
		fprintf(f, "          severity: \"%s\"\n", severity);
	put_kvs(f, s->labels, s->nlabels);
}

static void put_record(FILE *f, const struct slo *s, const char *record, const char *window,
		       const char *expr)
{
	fprintf(f, "      - record: %s\n        expr: ", record);
	yq(f, expr);
	fputc('\n', f);
	put_labels(f, s, window, NULL);
}

static bool has_kv(const struct slo_kv *kv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i].name, name))
			return true;
	return false;
}

/* The alert of one severity: its two rows of the table, each long AND short, ORed. */
static void put_alert(FILE *f, const struct slo *s, const char *severity, double budget,
		      int64_t min_ms)
{
	char expr[2048], summary[512], sel[200], wl[32], ws[32];
	size_t o = 0, so = 0, rows = 0;
	const struct slo_kv *extra = strcmp(severity, "page") ? s->ticket_labels : s->page_labels;
	size_t nextra = strcmp(severity, "page") ? s->nticket_labels : s->npage_labels;

	snprintf(sel, sizeof(sel), "{slo=\"%s\"}", s->name);
	so = (size_t)snprintf(summary, sizeof(summary),
			      "SLO {{ $labels.slo }} (%.10g%% over %s) burns its error budget too "
			      "fast:",
			      s->objective, s->period);
	for (size_t i = 0; i < SLO_NBURNS; i++) {
		const struct slo_burn *b = &slo_burns[i];

		if (strcmp(b->severity, severity))
			continue;
		pq_format_duration(slo_window_ms(s, b->long_ms, min_ms), wl, sizeof(wl));
		pq_format_duration(slo_window_ms(s, b->short_ms, min_ms), ws, sizeof(ws));
		o += (size_t)snprintf(
			expr + o, sizeof(expr) - o,
			"%s(max(slo:sli_error:ratio_rate%s%s > (%.10g * %.12g)) without (slo_window) "
			"and max(slo:sli_error:ratio_rate%s%s > (%.10g * %.12g)) without (slo_window))",
			o ? " or " : "", ws, sel, b->factor, budget, wl, sel, b->factor, budget);
		so += (size_t)snprintf(summary + so, sizeof(summary) - so,
				       "%s %.10gx over %s and %s", rows++ ? " or" : "", b->factor,
				       wl, ws);
	}
	fprintf(f, "      - alert: %s\n        expr: ", s->alert_name);
	yq(f, expr);
	fputc('\n', f);
	put_labels(f, s, NULL, severity);
	put_kvs(f, extra, nextra);
	fputs("        annotations:\n", f);
	if (!has_kv(s->annotations, s->nannotations, "summary")) {
		snprintf(summary + so, sizeof(summary) - so,
			 " (error ratio {{ $value | humanizePercentage }} over the short window)");
		fputs("          summary: ", f);
		yq(f, summary);
		fputc('\n', f);
	}
	if (*s->description && !has_kv(s->annotations, s->nannotations, "description")) {
		fputs("          description: ", f);
		yq(f, s->description);
		fputc('\n', f);
	}
	put_kvs(f, s->annotations, s->nannotations);
}

static void put_slo(FILE *f, const struct slo *s, const char *interval, int64_t min_ms)
{
	int64_t win[2 * SLO_NBURNS];
	size_t nw = slo_windows(s, min_ms, win);
	double budget = slo_budget(s);
	char w[32], shortest[32], rec[128], expr[1024];
	const char *period = s->period;

	pq_format_duration(win[0], shortest, sizeof(shortest));

	fputs("  - name: ", f);
	snprintf(expr, sizeof(expr), "slo-sli-%s", s->name);
	yq(f, expr);
	fprintf(f, "\n    interval: %s\n    rules:\n", interval);
	for (size_t i = 0; i < nw; i++) {
		char *e = slo_error_ratio_expr(s, win[i]);

		pq_format_duration(win[i], w, sizeof(w));
		snprintf(rec, sizeof(rec), "slo:sli_error:ratio_rate%s", w);
		put_record(f, s, rec, w, e ? e : "");
		free(e);
	}
	/* The period's ratio as Sloth computes it: the mean of the shortest window's records. */
	snprintf(rec, sizeof(rec), "slo:sli_error:ratio_rate%s", period);
	snprintf(expr, sizeof(expr), "avg_over_time(slo:sli_error:ratio_rate%s{slo=\"%s\"}[%s])",
		 shortest, s->name, period);
	put_record(f, s, rec, period, expr);

	fputs("  - name: ", f);
	snprintf(expr, sizeof(expr), "slo-meta-%s", s->name);
	yq(f, expr);
	fprintf(f, "\n    interval: %s\n    rules:\n", interval);
	snprintf(expr, sizeof(expr), "vector(%.12g)", s->objective / 100);
	put_record(f, s, "slo:objective:ratio", NULL, expr);
	snprintf(expr, sizeof(expr), "vector(%.12g)", budget);
	put_record(f, s, "slo:error_budget:ratio", NULL, expr);
	snprintf(expr, sizeof(expr), "vector(%.12g)", (double)s->period_ms / 86400000.0);
	put_record(f, s, "slo:time_period:days", NULL, expr);
	snprintf(expr, sizeof(expr), "slo:sli_error:ratio_rate%s{slo=\"%s\"} / %.12g", shortest,
		 s->name, budget);
	put_record(f, s, "slo:current_burn_rate:ratio", NULL, expr);
	snprintf(expr, sizeof(expr), "slo:sli_error:ratio_rate%s{slo=\"%s\"} / %.12g", period,
		 s->name, budget);
	put_record(f, s, "slo:period_burn_rate:ratio", NULL, expr);
	snprintf(expr, sizeof(expr), "1 - slo:period_burn_rate:ratio{slo=\"%s\"}", s->name);
	put_record(f, s, "slo:period_error_budget_remaining:ratio", NULL, expr);

	fputs("  - name: ", f);
	snprintf(expr, sizeof(expr), "slo-alerts-%s", s->name);
	yq(f, expr);
	fprintf(f, "\n    interval: %s\n    rules:\n", interval);
	put_alert(f, s, "page", budget, min_ms);
	put_alert(f, s, "ticket", budget, min_ms);
}

int slo_rules_text(const struct slo_set *s, int64_t interval_ms, char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);
	char iv[32];

	if (interval_ms <= 0)
		interval_ms = 1000;
	pq_format_duration(interval_ms, iv, sizeof(iv));

	if (!f)
		return -ENOMEM;
	fputs("# Generated by vigil from its slos: (multiwindow, multi-burn-rate alerts).\n", f);
	fputs(s->n ? "groups:\n" : "groups: []\n", f);
	for (size_t i = 0; i < s->n; i++)
		put_slo(f, &s->v[i], iv, SLO_MIN_WINDOW_INTERVALS * interval_ms);
	if (fclose(f)) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}
