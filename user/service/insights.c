// SPDX-License-Identifier: GPL-2.0
/* Anomalies, capacity, incidents and profile diffs on vigil serve (insights.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "analytics/storesrc.h"
#include "export/export.h"
#include "model/profile.h"
#include "service/api.h"
#include "service/http.h"
#include "service/insights.h"
#include "service/service.h"
#include "service/store.h"
#include "util/cli.h"
#include "util/log.h"
#include "util/clock.h"

#define DEFAULT_WINDOW_MS (5 * 60 * 1000)
#define MAX_WINDOW_MS (31LL * 86400 * 1000)
#define ALERT_HALF_WINDOW_MS 60000 /* an incident's diff starts this long before it */
#define TOP_CACHE 64 /* incidents' top functions remembered */

struct top_cache {
	char id[24];
	int64_t ended_ms;
	char *function, *module;
	double change;
};

struct insights {
	struct service *svc;
	struct storesrc *src;
	const struct watch_config *cfg; /* NULL without items */
	struct watcher *w; /* NULL without items */
	struct incidents *inc;
	bool replayed;
	pthread_mutex_t lock; /* w and inc: collection thread vs HTTP threads */
	pthread_mutex_t cache_lock;
	struct top_cache cache[TOP_CACHE];
	size_t cache_next;
};

/* A number, or null for what JSON cannot hold (infinity: never, NaN: unknown). */
static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *labels_json(const struct labels *l)
{
	json_t *o = json_object();

	for (uint32_t i = 0; o && l && i < l->n; i++)
		json_object_set_new(o, l->l[i].name, json_string(l->l[i].value));
	return o;
}

/* ---- the interval hook ---- */

struct emit_ctx {
	struct series_store st;
	int err;
};

static int emit(void *arg, const char *metric, const struct labels *l, int64_t t_ms, double v)
{
	struct emit_ctx *e = arg;
	struct series_label sl[64];
	size_t n = 0;

	for (uint32_t i = 0; i < l->n && n < 64; i++)
		if (strcmp(l->l[i].name, LABEL_METRIC_NAME))
			sl[n++] = (struct series_label){ (char *)l->l[i].name,
							 (char *)l->l[i].value };
	e->err = e->st.ops->append(e->st.ctx, metric, sl, n, "gauge", t_ms, v);
	return 0; /* a failed append (disk full) does not stop the others */
}

static void on_interval(void *arg, __s64 t_ms)
{
	struct insights *in = arg;
	struct store *st = service__store(in->svc);
	struct emit_ctx e = { .st = service__series(in->svc) };
	const struct watch_stats *ws;
	uint64_t errors;
	int err;

	storesrc__advance(in->src, t_ms);
	if (!in->w)
		return;
	pthread_mutex_lock(&in->lock);
	ws = watcher__stats(in->w);
	errors = ws->errors;
	if (!in->replayed) {
		int64_t step = (int64_t)(service__interval(in->svc) * 1000 + 0.5);

		in->replayed = true;
		err = watcher__replay(in->w, t_ms - step * WATCH_DEFAULT_REPLAY, t_ms - step);
		if (err)
			pr_warn("anomalies: replaying the stored history failed: %s",
				strerror(-err));
	}
	store__begin(st);
	err = watcher__eval(in->w, t_ms, emit, &e);
	store__commit(st);
	if (err)
		pr_warn("anomalies and capacity: %s", strerror(-err));
	if (ws->errors > errors)
		pr_debug("anomalies and capacity: %s", ws->last_error);
	pthread_mutex_unlock(&in->lock);
}

/* ---- GET /api/v1/anomalies ---- */

static int anomalies(struct http_request *r, void *arg)
{
	struct insights *in = arg;
	json_t *arr = json_array(), *items = json_array();
	const struct watch_event *ev;
	size_t n = 0;

	if (!arr || !items) {
		json_decref(arr);
		json_decref(items);
		return -ENOMEM;
	}
	pthread_mutex_lock(&in->lock);
	ev = in->w ? watcher__events(in->w, &n) : NULL;
	for (size_t i = n; i-- > 0;) {
		const struct watch_event *e = &ev[i];

		json_array_append_new(
			arr, json_pack("{s:s,s:o,s:o,s:o,s:o,s:f,s:s,s:s,s:f,s:f,s:b,s:o}", "name",
				       e->anomaly, "labels", labels_json(e->labels), "value",
				       num(e->value), "expected", num(e->expected), "deviation",
				       num(e->deviation), "score", e->score, "severity",
				       e->critical ? "critical" : "warning", "method",
				       anomaly_method_name(e->method), "timestamp",
				       e->t_ms / 1000.0, "started", e->started_ms / 1000.0,
				       "resolved", e->resolved_ms != 0, "resolved_at",
				       e->resolved_ms ? json_real(e->resolved_ms / 1000.0) :
							json_null()));
	}
	pthread_mutex_unlock(&in->lock);
	for (size_t i = 0; in->cfg && i < in->cfg->nan; i++) {
		const struct watch_anomaly *a = &in->cfg->an[i];

		json_array_append_new(items, json_pack("{s:s,s:s,s:f,s:f}", "name", a->name, "expr",
						       a->expr_text, "sensitivity", a->sensitivity,
						       "threshold", a->threshold));
	}
	return http_reply_json(r, 200, json_pack("{s:o,s:o}", "anomalies", arr, "items", items));
}

