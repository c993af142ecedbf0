/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pieces every collector shares: the process/thread/cgroup filters (configured through rodata and filter
 * maps by user/filter.c), the followed-descendants map, loss counters and stack collection.
 * Include after vmlinux.h and the libbpf headers.
 */
#ifndef VIGIL_COMMON_BPF_H
#define VIGIL_COMMON_BPF_H

#include "vigil/common.h"

#define VG_FILTER_ENTRIES 65536
#define PF_KTHREAD 0x00200000
#define EEXIST 17
#define ENOMEM 12
#define EFAULT 14

/* Filters: each is off unless userspace sets its flag before load. */
const volatile bool filter_pid = false; /* pass only tgids in pid_filter */
const volatile bool filter_tid = false; /* pass only tids in tid_filter */
const volatile bool filter_cgroup = false; /* pass only tasks under cgroup_filter[0] */
const volatile bool follow_forks = false; /* children of a tgid in pid_filter join it */
const volatile bool include_idle = false; /* pass the idle task (pid 0) */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VG_FILTER_ENTRIES);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VG_FILTER_ENTRIES);
	__type(key, __u32);
	__type(value, __u8);
} tid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VG_CNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		(*c)++;
}

/* The pid and tid filters, for any task (e.g. the one being switched in, or woken). */
static __always_inline bool pass_pid_filters(__u32 tgid, __u32 tid)
{
	if (!tid && !include_idle)
		return false;
	if (filter_pid) {
		__u8 *on = bpf_map_lookup_elem(&pid_filter, &tgid);

		if (!on || *on != VG_PID_ON)
			return false;
	}
	if (filter_tid && !bpf_map_lookup_elem(&tid_filter, &tid))
		return false;
	return true;
}

/* Every filter, for the current task (the cgroup test can only look at the current task). */
static __always_inline bool pass_filters(__u32 tgid, __u32 tid)
{
	if (!pass_pid_filters(tgid, tid))
		return false;
	return !filter_cgroup || bpf_current_task_under_cgroup(&cgroup_filter, 0) == 1;
}

/* A child of a followed process joins the pid filter (-- COMMAND follows all descendants). */
static __always_inline void follow_fork(__u32 ptgid, __u32 ctgid)
{
	__u8 one = VG_PID_ON, *on;

	if (!follow_forks || ptgid == ctgid)
		return;
	on = bpf_map_lookup_elem(&pid_filter, &ptgid);
	if (!on || *on != VG_PID_ON)
		return;
	if (bpf_map_update_elem(&pid_filter, &ctgid, &one, BPF_ANY))
		count(VG_CNT_FOLLOW_FULL);
}

/*
 * The sched_process_fork hook in its three attach flavours; the loader autoloads the one that works
 * here (features.c: tp_btf, else raw_tp, else a classic tracepoint). The classic tracepoint carries
 * no task pointers: the parent is the current task, and the child's pid is its tgid unless the child
 * is a thread, which changes nothing for a tgid filter.
 */
#define VG_FOLLOW_FORK_PROGS(prefix)                                                           \
	SEC("tp_btf/sched_process_fork")                                                       \
	int BPF_PROG(prefix##_fork_btf, struct task_struct *parent, struct task_struct *child) \
	{                                                                                      \
		follow_fork(BPF_CORE_READ(parent, tgid), BPF_CORE_READ(child, tgid));          \
		return 0;                                                                      \
	}                                                                                      \
	SEC("raw_tp/sched_process_fork")                                                       \
	int BPF_PROG(prefix##_fork_raw, struct task_struct *parent, struct task_struct *child) \
	{                                                                                      \
		follow_fork(BPF_CORE_READ(parent, tgid), BPF_CORE_READ(child, tgid));          \
		return 0;                                                                      \
	}                                                                                      \
	SEC("tracepoint/sched/sched_process_fork")                                             \
	int prefix##_fork_tp(struct trace_event_raw_sched_process_fork *ctx)                   \
	{                                                                                      \
		follow_fork(bpf_get_current_pid_tgid() >> 32, BPF_CORE_READ(ctx, child_pid));  \
		return 0;                                                                      \
	}

/* The current task execs: a launched COMMAND counts from here on (VG_PID_ON_EXEC). */
static __always_inline __u32 enable_on_exec(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 *on = bpf_map_lookup_elem(&pid_filter, &tgid);

	if (on && *on == VG_PID_ON_EXEC)
		*on = VG_PID_ON;
	return tgid;
}

/*
 * The sched_process_exec hook in its three flavours: enable_on_exec(), then also(tgid) for the
 * collector's own needs. The exec'ing task is the current task in all three.
 */
#define VG_EXEC_PROGS(prefix, also)                            \
	SEC("tp_btf/sched_process_exec")                       \
	int BPF_PROG(prefix##_exec_btf, struct task_struct *p) \
	{                                                      \
		also(enable_on_exec());                        \
		return 0;                                      \
	}                                                      \
	SEC("raw_tp/sched_process_exec")                       \
	int BPF_PROG(prefix##_exec_raw, struct task_struct *p) \
	{                                                      \
		also(enable_on_exec());                        \
		return 0;                                      \
	}                                                      \
	SEC("tracepoint/sched/sched_process_exec")             \
	int prefix##_exec_tp(void *ctx)                        \
	{                                                      \
		also(enable_on_exec());                        \
		return 0;                                      \
	}

static __always_inline void exec_nothing_else(__u32 tgid)
{
	(void)tgid;
}

/* A stack id, or a VG_STACK_LOST_* code with the loss counted. */
static __always_inline __s32 get_stack(void *ctx, void *map, bool user)
{
	long id = bpf_get_stackid(ctx, map, user ? BPF_F_USER_STACK : 0);

	if (id >= 0)
		return id;
	if (id == -EEXIST) {
		count(user ? VG_CNT_USTACK_COLLISION : VG_CNT_KSTACK_COLLISION);
		return VG_STACK_LOST_COLLISION;
	}
	if (id == -ENOMEM) {
		count(user ? VG_CNT_USTACK_FULL : VG_CNT_KSTACK_FULL);
		return VG_STACK_LOST_FULL;
	}
	count(user ? VG_CNT_USTACK_WALK : VG_CNT_KSTACK_WALK);
	return VG_STACK_LOST_WALK;
}

/* Did the perf event interrupt user mode? Then there is no kernel stack to walk. */
static __always_inline bool in_user_mode(struct bpf_perf_event_data *ctx)
{
	/* The verifier allows only full-width loads from the context: read the whole register. */
#if defined(__TARGET_ARCH_x86)
	return (*(volatile __u64 *)&ctx->regs.cs & 3) == 3;
#elif defined(__TARGET_ARCH_arm64)
	return (*(volatile __u64 *)&ctx->regs.pstate & 0xf) == 0;
#else
	return false;
#endif
}

static __always_inline bool is_kthread(struct task_struct *task)
{
	return BPF_CORE_READ(task, flags) & PF_KTHREAD;
}

/* Add delta to *map[key], creating the entry; counts VG_CNT_MAP_FULL when the map is full.
 * True when the key was new (or could not be stored). */
static __always_inline bool add_to(void *map, const void *key, __u64 delta)
{
	__u64 *v = bpf_map_lookup_elem(map, key), zero = 0;

	if (v) {
		__sync_fetch_and_add(v, delta);
		return false;
	}
	/* -EEXIST (another CPU created it first) is fine; the lookup decides. */
	bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v) {
		count(VG_CNT_MAP_FULL);
		return true;
	}
	__sync_fetch_and_add(v, delta);
	return true;
}

#endif
