// SPDX-License-Identifier: GPL-2.0
/* Executing parsed alert templates (template.h): values, fields, functions, Go's fmt verbs. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/promql.h"
#include "analytics/template_int.h"

void tx_xfail(struct ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void tx_xfail(struct ex *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return;
	x->failed = true;
	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
}

/* Strings made during execution live until it ends. */
char *tx_keep(struct ex *x, char *s)
{
	if (!s) {
		tx_xfail(x, "out of memory");
		return NULL;
	}
	if (x->nallocs == x->capallocs) {
		size_t cap = x->capallocs ? x->capallocs * 2 : 16;
		char **a = realloc(x->allocs, cap * sizeof(*a));

		if (!a) {
			free(s);
			tx_xfail(x, "out of memory");
			return NULL;
		}
		x->allocs = a;
		x->capallocs = cap;
	}
	x->allocs[x->nallocs++] = s;
	return s;
}

char *tx_xprintf(struct ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

char *tx_xprintf(struct ex *x, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return tx_keep(x, s);
}

static void emit(struct ex *x, const char *s, size_t n)
{
	if (x->failed)
		return;
	if (x->len + n + 1 > x->cap) {
		size_t cap = (x->len + n + 1) * 2;
		char *o = realloc(x->out, cap);

		if (!o) {
			tx_xfail(x, "out of memory");
			return;
		}
		x->out = o;
		x->cap = cap;
	}
	memcpy(x->out + x->len, s, n);
	x->len += n;
	x->out[x->len] = 0;
}

const char *tx_kind_name(const struct val *v)
{
	switch (v->k) {
	case V_NIL:
		return "nil";
	case V_BOOL:
		return "bool";
	case V_INT:
		return "int";
	case V_FLOAT:
		return "float64";
	case V_STR:
		return "string";
	case V_MAP:
		return "map[string]string";
	default:
		return "*template.tmplData";
	}
}

/* Go's strconv.FormatFloat(v, 'g', -1, 64), as fmt's %v prints a float64. */
char *tx_go_float_v(struct ex *x, double v)
{
	char digits[400], *dot;

	if (isnan(v))
		return tx_xprintf(x, "NaN");
	if (isinf(v))
		return tx_xprintf(x, v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return tx_xprintf(x, signbit(v) ? "-0" : "0");
	int prec;
	char e[40];

	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	int exp10 = atoi(strchr(e, 'e') + 1);

	/* strconv's 'g' with the shortest precision switches to %e at exponents < -4 or >= 6. */
	if (exp10 < -4 || exp10 >= 6) {
		/* mantissa without trailing zeros, exponent with at least two digits */
		char m[40];

		snprintf(m, sizeof(m), "%.*s", (int)(strchr(e, 'e') - e), e);
		return tx_xprintf(x, "%se%c%02d", m, exp10 < 0 ? '-' : '+', abs(exp10));
	}
	pq_format_float(v, digits, sizeof(digits));
	dot = digits;
	return tx_xprintf(x, "%s", dot);
}

/* %.4g as Go prints it (infinities as +Inf / -Inf). */
char *tx_go_g4(struct ex *x, double v, const char *suffix)
{
	if (isnan(v))
		return tx_xprintf(x, "NaN%s", suffix);
	if (isinf(v))
		return tx_xprintf(x, "%s%s", v > 0 ? "+Inf" : "-Inf", suffix);
	return tx_xprintf(x, "%.4g%s", v, suffix);
}

/* fmt's %v of a value. */
const char *tx_to_text(struct ex *x, const struct val *v)
{
	switch (v->k) {
	case V_NIL:
		return "<no value>";
	case V_BOOL:
		return v->b ? "true" : "false";
	case V_INT:
		return tx_xprintf(x, "%lld", v->i);
	case V_FLOAT:
		return tx_go_float_v(x, v->f);
	case V_STR:
		return v->s;
	case V_MAP: {
		size_t n = 6; /* "map[" "]" NUL */

		for (uint32_t i = 0; i < v->m->n; i++)
			n += strlen(v->m->l[i].name) + strlen(v->m->l[i].value) + 2;
		char *s = tx_keep(x, calloc(1, n));

		if (!s)
			return "";
		strcat(s, "map[");
		for (uint32_t i = 0; i < v->m->n; i++) {
			if (i)
				strcat(s, " ");
			strcat(s, v->m->l[i].name);
			strcat(s, ":");
			strcat(s, v->m->l[i].value);
		}
		strcat(s, "]");
		return s;
	}
	default:
		return "{...}";
	}
}

bool tx_truth(const struct val *v)
{
	switch (v->k) {
	case V_NIL:
		return false;
	case V_BOOL:
		return v->b;
	case V_INT:
		return v->i != 0;
	case V_FLOAT:
		return v->f != 0;
	case V_STR:
		return v->s[0] != 0;
	case V_MAP:
		return v->m->n != 0;
	default:
		return true;
	}
}

bool tx_to_float(struct ex *x, const struct val *v, double *f)
{
	char *end;

	switch (v->k) {
	case V_INT:
		*f = (double)v->i;
		return true;
	case V_FLOAT:
		*f = v->f;
		return true;
	case V_STR:
		*f = strtod(v->s, &end);
		if (end != v->s && !*end)
			return true;
		tx_xfail(x, "strconv.ParseFloat: parsing \"%s\": invalid syntax", v->s);
		return false;
	default:
		tx_xfail(x, "can't convert %s to float", tx_kind_name(v));
		return false;
	}
}

struct val tx_field(struct ex *x, struct val v, const char *name)
{
	struct val out = { 0 };

	if (v.k == V_DATA) {
		if (!strcmp(name, "Value"))
			return vfloat(x->d->value);
		if (!strcmp(name, "Labels") || !strcmp(name, "ExternalLabels")) {
			const struct labels *l =
				name[0] == 'L' ? x->d->labels : x->d->external_labels;

			if (!l)
				return vstr("");
			out.k = V_MAP;
			out.m = l;
			return out;
		}
		if (!strcmp(name, "ExternalURL"))
			return vstr(x->d->external_url);
		for (size_t i = 0; i < x->d->nfields; i++)
			if (!strcmp(x->d->fields[i].name, name)) {
				if (!x->d->fields[i].m)
					return vstr(x->d->fields[i].s ? x->d->fields[i].s : "");
				out.k = V_MAP;
				out.m = x->d->fields[i].m;
				return out;
			}
		tx_xfail(x, "can't evaluate field %s in type *template.tmplData", name);
		return out;
	}
	if (v.k == V_MAP) {
		const char *s = labels__get(v.m, name);

		return vstr(s ? s : "");
	}
	tx_xfail(x, "can't evaluate field %s in type %s", name, tx_kind_name(&v));
	return out;
}

static struct val chain(struct ex *x, struct val v, const char *c)
{
	char name[128];

	while (c && *c == '.' && !x->failed) {
		const char *e = strchr(c + 1, '.');
		size_t n = e ? (size_t)(e - c - 1) : strlen(c + 1);

		snprintf(name, sizeof(name), "%.*s", (int)n, c + 1);
		v = tx_field(x, v, name);
		c = e;
	}
	return v;
}

static struct val *lookup_var(struct ex *x, const char *name)
{
	for (size_t i = x->nvars; i > 0; i--)
		if (!strcmp(x->vars[i - 1].name, name))
			return &x->vars[i - 1].v;
	return NULL;
}

static bool set_var(struct ex *x, const char *name, struct val v, bool assign)
{
	struct val *p = assign ? lookup_var(x, name) : NULL;

	if (p) {
		*p = v;
		return true;
	}
	if (x->nvars == sizeof(x->vars) / sizeof(x->vars[0])) {
		tx_xfail(x, "too many variables");
		return false;
	}
	x->vars[x->nvars].name = name;
	x->vars[x->nvars++].v = v;
	return true;
}

/* A Go string literal's value. */
static char *unquote(struct ex *x, const char *lit)
{
	size_t n = strlen(lit);
	char *o = malloc(n + 1), *p = o;

	if (!o)
		return tx_keep(x, NULL);
	if (lit[0] == '`') {
		memcpy(o, lit + 1, n - 2);
		o[n - 2] = 0;
		return tx_keep(x, o);
	}
	for (size_t i = 1; i + 1 < n; i++) {
		char c = lit[i];

		if (c != '\\') {
			*p++ = c;
			continue;
		}
		c = lit[++i];
		*p++ = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == '0' ? '\0' : c;
	}
	*p = 0;
	return tx_keep(x, o);
}

static void exec_list(struct ex *x, const struct tnode *n, struct val dot);
struct val tx_eval_pipe(struct ex *x, const struct tpipe *p, struct val dot);

struct val tx_eval_arg(struct ex *x, const struct targ *a, struct val dot)
{
	struct val v = { 0 };

	switch (a->kind) {
	case TA_DOT:
		return dot;
	case TA_FIELD:
		return chain(x, dot, a->chain);
	case TA_VAR: {
		struct val *p = lookup_var(x, a->text);

		if (!p) {
			tx_xfail(x, "undefined variable: %s", a->text);
			return v;
		}
		return chain(x, *p, a->chain);
	}
	case TA_STRING:
		return vstr(unquote(x, a->text));
	case TA_NUMBER: {
		char *end;
		long long i = strtoll(a->text, &end, 0);

		if (!*end) {
			v.k = V_INT;
			v.i = i;
			return v;
		}
		return vfloat(strtod(a->text, NULL));
	}
	case TA_BOOL:
		return vbool(a->b);
	case TA_NIL:
		return v;
	case TA_PIPE:
		return chain(x, tx_eval_pipe(x, a->pipe, dot), a->chain);
	case TA_FUNC:
		break;
	}
	tx_xfail(x, "can't give argument to non-function %s", a->text);
	return v;
}

int tx_cmp_vals(struct ex *x, const struct val *a, const struct val *b, bool *ok)
{
	*ok = true;
	if ((a->k == V_INT || a->k == V_FLOAT || a->k == V_STR || a->k == V_BOOL) && a->k == b->k) {
		if (a->k == V_INT)
			return a->i < b->i ? -1 : a->i > b->i;
		if (a->k == V_FLOAT)
			return a->f < b->f ? -1 : a->f > b->f;
		if (a->k == V_BOOL)
			return a->b - b->b;
		return strcmp(a->s, b->s);
	}
	*ok = false;
	tx_xfail(x, "incompatible types for comparison");
	return 0;
}

static struct val eval_cmd(struct ex *x, const struct tcmd *c, const struct val *final,
			   struct val dot)
{
	const struct targ *a = &c->args[0];

	if (a->kind == TA_FUNC)
		return tx_call(x, a->text, c->args + 1, c->nargs - 1, final, dot);
	if (c->nargs > 1 || final) {
		tx_xfail(x, "can't give argument to non-function %s", a->text ? a->text : ".");
		return (struct val){ 0 };
	}
	return tx_eval_arg(x, a, dot);
}

struct val tx_eval_pipe(struct ex *x, const struct tpipe *p, struct val dot)
{
	struct val v = { 0 };

	for (size_t i = 0; i < p->ncmds && !x->failed; i++)
		v = eval_cmd(x, &p->cmds[i], i ? &v : NULL, dot);
	for (int i = 0; i < p->ndecl && !x->failed; i++)
		set_var(x, p->decl[i], v, p->assign);
	return v;
}

static const struct tnode *find_define(const struct ex *x, const char *quoted)
{
	for (const struct tnode *d = x->t->defines; d; d = d->next)
		if (!strcmp(d->name, quoted))
			return d;
	return NULL;
}

static void exec_node(struct ex *x, const struct tnode *n, struct val dot)
{
	size_t vars = x->nvars;

	switch (n->kind) {
	case TN_TEXT:
		emit(x, n->name, strlen(n->name));
		return;
	case TN_ACTION: {
		struct val v = tx_eval_pipe(x, n->pipe, dot);
		const char *s;

		if (n->pipe->ndecl || x->failed)
			return;
		s = tx_to_text(x, &v);
		emit(x, s, strlen(s));
		return;
	}
	case TN_IF:
	case TN_WITH: {
		struct val v = tx_eval_pipe(x, n->pipe, dot);

		if (x->failed)
			break;
		if (tx_truth(&v))
			exec_list(x, n->list, n->kind == TN_WITH ? v : dot);
		else if (n->else_list)
			exec_list(x, n->else_list, dot);
		break;
	}
	case TN_RANGE: {
		struct val v = tx_eval_pipe(x, n->pipe, dot);

		if (x->failed)
			break;
		if (v.k != V_MAP) {
			if (tx_truth(&v) || v.k != V_NIL)
				tx_xfail(x, "range can't iterate over %s", tx_to_text(x, &v));
			break;
		}
		if (!v.m->n && n->else_list)
			exec_list(x, n->else_list, dot);
		for (uint32_t i = 0; i < v.m->n && !x->failed; i++) {
			struct val k = vstr(v.m->l[i].name), e = vstr(v.m->l[i].value);

			if (n->pipe->ndecl == 2) {
				set_var(x, n->pipe->decl[0], k, false);
				set_var(x, n->pipe->decl[1], e, false);
			} else if (n->pipe->ndecl == 1) {
				set_var(x, n->pipe->decl[0], e, false);
			}
			exec_list(x, n->list, e);
			if (x->ctl == 1) {
				x->ctl = 0;
				break;
			}
			x->ctl = 0;
		}
		break;
	}
	case TN_BREAK:
		x->ctl = 1;
		return;
	case TN_CONTINUE:
		x->ctl = 2;
		return;
	case TN_TEMPLATE: {
		const struct tnode *d = find_define(x, n->name);
		const struct tnode *body = d ? d->list : n->is_block ? n->list : NULL;
		struct val arg = n->pipe ? tx_eval_pipe(x, n->pipe, dot) : (struct val){ 0 };

		if (!d && !n->is_block) {
			tx_xfail(x, "no such template %s", n->name);
			break;
		}
		if (++x->depth > 100) {
			tx_xfail(x, "exceeded maximum template depth (100)");
			break;
		}
		exec_list(x, body, arg);
		x->depth--;
		break;
	}
	case TN_DEFINE:
		break;
	}
	x->nvars = vars;
}

static void exec_list(struct ex *x, const struct tnode *n, struct val dot)
{
	for (; n && !x->failed && !x->ctl; n = n->next)
		exec_node(x, n, dot);
}

char *tmpl_expand(const struct tmpl *t, const struct tmpl_data *d)
{
	struct ex x = { .t = t, .d = d };
	struct val dot = { .k = V_DATA }, lbl = { .k = V_MAP }, ext = { .k = V_MAP };
	static struct labels empty = { .refs = 1 };
	char *res;

	lbl.m = d->labels ? d->labels : &empty;
	ext.m = d->external_labels ? d->external_labels : &empty;
	set_var(&x, "$", dot, false);
	set_var(&x, "$labels", lbl, false);
	set_var(&x, "$externalLabels", ext, false);
	set_var(&x, "$externalURL", vstr(d->external_url), false);
	set_var(&x, "$value", vfloat(d->value), false);
	emit(&x, "", 0);
	exec_list(&x, t->root, dot);
	if (x.failed) {
		free(x.out);
		if (asprintf(&res, "<error expanding template: %s>", x.err) < 0)
			res = NULL;
	} else {
		res = x.out;
	}
	for (size_t i = 0; i < x.nallocs; i++)
		free(x.allocs[i]);
	free(x.allocs);
	return res;
}

char *tmpl_render(const char *text, const char *name, const struct tmpl_data *d)
{
	char err[256];
	struct tmpl *t = tmpl_parse(text, name, err, sizeof(err));
	char *res;

	if (!t) {
		if (asprintf(&res, "<error expanding template: %s>", err) < 0)
			return NULL;
		return res;
	}
	res = tmpl_expand(t, d);
	tmpl__free(t);
	return res;
}
