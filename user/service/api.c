// SPDX-License-Identifier: GPL-2.0
/* The HTTP endpoints: argument checks (400 with a reason), range reads from the store, formats. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "collect/runner.h"
#include "export/export.h"
#include "export/prom.h"
#include "model/profile.h"
#include "service/api.h"
#include "service/http.h"
#include "service/service.h"
#include "service/store.h"
#include "service/web_assets.h"
#include "util/cli.h"
#include "util/clock.h"

#define MAX_RANGE_S (31 * 86400) /* a query spans at most a month */
#define MAX_PPROF_SECONDS 60
#define MAX_PROFILE_BYTES (256u << 20)
#define MAX_POINTS 100000 /* per series in one answer */

int api_parse_time(const char *s, __s64 now_ms, __s64 *out_ms)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "now")) {
		*out_ms = now_ms;
		return 0;
	}
	if (!strncmp(s, "now-", 4)) {
		if (cli_parse_duration(s + 4, &v))
			return -EINVAL;
		*out_ms = now_ms - (__s64)(v * 1000);
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	/* unix seconds from 2000 to 2200: anything else is a unit mix-up */
	if (errno || *end || end == s || !(v >= 946684800.0 && v < 7258118400.0))
		return -EINVAL;
	*out_ms = (__s64)(v * 1000);
	return 0;
}

/* from/to with defaults (the last `def_s` seconds); 0, or 1 after replying 400. */
static int parse_range(struct http_request *r, double def_s, __s64 *from, __s64 *to)
{
	const char *f = http_request__arg(r, "from"), *t = http_request__arg(r, "to");
	__s64 now = wall_ms();

	*to = now;
	*from = now - (__s64)(def_s * 1000);
	if (t && api_parse_time(t, now, to)) {
		http_reply_error(r, 400, "bad 'to' '%s' (want unix seconds, 'now' or 'now-1h')", t);
		return 1;
	}
	if (f && api_parse_time(f, now, from)) {
		http_reply_error(r, 400, "bad 'from' '%s' (want unix seconds, 'now' or 'now-1h')",
				 f);
		return 1;
	}
	if (*from >= *to) {
		http_reply_error(r, 400, "empty time range: 'from' is not before 'to'");
		return 1;
	}
	if (*to - *from > (__s64)MAX_RANGE_S * 1000) {
		http_reply_error(r, 400, "time range over %d days", MAX_RANGE_S / 86400);
		return 1;
	}
	return 0;
}

/* ---- /healthz, /readyz, /metrics ---- */

