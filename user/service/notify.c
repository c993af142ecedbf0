// SPDX-License-Identifier: GPL-2.0
/*
 * The notify thread: one loop over a libcurl multi handle. Each turn takes the newest round of
 * notices (rounds are full snapshots, so an older one not yet taken is superseded, not lost),
 * flushes the groups that are due, starts the deliveries that are due (new ones and retries whose
 * backoff has passed), and sleeps in curl_multi_poll until the next due time or a wake-up.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "analytics/amgroup.h"
#include "analytics/ampayload.h"
#include "export/json.h"
#include "kernel/caps.h"
#include "service/http.h"
#include "service/notify.h"
#include "util/log.h"
#include "util/clock.h"

#define MAX_INFLIGHT 32
#define AM_BATCH 64 /* Prometheus' maxBatchSize */
#define BACKOFF_CAP_MS 30000

enum integ { I_WEBHOOK, I_SLACK, I_PAGERDUTY, I_EMAIL, I_ALERTMANAGER, I_NR };
static const char *const integ_names[I_NR] = { "webhook", "slack", "pagerduty", "email",
					       "alertmanager" };
enum outcome { O_SENT, O_FAILED, O_RETRIED, O_DROPPED, O_NR };
static const char *const outcome_names[O_NR] = { "sent", "failed", "retried", "dropped" };

struct job {
	enum integ integ;
	char *url; /* for SMTP: smtp[s]://host:port/hello */
	char *body;
	size_t len, off;
	struct curl_slist *hdrs, *rcpt;
	char *mail_from, *user, *pass;
	bool require_tls;
	char *receiver, *group_key;
	size_t integ_idx;
	size_t batch; /* Alertmanager targets: which batch of 64 */
	const struct am_http *http; /* the config's; NULL for email */
	int attempts, max_attempts;
	int64_t next_ms, timeout_ms;
	uint64_t log_id;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	char resp[160];
	size_t resp_len;
};

struct log_entry {
	uint64_t id; /* 0: empty slot */
	char receiver[96], integration[16], status[12], error[200];
	char *group_key;
	int attempts;
	size_t alerts;
	bool firing;
	int64_t created_ms, last_attempt_ms, done_ms;
};

struct round {
	struct alert_notice *a;
	size_t n;
	int64_t now_ms;
};

struct notify {
	const struct am_config *c;
	char *external_url;
	int64_t backoff_ms, timeout_ms;
	char host[128];
	pthread_t thread;
	bool started;
	CURLM *multi;
	struct am_dispatch *disp; /* notify thread only */

	pthread_mutex_t lock; /* everything below */
	bool stop;
	struct round inbox;
	bool has_round;
	struct job *q[NOTIFY_QUEUE];
	size_t nq;
	struct log_entry log[NOTIFY_LOG];
	uint64_t next_id;
	uint64_t *am_log; /* per target: its log entry */
	uint64_t counts[I_NR][O_NR];
	bool *am_failing;
};

/* ---- rounds: deep copies, so no label set is shared between threads ---- */

static void round_release(struct round *r)
{
	for (size_t i = 0; i < r->n; i++) {
		labels__unref((struct labels *)r->a[i].labels);
		labels__unref((struct labels *)r->a[i].annotations);
		free((char *)r->a[i].generator_url);
		free((char *)r->a[i].rule_group);
	}
	free(r->a);
	memset(r, 0, sizeof(*r));
}

static struct labels *copy_labels(const struct labels *ls)
{
	return ls ? labels__new(ls->l, ls->n) : labels__empty();
}