/* ---- GET /api/v1/capacity/forecast ---- */

static int capacity(struct http_request *r, void *arg)
{
	struct insights *in = arg;
	json_t *arr = json_array();
	const struct watch_capacity_row *rows;
	size_t n = 0;

	if (!arr)
		return -ENOMEM;
	pthread_mutex_lock(&in->lock);
	rows = in->w ? watcher__capacity(in->w, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct watch_capacity_row *c = &rows[i];
		const char *expr = "";
		json_t *o;

		for (size_t k = 0; k < in->cfg->ncap; k++)
			if (!strcmp(in->cfg->cap[k].name, c->capacity))
				expr = in->cfg->cap[k].expr_text;
		o = json_pack("{s:s,s:s,s:o,s:f,s:f,s:I,s:f,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name",
			      c->capacity, "expr", expr, "labels", labels_json(c->labels), "limit",
			      c->limit, "window", c->window_ms / 1000.0, "points",
			      (json_int_t)c->points, "timestamp", c->now, "current", num(c->value),
			      "rate", num(c->rate), "rate_lower", num(c->rate_lo), "rate_upper",
			      num(c->rate_hi), "seconds_to_limit", num(c->seconds_to_limit),
			      "lower", num(c->lower), "upper", num(c->upper));
		json_array_append_new(arr, o);
	}
	pthread_mutex_unlock(&in->lock);
	return http_reply_json(r, 200, json_pack("{s:o}", "capacity", arr));
}

/* ---- profile diffs ---- */

struct diff_req {
	const char *kind;
	int64_t from, to, base_from, base_to;
	struct profile_filter f;
};

/* Both windows' profiles. 0 or -errno. */
static int diff_profiles(struct service *s, const struct diff_req *d, struct profile **base,
			 struct profile **cur)
{
	int err = api_window_profile(s, d->kind, d->base_from, d->base_to, &d->f, base);

	if (err)
		return err;
	err = api_window_profile(s, d->kind, d->from, d->to, &d->f, cur);
	if (err) {
		profile__free(*base);
		*base = NULL;
	}
	return err;
}

/* export_diff_top's JSON as a jansson object, or NULL. */
static json_t *diff_top_json(const struct profile *base, const struct profile *cur,
			     unsigned int rows)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	json_t *j = NULL;
	int err;

	if (!m)
		return NULL;
	err = export_diff_top(base, cur, m, &(struct top_opts){ .rows = rows, .json = true });
	if (fclose(m) || err) {
		free(buf);
		return NULL;
	}
	j = json_loadb(buf, len, 0, NULL);
	free(buf);
	return j;
}

static int time_arg(struct http_request *r, const char *name, int64_t now, bool *given,
		    int64_t *out)
{
	const char *v = http_request__arg(r, name);
	__s64 t;

	*given = v != NULL;
	if (!v)
		return 0;
	if (api_parse_time(v, now, &t)) {
		http_reply_error(r, 400, "bad '%s' '%s' (want unix seconds, 'now' or 'now-1h')",
				 name, v);
		return 1;
	}
	*out = t;
	return 0;
}