static int healthz(struct http_request *r, void *arg)
{
	(void)arg;
	return http_reply(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static int readyz(struct http_request *r, void *arg)
{
	char why[256], *txt;
	bool ok = service__ready(arg, why, sizeof(why));
	json_t *o = json_pack("{s:b,s:s}", "ready", ok, "reason", why);
	int err;

	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!txt)
		return -ENOMEM;
	err = http_reply(r, ok ? 200 : 503, "application/json", txt, strlen(txt));
	free(txt);
	return err;
}

static int metrics(struct http_request *r, void *arg)
{
	size_t len;
	char *txt = service__metrics_text(arg, &len);
	int err;

	if (!txt)
		return -ENOMEM;
	err = http_reply(r, 200, PROM_CONTENT_TYPE, txt, len);
	free(txt);
	return err;
}

static int status(struct http_request *r, void *arg)
{
	/* the optional APIs the web view shows panels for, when this build and config have them */
	static const char *const apis[][2] = {
		{ "alerts", "/api/v1/alerts" },
		{ "silences", "/api/v1/silences" },
		{ "sla", "/api/v1/sla" },
		{ "incidents", "/api/v1/incidents" },
		{ "anomalies", "/api/v1/anomalies" },
		{ "capacity", "/api/v1/capacity/forecast" },
	};
	struct http_server *h = http_request__server(r);
	json_t *have = json_object();
	char why[256];
	bool ok = service__ready(arg, why, sizeof(why));

	for (size_t i = 0; have && i < sizeof(apis) / sizeof(apis[0]); i++)
		json_object_set_new(have, apis[i][0],
				    json_boolean(http_server__has_route(h, "GET", apis[i][1])));
	return http_reply_json(r, 200,
			       json_pack("{s:f,s:b,s:s,s:o}", "interval_s", service__interval(arg),
					 "ready", ok, "reason", why, "apis",
					 have ? have : json_object()));
}

/* ---- profiles ---- */

static int reply_profile(struct http_request *r, const struct profile *p, enum export_format f,
			 const char *name)
{
	static const char *const ctype[] = {
		[EXPORT_FOLDED] = "text/plain; charset=utf-8",
		[EXPORT_SVG] = "image/svg+xml",
		[EXPORT_PPROF] = "application/octet-stream",
		[EXPORT_SPEEDSCOPE] = "application/json",
	};
	struct export_opts o = { .title = name, .annotate_kernel = true };
	char *buf = NULL, disp[128];
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int err;

	if (!m)
		return -errno;
	err = export_profile(p, f, m, &o);
	if (fclose(m) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		return err;
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s.pb.gz\"", name);
	err = http_reply_with(r, 200, ctype[f], buf, len,
			      f == EXPORT_PPROF ? "Content-Disposition" : NULL, disp);
	free(buf);
	return err;
}

static int pprof_profile(struct http_request *r, void *arg)
{
	const char *sec = http_request__arg(r, "seconds");
	unsigned long seconds = 30;
	void *blob = NULL;
	size_t len = 0;
	int err;

	/* go tool pprof's default is 30 s, as against a Go program. */
	if (sec && cli_parse_ulong(sec, 1, MAX_PPROF_SECONDS, &seconds))
		return http_reply_error(r, 400, "bad 'seconds' '%s' (want 1..%d)", sec,
					MAX_PPROF_SECONDS);
	err = service__live_pprof(arg, (double)seconds, &blob, &len);
	if (err == -ECANCELED)
		return http_reply_error(r, 503, "the service is stopping");
	if (err)
		return err;
	err = http_reply_with(r, 200, "application/octet-stream", blob, len, "Content-Disposition",
			      "attachment; filename=\"profile\"");
	free(blob);
	return err;
}

static bool keep_stack(const struct profile_stack *s, void *arg)
{
	const struct profile_filter *f = arg;

	if (f->comm && strcmp(s->comm ? s->comm : "", f->comm))
		return false;
	if (f->has_pid && s->pid != f->pid)
		return false;
	if (f->cgroup) {
		size_t n = strlen(f->cgroup);
		const char *c = s->cgroup ? s->cgroup : "";

		/* a cgroup selects itself and everything below it */
		if (strncmp(c, f->cgroup, n) || (c[n] && c[n] != '/' && f->cgroup[n - 1] != '/'))
			return false;
	}
	return true;
}

struct range_merge {
	struct profile *out;
	const struct profile_filter *f;
	const char *kind;
	__s64 from, to;
	__u64 t0, t1;
	int bad;
};

static int merge_stored(void *arg, __s64 t0, __s64 t1, const void *blob, size_t len)
{
	struct range_merge *m = arg;
	struct profile *p;
	int err;

	if (m->f->start_in_range && (t0 < m->from || t0 >= m->to))
		return 0;
	p = export_pprof_read(blob, len, MAX_PROFILE_BYTES, service_meta(m->kind));
	if (!p) {
		m->bad++;
		return 0;
	}
	if ((__u64)t0 * 1000000ull < m->t0)
		m->t0 = (__u64)t0 * 1000000ull;
	if ((__u64)t1 * 1000000ull > m->t1)
		m->t1 = (__u64)t1 * 1000000ull;
	err = profile__merge(m->out, p, keep_stack, (void *)m->f, PROFILE_MERGE_DROP_TID);
	profile__free(p);
	return err;
}

int api_window_profile(struct service *s, const char *kind, __s64 from, __s64 to,
		       const struct profile_filter *f, struct profile **out)
{
	static const struct profile_filter none = { 0 };
	struct range_merge m = {
		.f = f ? f : &none, .kind = kind, .from = from, .to = to, .t0 = UINT64_MAX
	};
	int err;

	m.out = profile__new(service_meta(kind));
	if (!m.out)
		return -ENOMEM;
	err = store__profiles(service__store(s), kind, from, to, merge_stored, &m);
	if (err) {
		profile__free(m.out);
		return err;
	}
	profile__set_span(m.out, m.t0 == UINT64_MAX ? (__u64)from * 1000000ull : m.t0,
			  m.t1 > m.t0 ? m.t1 - m.t0 : 0);
	*out = m.out;
	return 0;
}

int api_parse_filter(struct http_request *r, struct profile_filter *f)
{
	const char *pid = http_request__arg(r, "pid");
	unsigned long pidv;

	*f = (struct profile_filter){ .comm = http_request__arg(r, "comm"),
				      .cgroup = http_request__arg(r, "cgroup") };
	if (pid) {
		if (cli_parse_ulong(pid, 1, 0x7fffffff, &pidv)) {
			http_reply_error(r, 400, "bad 'pid' '%s' (want a process id)", pid);
			return 1;
		}
		f->pid = (__u32)pidv;
		f->has_pid = true;
	}
	if (f->cgroup && (!*f->cgroup || f->cgroup[0] != '/')) {
		http_reply_error(r, 400, "bad 'cgroup' '%s' (want a path like /system.slice)",
				 f->cgroup);
		return 1;
	}
	return 0;
}

static int stored_profile(struct http_request *r, struct service *s, const char *kind)
{
	const char *fmt = http_request__arg(r, "format");
	struct profile_filter f;
	enum export_format ef = EXPORT_PPROF;
	struct profile *p;
	__s64 from, to;
	char name[64];
	int err;

	if (fmt && (ef = export_format_by_name(fmt)) == EXPORT_NONE)
		return http_reply_error(
			r, 400, "unknown format '%s' (want pprof, folded, svg or speedscope)", fmt);
	if (api_parse_filter(r, &f))
		return 0;
	if (parse_range(r, 600, &from, &to))
		return 0;
	err = api_window_profile(s, kind, from, to, &f, &p);
	if (err == -ENOMEM)
		return err;
	if (err)
		return http_reply_error(r, 503, "reading the store failed: %s", strerror(-err));
	snprintf(name, sizeof(name), "vigil-%s", kind);
	err = reply_profile(r, p, ef, name);
	profile__free(p);
	return err;
}

static int cpu_profile(struct http_request *r, void *arg)
{
	return stored_profile(r, arg, "cpu");
}

static int offcpu_profile(struct http_request *r, void *arg)
{
	return stored_profile(r, arg, "offcpu");
}

/* ---- metrics JSON ---- */

struct list_ctx {
	json_t *arr;
	json_t *cur; /* the current name's object */
	char name[256];
};

static int list_one(void *arg, const char *name, const char *type, const char *labels)
{
	struct list_ctx *c = arg;
	json_t *l = json_loads(labels, 0, NULL);

	if (strcmp(c->name, name)) {
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->cur = json_pack("{s:s,s:s,s:[]}", "name", name, "type", type, "series");
		if (!c->cur)
			return -ENOMEM;
		json_array_append_new(c->arr, c->cur);
	}
	json_array_append_new(json_object_get(c->cur, "series"), l ? l : json_object());
	return 0;
}

static int metrics_list(struct http_request *r, void *arg)
{
	struct list_ctx c = { .arr = json_array() };
	int err;

	if (!c.arr)
		return -ENOMEM;
	err = store__list_series(service__store(arg), list_one, &c);
	if (err) {
		json_decref(c.arr);
		return err;
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "metrics", c.arr));
}

