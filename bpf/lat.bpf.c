// SPDX-License-Identifier: GPL-2.0
/*
 * Latency histograms aggregated in the kernel (vigil lat): syscall (sys_enter → sys_exit), run queue
 * (wake-up or preemption → running), block I/O (issue → complete) and user functions (uprobe →
 * uretprobe). Userspace autoloads one mode's programs in one attach flavour.
 *
 * The syscall path is the hot one (every syscall on the host): its start time lives in task storage
 * when the kernel has it (no hash lookups), and without -P/-C its histograms are a per-CPU array
 * indexed by syscall number (no hashing, no atomics).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "vigil/lat.h"

const volatile bool per_process = false; /* -P */
const volatile bool per_cpu = false; /* -C */
const volatile bool filter_syscalls = false; /* -e */
const volatile bool use_task_storage = true;

/* Histograms without -P/-C, per CPU and indexed (syscall number; 0 for runq): the hot paths
 * of the two highest-rate modes then need no hash lookup and no atomic add. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VG_LAT_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct vg_hist);
} flat_hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct vg_lat_key);
	__type(value, struct vg_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VG_LAT_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u8);
} syscall_filter SEC(".maps");

struct sys_start {
	__u64 ts;
	__u64 nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sys_start);
} sys_task_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct sys_start);
} sys_hash_start SEC(".maps");

/* Run queue and uprobe start times by tid; block I/O by request. */
struct runq_start {
	__u64 ts;
	__u32 pid;
	__u32 pad;
	__u8 comm[VG_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct runq_start);
} tid_start SEC(".maps");

struct bio_start {
	__u64 ts;
	__u32 dev;
	__u32 op;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct bio_start);
} bio_start SEC(".maps");

static __always_inline void hist_add(struct vg_hist *h, __u64 delta, bool error, bool atomic)
{
	__u32 b = vg_hist_bucket(delta), l = vg_le_bucket(delta);

	if (b >= VG_HIST_BUCKETS)
		b = VG_HIST_BUCKETS - 1;
	if (l > VG_LE_BOUNDS)
		l = VG_LE_BOUNDS;
	if (atomic) {
		__sync_fetch_and_add(&h->count, 1);
		__sync_fetch_and_add(&h->sum_ns, delta);
		__sync_fetch_and_add(&h->buckets[b], 1);
		__sync_fetch_and_add(&h->le[l], 1);
		if (error)
			__sync_fetch_and_add(&h->errors, 1);
	} else {
		h->count++;
		h->sum_ns += delta;
		h->buckets[b]++;
		h->le[l]++;
		if (error)
			h->errors++;
	}
	/* A racy maximum: a lost update under contention only understates it by one value. */
	if (delta > h->max_ns)
		h->max_ns = delta;
}

static __always_inline struct vg_hist *hist_for(const struct vg_lat_key *key)
{
	struct vg_hist *h = bpf_map_lookup_elem(&hists, key);

	if (!h) {
		static const struct vg_hist zero;

		bpf_map_update_elem(&hists, key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, key);
		if (!h)
			count(VG_CNT_MAP_FULL);
	}
	return h;
}

static __always_inline void key_current(struct vg_lat_key *k, __u32 pid)
{
	if (per_process) {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();

		k->pid = pid;
		BPF_CORE_READ_STR_INTO(&k->comm, t, group_leader, comm);
	}
	if (per_cpu)
		k->cpu = bpf_get_smp_processor_id();
}

/* ---- syscalls ---- */

/*
 * The hot path: every syscall on the host. Each clock read costs about 100 ns in a kvm-clock guest,
 * so they happen only for syscalls that are timed; helper calls only where their result is used.
 */
