// SPDX-License-Identifier: GPL-2.0
/*
 * Latency histograms: bpf/lat.bpf.c's hooks for one kind, its histogram maps read into labelled
 * hist_entry records (totals, or interval deltas against the previous read's totals).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/latency.h"
#include "collect/readout.h"
#include "kernel/attach.h"
#include "kernel/syscalls.h"
#include "kernel/uprobe.h"
#include "model/hashmap.h"
#include "util/log.h"
#include "lat.skel.h"

_Static_assert(sizeof(struct vg_lat_key) == VG_LAT_KEY_SIZE, "lat key layout");

struct lat_collector {
	struct lat_collector_opts o;
	struct lat_bpf *skel;
	struct tp_progs hooks[4], exec_progs;
	int nhooks;
	bool follow;
	struct bpf_link *links[4], *ulinks[2];
	struct hashmap
		*prev; /* entry name -> struct vg_hist * (totals at the last interval read) */
	struct hist_entry *entries;
	size_t nr, cap;
	__u64 events; /* events in the totals last read */
	struct counter_delta cd;
	int ncpu;
	char uprobe_name[96];
};

static struct hist_entry *new_entry(struct lat_collector *lr)
{
	if (lr->nr == lr->cap) {
		size_t cap = lr->cap ? lr->cap * 2 : 64;
		struct hist_entry *e = realloc(lr->entries, cap * sizeof(*e));

		if (!e)
			return NULL;
		lr->entries = e;
		lr->cap = cap;
	}
	memset(&lr->entries[lr->nr], 0, sizeof(lr->entries[0]));
	return &lr->entries[lr->nr++];
}

static const char *const op_names[] = { "read", "write", "other" };

/* /sys/dev/block/MAJ:MIN/uevent's DEVNAME, else "MAJ:MIN". */
static void disk_name(__u32 dev, char *buf, size_t len)
{
	unsigned int maj = dev >> 20, min = dev & ((1u << 20) - 1);
	char path[64], line[128];
	FILE *f;

	snprintf(buf, len, "%u:%u", maj, min);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", maj, min);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s", line + 8);
		}
	fclose(f);
}

/* Name and labels of one hash-map key, per mode. */
static void describe(struct lat_collector *lr, const struct vg_lat_key *k, struct hist_entry *e)
{
	const struct lat_collector_opts *o = &lr->o;
	char comm[VG_COMM_LEN + 1], tmp[64];
	size_t len = 0;

	memcpy(comm, k->comm, VG_COMM_LEN);
	comm[VG_COMM_LEN] = '\0';
	switch (o->kind) {
	case LAT_SYSCALL:
		hist_entry_label(e, "syscall", "%s", syscall_name(k->id, tmp, sizeof(tmp)));
		len = snprintf(e->name, sizeof(e->name), "%s", e->labels[0].value);
		break;
	case LAT_RUNQ:
		len = snprintf(e->name, sizeof(e->name), "runq");
		break;
	case LAT_BIO:
		disk_name(k->id, tmp, sizeof(tmp));
		hist_entry_label(e, "disk", "%s", tmp);
		hist_entry_label(e, "op", "%s", op_names[k->op < 3 ? k->op : 2]);
		len = snprintf(e->name, sizeof(e->name), "%s %s", tmp,
			       op_names[k->op < 3 ? k->op : 2]);
		break;
	case LAT_UPROBE:
		hist_entry_label(e, "function", "%s", lr->uprobe_name);
		len = snprintf(e->name, sizeof(e->name), "%s", lr->uprobe_name);
		break;
	}
	if (o->per_process && o->kind != LAT_BIO) {
		hist_entry_label_num(e, "pid", k->pid);
		hist_entry_label(e, "comm", "%s", comm);
		len += snprintf(e->name + len, sizeof(e->name) > len ? sizeof(e->name) - len : 0,
				" pid=%u (%s)", k->pid, comm);
	}
	if (o->per_cpu && (o->kind == LAT_RUNQ || o->kind == LAT_SYSCALL)) {
		hist_entry_label_num(e, "cpu", k->cpu);
		snprintf(e->name + len, sizeof(e->name) > len ? sizeof(e->name) - len : 0,
			 " cpu=%u", k->cpu);
	}
}