struct matcher_ctx {
	struct series_matcher m[32];
	size_t n;
};

static int collect_matcher(void *arg, const char *name, const char *value)
{
	struct matcher_ctx *c = arg;

	if (!strcmp(name, "from") || !strcmp(name, "to") || !strcmp(name, "step") ||
	    !strcmp(name, "agg"))
		return 0;
	if (c->n == 32)
		return -E2BIG;
	c->m[c->n++] = (struct series_matcher){ name, SERIES_EQ, value };
	return 0;
}

enum agg { AGG_LAST, AGG_AVG, AGG_MIN, AGG_MAX, AGG_SUM, AGG_RATE };

/* This endpoint shows values: a series' ends (model/series.h) go. */
static void drop_ends(struct series *se)
{
	size_t k = 0;

	for (size_t i = 0; i < se->nr_points; i++)
		if (!series_is_end(se->points[i].v))
			se->points[k++] = se->points[i];
	se->nr_points = k;
}

/* Points of one series as [[t_s, v], ...], resampled to step (seconds, 0 = as stored). */
static json_t *points_json(const struct series *se, __s64 from, __s64 to, double step, enum agg a)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	if (step <= 0) {
		for (size_t i = 0; i < se->nr_points && i < MAX_POINTS; i++)
			json_array_append_new(arr, json_pack("[f,f]", se->points[i].t_ms / 1000.0,
							     se->points[i].v));
		return arr;
	}
	for (__s64 b0 = from; b0 < to; b0 += (__s64)(step * 1000)) {
		__s64 b1 = b0 + (__s64)(step * 1000);
		double acc = 0, mn = INFINITY, mx = -INFINITY, last = NAN, first = NAN;
		__s64 tf = 0, tl = 0;
		size_t n = 0;

		for (size_t i = 0; i < se->nr_points; i++) {
			const struct series_point *p = &se->points[i];

			if (p->t_ms < b0 || p->t_ms >= b1)
				continue;
			if (!n) {
				first = p->v;
				tf = p->t_ms;
			}
			n++;
			acc += p->v;
			mn = p->v < mn ? p->v : mn;
			mx = p->v > mx ? p->v : mx;
			last = p->v;
			tl = p->t_ms;
		}
		if (!n)
			continue;
		if (a == AGG_RATE) {
			/* per-second increase against the previous point before the bucket */
			double prev = NAN;
			__s64 tp = 0;

			for (size_t i = 0; i < se->nr_points && se->points[i].t_ms < b0; i++) {
				prev = se->points[i].v;
				tp = se->points[i].t_ms;
			}
			if (isnan(prev)) {
				prev = first;
				tp = tf;
			}
			if (tl <= tp)
				continue;
			/* a counter reset restarts from zero */
			acc = (last >= prev ? last - prev : last) / ((tl - tp) / 1000.0);
		}
		json_array_append_new(arr, json_pack("[f,f]", b1 / 1000.0,
						     a == AGG_LAST ? last :
						     a == AGG_AVG  ? acc / n :
						     a == AGG_MIN  ? mn :
						     a == AGG_MAX  ? mx :
								     acc));
	}
	return arr;
}

