// SPDX-License-Identifier: GPL-2.0
/*
 * Off-CPU time: at sched_switch the task leaving the CPU (the current task) records when and where it
 * blocked (its stacks); when it is switched back in, the time in between is added to its key. With
 * --wakers, sched_waking adds who woke it (the waker is the current task there). With --wall, a
 * perf_event program also samples on-CPU stacks, weighted by the sampling period, into the same map,
 * so one profile holds where all the wall-clock time of the target threads went.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "common.bpf.h"
#include "unwind.bpf.h"
#include "core_fixes.bpf.h"
#include "vigil/offcpu.h"

const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile __u64 min_ns = 1; /* -m */
const volatile __u64 max_ns = ~0ULL; /* -M */
const volatile __u32 state_filter = VG_STATE_ANY;
const volatile bool wakers = false; /* --wakers */
const volatile bool wall = false; /* --wall */
const volatile __u64 sample_period_ns = 0; /* --wall: weight of one on-CPU sample */

/* Set by userspace once everything is attached: time blocked before it counts from here (--wall). */
__u64 capture_start_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, VG_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct vg_offcpu_key);
	__type(value, struct vg_offcpu_val);
} counts SEC(".maps");

/* Tasks now off-CPU, by tid. A hash (not task storage) so userspace can account at stop for the
 * tasks still blocked then. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct vg_offcpu_start);
} start SEC(".maps");

/* --wall: threads first seen switching in (blocked since before the capture): the blocked time, to
 * be added to the stack at which they next block. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct vg_offcpu_pending);
} pending SEC(".maps");

/* Scratch space: the start record is too big for the 512-byte stack together with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_offcpu_start);
} scratch SEC(".maps");

static __always_inline void add_time(const struct vg_offcpu_key *key, __u64 ns, __u64 n)
{
	struct vg_offcpu_val *v = bpf_map_lookup_elem(&counts, key);

	if (!v) {
		struct vg_offcpu_val zero = {};

		bpf_map_update_elem(&counts, key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&counts, key);
		if (!v) {
			count(VG_CNT_MAP_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&v->total_ns, ns);
	__sync_fetch_and_add(&v->count, n);
}

static __always_inline bool state_wanted(long state)
{
	if (state_filter == VG_STATE_S)
		return state & 1; /* TASK_INTERRUPTIBLE */
	if (state_filter == VG_STATE_D)
		return state & 2; /* TASK_UNINTERRUPTIBLE */
	return true;
}

/* Fill key with the current task's identity and stacks. */
static __always_inline void current_key(void *ctx, struct vg_offcpu_key *key, __u32 kind,
					bool in_kernel)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	bool kthread = is_kthread(task);

	key->pid = id >> 32;
	key->tid = (__u32)id;
	key->kind = kind;
	BPF_CORE_READ_STR_INTO(&key->comm, task, group_leader, comm);
	key->ustack = user_stacks && !kthread ? get_user_stack(ctx, &stacks) : VG_USTACK_NONE;
	key->kstack_id =
		kernel_stacks && in_kernel ? get_stack(ctx, &stacks, false) : VG_STACK_NONE;
}

/* --wall: next switches in with no start record: it was blocked since before the capture (or since
 * it was born, if later). Hold that time until we know a stack. */
static __always_inline void note_pending(struct task_struct *next, __u32 next_tid, __u64 now)
{
	struct vg_offcpu_pending pend = {};
	__u64 since = capture_start_ns, born = BPF_CORE_READ(next, start_time);

	if (!since || now <= since || bpf_map_lookup_elem(&pending, &next_tid))
		return;
	pend.pid = BPF_CORE_READ(next, tgid);
	if (!pass_pid_filters(pend.pid, next_tid))
		return;
	if (born > since)
		since = born;
	if (now <= since)
		return;
	pend.ns = now - since;
	pend.tid = next_tid;
	BPF_CORE_READ_STR_INTO(&pend.comm, next, group_leader, comm);
	if (bpf_map_update_elem(&pending, &next_tid, &pend, BPF_NOEXIST))
		count(VG_CNT_AUX_FULL);
}

/*
 * A task's final switch-out (do_exit -> do_task_dead) is not a wait: it never comes back, and
 * charging it from there to the end of the capture would credit a dead task with the rest of the
 * capture. exit_notify() sets exit_state (EXIT_ZOMBIE or EXIT_DEAD) just before: in every attach
 * flavour the current task tells. (The classic tracepoint's prev_state maps TASK_REPORT_IDLE onto
 * the bit TASK_DEAD has in __state, so the state word alone cannot tell.)
 */
static __always_inline bool current_exiting(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, exit_state) != 0;
}