/* Read the current totals of every histogram into lr->entries. 0 or -errno. */
static int read_totals(struct lat_collector *lr)
{
	struct vg_lat_key *keys = NULL;
	struct vg_hist *vals = NULL;
	long n;

	lr->nr = 0;
	if ((lr->o.kind == LAT_SYSCALL || lr->o.kind == LAT_RUNQ) && !lr->o.per_process &&
	    !lr->o.per_cpu) {
		int fd = bpf_map__fd(lr->skel->maps.flat_hists);
		__u32 end = lr->o.kind == LAT_RUNQ ? 1 : VG_LAT_MAX_SYSCALLS;

		vals = calloc(lr->ncpu, sizeof(*vals));
		if (!vals)
			return -ENOMEM;
		for (__u32 nr = 0; nr < end; nr++) {
			struct vg_lat_key k = { .id = nr };
			struct vg_hist sum = { 0 };
			struct hist_entry *e;

			if (bpf_map_lookup_elem(fd, &nr, vals))
				continue;
			for (int c = 0; c < lr->ncpu; c++)
				hist_merge(&sum, &vals[c]);
			if (!sum.count)
				continue;
			e = new_entry(lr);
			if (!e) {
				free(vals);
				return -ENOMEM;
			}
			describe(lr, &k, e);
			e->h = sum;
		}
		free(vals);
		return 0;
	}
	n = map_read_all(bpf_map__fd(lr->skel->maps.hists), sizeof(*keys), sizeof(*vals),
			 (void **)&keys, (void **)&vals);
	if (n < 0)
		return (int)n;
	for (long i = 0; i < n; i++) {
		struct hist_entry *e = new_entry(lr);

		if (!e) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		describe(lr, &keys[i], e);
		e->h = vals[i];
	}
	free(keys);
	free(vals);
	return 0;
}

/* Turn totals into "since the last print" and remember the totals. */
static int to_interval(struct lat_collector *lr)
{
	lr->events = 0;
	for (size_t i = 0; i < lr->nr; i++)
		lr->events += lr->entries[i].h.count;
	for (size_t i = 0; i < lr->nr; i++) {
		struct hist_entry *e = &lr->entries[i];
		struct vg_hist *p;
		uintptr_t v;
		char *name;

		if (hashmap__get(lr->prev, e->name, &v)) {
			p = (struct vg_hist *)v;
			struct vg_hist total = e->h;

			hist_sub(&e->h, p);
			*p = total;
			/* The maximum of an interval is not recoverable from totals: keep the
			 * bucket bound of its largest value as a safe upper estimate. */
			for (int b = VG_HIST_BUCKETS - 1; b >= 0; b--)
				if (e->h.buckets[b]) {
					if (vg_hist_high(b) < e->h.max_ns)
						e->h.max_ns = vg_hist_high(b) - 1;
					break;
				}
			continue;
		}
		p = malloc(sizeof(*p));
		name = strdup(e->name);
		if (!p || !name || hashmap__set(lr->prev, name, (uintptr_t)p)) {
			free(p);
			free(name);
			return -ENOMEM;
		}
		*p = e->h;
	}
	return 0;
}

static int free_prev(const void *key, uintptr_t value, void *arg)
{
	(void)arg;
	free((void *)key);
	free((void *)value);
	return 0;
}

/* Which programs each mode uses: hooks in three flavours each. */
static void select_programs(struct lat_bpf *s, enum lat_kind mode, enum tp_attach a, bool follow,
			    struct tp_progs *hooks, int *nhooks, struct tp_progs *exec)
{
	struct tp_progs fork = { s->progs.vg_lat_fork_btf, s->progs.vg_lat_fork_raw,
				 s->progs.vg_lat_fork_tp };
	struct bpf_program *p;

