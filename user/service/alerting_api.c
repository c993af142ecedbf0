// SPDX-License-Identifier: GPL-2.0
/*
 * The alerting endpoints (alerting.h): Prometheus' /api/v1/alerts and /api/v1/rules, rules added
 * through the API, ack, Alertmanager's silences.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/alerting.h"
#include "service/http.h"
#include "service/service.h"
#include "service/store.h"
#include "util/clock.h"

#define KV_API_RULES "alerts.api_rules"
#define API_ORIGIN "api"

static int reply_success(struct http_request *r, json_t *data)
{
	json_t *o = data ? json_pack("{s:s,s:o}", "status", "success", "data", data) :
			   json_pack("{s:s}", "status", "success");

	return http_reply_json(r, 200, o);
}

/* Go's strconv.FormatFloat(v, 'e', -1, 64): the shortest mantissa that reads back. */
static char *go_e(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	else
		for (int p = 0; p < 17; p++) {
			snprintf(buf, len, "%.*e", p, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	return buf;
}

/* ---- /api/v1/alerts and /api/v1/rules ---- */

static json_t *alert_json(const struct alert_view *av)
{
	const struct alert_notice *n = av->n;
	char t[64], v[64], fp[20];

	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)n->fingerprint);
	json_t *o =
		json_pack("{s:o,s:o,s:s,s:s,s:s,s:s,s:b,s:b,s:b}", "labels",
			  alerting_labels_json(n->labels), "annotations",
			  alerting_labels_json(n->annotations), "state", alert_state_name(n->state),
			  "activeAt", alerting_time(n->active_at_ms, t, sizeof(t)), "value",
			  go_e(n->value, v, sizeof(v)), "fingerprint", fp, "silenced", n->silenced,
			  "inhibited", n->inhibited, "acked", n->acked);

	if (o && av->keep_firing_since_ms)
		json_object_set_new(
			o, "keepFiringSince",
			json_string(alerting_time(av->keep_firing_since_ms, t, sizeof(t))));
	if (o)
		json_object_set_new(o, "generatorURL",
				    json_string(n->generator_url ? n->generator_url : ""));
	if (o && av->fired_at_ms)
		json_object_set_new(o, "startsAt",
				    json_string(alerting_time(av->fired_at_ms, t, sizeof(t))));
	return o;
}

static int list_alert(void *arg, const struct group_view *g, const struct rule_view *r,
		      const struct alert_view *av)
{
	(void)g;
	(void)r;
	if (av->n->state != ALERT_PENDING && av->n->state != ALERT_FIRING)
		return 0;
	return json_array_append_new(arg, alert_json(av)) ? -ENOMEM : 0;
}

static int get_alerts(struct http_request *r, void *arg)
{
	struct alerting_int *al = arg;
	json_t *arr = json_array();

	if (!arr)
		return -ENOMEM;
	alerts__walk(al->eng, &(struct alerts_visitor){ .alert = list_alert }, arr);
	return reply_success(r, json_pack("{s:o}", "alerts", arr));
}

struct rules_ctx {
	json_t *groups, *group, *rule;
	int type; /* -1: both, else enum rule_kind */
};

static int rules_group(void *arg, const struct group_view *g)
{
	struct rules_ctx *c = arg;
	char t[64];

	c->group = json_pack("{s:s,s:s,s:[],s:f,s:I,s:f,s:s}", "name", g->g->name, "file",
			     g->origin, "rules", "interval", g->interval_ms / 1000.0, "limit",
			     (json_int_t)g->g->limit, "evaluationTime", g->eval_seconds,
			     "lastEvaluation", alerting_time(g->last_eval_ms, t, sizeof(t)));
	return c->group ? 0 : -ENOMEM;
}

static int rules_group_end(void *arg, const struct group_view *g)
{
	struct rules_ctx *c = arg;

	(void)g;
	/* Prometheus leaves out groups with no rule of the asked type */
	if (c->type >= 0 && !json_array_size(json_object_get(c->group, "rules")))
		json_decref(c->group);
	else
		json_array_append_new(c->groups, c->group);
	c->group = NULL;
	return 0;
}

