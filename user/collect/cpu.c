// SPDX-License-Identifier: GPL-2.0
/*
 * The on-CPU sampler: bpf/profile.bpf.c loaded, attached to a sampling perf event per CPU, and its
 * counts read into the profile model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/cpu.h"
#include "collect/unwind.h"
#include "vigil/unwind.h"
#include "collect/readout.h"
#include "kernel/attach.h"
#include "model/profile.h"
#include "util/log.h"
#include "vigil/profile.h"
#include "profile.skel.h"

_Static_assert(sizeof(struct vg_sample_key) == VG_PROFILE_SAMPLE_KEY_SIZE, "sample key layout");

struct cpu_collector {
	struct cpu_collector_opts o;
	struct profile_bpf *skel;
	struct tp_progs fork_progs, exec_progs;
	bool follow;
	struct bpf_link *fork_link;
	struct perf_attach *pa;
	struct counter_delta cd;
};

struct cpu_collector *cpu_collector__new(const struct cpu_collector_opts *o)
{
	struct cpu_collector *c = calloc(1, sizeof(*c));
	const struct filter_cfg none = { .cgroup_fd = -1 };
	const struct filter_cfg *f = o->filter ? o->filter : &none;
	int err;

	if (!c)
		return NULL;
	c->o = *o;
	c->o.filter = NULL;
	c->follow = f->follow;

	/* open → configure (rodata, map sizes, autoload) → load */
	c->skel = profile_bpf__open();
	if (!c->skel) {
		err = -errno;
		pr_err("opening the BPF program failed: %s", strerror(errno));
		goto fail;
	}
	c->skel->rodata->user_stacks = o->user_stacks;
	c->skel->rodata->kernel_stacks = o->kernel_stacks;
	c->skel->rodata->include_idle = o->include_idle;
	c->skel->rodata->unwind_mode = o->unwind_mode;
	c->skel->rodata->max_frames = o->max_frames ? o->max_frames : VG_MAX_STACK_DEPTH;
	filter_cfg__set_rodata(f, c->skel->rodata);
	bpf_map__set_max_entries(c->skel->maps.stacks, o->stack_storage);
	bpf_map__set_max_entries(c->skel->maps.ustacks, o->stack_storage);
	bpf_map__set_max_entries(c->skel->maps.counts, o->stack_storage * 4);
	err = unwind__configure(c->skel->obj, o->unwind_mode,
				o->unwind_rows ? o->unwind_rows : VG_CFI_ROWS_DEFAULT);
	if (err) {
		pr_err("sizing the unwind tables failed: %s", strerror(-err));
		goto fail;
	}
	c->fork_progs = (struct tp_progs){ c->skel->progs.vg_profile_fork_btf,
					   c->skel->progs.vg_profile_fork_raw,
					   c->skel->progs.vg_profile_fork_tp };
	c->exec_progs = (struct tp_progs){ c->skel->progs.vg_profile_exec_btf,
					   c->skel->progs.vg_profile_exec_raw,
					   c->skel->progs.vg_profile_exec_tp };
	tp_progs__autoload(&c->fork_progs, o->attach, c->follow);
	tp_progs__autoload(&c->exec_progs, o->attach, true);
	err = profile_bpf__load(c->skel);
	if (err) {
		pr_err("loading the BPF program failed: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	err = filter_cfg__apply(f, c->skel->obj);
	if (err)
		goto fail;
	return c;
fail:
	cpu_collector__free(c);
	errno = -err;
	return NULL;
}

void cpu_collector__free(struct cpu_collector *c)
{
	if (!c)
		return;
	cpu_collector__detach(c);
	profile_bpf__destroy(c->skel);
	free(c);
}

struct bpf_object *cpu_collector__object(struct cpu_collector *c)
{
	return c->skel->obj;
}

const struct tp_progs *cpu_collector__exec_progs(struct cpu_collector *c)
{
	return &c->exec_progs;
}

struct bpf_map *cpu_collector__notices(struct cpu_collector *c)
{
	return c->skel->maps.events;
}

int cpu_collector__attach(struct cpu_collector *c)
{
	int err;

	/* followers first (the runner attached the exec hook), then the samplers */
	if (c->follow) {
		c->fork_link = tp_progs__attach(&c->fork_progs, c->o.attach);
		if (!c->fork_link) {
			err = -errno;
			pr_err("attaching to sched_process_fork (%s) failed: %s",
			       tp_attach_name(c->o.attach), strerror(errno));
			return err;
		}
	}
	c->pa = perf_attach__new(c->skel->progs.vg_profile_sample, c->o.event, c->o.freq);
	if (!c->pa) {
		err = -errno;
		pr_err("attaching to %s perf events failed: %s",
		       c->o.event == SAMPLE_CYCLES ? "cycles" : "cpu-clock", strerror(errno));
		return err;
	}
	return 0;
}

int cpu_collector__nr_cpus(const struct cpu_collector *c)
{
	return c->pa ? perf_attach__nr_cpus(c->pa) : 0;
}

void cpu_collector__detach(struct cpu_collector *c)
{
	/* the samplers first, so the counts stop moving */
	perf_attach__free(c->pa);
	c->pa = NULL;
	bpf_link__destroy(c->fork_link);
	c->fork_link = NULL;
}

struct profile *cpu_collector__read(struct cpu_collector *c, struct symbolizer *sym,
				    const struct profile_meta *meta, enum collect_read mode,
				    __u64 cnt[VG_CNT_NR])
{
	struct profile_meta m = *meta;
	struct profile *p = NULL;
	struct stack_resolver *res = NULL;
	struct vg_sample_key *keys = NULL;
	int stacks_fd = bpf_map__fd(c->skel->maps.stacks);
	int ustacks_fd = bpf_map__fd(c->skel->maps.ustacks);
	__u64 *vals = NULL, samples = 0, truncated = 0, trunc_keys;
	long n;
	int err;

	/* Counters before counts: a sample the full map dropped after this is the next read's. */
	err = counter_delta__read(&c->cd, bpf_map__fd(c->skel->maps.counters), mode, cnt);
	if (err) {
		pr_err("reading the loss counters failed: %s", strerror(-err));
		goto fail;
	}
	m.period = 1000000000ull / c->o.freq;
	p = profile__new(&m);
	if (!p) {
		err = -errno;
		goto fail;
	}
	n = (mode == COLLECT_INTERVAL ? map_drain_all : map_read_all)(
		bpf_map__fd(c->skel->maps.counts), sizeof(*keys), sizeof(*vals), (void **)&keys,
		(void **)&vals);
	if (n < 0) {
		err = (int)n;
		pr_err("reading sample counts failed: %s", strerror(-err));
		goto fail;
	}
	res = stack_resolver__new(sym, p, stacks_fd, ustacks_fd);
	if (!res) {
		err = -errno;
		goto fail;
	}
	for (long i = 0; i < n; i++) {
		const struct vg_sample_key *k = &keys[i];
		struct profile_stack s = { .pid = k->pid, .tid = k->tid, .count = vals[i] };
		char comm[VG_COMM_LEN + 1];

		memcpy(comm, k->comm, VG_COMM_LEN);
		comm[VG_COMM_LEN] = '\0';
		s.comm = comm;
		s.value = vals[i] * m.period;
		samples += vals[i];
		trunc_keys = stack_resolver__truncated(res);
		err = stack_resolver__frames(res, k->pid, k->ustack, k->kstack_id, &s.frames,
					     &s.nframes);
		if (stack_resolver__truncated(res) != trunc_keys)
			truncated += vals[i];
		if (!err)
			err = profile__add_stack(p, &s);
		if (err) {
			pr_err("building the profile failed: out of memory");
			goto fail;
		}
	}
	/* The BPF side keeps no event counter: the samples are the counts, plus those that found
	 * the counts map full. */
	cnt[VG_CNT_EVENTS] = samples + cnt[VG_CNT_MAP_FULL];
	cnt[VG_CNT_STACK_GONE] = stack_resolver__gone(res);
	cnt[VG_CNT_TRUNCATED] = truncated;
	if (mode == COLLECT_INTERVAL &&
	    (err = stack_maps_recycle(res, stacks_fd, ustacks_fd,
				      bpf_map__fd(c->skel->maps.ustacks_gen), c->o.stack_storage,
				      cnt)))
		pr_warn("clearing the stack maps failed: %s", strerror(-err));
	if (mode == COLLECT_TOTAL && c->o.unwind_mode != VG_UNWIND_CFI)
		stack_resolver__advise(res, "profile");
	stack_resolver__free(res);
	free(keys);
	free(vals);
	return p;
fail:
	stack_resolver__free(res);
	free(keys);
	free(vals);
	profile__free(p);
	errno = -err;
	return NULL;
}
