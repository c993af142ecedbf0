// SPDX-License-Identifier: GPL-2.0
/*
 * The service's life: collectors attached once, a 1-second tick that drains the CPU sampler, an
 * interval that stores everything, and the shared state the HTTP threads read (under one mutex).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "collect/cpu.h"
#include "collect/latency.h"
#include "collect/offcpu.h"
#include "collect/procstat.h"
#include "collect/runner.h"
#include "vigil/unwind.h"
#include "collect/sideband.h"
#include "export/export.h"
#include "kernel/attach.h"
#include "kernel/features.h"
#include "model/hashmap.h"
#include "model/profile.h"
#include "symbols/symbolizer.h"
#include "service/alerting.h"
#include "service/config.h"
#include "service/notify.h"
#include "service/api.h"
#include "service/http.h"
#include "service/insights.h"
#include "service/metrics.h"
#include "service/push.h"
#include "service/query.h"
#include "service/sla.h"
#include "analytics/slo.h"
#include "service/service.h"
#include "service/store.h"
#include "util/log.h"
#include "vigil/offcpu.h"

#define MAX_PROFILE_BYTES (256u << 20) /* a stored profile inflates to at most this */
#define EVENTS 16 /* server-sent events kept for slow readers */
#define MAX_HOOKS 8
/* Stored profiles: threads into their process, one frame per named function (a tenth of the size
 * of per-address stacks on a busy host; go tool pprof still names every function). */
#define STORE_MERGE (PROFILE_MERGE_DROP_TID | PROFILE_MERGE_BY_FUNCTION)

struct live {
	struct profile *p;
	double until; /* monotonic */
	bool done;
	struct live *next;
};

struct hook {
	void (*fn)(void *arg, __s64 t_ms);
	void *arg;
};

struct service {
	struct service_opts o;
	struct store *store;
	struct http_server *http;
	struct push *push;
	struct runner run;
	struct cpu_collector *cpu;
	struct offcpu_collector *off;
	struct lat_collector *lat[3];
	struct metrics *metrics;
	struct hook hooks[MAX_HOOKS];
	int nhooks;
	struct query_api *query; /* /api/v1/query and the rest of Prometheus' query API */
	struct insights *insights; /* anomalies, capacity, incidents, profile diffs */
	struct sla_api *sla; /* /api/v1/sla, /api/v1/sla/reports */
	struct alerting *alerting; /* rules, alerts, silences (service/alerting.h) */
	struct notify *notify; /* receivers and Alertmanagers (service/notify.h) */

	/* collection thread only */
	struct profile *acc; /* this interval's CPU samples */
	__s64 t0_ms; /* the interval's start */
	double t_next; /* monotonic end of the interval */
	double intervals;
	struct hashmap *cgroups; /* pid -> malloc'd cgroup path, refreshed each interval */
	__u64 side_lost_prev; /* side-band records lost, as of the last interval */

	/* shared with the HTTP threads */
	pthread_mutex_t lock;
	pthread_cond_t cv; /* live profiles done, new events, stop */
	char *metrics_text;
	size_t metrics_len;
	struct live *live;
	char *events[EVENTS];
	__u64 event_seq; /* number of events published */
	bool attached, stopping;
};

static const char *const lat_names[] = { "syscall", "runq", "bio" };
static const enum lat_kind lat_kinds[] = { LAT_SYSCALL, LAT_RUNQ, LAT_BIO };

static const struct profile_meta cpu_meta = {
	.count_type = "samples",
	.count_unit = "count",
	.value_type = "cpu",
	.value_unit = "nanoseconds",
	.weight_unit = "samples",
};

static const struct profile_meta off_meta = {
	.count_type = "events",
	.count_unit = "count",
	.value_type = "off-cpu",
	.value_unit = "nanoseconds",
	.weight_unit = "us",
	.weight_div = 1000,
};

static __s64 now_ms(void)
{
	return (__s64)(realtime_ns() / 1000000ull);
}

const struct profile_meta *service_meta(const char *kind)
{
	return !strcmp(kind, "offcpu") ? &off_meta : &cpu_meta;
}