static json_t *kv_json(const struct rule_kv *kv, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++)
		json_object_set_new(o, kv[i].name, json_string(kv[i].value));
	return o;
}

static int rules_rule(void *arg, const struct group_view *g, const struct rule_view *rv)
{
	struct rules_ctx *c = arg;
	const struct rule *r = rv->r;
	char t[64];

	(void)g;
	c->rule = NULL;
	if (c->type >= 0 && (int)r->kind != c->type)
		return 0;
	if (r->kind == RULE_ALERT)
		c->rule = json_pack(
			"{s:s,s:s,s:s,s:f,s:f,s:o,s:o,s:[],s:s,s:f,s:s,s:s}", "state",
			alert_state_name(rv->state), "name", r->name, "query", r->expr_text,
			"duration", r->for_ms / 1000.0, "keepFiringFor",
			r->keep_firing_for_ms / 1000.0, "labels", kv_json(r->labels, r->nlabels),
			"annotations", kv_json(r->annotations, r->nannotations), "alerts", "health",
			rv->health, "evaluationTime", rv->eval_seconds, "lastEvaluation",
			alerting_time(rv->last_eval_ms, t, sizeof(t)), "type", "alerting");
	else
		c->rule = json_pack(
			"{s:s,s:s,s:s,s:f,s:s,s:s}", "name", r->name, "query", r->expr_text,
			"health", rv->health, "evaluationTime", rv->eval_seconds, "lastEvaluation",
			alerting_time(rv->last_eval_ms, t, sizeof(t)), "type", "recording");
	if (!c->rule)
		return -ENOMEM;
	if (r->kind == RULE_RECORD && r->nlabels)
		json_object_set_new(c->rule, "labels", kv_json(r->labels, r->nlabels));
	if (rv->last_error[0])
		json_object_set_new(c->rule, "lastError", json_string(rv->last_error));
	json_array_append_new(json_object_get(c->group, "rules"), c->rule);
	return 0;
}

static int rules_alert(void *arg, const struct group_view *g, const struct rule_view *r,
		       const struct alert_view *av)
{
	struct rules_ctx *c = arg;

	(void)g;
	(void)r;
	if (!c->rule || (av->n->state != ALERT_PENDING && av->n->state != ALERT_FIRING))
		return 0;
	json_array_append_new(json_object_get(c->rule, "alerts"), alert_json(av));
	return 0;
}

static int get_rules(struct http_request *r, void *arg)
{
	struct alerting_int *al = arg;
	const char *type = http_request__arg(r, "type");
	struct rules_ctx c = { .groups = json_array(), .type = -1 };
	const struct alerts_visitor v = { .group = rules_group,
					  .rule = rules_rule,
					  .alert = rules_alert,
					  .group_end = rules_group_end };

	if (type && type[0]) {
		if (!strcmp(type, "alert")) {
			c.type = RULE_ALERT;
		} else if (!strcmp(type, "record")) {
			c.type = RULE_RECORD;
		} else {
			json_decref(c.groups);
			return http_reply_json(r, 400,
					       json_pack("{s:s,s:s,s:s}", "status", "error",
							 "errorType", "bad_data", "error",
							 "invalid query parameter type"));
		}
	}
	if (!c.groups)
		return -ENOMEM;
	if (alerts__walk(al->eng, &v, &c)) {
		json_decref(c.group);
		json_decref(c.groups);
		return -ENOMEM;
	}
	return reply_success(r, json_pack("{s:o}", "groups", c.groups));
}

/* ---- rules through the API ---- */

