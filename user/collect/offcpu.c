// SPDX-License-Identifier: GPL-2.0
/*
 * The off-CPU tracer: bpf/offcpu.bpf.c on sched_switch (and sched_waking for wakers, a cpu-clock
 * sampler for wall), its counts read into the profile model.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/offcpu.h"
#include "collect/unwind.h"
#include "vigil/unwind.h"
#include "collect/readout.h"
#include "kernel/attach.h"
#include "model/hashmap.h"
#include "model/profile.h"
#include "util/log.h"
#include "vigil/offcpu.h"
#include "offcpu.skel.h"

_Static_assert(sizeof(struct vg_offcpu_key) == VG_OFFCPU_KEY_SIZE, "offcpu key layout");

struct offcpu_collector {
	struct offcpu_collector_opts o;
	struct offcpu_bpf *skel;
	struct tp_progs switch_progs, waking_progs, fork_progs, exec_progs;
	bool follow;
	struct bpf_link *links[3];
	struct perf_attach *pa;
	struct counter_delta cd;
	__u64 stop_ktime; /* CLOCK_MONOTONIC ns at detach; 0 while attached */
};

static __u64 ktime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* What the model needs to turn keys into stacks. */
struct builder {
	struct profile *p;
	struct stack_resolver *res;
	const struct offcpu_collector_opts *opts;
	__u32 off_cpu_frame; /* --wall: leaf marker of blocked time */
	__u32 sep_frame; /* --wakers: "--" */
	struct hashmap *seen_tids; /* --wall: threads with any record */
	__u64 truncated; /* off-CPU periods whose stack was cut at the depth limit */
};

static __u32 *append(__u32 *buf, __u32 *n, const __u32 *src, __u32 cnt, bool reverse)
{
	for (__u32 i = 0; i < cnt; i++)
		buf[(*n)++] = reverse ? src[cnt - 1 - i] : src[i];
	return buf;
}

static int add_key(struct builder *b, const struct vg_offcpu_key *k, __u64 ns, __u64 count)
{
	__u32 frames[4 * (VG_MAX_STACK_DEPTH + 2) + 4], n = 0, m;
	const __u32 *f;
	struct profile_stack s = { .pid = k->pid, .tid = k->tid, .count = count, .value = ns };
	char comm[VG_COMM_LEN + 1], wcomm[VG_COMM_LEN + 1];
	__u64 trunc_keys;

	memcpy(comm, k->comm, VG_COMM_LEN);
	comm[VG_COMM_LEN] = '\0';
	s.comm = comm;
	trunc_keys = stack_resolver__truncated(b->res);
	if (stack_resolver__frames(b->res, k->pid, k->ustack, k->kstack_id, &f, &m))
		return -ENOMEM;
	if (stack_resolver__truncated(b->res) != trunc_keys)
		b->truncated += count;
	append(frames, &n, f, m, false);
	if (b->opts->wall && k->kind == VG_OFFCPU_BLOCKED)
		frames[n++] = b->off_cpu_frame;
	if (b->opts->wakers && k->waker_pid) {
		/* offwaketime's layout: the waker's stack leaf first, then its name. */
		frames[n++] = b->sep_frame;
		if (stack_resolver__frames(b->res, k->waker_pid, k->waker_ustack,
					   k->waker_kstack_id, &f, &m))
			return -ENOMEM;
		append(frames, &n, f, m, true);
		memcpy(wcomm, k->waker_comm, VG_COMM_LEN);
		wcomm[VG_COMM_LEN] = '\0';
		frames[n] = stack_resolver__special(b->res, wcomm);
		if (!frames[n++])
			return -ENOMEM;
	}
	if (b->seen_tids)
		hashmap__set(b->seen_tids, (const void *)(uintptr_t)k->tid, 1);
	s.frames = frames;
	s.nframes = n;
	return profile__add_stack(b->p, &s);
}

