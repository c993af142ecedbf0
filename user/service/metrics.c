// SPDX-License-Identifier: GPL-2.0
/* The service's metric families: bounded label sets, cumulative values, one walk for every output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/histogram.h"
#include "model/hashmap.h"
#include "model/profile.h"
#include "service/metrics.h"

#define EVICT_AFTER 30 /* intervals out of the top N before a series is dropped */

/* A labelled thing with a running total and a top-N membership. */
struct entry {
	char key[128]; /* comm, syscall name, "disk\x1fop" */
	char l1[64], l2[64]; /* label values */
	double total; /* counter value (cpu seconds) */
	double interval; /* this interval's activity, for ranking */
	struct vg_hist h; /* histograms */
	int idle; /* intervals out of the top N */
	bool series; /* has its own series (else it adds to "other") */
};

struct table {
	struct entry **e;
	size_t n, cap;
	struct hashmap *idx; /* key -> entry */
	struct entry other; /* comm="other" / syscall="other" */
	bool ranked; /* top-N ranked (comm, syscall) or all kept (bio) */
};

struct loss {
	char collector[16];
	int reason;
	__u64 total;
};

struct metrics {
	unsigned int top_n;
	struct table cpu, syscall, bio;
	struct vg_hist runq;
	bool have_runq, have_syscall, have_bio;
	struct loss losses[64];
	int nlosses;
	struct proc_rss *rss;
	size_t nrss;
	__u64 rss_other;
	struct agent_stats agent;
};

static const char *const loss_reasons[VG_CNT_NR] = {
	[VG_CNT_USTACK_COLLISION] = "user_stack_collision",
	[VG_CNT_KSTACK_COLLISION] = "kernel_stack_collision",
	[VG_CNT_USTACK_FULL] = "user_stack_map_full",
	[VG_CNT_KSTACK_FULL] = "kernel_stack_map_full",
	[VG_CNT_USTACK_WALK] = "user_stack_walk_failed",
	[VG_CNT_KSTACK_WALK] = "kernel_stack_walk_failed",
	[VG_CNT_MAP_FULL] = "counts_map_full",
	[VG_CNT_RINGBUF_FULL] = "ring_buffer_full",
	[VG_CNT_FOLLOW_FULL] = "follow_map_full",
	[VG_CNT_AUX_FULL] = "aux_map_full",
	[VG_CNT_STACK_GONE] = "stack_cleared",
};

static int table_init(struct table *t, const char *other, bool ranked)
{
	memset(t, 0, sizeof(*t));
	t->idx = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	snprintf(t->other.key, sizeof(t->other.key), "%s", other);
	snprintf(t->other.l1, sizeof(t->other.l1), "%s", other);
	t->other.series = true;
	t->ranked = ranked;
	return t->idx ? 0 : -ENOMEM;
}

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i]);
	free(t->e);
	hashmap__free(t->idx);
}

static struct entry *table_get(struct table *t, const char *key)
{
	struct entry *e;
	uintptr_t v;

