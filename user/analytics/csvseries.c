// SPDX-License-Identifier: GPL-2.0
/* CSV time series and timestamps (csvseries.h). Strict: a row that is not exactly right is an error
 * naming its line, never skipped, so no point is lost silently. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/csvseries.h"

#define FIELD_MAX 256 /* longer timestamp or value fields are errors */
#define EPOCH_MAX 253402300799.0 /* 9999-12-31 23:59:59 */

static int fail(struct csv_error *e, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct csv_error *e, size_t line, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->line = line;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int y, unsigned m)
{
	static const unsigned char dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* Exactly n digits at *p into *out; advances *p. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static int parse_epoch(const char *s, double *t)
{
	const char *p = s;
	char *end;
	double v;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p)
		return -EINVAL;
	v = strtod(s, &end);
	if (end != p || !(v <= EPOCH_MAX))
		return -EINVAL;
	*t = v;
	return 0;
}

int ts_parse(const char *str, double *t, enum ts_style *style, int *frac_digits)
{
	int y, mo, d, h = 0, mi = 0, se = 0, nfrac = 0;
	double frac = 0, scale = 0.1, off = 0;
	enum ts_style st = TS_DATE;
	char buf[FIELD_MAX];
	const char *p;
	size_t len;

	while (*str == ' ' || *str == '\t')
		str++;
	len = strlen(str);
	while (len && (str[len - 1] == ' ' || str[len - 1] == '\t'))
		len--;
	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, str, len);
	buf[len] = 0;
	p = buf;
	if (!strchr(buf, '-')) {
		if (parse_epoch(buf, t))
			return -EINVAL;
		*style = TS_EPOCH;
		if (frac_digits) {
			const char *dot = strchr(buf, '.');
			size_t n = dot ? strlen(dot + 1) : 0;

			*frac_digits = n > 9 ? 9 : (int)n; /* as promised: 0..9 */
		}
		return 0;
	}
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, mo))
		return -EINVAL;
	if (*p == ' ' || *p == 'T') {
		st = *p == ' ' ? TS_ISO_SPACE : TS_ISO_T;
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &se))
				return -EINVAL;
			if (*p == '.') {
				p++;
				if (!isdigit((unsigned char)*p))
					return -EINVAL;
				while (isdigit((unsigned char)*p)) {
					frac += (*p - '0') * scale;
					scale /= 10;
					nfrac++;
					p++;
				}
			}
		}
		if (h > 23 || mi > 59 || se > 59)
			return -EINVAL;
		if (*p == 'Z') {
			st = TS_ISO_TZ;
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om, sign = *p == '-' ? -1 : 1;

			p++;
			if (!digits(&p, 2, &oh))
				return -EINVAL;
			if (*p == ':')
				p++;
			if (!digits(&p, 2, &om) || oh > 23 || om > 59)
				return -EINVAL;
			off = sign * (oh * 3600.0 + om * 60.0);
			st = TS_ISO_TZ;
		}
	}
	if (*p)
		return -EINVAL;
	*t = (double)days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + se + frac - off;
	*style = st;
	if (frac_digits)
		*frac_digits = nfrac > 9 ? 9 : nfrac;
	return 0;
}

