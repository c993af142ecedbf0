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

enum vkind { V_NIL, V_BOOL, V_INT, V_FLOAT, V_STR, V_MAP, V_DATA };

struct val {
	enum vkind k;
	bool b;
	long long i;
	double f;
	const char *s;
	const struct labels *m;
};

struct ex {
	const struct tmpl *t;
	const struct tmpl_data *d;
	char *out;
	size_t len, cap;
	struct {
		const char *name;
		struct val v;
	} vars[64];
	size_t nvars;
	char err[256];
	bool failed;
	char **allocs;
	size_t nallocs, capallocs;
	int depth;
	int ctl; /* 1 after {{break}}, 2 after {{continue}} */
};

static void xfail(struct ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void xfail(struct ex *x, const char *fmt, ...)
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
static char *keep(struct ex *x, char *s)
{
	if (!s) {
		xfail(x, "out of memory");
		return NULL;
	}
	if (x->nallocs == x->capallocs) {
		size_t cap = x->capallocs ? x->capallocs * 2 : 16;
		char **a = realloc(x->allocs, cap * sizeof(*a));

		if (!a) {
			free(s);
			xfail(x, "out of memory");
			return NULL;
		}
		x->allocs = a;
		x->capallocs = cap;
	}
	x->allocs[x->nallocs++] = s;
	return s;
}

static char *xprintf(struct ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *xprintf(struct ex *x, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return keep(x, s);
}

static void emit(struct ex *x, const char *s, size_t n)
{
	if (x->failed)
		return;
	if (x->len + n + 1 > x->cap) {
		size_t cap = (x->len + n + 1) * 2;
		char *o = realloc(x->out, cap);

		if (!o) {
			xfail(x, "out of memory");
			return;
		}
		x->out = o;
		x->cap = cap;
	}
	memcpy(x->out + x->len, s, n);
	x->len += n;
	x->out[x->len] = 0;
}

static struct val vstr(const char *s)
{
	struct val v = { .k = V_STR, .s = s ? s : "" };

	return v;
}

static struct val vfloat(double f)
{
	struct val v = { .k = V_FLOAT, .f = f };

	return v;
}

static struct val vbool(bool b)
{
	struct val v = { .k = V_BOOL, .b = b };

	return v;
}

static const char *kind_name(const struct val *v)
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
static char *go_float_v(struct ex *x, double v)
{
	char digits[400], *dot;

	if (isnan(v))
		return xprintf(x, "NaN");
	if (isinf(v))
		return xprintf(x, v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return xprintf(x, signbit(v) ? "-0" : "0");
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
		return xprintf(x, "%se%c%02d", m, exp10 < 0 ? '-' : '+', abs(exp10));
	}
	pq_format_float(v, digits, sizeof(digits));
	dot = digits;
	return xprintf(x, "%s", dot);
}

/* %.4g as Go prints it (infinities as +Inf / -Inf). */
static char *go_g4(struct ex *x, double v, const char *suffix)
{
	if (isnan(v))
		return xprintf(x, "NaN%s", suffix);
	if (isinf(v))
		return xprintf(x, "%s%s", v > 0 ? "+Inf" : "-Inf", suffix);
	return xprintf(x, "%.4g%s", v, suffix);
}

/* fmt's %v of a value. */
static const char *to_text(struct ex *x, const struct val *v)
{
	switch (v->k) {
	case V_NIL:
		return "<no value>";
	case V_BOOL:
		return v->b ? "true" : "false";
	case V_INT:
		return xprintf(x, "%lld", v->i);
	case V_FLOAT:
		return go_float_v(x, v->f);
	case V_STR:
		return v->s;
	case V_MAP: {
		size_t n = 6; /* "map[" "]" NUL */

		for (uint32_t i = 0; i < v->m->n; i++)
			n += strlen(v->m->l[i].name) + strlen(v->m->l[i].value) + 2;
		char *s = keep(x, calloc(1, n));

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

static bool truth(const struct val *v)
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

static bool to_float(struct ex *x, const struct val *v, double *f)
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
		xfail(x, "strconv.ParseFloat: parsing \"%s\": invalid syntax", v->s);
		return false;
	default:
		xfail(x, "can't convert %s to float", kind_name(v));
		return false;
	}
}

static struct val field(struct ex *x, struct val v, const char *name)
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
		xfail(x, "can't evaluate field %s in type *template.tmplData", name);
		return out;
	}
	if (v.k == V_MAP) {
		const char *s = labels__get(v.m, name);

		return vstr(s ? s : "");
	}
	xfail(x, "can't evaluate field %s in type %s", name, kind_name(&v));
	return out;
}

static struct val chain(struct ex *x, struct val v, const char *c)
{
	char name[128];

	while (c && *c == '.' && !x->failed) {
		const char *e = strchr(c + 1, '.');
		size_t n = e ? (size_t)(e - c - 1) : strlen(c + 1);

		snprintf(name, sizeof(name), "%.*s", (int)n, c + 1);
		v = field(x, v, name);
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
		xfail(x, "too many variables");
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
		return keep(x, NULL);
	if (lit[0] == '`') {
		memcpy(o, lit + 1, n - 2);
		o[n - 2] = 0;
		return keep(x, o);
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
	return keep(x, o);
}

static void exec_list(struct ex *x, const struct tnode *n, struct val dot);
static struct val eval_pipe(struct ex *x, const struct tpipe *p, struct val dot);

static struct val eval_arg(struct ex *x, const struct targ *a, struct val dot)
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
			xfail(x, "undefined variable: %s", a->text);
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
		return chain(x, eval_pipe(x, a->pipe, dot), a->chain);
	case TA_FUNC:
		break;
	}
	xfail(x, "can't give argument to non-function %s", a->text);
	return v;
}

static int cmp_vals(struct ex *x, const struct val *a, const struct val *b, bool *ok)
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
	xfail(x, "incompatible types for comparison");
	return 0;
}