static int profiling_diff(struct http_request *r, void *arg)
{
	struct insights *in = arg;
	const char *fmt = http_request__arg(r, "format"), *top = http_request__arg(r, "top");
	struct diff_req d = { .kind = http_request__arg(r, "kind") };
	struct profile *base = NULL, *cur = NULL;
	int64_t now = wall_ms();
	unsigned long rows = 10;
	bool gf, gt, gbf, gbt;
	char *buf = NULL, title[160];
	size_t len = 0;
	FILE *m;
	int err;

	if (!d.kind)
		d.kind = "cpu";
	if (strcmp(d.kind, "cpu") && strcmp(d.kind, "offcpu"))
		return http_reply_error(r, 400, "bad 'kind' '%s' (want cpu or offcpu)", d.kind);
	if (!fmt)
		fmt = "svg";
	if (strcmp(fmt, "svg") && strcmp(fmt, "json") && strcmp(fmt, "pprof"))
		return http_reply_error(r, 400, "unknown format '%s' (want svg, json or pprof)",
					fmt);
	if (top && cli_parse_ulong(top, 1, 1000, &rows))
		return http_reply_error(r, 400, "bad 'top' '%s' (want 1..1000)", top);
	if (api_parse_filter(r, &d.f))
		return 0;
	d.f.start_in_range = true;
	d.to = now;
	if (time_arg(r, "to", now, &gt, &d.to) || time_arg(r, "from", now, &gf, &d.from) ||
	    time_arg(r, "base_from", now, &gbf, &d.base_from) ||
	    time_arg(r, "base_to", now, &gbt, &d.base_to))
		return 0;
	if (!gf)
		d.from = d.to - DEFAULT_WINDOW_MS;
	if (!gbt)
		d.base_to = d.from;
	if (!gbf)
		d.base_from = d.base_to - (d.to - d.from);
	if (d.from >= d.to || d.base_from >= d.base_to)
		return http_reply_error(r, 400,
					"empty time range: a 'from' is not before its 'to'");
	if (d.to - d.from > MAX_WINDOW_MS || d.base_to - d.base_from > MAX_WINDOW_MS)
		return http_reply_error(r, 400, "time range over 31 days");
	err = diff_profiles(in->svc, &d, &base, &cur);
	if (err == -ENOMEM)
		return err;
	if (err)
		return http_reply_error(r, 503, "reading the store failed: %s", strerror(-err));
	if (!strcmp(fmt, "json")) {
		json_t *j = diff_top_json(base, cur, (unsigned int)rows);

		profile__free(base);
		profile__free(cur);
		if (!j)
			return -ENOMEM;
		json_object_set_new(j, "kind", json_string(d.kind));
		json_object_set_new(j, "from", json_real(d.from / 1000.0));
		json_object_set_new(j, "to", json_real(d.to / 1000.0));
		json_object_set_new(j, "base_from", json_real(d.base_from / 1000.0));
		json_object_set_new(j, "base_to", json_real(d.base_to / 1000.0));
		return http_reply_json(r, 200, j);
	}
	m = open_memstream(&buf, &len);
	if (!m) {
		profile__free(base);
		profile__free(cur);
		return -ENOMEM;
	}
	snprintf(title, sizeof(title), "%s: what changed%s%s", d.kind, d.f.comm ? " in " : "",
		 d.f.comm ? d.f.comm : "");
	if (!strcmp(fmt, "svg"))
		err = export_svg_diff(
			base, cur, m,
			&(struct export_opts){ .title = title, .annotate_kernel = true });
	else
		err = export_pprof_diff(base, cur, m);
	profile__free(base);
	profile__free(cur);
	if (fclose(m) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		return err;
	}
	if (!strcmp(fmt, "svg"))
		err = http_reply(r, 200, "image/svg+xml", buf, len);
	else
		err = http_reply_with(r, 200, "application/octet-stream", buf, len,
				      "Content-Disposition",
				      "attachment; filename=\"vigil-diff.pb.gz\"");
	free(buf);
	return err;
}

static void url_escape(char *out, size_t len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

char *profiling_diff_url(const char *base_url, int64_t from, int64_t to, const struct labels *l)
{
	static const char *const keys[] = { "comm", "cgroup", "pid" };
	char *u = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&u, &len);

	if (!m)
		return NULL;
	fprintf(m, "%s/api/v1/profiling/diff?from=%.3f&to=%.3f&base_from=%.3f&base_to=%.3f",
		base_url ? base_url : "", from / 1000.0, to / 1000.0, (2 * from - to) / 1000.0,
		from / 1000.0);
	for (size_t i = 0; l && i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = labels__get(l, keys[i]);
		char esc[768];

		if (!v)
			continue;
		url_escape(esc, sizeof(esc), v);
		fprintf(m, "&%s=%s", keys[i], esc);
	}
	if (fclose(m)) {
		free(u);
		return NULL;
	}
	return u;
}

json_t *profiling_diff_grew(struct service *s, int64_t from_ms, int64_t to_ms,
			    const struct profile_filter *f, unsigned int rows)
{
	struct diff_req d = {
		.kind = "cpu",
		.from = from_ms,
		.to = to_ms,
		.base_to = from_ms,
		.base_from = 2 * from_ms - to_ms,
		.f = *f,
	};
	struct profile *base = NULL, *cur = NULL;
	json_t *j, *g;
	int err;

	d.f.start_in_range = true;
	err = diff_profiles(s, &d, &base, &cur);
	if (err) {
		errno = -err;
		return NULL;
	}
	j = diff_top_json(base, cur, rows);
	profile__free(base);
	profile__free(cur);
	if (!j) {
		errno = ENOMEM;
		return NULL;
	}
	g = json_incref(json_object_get(j, "grew"));
	json_decref(j);
	if (!g)
		errno = EINVAL;
	return g;
}