	if (hashmap__get(t->idx, key, &v))
		return (struct entry *)v;
	if (t->n == t->cap) {
		size_t c = t->cap ? t->cap * 2 : 64;
		struct entry **ne = realloc(t->e, c * sizeof(*ne));

		if (!ne)
			return NULL;
		t->e = ne;
		t->cap = c;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->series = !t->ranked;
	if (hashmap__set(t->idx, e->key, (uintptr_t)e)) {
		free(e);
		return NULL;
	}
	t->e[t->n++] = e;
	return e;
}

static int cmp_interval(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a,
			   *y = *(const struct entry *const *)b;

	if (x->interval != y->interval)
		return x->interval > y->interval ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Promote the interval's top N, age the rest, forget what has neither series nor activity. */
static void table_rank(struct table *t, unsigned int top_n)
{
	size_t k = 0;

	if (!t->ranked) {
		for (size_t i = 0; i < t->n; i++)
			t->e[i]->interval = 0;
		return;
	}
	if (t->n > 1)
		qsort(t->e, t->n, sizeof(*t->e), cmp_interval);
	for (size_t i = 0; i < t->n; i++) {
		struct entry *e = t->e[i];

		if (i < top_n && e->interval > 0) {
			if (!e->series) {
				/* A new series starts from zero: what it did before is in "other". */
				e->series = true;
				e->total = 0;
				memset(&e->h, 0, sizeof(e->h));
			}
			e->idle = 0;
		} else if (e->series && ++e->idle >= EVICT_AFTER) {
			e->series = false;
		}
		e->interval = 0;
		if (!e->series && i >= top_n) {
			hashmap__delete(t->idx, e->key);
			free(e);
			continue;
		}
		t->e[k++] = e;
	}
	t->n = k;
	t->other.interval = 0;
}

struct metrics *metrics__new(unsigned int top_n)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->top_n = top_n ? top_n : 20;
	if (table_init(&m->cpu, "other", true) || table_init(&m->syscall, "other", true) ||
	    table_init(&m->bio, "", false)) {
		metrics__free(m);
		return NULL;
	}
	return m;
}

void metrics__free(struct metrics *m)
{
	if (!m)
		return;
	table_release(&m->cpu);
	table_release(&m->syscall);
	table_release(&m->bio);
	free(m->rss);
	free(m);
}

void metrics__add_cpu(struct metrics *m, const struct profile *p)
{
	for (size_t i = 0; i < profile__nr_stacks(p); i++) {
		const struct profile_stack *s = profile__stack(p, i);
		double sec = (double)s->value / 1e9;
		struct entry *e = table_get(&m->cpu, s->comm && *s->comm ? s->comm : "?");

		if (!e) {
			m->cpu.other.total += sec;
			continue;
		}
		snprintf(e->l1, sizeof(e->l1), "%s", e->key);
		e->interval += sec;
		if (e->series)
			e->total += sec;
		else
			m->cpu.other.total += sec;
	}
}

int metrics__add_latency(struct metrics *m, const char *family, const struct hist_entry *he,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct hist_entry *x = &he[i];
		struct entry *e;
		char key[128];

		if (!strcmp(family, "runq")) {
			m->have_runq = true;
			hist_merge(&m->runq, &x->h);
			continue;
		}
		if (!strcmp(family, "syscall")) {
			m->have_syscall = true;
			e = table_get(&m->syscall, x->name);
			if (!e) {
				hist_merge(&m->syscall.other.h, &x->h);
				continue;
			}
			snprintf(e->l1, sizeof(e->l1), "%s", x->name);
			e->interval += (double)x->h.count;
			hist_merge(e->series ? &e->h : &m->syscall.other.h, &x->h);
			continue;
		}
		/* bio: disk and op labels, all kept (a host has few disks) */
		m->have_bio = true;
		snprintf(key, sizeof(key), "%s\x1f%s", x->nlabels > 0 ? x->labels[0].value : "",
			 x->nlabels > 1 ? x->labels[1].value : "");
		e = table_get(&m->bio, key);
		if (!e)
			return -ENOMEM;
		snprintf(e->l1, sizeof(e->l1), "%s", x->nlabels > 0 ? x->labels[0].value : "");
		snprintf(e->l2, sizeof(e->l2), "%s", x->nlabels > 1 ? x->labels[1].value : "");
		hist_merge(&e->h, &x->h);
	}
	return 0;
}

void metrics__add_losses(struct metrics *m, const char *collector, const __u64 cnt[VG_CNT_NR])
{
	for (int r = 0; r < VG_CNT_NR; r++) {
		struct loss *l = NULL;

		if (!loss_reasons[r])
			continue;
		for (int i = 0; i < m->nlosses; i++)
			if (m->losses[i].reason == r && !strcmp(m->losses[i].collector, collector))
				l = &m->losses[i];
		if (!l) {
			/* Every (collector, reason) gets a series from the start: rate() needs it. */
			if (m->nlosses == (int)(sizeof(m->losses) / sizeof(m->losses[0])))
				continue;
			l = &m->losses[m->nlosses++];
			snprintf(l->collector, sizeof(l->collector), "%s", collector);
			l->reason = r;
		}
		l->total += cnt[r];
	}
}

static int cmp_rss(const void *a, const void *b)
{
	const struct proc_rss *x = a, *y = b;

	if (x->rss_bytes != y->rss_bytes)
		return x->rss_bytes > y->rss_bytes ? -1 : 1;
	return strcmp(x->comm, y->comm);
}

