// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the CSV time-series parser (analytics/csvseries.c) that `vigil anomaly` and
 * `vigil forecast` run on files a user hands them, and for what runs on whatever it accepts: the
 * anomaly detector and the forecaster, which must not crash or misbehave on any finite series
 * (duplicate or backward timestamps, huge or tiny values, a handful of points).
 * Corpus: tests/fuzz/corpus/csv/ (NAB excerpts and edge cases); dictionary tests/fuzz/csv.dict.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/anomaly.h"
#include "analytics/csvseries.h"
#include "analytics/forecast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct forecast_opts fo = { .horizon = 4 };
	struct forecast_point fp[4];
	struct capacity_estimate ce;
	struct csv_error e;
	struct csv_series s;
	double *scores;
	char buf[64];

	if (csv_series_parse((const char *)data, size, &s, &e)) {
		/* an error names a line inside the input and says why */
		if (!e.msg[0] || strlen(e.msg) >= sizeof(e.msg))
			__builtin_trap();
		return 0;
	}
	if (!s.n || !s.ts || !s.v || !s.value_name)
		__builtin_trap();
	for (size_t i = 0; i < s.n; i++) {
		double t;
		enum ts_style st;

		if (!isfinite(s.v[i]) || !isfinite(s.ts[i]))
			__builtin_trap();
		/* a timestamp prints and parses back (whole seconds in the ISO styles) */
		ts_format(s.ts[i], s.style, 0, buf, sizeof(buf));
		if (ts_parse(buf, &t, &st, NULL) || fabs(t - floor(s.ts[i])) > 1)
			__builtin_trap();
	}
	scores = malloc(s.n * sizeof(*scores));
	if (scores && !anomaly_score_series(s.ts, s.v, s.n, NULL, scores)) {
		for (size_t i = 0; i < s.n; i++)
			if (!(scores[i] >= 0 && scores[i] <= 1))
				__builtin_trap();
	}
	free(scores);
	if (s.n >= 3) {
		forecast_series(s.ts, s.v, s.n, &fo, fp, NULL);
		capacity_estimate(s.ts, s.v, s.n, 1e6, &ce);
	}
	csv_series_release(&s);
	return 0;
}