static json_t *group_to_json(const struct rule_group *g)
{
	json_t *rules = json_array(), *o;
	char d[64];

	for (size_t i = 0; rules && i < g->nrules; i++) {
		const struct rule *r = &g->rules[i];
		json_t *j = json_pack("{s:s,s:s}", r->kind == RULE_ALERT ? "alert" : "record",
				      r->name, "expr", r->expr_text);

		if (!j)
			continue;
		if (r->for_ms)
			json_object_set_new(
				j, "for", json_string(pq_format_duration(r->for_ms, d, sizeof(d))));
		if (r->keep_firing_for_ms)
			json_object_set_new(j, "keep_firing_for",
					    json_string(pq_format_duration(r->keep_firing_for_ms, d,
									   sizeof(d))));
		if (r->nlabels)
			json_object_set_new(j, "labels", kv_json(r->labels, r->nlabels));
		if (r->nannotations)
			json_object_set_new(j, "annotations",
					    kv_json(r->annotations, r->nannotations));
		json_array_append_new(rules, j);
	}
	o = json_pack("{s:s,s:o}", "name", g->name, "rules", rules);
	if (o && g->interval_ms)
		json_object_set_new(o, "interval",
				    json_string(pq_format_duration(g->interval_ms, d, sizeof(d))));
	if (o && g->limit)
		json_object_set_new(o, "limit", json_integer(g->limit));
	return o;
}

static char *groups_text(json_t *groups)
{
	json_t *f = json_pack("{s:O}", "groups", groups);
	char *txt = f ? json_dumps(f, JSON_COMPACT | JSON_INDENT(1)) : NULL;

	json_decref(f);
	return txt;
}

int alerting_api_apply(struct alerting_int *al, char *err, size_t errlen)
{
	char *txt;
	int rc;

	if (!al->api_groups) {
		char *saved = store__kv_get(service__store(al->svc), KV_API_RULES);
		json_t *f = saved ? json_loads(saved, 0, NULL) : NULL;

		free(saved);
		al->api_groups = json_incref(json_object_get(f, "groups"));
		json_decref(f);
		if (!json_is_array(al->api_groups)) {
			json_decref(al->api_groups);
			al->api_groups = json_array();
		}
		if (!al->api_groups)
			return -ENOMEM;
		if (!json_array_size(al->api_groups))
			return 0;
	}
	txt = groups_text(al->api_groups);
	if (!txt)
		return -ENOMEM;
	if (!json_array_size(al->api_groups)) {
		alerts__remove_origin(al->eng, API_ORIGIN);
		rc = 0;
	} else {
		rc = alerts__add_rules_text(al->eng, API_ORIGIN, txt, strlen(txt), err, errlen);
	}
	if (!rc && store__kv_set(service__store(al->svc), KV_API_RULES, txt)) {
		snprintf(err, errlen, "saving the rules in the store failed");
		rc = -EIO;
	}
	free(txt);
	return rc;
}

static long group_index(json_t *groups, const char *name)
{
	size_t i;
	json_t *g;

	json_array_foreach(groups, i, g)
	{
		const char *n = json_string_value(json_object_get(g, "name"));

		if (n && !strcmp(n, name))
			return (long)i;
	}
	return -1;
}

static int rules_get(struct http_request *r, void *arg)
{
	struct alerting_int *al = arg;
	json_t *copy;

	pthread_mutex_lock(&al->api_lock);
	copy = json_deep_copy(al->api_groups);
	pthread_mutex_unlock(&al->api_lock);
	return reply_success(r, json_pack("{s:o}", "groups", copy ? copy : json_array()));
}

