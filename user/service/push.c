// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <snappy-c.h>

#include "kernel/caps.h"
#include "model/series.h"
#include "service/metrics.h"
#include "service/push.h"
#include "util/log.h"
#include "remote.pb-c.h"

#define QUEUE 32

enum job_kind { JOB_WRITE, JOB_PROFILE };

struct job {
	enum job_kind kind;
	void *data;
	size_t len;
	__s64 t0_ms, t1_ms;
};

struct push {
	char *rw_url, *push_url, *app;
	unsigned long hz;
	char host[64];
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct job q[QUEUE];
	int head, n;
	bool stop;
	__u64 sent, failed, dropped;
	bool rw_failing, push_failing;
};

/* ---- remote write encoding ---- */

typedef Prometheus__TimeSeries TimeSeries;
typedef Prometheus__Label Label;
typedef Prometheus__Sample Sample;

struct enc {
	TimeSeries **ts;
	size_t n, cap;
	__s64 t;
	const char *instance;
	int err;
};

static int cmp_label(const void *a, const void *b)
{
	return strcmp((*(Label *const *)a)->name, (*(Label *const *)b)->name);
}

static Label *label(const char *name, const char *value)
{
	Label *l = malloc(sizeof(*l));

	if (!l)
		return NULL;
	prometheus__label__init(l);
	l->name = strdup(name);
	l->value = strdup(value);
	if (!l->name || !l->value) {
		free(l->name);
		free(l->value);
		free(l);
		return NULL;
	}
	return l;
}

/* One series with one sample (v at t_ms); labels from pl, or from sl when pl is NULL. */
static int enc_add(struct enc *e, const char *name, const struct prom_label *pl,
		   const struct series_label *sl, size_t n, double v, __s64 t_ms)
{
	TimeSeries *ts;
	size_t nl = n + 3;

	if (e->n == e->cap) {
		size_t c = e->cap ? e->cap * 2 : 256;
		TimeSeries **t = realloc(e->ts, c * sizeof(*t));

		if (!t)
			return e->err = -ENOMEM;
		e->ts = t;
		e->cap = c;
	}
	ts = calloc(1, sizeof(*ts));
	if (!ts)
		return e->err = -ENOMEM;
	prometheus__time_series__init(ts);
	e->ts[e->n++] = ts;
	ts->labels = calloc(nl, sizeof(*ts->labels));
	ts->samples = calloc(1, sizeof(*ts->samples));
	if (!ts->labels || !ts->samples)
		return e->err = -ENOMEM;
	ts->labels[ts->n_labels++] = label("__name__", name);
	ts->labels[ts->n_labels++] = label("job", "vigil");
	ts->labels[ts->n_labels++] = label("instance", e->instance);
	for (size_t i = 0; i < n; i++)
		ts->labels[ts->n_labels++] =
			pl ? label(pl[i].name, pl[i].value) : label(sl[i].name, sl[i].value);
	for (size_t i = 0; i < ts->n_labels; i++)
		if (!ts->labels[i])
			return e->err = -ENOMEM;
	/* Prometheus wants the labels of a series sorted by name. */
	qsort(ts->labels, ts->n_labels, sizeof(*ts->labels), cmp_label);
	ts->samples[0] = malloc(sizeof(Sample));
	if (!ts->samples[0])
		return e->err = -ENOMEM;
	prometheus__sample__init(ts->samples[0]);
	ts->samples[0]->value = v;
	ts->samples[0]->timestamp = t_ms;
	ts->n_samples = 1;
	return 0;
}

static int enc_one(void *arg, const char *fam, const char *type, const char *help, const char *name,
		   const struct prom_label *pl, size_t n, double v, int first)
{
	struct enc *e = arg;

	(void)fam;
	(void)type;
	(void)help;
	(void)first;
	return enc_add(e, name, pl, NULL, n, v, e->t);
}

