// SPDX-License-Identifier: GPL-2.0
/* The alert engine in the service (alerting.h): evaluation, output into the store, state kept. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/storesrc.h"
#include "service/alerting.h"
#include "service/config.h"
#include "service/service.h"
#include "service/store.h"
#include "util/log.h"
#include "util/clock.h"

#define KV_STATE "alerts.state"
#define KV_SILENCES "alerts.silences"

struct alerting {
	struct alerting_int i;
};

char *alerting_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)s * 1000);
	struct tm tm;
	char f[8] = "";

	if (!ms) {
		snprintf(buf, len, "0001-01-01T00:00:00Z"); /* Go's zero time */
		return buf;
	}
	gmtime_r(&s, &tm);
	if (frac) {
		snprintf(f, sizeof(f), ".%03d", frac);
		for (size_t n = strlen(f); n > 1 && f[n - 1] == '0'; n--)
			f[n - 1] = '\0';
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f);
	return buf;
}

json_t *alerting_labels_json(const struct labels *l)
{
	json_t *o = json_object();

	for (uint32_t i = 0; o && l && i < l->n; i++)
		json_object_set_new(o, l->l[i].name, json_string(l->l[i].value));
	return o;
}

static struct labels *labels_from_json(json_t *o)
{
	size_t n = json_object_size(o), k = 0;
	struct label *l = calloc(n + 1, sizeof(*l));
	struct labels *ls;
	const char *key;
	json_t *v;

	if (!l)
		return NULL;
	json_object_foreach(o, key, v)
	{
		if (!json_is_string(v))
			continue;
		l[k].name = key;
		l[k++].value = json_string_value(v);
	}
	ls = labels__new(l, k);
	free(l);
	return ls;
}

/* ---- output into the store ---- */

static int append(void *arg, const struct labels *l, int64_t t_ms, double v)
{
	struct alerting_int *al = arg;
	struct store *st = service__store(al->svc);
	struct series_store ss = store__series(st);
	struct series_label sl[64];
	const char *name = NULL;
	size_t n = 0;
	int rc;

	/* A staleness marker is the series' end in the store (model/series.h): a resolved alert's
	 * ALERTS series ends at once, as in Prometheus, not after the store's heartbeat. */
	if (pq_is_stale(v))
		v = series_end_value();
	for (uint32_t i = 0; i < l->n; i++) {
		if (!strcmp(l->l[i].name, LABEL_METRIC_NAME))
			name = l->l[i].value;
		else if (n < sizeof(sl) / sizeof(sl[0]))
			sl[n++] = (struct series_label){ (char *)l->l[i].name,
							 (char *)l->l[i].value };
	}
	if (!name)
		return -EINVAL;
	if (!al->in_tx) {
		rc = store__begin(st);
		if (rc)
			return rc;
		al->in_tx = true;
	}
	return ss.ops->append(ss.ctx, name, sl, n, "gauge", t_ms, v);
}

static void flush(void *arg)
{
	struct alerting_int *al = arg;

	if (al->in_tx)
		store__commit(service__store(al->svc));
	al->in_tx = false;
}

/* ---- state in the store ---- */

struct save_ctx {
	json_t *arr;
};

static int save_alert(void *arg, const struct group_view *g, const struct rule_view *r,
		      const struct alert_view *av)
{
	struct save_ctx *c = arg;
	const struct alert_notice *n = av->n;
	json_t *o;

	if (n->state == ALERT_INACTIVE)
		return 0;
	o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:f,s:I,s:I,s:I,s:I,s:b}", "origin", g->origin,
		      "group", g->g->name, "rule", r->r->name, "labels",
		      alerting_labels_json(n->labels), "annotations",
		      alerting_labels_json(n->annotations), "state", alert_state_name(n->state),
		      "value", isfinite(n->value) ? n->value : 0.0, "activeAt",
		      (json_int_t)n->active_at_ms, "firedAt", (json_int_t)av->fired_at_ms,
		      "resolvedAt", (json_int_t)av->resolved_at_ms, "keepFiringSince",
		      (json_int_t)av->keep_firing_since_ms, "acked", n->acked);
	if (o)
		json_object_set_new(o, "rawValue", json_real(n->value));
	return o ? json_array_append_new(c->arr, o) : -ENOMEM;
}

static void save_state(struct alerting_int *al)
{
	struct save_ctx c = { .arr = json_array() };
	char *txt;

	if (!c.arr)
		return;
	alerts__walk(al->eng, &(struct alerts_visitor){ .alert = save_alert }, &c);
	txt = json_dumps(c.arr, JSON_COMPACT);
	json_decref(c.arr);
	if (txt && store__kv_set(service__store(al->svc), KV_STATE, txt))
		pr_warn("alerts: saving the alert state failed");
	free(txt);
}