/* ---- incidents ---- */

void insights__alert_sink(void *arg, const struct alert_notice *a, size_t n, int64_t now_ms)
{
	struct insights *in = arg;

	pthread_mutex_lock(&in->lock);
	incidents__observe(in->inc, a, n, now_ms);
	pthread_mutex_unlock(&in->lock);
}

/* The window an incident's diff looks at: from a minute before it started to its end (or now). */
static void incident_window(const struct incident *inc, int64_t now, int64_t *from, int64_t *to)
{
	*from = inc->started_ms - ALERT_HALF_WINDOW_MS;
	*to = inc->ended_ms ? inc->ended_ms : now;
	if (*to <= *from)
		*to = *from + 2 * ALERT_HALF_WINDOW_MS;
}

/* The function that grew most in the incident's window (cached per incident and end). */
static json_t *top_function(struct insights *in, const char *id, int64_t ended, int64_t from,
			    int64_t to, const char *comm)
{
	json_t *grew, *g, *out = NULL;
	struct top_cache *tc;

	pthread_mutex_lock(&in->cache_lock);
	for (size_t i = 0; i < TOP_CACHE; i++) {
		tc = &in->cache[i];
		if (tc->ended_ms && !strcmp(tc->id, id) && tc->ended_ms == ended) {
			out = tc->function ?
				      json_pack("{s:s,s:s,s:f}", "function", tc->function, "module",
						tc->module, "self_change_pct", tc->change) :
				      json_null();
			pthread_mutex_unlock(&in->cache_lock);
			return out;
		}
	}
	pthread_mutex_unlock(&in->cache_lock);
	grew = profiling_diff_grew(in->svc, from, to, &(struct profile_filter){ .comm = comm }, 1);
	if (!grew)
		return json_null();
	g = json_array_get(grew, 0);
	if (g)
		out = json_pack("{s:O,s:O,s:O}", "function", json_object_get(g, "function"),
				"module", json_object_get(g, "module"), "self_change_pct",
				json_object_get(g, "self_change_pct"));
	/* only ended incidents are final: an open one's window still grows */
	if (ended) {
		pthread_mutex_lock(&in->cache_lock);
		tc = &in->cache[in->cache_next++ % TOP_CACHE];
		free(tc->function);
		free(tc->module);
		*tc = (struct top_cache){ .ended_ms = ended };
		snprintf(tc->id, sizeof(tc->id), "%s", id);
		if (g) {
			tc->function =
				strdup(json_string_value(json_object_get(g, "function")) ?: "");
			tc->module = strdup(json_string_value(json_object_get(g, "module")) ?: "");
			tc->change = json_number_value(json_object_get(g, "self_change_pct"));
			if (!tc->function || !tc->module) {
				free(tc->function);
				free(tc->module);
				tc->function = tc->module = NULL;
				tc->ended_ms = 0;
			}
		}
		pthread_mutex_unlock(&in->cache_lock);
	}
	json_decref(grew);
	return out ? out : json_null();
}

struct inc_copy {
	char id[24];
	int64_t started, ended, from, to;
	char *comm;
	json_t *o;
};

