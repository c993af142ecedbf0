// SPDX-License-Identifier: GPL-2.0
/* SLO status and daily reports over the service's store (sla.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "analytics/alerts.h"
#include "analytics/promql.h"
#include "analytics/slo.h"
#include "analytics/storesrc.h"
#include "service/api.h"
#include "service/http.h"
#include "service/service.h"
#include "service/sla.h"
#include "service/store.h"
#include "util/log.h"
#include "util/clock.h"
#include "util/html.h"

#define DAY_MS (86400LL * 1000)
#define MAX_REPORT_DAYS 400

struct sla_api {
	struct service *svc;
	struct storesrc *src;
	struct slo_set slos;
	int64_t min_window_ms;
};

/* The end of the newest stored interval (what the rule engine evaluates at), else the clock. */
static int64_t now_ms(struct sla_api *a)
{
	int64_t t = storesrc__latest(a->src);

	return t > 0 ? t : wall_ms();
}

static int eval_vector(struct sla_api *a, const char *text, int64_t t, struct pq_result *res)
{
	struct pq_source src = storesrc__source(a->src);
	struct pq_error err = { 0 };
	struct pq_expr *e = pq_parse(text, &err);
	int rc;

	if (!e)
		return -EINVAL; /* checked when the config loaded: not reached */
	rc = pq_eval_instant(e, &src, t, NULL, res, &err);
	pq_expr__free(e);
	if (!rc && res->type != PQ_VECTOR) {
		pq_result_release(res);
		rc = -EINVAL;
	}
	return rc;
}

/* The SLI's error ratio over (t - window, t]: the worst series when it has several, NaN when no
 * events happened (or no series exists). 0 or -errno. */