static int metric_points(struct http_request *r, void *arg)
{
	const char *name = http_request__tail(r), *step_s = http_request__arg(r, "step"),
		   *agg_s = http_request__arg(r, "agg");
	static const char *const aggs[] = { "last", "avg", "min", "max", "sum", "rate" };
	struct series_store st = store__series(service__store(arg));
	struct matcher_ctx mc = { 0 };
	struct series_set set;
	enum agg a = AGG_LAST;
	double step = 0;
	json_t *out, *arr;
	__s64 from, to;
	int err;

	if (!*name || strchr(name, '/'))
		return http_reply_error(r, 404, "no such metric: '%s'", name);
	for (const char *c = name; *c; c++)
		if (!(*c == '_' || *c == ':' || (*c >= 'a' && *c <= 'z') ||
		      (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			return http_reply_error(r, 400, "bad metric name '%s'", name);
	if (step_s && cli_parse_duration(step_s, &step))
		return http_reply_error(r, 400, "bad 'step' '%s' (want seconds or 30s, 5m ...)",
					step_s);
	if (agg_s) {
		size_t i;

		for (i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++)
			if (!strcmp(agg_s, aggs[i]))
				break;
		if (i == sizeof(aggs) / sizeof(aggs[0]))
			return http_reply_error(
				r, 400, "unknown 'agg' '%s' (want last, avg, min, max, sum, rate)",
				agg_s);
		a = (enum agg)i;
		if (a == AGG_RATE && step <= 0)
			step = service__interval(arg);
	}
	if (parse_range(r, 3600, &from, &to))
		return 0;
	if (step > 0 && (to - from) / (step * 1000) > MAX_POINTS)
		return http_reply_error(r, 400, "too many points: raise 'step'");
	if (http_request__args(r, collect_matcher, &mc))
		return http_reply_error(r, 400, "too many label filters (32 at most)");
	err = st.ops->select(st.ctx, name, mc.m, mc.n, from, to, &set);
	if (err)
		return http_reply_error(r, 503, "reading the store failed: %s", strerror(-err));
	arr = json_array();
	for (size_t i = 0; arr && i < set.n; i++) {
		json_t *labels = json_object();

		drop_ends(&set.s[i]);
		for (size_t k = 0; k < set.s[i].nr_labels; k++)
			json_object_set_new(labels, set.s[i].labels[k].name,
					    json_string(set.s[i].labels[k].value));
		json_array_append_new(arr, json_pack("{s:o,s:o*}", "labels", labels, "points",
						     points_json(&set.s[i], from, to, step, a)));
	}
	out = json_pack("{s:s,s:s,s:I,s:I,s:o*}", "name", name, "type", set.n ? set.s[0].type : "",
			"from", (json_int_t)(from / 1000), "to", (json_int_t)(to / 1000), "series",
			arr);
	series_set__release(&set);
	return http_reply_json(r, 200, out);
}

/* ---- server-sent events ---- */

struct sse {
	struct service *s;
	struct http_server *h;
	__u64 seq;
	char *pending; /* what is left of the current event */
	size_t off, len;
	bool hello;
};

static ssize_t sse_read(void *ctx, char *buf, size_t max)
{
	struct sse *e = ctx;
	size_t n;

	while (!e->pending) {
		char *ev;

		if (service__stopping(e->s) || http_server__stopping(e->h))
			return -1;
		if (!e->hello) {
			e->hello = true;
			e->pending = strdup(": vigil stream: one event per interval\n\n");
		} else if ((ev = service__next_event(e->s, &e->seq, 15000))) {
			size_t l = strlen(ev) + 32;

			e->pending = malloc(l);
			if (e->pending)
				snprintf(e->pending, l, "event: interval\ndata: %s\n\n", ev);
			free(ev);
		} else {
			/* a comment every 15 s keeps proxies from closing an idle stream */
			e->pending = strdup(": keepalive\n\n");
		}
		if (!e->pending)
			return -1;
		e->off = 0;
		e->len = strlen(e->pending);
	}
	n = e->len - e->off < max ? e->len - e->off : max;
	memcpy(buf, e->pending + e->off, n);
	e->off += n;
	if (e->off == e->len) {
		free(e->pending);
		e->pending = NULL;
	}
	return (ssize_t)n;
}

static void sse_free(void *ctx)
{
	struct sse *e = ctx;

	free(e->pending);
	free(e);
}

static int stream(struct http_request *r, void *arg)
{
	struct sse *e = calloc(1, sizeof(*e));
	char *ev;

	if (!e)
		return -ENOMEM;
	e->s = arg;
	e->h = http_request__server(r);
	/* Start with the latest event, then follow. */
	ev = service__next_event(arg, &e->seq, 0);
	if (ev) {
		size_t l = strlen(ev) + 32;

		e->hello = true;
		e->pending = malloc(l);
		if (e->pending) {
			snprintf(e->pending, l, "event: interval\ndata: %s\n\n", ev);
			e->len = strlen(e->pending);
		}
		free(ev);
	}
	return http_reply_stream(r, 200, "text/event-stream", sse_read, e, sse_free);
}

/* ---- the web view's files ---- */

static int asset(struct http_request *r, void *arg)
{
	const char *path = http_request__path(r);

	(void)arg;
	for (const struct web_asset *a = web_assets; a->url; a++)
		if (!strcmp(a->url, path))
			return http_reply(r, 200, a->content_type, a->data, a->len);
	return http_reply_error(r, 404, "no such file: %s", path);
}

int api__register(struct service *s, struct http_server *h)
{
	static const struct {
		const char *path;
		unsigned int flags;
		http_handler fn;
	} routes[] = {
		{ "/healthz", HTTP_ROUTE_PUBLIC, healthz },
		{ "/readyz", 0, readyz },
		{ "/api/v1/status", 0, status },
		{ "/metrics", 0, metrics },
		{ "/debug/pprof/profile", 0, pprof_profile },
		{ "/api/v1/profiling/cpu", 0, cpu_profile },
		{ "/api/v1/profiling/offcpu", 0, offcpu_profile },
		{ "/api/v1/metrics", 0, metrics_list },
		{ "/api/v1/metrics", HTTP_ROUTE_PREFIX, metric_points },
		{ "/api/v1/stream", 0, stream },
		{ "/", 0, asset },
		{ "/static", HTTP_ROUTE_PREFIX, asset },
	};

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		int err = http_server__route(h, "GET", routes[i].path, routes[i].flags,
					     routes[i].fn, s);

		if (err)
			return err;
	}
	return 0;
}