static int round_copy(struct round *r, const struct alert_notice *a, size_t n, int64_t t)
{
	memset(r, 0, sizeof(*r));
	r->now_ms = t;
	r->a = calloc(n + 1, sizeof(*r->a));
	if (!r->a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct alert_notice *o = &r->a[r->n];

		if (a[i].state != ALERT_FIRING && a[i].state != ALERT_RESOLVED)
			continue;
		*o = a[i];
		o->labels = copy_labels(a[i].labels);
		o->annotations = copy_labels(a[i].annotations);
		o->generator_url = strdup(a[i].generator_url ? a[i].generator_url : "");
		o->rule_group = strdup(a[i].rule_group ? a[i].rule_group : "");
		r->n++;
		if (!o->labels || !o->annotations || !o->generator_url || !o->rule_group) {
			round_release(r);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- jobs and the log ---- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->url);
	free(j->body);
	curl_slist_free_all(j->hdrs);
	curl_slist_free_all(j->rcpt);
	free(j->mail_from);
	free(j->user);
	free(j->pass);
	free(j->receiver);
	free(j->group_key);
	free(j);
}

/* Under the lock. */
static struct log_entry *log_get(struct notify *n, uint64_t id)
{
	struct log_entry *e = &n->log[id % NOTIFY_LOG];

	return id && e->id == id ? e : NULL;
}

/* Under the lock. */
static uint64_t log_new(struct notify *n, const char *receiver, enum integ integ,
			const char *group_key, size_t alerts, bool firing, const char *status)
{
	uint64_t id = ++n->next_id;
	struct log_entry *e = &n->log[id % NOTIFY_LOG];

	free(e->group_key);
	memset(e, 0, sizeof(*e));
	e->id = id;
	snprintf(e->receiver, sizeof(e->receiver), "%s", receiver);
	snprintf(e->integration, sizeof(e->integration), "%s", integ_names[integ]);
	snprintf(e->status, sizeof(e->status), "%s", status);
	e->group_key = strdup(group_key ? group_key : "");
	e->alerts = alerts;
	e->firing = firing;
	e->created_ms = wall_ms();
	return id;
}

/* Queues j (taking it). Under the lock. Drops (and says so) when the queue is full. */
static void enqueue_locked(struct notify *n, struct job *j)
{
	if (n->nq == NOTIFY_QUEUE) {
		struct log_entry *e = log_get(n, j->log_id);

		n->counts[j->integ][O_DROPPED]++;
		if (e) {
			snprintf(e->status, sizeof(e->status), "dropped");
			snprintf(e->error, sizeof(e->error), "delivery queue full (%d)",
				 NOTIFY_QUEUE);
			e->done_ms = wall_ms();
		}
		pr_warn("notify: queue full (%d deliveries): dropped a %s notification to %s",
			NOTIFY_QUEUE, integ_names[j->integ], j->receiver);
		job_free(j);
		return;
	}
	n->q[n->nq++] = j;
}

static struct job *job_new(enum integ integ, const char *receiver, const char *group_key,
			   size_t idx)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->integ = integ;
	j->receiver = strdup(receiver);
	j->group_key = strdup(group_key ? group_key : "");
	j->integ_idx = idx;
	j->max_attempts = NOTIFY_MAX_ATTEMPTS;
	if (!j->receiver || !j->group_key) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* Content-Type, and Authorization from http_config. NULL when out of memory. */
static struct curl_slist *json_headers(const struct am_http *h)
{
	struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json"), *n;

	if (l && h && h->auth_type) {
		char *a;

		if (asprintf(&a, "Authorization: %s %s", h->auth_type,
			     h->auth_credentials ? h->auth_credentials : "") < 0) {
			curl_slist_free_all(l);
			return NULL;
		}
		n = curl_slist_append(l, a);
		free(a);
		if (!n)
			curl_slist_free_all(l);
		l = n;
	}
	return l;
}

/* ---- from the collection thread ---- */

static void queue_alertmanagers(struct notify *n, const struct round *r)
{
	for (size_t off = 0; off < r->n; off += AM_BATCH) {
		size_t cnt = r->n - off < AM_BATCH ? r->n - off : AM_BATCH;
		char *body = am_v2_alerts_payload(r->a + off, cnt);

		if (!body)
			return;
		for (size_t t = 0; t < n->c->ntargets; t++) {
			struct job *j = job_new(I_ALERTMANAGER, n->c->targets[t].url, "", t);
			struct log_entry *e;

			if (!j || !(j->body = strdup(body)) ||
			    !(j->url = strdup(n->c->targets[t].url)) ||
			    !(j->hdrs = json_headers(&n->c->targets[t].http))) {
				job_free(j);
				continue;
			}
			j->len = strlen(body);
			j->max_attempts = 1; /* Prometheus does not retry: the next round resends */
			j->timeout_ms = n->c->targets[t].timeout_ms;
			j->http = &n->c->targets[t].http;
			j->next_ms = r->now_ms;
			j->batch = off / AM_BATCH;
			pthread_mutex_lock(&n->lock);
			/* A send not started yet is superseded by this round's (each round carries
			 * every alert), so a slow Alertmanager gets one send in flight and one waiting,
			 * as Prometheus' notifier. */
			for (size_t i = 0; i < n->nq; i++) {
				struct job *o = n->q[i];

				if (o->integ == I_ALERTMANAGER && o->integ_idx == t && !o->easy &&
				    o->batch == j->batch) {
					free(o->body);
					o->body = j->body;
					o->len = j->len;
					j->body = NULL;
					job_free(j);
					j = NULL;
					break;
				}
			}
			if (!j) {
				pthread_mutex_unlock(&n->lock);
				continue;
			}
			/* One log entry per target, updated every round. */
			e = log_get(n, n->am_log[t]);
			if (!e)
				n->am_log[t] = log_new(n, n->c->targets[t].url, I_ALERTMANAGER, "",
						       cnt, true, "pending");
			else
				e->alerts = cnt;
			j->log_id = n->am_log[t];
			enqueue_locked(n, j);
			pthread_mutex_unlock(&n->lock);
		}
		free(body);
	}
}

void notify__sink(void *arg, const struct alert_notice *a, size_t cnt, int64_t t)
{
	struct notify *n = arg;
	struct round r;

	if (!n || round_copy(&r, a, cnt, t)) {
		pr_warn("notify: out of memory copying %zu alerts: this round is not notified",
			cnt);
		return;
	}
	if (n->c->ntargets && r.n)
		queue_alertmanagers(n, &r);
	pthread_mutex_lock(&n->lock);
	round_release(&n->inbox);
	n->inbox = r;
	n->has_round = true;
	pthread_mutex_unlock(&n->lock);
	curl_multi_wakeup(n->multi);
}

/* ---- notifications to jobs (notify thread) ---- */

static char *hostport_url(const struct am_notifier *c)
{
	const char *colon = strrchr(c->smarthost, ':');
	bool tls465 = colon && !strcmp(colon + 1, "465");
	size_t len = strlen(c->smarthost) + strlen(c->hello ? c->hello : "") + 16;
	char *u = malloc(len);

	/* Alertmanager: port 465 is implicit TLS, any other STARTTLS when require_tls. */
	if (u)
		snprintf(u, len, "%s://%s/%s", tls465 ? "smtps" : "smtp", c->smarthost,
			 c->hello ? c->hello : "localhost");
	return u;
}

/* "a@x, B <b@y>" -> <a@x>, <b@y> */
static struct curl_slist *rcpt_list(const char *to)
{
	struct curl_slist *l = NULL;
	char *copy = strdup(to), *save = NULL;

	if (!copy)
		return NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *lt = strchr(t, '<'), *gt, buf[512];

		if (lt && (gt = strchr(lt, '>')))
			snprintf(buf, sizeof(buf), "%.*s", (int)(gt - lt + 1), lt);
		else {
			while (*t == ' ')
				t++;
			snprintf(buf, sizeof(buf), "<%s>", t);
			for (char *e = buf + strlen(buf) - 2; e > buf && *e == ' '; e--)
				e[0] = '>', e[1] = '\0';
		}
		l = curl_slist_append(l, buf);
	}
	free(copy);
	return l;
}