void metrics__set_rss(struct metrics *m, const struct proc_rss *r, size_t n)
{
	size_t keep = n < m->top_n ? n : m->top_n;
	struct proc_rss *copy = n ? malloc(n * sizeof(*copy)) : NULL;

	if (n && !copy)
		return;
	if (n)
		memcpy(copy, r, n * sizeof(*copy));
	if (n > 1)
		qsort(copy, n, sizeof(*copy), cmp_rss);
	m->rss_other = 0;
	for (size_t i = keep; i < n; i++)
		m->rss_other += copy[i].rss_bytes;
	free(m->rss);
	m->rss = copy;
	m->nrss = keep;
}

void metrics__set_agent(struct metrics *m, const struct agent_stats *a)
{
	m->agent = *a;
}

void metrics__close_interval(struct metrics *m)
{
	table_rank(&m->cpu, m->top_n);
	table_rank(&m->syscall, m->top_n);
	table_rank(&m->bio, m->top_n);
}

void metrics__interval_cpu(const struct metrics *m,
			   void (*fn)(void *arg, const char *comm, double s), void *arg)
{
	for (size_t i = 0; i < m->cpu.n; i++)
		if (m->cpu.e[i]->interval > 0)
			fn(arg, m->cpu.e[i]->key, m->cpu.e[i]->interval);
}

/* ---- the walk ---- */

struct walk {
	metrics_fn fn;
	void *arg;
	const char *family, *type, *help;
	int first;
	int stop;
};

static void emit(struct walk *w, const char *name, const struct prom_label *l, size_t n, double v)
{
	if (w->stop)
		return;
	w->stop = w->fn(w->arg, w->family, w->type, w->help, name, l, n, v, w->first);
	w->first = 0;
}

static void family(struct walk *w, const char *name, const char *type, const char *help)
{
	w->family = name;
	w->type = type;
	w->help = help;
	w->first = 1;
}

static void emit_hist(struct walk *w, const struct prom_label *l, size_t n, const struct vg_hist *h)
{
	struct prom_label ll[4];
	char name[128], le[32];
	__u64 cum = 0;

	if (n)
		memcpy(ll, l, n * sizeof(*l));
	snprintf(name, sizeof(name), "%s_bucket", w->family);
	for (__u32 i = 0; i <= VG_LE_BOUNDS; i++) {
		cum += i < VG_LE_BOUNDS ? h->le[i] : 0;
		ll[n] = (struct prom_label){ "le", i < VG_LE_BOUNDS ?
							   hist_le_label(i, le, sizeof(le)) :
							   "+Inf" };
		emit(w, name, ll, n + 1, i < VG_LE_BOUNDS ? (double)cum : (double)h->count);
	}
	snprintf(name, sizeof(name), "%s_sum", w->family);
	emit(w, name, l, n, (double)h->sum_ns / 1e9);
	snprintf(name, sizeof(name), "%s_count", w->family);
	emit(w, name, l, n, (double)h->count);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp((*(const struct entry *const *)a)->key,
		      (*(const struct entry *const *)b)->key);
}

/* The table's series in key order (stable output), then "other". */
static struct entry **sorted(const struct table *t, size_t *n)
{
	struct entry **s = malloc((t->n + 1) * sizeof(*s));

	*n = 0;
	if (!s)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i]->series)
			s[(*n)++] = t->e[i];
	if (*n > 1)
		qsort(s, *n, sizeof(*s), cmp_key);
	return s;
}

