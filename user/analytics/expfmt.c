// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/expfmt.h"

static int fail(struct expfmt_error *err, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct expfmt_error *err, size_t line, const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool parse_value(const char *s, size_t n, double *v)
{
	char tmp[64], *end;

	if (!n || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (!strcmp(tmp, "NaN")) {
		*v = NAN;
		return true;
	}
	if (!strcmp(tmp, "+Inf") || !strcmp(tmp, "Inf")) {
		*v = INFINITY;
		return true;
	}
	if (!strcmp(tmp, "-Inf")) {
		*v = -INFINITY;
		return true;
	}
	if (!isdigit((unsigned char)tmp[0]) && tmp[0] != '-' && tmp[0] != '+' && tmp[0] != '.')
		return false;
	*v = strtod(tmp, &end);
	return *end == 0;
}

/* One sample line [p, e). */
static int parse_sample(const char *p, const char *e, size_t lineno, bool om, int64_t default_t,
			int (*fn)(void *, struct labels *, int64_t, double), void *arg,
			struct expfmt_error *err)
{
	struct label pairs[64];
	char *strs[129];
	size_t np = 0, ns = 0;
	const char *q = p;
	int rc = 0;
	double v;
	int64_t t = default_t;

	while (q < e && (isalnum((unsigned char)*q) || *q == '_' || *q == ':'))
		q++;
	if (q == p)
		return fail(err, lineno, "expected a metric name");
	strs[ns] = strndup(p, (size_t)(q - p));
	if (!strs[ns])
		return -ENOMEM;
	pairs[np].name = LABEL_METRIC_NAME;
	pairs[np++].value = strs[ns++];
	if (q < e && *q == '{') {
		q++;
		for (;;) {
			const char *ns0;
			char *val, *o;

			while (q < e && *q == ' ')
				q++;
			if (q < e && *q == '}') {
				q++;
				break;
			}
			ns0 = q;
			while (q < e && (isalnum((unsigned char)*q) || *q == '_'))
				q++;
			if (q == ns0 || q >= e || *q != '=' || q + 1 >= e || q[1] != '"') {
				rc = fail(err, lineno, "expected label=\"value\"");
				goto out;
			}
			if (np >= 64) {
				rc = fail(err, lineno, "too many labels");
				goto out;
			}
			strs[ns] = strndup(ns0, (size_t)(q - ns0));
			q += 2;
			val = o = calloc(1, (size_t)(e - q) + 1);
			if (!strs[ns] || !val) {
				free(val);
				if (strs[ns])
					ns++;
				rc = -ENOMEM;
				goto out;
			}
			pairs[np].name = strs[ns++];
			while (q < e && *q != '"') {
				if (*q == '\\' && q + 1 < e) {
					q++;
					*o++ = *q == 'n' ? '\n' : *q;
				} else {
					*o++ = *q;
				}
				q++;
			}
			*o = 0;
			strs[ns++] = val;
			pairs[np++].value = val;
			if (q >= e) {
				rc = fail(err, lineno, "unterminated label value");
				goto out;
			}
			q++;
			while (q < e && *q == ' ')
				q++;
			if (q < e && *q == ',')
				q++;
			else if (q < e && *q != '}') {
				rc = fail(err, lineno, "expected ',' or '}' after a label value");
				goto out;
			}
		}
	}
	if (q >= e || *q != ' ') {
		rc = fail(err, lineno, "expected a space before the value");
		goto out;
	}
	while (q < e && *q == ' ')
		q++;
	const char *vs = q;

	while (q < e && *q != ' ')
		q++;
	if (!parse_value(vs, (size_t)(q - vs), &v)) {
		rc = fail(err, lineno, "bad value \"%.*s\"", (int)(q - vs), vs);
		goto out;
	}
	while (q < e && *q == ' ')
		q++;
	if (q < e && *q != '#') {
		const char *ts = q;
		double tv;

		while (q < e && *q != ' ')
			q++;
		/* Times beyond year 287396 (int64 ms) are refused rather than wrapped. */
		if (!parse_value(ts, (size_t)(q - ts), &tv) || !(fabs(tv) < (om ? 9e12 : 9e15))) {
			rc = fail(err, lineno, "bad timestamp \"%.*s\"", (int)(q - ts), ts);
			goto out;
		}
		t = om ? (int64_t)llround(tv * 1000) : (int64_t)tv;
	}
	struct labels *l = labels__new(pairs, np);

	if (!l) {
		rc = -ENOMEM;
		goto out;
	}
	rc = fn(arg, l, t, v);
	labels__unref(l);
out:
	for (size_t i = 0; i < ns; i++)
		free(strs[i]);
	return rc;
}

int expfmt_parse(const char *buf, size_t len, int64_t default_t,
		 int (*fn)(void *arg, struct labels *l, int64_t t, double v), void *arg,
		 struct expfmt_error *err)
{
	const char *end = buf + len, *p = buf;
	bool om = false;
	size_t lineno = 0;

	err->line = 0;
	err->msg[0] = 0;
	/* OpenMetrics when it ends with (or contains) "# EOF". */
	for (const char *q = buf; q < end;) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		const char *le = nl ? nl : end;

		if (le - q >= 5 && !strncmp(q, "# EOF", 5)) {
			om = true;
			break;
		}
		q = nl ? nl + 1 : end;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int rc;

		lineno++;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p || *p == '#') {
			if (om && le - p >= 5 && !strncmp(p, "# EOF", 5))
				return 0;
			p = nl ? nl + 1 : end;
			continue;
		}
		rc = parse_sample(p, le, lineno, om, default_t, fn, arg, err);
		if (rc)
			return rc;
		p = nl ? nl + 1 : end;
	}
	return 0;
}