/* Go's fmt.Sprintf for the verbs alert templates use. */
static char *go_sprintf(struct ex *x, const char *fmt, const struct val *args, size_t nargs)
{
	char *out = NULL;
	size_t olen = 0, ai = 0;
	FILE *f = open_memstream(&out, &olen);

	if (!f)
		return keep(x, NULL);
	for (const char *p = fmt; *p; p++) {
		char spec[32] = "%";
		size_t sl = 1;

		if (*p != '%') {
			fputc(*p, f);
			continue;
		}
		p++;
		while (*p && strchr("+-# 0", *p) && sl < 10)
			spec[sl++] = *p++;
		while (*p && (isdigit((unsigned char)*p) || *p == '.') && sl < 20)
			spec[sl++] = *p++;
		char verb = *p;

		if (!verb)
			break;
		if (verb == '%') {
			fputc('%', f);
			continue;
		}
		if (ai >= nargs) {
			fprintf(f, "%%!%c(MISSING)", verb);
			continue;
		}
		const struct val *a = &args[ai++];

		spec[sl] = 0;
		switch (verb) {
		case 'd':
			if (a->k == V_INT)
				fprintf(f, strcat(spec, "lld"), a->i);
			else
				fprintf(f, "%%!d(%s=%s)", kind_name(a), to_text(x, a));
			break;
		case 'f':
		case 'F':
		case 'e':
		case 'g': {
			double v;

			if (a->k != V_FLOAT && a->k != V_INT) {
				fprintf(f, "%%!%c(%s=%s)", verb, kind_name(a), to_text(x, a));
				break;
			}
			if (a->k == V_INT) {
				fprintf(f, "%%!%c(int=%lld)", verb, a->i);
				break;
			}
			v = a->f;
			if (isinf(v) || isnan(v)) {
				fputs(isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", f);
				break;
			}
			spec[sl] = verb == 'F' ? 'f' : verb;
			spec[sl + 1] = 0;
			fprintf(f, spec, v);
			break;
		}
		case 's':
		case 'v':
			if (verb == 's' && a->k != V_STR && a->k != V_MAP && a->k != V_FLOAT &&
			    a->k != V_INT && a->k != V_BOOL) {
				fprintf(f, "%%!s(%s)", kind_name(a));
				break;
			}
			if (verb == 's' && (a->k == V_FLOAT || a->k == V_INT || a->k == V_BOOL)) {
				fprintf(f, "%%!s(%s=%s)", kind_name(a), to_text(x, a));
				break;
			}
			fprintf(f, strcat(spec, "s"), to_text(x, a));
			break;
		case 'q':
			fprintf(f, "\"%s\"", to_text(x, a));
			break;
		case 't':
			fputs(a->k == V_BOOL ? (a->b ? "true" : "false") : "%!t(?)", f);
			break;
		case 'x':
		case 'X':
			if (a->k == V_INT)
				fprintf(f, strcat(spec, verb == 'x' ? "llx" : "llX"), a->i);
			else
				for (const char *s = to_text(x, a); *s; s++)
					fprintf(f, verb == 'x' ? "%02x" : "%02X",
						(unsigned char)*s);
			break;
		default:
			fprintf(f, "%%!%c(%s=%s)", verb, kind_name(a), to_text(x, a));
		}
	}
	if (ai < nargs) {
		fputs("%!(EXTRA ", f);
		for (size_t i = ai; i < nargs; i++)
			fprintf(f, "%s%s=%s", i > ai ? ", " : "", kind_name(&args[i]),
				to_text(x, &args[i]));
		fputc(')', f);
	}
	fclose(f);
	return keep(x, out);
}

static char *humanize(struct ex *x, double v, bool b1024)
{
	static const char *const big[] = { "k", "M", "G", "T", "P", "E", "Z", "Y" };
	static const char *const big2[] = { "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi" };
	static const char *const small[] = { "m", "u", "n", "p", "f", "a", "z", "y" };
	const char *prefix = "";

	if (b1024) {
		if (fabs(v) <= 1 || isnan(v) || isinf(v))
			return go_g4(x, v, "");
		for (int i = 0; i < 8 && fabs(v) >= 1024; i++) {
			prefix = big2[i];
			v /= 1024;
		}
		return go_g4(x, v, prefix);
	}
	if (v == 0 || isnan(v) || isinf(v))
		return go_g4(x, v, "");
	if (fabs(v) >= 1) {
		for (int i = 0; i < 8 && fabs(v) >= 1000; i++) {
			prefix = big[i];
			v /= 1000;
		}
		return go_g4(x, v, prefix);
	}
	for (int i = 0; i < 8 && fabs(v) < 1; i++) {
		prefix = small[i];
		v *= 1000;
	}
	return go_g4(x, v, prefix);
}

static char *humanize_duration(struct ex *x, double v)
{
	static const char *const small[] = { "m", "u", "n", "p", "f", "a", "z", "y" };
	const char *prefix = "";

	if (isnan(v) || isinf(v))
		return go_g4(x, v, "");
	if (v == 0)
		return go_g4(x, v, "s");
	if (fabs(v) >= 1) {
		const char *sign = v < 0 ? "-" : "";
		long long d;

		v = fabs(v);
		d = v < 9.2e18 ? (long long)v : 9200000000000000000LL;
		long long s = d % 60, m = (d / 60) % 60, h = (d / 3600) % 24, days = d / 86400;

		if (days)
			return xprintf(x, "%s%lldd %lldh %lldm %llds", sign, days, h, m, s);
		if (h)
			return xprintf(x, "%s%lldh %lldm %llds", sign, h, m, s);
		if (m)
			return xprintf(x, "%s%lldm %llds", sign, m, s);
		return xprintf(x, "%s%.4gs", sign, v);
	}
	for (int i = 0; i < 8 && fabs(v) < 1; i++) {
		prefix = small[i];
		v *= 1000;
	}
	return xprintf(x, "%.4g%ss", v, prefix);
}

static char *strip_port(struct ex *x, const char *hp, char **port)
{
	const char *colon = strrchr(hp, ':');

	*port = NULL;
	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		if (close && close[1] == ':') {
			*port = keep(x, strdup(close + 2));
			return keep(x, strndup(hp + 1, (size_t)(close - hp - 1)));
		}
		return NULL;
	}
	if (!colon || strchr(hp, ':') != colon)
		return NULL; /* no port, or a bare IPv6 address */
	*port = keep(x, strdup(colon + 1));
	return keep(x, strndup(hp, (size_t)(colon - hp)));
}