static int rules_change(struct http_request *r, struct alerting_int *al, bool replace)
{
	size_t len = 0;
	const char *body = http_request__body(r, &len);
	struct rule_file f;
	struct rule_diags d;
	json_t *old, *names;
	char err[1024] = "";
	int rc;

	if (!body || !len)
		return http_reply_error(r, 400,
					"the body must be a rule file (YAML or JSON: "
					"{\"groups\": [...]})");
	rc = rulefile_parse(body, len, "body", &f, &d);
	if (rc) {
		const struct rule_diag *first = NULL;

		for (size_t i = 0; i < d.n && !first; i++)
			if (!d.d[i].warning)
				first = &d.d[i];
		if (rc == -ENOMEM)
			snprintf(err, sizeof(err), "out of memory");
		else if (first && first->line)
			snprintf(err, sizeof(err), "line %d: %s", first->line, first->msg);
		else
			snprintf(err, sizeof(err), "%s", first ? first->msg : "invalid rule file");
		rule_diags_release(&d);
		if (rc == -ENOMEM)
			return -ENOMEM;
		return http_reply_error(r, 400, "%s", err);
	}
	rule_diags_release(&d);
	if (!f.ngroups) {
		rule_file_release(&f);
		return http_reply_error(r, 400, "the rule file has no groups");
	}
	pthread_mutex_lock(&al->api_lock);
	old = json_deep_copy(al->api_groups);
	names = json_array();
	for (size_t i = 0; i < f.ngroups && !rc; i++) {
		long k = group_index(al->api_groups, f.groups[i].name);
		json_t *g = group_to_json(&f.groups[i]);

		if (!g) {
			rc = -ENOMEM;
		} else if (k >= 0 && !replace) {
			json_decref(g);
			snprintf(err, sizeof(err),
				 "group \"%s\" exists (PUT replaces it, DELETE "
				 "/api/v1/alerts/rules/%s removes it)",
				 f.groups[i].name, f.groups[i].name);
			rc = -EEXIST;
		} else if (k >= 0) {
			json_array_set_new(al->api_groups, (size_t)k, g);
		} else {
			json_array_append_new(al->api_groups, g);
		}
		json_array_append_new(names, json_string(f.groups[i].name));
	}
	rule_file_release(&f);
	if (!rc)
		rc = alerting_api_apply(al, err, sizeof(err));
	if (rc && old) {
		json_decref(al->api_groups);
		al->api_groups = old;
		old = NULL;
	}
	pthread_mutex_unlock(&al->api_lock);
	json_decref(old);
	if (rc == -EEXIST) {
		json_decref(names);
		return http_reply_error(r, 409, "%s", err);
	}
	if (rc) {
		json_decref(names);
		return rc == -EINVAL ? http_reply_error(r, 400, "%s", err) :
				       http_reply_error(r, 500, "%s", err[0] ? err : strerror(-rc));
	}
	return reply_success(r, json_pack("{s:o}", "groups", names));
}

static int rules_post(struct http_request *r, void *arg)
{
	return rules_change(r, arg, false);
}

static int rules_put(struct http_request *r, void *arg)
{
	return rules_change(r, arg, true);
}

static int rules_delete(struct http_request *r, void *arg)
{
	struct alerting_int *al = arg;
	const char *name = http_request__tail(r);
	char err[512] = "";
	long k;
	int rc = 0;

	if (!name[0])
		name = http_request__arg(r, "group") ?: "";
	if (!name[0])
		return http_reply_error(r, 400, "which group? DELETE /api/v1/alerts/rules/GROUP");
	pthread_mutex_lock(&al->api_lock);
	k = group_index(al->api_groups, name);
	if (k >= 0) {
		json_array_remove(al->api_groups, (size_t)k);
		rc = alerting_api_apply(al, err, sizeof(err));
	}
	pthread_mutex_unlock(&al->api_lock);
	if (k < 0)
		return http_reply_error(
			r, 404, "no group \"%s\" among the rules added through the API", name);
	if (rc)
		return http_reply_error(r, 500, "%s", err);
	return reply_success(r, NULL);
}

/* ---- ack ---- */

static int ack(struct http_request *r, void *arg)
{
	struct alerting_int *al = arg;
	const char *tail = http_request__tail(r);
	char *end;
	unsigned long long fp;
	size_t n = strspn(tail, "0123456789abcdefABCDEF");

	if (!n || n > 16 || strcmp(tail + n, "/ack"))
		return http_reply_error(r, 404, "not found (POST /api/v1/alerts/FINGERPRINT/ack)");
	fp = strtoull(tail, &end, 16);
	if (alerts__ack(al->eng, fp, wall_ms()))
		return http_reply_error(r, 404, "no pending or firing alert with fingerprint %.*s",
					(int)n, tail);
	alerting_save(al);
	return reply_success(r, NULL);
}

/* ---- silences ---- */

struct sil_ctx {
	json_t *arr;
	int64_t now;
	const char *only;
};