/* ---- cgroups and the per-second drain ---- */

static const char *cgroup_of(struct service *s, __u32 pid)
{
	uintptr_t v;
	char buf[512];
	char *copy;

	if (!pid)
		return "";
	if (hashmap__get(s->cgroups, (const void *)(uintptr_t)pid, &v))
		return (const char *)v;
	if (procstat_cgroup((pid_t)pid, buf, sizeof(buf)))
		buf[0] = '\0';
	copy = strdup(buf);
	if (!copy || hashmap__set(s->cgroups, (const void *)(uintptr_t)pid, (uintptr_t)copy)) {
		free(copy);
		return "";
	}
	return copy;
}

static int free_cgroup(const void *k, uintptr_t v, void *arg)
{
	(void)k;
	(void)arg;
	free((void *)v);
	return 0;
}

static void cgroups_reset(struct service *s)
{
	hashmap__for_each(s->cgroups, free_cgroup, NULL);
	hashmap__free(s->cgroups);
	s->cgroups = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
}

/* Label each stack with its process's cgroup (read while the process is alive). */
static void label_cgroups(struct service *s, struct profile *p)
{
	for (size_t i = 0; i < profile__nr_stacks(p); i++)
		profile__set_cgroup(p, i, cgroup_of(s, profile__stack(p, i)->pid));
}

static void losses(struct service *s, const char *collector, const __u64 cnt[VG_CNT_NR])
{
	__u64 c[VG_CNT_NR];

	memcpy(c, cnt, sizeof(c));
	metrics__add_losses(s->metrics, collector, c);
}

static int drain_cpu(struct service *s)
{
	__u64 cnt[VG_CNT_NR] = { 0 };
	struct profile *p =
		cpu_collector__read(s->cpu, s->run.sym, &cpu_meta, COLLECT_INTERVAL, cnt);
	double now = mono_s();
	struct live *l;
	int err;

	if (!p)
		return -errno;
	/* cgroup labels first: merges copy them. */
	label_cgroups(s, p);
	metrics__add_cpu(s->metrics, p);
	losses(s, "cpu", cnt);
	err = profile__merge(s->acc, p, NULL, NULL, STORE_MERGE);
	pthread_mutex_lock(&s->lock);
	for (l = s->live; l; l = l->next) {
		if (l->done)
			continue;
		if (!err)
			err = profile__merge(l->p, p, NULL, NULL, PROFILE_MERGE_DROP_TID);
		if (now >= l->until) {
			l->done = true;
			pthread_cond_broadcast(&s->cv);
		}
	}
	pthread_mutex_unlock(&s->lock);
	profile__free(p);
	return err;
}

/* ---- the interval ---- */

static int to_pprof(const struct profile *p, void **blob, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);
	int err;

	if (!m)
		return -errno;
	err = export_pprof(p, m, &(struct export_opts){ 0 });
	if (fclose(m) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		return err;
	}
	*blob = buf;
	return 0;
}

/* The store's merge callback: blobs of one kind into one blob. */
static int merge_blobs(void *arg, const char *kind, const void *const *blobs, const size_t *lens,
		       size_t n, void **out, size_t *out_len)
{
	struct profile *m = profile__new(service_meta(kind));
	__u64 t0 = UINT64_MAX, t1 = 0;
	int err = m ? 0 : -ENOMEM;

	(void)arg;
	for (size_t i = 0; i < n && !err; i++) {
		struct profile *p =
			export_pprof_read(blobs[i], lens[i], MAX_PROFILE_BYTES, service_meta(kind));
		const struct profile_meta *pm;

		if (!p) {
			/* An unreadable blob is dropped with the merge, not kept forever. */
			pr_warn("store: dropping an unreadable %s profile while downsampling",
				kind);
			continue;
		}
		pm = profile__meta(p);
		if (pm->start_ns < t0)
			t0 = pm->start_ns;
		if (pm->start_ns + pm->duration_ns > t1)
			t1 = pm->start_ns + pm->duration_ns;
		err = profile__merge(m, p, NULL, NULL, STORE_MERGE);
		profile__free(p);
	}
	if (!err) {
		profile__set_span(m, t0 == UINT64_MAX ? 0 : t0, t1 > t0 ? t1 - t0 : 0);
		err = to_pprof(m, out, out_len);
	}
	profile__free(m);
	return err;
}