static int incidents_get(struct http_request *r, void *arg)
{
	struct insights *in = arg;
	json_t *arr = json_array();
	struct inc_copy *cp = NULL;
	const struct incident *list;
	int64_t now = wall_ms();
	size_t n = 0;

	if (!arr)
		return -ENOMEM;
	pthread_mutex_lock(&in->lock);
	list = incidents__list(in->inc, &n);
	cp = calloc(n + 1, sizeof(*cp));
	for (size_t i = 0; cp && i < n; i++) {
		const struct incident *inc = &list[n - 1 - i]; /* newest first */
		const struct incident_alert *root = &inc->alerts[inc->root];
		json_t *alerts = json_array();
		const char *comm = labels__get(inc->shared, "comm");
		char fp[17], *url;

		for (size_t k = 0; alerts && k < inc->n; k++) {
			const struct incident_alert *a = &inc->alerts[k];

			snprintf(fp, sizeof(fp), "%016" PRIx64, a->fingerprint);
			json_array_append_new(
				alerts,
				json_pack("{s:o,s:s,s:f,s:o,s:o,s:b}", "labels",
					  labels_json(a->labels), "fingerprint", fp, "startsAt",
					  a->starts_at_ms / 1000.0, "endsAt",
					  a->ends_at_ms ? json_real(a->ends_at_ms / 1000.0) :
							  json_null(),
					  "value", num(a->value), "resolved", a->resolved));
		}
		snprintf(cp[i].id, sizeof(cp[i].id), "%s", inc->id);
		cp[i].started = inc->started_ms;
		cp[i].ended = inc->ended_ms;
		incident_window(inc, now, &cp[i].from, &cp[i].to);
		cp[i].comm = comm ? strdup(comm) : NULL;
		url = profiling_diff_url("", cp[i].from, cp[i].to, inc->shared);
		snprintf(fp, sizeof(fp), "%016" PRIx64, root->fingerprint);
		cp[i].o = json_pack(
			"{s:s,s:s,s:f,s:o,s:o,s:o,s:{s:s,s:o,s:s,s:f,s:s}}", "id", inc->id, "state",
			inc->ended_ms ? "ended" : "open", "started", inc->started_ms / 1000.0,
			"ended", inc->ended_ms ? json_real(inc->ended_ms / 1000.0) : json_null(),
			"shared_labels", labels_json(inc->shared), "alerts",
			alerts ? alerts : json_array(), "root_cause", "alertname",
			labels__get(root->labels, "alertname") ?
				labels__get(root->labels, "alertname") :
				"",
			"labels", labels_json(root->labels), "fingerprint", fp, "started",
			root->starts_at_ms / 1000.0, "diff_url", url ? url : "");
		free(url);
	}
	pthread_mutex_unlock(&in->lock);
	if (!cp) {
		json_decref(arr);
		return -ENOMEM;
	}
	/* the profile diffs outside the lock: they read the store */
	for (size_t i = 0; i < n; i++) {
		json_t *rc = cp[i].o ? json_object_get(cp[i].o, "root_cause") : NULL;

		if (rc)
			json_object_set_new(rc, "top_function",
					    top_function(in, cp[i].id, cp[i].ended, cp[i].from,
							 cp[i].to, cp[i].comm));
		if (cp[i].o)
			json_array_append_new(arr, cp[i].o);
		free(cp[i].comm);
	}
	free(cp);
	return http_reply_json(r, 200, json_pack("{s:o}", "incidents", arr));
}

/* ---- lifecycle ---- */

struct insights *insights__new(struct service *s, struct http_server *h,
			       const struct watch_config *watch, const struct incident_opts *inc)
{
	static const struct {
		const char *path;
		http_handler fn;
	} routes[] = {
		{ "/api/v1/anomalies", anomalies },
		{ "/api/v1/capacity/forecast", capacity },
		{ "/api/v1/incidents", incidents_get },
		{ "/api/v1/profiling/diff", profiling_diff },
	};
	struct insights *in = calloc(1, sizeof(*in));
	int err = -ENOMEM;

	if (!in)
		return NULL;
	in->svc = s;
	pthread_mutex_init(&in->lock, NULL);
	pthread_mutex_init(&in->cache_lock, NULL);
	in->src = storesrc__new(service__series(s),
				&(struct storesrc_opts){
					.interval_ms = (int64_t)(service__interval(s) * 1000 + 0.5),
					.hold_ms = STORE_HEARTBEAT_MS,
					.raw_age_ms = service__raw_age_ms(s),
					.clock_metric = "vigil_intervals_total",
				});
	in->inc = incidents__new(inc);
	if (!in->src || !in->inc)
		goto fail;
	if (watch && (watch->nan || watch->ncap)) {
		struct pq_source src = storesrc__source(in->src);

		in->cfg = watch;
		in->w = watcher__new(watch, &src, (int64_t)(service__interval(s) * 1000 + 0.5));
		if (!in->w)
			goto fail;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		err = http_server__route(h, "GET", routes[i].path, 0, routes[i].fn, in);
		if (err)
			goto fail;
	}
	err = service__on_interval(s, on_interval, in);
	if (err)
		goto fail;
	return in;
fail:
	insights__free(in);
	errno = -err;
	return NULL;
}

void insights__free(struct insights *in)
{
	if (!in)
		return;
	watcher__free(in->w);
	incidents__free(in->inc);
	storesrc__free(in->src);
	for (size_t i = 0; i < TOP_CACHE; i++) {
		free(in->cache[i].function);
		free(in->cache[i].module);
	}
	pthread_mutex_destroy(&in->lock);
	pthread_mutex_destroy(&in->cache_lock);
	free(in);
}