static void sil_one(void *arg, const struct silence *s)
{
	struct sil_ctx *c = arg;
	json_t *m = json_array(), *o;
	char a[64], b[64], u[64];

	if (c->only && strcmp(c->only, s->id))
		return;
	for (size_t i = 0; m && i < s->nm; i++)
		json_array_append_new(m, json_pack("{s:b,s:b,s:s,s:s}", "isEqual", s->m[i].is_equal,
						   "isRegex", s->m[i].is_regex, "name",
						   s->m[i].name, "value", s->m[i].value));
	o = json_pack("{s:s,s:{s:s},s:s,s:s,s:s,s:s,s:o,s:s}", "id", s->id, "status", "state",
		      silence_state_name(silence_state_at(s, c->now ? c->now : wall_ms())),
		      "updatedAt", alerting_time(s->updated_at_ms, u, sizeof(u)), "comment",
		      s->comment, "createdBy", s->created_by, "endsAt",
		      alerting_time(s->ends_at_ms, b, sizeof(b)), "matchers", m, "startsAt",
		      alerting_time(s->starts_at_ms, a, sizeof(a)));
	if (o)
		json_array_append_new(c->arr, o);
}

json_t *alerting_silences_json(struct alerts *eng, int64_t now_ms, const char *only_id)
{
	struct sil_ctx c = { .arr = json_array(), .now = now_ms, .only = only_id };

	if (c.arr)
		alerts__silences(eng, sil_one, &c);
	return c.arr;
}

void alerting_silence_release(struct silence *s)
{
	for (size_t i = 0; i < s->nm; i++) {
		free(s->m[i].name);
		free(s->m[i].value);
	}
	free(s->m);
	free(s->created_by);
	free(s->comment);
	memset(s, 0, sizeof(*s));
}

static int time_field(json_t *j, const char *key, int64_t *ms, bool required, char *err,
		      size_t errlen)
{
	json_t *v = json_object_get(j, key);

	*ms = 0;
	if (!v && !required)
		return 0;
	if (!json_is_string(v) || pq_parse_time(json_string_value(v), ms)) {
		snprintf(err, errlen, "%s in body is required (an RFC 3339 time)", key);
		return -EINVAL;
	}
	return 0;
}

int alerting_silence_from_json(json_t *j, struct silence *s, char *err, size_t errlen)
{
	json_t *m = json_object_get(j, "matchers"), *it;
	const char *id = json_string_value(json_object_get(j, "id"));
	size_t i;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(j)) {
		snprintf(err, errlen, "the body must be a JSON object (a postable silence)");
		return -EINVAL;
	}
	if (!json_is_array(m)) {
		snprintf(err, errlen, "matchers in body is required");
		return -EINVAL;
	}
	if (id && strlen(id) >= sizeof(s->id)) {
		snprintf(err, errlen, "silence not found");
		return -ENOENT;
	}
	snprintf(s->id, sizeof(s->id), "%s", id ? id : "");
	s->m = calloc(json_array_size(m) + 1, sizeof(*s->m));
	if (!s->m)
		return -ENOMEM;
	json_array_foreach(m, i, it)
	{
		json_t *name = json_object_get(it, "name"), *value = json_object_get(it, "value");
		json_t *re = json_object_get(it, "isRegex"), *eq = json_object_get(it, "isEqual");

		if (!json_is_string(name) || !json_is_string(value) || !json_is_boolean(re) ||
		    (eq && !json_is_boolean(eq))) {
			snprintf(err, errlen,
				 "matchers.%zu: name, value (strings) and isRegex (a boolean) are "
				 "required",
				 i);
			alerting_silence_release(s);
			return -EINVAL;
		}
		s->m[s->nm].name = strdup(json_string_value(name));
		s->m[s->nm].value = strdup(json_string_value(value));
		s->m[s->nm].is_regex = json_is_true(re);
		s->m[s->nm].is_equal = !eq || json_is_true(eq);
		s->nm++;
	}
	s->created_by = strdup(json_string_value(json_object_get(j, "createdBy")) ?: "");
	s->comment = strdup(json_string_value(json_object_get(j, "comment")) ?: "");
	if (time_field(j, "startsAt", &s->starts_at_ms, true, err, errlen) ||
	    time_field(j, "endsAt", &s->ends_at_ms, true, err, errlen) ||
	    time_field(j, "updatedAt", &s->updated_at_ms, false, err, errlen)) {
		alerting_silence_release(s);
		return -EINVAL;
	}
	return 0;
}