static void on_notification(void *arg, const struct am_notification *an)
{
	struct notify *n = arg;
	const struct am_notifier *c = an->integration;
	static const enum integ kinds[] = { [AM_WEBHOOK] = I_WEBHOOK,
					    [AM_SLACK] = I_SLACK,
					    [AM_PAGERDUTY] = I_PAGERDUTY,
					    [AM_EMAIL] = I_EMAIL };
	enum integ integ = kinds[c->kind];
	struct job *j = job_new(integ, an->receiver->name, an->group_key, an->integration_idx);
	bool ok = false;

	if (!j)
		goto out;
	j->timeout_ms = n->timeout_ms;
	j->next_ms = wall_ms();
	switch (c->kind) {
	case AM_WEBHOOK:
		j->body = am_webhook_payload(an, n->external_url);
		j->url = strdup(c->url);
		break;
	case AM_SLACK:
		j->body = am_slack_payload(an, n->external_url);
		j->url = strdup(c->api_url);
		break;
	case AM_PAGERDUTY:
		j->body = am_pagerduty_payload(an, n->external_url);
		j->url = strdup(c->url);
		break;
	case AM_EMAIL: {
		char from[512];

		j->body = am_email_message(an, n->external_url, wall_ms(), n->host);
		j->url = hostport_url(c);
		snprintf(from, sizeof(from), "<%s>", c->from);
		{
			char *lt = strchr(c->from, '<'), *gt = lt ? strchr(lt, '>') : NULL;

			if (lt && gt)
				snprintf(from, sizeof(from), "%.*s", (int)(gt - lt + 1), lt);
		}
		j->mail_from = strdup(from);
		j->rcpt = rcpt_list(c->to);
		j->require_tls = c->require_tls;
		if (c->auth_username && *c->auth_username) {
			j->user = strdup(c->auth_username);
			j->pass = strdup(c->auth_password ? c->auth_password : "");
		}
		if (!j->mail_from || !j->rcpt)
			goto out;
		break;
	}
	}
	if (!j->body || !j->url)
		goto out;
	j->len = strlen(j->body);
	if (c->kind != AM_EMAIL)
		j->http = &c->http;
	if (c->kind != AM_EMAIL && !(j->hdrs = json_headers(&c->http)))
		goto out;
	pthread_mutex_lock(&n->lock);
	j->log_id = log_new(n, an->receiver->name, integ, an->group_key, an->nalerts, an->firing,
			    "pending");
	enqueue_locked(n, j);
	pthread_mutex_unlock(&n->lock);
	j = NULL;
	ok = true;
out:
	if (!ok)
		pr_warn("notify: out of memory building a %s notification for %s",
			integ_names[integ], an->receiver->name);
	job_free(j);
}