static void enc_release(struct enc *e)
{
	for (size_t i = 0; i < e->n; i++) {
		TimeSeries *ts = e->ts[i];

		for (size_t k = 0; ts->labels && k < ts->n_labels; k++) {
			if (!ts->labels[k])
				continue;
			free(ts->labels[k]->name);
			free(ts->labels[k]->value);
			free(ts->labels[k]);
		}
		for (size_t k = 0; ts->samples && k < ts->n_samples; k++)
			free(ts->samples[k]);
		free(ts->labels);
		free(ts->samples);
		free(ts);
	}
	free(e->ts);
}

int push_encode_series(const struct metrics *m, __s64 t_ms, const char *instance,
		       const struct push_end *ends, size_t nends, void **buf, size_t *len)
{
	struct enc e = { .t = t_ms, .instance = instance };
	Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
	double stale = series_end_value(); /* Prometheus' value.StaleNaN, bit for bit */
	int err;

	/* Ends first: a series that ended and starts again in the same payload stays in order. */
	for (size_t i = 0; i < nends && !e.err; i++)
		enc_add(&e, ends[i].name, NULL, ends[i].l, ends[i].n, stale, ends[i].t_ms);
	if (m && !e.err)
		metrics__each(m, enc_one, &e);
	err = e.err;
	if (!err) {
		wr.n_timeseries = e.n;
		wr.timeseries = e.ts;
		*len = prometheus__write_request__get_packed_size(&wr);
		*buf = malloc(*len ? *len : 1);
		if (!*buf)
			err = -ENOMEM;
		else
			prometheus__write_request__pack(&wr, *buf);
	}
	enc_release(&e);
	return err;
}

/* ---- the queue and the sender ---- */

static void enqueue(struct push *p, struct job j)
{
	pthread_mutex_lock(&p->lock);
	if (p->n == QUEUE) {
		/* The oldest payload goes: the newest series supersede it anyway. */
		struct job *old = &p->q[p->head];

		free(old->data);
		p->head = (p->head + 1) % QUEUE;
		p->n--;
		if (!p->dropped++)
			pr_warn("push: the endpoint is too slow; dropping the oldest queued "
				"payloads (counted in vigil_lost_events_total)");
	}
	p->q[(p->head + p->n) % QUEUE] = j;
	p->n++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

void push__series(struct push *p, const struct metrics *m, __s64 t_ms, const struct push_end *ends,
		  size_t nends)
{
	void *raw = NULL, *comp;
	size_t len = 0, clen;

	if (!p || !p->rw_url || (!m && !nends) ||
	    push_encode_series(m, t_ms, p->host, ends, nends, &raw, &len))
		return;
	clen = snappy_max_compressed_length(len);
	comp = malloc(clen);
	if (comp && snappy_compress(raw, len, comp, &clen) == SNAPPY_OK)
		enqueue(p, (struct job){ JOB_WRITE, comp, clen, t_ms, t_ms });
	else
		free(comp);
	free(raw);
}

void push__profile(struct push *p, const void *blob, size_t len, __s64 t0_ms, __s64 t1_ms)
{
	void *copy;

	if (!p || !p->push_url)
		return;
	copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, blob, len);
	enqueue(p, (struct job){ JOB_PROFILE, copy, len, t0_ms, t1_ms });
}