static void save_silences(struct alerting_int *al)
{
	json_t *arr = alerting_silences_json(al->eng, 0, NULL);
	char *txt = arr ? json_dumps(arr, JSON_COMPACT) : NULL;

	json_decref(arr);
	if (txt && store__kv_set(service__store(al->svc), KV_SILENCES, txt))
		pr_warn("alerts: saving the silences failed");
	free(txt);
}

static enum alert_state state_named(const char *s)
{
	if (!strcmp(s, "firing"))
		return ALERT_FIRING;
	if (!strcmp(s, "pending"))
		return ALERT_PENDING;
	if (!strcmp(s, "resolved"))
		return ALERT_RESOLVED;
	return ALERT_INACTIVE;
}

static void restore(struct alerting_int *al)
{
	char *txt = store__kv_get(service__store(al->svc), KV_STATE);
	json_t *arr = txt ? json_loads(txt, 0, NULL) : NULL;
	size_t i, n = 0;
	json_t *o;

	free(txt);
	json_array_foreach(arr, i, o)
	{
		json_t *l = json_object_get(o, "labels"), *an = json_object_get(o, "annotations");
		struct alert_saved s = {
			.origin = json_string_value(json_object_get(o, "origin")),
			.group = json_string_value(json_object_get(o, "group")),
			.rule = json_string_value(json_object_get(o, "rule")),
			.state = state_named(json_string_value(json_object_get(o, "state")) ?:
						     "inactive"),
			.value = json_number_value(json_object_get(o, "value")),
			.active_at_ms = json_integer_value(json_object_get(o, "activeAt")),
			.fired_at_ms = json_integer_value(json_object_get(o, "firedAt")),
			.resolved_at_ms = json_integer_value(json_object_get(o, "resolvedAt")),
			.keep_firing_since_ms =
				json_integer_value(json_object_get(o, "keepFiringSince")),
			.acked = json_is_true(json_object_get(o, "acked")),
		};

		if (!s.origin || !s.group || !s.rule || !json_is_object(l) ||
		    s.state == ALERT_INACTIVE)
			continue;
		s.labels = labels_from_json(l);
		s.annotations = json_is_object(an) ? labels_from_json(an) : NULL;
		if (s.labels && !alerts__restore(al->eng, &s))
			n++;
		labels__unref(s.labels);
		labels__unref(s.annotations);
	}
	json_decref(arr);
	txt = store__kv_get(service__store(al->svc), KV_SILENCES);
	arr = txt ? json_loads(txt, 0, NULL) : NULL;
	free(txt);
	json_array_foreach(arr, i, o)
	{
		struct silence s;
		char err[256];

		if (!alerting_silence_from_json(o, &s, err, sizeof(err))) {
			alerts__silence_restore(al->eng, &s);
			alerting_silence_release(&s);
		}
	}
	json_decref(arr);
	alerts__silences_dirty(al->eng);
	if (n)
		pr_info("alerts: %zu alerts restored from the store", n);
}

/* Groups whose interval is no multiple of --interval, each at its own grid times; a group added
 * later (API, reload) is picked up within a second. */
static void *timer_main(void *arg)
{
	struct alerting_int *al = arg;

	pthread_mutex_lock(&al->timer_lock);
	while (!al->timer_stop) {
		int64_t now = wall_ms(), next;
		struct timespec until;

		pthread_mutex_unlock(&al->timer_lock);
		next = alerts__eval_timer(al->eng, now);
		alerting_save(al);
		if (next > now + 1000)
			next = now + 1000;
		until.tv_sec = (time_t)(next / 1000);
		until.tv_nsec = (long)(next % 1000) * 1000000;
		pthread_mutex_lock(&al->timer_lock);
		if (!al->timer_stop)
			pthread_cond_timedwait(&al->timer_cv, &al->timer_lock, &until);
	}
	pthread_mutex_unlock(&al->timer_lock);
	return NULL;
}

static void on_interval(void *arg, __s64 t_ms)
{
	struct alerting_int *al = arg;

	storesrc__advance(al->src, t_ms);
	if (!al->restored) {
		restore(al);
		al->restored = true;
	}
	/* (the engine flushes each rule's samples in the round) */
	alerts__eval(al->eng, t_ms, al->interval_ms / 2);
	alerting_save(al);
	if (!al->timer_started) {
		/* after the restore: no group is evaluated before its state is back */
		int rc = pthread_create(&al->timer, NULL, timer_main, al);

		if (rc)
			pr_warn("alerts: no timer thread (%s): groups whose interval is no multiple "
				"of --interval are not evaluated",
				strerror(rc));
		al->timer_started = !rc;
	}
}

