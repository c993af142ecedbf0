// SPDX-License-Identifier: GPL-2.0
/*
 * CPU profile: a perf_event program on every CPU's cpu-clock (or cycles) event. Each sample passes the
 * filters, collects the user and kernel stacks into a stack map and adds one to the in-kernel count of
 * its (process, thread, user stack, kernel stack). The first sample of a process also tells userspace
 * through the ring buffer, so it can snapshot the process's mappings while the process is alive.
 * Per-sample cost matters (every CPU, up to 10 kHz): no per-sample event counter and no
 * seen-process lookup unless the sample's key is new.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "common.bpf.h"
#include "unwind.bpf.h"
#include "vigil/profile.h"

const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, VG_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384); /* --stack-storage-size */
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized by userspace */
	__type(key, struct vg_sample_key);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline int handle_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct task_struct *task;
	struct vg_sample_key key;
	bool kthread, user_mode;

	if (!pass_filters(pid, tid)) {
		count(VG_CNT_FILTERED);
		return 0;
	}
	/* No event counter here: userspace sums the counts (and the map-full losses). */
	__builtin_memset(&key, 0, sizeof(key));
	key.pid = pid;
	key.tid = tid;
	if (unwind_mode != VG_UNWIND_KERNEL) {
		/* Kernels with bpf_task_pt_regs have BTF task pointers: plain loads, no helper calls. */
		struct task_struct *t = bpf_get_current_task_btf();

		kthread = t->flags & PF_KTHREAD;
		__builtin_memcpy(&key.comm, t->group_leader->comm, sizeof(key.comm));
	} else {
		task = (struct task_struct *)bpf_get_current_task();
		kthread = is_kthread(task);
		BPF_CORE_READ_STR_INTO(&key.comm, task, group_leader, comm);
	}
	user_mode = in_user_mode(ctx);
	if (!user_stacks || kthread)
		key.ustack = VG_USTACK_NONE;
	else
		key.ustack = get_user_stack_perf(ctx, &stacks, user_mode);
	key.kstack_id =
		kernel_stacks && !user_mode ? get_stack(ctx, &stacks, false) : VG_STACK_NONE;
	/* A process's first sample always makes a new key (and so does its first after an exec):
	 * only then can it be unannounced, which spares the common sample the seen_procs lookup. */
	if (add_to(&counts, &key, 1) && !kthread && pid)
		announce(pid, tid);
	return 0;
}

SEC("perf_event")
int vg_profile_sample(struct bpf_perf_event_data *ctx)
{
	return handle_sample(ctx);
}

/* -- COMMAND: children of followed processes join the filter. */
VG_FOLLOW_FORK_PROGS(vg_profile)

/* An exec replaces the image: its unwind tables are stale; announce it again on its next sample. */
VG_EXEC_PROGS(vg_profile, unwind_forget)

char LICENSE[] SEC("license") = "GPL";
