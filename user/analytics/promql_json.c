// SPDX-License-Identifier: GPL-2.0
/* PromQL's text forms: floats and times as Prometheus' HTTP API writes them, durations. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/promql.h"
#include "export/json.h"

char *pq_format_float(double v, char *buf, size_t len)
{
	char e[40], digits[24];
	int prec, exp10, nd = 0;
	size_t o = 0;

	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return buf;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return buf;
	}
	if (v == 0) {
		snprintf(buf, len, signbit(v) ? "-0" : "0");
		return buf;
	}
	/* The fewest significant digits that read back as v (Go's 'f' with precision -1). */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	const char *p = e;
	bool neg = *p == '-';

	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (isdigit((unsigned char)*p))
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	exp10 = atoi(p + 1); /* value = d1.d2d3... * 10^exp10 */
	char out[400];

	if (neg)
		out[o++] = '-';
	if (exp10 < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = -1; i > exp10; i--)
			out[o++] = '0';
		for (int i = 0; i < nd; i++)
			out[o++] = digits[i];
	} else {
		for (int i = 0; i <= exp10; i++)
			out[o++] = i < nd ? digits[i] : '0';
		if (nd > exp10 + 1) {
			out[o++] = '.';
			for (int i = exp10 + 1; i < nd; i++)
				out[o++] = digits[i];
		}
	}
	out[o] = 0;
	snprintf(buf, len, "%s", out);
	return buf;
}

int pq_parse_duration(const char *s, size_t len, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "y", 365LL * 24 * 3600 * 1000 },
		{ "w", 7LL * 24 * 3600 * 1000 },
		{ "d", 24LL * 3600 * 1000 },
		{ "h", 3600LL * 1000 },
		{ "m", 60LL * 1000 },
		{ "s", 1000 },
		{ "ms", 1 },
	};
	size_t i = 0, next_unit = 0;
	int64_t total = 0;

	if (len == 1 && s[0] == '0') {
		*ms = 0;
		return 0;
	}
	if (!len)
		return -EINVAL;
	while (i < len) {
		int64_t n = 0;
		size_t d = i, u;

		while (i < len && isdigit((unsigned char)s[i])) {
			if (n > (INT64_MAX - 9) / 10)
				return -EINVAL;
			n = n * 10 + (s[i] - '0');
			i++;
		}
		if (i == d)
			return -EINVAL;
		/* Units in decreasing order, each at most once ("ms" before "m"). */
		for (u = next_unit; u < sizeof(units) / sizeof(units[0]); u++) {
			size_t ul = strlen(units[u].unit);

			if (i + ul <= len && !strncmp(s + i, units[u].unit, ul) &&
			    !(ul == 1 && units[u].unit[0] == 'm' && i + 1 < len && s[i + 1] == 's'))
				break;
		}
		if (u == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		if (n > INT64_MAX / units[u].ms || total > INT64_MAX - n * units[u].ms)
			return -EINVAL;
		total += n * units[u].ms;
		i += strlen(units[u].unit);
		next_unit = u + 1;
	}
	*ms = total;
	return 0;
}

char *pq_format_duration(int64_t ms, char *buf, size_t len)
{
	static const struct {
		char unit[3];
		int64_t ms;
	} units[] = {
		{ "y", 365LL * 24 * 3600 * 1000 },
		{ "w", 7LL * 24 * 3600 * 1000 },
		{ "d", 24LL * 3600 * 1000 },
		{ "h", 3600LL * 1000 },
		{ "m", 60LL * 1000 },
		{ "s", 1000 },
		{ "ms", 1 },
	};
	size_t o = 0;

	if (!ms) {
		snprintf(buf, len, "0s");
		return buf;
	}
	buf[0] = 0;
	if (ms < 0) {
		o += (size_t)snprintf(buf, len, "-");
		ms = -ms;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && o < len; i++) {
		if (ms >= units[i].ms) {
			o += (size_t)snprintf(buf + o, len - o, "%lld%s",
					      (long long)(ms / units[i].ms), units[i].unit);
			ms %= units[i].ms;
		}
	}
	return buf;
}

