// SPDX-License-Identifier: GPL-2.0
/* Prometheus' HTTP query API over the service's store (query.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "analytics/promql.h"
#include "analytics/storesrc.h"
#include "service/http.h"
#include "service/query.h"
#include "service/service.h"
#include "service/store.h"
#include "util/clock.h"

#define MAX_MATCH 64 /* match[] arguments of one /api/v1/series request */

struct query_api {
	struct service *svc;
	struct storesrc *src;
};

static int reply_json_text(struct http_request *r, int status, char *buf, size_t len)
{
	int rc = http_reply(r, status, "application/json", buf, len);

	free(buf);
	return rc;
}

/* {"status":"error","errorType":type,"error":msg} with status. */
static int reply_api_error(struct http_request *r, int status, const char *type, const char *fmt,
			   ...) __attribute__((format(printf, 4, 5)));
static int reply_api_error(struct http_request *r, int status, const char *type, const char *fmt,
			   ...)
{
	char msg[512], *buf = NULL;
	size_t len = 0;
	va_list ap;
	FILE *m;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m = open_memstream(&buf, &len);
	if (!m)
		return -ENOMEM;
	pq_error_write_json(m, type, msg);
	if (fclose(m)) {
		free(buf);
		return -ENOMEM;
	}
	return reply_json_text(r, status, buf, len);
}

static int reply_success(struct http_request *r, json_t *data)
{
	json_t *o = json_pack("{s:s,s:o}", "status", "success", "data", data);
	char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!txt)
		return -ENOMEM;
	return reply_json_text(r, 200, txt, strlen(txt));
}

/* A "time" parameter as Prometheus parses it; 0 or 1 after replying 400. */
static int time_arg(struct http_request *r, const char *name, int64_t def, int64_t *out)
{
	const char *v = http_request__arg(r, name);

	if (!v || !*v) {
		*out = def;
		return 0;
	}
	if (pq_parse_time(v, out)) {
		reply_api_error(
			r, 400, "bad_data",
			"invalid parameter \"%s\": cannot parse \"%s\" to a valid timestamp", name,
			v);
		return 1;
	}
	return 0;
}

/* Seconds (a float) or a Prometheus duration, as the API's step. */
static int parse_step(const char *s, int64_t *ms)
{
	char *end;
	double secs;

	errno = 0;
	secs = strtod(s, &end);
	if (end != s && !*end && !errno) {
		if (!(secs * 1000 > -9.2e18 && secs * 1000 < 9.2e18))
			return -EINVAL;
		*ms = (int64_t)(secs * 1000 + (secs >= 0 ? 0.5 : -0.5));
		return 0;
	}
	return pq_parse_duration(s, strlen(s), ms);
}

/* The `timeout` parameter (Prometheus: a duration or seconds, capped by the server's 2 min) into
 * o->timeout_ms; -1 after replying 400. */
static int timeout_arg(struct http_request *r, struct pq_opts *o)
{
	const char *s = http_request__arg(r, "timeout");
	int64_t ms;

	if (!s)
		return 0;
	if (parse_step(s, &ms) || ms <= 0) {
		reply_api_error(r, 400, "bad_data",
				"invalid parameter \"timeout\": cannot parse \"%s\" to a valid "
				"duration",
				s);
		return -1;
	}
	o->timeout_ms = ms < PQ_MAX_TIMEOUT_MS ? ms : PQ_MAX_TIMEOUT_MS;
	return 0;
}

/* Parses query; NULL after replying 400. */
static struct pq_expr *parse_query(struct http_request *r)
{
	const char *q = http_request__arg(r, "query");
	struct pq_error err = { 0 };
	struct pq_expr *e;

	if (!q) {
		reply_api_error(r, 400, "bad_data",
				"invalid parameter \"query\": unknown position: "
				"parse error: no expression found in input");
		return NULL;
	}
	e = pq_parse(q, &err);
	if (!e)
		reply_api_error(r, 400, "bad_data", "invalid parameter \"query\": %s", err.msg);
	return e;
}