void alerting_save(struct alerting_int *al)
{
	if (alerts__state_dirty(al->eng))
		save_state(al);
	if (alerts__silences_dirty(al->eng))
		save_silences(al);
}

/* ---- lifecycle ---- */

struct alerting *alerting__new(struct service *s, struct http_server *h, struct vigil_config *cfg)
{
	struct alerting *a = calloc(1, sizeof(*a));
	struct alerting_int *al;
	char *url, err[1024];
	const char *listen = service__listen(s);
	int rc = -ENOMEM;

	if (!a)
		return NULL;
	al = &a->i;
	al->svc = s;
	pthread_mutex_init(&al->api_lock, NULL);
	pthread_mutex_init(&al->timer_lock, NULL);
	pthread_cond_init(&al->timer_cv, NULL);
	al->interval_ms = (int64_t)(service__interval(s) * 1000 + 0.5);
	al->src = storesrc__new(service__series(s), &(struct storesrc_opts){
							    .interval_ms = al->interval_ms,
							    .hold_ms = STORE_HEARTBEAT_MS,
							    .raw_age_ms = service__raw_age_ms(s),
							    .clock_metric = "vigil_intervals_total",
						    });
	if (!al->src)
		goto fail;
	url = al->base_url;
	/* ":7470" (every address) is linked as localhost:7470 */
	snprintf(url, sizeof(al->base_url), "%s://%s%s", service__tls(s) ? "https" : "http",
		 listen[0] == ':' ? "localhost" : "", listen);
	al->eng = alerts__new(&(struct alerts_opts){
		.src = storesrc__source(al->src),
		.append = append,
		.flush = flush,
		.append_arg = al,
		/* default: every interval (new points come no more often; Prometheus' 1m
		 * would make `for:` shorter than a minute mean a minute) */
		.interval_ms =
			cfg && cfg->eval_interval_ms ? cfg->eval_interval_ms : al->interval_ms,
		.external_labels = cfg ? cfg->external_labels : NULL,
		.external_url = url,
		/* alerts on CPU or latency link to the profile diff of their window */
		.link = alerting_link(al),
		.tick_ms = al->interval_ms,
	});
	if (!al->eng)
		goto fail;
	for (size_t i = 0; cfg && i < cfg->nrules; i++) {
		struct rule_file f = cfg->rules[i];

		/* moved into the engine */
		memset(&cfg->rules[i], 0, sizeof(f));
		rc = alerts__add_file(al->eng, f.path ? f.path : "rules", &f);
		rule_file_release(&f);
		if (rc)
			goto fail;
	}
	if (cfg && cfg->ninhibit) {
		rc = alerts__set_inhibit_rules(al->eng, cfg->inhibit, cfg->ninhibit);
		if (rc)
			goto fail;
		free(cfg->inhibit);
		cfg->inhibit = NULL;
		cfg->ninhibit = 0;
	}
	rc = alerting_api_apply(al, err, sizeof(err));
	if (rc) {
		pr_err("alerts: the rules added through the API no longer load: %s", err);
		goto fail;
	}
	rc = alerting_api_register(al, h);
	if (!rc)
		rc = service__on_interval(s, on_interval, al);
	if (rc)
		goto fail;
	return a;
fail:
	alerting__free(a);
	errno = rc < 0 ? -rc : ENOMEM;
	return NULL;
}

void alerting__free(struct alerting *a)
{
	if (!a)
		return;
	if (a->i.timer_started) {
		pthread_mutex_lock(&a->i.timer_lock);
		a->i.timer_stop = true;
		pthread_cond_signal(&a->i.timer_cv);
		pthread_mutex_unlock(&a->i.timer_lock);
		pthread_join(a->i.timer, NULL);
	}
	if (a->i.eng && a->i.restored)
		alerting_save(&a->i);
	alerts__free(a->i.eng);
	storesrc__free(a->i.src);
	json_decref(a->i.api_groups);
	pthread_mutex_destroy(&a->i.api_lock);
	pthread_mutex_destroy(&a->i.timer_lock);
	pthread_cond_destroy(&a->i.timer_cv);
	free(a);
}

struct alerts *alerting__engine(struct alerting *a)
{
	return a ? a->i.eng : NULL;
}