/* ---- curl ---- */

static size_t keep_resp(char *ptr, size_t size, size_t nm, void *arg)
{
	struct job *j = arg;
	size_t len = size * nm, room = sizeof(j->resp) - 1 - j->resp_len;

	if (room) {
		size_t c = len < room ? len : room;

		memcpy(j->resp + j->resp_len, ptr, c);
		j->resp_len += c;
		j->resp[j->resp_len] = '\0';
	}
	return len;
}

static size_t read_body(char *buf, size_t size, size_t nm, void *arg)
{
	struct job *j = arg;
	size_t left = j->len - j->off, c = size * nm < left ? size * nm : left;

	memcpy(buf, j->body + j->off, c);
	j->off += c;
	return c;
}

static int start(struct notify *n, struct job *j)
{
	CURL *c = curl_easy_init();

	if (!c)
		return -ENOMEM;
	j->easy = c;
	j->off = 0;
	j->resp_len = 0;
	j->resp[0] = '\0';
	j->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, j->url);
	curl_easy_setopt(c, CURLOPT_PRIVATE, j);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)j->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(j->timeout_ms < 5000 ? j->timeout_ms : 5000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_resp);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil/notify");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
	if (j->integ == I_EMAIL) {
		/* A connection of its own, as Alertmanager: never a cleartext one left open by
		 * a receiver without require_tls. */
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(c, CURLOPT_MAIL_FROM, j->mail_from);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, j->rcpt);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(c, CURLOPT_READDATA, j);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->len);
		if (!strncmp(j->url, "smtp:", 5))
			curl_easy_setopt(c, CURLOPT_USE_SSL,
					 (long)(j->require_tls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
		if (j->user) {
			curl_easy_setopt(c, CURLOPT_USERNAME, j->user);
			curl_easy_setopt(c, CURLOPT_PASSWORD, j->pass);
		}
	} else {
		const struct am_http *h = j->http;

		if (h && h->basic_user) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERNAME, h->basic_user);
			curl_easy_setopt(c, CURLOPT_PASSWORD, h->basic_pass ? h->basic_pass : "");
		}
		if (h && h->ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
		if (h && h->cert_file) {
			curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
			curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
		}
		if (h && h->insecure_skip_verify) {
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		if (h && h->proxy_url)
			curl_easy_setopt(c, CURLOPT_PROXY, h->proxy_url);
		if (h && h->follow_redirects) {
			curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
			curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
			curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		}
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->len);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, j->hdrs);
	}
	j->attempts++;
	if (curl_multi_add_handle(n->multi, c) != CURLM_OK) {
		curl_easy_cleanup(c);
		j->easy = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void remove_job(struct notify *n, struct job *j)
{
	for (size_t i = 0; i < n->nq; i++)
		if (n->q[i] == j) {
			memmove(&n->q[i], &n->q[i + 1], (n->nq - i - 1) * sizeof(*n->q));
			n->nq--;
			return;
		}
}

/* A transfer ended. */
static void finished(struct notify *n, struct job *j, CURLcode rc)
{
	long status = 0;
	bool ok, retry;
	char err[200] = "";
	int64_t t = wall_ms();
	struct log_entry *e;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(n->multi, j->easy);
	curl_easy_cleanup(j->easy);
	j->easy = NULL;
	if (rc != CURLE_OK) {
		ok = false;
		retry = true;
		snprintf(err, sizeof(err), "%s", *j->errbuf ? j->errbuf : curl_easy_strerror(rc));
	} else if (j->integ == I_EMAIL) {
		ok = true;
		retry = false;
	} else {
		ok = status >= 200 && status < 300;
		retry = status == 429 || status >= 500;
		if (!ok) {
			size_t l = strlen(j->resp);

			while (l && (j->resp[l - 1] == '\n' || j->resp[l - 1] == '\r'))
				j->resp[--l] = '\0';
			snprintf(err, sizeof(err), "HTTP %ld%s%s", status, *j->resp ? ": " : "",
				 j->resp);
		}
	}
	pthread_mutex_lock(&n->lock);
	e = log_get(n, j->log_id);
	if (e) {
		e->attempts = j->integ == I_ALERTMANAGER ? e->attempts + 1 : j->attempts;
		e->last_attempt_ms = t;
		if (!ok)
			snprintf(e->error, sizeof(e->error), "%s", err);
	}
	if (ok) {
		n->counts[j->integ][O_SENT]++;
		if (e) {
			snprintf(e->status, sizeof(e->status), "sent");
			e->done_ms = t;
			if (j->integ == I_ALERTMANAGER)
				e->error[0] = '\0';
		}
		if (j->integ == I_ALERTMANAGER && n->am_failing[j->integ_idx]) {
			n->am_failing[j->integ_idx] = false;
			pr_info("notify: alertmanager %s works again", j->url);
		}
		remove_job(n, j);
		pthread_mutex_unlock(&n->lock);
		job_free(j);
		return;
	}
	if (retry && j->attempts < j->max_attempts) {
		int64_t d = n->backoff_ms << (j->attempts - 1);

		n->counts[j->integ][O_RETRIED]++;
		j->next_ms = t + (d < BACKOFF_CAP_MS ? d : BACKOFF_CAP_MS);
		if (e)
			snprintf(e->status, sizeof(e->status), "retrying");
		pthread_mutex_unlock(&n->lock);
		return;
	}
	n->counts[j->integ][O_FAILED]++;
	if (e) {
		snprintf(e->status, sizeof(e->status), "failed");
		e->done_ms = t;
	}
	remove_job(n, j);
	if (j->integ == I_ALERTMANAGER) {
		if (!n->am_failing[j->integ_idx])
			pr_warn("notify: alertmanager %s: %s (logged once until it works)", j->url,
				err);
		n->am_failing[j->integ_idx] = true;
	}
	pthread_mutex_unlock(&n->lock);
	if (j->integ != I_ALERTMANAGER) {
		pr_warn("notify: %s notification to receiver %s failed after %d attempt%s: %s",
			integ_names[j->integ], j->receiver, j->attempts,
			j->attempts == 1 ? "" : "s", err);
		/* Told nobody: the group's next flush sends it again. */
		am_dispatch__failed(n->disp, j->group_key, j->receiver, j->integ_idx);
	}
	job_free(j);
}

static void *loop(void *arg)
{
	struct notify *n = arg;

	/* It talks to the network and reads nothing local: no capability at all. */
	caps__drop_thread();
	for (;;) {
		struct round r = { 0 };
		bool have = false, stop;
		int64_t t, next, wait;
		int running;
		CURLMsg *m;
		int left;

		pthread_mutex_lock(&n->lock);
		stop = n->stop;
		if (n->has_round) {
			r = n->inbox;
			memset(&n->inbox, 0, sizeof(n->inbox));
			n->has_round = false;
			have = true;
		}
		pthread_mutex_unlock(&n->lock);
		if (have) {
			if (am_dispatch__update(n->disp, r.a, r.n, r.now_ms))
				pr_warn("notify: out of memory grouping alerts");
			round_release(&r);
		}
		t = wall_ms();
		next = am_dispatch__tick(n->disp, t, on_notification, n);
		/* Start what is due. */
		pthread_mutex_lock(&n->lock);
		{
			size_t inflight = 0;

			for (size_t i = 0; i < n->nq; i++)
				inflight += n->q[i]->easy != NULL;
			for (size_t i = 0; i < n->nq && inflight < MAX_INFLIGHT; i++) {
				struct job *j = n->q[i];

				if (j->easy)
					continue;
				if (j->next_ms <= t) {
					if (!start(n, j))
						inflight++;
				} else if (j->next_ms < next) {
					next = j->next_ms;
				}
			}
		}
		if (stop && !n->nq) {
			pthread_mutex_unlock(&n->lock);
			break;
		}
		pthread_mutex_unlock(&n->lock);
		curl_multi_perform(n->multi, &running);
		while ((m = curl_multi_info_read(n->multi, &left))) {
			struct job *j;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			finished(n, j, m->data.result);
		}
		if (stop)
			break;
		t = wall_ms();
		wait = next == INT64_MAX ? 1000 : next - t;
		if (wait > 1000)
			wait = 1000;
		if (wait < 0)
			wait = 0;
		curl_multi_poll(n->multi, NULL, 0, (int)wait, NULL);
	}
	return NULL;
}

struct notify *notify__new(const struct am_config *c, const struct notify_opts *o)
{
	struct notify *n = calloc(1, sizeof(*n));

	if (!n)
		goto nomem;
	pthread_mutex_init(&n->lock, NULL);
	n->c = c;
	n->backoff_ms = o && o->backoff_ms > 0 ? o->backoff_ms : 1000;
	n->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 10000;
	n->external_url = strdup(o && o->external_url ? o->external_url : "");
	n->am_log = calloc(c->ntargets + 1, sizeof(*n->am_log));
	n->am_failing = calloc(c->ntargets + 1, sizeof(*n->am_failing));
	if (gethostname(n->host, sizeof(n->host)))
		snprintf(n->host, sizeof(n->host), "localhost");
	n->host[sizeof(n->host) - 1] = '\0';
	if (!n->external_url || !n->am_log || !n->am_failing)
		goto nomem;
	/* Trailing slashes would double up in links. */
	while (*n->external_url && n->external_url[strlen(n->external_url) - 1] == '/')
		n->external_url[strlen(n->external_url) - 1] = '\0';
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(n->multi = curl_multi_init())) {
		pr_err("notify: libcurl initialization failed");
		goto fail;
	}
	n->disp = am_dispatch__new(c);
	if (!n->disp)
		goto nomem;
	if (pthread_create(&n->thread, NULL, loop, n)) {
		pr_err("notify: cannot start the notification thread");
		goto fail;
	}
	n->started = true;
	return n;
nomem:
	pr_err("notify: out of memory");
fail:
	notify__free(n);
	errno = ENOMEM;
	return NULL;
}