/* Tasks still off-CPU at stop: their time so far counts, up to now. */
static int add_still_blocked(struct builder *b, int start_fd, __u64 now_ns, __u64 min_ns,
			     __u64 max_ns)
{
	struct vg_offcpu_start *vals = NULL;
	__u32 *keys = NULL;
	long n = map_read_all(start_fd, sizeof(*keys), sizeof(*vals), (void **)&keys,
			      (void **)&vals);
	int err = 0;

	if (n < 0)
		return (int)n;
	for (long i = 0; i < n && !err; i++) {
		__u64 d = now_ns > vals[i].ts ? now_ns - vals[i].ts : 0;

		if (d >= min_ns && d <= max_ns)
			err = add_key(b, &vals[i].key, d, 1);
	}
	free(keys);
	free(vals);
	return err;
}

/* --wall: time of threads that blocked before the capture and never blocked again (pending), and
 * of threads that were blocked for the whole capture (no record at all). */
static int add_wall_rest(struct builder *b, int pending_fd, int pid_filter_fd, __u64 wall_ns)
{
	struct vg_offcpu_pending *pend = NULL;
	__u32 *keys = NULL;
	__u8 *flags = NULL;
	long n = map_read_all(pending_fd, sizeof(*keys), sizeof(*pend), (void **)&keys,
			      (void **)&pend);
	__u32 before = stack_resolver__special(b->res, "[blocked since before the capture]");
	__u32 whole = stack_resolver__special(b->res, "[blocked for the whole capture]");
	int err = 0;

	if (n < 0)
		return (int)n;
	for (long i = 0; i < n && !err; i++) {
		char comm[VG_COMM_LEN + 1];
		struct profile_stack s = { .pid = pend[i].pid,
					   .tid = pend[i].tid,
					   .count = 1,
					   .value = pend[i].ns,
					   .comm = comm,
					   .frames = &before,
					   .nframes = 1 };

		memcpy(comm, pend[i].comm, VG_COMM_LEN);
		comm[VG_COMM_LEN] = '\0';
		hashmap__set(b->seen_tids, (const void *)(uintptr_t)pend[i].tid, 1);
		err = profile__add_stack(b->p, &s);
	}
	free(keys);
	free(pend);
	if (err)
		return err;

	/* Threads of the target processes that left no trace were blocked all along. */
	n = map_read_all(pid_filter_fd, sizeof(*keys), sizeof(*flags), (void **)&keys,
			 (void **)&flags);
	if (n < 0)
		return (int)n;
	for (long i = 0; i < n && !err; i++) {
		char path[64], comm[32] = "?";
		struct dirent *de;
		FILE *f;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%u/comm", keys[i]);
		if ((f = fopen(path, "re"))) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%u/task", keys[i]);
		d = opendir(path);
		while (d && (de = readdir(d)) && !err) {
			unsigned long tid = strtoul(de->d_name, NULL, 10);
			struct profile_stack s = { .pid = keys[i],
						   .tid = (__u32)tid,
						   .count = 1,
						   .value = wall_ns,
						   .comm = comm,
						   .frames = &whole,
						   .nframes = 1 };

			if (!tid || hashmap__get(b->seen_tids, (const void *)(uintptr_t)tid, NULL))
				continue;
			err = profile__add_stack(b->p, &s);
		}
		if (d)
			closedir(d);
	}
	free(keys);
	free(flags);
	return err;
}

struct offcpu_collector *offcpu_collector__new(const struct offcpu_collector_opts *o)
{
	struct offcpu_collector *c = calloc(1, sizeof(*c));
	const struct filter_cfg none = { .cgroup_fd = -1 };
	const struct filter_cfg *f = o->filter ? o->filter : &none;
	struct offcpu_bpf *skel;
	int err;

	if (!c)
		return NULL;
	c->o = *o;
	c->o.filter = NULL;
	c->follow = f->follow;