static int error_ratio(struct sla_api *a, const struct slo *s, int64_t window_ms, int64_t t,
		       double *out)
{
	struct pq_result res = { 0 };
	int64_t first;
	char *text;
	int rc;

	*out = NAN;
	/*
	 * rate() extrapolates each series to the window's start on its own (Prometheus' rule, kept
	 * by the evaluator): when the service's data begins inside the window, a series whose first
	 * value lies closer to zero is stretched further back, and the good events can outrun the
	 * total (seen: 940 good of 854 at a service's fifth interval, an error ratio of -0.10 where
	 * the counts say 0.011). The window starts 1 ms before the first stored interval instead, so
	 * every series is extrapolated alike, by 1 ms: the ratio is that of the counted events.
	 */
	first = storesrc__first_tick(a->src, t - window_ms, t);
	if (first > t - window_ms + 1)
		window_ms = t - first + 1;
	text = slo_error_ratio_expr(s, window_ms);
	if (!text)
		return -ENOMEM;
	rc = eval_vector(a, text, t, &res);
	free(text);
	if (rc)
		return rc;
	for (size_t i = 0; i < res.vec.n; i++)
		if (isfinite(res.vec.s[i].v) && !(res.vec.s[i].v <= *out))
			*out = res.vec.s[i].v;
	pq_result_release(&res);
	/* What extrapolation still leaves outside [0, 1] (1 ms of it) is held to the bound. */
	if (*out < 0)
		*out = 0;
	else if (*out > 1)
		*out = 1;
	return 0;
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *dur(int64_t ms)
{
	char buf[64];

	return json_string(pq_format_duration(ms, buf, sizeof(buf)));
}

static int reply_json(struct http_request *r, json_t *j)
{
	char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	int rc;

	json_decref(j);
	if (!txt)
		return -ENOMEM;
	rc = http_reply(r, 200, "application/json", txt, strlen(txt));
	free(txt);
	return rc;
}

/* The SLO's alerts the engine keeps firing: its ALERTS series at t. */
static json_t *firing_alerts(struct sla_api *a, const struct slo *s, int64_t t)
{
	char text[256];
	struct pq_result res = { 0 };
	json_t *arr = json_array();

	snprintf(text, sizeof(text), "ALERTS{slo=\"%s\",alertstate=\"firing\"}", s->name);
	if (!arr || eval_vector(a, text, t, &res))
		return arr;
	for (size_t i = 0; i < res.vec.n; i++) {
		json_t *l = json_object();

		for (uint32_t k = 0; l && k < res.vec.s[i].l->n; k++)
			json_object_set_new(l, res.vec.s[i].l->l[k].name,
					    json_string(res.vec.s[i].l->l[k].value));
		json_array_append_new(arr, json_pack("{s:o?,s:s}", "labels", l, "state", "firing"));
	}
	pq_result_release(&res);
	return arr;
}

static int slo_status(struct sla_api *a, const struct slo *s, int64_t t, json_t **out)
{
	int64_t win[2 * SLO_NBURNS];
	double ratio[2 * SLO_NBURNS], period_ratio, budget = slo_budget(s);
	size_t nw = slo_windows(s, a->min_window_ms, win);
	json_t *o, *burns, *conds;
	int rc = error_ratio(a, s, s->period_ms, t, &period_ratio);

	for (size_t i = 0; !rc && i < nw; i++)
		rc = error_ratio(a, s, win[i], t, &ratio[i]);
	if (rc)
		return rc;
	burns = json_array();
	for (size_t i = 0; burns && i < nw; i++)
		json_array_append_new(burns, json_pack("{s:o,s:I,s:o,s:o}", "window", dur(win[i]),
						       "seconds", (json_int_t)(win[i] / 1000),
						       "error_ratio", num(ratio[i]), "burn_rate",
						       num(ratio[i] / budget)));
	conds = json_array();
	for (size_t b = 0; conds && b < SLO_NBURNS; b++) {
		const struct slo_burn *sb = &slo_burns[b];
		int64_t lw = slo_window_ms(s, sb->long_ms, a->min_window_ms);
		int64_t sw = slo_window_ms(s, sb->short_ms, a->min_window_ms);
		double lr = NAN, sr = NAN;

		for (size_t i = 0; i < nw; i++) {
			if (win[i] == lw)
				lr = ratio[i] / budget;
			if (win[i] == sw)
				sr = ratio[i] / budget;
		}
		json_array_append_new(conds,
				      json_pack("{s:s,s:f,s:o,s:o,s:o,s:o,s:b}", "severity",
						sb->severity, "factor", sb->factor, "long_window",
						dur(lw), "short_window", dur(sw), "long_burn_rate",
						num(lr), "short_burn_rate", num(sr), "holds",
						lr > sb->factor && sr > sb->factor));
	}
	o = json_pack("{s:s,s:s,s:f,s:f,s:s,s:I,s:s,s:f,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name",
		      s->name, "description", s->description, "objective", s->objective,
		      "objective_ratio", s->objective / 100, "period", s->period, "period_seconds",
		      (json_int_t)(s->period_ms / 1000), "sli",
		      s->sli == SLO_SLI_LATENCY ? "latency" : "events", "error_budget", budget,
		      "error_ratio", num(period_ratio), "compliance", num(1 - period_ratio),
		      "error_budget_consumed", num(period_ratio / budget), "error_budget_remaining",
		      num(1 - period_ratio / budget), "burn_rates", burns ? burns : json_array(),
		      "conditions", conds ? conds : json_array(), "alerts", firing_alerts(a, s, t));
	if (!o)
		return -ENOMEM;
	*out = o;
	return 0;
}

static int sla(struct http_request *r, void *arg)
{
	struct sla_api *a = arg;
	int64_t t = now_ms(a);
	json_t *arr = json_array();

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < a->slos.n; i++) {
		json_t *o;
		int rc = slo_status(a, &a->slos.v[i], t, &o);

		if (rc) {
			json_decref(arr);
			return http_reply_error(r, rc == -ENOMEM ? 503 : 500,
						"computing SLO '%s': %s", a->slos.v[i].name,
						strerror(-rc));
		}
		json_array_append_new(arr, o);
	}
	return reply_json(r, json_pack("{s:f,s:o}", "time", (double)t / 1000, "slos", arr));
}

/* ---- reports ---- */

/* The service's forms (unix seconds, now, now-DURATION), or RFC 3339. */
static int parse_when(const char *s, int64_t now, int64_t *out)
{
	__s64 v;

	if (!api_parse_time(s, now, &v)) {
		*out = v;
		return 0;
	}
	if (!strchr(s, 'T')) /* a number out of range stays an error */
		return -EINVAL;
	return pq_parse_time(s, out);
}

struct day {
	int64_t from, to;
	char date[16];
};