static size_t discard(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

/* One POST; returns the HTTP status, or -1 when the request did not complete. */
static long post(CURL *c, const char *url, struct curl_slist *hdrs, const void *data, size_t len,
		 char *err, size_t errlen)
{
	long status = -1;
	CURLcode rc;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil/serve");
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
	return status;
}

static void send_job(struct push *p, CURL *c, struct job *j)
{
	struct curl_slist *h = NULL;
	char url[2048], err[256] = "", what[32];
	bool *failing;
	long st;

	if (j->kind == JOB_WRITE) {
		h = curl_slist_append(h, "Content-Encoding: snappy");
		h = curl_slist_append(h, "Content-Type: application/x-protobuf");
		h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
		snprintf(url, sizeof(url), "%s", p->rw_url);
		snprintf(what, sizeof(what), "remote write");
		failing = &p->rw_failing;
	} else {
		char *app = curl_easy_escape(c, p->app, 0), *host = curl_easy_escape(c, p->host, 0);

		h = curl_slist_append(h, "Content-Type: application/octet-stream");
		snprintf(url, sizeof(url),
			 "%s/ingest?name=%s%%7Bhost%%3D%s%%7D&from=%lld&until=%lld&format=pprof"
			 "&sampleRate=%lu&spyName=vigil&units=samples&aggregationType=sum",
			 p->push_url, app ? app : "vigil.cpu", host ? host : "localhost",
			 (long long)(j->t0_ms / 1000), (long long)((j->t1_ms + 999) / 1000), p->hz);
		curl_free(app);
		curl_free(host);
		snprintf(what, sizeof(what), "profile push");
		failing = &p->push_failing;
	}
	st = post(c, url, h, j->data, j->len, err, sizeof(err));
	/* One retry for what may pass on a second try (5xx, connection trouble). */
	if (st < 0 || st >= 500) {
		sleep(1);
		st = post(c, url, h, j->data, j->len, err, sizeof(err));
	}
	curl_slist_free_all(h);
	pthread_mutex_lock(&p->lock);
	if (st >= 200 && st < 300) {
		p->sent++;
		if (*failing)
			pr_info("%s to %s works again", what, url);
		*failing = false;
	} else {
		p->failed++;
		if (!*failing && st < 0)
			pr_warn("%s to %s failed: %s (logged once until it works)", what,
				j->kind == JOB_WRITE ? p->rw_url : p->push_url, err);
		else if (!*failing)
			pr_warn("%s to %s failed: HTTP status %ld (logged once until it works)",
				what, j->kind == JOB_WRITE ? p->rw_url : p->push_url, st);
		*failing = true;
	}
	pthread_mutex_unlock(&p->lock);
}

static void *sender(void *arg)
{
	struct push *p = arg;
	CURL *c;

	/* It talks to the network and reads nothing local: no capability at all. */
	caps__drop_thread();
	c = curl_easy_init();

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct job j;

		while (!p->n && !p->stop)
			pthread_cond_wait(&p->cv, &p->lock);
		if (!p->n)
			break;
		j = p->q[p->head];
		p->head = (p->head + 1) % QUEUE;
		p->n--;
		pthread_mutex_unlock(&p->lock);
		if (c)
			send_job(p, c, &j);
		free(j.data);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	curl_easy_cleanup(c);
	return NULL;
}

struct push *push__new(const char *remote_write_url, const char *push_url, const char *app,
		       unsigned long sample_hz)
{
	struct push *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->hz = sample_hz;
	if (gethostname(p->host, sizeof(p->host)))
		snprintf(p->host, sizeof(p->host), "localhost");
	p->host[sizeof(p->host) - 1] = '\0';
	if ((remote_write_url && !(p->rw_url = strdup(remote_write_url))) ||
	    (push_url && !(p->push_url = strdup(push_url))) ||
	    !(p->app = strdup(app ? app : "vigil.cpu")))
		goto fail;
	/* A trailing slash on the push base would double up before "ingest". */
	if (p->push_url && *p->push_url && p->push_url[strlen(p->push_url) - 1] == '/')
		p->push_url[strlen(p->push_url) - 1] = '\0';
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		pr_err("push: libcurl initialization failed");
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, sender, p)) {
		pr_err("push: cannot start the push thread");
		goto fail;
	}
	p->started = true;
	return p;
fail:
	push__free(p);
	errno = ENOMEM;
	return NULL;
}

void push__free(struct push *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	for (int i = 0; i < p->n; i++)
		free(p->q[(p->head + i) % QUEUE].data);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->lock);
	free(p->rw_url);
	free(p->push_url);
	free(p->app);
	free(p);
}

void push__stats(struct push *p, __u64 *sent, __u64 *failed, __u64 *dropped)
{
	pthread_mutex_lock(&p->lock);
	*sent = p->sent;
	*failed = p->failed;
	*dropped = p->dropped;
	pthread_mutex_unlock(&p->lock);
}
