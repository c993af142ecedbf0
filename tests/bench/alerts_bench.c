// SPDX-License-Identifier: GPL-2.0
/*
 * alerts_bench [SERIES] [RULES] [EVALS]: the rule engine's cost. A day of SERIES counters at 10 s
 * resolution in the in-memory store (tsmem), RULES rules (a third recording, the rest alerting,
 * half of those over every series), evaluated EVALS times spread over the day. Prints one JSON
 * object: build and evaluation CPU seconds, rules per second, samples, bytes per series.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/alerts.h"
#include "analytics/tsmem.h"

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sink_calls;
static size_t sink_alerts;

static void sink(void *arg, const struct alert_notice *n, size_t cnt, int64_t now)
{
	(void)arg;
	(void)n;
	(void)now;
	sink_calls++;
	sink_alerts = cnt;
}

int main(int argc, char **argv)
{
	int nseries = argc > 1 ? atoi(argv[1]) : 1000, nrules = argc > 2 ? atoi(argv[2]) : 100;
	int nevals = argc > 3 ? atoi(argv[3]) : 60;
	const int64_t step = 10000, day = 86400000, t0 = 1700000000000LL;
	struct tsmem *ts = tsmem__new();
	struct alerts *a;
	size_t cap = 256 + (size_t)nrules * 200, len = 0;
	char *text = malloc(cap), err[512];
	double c0, c1, c2;
	unsigned int seed = 7;

	if (!ts || !text || nseries < 1 || nrules < 1 || nevals < 1)
		return 2;
	c0 = cpu_s();
	for (int s = 0; s < nseries; s++) {
		char comm[32], grp[16];
		double v = 0;

		snprintf(comm, sizeof(comm), "c%d", s);
		snprintf(grp, sizeof(grp), "g%d", s % 10);
		struct label l[] = { { "__name__", "vigil_cpu_seconds_total" },
				     { "comm", comm },
				     { "grp", grp } };
		struct labels *ls = labels__new(l, 3);

		for (int64_t t = 0; t < day; t += step) {
			v += (double)(rand_r(&seed) % 2000) / 100.0; /* 0..2 CPUs */
			if (tsmem__append(ts, ls, t0 + t, v))
				return 3;
		}
		labels__unref(ls);
	}
	c1 = cpu_s();
	len += (size_t)snprintf(text + len, cap - len, "groups:\n- name: bench\n  rules:\n");
	for (int r = 0; r < nrules; r++) {
		if (r % 3 == 0)
			len += (size_t)snprintf(
				text + len, cap - len,
				"  - record: grp:cpu:rate5m_%d\n"
				"    expr: sum by (grp) (rate(vigil_cpu_seconds_total[5m]))\n",
				r);
		else if (r % 3 == 1)
			len += (size_t)snprintf(
				text + len, cap - len,
				"  - alert: Busy%d\n    expr: rate(vigil_cpu_seconds_total[5m]) > 1.0\n"
				"    for: 1m\n    labels: {severity: warning}\n"
				"    annotations: {summary: \"{{ $labels.comm }} at {{ $value }}\"}\n",
				r);
		else
			len += (size_t)snprintf(
				text + len, cap - len,
				"  - alert: One%d\n"
				"    expr: rate(vigil_cpu_seconds_total{comm=\"c%d\"}[1m]) "
				"> 0.5\n",
				r, r % nseries);
	}
	a = alerts__new(&(struct alerts_opts){ .src = tsmem__source(ts), .interval_ms = 10000 });
	if (!a || alerts__add_rules_text(a, "bench", text, len, err, sizeof(err))) {
		fprintf(stderr, "alerts_bench: %s\n", err);
		return 4;
	}
	alerts__add_sink(a, sink, NULL);
	c2 = cpu_s();
	for (int e = 0; e < nevals; e++)
		alerts__eval(a, t0 + 600000 + (day - 600000) * e / nevals, 0);
	double c3 = cpu_s();

	printf("{\"series\": %d, \"samples\": %zu, \"rules\": %d, \"evaluations\": %d, "
	       "\"store_bytes\": %zu, \"bytes_per_series\": %.0f, \"build_cpu_s\": %.3f, "
	       "\"eval_cpu_s\": %.3f, \"rules_per_s\": %.1f, \"ms_per_round\": %.2f, "
	       "\"alerts_last_round\": %zu}\n",
	       nseries, tsmem__samples(ts), nrules, nevals, tsmem__bytes(ts),
	       (double)tsmem__bytes(ts) / nseries, c1 - c0, c3 - c2,
	       (double)nrules * nevals / (c3 - c2), (c3 - c2) * 1000 / nevals, sink_alerts);
	alerts__free(a);
	tsmem__free(ts);
	free(text);
	return sink_calls == nevals ? 0 : 5;
}