	bpf_object__for_each_program(p, s->obj) bpf_program__set_autoload(p, false);
	*exec = (struct tp_progs){ s->progs.vg_lat_exec_btf, s->progs.vg_lat_exec_raw,
				   s->progs.vg_lat_exec_tp };
	tp_progs__autoload(exec, a, follow);
	*nhooks = 0;
	switch (mode) {
	case LAT_SYSCALL:
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_sys_enter_btf,
							s->progs.vg_lat_sys_enter_raw,
							s->progs.vg_lat_sys_enter_tp };
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_sys_exit_btf,
							s->progs.vg_lat_sys_exit_raw,
							s->progs.vg_lat_sys_exit_tp };
		break;
	case LAT_RUNQ:
		hooks[(*nhooks)++] =
			(struct tp_progs){ s->progs.vg_lat_wakeup_btf, s->progs.vg_lat_wakeup_raw,
					   s->progs.vg_lat_wakeup_tp };
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_wakeup_new_btf,
							s->progs.vg_lat_wakeup_new_raw,
							s->progs.vg_lat_wakeup_new_tp };
		hooks[(*nhooks)++] =
			(struct tp_progs){ s->progs.vg_lat_switch_btf, s->progs.vg_lat_switch_raw,
					   s->progs.vg_lat_switch_tp };
		break;
	case LAT_BIO:
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_bio_issue_btf,
							s->progs.vg_lat_bio_issue_raw,
							s->progs.vg_lat_bio_issue_tp };
		hooks[(*nhooks)++] = (struct tp_progs){ s->progs.vg_lat_bio_done_btf,
							s->progs.vg_lat_bio_done_raw,
							s->progs.vg_lat_bio_done_tp };
		break;
	case LAT_UPROBE:
		bpf_program__set_autoload(s->progs.vg_lat_uprobe_entry, true);
		bpf_program__set_autoload(s->progs.vg_lat_uprobe_exit, true);
		break;
	}
	/* -- COMMAND: descendants join the filter (the fork hook goes last: it is attached first) */
	if (follow)
		hooks[(*nhooks)++] = fork;
	for (int i = 0; i < *nhooks; i++)
		tp_progs__autoload(&hooks[i], a, true);
}

struct lat_collector *lat_collector__new(const struct lat_collector_opts *o)
{
	struct lat_collector *c = calloc(1, sizeof(*c));
	const struct filter_cfg none = { .cgroup_fd = -1 };
	const struct filter_cfg *f = o->filter ? o->filter : &none;
	struct lat_bpf *skel;
	int err;

	if (!c)
		return NULL;
	c->o = *o;
	c->o.filter = NULL;
	c->follow = f->follow;
	c->ncpu = libbpf_num_possible_cpus();
	c->prev = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	if (!c->prev || c->ncpu < 0) {
		err = c->ncpu < 0 ? c->ncpu : -ENOMEM;
		goto fail;
	}