static int silences_get(struct http_request *r, void *arg)
{
	struct alerting_int *al = arg;

	return http_reply_json(r, 200, alerting_silences_json(al->eng, wall_ms(), NULL));
}

static int silences_post(struct http_request *r, void *arg)
{
	struct alerting_int *al = arg;
	size_t len = 0;
	const char *body = http_request__body(r, &len);
	json_error_t je;
	json_t *j = body ? json_loadb(body, len, 0, &je) : NULL;
	struct silence s;
	char err[512] = "", id[64];
	int rc;

	if (!j)
		return http_reply_error(r, 400, "the body is not JSON%s%s", body ? ": " : "",
					body ? je.text : "");
	rc = alerting_silence_from_json(j, &s, err, sizeof(err));
	json_decref(j);
	if (rc)
		return rc == -ENOMEM ? rc :
				       http_reply_error(r, rc == -ENOENT ? 404 : 400, "%s", err);
	rc = alerts__silence_put(al->eng, &s, wall_ms(), id, sizeof(id), err, sizeof(err));
	alerting_silence_release(&s);
	if (rc == -ENOMEM)
		return rc;
	if (rc)
		return http_reply_error(r, rc == -ENOENT ? 404 : 400, "%s", err);
	alerting_save(al);
	return http_reply_json(r, 200, json_pack("{s:s}", "silenceID", id));
}

static int silence_one(struct http_request *r, void *arg)
{
	struct alerting_int *al = arg;
	const char *id = http_request__tail(r);
	bool del = !strcmp(http_request__method(r), "DELETE");
	json_t *arr;
	int rc;

	if (!id[0] || strchr(id, '/'))
		return http_reply_error(r, 404, "not found (/api/v1/silence/ID)");
	if (!del) {
		arr = alerting_silences_json(al->eng, wall_ms(), id);
		if (!arr)
			return -ENOMEM;
		if (!json_array_size(arr)) {
			json_decref(arr);
			return http_reply_error(r, 404, "silence %s not found", id);
		}
		json_t *one = json_incref(json_array_get(arr, 0));

		json_decref(arr);
		return http_reply_json(r, 200, one);
	}
	rc = alerts__silence_expire(al->eng, id, wall_ms());
	if (rc == -ENOENT)
		return http_reply_error(r, 404, "silence %s not found", id);
	if (rc)
		return http_reply_error(r, 400, "silence %s is already expired", id);
	alerting_save(al);
	return reply_success(r, NULL);
}

int alerting_api_register(struct alerting_int *al, struct http_server *h)
{
	static const struct {
		const char *method, *path;
		unsigned int flags;
		http_handler fn;
	} routes[] = {
		{ "GET", "/api/v1/alerts/rules", 0, rules_get },
		{ "POST", "/api/v1/alerts/rules", 0, rules_post },
		{ "PUT", "/api/v1/alerts/rules", 0, rules_put },
		{ "DELETE", "/api/v1/alerts/rules", HTTP_ROUTE_PREFIX, rules_delete },
		{ "POST", "/api/v1/alerts", HTTP_ROUTE_PREFIX, ack },
		{ "GET", "/api/v1/alerts", 0, get_alerts },
		{ "GET", "/api/v1/rules", 0, get_rules },
		{ "GET", "/api/v1/silences", 0, silences_get },
		{ "POST", "/api/v1/silences", 0, silences_post },
		{ "GET", "/api/v1/silence", HTTP_ROUTE_PREFIX, silence_one },
		{ "DELETE", "/api/v1/silence", HTTP_ROUTE_PREFIX, silence_one },
	};

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		int rc = http_server__route(h, routes[i].method, routes[i].path, routes[i].flags,
					    routes[i].fn, al);

		if (rc)
			return rc;
	}
	return 0;
}