void notify__free(struct notify *n)
{
	if (!n)
		return;
	if (n->started) {
		int64_t deadline = wall_ms() + 2000;

		/* Let what is queued go out, for a little while. */
		for (;;) {
			size_t left;

			pthread_mutex_lock(&n->lock);
			left = n->nq;
			pthread_mutex_unlock(&n->lock);
			if (!left || wall_ms() >= deadline)
				break;
			usleep(20000);
		}
		pthread_mutex_lock(&n->lock);
		n->stop = true;
		pthread_mutex_unlock(&n->lock);
		curl_multi_wakeup(n->multi);
		pthread_join(n->thread, NULL);
	}
	for (size_t i = 0; i < n->nq; i++) {
		if (n->q[i]->easy) {
			curl_multi_remove_handle(n->multi, n->q[i]->easy);
			curl_easy_cleanup(n->q[i]->easy);
		}
		job_free(n->q[i]);
	}
	if (n->multi)
		curl_multi_cleanup(n->multi);
	am_dispatch__free(n->disp);
	round_release(&n->inbox);
	for (size_t i = 0; i < NOTIFY_LOG; i++)
		free(n->log[i].group_key);
	free(n->am_log);
	free(n->am_failing);
	free(n->external_url);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

/* ---- the log ---- */

static void kv_time(struct json *j, const char *key, int64_t ms)
{
	char t[48];

	if (!ms) {
		json__key(j, key);
		json__null(j);
		return;
	}
	am_format_time(ms, t, sizeof(t));
	json__kv_str(j, key, t);
}

char *notify__log_json(struct notify *n)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	struct json *j;
	int rc;

	if (!f)
		return NULL;
	j = json__new(f, false);
	pthread_mutex_lock(&n->lock);
	json__begin_object(j);
	json__kv_str(j, "status", "success");
	json__key(j, "data");
	json__begin_object(j);
	json__key(j, "stats");
	json__begin_object(j);
	for (int i = 0; i < I_NR; i++) {
		json__key(j, integ_names[i]);
		json__begin_object(j);
		for (int o = 0; o < O_NR; o++)
			json__kv_u64(j, outcome_names[o], n->counts[i][o]);
		json__end_object(j);
	}
	json__kv_u64(j, "queued", n->nq);
	json__end_object(j);
	json__key(j, "notifications");
	json__begin_array(j);
	for (uint64_t id = n->next_id; id > 0 && id + NOTIFY_LOG > n->next_id; id--) {
		struct log_entry *e = log_get(n, id);

		if (!e)
			continue;
		json__begin_object(j);
		json__kv_u64(j, "id", e->id);
		json__kv_str(j, "receiver", e->receiver);
		json__kv_str(j, "integration", e->integration);
		json__kv_str(j, "groupKey", e->group_key ? e->group_key : "");
		json__kv_str(j, "status", e->status);
		json__kv_bool(j, "firing", e->firing);
		json__kv_u64(j, "alerts", e->alerts);
		json__kv_i64(j, "attempts", e->attempts);
		json__kv_str(j, "lastError", e->error);
		kv_time(j, "createdAt", e->created_ms);
		kv_time(j, "lastAttemptAt", e->last_attempt_ms);
		kv_time(j, "doneAt", e->done_ms);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
	json__end_object(j);
	pthread_mutex_unlock(&n->lock);
	rc = json__finish(j);
	json__free(j);
	if (fclose(f) || rc) {
		free(s);
		return NULL;
	}
	return s;
}

void notify__metrics(struct notify *n, FILE *out)
{
	pthread_mutex_lock(&n->lock);
	fputs("# HELP vigil_notifications_total Notification deliveries by integration and outcome "
	      "(retried: attempts that will be tried again).\n"
	      "# TYPE vigil_notifications_total counter\n",
	      out);
	for (int i = 0; i < I_NR; i++)
		for (int o = 0; o < O_NR; o++)
			fprintf(out,
				"vigil_notifications_total{integration=\"%s\",outcome=\"%s\"} %llu\n",
				integ_names[i], outcome_names[o],
				(unsigned long long)n->counts[i][o]);
	pthread_mutex_unlock(&n->lock);
}

static int get_log(struct http_request *r, void *arg)
{
	char *s = notify__log_json(arg);
	int rc;

	if (!s)
		return -ENOMEM;
	rc = http_reply(r, 200, "application/json", s, strlen(s));
	free(s);
	return rc;
}

int notify__routes(struct notify *n, struct http_server *srv)
{
	return http_server__route(srv, "GET", "/api/v1/notifications", 0, get_log, n);
}
