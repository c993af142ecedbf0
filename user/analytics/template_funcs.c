// SPDX-License-Identifier: GPL-2.0
/* The functions alert templates call: Go's builtins, fmt verbs, and Prometheus' humanize family. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/promql.h"
#include "analytics/template_int.h"

/* Go's fmt.Sprintf for the verbs alert templates use. */
static char *go_sprintf(struct ex *x, const char *fmt, const struct val *args, size_t nargs)
{
	char *out = NULL;
	size_t olen = 0, ai = 0;
	FILE *f = open_memstream(&out, &olen);

	if (!f)
		return tx_keep(x, NULL);
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
				fprintf(f, "%%!d(%s=%s)", tx_kind_name(a), tx_to_text(x, a));
			break;
		case 'f':
		case 'F':
		case 'e':
		case 'g': {
			double v;

			if (a->k != V_FLOAT && a->k != V_INT) {
				fprintf(f, "%%!%c(%s=%s)", verb, tx_kind_name(a), tx_to_text(x, a));
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
				fprintf(f, "%%!s(%s)", tx_kind_name(a));
				break;
			}
			if (verb == 's' && (a->k == V_FLOAT || a->k == V_INT || a->k == V_BOOL)) {
				fprintf(f, "%%!s(%s=%s)", tx_kind_name(a), tx_to_text(x, a));
				break;
			}
			fprintf(f, strcat(spec, "s"), tx_to_text(x, a));
			break;
		case 'q':
			fprintf(f, "\"%s\"", tx_to_text(x, a));
			break;
		case 't':
			fputs(a->k == V_BOOL ? (a->b ? "true" : "false") : "%!t(?)", f);
			break;
		case 'x':
		case 'X':
			if (a->k == V_INT)
				fprintf(f, strcat(spec, verb == 'x' ? "llx" : "llX"), a->i);
			else
				for (const char *s = tx_to_text(x, a); *s; s++)
					fprintf(f, verb == 'x' ? "%02x" : "%02X",
						(unsigned char)*s);
			break;
		default:
			fprintf(f, "%%!%c(%s=%s)", verb, tx_kind_name(a), tx_to_text(x, a));
		}
	}
	if (ai < nargs) {
		fputs("%!(EXTRA ", f);
		for (size_t i = ai; i < nargs; i++)
			fprintf(f, "%s%s=%s", i > ai ? ", " : "", tx_kind_name(&args[i]),
				tx_to_text(x, &args[i]));
		fputc(')', f);
	}
	fclose(f);
	return tx_keep(x, out);
}

static char *humanize(struct ex *x, double v, bool b1024)
{
	static const char *const big[] = { "k", "M", "G", "T", "P", "E", "Z", "Y" };
	static const char *const big2[] = { "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi" };
	static const char *const small[] = { "m", "u", "n", "p", "f", "a", "z", "y" };
	const char *prefix = "";

	if (b1024) {
		if (fabs(v) <= 1 || isnan(v) || isinf(v))
			return tx_go_g4(x, v, "");
		for (int i = 0; i < 8 && fabs(v) >= 1024; i++) {
			prefix = big2[i];
			v /= 1024;
		}
		return tx_go_g4(x, v, prefix);
	}
	if (v == 0 || isnan(v) || isinf(v))
		return tx_go_g4(x, v, "");
	if (fabs(v) >= 1) {
		for (int i = 0; i < 8 && fabs(v) >= 1000; i++) {
			prefix = big[i];
			v /= 1000;
		}
		return tx_go_g4(x, v, prefix);
	}
	for (int i = 0; i < 8 && fabs(v) < 1; i++) {
		prefix = small[i];
		v *= 1000;
	}
	return tx_go_g4(x, v, prefix);
}