static bool looks_ip(const char *s)
{
	return strspn(s, "0123456789.") == strlen(s) || strchr(s, ':');
}

static struct val call(struct ex *x, const char *fn, const struct targ *args, size_t nargs,
		       const struct val *final, struct val dot)
{
	struct val av[16], out = { 0 };
	size_t n = 0;

	/* and / or evaluate lazily (Go 1.18). */
	if (!strcmp(fn, "and") || !strcmp(fn, "or")) {
		bool is_and = fn[0] == 'a';
		size_t total = nargs + (final ? 1 : 0);

		if (!total) {
			xfail(x, "wrong number of args for %s: want at least 1 got 0", fn);
			return out;
		}
		for (size_t i = 0; i < total && !x->failed; i++) {
			out = i < nargs ? eval_arg(x, &args[i], dot) : *final;
			if (truth(&out) != is_and)
				return out;
		}
		return out;
	}
	for (size_t i = 0; i < nargs && n < 15; i++)
		av[n++] = eval_arg(x, &args[i], dot);
	if (final && n < 16)
		av[n++] = *final;
	if (x->failed)
		return out;
#define WANT(k)                                                                               \
	do {                                                                                  \
		if (n != (k)) {                                                               \
			xfail(x, "wrong number of args for %s: want %d got %zu", fn, (k), n); \
			return out;                                                           \
		}                                                                             \
	} while (0)
	double f;

	if (!strcmp(fn, "not")) {
		WANT(1);
		return vbool(!truth(&av[0]));
	}
	if (!strcmp(fn, "len")) {
		WANT(1);
		out.k = V_INT;
		out.i = av[0].k == V_STR ? (long long)strlen(av[0].s) :
			av[0].k == V_MAP ? (long long)av[0].m->n :
					   -1;
		if (out.i < 0)
			xfail(x, "len of type %s", kind_name(&av[0]));
		return out;
	}
	if (!strcmp(fn, "index")) {
		if (n < 1) {
			xfail(x, "wrong number of args for index: want at least 1 got 0");
			return out;
		}
		out = av[0];
		for (size_t i = 1; i < n && !x->failed; i++) {
			if (out.k != V_MAP || av[i].k != V_STR) {
				xfail(x, "can't index item of type %s", kind_name(&out));
				return out;
			}
			out = field(x, out, av[i].s);
		}
		return out;
	}
	if (!strcmp(fn, "print") || !strcmp(fn, "println")) {
		size_t cap = 1;

		for (size_t i = 0; i < n; i++)
			cap += strlen(to_text(x, &av[i])) + 1;
		char *s = keep(x, calloc(1, cap + 1));

		for (size_t i = 0; s && i < n; i++) {
			/* print adds spaces between operands when neither is a string. */
			if (i && (fn[5] == 'l' || (av[i].k != V_STR && av[i - 1].k != V_STR)))
				strcat(s, " ");
			strcat(s, to_text(x, &av[i]));
		}
		if (s && fn[5] == 'l')
			strcat(s, "\n");
		return vstr(s);
	}
	if (!strcmp(fn, "printf")) {
		if (n < 1 || av[0].k != V_STR) {
			xfail(x, "printf needs a format string");
			return out;
		}
		return vstr(go_sprintf(x, av[0].s, av + 1, n - 1));
	}
	if (!strcmp(fn, "eq") || !strcmp(fn, "ne") || !strcmp(fn, "lt") || !strcmp(fn, "le") ||
	    !strcmp(fn, "gt") || !strcmp(fn, "ge")) {
		bool ok;

		if (!strcmp(fn, "eq")) {
			if (n < 2) {
				xfail(x, "missing argument for comparison");
				return out;
			}
			for (size_t i = 1; i < n; i++) {
				int c = cmp_vals(x, &av[0], &av[i], &ok);

				if (!ok)
					return out;
				if (!c)
					return vbool(true);
			}
			return vbool(false);
		}
		WANT(2);
		int c = cmp_vals(x, &av[0], &av[1], &ok);

		if (!ok)
			return out;
		return vbool(fn[0] == 'n' ? c != 0 :
			     fn[0] == 'l' ? (fn[1] == 't' ? c < 0 : c <= 0) :
					    (fn[1] == 't' ? c > 0 : c >= 0));
	}
	if (!strcmp(fn, "humanize") || !strcmp(fn, "humanize1024")) {
		WANT(1);
		if (!to_float(x, &av[0], &f))
			return out;
		return vstr(humanize(x, f, fn[8] == '1'));
	}
	if (!strcmp(fn, "humanizeDuration")) {
		WANT(1);
		if (!to_float(x, &av[0], &f))
			return out;
		return vstr(humanize_duration(x, f));
	}
	if (!strcmp(fn, "humanizePercentage")) {
		WANT(1);
		if (!to_float(x, &av[0], &f))
			return out;
		return vstr(go_g4(x, f * 100, "%"));
	}
	if (!strcmp(fn, "humanizeTimestamp")) {
		WANT(1);
		if (!to_float(x, &av[0], &f))
			return out;
		if (isnan(f) || isinf(f))
			return vstr(go_g4(x, f, ""));
		if (fabs(f * 1e9) >= 9.2e18) {
			xfail(x,
			      "%s cannot be represented as a nanoseconds timestamp since it "
			      "overflows int64",
			      go_float_v(x, f));
			return out;
		}
		/* model.TimeFromUnixNano: milliseconds, as Prometheus' times are. */
		long long ms = (long long)(f * 1e9) / 1000000;
		long long msr = ((ms % 1000) + 1000) % 1000;
		time_t secs = (time_t)((ms - msr) / 1000);
		struct tm tm;
		char buf[64], frac[16] = "";

		gmtime_r(&secs, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
		if (msr) {
			snprintf(frac, sizeof(frac), ".%03lld", msr);
			for (size_t k = strlen(frac); k > 1 && frac[k - 1] == '0'; k--)
				frac[k - 1] = 0;
		}
		return vstr(xprintf(x, "%s%s +0000 UTC", buf, frac));
	}
	if (!strcmp(fn, "toUpper") || !strcmp(fn, "toLower") || !strcmp(fn, "title")) {
		WANT(1);
		if (av[0].k != V_STR) {
			xfail(x, "%s: want string, got %s", fn, kind_name(&av[0]));
			return out;
		}
		char *s = keep(x, strdup(av[0].s));
		bool start = true;

		for (char *c = s; c && *c; c++) {
			if (fn[0] == 't' && fn[1] == 'o')
				*c = (char)(fn[2] == 'U' ? toupper((unsigned char)*c) :
							   tolower((unsigned char)*c));
			else if (start && isalpha((unsigned char)*c))
				*c = (char)toupper((unsigned char)*c);
			start = !isalnum((unsigned char)*c) && *c != '\'' && *c != '_';
		}
		return vstr(s);
	}
	if (!strcmp(fn, "match") || !strcmp(fn, "reReplaceAll")) {
		regex_t re;
		regmatch_t m[10];

		WANT(fn[0] == 'm' ? 2 : 3);
		for (size_t i = 0; i < n; i++)
			if (av[i].k != V_STR) {
				xfail(x, "%s: want strings", fn);
				return out;
			}
		if (regcomp(&re, av[0].s, REG_EXTENDED)) {
			xfail(x, "error parsing regexp: %s", av[0].s);
			return out;
		}
		if (fn[0] == 'm') {
			bool ok = !regexec(&re, av[1].s, 0, NULL, 0);

			regfree(&re);
			return vbool(ok);
		}
		/* ReplaceAllString with $1 expansion, leftmost matches, non-overlapping. */
		const char *src = av[2].s, *repl = av[1].s;
		char *res = NULL;
		size_t rl = 0;
		FILE *fo = open_memstream(&res, &rl);
		int eflags = 0;

		while (fo && *src && !regexec(&re, src, 10, m, eflags)) {
			fwrite(src, 1, (size_t)m[0].rm_so, fo);
			for (const char *r = repl; *r; r++) {
				if (*r == '$' && isdigit((unsigned char)r[1])) {
					int g = r[1] - '0';

					if (g < 10 && m[g].rm_so >= 0)
						fwrite(src + m[g].rm_so, 1,
						       (size_t)(m[g].rm_eo - m[g].rm_so), fo);
					r++;
				} else {
					fputc(*r, fo);
				}
			}
			if (m[0].rm_eo == 0) { /* empty match: step one byte */
				if (*src)
					fputc(*src, fo);
				src++;
			} else {
				src += m[0].rm_eo;
			}
			eflags = REG_NOTBOL;
		}
		if (fo) {
			fputs(src, fo);
			fclose(fo);
		}
		regfree(&re);
		return vstr(keep(x, res));
	}
	if (!strcmp(fn, "stripPort") || !strcmp(fn, "stripDomain")) {
		char *port, *host;

		WANT(1);
		if (av[0].k != V_STR) {
			xfail(x, "%s: want string", fn);
			return out;
		}
		host = strip_port(x, av[0].s, &port);
		if (fn[5] == 'P')
			return vstr(host ? host : av[0].s);
		if (!host)
			host = (char *)av[0].s;
		if (looks_ip(host))
			return av[0];
		char *dot = strchr(host, '.');
		char *h = keep(x, dot ? strndup(host, (size_t)(dot - host)) : strdup(host));

		if (port && *port)
			return vstr(xprintf(x, "%s:%s", h, port));
		return vstr(h);
	}
	if (!strcmp(fn, "safeHtml") || !strcmp(fn, "html") || !strcmp(fn, "urlquery") ||
	    !strcmp(fn, "js")) {
		WANT(1);
		return vstr(to_text(x, &av[0]));
	}
	if (!strcmp(fn, "externalURL")) {
		WANT(0);
		return vstr(x->d->external_url);
	}
	if (!strcmp(fn, "pathPrefix")) {
		const char *u = x->d->external_url ? x->d->external_url : "";
		const char *p = strstr(u, "://");

		WANT(0);
		p = p ? strchr(p + 3, '/') : NULL;
		return vstr(p ? p : "");
	}
	if (!strcmp(fn, "parseDuration")) {
		int64_t ms;

		WANT(1);
		if (av[0].k != V_STR || pq_parse_duration(av[0].s, strlen(av[0].s), &ms)) {
			xfail(x, "not a valid duration string: \"%s\"", to_text(x, &av[0]));
			return out;
		}
		return vfloat((double)ms / 1000);
	}
#undef WANT
	xfail(x, "function %s is not available in vigil's alert templates", fn);
	return out;
}

static struct val eval_cmd(struct ex *x, const struct tcmd *c, const struct val *final,
			   struct val dot)
{
	const struct targ *a = &c->args[0];

	if (a->kind == TA_FUNC)
		return call(x, a->text, c->args + 1, c->nargs - 1, final, dot);
	if (c->nargs > 1 || final) {
		xfail(x, "can't give argument to non-function %s", a->text ? a->text : ".");
		return (struct val){ 0 };
	}
	return eval_arg(x, a, dot);
}

static struct val eval_pipe(struct ex *x, const struct tpipe *p, struct val dot)
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
		struct val v = eval_pipe(x, n->pipe, dot);
		const char *s;

		if (n->pipe->ndecl || x->failed)
			return;
		s = to_text(x, &v);
		emit(x, s, strlen(s));
		return;
	}
	case TN_IF:
	case TN_WITH: {
		struct val v = eval_pipe(x, n->pipe, dot);

		if (x->failed)
			break;
		if (truth(&v))
			exec_list(x, n->list, n->kind == TN_WITH ? v : dot);
		else if (n->else_list)
			exec_list(x, n->else_list, dot);
		break;
	}
	case TN_RANGE: {
		struct val v = eval_pipe(x, n->pipe, dot);

		if (x->failed)
			break;
		if (v.k != V_MAP) {
			if (truth(&v) || v.k != V_NIL)
				xfail(x, "range can't iterate over %s", to_text(x, &v));
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
		struct val arg = n->pipe ? eval_pipe(x, n->pipe, dot) : (struct val){ 0 };

		if (!d && !n->is_block) {
			xfail(x, "no such template %s", n->name);
			break;
		}
		if (++x->depth > 100) {
			xfail(x, "exceeded maximum template depth (100)");
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
