/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Time series from CSV text (`timestamp,value` rows, as NAB and most exporters write them) and the
 * time handling the detectors and forecasters share: timestamp parsing and printing, the step of a
 * series. Pure functions over buffers the caller hands in; no file I/O. Thread-safe.
 *
 * CSV accepted: an optional header line (a first line whose first field is not a timestamp); the
 * columns "timestamp" and "value" by name when the header names them, else the first two; more
 * columns are ignored. Fields may be double-quoted ("" inside quotes is a quote). Lines end in LF or
 * CRLF; blank lines at the end are ignored, a blank line between rows is an error (a gap). Values must
 * be finite decimal numbers. Timestamps: "YYYY-MM-DD HH:MM:SS[.frac]", the same with 'T', optionally
 * followed by 'Z' or a "+HH:MM"/"-HH:MM" offset, "YYYY-MM-DD", or seconds since the epoch (an
 * integer or decimal number). Every error names the 1-based line and the cause.
 */
#ifndef VIGIL_ANALYTICS_CSVSERIES_H
#define VIGIL_ANALYTICS_CSVSERIES_H

#include <stdbool.h>
#include <stddef.h>

/* How the input spelled its timestamps, so output can spell new ones alike. */
enum ts_style {
	TS_ISO_SPACE = 0, /* 2014-04-01 00:00:00 */
	TS_ISO_T, /* 2014-04-01T00:00:00 */
	TS_ISO_TZ, /* 2014-04-01T00:00:00Z */
	TS_DATE, /* 2014-04-01 */
	TS_EPOCH, /* 1396310400 */
};

struct csv_series {
	size_t n;
	double *ts; /* seconds since the epoch, UTC (offsets applied); in file order */
	double *v;
	enum ts_style style; /* of the first row */
	int frac_digits; /* digits after the seconds' point in the first row (0..9) */
	char *value_name; /* the value column's header ("value" when there is no header) */
};

#define CSV_ERR_MAX 160

/* Where parsing stopped and why, for "FILE:LINE: why" messages. */
struct csv_error {
	size_t line; /* 1-based; 0 when not about a line (e.g. out of memory) */
	char msg[CSV_ERR_MAX];
};

/*
 * Parses len bytes of CSV into s (zeroed first). Returns 0, -EINVAL with e filled on bad input (also
 * when there are no data rows), or -ENOMEM. On error s holds nothing to release. The caller owns s:
 * release it with csv_series_release().
 */
int csv_series_parse(const char *buf, size_t len, struct csv_series *s, struct csv_error *e);
/* Frees what s owns and zeroes it; NULL-safe. */
void csv_series_release(struct csv_series *s);

/*
 * Parses one timestamp (the whole string, surrounding blanks allowed). 0 with *t and *style set, or
 * -EINVAL. frac_digits, when not NULL, receives the digits after the seconds' point.
 */
int ts_parse(const char *s, double *t, enum ts_style *style, int *frac_digits);
/* Writes t in style (frac_digits after the seconds' point for ISO styles). Returns snprintf's count. */
int ts_format(double t, enum ts_style style, int frac_digits, char *buf, size_t len);

/*
 * The sampling step: the median of the positive differences between consecutive timestamps (robust to
 * gaps, duplicates and an occasional step back such as a clock change). 0 when there are none.
 */
double ts_step(const double *ts, size_t n);

#endif