int metrics__each(const struct metrics *m, metrics_fn fn, void *arg)
{
	struct walk w = { .fn = fn, .arg = arg };
	struct entry **s;
	size_t n;

	family(&w, "vigil_cpu_seconds_total", "counter",
	       "CPU time by process name, estimated from on-CPU samples (top N names, the rest as "
	       "comm=\"other\").");
	s = sorted(&m->cpu, &n);
	for (size_t i = 0; s && i < n; i++)
		emit(&w, w.family, &(struct prom_label){ "comm", s[i]->l1 }, 1, s[i]->total);
	free(s);
	emit(&w, w.family, &(struct prom_label){ "comm", "other" }, 1, m->cpu.other.total);

	if (m->have_syscall) {
		family(&w, "vigil_syscall_latency_seconds", "histogram",
		       "Syscall latency from entry to exit (top N syscalls, the rest as "
		       "syscall=\"other\").");
		s = sorted(&m->syscall, &n);
		for (size_t i = 0; s && i < n; i++)
			emit_hist(&w, &(struct prom_label){ "syscall", s[i]->l1 }, 1, &s[i]->h);
		free(s);
		emit_hist(&w, &(struct prom_label){ "syscall", "other" }, 1, &m->syscall.other.h);
	}
	if (m->have_runq) {
		family(&w, "vigil_runq_latency_seconds", "histogram",
		       "Run-queue latency from wake-up or preemption to running on a CPU.");
		emit_hist(&w, NULL, 0, &m->runq);
	}
	if (m->have_bio && m->bio.n) {
		family(&w, "vigil_bio_latency_seconds", "histogram",
		       "Block I/O request latency from issue to completion.");
		s = sorted(&m->bio, &n);
		for (size_t i = 0; s && i < n; i++) {
			struct prom_label l[2] = { { "disk", s[i]->l1 }, { "op", s[i]->l2 } };

			emit_hist(&w, l, 2, &s[i]->h);
		}
		free(s);
	}
	if (m->nrss || m->rss_other) {
		family(&w, "vigil_process_resident_bytes", "gauge",
		       "Resident memory summed by process name (top N names, the rest as "
		       "comm=\"other\").");
		for (size_t i = 0; i < m->nrss; i++)
			emit(&w, w.family, &(struct prom_label){ "comm", m->rss[i].comm }, 1,
			     (double)m->rss[i].rss_bytes);
		emit(&w, w.family, &(struct prom_label){ "comm", "other" }, 1,
		     (double)m->rss_other);
	}
	family(&w, "vigil_lost_events_total", "counter",
	       "Events the collectors lost or could not complete, by collector and reason.");
	for (int i = 0; i < m->nlosses; i++) {
		struct prom_label l[2] = { { "collector", m->losses[i].collector },
					   { "reason", loss_reasons[m->losses[i].reason] } };

		emit(&w, w.family, l, 2, (double)m->losses[i].total);
	}
	family(&w, "vigil_agent_cpu_seconds_total", "counter",
	       "CPU time of the vigil serve process itself (user + system).");
	emit(&w, w.family, NULL, 0, m->agent.cpu_seconds);
	family(&w, "vigil_agent_resident_bytes", "gauge", "Resident memory of vigil serve.");
	emit(&w, w.family, NULL, 0, (double)m->agent.rss_bytes);
	family(&w, "vigil_agent_bpf_run_seconds_total", "counter",
	       "Time the kernel spent in vigil's BPF programs (needs kernel.bpf_stats_enabled=1; "
	       "0 otherwise).");
	emit(&w, w.family, NULL, 0, m->agent.bpf_run_seconds);
	family(&w, "vigil_agent_bpf_runs_total", "counter",
	       "Runs of vigil's BPF programs (needs kernel.bpf_stats_enabled=1).");
	emit(&w, w.family, NULL, 0, (double)m->agent.bpf_run_count);
	family(&w, "vigil_agent_symbol_processes", "gauge",
	       "Processes whose mappings vigil serve keeps for symbols (exited ones are dropped).");
	emit(&w, w.family, NULL, 0, (double)m->agent.sym_procs);
	family(&w, "vigil_agent_symbol_table_bytes", "gauge",
	       "Memory of the symbol tables vigil serve has parsed.");
	emit(&w, w.family, NULL, 0, (double)m->agent.sym_table_bytes);
	family(&w, "vigil_store_bytes", "gauge", "Bytes the local store takes on disk.");
	emit(&w, w.family, NULL, 0, (double)m->agent.store_bytes);
	family(&w, "vigil_store_writable", "gauge",
	       "1 while the local store accepts writes, 0 after a failed write (disk full).");
	emit(&w, w.family, NULL, 0, m->agent.store_writable ? 1 : 0);
	family(&w, "vigil_intervals_total", "counter", "Collection intervals completed.");
	emit(&w, w.family, NULL, 0, m->agent.intervals);
	return w.stop;
}

static int render_one(void *arg, const char *fam, const char *type, const char *help,
		      const char *name, const struct prom_label *l, size_t n, double v, int first)
{
	FILE *out = arg;

	if (first)
		prom_family(out, fam, type, help);
	prom_sample(out, name, l, n, v);
	return 0;
}

int metrics__render(const struct metrics *m, FILE *out)
{
	metrics__each(m, render_one, out);
	return ferror(out) ? -EIO : 0;
}