int pq_parse_time(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	char *end;
	double secs;
	int y, mo, d, h, mi, sec, n = 0;

	if (!s || !*s)
		return -EINVAL;
	secs = strtod(s, &end);
	if (end != s && !*end && fabs(secs) < 9e12) {
		/* As Prometheus' parseTime: the fraction rounded to ms, then to integer ns (so 0.076
		 * may become 75999999 ns), then to ms as time.Time does (floor). */
		double ip, fr = modf(secs, &ip);
		int64_t sec = (int64_t)ip, nsec;

		fr = round(fr * 1000) / 1000;
		nsec = (int64_t)(fr * 1e9);
		if (nsec < 0) {
			sec--;
			nsec += 1000000000;
		} else if (nsec >= 1000000000) {
			sec++;
			nsec -= 1000000000;
		}
		*ms = sec * 1000 + nsec / 1000000;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || !n)
		return -EINVAL;
	const char *p = s + n;
	int64_t frac = 0;

	if (*p == '.') {
		int digits = 0;

		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		if (!digits)
			return -EINVAL;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	int off = 0;

	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;

		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return -EINVAL;
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
	return 0;
}

/* Prometheus' jsonutil.MarshalTimestamp: seconds, then ".mmm" when not whole. */
static void write_time(FILE *out, int64_t t)
{
	if (t < 0) {
		fputc('-', out);
		t = -t;
	}
	fprintf(out, "%lld", (long long)(t / 1000));
	if (t % 1000)
		fprintf(out, ".%03lld", (long long)(t % 1000));
}

static void write_point(FILE *out, int64_t t, double v)
{
	char buf[400];

	fputc('[', out);
	write_time(out, t);
	fputs(",\"", out);
	fputs(pq_format_float(v, buf, sizeof(buf)), out);
	fputs("\"]", out);
}

static void write_metric(FILE *out, const struct labels *l)
{
	fputc('{', out);
	for (uint32_t i = 0; i < l->n; i++) {
		if (i)
			fputc(',', out);
		json_write_string(out, l->l[i].name);
		fputc(':', out);
		json_write_string(out, l->l[i].value);
	}
	fputc('}', out);
}

int pq_result_write_json(FILE *out, const struct pq_result *r)
{
	fputs("{\"status\":\"success\",\"data\":{\"resultType\":", out);
	switch (r->type) {
	case PQ_SCALAR:
		fputs("\"scalar\",\"result\":", out);
		write_point(out, r->t, r->scalar);
		break;
	case PQ_STRING:
		fputs("\"string\",\"result\":[", out);
		write_time(out, r->t);
		fputc(',', out);
		json_write_string(out, r->str);
		fputc(']', out);
		break;
	case PQ_VECTOR:
		fputs("\"vector\",\"result\":[", out);
		for (size_t i = 0; i < r->vec.n; i++) {
			fputs(i ? ",{\"metric\":" : "{\"metric\":", out);
			write_metric(out, r->vec.s[i].l);
			fputs(",\"value\":", out);
			write_point(out, r->t, r->vec.s[i].v);
			fputc('}', out);
		}
		fputc(']', out);
		break;
	case PQ_MATRIX:
		fputs("\"matrix\",\"result\":[", out);
		for (size_t i = 0; i < r->mat.n; i++) {
			const struct pq_series *s = &r->mat.s[i];

			fputs(i ? ",{\"metric\":" : "{\"metric\":", out);
			write_metric(out, s->l);
			fputs(",\"values\":[", out);
			for (size_t j = 0; j < s->n; j++) {
				if (j)
					fputc(',', out);
				write_point(out, s->p[j].t, s->p[j].v);
			}
			fputs("]}", out);
		}
		fputc(']', out);
		break;
	default:
		return -EINVAL;
	}
	fputs("}}\n", out);
	return ferror(out) ? -EIO : 0;
}

int pq_error_write_json(FILE *out, const char *type, const char *msg)
{
	fputs("{\"status\":\"error\",\"errorType\":", out);
	json_write_string(out, type);
	fputs(",\"error\":", out);
	json_write_string(out, msg);
	fputs("}\n", out);
	return ferror(out) ? -EIO : 0;
}