static int reply_html(struct http_request *r, struct sla_api *a, const struct day *days, size_t nd,
		      const double *ratios, int64_t from, int64_t to)
{
	char *buf = NULL, tf[32], tt[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	time_t f_s = (time_t)(from / 1000), t_s = (time_t)(to / 1000);
	struct tm tm;
	int rc;

	if (!f)
		return -ENOMEM;
	strftime(tf, sizeof(tf), "%Y-%m-%d %H:%M UTC", gmtime_r(&f_s, &tm));
	strftime(tt, sizeof(tt), "%Y-%m-%d %H:%M UTC", gmtime_r(&t_s, &tm));
	fprintf(f,
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<title>SLO report %s to %s</title>\n<style>\n"
		"body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\n"
		"table{border-collapse:collapse;margin:1em 0}\n"
		"th,td{border:1px solid #bbb;padding:.3em .6em;text-align:right}\n"
		"th{background:#eee}td.d{text-align:left;font-family:monospace}\n"
		"td.met{background:#dfd}td.missed{background:#fdd}td.none{color:#888}\n"
		"@media print{body{margin:0}th{background:#eee!important;"
		"-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n"
		"</style></head><body>\n<h1>SLO report</h1>\n<p>%s to %s; compliance per UTC day "
		"(good events / all events); green: objective met, red: missed, -: no events.</p>\n",
		tf, tt, tf, tt);
	fputs("<table id=\"slos\"><tr><th>SLO</th><th>objective</th><th>period</th>"
	      "<th>description</th></tr>\n",
	      f);
	for (size_t i = 0; i < a->slos.n; i++) {
		const struct slo *s = &a->slos.v[i];

		fputs("<tr><td class=\"d\">", f);
		html_escape(f, s->name);
		fprintf(f, "</td><td>%.10g%%</td><td>", s->objective);
		html_escape(f, s->period);
		fputs("</td><td class=\"d\">", f);
		html_escape(f, s->description);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<table id=\"days\"><tr><th>day (UTC)</th>", f);
	for (size_t i = 0; i < a->slos.n; i++) {
		fputs("<th>", f);
		html_escape(f, a->slos.v[i].name);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t d = 0; d < nd; d++) {
		fprintf(f, "<tr><td class=\"d\">%s</td>", days[d].date);
		for (size_t i = 0; i < a->slos.n; i++) {
			double x = ratios[d * a->slos.n + i];

			if (!isfinite(x))
				fputs("<td class=\"none\">-</td>", f);
			else
				fprintf(f, "<td class=\"%s\">%.4f%%</td>",
					(1 - x) * 100 >= a->slos.v[i].objective ? "met" : "missed",
					(1 - x) * 100);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n</body></html>\n", f);
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	rc = http_reply(r, 200, "text/html; charset=utf-8", buf, len);
	free(buf);
	return rc;
}

static int reports(struct http_request *r, void *arg)
{
	struct sla_api *a = arg;
	const char *fa = http_request__arg(r, "from"), *ta = http_request__arg(r, "to");
	const char *fmt = http_request__arg(r, "format");
	int64_t now = now_ms(a), from, to;
	struct day *days;
	double *ratios;
	size_t nd = 0;
	int rc = 0;

	if (fmt && strcmp(fmt, "json") && strcmp(fmt, "html"))
		return http_reply_error(r, 400, "bad 'format' '%s' (json or html)", fmt);
	to = now;
	if (ta && parse_when(ta, now, &to))
		return http_reply_error(
			r, 400, "bad 'to' '%s' (unix seconds, RFC 3339, 'now' or 'now-1d')", ta);
	from = to - 7 * DAY_MS;
	if (fa && parse_when(fa, now, &from))
		return http_reply_error(
			r, 400, "bad 'from' '%s' (unix seconds, RFC 3339, 'now' or 'now-7d')", fa);
	if (from >= to)
		return http_reply_error(r, 400, "empty time range: 'from' is not before 'to'");
	if ((to - from) / DAY_MS >= MAX_REPORT_DAYS)
		return http_reply_error(r, 400, "a report spans at most %d days", MAX_REPORT_DAYS);
	days = calloc(MAX_REPORT_DAYS + 1, sizeof(*days));
	ratios = calloc((MAX_REPORT_DAYS + 1) * (a->slos.n + 1), sizeof(*ratios));
	if (!days || !ratios) {
		free(days);
		free(ratios);
		return -ENOMEM;
	}
	/* UTC days overlapping [from, to], each clipped to the range. */
	for (int64_t d0 = from - (from % DAY_MS + DAY_MS) % DAY_MS;
	     d0 < to && nd <= MAX_REPORT_DAYS; d0 += DAY_MS) {
		time_t secs = (time_t)(d0 / 1000);
		struct tm tm;

		days[nd].from = d0 > from ? d0 : from;
		days[nd].to = d0 + DAY_MS < to ? d0 + DAY_MS : to;
		strftime(days[nd].date, sizeof(days[nd].date), "%Y-%m-%d", gmtime_r(&secs, &tm));
		for (size_t i = 0; !rc && i < a->slos.n; i++)
			rc = error_ratio(a, &a->slos.v[i], days[nd].to - days[nd].from, days[nd].to,
					 &ratios[nd * a->slos.n + i]);
		nd++;
	}
	if (rc) {
		free(days);
		free(ratios);
		return http_reply_error(r, 500, "computing the report: %s", strerror(-rc));
	}
	if (fmt && !strcmp(fmt, "html")) {
		rc = reply_html(r, a, days, nd, ratios, from, to);
		free(days);
		free(ratios);
		return rc;
	}
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < a->slos.n; i++) {
		const struct slo *s = &a->slos.v[i];
		json_t *ds = json_array();

		for (size_t d = 0; ds && d < nd; d++) {
			double x = ratios[d * a->slos.n + i];

			json_array_append_new(
				ds, json_pack("{s:s,s:f,s:f,s:o,s:o,s:o}", "date", days[d].date,
					      "from", (double)days[d].from / 1000, "to",
					      (double)days[d].to / 1000, "error_ratio", num(x),
					      "compliance", num(1 - x), "met",
					      isfinite(x) ?
						      json_boolean((1 - x) * 100 >= s->objective) :
						      json_null()));
		}
		json_array_append_new(arr, json_pack("{s:s,s:f,s:s,s:o}", "name", s->name,
						     "objective", s->objective, "period", s->period,
						     "days", ds ? ds : json_array()));
	}
	free(days);
	free(ratios);
	if (!arr)
		return -ENOMEM;
	return reply_json(r, json_pack("{s:f,s:f,s:o}", "from", (double)from / 1000, "to",
				       (double)to / 1000, "slos", arr));
}

static void advance(void *arg, __s64 t_ms)
{
	struct sla_api *a = arg;

	storesrc__advance(a->src, t_ms);
}

struct sla_api *sla_api__new(struct service *s, struct http_server *h, struct slo_set *slos)
{
	struct sla_api *a = calloc(1, sizeof(*a));
	int64_t interval = (int64_t)(service__interval(s) * 1000 + 0.5);
	int err = -ENOMEM;

	if (!a)
		return NULL;
	a->svc = s;
	a->slos = *slos;
	*slos = (struct slo_set){ 0 };
	a->min_window_ms = SLO_MIN_WINDOW_INTERVALS * interval; /* as the generated rules */
	a->src = storesrc__new(service__series(s), &(struct storesrc_opts){
							   .interval_ms = interval,
							   .hold_ms = STORE_HEARTBEAT_MS,
							   .raw_age_ms = service__raw_age_ms(s),
							   .clock_metric = "vigil_intervals_total",
						   });
	if (!a->src)
		goto fail;
	err = http_server__route(h, "GET", "/api/v1/sla", 0, sla, a);
	if (!err)
		err = http_server__route(h, "GET", "/api/v1/sla/reports", 0, reports, a);
	if (!err)
		err = service__on_interval(s, advance, a);
	if (err)
		goto fail;
	if (a->slos.n && service__alerts(s)) {
		/* the generated burn-rate rules, evaluated by the alert engine */
		char *text = NULL, why[512] = "";
		size_t len = 0;

		err = slo_rules_text(&a->slos, interval, &text, &len);
		if (!err)
			err = alerts__add_rules_text(service__alerts(s), "slos", text, len, why,
						     sizeof(why));
		free(text);
		if (err) {
			if (why[0])
				pr_err("slos: the generated rules do not load: %s", why);
			goto fail;
		}
	}
	return a;
fail:
	sla_api__free(a);
	errno = -err;
	return NULL;
}

void sla_api__free(struct sla_api *a)
{
	if (!a)
		return;
	storesrc__free(a->src);
	slo_set_release(&a->slos);
	free(a);
}