/*
 * prev (the current task) leaves the CPU in state prev_state; next_tid comes in. next is NULL when
 * unknown (classic tracepoint), which only disables the --wall start-up accounting.
 */
static __always_inline int handle_switch(void *ctx, long prev_state, __u32 next_tid,
					 struct task_struct *next)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 prev_tid = (__u32)id, zero = 0;
	struct vg_offcpu_start *s;

	/* prev: remember where and when it blocked. */
	if (prev_tid && pass_filters(id >> 32, prev_tid) && state_wanted(prev_state) &&
	    !current_exiting()) {
		s = bpf_map_lookup_elem(&scratch, &zero);
		if (s) {
			__builtin_memset(&s->key, 0, sizeof(s->key));
			current_key(ctx, &s->key, VG_OFFCPU_BLOCKED, true);
			s->ts = now;
			if (wall) {
				/* Time blocked before the capture goes to where the thread blocks
				 * now, its next blocking point. */
				struct vg_offcpu_pending *p =
					bpf_map_lookup_elem(&pending, &prev_tid);

				if (p) {
					add_time(&s->key, p->ns, 1);
					bpf_map_delete_elem(&pending, &prev_tid);
				}
			}
			if (bpf_map_update_elem(&start, &prev_tid, s, BPF_ANY))
				count(VG_CNT_AUX_FULL);
		}
	}

	/* next: its blocked time ends now. */
	if (!next_tid)
		return 0;
	s = bpf_map_lookup_elem(&start, &next_tid);
	if (s) {
		__u64 delta = now - s->ts;

		if (delta >= min_ns && delta <= max_ns) {
			count(VG_CNT_EVENTS);
			add_time(&s->key, delta, 1);
		}
		bpf_map_delete_elem(&start, &next_tid);
	} else if (wall && next) {
		note_pending(next, next_tid, now);
	}
	return 0;
}

/* --wakers: the waker (current) wakes p; note it on p's start record if p is tracked. */
static __always_inline int handle_waking(void *ctx, __u32 tid)
{
	struct vg_offcpu_start *s;
	struct task_struct *task;
	__u64 id;

	if (!wakers)
		return 0;
	s = bpf_map_lookup_elem(&start, &tid);
	if (!s)
		return 0;
	id = bpf_get_current_pid_tgid();
	task = (struct task_struct *)bpf_get_current_task();
	s->key.waker_pid = id >> 32;
	BPF_CORE_READ_STR_INTO(&s->key.waker_comm, task, group_leader, comm);
	s->key.waker_ustack =
		user_stacks && !is_kthread(task) ? get_user_stack(ctx, &stacks) : VG_USTACK_NONE;
	s->key.waker_kstack_id = kernel_stacks ? get_stack(ctx, &stacks, false) : VG_STACK_NONE;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(vg_offcpu_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, get_task_state(prev), BPF_CORE_READ(next, pid), next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(vg_offcpu_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, get_task_state(prev), BPF_CORE_READ(next, pid), next);
}

SEC("tracepoint/sched/sched_switch")
int vg_offcpu_switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	return handle_switch(ctx, BPF_CORE_READ(ctx, prev_state), BPF_CORE_READ(ctx, next_pid),
			     NULL);
}

SEC("tp_btf/sched_waking")
int BPF_PROG(vg_offcpu_waking_btf, struct task_struct *p)
{
	return handle_waking(ctx, BPF_CORE_READ(p, pid));
}

SEC("raw_tp/sched_waking")
int BPF_PROG(vg_offcpu_waking_raw, struct task_struct *p)
{
	return handle_waking(ctx, BPF_CORE_READ(p, pid));
}

SEC("tracepoint/sched/sched_waking")
int vg_offcpu_waking_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	return handle_waking(ctx, BPF_CORE_READ(ctx, pid));
}

/* --wall: on-CPU samples in the same map, weighted by the period. */
SEC("perf_event")
int vg_offcpu_oncpu(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct vg_offcpu_start *s;
	__u32 zero = 0;

	if (!pass_filters(id >> 32, (__u32)id))
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	__builtin_memset(&s->key, 0, sizeof(s->key));
	current_key(ctx, &s->key, VG_OFFCPU_ONCPU, !in_user_mode(ctx));
	count(VG_CNT_EVENTS);
	add_time(&s->key, sample_period_ns, 1);
	return 0;
}

VG_FOLLOW_FORK_PROGS(vg_offcpu)
/* An exec replaces the image: its unwind tables are stale. */
VG_EXEC_PROGS(vg_offcpu, unwind_forget)

char LICENSE[] SEC("license") = "GPL";