static char *humanize_duration(struct ex *x, double v)
{
	static const char *const small[] = { "m", "u", "n", "p", "f", "a", "z", "y" };
	const char *prefix = "";

	if (isnan(v) || isinf(v))
		return tx_go_g4(x, v, "");
	if (v == 0)
		return tx_go_g4(x, v, "s");
	if (fabs(v) >= 1) {
		const char *sign = v < 0 ? "-" : "";
		long long d;

		v = fabs(v);
		d = v < 9.2e18 ? (long long)v : 9200000000000000000LL;
		long long s = d % 60, m = (d / 60) % 60, h = (d / 3600) % 24, days = d / 86400;

		if (days)
			return tx_xprintf(x, "%s%lldd %lldh %lldm %llds", sign, days, h, m, s);
		if (h)
			return tx_xprintf(x, "%s%lldh %lldm %llds", sign, h, m, s);
		if (m)
			return tx_xprintf(x, "%s%lldm %llds", sign, m, s);
		return tx_xprintf(x, "%s%.4gs", sign, v);
	}
	for (int i = 0; i < 8 && fabs(v) < 1; i++) {
		prefix = small[i];
		v *= 1000;
	}
	return tx_xprintf(x, "%.4g%ss", v, prefix);
}

static char *strip_port(struct ex *x, const char *hp, char **port)
{
	const char *colon = strrchr(hp, ':');

	*port = NULL;
	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		if (close && close[1] == ':') {
			*port = tx_keep(x, strdup(close + 2));
			return tx_keep(x, strndup(hp + 1, (size_t)(close - hp - 1)));
		}
		return NULL;
	}
	if (!colon || strchr(hp, ':') != colon)
		return NULL; /* no port, or a bare IPv6 address */
	*port = tx_keep(x, strdup(colon + 1));
	return tx_keep(x, strndup(hp, (size_t)(colon - hp)));
}

static bool looks_ip(const char *s)
{
	return strspn(s, "0123456789.") == strlen(s) || strchr(s, ':');
}