static int reply_result(struct http_request *r, int rc, struct pq_result *res,
			const struct pq_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (rc == -ENOMEM)
		return reply_api_error(r, 503, "internal", "out of memory");
	if (rc == -EINVAL)
		return reply_api_error(r, 422, "execution", "%s", err->msg);
	if (rc == -ETIMEDOUT)
		return reply_api_error(r, 503, "timeout", "%s", err->msg);
	if (rc)
		return reply_api_error(r, 503, "internal", "reading the store: %s", strerror(-rc));
	m = open_memstream(&buf, &len);
	if (!m) {
		pq_result_release(res);
		return -ENOMEM;
	}
	rc = pq_result_write_json(m, res);
	pq_result_release(res);
	if (fclose(m) || rc) {
		free(buf);
		return -ENOMEM;
	}
	return reply_json_text(r, 200, buf, len);
}

static int query(struct http_request *r, void *arg)
{
	struct query_api *q = arg;
	struct pq_source src = storesrc__source(q->src);
	struct pq_result res = { 0 };
	struct pq_error err = { 0 };
	struct pq_opts o = { 0 };
	struct pq_expr *e;
	int64_t t;
	int rc;

	if (time_arg(r, "time", wall_ms(), &t) || timeout_arg(r, &o))
		return 0;
	e = parse_query(r);
	if (!e)
		return 0;
	rc = pq_eval_instant(e, &src, t, &o, &res, &err);
	pq_expr__free(e);
	return reply_result(r, rc, &res, &err);
}

static int query_range(struct http_request *r, void *arg)
{
	struct query_api *q = arg;
	struct pq_source src = storesrc__source(q->src);
	struct pq_result res = { 0 };
	struct pq_error err = { 0 };
	const char *st = http_request__arg(r, "step");
	struct pq_opts o = { 0 };
	struct pq_expr *e;
	int64_t start, end, step;
	int rc;

	if (!http_request__arg(r, "start") || !http_request__arg(r, "end"))
		return reply_api_error(r, 400, "bad_data",
				       "invalid parameter \"%s\": cannot parse "
				       "\"\" to a valid timestamp",
				       http_request__arg(r, "start") ? "end" : "start");
	if (time_arg(r, "start", 0, &start) || time_arg(r, "end", 0, &end) || timeout_arg(r, &o))
		return 0;
	if (end < start)
		return reply_api_error(r, 400, "bad_data",
				       "end timestamp must not be before start time");
	if (!st || parse_step(st, &step))
		return reply_api_error(r, 400, "bad_data",
				       "invalid parameter \"step\": cannot parse \"%s\" to a valid "
				       "duration",
				       st ? st : "");
	if (step <= 0)
		return reply_api_error(r, 400, "bad_data",
				       "zero or negative query resolution step widths are not "
				       "accepted. Try a positive integer");
	if ((end - start) / step > PQ_MAX_POINTS)
		return reply_api_error(
			r, 400, "bad_data",
			"exceeded maximum resolution of 11,000 points per timeseries. "
			"Try decreasing the query resolution (?step=XX)");
	e = parse_query(r);
	if (!e)
		return 0;
	if (pq_expr__type(e) != PQ_VECTOR && pq_expr__type(e) != PQ_SCALAR) {
		rc = reply_api_error(
			r, 400, "bad_data",
			"invalid parameter \"query\": invalid expression type \"%s\" for "
			"range query, must be Scalar or instant Vector",
			pq_type_name(pq_expr__type(e)));
		pq_expr__free(e);
		return rc;
	}
	rc = pq_eval_range(e, &src, start, end, step, &o, &res, &err);
	pq_expr__free(e);
	return reply_result(r, rc, &res, &err);
}

/* ---- metadata: series, labels, label values ---- */

struct match_args {
	const char *v[MAX_MATCH];
	size_t n;
	bool too_many;
};

