// SPDX-License-Identifier: GPL-2.0
/*
 * Alerts on CPU or latency link to what changed (alerting.h, alerting_link): their generatorURL is
 * the differential flame graph of the alert's window against the window before it, and once they
 * fire they carry the functions that grew most as an annotation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/alerting.h"
#include "service/api.h"
#include "service/insights.h"
#include "util/cli.h"
#include "util/log.h"

#define TOP_GROWING_ROWS 5
#define MAX_WINDOW_MS (31LL * 86400 * 1000) /* what /api/v1/profiling/diff accepts */

struct link_rule {
	int64_t back_ms; /* how far before activeAt the window starts */
};

static bool starts_with(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static bool ends_with(const char *s, const char *p)
{
	size_t n = strlen(s), k = strlen(p);

	return n >= k && !strcmp(s + n - k, p);
}

/* vigil_cpu_seconds_total (CPU by process, from the profiles) and Vigil's other CPU counters. */
static bool cpu_metric(const char *m)
{
	return starts_with(m, "vigil_") && ends_with(m, "cpu_seconds_total");
}

/* vigil_{syscall,runq,bio}_latency_seconds and their _bucket, _sum and _count series. */
static bool latency_metric(const char *m)
{
	return starts_with(m, "vigil_") && strstr(m, "_latency_seconds") != NULL;
}

bool alerting_links_to_diff(const char *const *metrics, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cpu_metric(metrics[i]) || latency_metric(metrics[i]))
			return true;
	return false;
}

static void *link_rule(void *arg, const struct alerts_rule_inputs *in)
{
	struct link_rule *lr;

	struct alerting_int *al = arg;

	if (!alerting_links_to_diff(in->metrics, in->nmetrics))
		return NULL;
	lr = calloc(1, sizeof(*lr));
	if (!lr)
		return NULL; /* the graph link then: nothing is lost but the link */
	lr->back_ms = alerting_link_back(in->range_ms, al->interval_ms);
	return lr;
}

int64_t alerting_link_back(int64_t range_ms, int64_t interval_ms)
{
	/* The samples the expression first held on: its range, and the interval the range's first
	 * point sums up (a point is stored at the end of its interval), and half an interval more
	 * so that interval's profile is in the window whatever the jitter of interval ends. */
	return range_ms + interval_ms + interval_ms / 2;
}

static void link_release(void *arg, void *ctx)
{
	(void)arg;
	free(ctx);
}

void alerting_link_window(int64_t back_ms, const struct alerts_link_req *q, int64_t *from,
			  int64_t *to)
{
	*from = q->n->active_at_ms - back_ms;
	/* fixed once it fired, so every notification (and an Alertmanager) shows the same link */
	*to = q->resolved_at_ms ? q->resolved_at_ms : q->fired_at_ms ? q->fired_at_ms : q->now_ms;
	if (*to <= *from)
		*to = *from + back_ms;
	if (*to - *from > MAX_WINDOW_MS)
		*from = *to - MAX_WINDOW_MS;
}

/* "spin_hot [spin] 0.0% -> 97.3% (+97.3); ..." of the functions that grew, or NULL. */
static char *top_growing(struct alerting_int *al, int64_t from, int64_t to, const struct labels *l)
{
	struct profile_filter f = {
		.comm = labels__get(l, "comm"),
		.cgroup = labels__get(l, "cgroup"),
	};
	const char *pid = labels__get(l, "pid");
	unsigned long v;
	json_t *grew, *row;
	char *out = NULL;
	size_t len = 0, i;
	FILE *m;

	if (pid && !cli_parse_ulong(pid, 1, UINT32_MAX, &v)) {
		f.pid = (__u32)v;
		f.has_pid = true;
	}
	grew = profiling_diff_grew(al->svc, from, to, &f, TOP_GROWING_ROWS);
	if (!grew) {
		pr_debug("alerts: the profile diff of an alert failed: %s", strerror(errno));
		return NULL;
	}
	m = json_array_size(grew) ? open_memstream(&out, &len) : NULL;
	json_array_foreach(grew, i, row)
	{
		const char *fn = json_string_value(json_object_get(row, "function"));
		const char *mod = json_string_value(json_object_get(row, "module"));

		if (!m || !fn)
			break;
		fprintf(m, "%s%s", i ? "; " : "", fn);
		if (mod && *mod)
			fprintf(m, " [%s]", mod);
		fprintf(m, " %.1f%% -> %.1f%% (%+.1f)",
			json_number_value(json_object_get(row, "base_self_pct")),
			json_number_value(json_object_get(row, "new_self_pct")),
			json_number_value(json_object_get(row, "self_change_pct")));
	}
	json_decref(grew);
	if (m && fclose(m)) {
		free(out);
		out = NULL;
	}
	return out;
}

static char *link_alert(void *arg, void *ctx, const struct alerts_link_req *q,
			struct labels **annotations)
{
	struct alerting_int *al = arg;
	const struct link_rule *lr = ctx;
	int64_t from, to;
	char *top;

	alerting_link_window(lr->back_ms, q, &from, &to);
	if (annotations && (top = top_growing(al, from, to, q->n->labels))) {
		*annotations = labels__new(&(struct label){ ALERT_ANNOTATION_TOP_GROWING, top }, 1);
		free(top);
	}
	return profiling_diff_url(al->base_url, from, to, q->n->labels);
}

struct alerts_link alerting_link(struct alerting_int *al)
{
	return (struct alerts_link){
		.rule = link_rule,
		.alert = link_alert,
		.release = link_release,
		.arg = al,
	};
}
