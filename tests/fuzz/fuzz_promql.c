// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the PromQL parser and evaluator and the exposition-text reader. The input is
 * an expression, then optionally a NUL byte and exposition text whose samples are queried.
 * Build: make .output/fuzz/fuzz_promql
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/expfmt.h"
#include "analytics/promql.h"
#include "analytics/tsmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int add(void *arg, struct labels *l, int64_t t, double v)
{
	tsmem__append(arg, l, t, v);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, 0, size);
	size_t elen = nul ? (size_t)(nul - (const char *)data) : size;
	char *expr = strndup((const char *)data, elen);
	struct tsmem *ts = tsmem__new();
	struct pq_error err;
	struct pq_expr *e;
	struct pq_result r;
	struct expfmt_error ee;

	if (!expr || !ts)
		goto out;
	if (nul)
		expfmt_parse(nul + 1, size - elen - 1, 60000, add, ts, &ee);
	e = pq_parse(expr, &err);
	if (e) {
		struct pq_source src = tsmem__source(ts);
		/* a subquery over weeks at a step of seconds is millions of cheap steps: the
		 * timeout bounds it as it bounds a query through the API */
		struct pq_opts o = { .max_samples = 100000, .timeout_ms = 1000 };

		if (!pq_eval_instant(e, &src, 60000, &o, &r, &err))
			pq_result_release(&r);
		if (!pq_eval_range(e, &src, 0, 120000, 15000, &o, &r, &err))
			pq_result_release(&r);
		pq_expr__free(e);
	}
out:
	tsmem__free(ts);
	free(expr);
	return 0;
}