int ts_format(double t, enum ts_style style, int frac_digits, char *buf, size_t len)
{
	double whole = floor(t);
	time_t secs = (time_t)whole;
	char fracbuf[16] = "";
	struct tm tm;

	if (frac_digits < 0)
		frac_digits = 0;
	if (frac_digits > 9)
		frac_digits = 9;
	if (style == TS_EPOCH)
		return snprintf(buf, len, "%.*f", frac_digits, t);
	if (frac_digits) {
		double f = t - whole;
		double p10 = pow(10, frac_digits);
		long long units = llround(f * p10);

		if (units >= (long long)p10) { /* rounding carried into the seconds */
			units = 0;
			secs++;
		}
		snprintf(fracbuf, sizeof(fracbuf), ".%0*lld", frac_digits, units);
	}
	if (!gmtime_r(&secs, &tm))
		return snprintf(buf, len, "%.0f", t);
	switch (style) {
	case TS_DATE:
		return snprintf(buf, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
				tm.tm_mday);
	case TS_ISO_T:
	case TS_ISO_TZ:
		return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				fracbuf, style == TS_ISO_TZ ? "Z" : "");
	default:
		return snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d%s", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				fracbuf);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

double ts_step(const double *ts, size_t n)
{
	double *d, step = 0;
	size_t k = 0;

	if (n < 2)
		return 0;
	d = malloc((n - 1) * sizeof(*d));
	if (!d)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (ts[i] > ts[i - 1])
			d[k++] = ts[i] - ts[i - 1];
	if (k) {
		qsort(d, k, sizeof(*d), cmp_double);
		step = d[k / 2];
	}
	free(d);
	return step;
}

/* One CSV line split into fields (quotes removed). Fields point into f->buf. */
#define MAX_FIELDS 64
struct fields {
	size_t n;
	const char *v[MAX_FIELDS];
	size_t len[MAX_FIELDS];
	char *buf;
	size_t cap;
};

/* Splits [s, s+len) (no line terminator) into fields. 0 or -EINVAL with e filled. */
static int split(struct fields *f, const char *s, size_t len, size_t line, struct csv_error *e)
{
	size_t o = 0, i = 0;

	if (len + 1 > f->cap) {
		char *nb = realloc(f->buf, len + 1);

		if (!nb)
			return -ENOMEM;
		f->buf = nb;
		f->cap = len + 1;
	}
	f->n = 0;
	for (;;) {
		size_t start = o;

		if (f->n == MAX_FIELDS)
			return fail(e, line, "more than %d columns", MAX_FIELDS);
		if (i < len && s[i] == '"') {
			i++;
			for (;;) {
				if (i >= len)
					return fail(e, line, "unterminated quoted field");
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						f->buf[o++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				f->buf[o++] = s[i++];
			}
			if (i < len && s[i] != ',')
				return fail(e, line, "text after a quoted field");
		} else {
			while (i < len && s[i] != ',') {
				if (s[i] == '"')
					return fail(e, line, "quote inside an unquoted field");
				f->buf[o++] = s[i++];
			}
		}
		f->v[f->n] = f->buf + start;
		f->len[f->n] = o - start;
		f->n++;
		f->buf[o++] = 0; /* fits: a separator or the end took the place */
		if (i >= len)
			return 0;
		i++; /* the comma */
	}
}

/* A field as a C string for messages and parsing: truncated copy, non-printables as '?'. */
static void field_str(const struct fields *f, size_t k, char *out, size_t cap)
{
	size_t n = f->len[k] < cap - 1 ? f->len[k] : cap - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f->v[k][i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[n] = 0;
}

static bool field_is(const struct fields *f, size_t k, const char *name)
{
	const char *v = f->v[k];
	size_t n = f->len[k];

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n == strlen(name) && !strncasecmp(v, name, n);
}

static bool has_nul(const struct fields *f, size_t k)
{
	return memchr(f->v[k], 0, f->len[k]) != NULL;
}

static int parse_value(const struct fields *f, size_t k, size_t line, double *out,
		       struct csv_error *e)
{
	char tmp[FIELD_MAX], shown[48];
	const char *p = tmp;
	char *end;
	double v;

	field_str(f, k, shown, sizeof(shown));
	if (f->len[k] >= sizeof(tmp) || has_nul(f, k))
		return fail(e, line, "value '%s...' is not a number", shown);
	memcpy(tmp, f->v[k], f->len[k]);
	tmp[f->len[k]] = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return fail(e, line, "empty value (a gap in the series: every row needs a number)");
	/* strtod also takes "nan", "inf" and hex floats: only plain decimal numbers here. */
	for (const char *q = p; *q; q++)
		if (!strchr("0123456789+-.eE \t", *q))
			return fail(e, line, "value '%s' is not a number", shown);
	errno = 0;
	v = strtod(p, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	if (end == p || *end)
		return fail(e, line, "value '%s' is not a number", shown);
	if (!isfinite(v))
		return fail(e, line, "value '%s' is out of range", shown);
	*out = v;
	return 0;
}

static int push(struct csv_series *s, size_t *cap, double t, double v)
{
	if (s->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		double *nt = realloc(s->ts, nc * sizeof(*nt)), *nv;

		if (!nt)
			return -ENOMEM;
		s->ts = nt;
		nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		*cap = nc;
	}
	s->ts[s->n] = t;
	s->v[s->n] = v;
	s->n++;
	return 0;
}

/* Timestamp styles that print each other's values without loss: dates, calendar times, epoch. */
static int ts_kind(enum ts_style st)
{
	return st == TS_DATE ? 0 : st == TS_EPOCH ? 1 : 2;
}

static const char *ts_kind_name(enum ts_style st)
{
	static const char *const names[] = { "a date", "seconds since the epoch",
					     "a date and time" };

	return names[ts_kind(st)];
}

/* True when the l bytes at p (not NUL-terminated: the buffer is the caller's) are spaces or tabs. */
static bool only_blanks(const char *p, size_t l)
{
	for (size_t i = 0; i < l; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return false;
	return true;
}

int csv_series_parse(const char *buf, size_t len, struct csv_series *s, struct csv_error *e)
{
	struct fields f = { 0 };
	size_t pos = 0, line = 0, cap = 0, ti = 0, vi = 1, blank_line = 0;
	bool first = true;
	int err = 0;

	memset(s, 0, sizeof(*s));
	if (e) {
		e->line = 0;
		e->msg[0] = 0;
	}
	/* A UTF-8 byte-order mark, as spreadsheets write it. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len, l = end - pos;
		const char *ls = buf + pos;
		char shown[48];
		double t = 0, v = 0;
		enum ts_style st;
		int fd = 0;

		pos = nl ? end + 1 : len;
		line++;
		if (l && ls[l - 1] == '\r')
			l--;
		if (only_blanks(ls, l)) {
			if (!blank_line)
				blank_line = line;
			continue;
		}
		if (blank_line && !first) {
			err = fail(e, blank_line,
				   "blank line inside the data (a gap in the series)");
			goto out;
		}
		blank_line = 0;
		err = split(&f, ls, l, line, e);
		if (err)
			goto out;
		if (first) {
			char tf[FIELD_MAX];

			first = false;
			field_str(&f, 0, tf, sizeof(tf));
			if (f.len[0] >= sizeof(tf) || has_nul(&f, 0) ||
			    ts_parse(tf, &t, &st, &fd)) {
				/* A header: find the columns by name, else take the first two. */
				if (f.n < 2) {
					err = fail(e, line,
						   "header has %zu column(s); need timestamp,value",
						   f.n);
					goto out;
				}
				for (size_t k = 0; k < f.n; k++) {
					if (field_is(&f, k, "timestamp") || field_is(&f, k, "time"))
						ti = k;
					else if (field_is(&f, k, "value"))
						vi = k;
				}
				if (ti == vi)
					vi = ti ? 0 : 1;
				field_str(&f, vi, shown, sizeof(shown));
				s->value_name = strdup(shown);
				if (!s->value_name) {
					err = -ENOMEM;
					goto out;
				}
				continue;
			}
		}
		if (f.n <= ti || f.n <= vi) {
			err = fail(e, line, "%zu column(s), need %zu (timestamp,value)", f.n,
				   (ti > vi ? ti : vi) + 1);
			goto out;
		}
		field_str(&f, ti, shown, sizeof(shown));
		{
			char tf[FIELD_MAX];

			field_str(&f, ti, tf, sizeof(tf));
			if (f.len[ti] >= sizeof(tf) || has_nul(&f, ti) ||
			    ts_parse(tf, &t, &st, &fd)) {
				err = fail(e, line,
					   "bad timestamp '%s' (expected YYYY-MM-DD HH:MM:SS, "
					   "ISO 8601 or seconds since the epoch)",
					   shown);
				goto out;
			}
		}
		err = parse_value(&f, vi, line, &v, e);
		if (err)
			goto out;
		if (!s->n) {
			s->style = st;
			s->frac_digits = fd;
		} else if (ts_kind(st) != ts_kind(s->style)) {
			/* Output timestamps take the first row's style: a date cannot hold a time, and
			 * mixing epoch seconds with calendar times is a file put together by mistake. */
			err = fail(
				e, line,
				"timestamp '%s' is %s but the first row has %s (one style per file)",
				shown, ts_kind_name(st), ts_kind_name(s->style));
			goto out;
		}
		err = push(s, &cap, t, v);
		if (err)
			goto out;
	}
	if (!s->n) {
		err = fail(e, line ? line : 1, "no data rows");
		goto out;
	}
	if (!s->value_name) {
		s->value_name = strdup("value");
		if (!s->value_name)
			err = -ENOMEM;
	}
out:
	free(f.buf);
	if (err) {
		if (err == -ENOMEM && e) {
			e->line = 0;
			snprintf(e->msg, sizeof(e->msg), "out of memory");
		}
		csv_series_release(s);
	}
	return err;
}

void csv_series_release(struct csv_series *s)
{
	if (!s)
		return;
	free(s->ts);
	free(s->v);
	free(s->value_name);
	memset(s, 0, sizeof(*s));
}