	/* open → configure → load */
	skel = c->skel = lat_bpf__open();
	if (!skel) {
		err = -errno;
		pr_err("opening the BPF program failed: %s", strerror(errno));
		goto fail;
	}
	skel->rodata->per_process = o->per_process;
	skel->rodata->per_cpu = o->per_cpu;
	skel->rodata->filter_syscalls = o->nr_syscalls > 0;
	skel->rodata->use_task_storage = features__has(FEAT_TASK_STORAGE);
	filter_cfg__set_rodata(f, skel->rodata);
	if (!features__has(FEAT_TASK_STORAGE)) {
		bpf_map__set_autocreate(skel->maps.sys_task_start, false);
		bpf_map__set_autocreate(skel->maps.runq_task_start, false);
	}
	select_programs(skel, o->kind, o->attach, c->follow, c->hooks, &c->nhooks, &c->exec_progs);
	err = lat_bpf__load(skel);
	if (err) {
		pr_err("loading the BPF program failed: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	for (int i = 0; i < o->nr_syscalls; i++) {
		__u32 k = (__u32)o->syscalls[i];
		__u8 one = 1;

		bpf_map_update_elem(bpf_map__fd(skel->maps.syscall_filter), &k, &one, BPF_ANY);
	}
	err = filter_cfg__apply(f, skel->obj);
	if (err)
		goto fail;
	return c;
fail:
	lat_collector__free(c);
	errno = -err;
	return NULL;
}

void lat_collector__free(struct lat_collector *c)
{
	if (!c)
		return;
	lat_collector__detach(c);
	lat_bpf__destroy(c->skel);
	if (c->prev)
		hashmap__for_each(c->prev, free_prev, NULL);
	hashmap__free(c->prev);
	free(c->entries);
	free(c);
}

struct bpf_object *lat_collector__object(struct lat_collector *c)
{
	return c->skel->obj;
}

const struct tp_progs *lat_collector__exec_progs(struct lat_collector *c)
{
	return c->follow ? &c->exec_progs : NULL;
}

const char *lat_collector__uprobe_name(const struct lat_collector *c)
{
	return c->uprobe_name;
}

static const char *const kind_names[] = {
	[LAT_SYSCALL] = "syscall",
	[LAT_RUNQ] = "runq",
	[LAT_BIO] = "bio",
	[LAT_UPROBE] = "uprobe",
};

int lat_collector__attach(struct lat_collector *c)
{
	int err;

	/* the fork hook (last) first, so no descendant escapes the others */
	for (int i = c->nhooks - 1; i >= 0; i--) {
		c->links[i] = tp_progs__attach(&c->hooks[i], c->o.attach);
		if (!c->links[i]) {
			err = -errno;
			pr_err("attaching the %s hooks (%s) failed: %s", kind_names[c->o.kind],
			       tp_attach_name(c->o.attach), strerror(errno));
			return err;
		}
	}
	if (c->o.kind == LAT_UPROBE) {
		const struct uprobe_target *ut = c->o.uprobe;

		if (!ut)
			return -EINVAL;
		if (uprobe_target_attach(ut, c->skel->progs.vg_lat_uprobe_entry,
					 c->skel->progs.vg_lat_uprobe_exit, c->o.uprobe_pid,
					 c->ulinks))
			return -EINVAL;
		snprintf(c->uprobe_name, sizeof(c->uprobe_name), "%s:%s", ut->short_name, ut->func);
	}
	return 0;
}

void lat_collector__detach(struct lat_collector *c)
{
	for (int i = 0; i < 4; i++) {
		bpf_link__destroy(c->links[i]);
		c->links[i] = NULL;
	}
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(c->ulinks[i]);
		c->ulinks[i] = NULL;
	}
}

int lat_collector__read(struct lat_collector *c, enum collect_read mode,
			struct hist_entry **entries, size_t *nr, __u64 cnt[VG_CNT_NR])
{
	__u64 before = c->events;
	int err = counter_delta__read(&c->cd, bpf_map__fd(c->skel->maps.counters), mode, cnt);

	if (!err)
		err = read_totals(c);
	if (!err && mode == COLLECT_INTERVAL) {
		err = to_interval(c);
	} else if (!err) {
		c->events = 0;
		for (size_t i = 0; i < c->nr; i++)
			c->events += c->entries[i].h.count;
	}
	if (err) {
		pr_err("reading histograms failed: %s", strerror(-err));
		return err;
	}
	if (mode == COLLECT_INTERVAL) {
		size_t k = 0;

		/* Intervals report only what happened in them. */
		for (size_t i = 0; i < c->nr; i++)
			if (c->entries[i].h.count)
				c->entries[k++] = c->entries[i];
		c->nr = k;
	}
	/* The histograms count the events; the BPF side keeps no event counter. */
	cnt[VG_CNT_EVENTS] = mode == COLLECT_INTERVAL ? c->events - before : c->events;
	*entries = c->entries;
	*nr = c->nr;
	return 0;
}

int lat_collector__totals(struct lat_collector *c, __u64 cnt[VG_CNT_NR])
{
	int err = read_percpu_counters(bpf_map__fd(c->skel->maps.counters), cnt, VG_CNT_NR);

	if (!err)
		cnt[VG_CNT_EVENTS] = c->events;
	return err;
}