static int collect_match(void *arg, const char *name, const char *value)
{
	struct match_args *ma = arg;

	if (strcmp(name, "match[]"))
		return 0;
	if (ma->n == MAX_MATCH) {
		ma->too_many = true;
		return 1;
	}
	ma->v[ma->n++] = value;
	return 0;
}

struct sel_ctx {
	struct pq_source src;
	int64_t mint, maxt;
	json_t *seen; /* labels text -> series object */
	int rc;
};

static int one_selector(const struct label_matcher *m, size_t n, void *arg)
{
	struct sel_ctx *c = arg;
	struct pq_matrix mat = { 0 };
	int rc = c->src.select(c->src.ctx, m, n, c->mint, c->maxt, &mat);

	for (size_t i = 0; !rc && i < mat.n; i++) {
		char key[4096];
		json_t *o;

		labels__format(mat.s[i].l, key, sizeof(key));
		if (json_object_get(c->seen, key))
			continue;
		o = json_object();
		for (uint32_t k = 0; o && k < mat.s[i].l->n; k++)
			json_object_set_new(o, mat.s[i].l->l[k].name,
					    json_string(mat.s[i].l->l[k].value));
		if (!o || json_object_set_new(c->seen, key, o))
			rc = -ENOMEM;
	}
	pq_matrix_release(&mat);
	c->rc = rc;
	return rc;
}

static int series(struct http_request *r, void *arg)
{
	struct query_api *q = arg;
	struct match_args ma = { 0 };
	struct sel_ctx c = { .src = storesrc__source(q->src) };
	json_t *out;
	const char *k;
	json_t *v;
	int rc = 0;

	http_request__args(r, collect_match, &ma);
	if (ma.too_many)
		return reply_api_error(r, 400, "bad_data", "at most %d match[] arguments",
				       MAX_MATCH);
	if (!ma.n)
		return reply_api_error(r, 400, "bad_data", "no match[] parameter provided");
	if (time_arg(r, "start", INT64_MIN / 2, &c.mint) ||
	    time_arg(r, "end", INT64_MAX / 2, &c.maxt))
		return 0;
	c.seen = json_object();
	if (!c.seen)
		return -ENOMEM;
	for (size_t i = 0; i < ma.n && !rc; i++) {
		struct pq_error err = { 0 };
		struct pq_expr *e = pq_parse(ma.v[i], &err);

		if (!e) {
			json_decref(c.seen);
			return reply_api_error(r, 400, "bad_data",
					       "invalid parameter \"match[]\": %s", err.msg);
		}
		rc = pq_expr__for_each_selector(e, one_selector, &c);
		pq_expr__free(e);
	}
	if (rc) {
		json_decref(c.seen);
		return reply_api_error(r, 503, "internal", "reading the store: %s", strerror(-rc));
	}
	out = json_array();
	json_object_foreach(c.seen, k, v)
	{
		json_array_append(out, v);
	}
	json_decref(c.seen);
	return reply_success(r, out);
}

struct label_walk {
	const char *want; /* NULL: label names */
	json_t *set; /* name or value -> true */
	int rc;
};