struct store_walk {
	struct series_store st;
	__s64 t;
	int err;
};

static int store_one(void *arg, const char *fam, const char *type, const char *help,
		     const char *name, const struct prom_label *l, size_t n, double v, int first)
{
	struct store_walk *w = arg;
	struct series_label sl[8];

	(void)fam;
	(void)help;
	(void)first;
	for (size_t i = 0; i < n && i < 8; i++)
		sl[i] = (struct series_label){ (char *)l[i].name, (char *)l[i].value };
	w->err = w->st.ops->append(w->st.ctx, name, sl, n < 8 ? n : 8,
				   !strcmp(type, "gauge") ? "gauge" : "counter", w->t, v);
	return w->err;
}

/* Series that ended (store__end_unreported, store__end_last_run), kept for remote write's
 * staleness markers. */
struct ended {
	struct push_end *v;
	size_t n, cap;
};

static void ended_release(struct ended *e)
{
	for (size_t i = 0; i < e->n; i++) {
		for (size_t k = 0; k < e->v[i].n; k++) {
			free(e->v[i].l[k].name);
			free(e->v[i].l[k].value);
		}
		free((void *)e->v[i].l);
		free((void *)e->v[i].name);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* store_end_fn: a copy of the ended series (a marker lost to ENOMEM only delays nothing else). */
static void add_ended(void *arg, const char *name, const struct series_label *l, size_t n,
		      __s64 t_ms)
{
	struct ended *e = arg;
	struct series_label *copy = calloc(n ? n : 1, sizeof(*copy));
	char *nm = strdup(name);
	bool ok = copy && nm;

	for (size_t i = 0; ok && i < n; i++) {
		copy[i].name = strdup(l[i].name);
		copy[i].value = strdup(l[i].value);
		ok = copy[i].name && copy[i].value;
	}
	if (ok && e->n == e->cap) {
		size_t c = e->cap ? e->cap * 2 : 16;
		struct push_end *nv = realloc(e->v, c * sizeof(*nv));

		ok = nv != NULL;
		if (nv) {
			e->v = nv;
			e->cap = c;
		}
	}
	if (!ok) {
		for (size_t i = 0; copy && i < n; i++) {
			free(copy[i].name);
			free(copy[i].value);
		}
		free(copy);
		free(nm);
		return;
	}
	e->v[e->n++] = (struct push_end){ .name = nm, .l = copy, .n = n, .t_ms = t_ms };
}

static void bpf_cost(struct bpf_object *obj, double *secs, __u64 *runs)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
	{
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		*secs += info.run_time_ns / 1e9;
		*runs += info.run_cnt;
	}
}

struct top_fn {
	const char *name;
	__u64 w;
};

static int cmp_top(const void *a, const void *b)
{
	const struct top_fn *x = a, *y = b;

	return x->w != y->w ? (x->w > y->w ? -1 : 1) : strcmp(x->name, y->name);
}

static void add_cpu_json(void *arg, const char *comm, double sec)
{
	json_object_set_new(arg, comm, json_real(sec));
}

/* The stream's event: interval, CPU by process, top functions by self time, store state. */
static char *interval_event(struct service *s, __s64 t0, __s64 t1)
{
	struct hashmap *idx = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	struct top_fn *tops = NULL;
	size_t ntops = 0, cap = 0;
	__u64 total = 0;
	json_t *ev = json_object(), *cpu = json_object(), *fns = json_array();
	char *txt = NULL;

	if (!idx || !ev || !cpu || !fns)
		goto out;
	for (size_t i = 0; i < profile__nr_stacks(s->acc); i++) {
		const struct profile_stack *st = profile__stack(s->acc, i);
		const struct profile_frame *f =
			st->nframes ? profile__frame(s->acc, st->frames[st->nframes - 1]) : NULL;
		uintptr_t v;

		total += st->count;
		if (!f)
			continue;
		if (!hashmap__get(idx, f->name, &v)) {
			if (ntops == cap) {
				size_t c = cap ? cap * 2 : 64;
				struct top_fn *t = realloc(tops, c * sizeof(*t));

				if (!t)
					goto out;
				tops = t;
				cap = c;
			}
			tops[ntops] = (struct top_fn){ f->name, 0 };
			if (hashmap__set(idx, f->name, ntops))
				goto out;
			v = ntops++;
		}
		tops[v].w += st->count;
	}
	if (ntops > 1)
		qsort(tops, ntops, sizeof(*tops), cmp_top);
	for (size_t i = 0; i < ntops && i < 10; i++)
		json_array_append_new(fns, json_pack("{s:s,s:I,s:f}", "name", tops[i].name,
						     "samples", (json_int_t)tops[i].w, "self_pct",
						     total ? 100.0 * tops[i].w / total : 0.0));
	metrics__interval_cpu(s->metrics, add_cpu_json, cpu);
	json_object_set_new(ev, "from", json_integer(t0 / 1000));
	json_object_set_new(ev, "to", json_integer(t1 / 1000));
	json_object_set_new(ev, "samples", json_integer((json_int_t)total));
	json_object_set_new(ev, "cpu_seconds", cpu);
	json_object_set_new(ev, "top_functions", fns);
	json_object_set_new(ev, "store_writable", json_boolean(store__writable(s->store)));
	cpu = fns = NULL;
	txt = json_dumps(ev, JSON_COMPACT);
out:
	json_decref(ev);
	json_decref(cpu);
	json_decref(fns);
	hashmap__free(idx);
	free(tops);
	return txt;
}

static void publish(struct service *s, char *ev)
{
	if (!ev)
		return;
	pthread_mutex_lock(&s->lock);
	free(s->events[s->event_seq % EVENTS]);
	s->events[s->event_seq % EVENTS] = ev;
	s->event_seq++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
}

/* Links in notifications point here: the listen address, or this host's name when it listens on
 * every address. */
static void external_url(const struct service *s, char *buf, size_t len)
{
	const char *l = s->o.listen ? s->o.listen : "127.0.0.1:7470";
	const char *colon = strrchr(l, ':');
	char host[256];

	if (colon && (colon == l || !strncmp(l, "0.0.0.0:", 8) || !strncmp(l, "[::]:", 5))) {
		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(buf, len, "%s%s%s", s->o.tls_cert_pem ? "https://" : "http://", host,
			 colon);
	} else {
		snprintf(buf, len, "%s%s", s->o.tls_cert_pem ? "https://" : "http://", l);
	}
}

/* Notifications (service/notify.h) for the configuration's receivers and Alertmanagers; without
 * any the delivery log is served, empty. */
static int start_notify(struct service *s)
{
	static const struct am_config none;
	const struct am_config *c = s->o.config ? &s->o.config->am : &none;
	char url[512];
	struct notify_opts no = { .external_url = url };
	int err;

	external_url(s, url, sizeof(url));
	s->notify = notify__new(c, &no);
	if (!s->notify)
		return -errno;
	err = notify__routes(s->notify, s->http);
	if (!err && (c->has_route || c->ntargets))
		err = alerts__add_sink(alerting__engine(s->alerting), notify__sink, s->notify);
	return err;
}

static void render_metrics(struct service *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	metrics__render(s->metrics, m);
	if (s->notify)
		notify__metrics(s->notify, m);
	if (fclose(m)) {
		free(buf);
		return;
	}
	pthread_mutex_lock(&s->lock);
	free(s->metrics_text);
	s->metrics_text = buf;
	s->metrics_len = len;
	pthread_mutex_unlock(&s->lock);
}

static void agent_stats(struct service *s)
{
	struct agent_stats a = { .store_writable = store__writable(s->store),
				 .store_bytes = store__bytes(s->store),
				 .intervals = s->intervals };

	struct symbolizer_stats st;

	symbolizer__stats(s->run.sym, &st);
	a.sym_procs = st.procs;
	a.sym_table_bytes = st.table_bytes;
	procstat_self(&a.cpu_seconds, &a.rss_bytes);
	if (s->cpu)
		bpf_cost(cpu_collector__object(s->cpu), &a.bpf_run_seconds, &a.bpf_run_count);
	if (s->off)
		bpf_cost(offcpu_collector__object(s->off), &a.bpf_run_seconds, &a.bpf_run_count);
	for (int i = 0; i < 3; i++)
		if (s->lat[i])
			bpf_cost(lat_collector__object(s->lat[i]), &a.bpf_run_seconds,
				 &a.bpf_run_count);
	metrics__set_agent(s->metrics, &a);
}

static int close_interval(struct service *s, bool last)
{
	__s64 t1 = now_ms();
	__u64 cnt[VG_CNT_NR];
	void *cpu_blob = NULL, *off_blob = NULL;
	size_t cpu_len = 0, off_len = 0;
	struct profile *off = NULL;
	struct proc_rss *rss = NULL;
	long nrss;
	struct ended ended = { 0 };
	int err;

	(void)last;
	profile__set_span(s->acc, (__u64)s->t0_ms * 1000000ull,
			  (__u64)(t1 - s->t0_ms) * 1000000ull);
	if (s->off) {
		memset(cnt, 0, sizeof(cnt));
		off = offcpu_collector__read(s->off, s->run.sym, &off_meta, COLLECT_INTERVAL, cnt);
		if (off) {
			label_cgroups(s, off);
			profile__set_span(off, (__u64)s->t0_ms * 1000000ull,
					  (__u64)(t1 - s->t0_ms) * 1000000ull);
			losses(s, "offcpu", cnt);
		}
	}
	for (int i = 0; i < 3; i++) {
		struct hist_entry *e;
		size_t n;

		if (!s->lat[i])
			continue;
		memset(cnt, 0, sizeof(cnt));
		if (!lat_collector__read(s->lat[i], COLLECT_INTERVAL, &e, &n, cnt)) {
			metrics__add_latency(s->metrics, lat_names[i], e, n);
			losses(s, lat_names[i], cnt);
		}
	}
	if (s->run.sb) {
		__u64 side[VG_CNT_NR] = { 0 }, now = sideband__lost(s->run.sb);

		/* mapping records lost: the side-band counts since start */
		side[VG_CNT_RINGBUF_FULL] = now - s->side_lost_prev;
		s->side_lost_prev = now;
		losses(s, "sideband", side);
	}
	/* Every sample of the interval is read (CPU drained each second, off-CPU just now): what
	 * exited before the previous interval's close can go. */
	symbolizer__forget_exited(s->run.sym);
	nrss = procstat_rss_by_comm(&rss);
	if (nrss >= 0) {
		metrics__set_rss(s->metrics, rss, (size_t)nrss);
		free(rss);
	}
	s->intervals++;
	agent_stats(s);

	/* one transaction: the interval's profiles and points, and the ends of the series the
	 * previous interval reported and this one did not (Prometheus' staleness on a missed
	 * scrape: /metrics no longer has them either) */
	err = to_pprof(s->acc, &cpu_blob, &cpu_len);
	if (!err && off)
		err = to_pprof(off, &off_blob, &off_len);
	if (!err && !store__begin(s->store)) {
		struct store_walk w = { .st = store__reported(s->store), .t = t1 };
		int rc = store__put_profile(s->store, "cpu", s->t0_ms, t1, (int)s->o.interval_s,
					    cpu_blob, cpu_len);

		if (!rc && off_blob)
			rc = store__put_profile(s->store, "offcpu", s->t0_ms, t1,
						(int)s->o.interval_s, off_blob, off_len);
		if (!rc)
			rc = metrics__each(s->metrics, store_one, &w);
		/* only after a complete walk: a series it did not reach would end */
		if (!rc)
			store__end_unreported(s->store, t1, s->push ? add_ended : NULL, &ended);
		store__commit(s->store);
		store__maintain(s->store, t1,
				&(struct store_policy){ s->o.retention_s, s->o.downsample_age1_s,
							s->o.downsample_res1_s,
							s->o.downsample_age2_s,
							s->o.downsample_res2_s },
				merge_blobs, s);
	}
	if (s->push) {
		push__series(s->push, s->metrics, t1, ended.v, ended.n);
		if (cpu_blob)
			push__profile(s->push, cpu_blob, cpu_len, s->t0_ms, t1);
	}
	render_metrics(s);
	publish(s, interval_event(s, s->t0_ms, t1));
	for (int i = 0; i < s->nhooks; i++)
		s->hooks[i].fn(s->hooks[i].arg, t1);
	metrics__close_interval(s->metrics);

	ended_release(&ended);
	free(cpu_blob);
	free(off_blob);
	profile__free(off);
	profile__free(s->acc);
	s->acc = profile__new(&cpu_meta);
	cgroups_reset(s);
	s->t0_ms = t1;
	s->t_next += s->o.interval_s;
	return s->acc && s->cgroups ? 0 : -ENOMEM;
}

static int on_tick(void *ctx)
{
	struct service *s = ctx;
	int err;

	/* This tick replaces the runner's: do the unwinder's periodic work here. */
	runner__unwind_tick(&s->run);
	err = drain_cpu(s);

	if (err)
		pr_warn("reading the CPU samples failed: %s", strerror(-err));
	if (mono_s() >= s->t_next - 0.05)
		err = close_interval(s, false);
	return err == -ENOMEM ? err : 0;
}

/* ---- lifecycle ---- */

struct service *service__new(const struct service_opts *o)
{
	struct service *s = calloc(1, sizeof(*s));
	struct runner_opts ro = {
		.symbols = true,
		.kernel_symbols = true,
		.unwind_mode = o->unwind_mode,
	};
	enum tp_attach tpa;
	int err = -EINVAL;

	if (!s)
		return NULL;
	s->o = *o;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->metrics = metrics__new(o->top_n);
	s->acc = profile__new(&cpu_meta);
	s->cgroups = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	if (!s->metrics || !s->acc || !s->cgroups) {
		err = -ENOMEM;
		goto fail;
	}
	s->store = store__open(o->data_dir);
	if (!s->store) {
		err = -errno;
		goto fail;
	}
	if (runner__init(&s->run, "serve", &ro)) {
		err = -EIO;
		goto fail;
	}
	if (o->remote_write_url || o->push_url) {
		s->push = push__new(o->remote_write_url, o->push_url, o->push_app, o->profile_hz);
		if (!s->push) {
			err = -errno;
			goto fail;
		}
	}
	{
		/* What the last run reported at its last interval ends where a scraper would have
		 * found it gone (a kill -9 wrote no end); remote write gets the same markers. Before
		 * the HTTP server starts: no query sees the last run's series alive; after runner__init,
		 * which blocks the signals it waits for: push's thread must inherit that mask. */
		struct ended ended = { 0 };

		if (store__end_last_run(s->store, now_ms(), (__s64)(o->interval_s * 1000 + 0.5),
					s->push ? add_ended : NULL, &ended))
			pr_warn("store: the last run's series were not ended (they linger up to "
				"the query lookback)");
		push__series(s->push, NULL, 0, ended.v, ended.n);
		ended_release(&ended);
	}
	tpa = features__tp_attach();
	s->cpu = cpu_collector__new(&(struct cpu_collector_opts){
		.freq = o->profile_hz,
		.event = SAMPLE_CPU_CLOCK,
		.user_stacks = true,
		.kernel_stacks = true,
		.unwind_mode = o->unwind_mode,
		.stack_storage = o->stack_storage,
		.attach = tpa,
	});
	if (!s->cpu) {
		err = -errno;
		goto fail;
	}
	if (o->offcpu) {
		s->off = offcpu_collector__new(&(struct offcpu_collector_opts){
			.min_ns = 1,
			.state = VG_STATE_ANY,
			.user_stacks = true,
			.kernel_stacks = true,
			/* The runner loads one object's unwind tables (the CPU profile's): off-CPU
			 * stacks walk by frame pointers here until the collectors share them. */
			.unwind_mode = o->unwind_mode == VG_UNWIND_KERNEL ? VG_UNWIND_KERNEL :
									    VG_UNWIND_FP,
			.stack_storage = o->stack_storage,
			.attach = tpa,
		});
		if (!s->off) {
			err = -errno;
			goto fail;
		}
	}
	for (int i = 0; o->latency && i < 3; i++) {
		s->lat[i] = lat_collector__new(&(struct lat_collector_opts){
			.kind = lat_kinds[i],
			.attach = tpa,
		});
		if (!s->lat[i]) {
			err = -errno;
			goto fail;
		}
	}
	if (runner__spawn(&s->run, cpu_collector__object(s->cpu), cpu_collector__exec_progs(s->cpu),
			  tpa) ||
	    runner__track(&s->run, cpu_collector__notices(s->cpu)) ||
	    runner__unwind(&s->run, cpu_collector__object(s->cpu), NULL, 0)) {
		err = -EIO;
		goto fail;
	}
	s->http = http_server__new(&(struct http_server_opts){
		.listen = o->listen,
		.token = o->token,
		.tls_cert_pem = o->tls_cert_pem,
		.tls_key_pem = o->tls_key_pem,
	});
	if (!s->http) {
		err = -errno;
		goto fail;
	}
	err = api__register(s, s->http);
	if (err)
		goto fail;
	s->query = query_api__new(s, s->http);
	if (!s->query) {
		err = -errno;
		goto fail;
	}
	s->alerting = alerting__new(s, s->http, o->config);
	if (!s->alerting) {
		err = -errno;
		goto fail;
	}
	s->insights = insights__new(s, s->http, o->watch, o->incidents);
	if (!s->insights) {
		err = -errno;
		goto fail;
	}
	s->sla = sla_api__new(s, s->http, o->slos ? o->slos : &(struct slo_set){ 0 });
	if (!s->sla) {
		err = -errno;
		goto fail;
	}
	err = start_notify(s);
	if (err)
		goto fail;
	/* incidents correlate the alerts */
	err = alerts__add_sink(alerting__engine(s->alerting), insights__alert_sink, s->insights);
	if (err)
		goto fail;
	render_metrics(s);
	return s;
fail:
	service__free(s);
	errno = -err;
	return NULL;
}

int service__run(struct service *s)
{
	char what[256];
	int err;

	err = cpu_collector__attach(s->cpu);
	for (int i = 0; !err && i < 3; i++)
		if (s->lat[i])
			err = lat_collector__attach(s->lat[i]);
	if (!err && s->off)
		err = offcpu_collector__attach(s->off);
	if (err)
		return err == -EACCES || err == -EPERM ? 2 : 1;
	s->t0_ms = now_ms();
	s->t_next = mono_s() + s->o.interval_s;
	if (session__set_tick(s->run.sess, 1.0, on_tick, s)) {
		pr_err("setting up the collection timer failed");
		return 1;
	}
	pthread_mutex_lock(&s->lock);
	s->attached = true;
	pthread_mutex_unlock(&s->lock);
	snprintf(what, sizeof(what),
		 "serving on %s%s (data in %s, %g s intervals; CPU at %lu Hz on %d CPUs%s%s)",
		 s->o.tls_cert_pem ? "https://" : "http://", s->o.listen, store__path(s->store),
		 s->o.interval_s, s->o.profile_hz, cpu_collector__nr_cpus(s->cpu),
		 s->o.offcpu ? ", off-CPU" : "", s->o.latency ? ", syscall/runq/bio latency" : "");
	if (runner__start(&s->run, what))
		return 1;
	runner__run(&s->run);
	/* The partial interval is stored too: a clean stop loses nothing. */
	drain_cpu(s);
	close_interval(s, true);
	return 0;
}

void service__free(struct service *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	s->attached = false;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	http_server__free(s->http);
	query_api__free(s->query);
	alerting__free(s->alerting);
	insights__free(s->insights);
	sla_api__free(s->sla);
	notify__free(s->notify);
	push__free(s->push);
	cpu_collector__free(s->cpu);
	offcpu_collector__free(s->off);
	for (int i = 0; i < 3; i++)
		lat_collector__free(s->lat[i]);
	runner__release(&s->run);
	store__close(s->store);
	metrics__free(s->metrics);
	profile__free(s->acc);
	if (s->cgroups)
		hashmap__for_each(s->cgroups, free_cgroup, NULL);
	hashmap__free(s->cgroups);
	free(s->metrics_text);
	for (int i = 0; i < EVENTS; i++)
		free(s->events[i]);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

struct http_server *service__http(struct service *s)
{
	return s->http;
}

struct series_store service__series(struct service *s)
{
	return store__series(s->store);
}

int service__on_interval(struct service *s, void (*fn)(void *arg, __s64 t_ms), void *arg)
{
	if (s->nhooks == MAX_HOOKS)
		return -ENOSPC;
	s->hooks[s->nhooks++] = (struct hook){ fn, arg };
	return 0;
}

struct insights *service__insights(struct service *s)
{
	return s->insights;
}

struct alerts *service__alerts(struct service *s)
{
	return alerting__engine(s->alerting);
}

struct vigil_config *service__config(struct service *s)
{
	return s->o.config;
}

const char *service__listen(const struct service *s)
{
	return s->o.listen;
}

bool service__tls(const struct service *s)
{
	return s->o.tls_cert_pem != NULL;
}

char *service__metrics_text(struct service *s, size_t *len)
{
	char *copy;

	pthread_mutex_lock(&s->lock);
	*len = s->metrics_len;
	copy = malloc(s->metrics_len + 1);
	if (copy) {
		memcpy(copy, s->metrics_text ? s->metrics_text : "", s->metrics_len);
		copy[s->metrics_len] = '\0';
	}
	pthread_mutex_unlock(&s->lock);
	return copy;
}

int service__live_pprof(struct service *s, double seconds, void **blob, size_t *len)
{
	struct live *lp = calloc(1, sizeof(*lp)), **pp;
	struct timespec ts;
	__u64 start = realtime_ns();
	int err = 0;

	if (!lp || !(lp->p = profile__new(&cpu_meta))) {
		free(lp);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	lp->until = mono_s() + seconds;
	lp->next = s->live;
	s->live = lp;
	while (!lp->done && !s->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&s->cv, &s->lock, &ts);
	}
	for (pp = &s->live; *pp; pp = &(*pp)->next)
		if (*pp == lp) {
			*pp = lp->next;
			break;
		}
	if (!lp->done)
		err = -ECANCELED;
	pthread_mutex_unlock(&s->lock);
	if (!err) {
		profile__set_span(lp->p, start, realtime_ns() - start);
		err = to_pprof(lp->p, blob, len);
	}
	profile__free(lp->p);
	free(lp);
	return err;
}

bool service__ready(struct service *s, char *reason, size_t len)
{
	bool attached;

	pthread_mutex_lock(&s->lock);
	attached = s->attached;
	pthread_mutex_unlock(&s->lock);
	if (!attached) {
		snprintf(reason, len, "collectors not attached");
		return false;
	}
	if (!store__writable(s->store)) {
		snprintf(reason, len, "store not writable (%s): disk full or I/O error",
			 store__path(s->store));
		return false;
	}
	snprintf(reason, len, "ok");
	return true;
}

struct store *service__store(struct service *s)
{
	return s->store;
}

double service__interval(const struct service *s)
{
	return s->o.interval_s;
}

long long service__raw_age_ms(const struct service *s)
{
	return (long long)s->o.downsample_age1_s * 1000;
}

bool service__stopping(const struct service *s)
{
	return s->stopping;
}

char *service__next_event(struct service *s, __u64 *seq, int timeout_ms)
{
	struct timespec ts;
	char *ev = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (*seq >= s->event_seq && !s->stopping)
		if (pthread_cond_timedwait(&s->cv, &s->lock, &ts) == ETIMEDOUT)
			break;
	if (*seq < s->event_seq && !s->stopping) {
		/* A reader that fell behind skips to the oldest event still kept. */
		if (s->event_seq - *seq > EVENTS)
			*seq = s->event_seq - EVENTS;
		ev = strdup(s->events[*seq % EVENTS]);
		(*seq)++;
	}
	pthread_mutex_unlock(&s->lock);
	return ev;
}