	/* open → configure → load */
	skel = c->skel = offcpu_bpf__open();
	if (!skel) {
		err = -errno;
		pr_err("opening the BPF program failed: %s", strerror(errno));
		goto fail;
	}
	skel->rodata->user_stacks = o->user_stacks;
	skel->rodata->kernel_stacks = o->kernel_stacks;
	skel->rodata->min_ns = o->min_ns ? o->min_ns : 1;
	skel->rodata->max_ns = o->max_ns ? o->max_ns : ~0ULL;
	skel->rodata->state_filter = o->state;
	skel->rodata->wakers = o->wakers;
	skel->rodata->wall = o->wall;
	skel->rodata->sample_period_ns = 1000000000ull / (o->freq ? o->freq : 1);
	skel->rodata->unwind_mode = o->unwind_mode;
	skel->rodata->max_frames = o->max_frames ? o->max_frames : VG_MAX_STACK_DEPTH;
	filter_cfg__set_rodata(f, skel->rodata);
	bpf_map__set_max_entries(skel->maps.stacks, o->stack_storage);
	bpf_map__set_max_entries(skel->maps.ustacks, o->stack_storage);
	bpf_map__set_max_entries(skel->maps.counts, o->stack_storage * 4);
	err = unwind__configure(skel->obj, o->unwind_mode,
				o->unwind_rows ? o->unwind_rows : VG_CFI_ROWS_DEFAULT);
	if (err) {
		pr_err("sizing the unwind tables failed: %s", strerror(-err));
		goto fail;
	}
	c->switch_progs = (struct tp_progs){ skel->progs.vg_offcpu_switch_btf,
					     skel->progs.vg_offcpu_switch_raw,
					     skel->progs.vg_offcpu_switch_tp };
	c->waking_progs = (struct tp_progs){ skel->progs.vg_offcpu_waking_btf,
					     skel->progs.vg_offcpu_waking_raw,
					     skel->progs.vg_offcpu_waking_tp };
	c->fork_progs =
		(struct tp_progs){ skel->progs.vg_offcpu_fork_btf, skel->progs.vg_offcpu_fork_raw,
				   skel->progs.vg_offcpu_fork_tp };
	c->exec_progs =
		(struct tp_progs){ skel->progs.vg_offcpu_exec_btf, skel->progs.vg_offcpu_exec_raw,
				   skel->progs.vg_offcpu_exec_tp };
	tp_progs__autoload(&c->exec_progs, o->attach,
			   c->follow || o->unwind_mode != VG_UNWIND_KERNEL);
	tp_progs__autoload(&c->switch_progs, o->attach, true);
	tp_progs__autoload(&c->waking_progs, o->attach, o->wakers);
	tp_progs__autoload(&c->fork_progs, o->attach, c->follow);
	bpf_program__set_autoload(skel->progs.vg_offcpu_oncpu, o->wall);
	err = offcpu_bpf__load(skel);
	if (err) {
		pr_err("loading the BPF program (%s) failed: %s (run with -v for the verifier log)",
		       tp_attach_name(o->attach), strerror(-err));
		goto fail;
	}
	err = filter_cfg__apply(f, skel->obj);
	if (err)
		goto fail;
	return c;
fail:
	offcpu_collector__free(c);
	errno = -err;
	return NULL;
}

void offcpu_collector__free(struct offcpu_collector *c)
{
	if (!c)
		return;
	offcpu_collector__detach(c);
	offcpu_bpf__destroy(c->skel);
	free(c);
}

struct bpf_object *offcpu_collector__object(struct offcpu_collector *c)
{
	return c->skel->obj;
}

struct bpf_map *offcpu_collector__notices(struct offcpu_collector *c)
{
	return c->skel->maps.events;
}

const struct tp_progs *offcpu_collector__exec_progs(struct offcpu_collector *c)
{
	return c->follow || c->o.unwind_mode != VG_UNWIND_KERNEL ? &c->exec_progs : NULL;
}

int offcpu_collector__attach(struct offcpu_collector *c)
{
	int err;

	/* followers, wakers, then the switch hook and the on-CPU sampler */
	if ((c->follow && !(c->links[0] = tp_progs__attach(&c->fork_progs, c->o.attach))) ||
	    (c->o.wakers && !(c->links[1] = tp_progs__attach(&c->waking_progs, c->o.attach))) ||
	    !(c->links[2] = tp_progs__attach(&c->switch_progs, c->o.attach))) {
		err = -errno;
		pr_err("attaching to the scheduler tracepoints (%s) failed: %s",
		       tp_attach_name(c->o.attach), strerror(errno));
		return err;
	}
	if (c->o.wall) {
		c->pa = perf_attach__new(c->skel->progs.vg_offcpu_oncpu, SAMPLE_CPU_CLOCK,
					 c->o.freq);
		if (!c->pa) {
			err = -errno;
			pr_err("attaching to cpu-clock perf events failed: %s", strerror(errno));
			return err;
		}
	}
	c->skel->bss->capture_start_ns = ktime_ns();
	c->stop_ktime = 0;
	return 0;
}

