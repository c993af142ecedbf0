/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading the exposition formats as samples: OpenMetrics 1.0 text (timestamps in seconds, ends with
 * "# EOF", what `promtool tsdb create-blocks-from openmetrics` backfills) and Prometheus text 0.0.4
 * (timestamps in milliseconds). The format is OpenMetrics when a "# EOF" line is present. Comment
 * lines (# HELP, # TYPE, # UNIT) are skipped; exemplars (" # {...}") are ignored. A sample without a
 * timestamp gets default_t. Pure function of the buffer; thread-safe.
 */
#ifndef VIGIL_ANALYTICS_EXPFMT_H
#define VIGIL_ANALYTICS_EXPFMT_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/labels.h"

struct expfmt_error {
	size_t line; /* 1-based */
	char msg[200];
};

/*
 * Calls fn for every sample in order with its labels (fn borrows them: take a reference to keep
 * them), time in ms and value. Returns 0; -EINVAL with err filled on a syntax error (nothing after
 * the bad line is read); fn's non-zero return; or -ENOMEM.
 */
int expfmt_parse(const char *buf, size_t len, int64_t default_t,
		 int (*fn)(void *arg, struct labels *l, int64_t t, double v), void *arg,
		 struct expfmt_error *err);

#endif