struct val tx_call(struct ex *x, const char *fn, const struct targ *args, size_t nargs,
		   const struct val *final, struct val dot)
{
	struct val av[16], out = { 0 };
	size_t n = 0;

	/* and / or evaluate lazily (Go 1.18). */
	if (!strcmp(fn, "and") || !strcmp(fn, "or")) {
		bool is_and = fn[0] == 'a';
		size_t total = nargs + (final ? 1 : 0);

		if (!total) {
			tx_xfail(x, "wrong number of args for %s: want at least 1 got 0", fn);
			return out;
		}
		for (size_t i = 0; i < total && !x->failed; i++) {
			out = i < nargs ? tx_eval_arg(x, &args[i], dot) : *final;
			if (tx_truth(&out) != is_and)
				return out;
		}
		return out;
	}
	for (size_t i = 0; i < nargs && n < 15; i++)
		av[n++] = tx_eval_arg(x, &args[i], dot);
	if (final && n < 16)
		av[n++] = *final;
	if (x->failed)
		return out;
#define WANT(k)                                                                                  \
	do {                                                                                     \
		if (n != (k)) {                                                                  \
			tx_xfail(x, "wrong number of args for %s: want %d got %zu", fn, (k), n); \
			return out;                                                              \
		}                                                                                \
	} while (0)
	double f;

	if (!strcmp(fn, "not")) {
		WANT(1);
		return vbool(!tx_truth(&av[0]));
	}
	if (!strcmp(fn, "len")) {
		WANT(1);
		out.k = V_INT;
		out.i = av[0].k == V_STR ? (long long)strlen(av[0].s) :
			av[0].k == V_MAP ? (long long)av[0].m->n :
					   -1;
		if (out.i < 0)
			tx_xfail(x, "len of type %s", tx_kind_name(&av[0]));
		return out;
	}
	if (!strcmp(fn, "index")) {
		if (n < 1) {
			tx_xfail(x, "wrong number of args for index: want at least 1 got 0");
			return out;
		}
		out = av[0];
		for (size_t i = 1; i < n && !x->failed; i++) {
			if (out.k != V_MAP || av[i].k != V_STR) {
				tx_xfail(x, "can't index item of type %s", tx_kind_name(&out));
				return out;
			}
			out = tx_field(x, out, av[i].s);
		}
		return out;
	}
	if (!strcmp(fn, "print") || !strcmp(fn, "println")) {
		size_t cap = 1;

		for (size_t i = 0; i < n; i++)
			cap += strlen(tx_to_text(x, &av[i])) + 1;
		char *s = tx_keep(x, calloc(1, cap + 1));

		for (size_t i = 0; s && i < n; i++) {
			/* print adds spaces between operands when neither is a string. */
			if (i && (fn[5] == 'l' || (av[i].k != V_STR && av[i - 1].k != V_STR)))
				strcat(s, " ");
			strcat(s, tx_to_text(x, &av[i]));
		}
		if (s && fn[5] == 'l')
			strcat(s, "\n");
		return vstr(s);
	}
	if (!strcmp(fn, "printf")) {
		if (n < 1 || av[0].k != V_STR) {
			tx_xfail(x, "printf needs a format string");
			return out;
		}
		return vstr(go_sprintf(x, av[0].s, av + 1, n - 1));
	}
	if (!strcmp(fn, "eq") || !strcmp(fn, "ne") || !strcmp(fn, "lt") || !strcmp(fn, "le") ||
	    !strcmp(fn, "gt") || !strcmp(fn, "ge")) {
		bool ok;

		if (!strcmp(fn, "eq")) {
			if (n < 2) {
				tx_xfail(x, "missing argument for comparison");
				return out;
			}
			for (size_t i = 1; i < n; i++) {
				int c = tx_cmp_vals(x, &av[0], &av[i], &ok);

				if (!ok)
					return out;
				if (!c)
					return vbool(true);
			}
			return vbool(false);
		}
		WANT(2);
		int c = tx_cmp_vals(x, &av[0], &av[1], &ok);

		if (!ok)
			return out;
		return vbool(fn[0] == 'n' ? c != 0 :
			     fn[0] == 'l' ? (fn[1] == 't' ? c < 0 : c <= 0) :
					    (fn[1] == 't' ? c > 0 : c >= 0));
	}
	if (!strcmp(fn, "humanize") || !strcmp(fn, "humanize1024")) {
		WANT(1);
		if (!tx_to_float(x, &av[0], &f))
			return out;
		return vstr(humanize(x, f, fn[8] == '1'));
	}
	if (!strcmp(fn, "humanizeDuration")) {
		WANT(1);
		if (!tx_to_float(x, &av[0], &f))
			return out;
		return vstr(humanize_duration(x, f));
	}
	if (!strcmp(fn, "humanizePercentage")) {
		WANT(1);
		if (!tx_to_float(x, &av[0], &f))
			return out;
		return vstr(tx_go_g4(x, f * 100, "%"));
	}
	if (!strcmp(fn, "humanizeTimestamp")) {
		WANT(1);
		if (!tx_to_float(x, &av[0], &f))
			return out;
		if (isnan(f) || isinf(f))
			return vstr(tx_go_g4(x, f, ""));
		if (fabs(f * 1e9) >= 9.2e18) {
			tx_xfail(x,
				 "%s cannot be represented as a nanoseconds timestamp since it "
				 "overflows int64",
				 tx_go_float_v(x, f));
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
		return vstr(tx_xprintf(x, "%s%s +0000 UTC", buf, frac));
	}
	if (!strcmp(fn, "toUpper") || !strcmp(fn, "toLower") || !strcmp(fn, "title")) {
		WANT(1);
		if (av[0].k != V_STR) {
			tx_xfail(x, "%s: want string, got %s", fn, tx_kind_name(&av[0]));
			return out;
		}
		char *s = tx_keep(x, strdup(av[0].s));
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
				tx_xfail(x, "%s: want strings", fn);
				return out;
			}
		if (regcomp(&re, av[0].s, REG_EXTENDED)) {
			tx_xfail(x, "error parsing regexp: %s", av[0].s);
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
		return vstr(tx_keep(x, res));
	}
	if (!strcmp(fn, "stripPort") || !strcmp(fn, "stripDomain")) {
		char *port, *host;

		WANT(1);
		if (av[0].k != V_STR) {
			tx_xfail(x, "%s: want string", fn);
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
		char *h = tx_keep(x, dot ? strndup(host, (size_t)(dot - host)) : strdup(host));

		if (port && *port)
			return vstr(tx_xprintf(x, "%s:%s", h, port));
		return vstr(h);
	}
	if (!strcmp(fn, "safeHtml") || !strcmp(fn, "html") || !strcmp(fn, "urlquery") ||
	    !strcmp(fn, "js")) {
		WANT(1);
		return vstr(tx_to_text(x, &av[0]));
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
			tx_xfail(x, "not a valid duration string: \"%s\"", tx_to_text(x, &av[0]));
			return out;
		}
		return vfloat((double)ms / 1000);
	}
#undef WANT
	tx_xfail(x, "function %s is not available in vigil's alert templates", fn);
	return out;
}