void offcpu_collector__detach(struct offcpu_collector *c)
{
	bool was = c->pa || c->links[2];

	perf_attach__free(c->pa);
	c->pa = NULL;
	for (int i = 0; i < 3; i++) {
		bpf_link__destroy(c->links[i]);
		c->links[i] = NULL;
	}
	if (was)
		c->stop_ktime = ktime_ns();
}

struct profile *offcpu_collector__read(struct offcpu_collector *c, struct symbolizer *sym,
				       const struct profile_meta *meta, enum collect_read mode,
				       __u64 cnt[VG_CNT_NR])
{
	struct offcpu_bpf *skel = c->skel;
	struct builder b = { .opts = &c->o };
	struct vg_offcpu_key *keys = NULL;
	struct vg_offcpu_val *vals = NULL;
	int stacks_fd = bpf_map__fd(skel->maps.stacks),
	    ustacks_fd = bpf_map__fd(skel->maps.ustacks);
	__u64 stop = c->stop_ktime ? c->stop_ktime : ktime_ns();
	long n;
	int err = -ENOMEM;

	err = counter_delta__read(&c->cd, bpf_map__fd(skel->maps.counters), mode, cnt);
	if (err) {
		pr_err("reading the loss counters failed: %s", strerror(-err));
		errno = -err;
		return NULL;
	}
	err = -ENOMEM;
	b.p = profile__new(meta);
	if (!b.p)
		return NULL;
	b.res = stack_resolver__new(sym, b.p, stacks_fd, ustacks_fd);
	if (!b.res)
		goto fail;
	b.off_cpu_frame = stack_resolver__special(b.res, "[off-cpu]");
	b.sep_frame = stack_resolver__special(b.res, "--");
	if (c->o.wall && !(b.seen_tids = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL)))
		goto fail;
	n = (mode == COLLECT_INTERVAL ? map_drain_all : map_read_all)(
		bpf_map__fd(skel->maps.counts), sizeof(*keys), sizeof(*vals), (void **)&keys,
		(void **)&vals);
	if (n < 0) {
		err = (int)n;
		goto fail;
	}
	err = 0;
	for (long i = 0; i < n && !err; i++)
		err = add_key(&b, &keys[i], vals[i].total_ns, vals[i].count);
	if (!err && mode == COLLECT_TOTAL)
		err = add_still_blocked(&b, bpf_map__fd(skel->maps.start), stop,
					skel->rodata->min_ns, skel->rodata->max_ns);
	if (!err && mode == COLLECT_TOTAL && c->o.wall)
		err = add_wall_rest(&b, bpf_map__fd(skel->maps.pending),
				    bpf_map__fd(skel->maps.pid_filter),
				    stop - skel->bss->capture_start_ns);
	if (err)
		goto fail;
	cnt[VG_CNT_STACK_GONE] = stack_resolver__gone(b.res);
	cnt[VG_CNT_TRUNCATED] = b.truncated;
	if (mode == COLLECT_INTERVAL &&
	    (err = stack_maps_recycle(b.res, stacks_fd, ustacks_fd,
				      bpf_map__fd(c->skel->maps.ustacks_gen), c->o.stack_storage,
				      cnt)))
		pr_warn("clearing the stack maps failed: %s", strerror(-err));
	if (mode == COLLECT_TOTAL && c->o.unwind_mode != VG_UNWIND_CFI)
		stack_resolver__advise(b.res, "offcpu");
	free(keys);
	free(vals);
	stack_resolver__free(b.res);
	hashmap__free(b.seen_tids);
	return b.p;
fail:
	pr_err("building the profile failed: %s", strerror(-err));
	free(keys);
	free(vals);
	stack_resolver__free(b.res);
	hashmap__free(b.seen_tids);
	profile__free(b.p);
	errno = -err;
	return NULL;
}