static int label_one(void *arg, const char *name, const char *type, const char *labels_json)
{
	struct label_walk *w = arg;
	json_t *o = json_loads(labels_json, 0, NULL), *v;
	const char *k;

	(void)type;
	if (!w->want)
		json_object_set_new(w->set, LABEL_METRIC_NAME, json_true());
	else if (!strcmp(w->want, LABEL_METRIC_NAME))
		json_object_set_new(w->set, name, json_true());
	json_object_foreach(o, k, v)
	{
		if (!w->want)
			json_object_set_new(w->set, k, json_true());
		else if (!strcmp(w->want, k) && json_is_string(v) && *json_string_value(v))
			json_object_set_new(w->set, json_string_value(v), json_true());
	}
	json_decref(o);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int reply_sorted_keys(struct http_request *r, json_t *set)
{
	size_t n = json_object_size(set), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	json_t *out = json_array(), *v;
	const char *k;
	int rc;

	if (!keys || !out) {
		free(keys);
		json_decref(out);
		json_decref(set);
		return -ENOMEM;
	}
	json_object_foreach(set, k, v)
	{
		keys[i++] = k;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		json_array_append_new(out, json_string(keys[i]));
	free(keys);
	rc = reply_success(r, out);
	json_decref(set);
	return rc;
}

static int labels(struct http_request *r, void *arg)
{
	struct query_api *q = arg;
	struct label_walk w = { .set = json_object() };

	if (!w.set)
		return -ENOMEM;
	store__list_series(service__store(q->svc), label_one, &w);
	return reply_sorted_keys(r, w.set);
}

static int label_values(struct http_request *r, void *arg)
{
	struct query_api *q = arg;
	const char *tail = http_request__tail(r);
	size_t len = strlen(tail);
	char name[256];
	struct label_walk w = { .want = name };

	if (len <= 7 || strcmp(tail + len - 7, "/values") || len - 7 >= sizeof(name))
		return reply_api_error(r, 404, "bad_data", "use /api/v1/label/NAME/values");
	memcpy(name, tail, len - 7);
	name[len - 7] = '\0';
	if (!label_name_valid(name))
		return reply_api_error(r, 400, "bad_data", "invalid label name: \"%s\"", name);
	w.set = json_object();
	if (!w.set)
		return -ENOMEM;
	store__list_series(service__store(q->svc), label_one, &w);
	return reply_sorted_keys(r, w.set);
}

static int buildinfo(struct http_request *r, void *arg)
{
	(void)arg;
	return reply_success(r, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "version", "2.42.0",
					  "revision", "vigil", "branch", "vigil", "buildUser",
					  "vigil", "buildDate", "", "goVersion", "none"));
}

static void advance(void *arg, __s64 t_ms)
{
	struct query_api *q = arg;

	storesrc__advance(q->src, t_ms);
}

struct query_api *query_api__new(struct service *s, struct http_server *h)
{
	static const struct {
		const char *method, *path;
		unsigned int flags;
		http_handler fn;
	} routes[] = {
		{ "GET", "/api/v1/query", 0, query },
		{ "POST", "/api/v1/query", 0, query },
		{ "GET", "/api/v1/query_range", 0, query_range },
		{ "POST", "/api/v1/query_range", 0, query_range },
		{ "GET", "/api/v1/series", 0, series },
		{ "POST", "/api/v1/series", 0, series },
		{ "GET", "/api/v1/labels", 0, labels },
		{ "POST", "/api/v1/labels", 0, labels },
		{ "GET", "/api/v1/label", HTTP_ROUTE_PREFIX, label_values },
		{ "GET", "/api/v1/status/buildinfo", 0, buildinfo },
	};
	struct query_api *q = calloc(1, sizeof(*q));
	int err = -ENOMEM;

	if (!q)
		return NULL;
	q->svc = s;
	q->src = storesrc__new(service__series(s),
			       &(struct storesrc_opts){
				       .interval_ms = (int64_t)(service__interval(s) * 1000 + 0.5),
				       .hold_ms = STORE_HEARTBEAT_MS,
				       .raw_age_ms = service__raw_age_ms(s),
				       /* counts the intervals: stored at every one */
				       .clock_metric = "vigil_intervals_total",
			       });
	if (!q->src)
		goto fail;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		err = http_server__route(h, routes[i].method, routes[i].path, routes[i].flags,
					 routes[i].fn, q);
		if (err)
			goto fail;
	}
	err = service__on_interval(s, advance, q);
	if (err)
		goto fail;
	return q;
fail:
	query_api__free(q);
	errno = -err;
	return NULL;
}

void query_api__free(struct query_api *q)
{
	if (!q)
		return;
	storesrc__free(q->src);
	free(q);
}