static __always_inline int sys_enter(__u64 nr)
{
	struct sys_start *s, tmp;
	__u32 tid, n = (__u32)nr;

	if (filter_pid || filter_tid || filter_cgroup) {
		__u64 id = bpf_get_current_pid_tgid();

		if (!pass_filters(id >> 32, (__u32)id))
			return 0;
	}
	if (filter_syscalls) {
		__u8 *want = bpf_map_lookup_elem(&syscall_filter, &n);

		if (!want || !*want)
			return 0;
	}
	if (use_task_storage) {
		s = bpf_task_storage_get(&sys_task_start, bpf_get_current_task_btf(), 0,
					 BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!s) {
			count(VG_CNT_AUX_FULL);
			return 0;
		}
		s->ts = bpf_ktime_get_ns();
		s->nr = nr + 1; /* 0 = no syscall in flight */
		return 0;
	}
	tid = (__u32)bpf_get_current_pid_tgid();
	tmp.ts = bpf_ktime_get_ns();
	tmp.nr = nr + 1;
	if (bpf_map_update_elem(&sys_hash_start, &tid, &tmp, BPF_ANY))
		count(VG_CNT_AUX_FULL);
	return 0;
}

static __always_inline int sys_exit(long ret)
{
	struct sys_start *s;
	struct vg_hist *h;
	__u64 nr, delta;
	__u32 tid = 0;

	if (use_task_storage) {
		s = bpf_task_storage_get(&sys_task_start, bpf_get_current_task_btf(), 0, 0);
	} else {
		tid = (__u32)bpf_get_current_pid_tgid();
		s = bpf_map_lookup_elem(&sys_hash_start, &tid);
	}
	if (!s || !s->nr)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	nr = s->nr - 1;
	if (use_task_storage)
		s->nr = 0;
	else
		bpf_map_delete_elem(&sys_hash_start, &tid);
	/* The number of events is the histograms' count: no counter lookup here. */
	if (!per_process && !per_cpu) {
		__u32 n = (__u32)nr;

		h = bpf_map_lookup_elem(&flat_hists, &n);
		if (h)
			hist_add(h, delta, ret < 0, false);
		return 0;
	}
	{
		struct vg_lat_key k = { .id = (__u32)nr };

		key_current(&k, bpf_get_current_pid_tgid() >> 32);
		h = hist_for(&k);
		if (h)
			hist_add(h, delta, ret < 0, true);
	}
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(vg_lat_sys_enter_btf, struct pt_regs *regs, long id)
{
	return sys_enter(id);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(vg_lat_sys_enter_raw, struct pt_regs *regs, long id)
{
	return sys_enter(id);
}

SEC("tracepoint/raw_syscalls/sys_enter")
int vg_lat_sys_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return sys_enter(ctx->id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(vg_lat_sys_exit_btf, struct pt_regs *regs, long ret)
{
	return sys_exit(ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(vg_lat_sys_exit_raw, struct pt_regs *regs, long ret)
{
	return sys_exit(ret);
}

SEC("tracepoint/raw_syscalls/sys_exit")
int vg_lat_sys_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(ctx->ret);
}

/* ---- run queue: from wake-up (or preemption) to running ---- */

/* The wake-up (or preemption) time of a queued task. With tp_btf the task pointers are trusted
 * and the time lives in task storage (no hash update and delete per switch); raw_tp and classic
 * tracepoints, and kernels without task storage, use the tid hash. ts 0: not queued. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct runq_start);
} runq_task_start SEC(".maps");

/* btf: the same task as t where the program has a trusted pointer to it (tp_btf), else NULL. */
static __always_inline void runq_enqueue(__u32 tid, __u32 tgid, struct task_struct *t,
					 struct task_struct *btf)
{
	struct runq_start tmp = {}, *s;

	if (!tid || !pass_pid_filters(tgid, tid))
		return;
	/* Two fills, not one through a pointer to either record: merged, the compiler offsets
	 * the storage pointer before its NULL check, which the verifier rejects. */
	if (use_task_storage && btf) {
		s = bpf_task_storage_get(&runq_task_start, btf, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!s) {
			count(VG_CNT_AUX_FULL);
			return;
		}
		s->ts = bpf_ktime_get_ns();
		s->pid = tgid;
		if (per_process)
			BPF_CORE_READ_STR_INTO(&s->comm, btf, group_leader, comm);
		return;
	}
	tmp.ts = bpf_ktime_get_ns();
	tmp.pid = tgid;
	if (per_process && t)
		BPF_CORE_READ_STR_INTO(&tmp.comm, t, group_leader, comm);
	if (bpf_map_update_elem(&tid_start, &tid, &tmp, BPF_ANY))
		count(VG_CNT_AUX_FULL);
}

static __always_inline void runq_switch(long prev_state, __u32 prev_tid, __u32 prev_tgid,
					struct task_struct *prev, __u32 next_tid,
					struct task_struct *prev_btf, struct task_struct *next_btf)
{
	struct vg_lat_key k = {};
	struct runq_start *s;
	struct vg_hist *h;
	__u64 delta;
	bool storage = use_task_storage && next_btf;

	/* A preempted task is back on the run queue from now. */
	if (prev_state == 0 /* TASK_RUNNING */)
		runq_enqueue(prev_tid, prev_tgid, prev, prev_btf);
	if (storage)
		s = bpf_task_storage_get(&runq_task_start, next_btf, 0, 0);
	else
		s = bpf_map_lookup_elem(&tid_start, &next_tid);
	if (!s || !s->ts)
		return;
	delta = bpf_ktime_get_ns() - s->ts;
	if (per_process) {
		k.pid = s->pid;
		__builtin_memcpy(k.comm, s->comm, sizeof(k.comm));
	}
	if (storage)
		s->ts = 0;
	else
		bpf_map_delete_elem(&tid_start, &next_tid);
	if (!per_process && !per_cpu) {
		__u32 zero = 0;

		h = bpf_map_lookup_elem(&flat_hists, &zero);
		if (h)
			hist_add(h, delta, false, false);
		return;
	}
	if (per_cpu)
		k.cpu = bpf_get_smp_processor_id();
	h = hist_for(&k);
	if (h)
		hist_add(h, delta, false, true);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(vg_lat_wakeup_btf, struct task_struct *p)
{
	runq_enqueue(p->pid, p->tgid, p, p);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(vg_lat_wakeup_raw, struct task_struct *p)
{
	runq_enqueue(BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid), p, NULL);
	return 0;
}

SEC("tracepoint/sched/sched_wakeup")
int vg_lat_wakeup_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	/* No task pointer here: the tid stands in for the process. */
	__u32 tid = BPF_CORE_READ(ctx, pid);

	runq_enqueue(tid, tid, NULL, NULL);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(vg_lat_wakeup_new_btf, struct task_struct *p)
{
	runq_enqueue(p->pid, p->tgid, p, p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(vg_lat_wakeup_new_raw, struct task_struct *p)
{
	runq_enqueue(BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid), p, NULL);
	return 0;
}

SEC("tracepoint/sched/sched_wakeup_new")
int vg_lat_wakeup_new_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	__u32 tid = BPF_CORE_READ(ctx, pid);

	runq_enqueue(tid, tid, NULL, NULL);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(vg_lat_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	runq_switch(get_task_state(prev), prev->pid, prev->tgid, prev, next->pid, prev, next);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(vg_lat_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	runq_switch(get_task_state(prev), BPF_CORE_READ(prev, pid), BPF_CORE_READ(prev, tgid), prev,
		    BPF_CORE_READ(next, pid), NULL, NULL);
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int vg_lat_switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	runq_switch(BPF_CORE_READ(ctx, prev_state), (__u32)id, id >> 32, NULL,
		    BPF_CORE_READ(ctx, next_pid), NULL, NULL);
	return 0;
}

/* ---- block I/O: issue → complete, per disk and operation ---- */

/* Kernel 5.17 (commit f3fa33acca9f, "block: remove the ->rq_disk field in struct request") moved the
 * disk to rq->q->disk. */
struct request___x {
	struct request_queue *q;
	struct gendisk *rq_disk;
	unsigned int cmd_flags;
} __attribute__((preserve_access_index));

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct request___x *r = (void *)rq;
	struct gendisk *disk;

	if (bpf_core_field_exists(r->rq_disk))
		disk = BPF_CORE_READ(r, rq_disk);
	else
		disk = BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0;
	return (BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor);
}

static __always_inline __u32 op_of(__u32 flags)
{
	__u32 op = flags & 0xff; /* REQ_OP_MASK */

	return op == 0 ? VG_BIO_READ : op == 1 ? VG_BIO_WRITE : VG_BIO_OTHER;
}

static __always_inline void bio_issue(__u64 id, __u32 dev, __u32 op)
{
	struct bio_start s = { .ts = bpf_ktime_get_ns(), .dev = dev, .op = op };

	if (bpf_map_update_elem(&bio_start, &id, &s, BPF_ANY))
		count(VG_CNT_AUX_FULL);
}

static __always_inline void bio_complete(__u64 id)
{
	struct bio_start *s = bpf_map_lookup_elem(&bio_start, &id);
	struct vg_lat_key k = {};
	struct vg_hist *h;
	__u64 delta;

	if (!s)
		return;
	delta = bpf_ktime_get_ns() - s->ts;
	k.id = s->dev;
	k.op = s->op;
	bpf_map_delete_elem(&bio_start, &id);
	h = hist_for(&k);
	if (h)
		hist_add(h, delta, false, true);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(vg_lat_bio_issue_btf, struct request *rq)
{
	bio_issue((__u64)rq, rq_dev(rq), op_of(BPF_CORE_READ((struct request___x *)rq, cmd_flags)));
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(vg_lat_bio_issue_raw, struct request *rq)
{
	bio_issue((__u64)rq, rq_dev(rq), op_of(BPF_CORE_READ((struct request___x *)rq, cmd_flags)));
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(vg_lat_bio_done_btf, struct request *rq)
{
	bio_complete((__u64)rq);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(vg_lat_bio_done_raw, struct request *rq)
{
	bio_complete((__u64)rq);
	return 0;
}

/* Classic tracepoints carry no request pointer: (device, sector) identifies the request. */
static __always_inline __u64 dev_sector_id(__u32 dev, __u64 sector)
{
	return ((__u64)dev << 44) ^ sector;
}

static __always_inline __u32 op_of_rwbs(const char *rwbs)
{
	char c = rwbs[0];

	if (c == 'F' || c == 'D')
		return VG_BIO_OTHER;
	return c == 'W' ? VG_BIO_WRITE : c == 'R' ? VG_BIO_READ : VG_BIO_OTHER;
}

/* The kernel's dev_t (MAJOR << 20 | MINOR) is what the tracepoints report. */
SEC("tracepoint/block/block_rq_issue")
int vg_lat_bio_issue_tp(struct trace_event_raw_block_rq *ctx)
{
	char rwbs[8];
	__u32 dev = BPF_CORE_READ(ctx, dev);

	bpf_probe_read_kernel(rwbs, sizeof(rwbs), ctx->rwbs);
	bio_issue(dev_sector_id(dev, BPF_CORE_READ(ctx, sector)), dev, op_of_rwbs(rwbs));
	return 0;
}

SEC("tracepoint/block/block_rq_complete")
int vg_lat_bio_done_tp(struct trace_event_raw_block_rq_completion *ctx)
{
	bio_complete(dev_sector_id(BPF_CORE_READ(ctx, dev), BPF_CORE_READ(ctx, sector)));
	return 0;
}

/* ---- user functions: uprobe → uretprobe ---- */

SEC("uprobe")
int BPF_KPROBE(vg_lat_uprobe_entry)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct runq_start s = {};

	if (!pass_filters(id >> 32, tid))
		return 0;
	s.ts = bpf_ktime_get_ns();
	s.pid = id >> 32;
	if (bpf_map_update_elem(&tid_start, &tid, &s, BPF_ANY))
		count(VG_CNT_AUX_FULL);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(vg_lat_uprobe_exit)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct runq_start *s = bpf_map_lookup_elem(&tid_start, &tid);
	struct vg_lat_key k = {};
	struct vg_hist *h;
	__u64 delta;

	if (!s)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	bpf_map_delete_elem(&tid_start, &tid);
	key_current(&k, id >> 32);
	h = hist_for(&k);
	if (h)
		hist_add(h, delta, false, true);
	return 0;
}

/* -- COMMAND: children of followed processes join the filter; COMMAND counts from its exec. */
VG_FOLLOW_FORK_PROGS(vg_lat)
VG_EXEC_PROGS(vg_lat, exec_nothing_else)

char LICENSE[] SEC("license") = "GPL";
