/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Limits, counter indices and ring-buffer records common to every collector. Included by BPF programs
 * (after vmlinux.h) and by userspace (after <linux/types.h>).
 */
#ifndef VIGIL_COMMON_H
#define VIGIL_COMMON_H

#define VG_COMM_LEN 16
#define VG_MAX_STACK_DEPTH 127 /* PERF_MAX_STACK_DEPTH's default */
#define VG_MAX_CPUS 1024

/* Values in the pid_filter map. */
#define VG_PID_ON 1 /* the process passes the filter */
#define VG_PID_ON_EXEC \
	2 /* the launched COMMAND before its exec (still vigil's code): passes from
			  * its exec on, as perf's enable_on_exec */

/* Stack ids that are not stack map ids. */
#define VG_STACK_NONE (-1) /* not collected (-U/-K, user mode for kernel, kernel thread) */
#define VG_STACK_LOST_COLLISION (-2) /* the stack map bucket held another stack (-EEXIST) */
#define VG_STACK_LOST_FULL (-3) /* the stack map had no free entry (-ENOMEM) */
#define VG_STACK_LOST_WALK (-4) /* the unwinder returned nothing (-EFAULT) */

/*
 * User stacks are referenced from aggregation keys by a __u64:
 *   VG_USTACK_NONE            not collected (-K, kernel thread)
 *   VG_USTACK_LOST_*          lost, for the reason given
 *   VG_USTACK_HASHED | h      walked by Vigil's own frame-pointer unwinder: the key of the stack in
 *                             the "ustacks" hash map (64-bit hash of its addresses)
 *   VG_USTACK_MAPID | id      walked by the kernel (bpf_get_stackid): id in the "stacks" stack map
 */
#define VG_USTACK_NONE 0ULL
#define VG_USTACK_LOST_COLLISION 1ULL
#define VG_USTACK_LOST_FULL 2ULL
#define VG_USTACK_LOST_WALK 3ULL
#define VG_USTACK_HASHED (1ULL << 63)
#define VG_USTACK_MAPID (1ULL << 62)

/* A user stack in the "ustacks" map: return addresses, leaf first, ended by 0 when shorter. */
struct vg_ustack {
	__u64 ips[VG_MAX_STACK_DEPTH];
};

/*
 * Per-CPU counters (a BPF_MAP_TYPE_PERCPU_ARRAY of __u64, summed by userspace). Each collector counts
 * what it saw and every way it lost data, so nothing is dropped silently.
 */
#define VG_CNT_EVENTS 0 /* events that passed the filters (samples, switches, ...) */
#define VG_CNT_USTACK_COLLISION 1
#define VG_CNT_KSTACK_COLLISION 2
#define VG_CNT_USTACK_FULL 3
#define VG_CNT_KSTACK_FULL 4
#define VG_CNT_USTACK_WALK 5
#define VG_CNT_KSTACK_WALK 6
#define VG_CNT_MAP_FULL 7 /* aggregation hash full: the event was dropped */
#define VG_CNT_RINGBUF_FULL 8 /* ring buffer reservation failed */
#define VG_CNT_FILTERED 9 /* events seen but filtered out (diagnostics) */
#define VG_CNT_FOLLOW_FULL 10 /* followed-process map full: a descendant was not followed */
#define VG_CNT_AUX_FULL 11 /* a collector's auxiliary map (start times, ...) was full */
/* Userspace-only (never incremented by BPF): a sample whose stack was cleared from its map before
 * the interval read that resolved it. */
#define VG_CNT_STACK_GONE 12
/* Userspace-only: a key whose stack filled every slot of the walk, cut at the depth limit. */
#define VG_CNT_TRUNCATED 13
/* Vigil's user-stack walk (bpf/unwind.bpf.h), one count per stack, by why it stopped early: */
#define VG_CNT_UNWIND_NO_MAP 14 /* a return address outside every executable mapping */
#define VG_CNT_UNWIND_FAULT 15 /* stack memory unreadable (paged out, or not a stack) */
#define VG_CNT_UNWIND_BAD 16 /* not a frame: the stack did not grow, misaligned frame pointer */
#define VG_CNT_UNWIND_DEPTH 17 /* --max-frames reached */
#define VG_CNT_UNWIND_NO_TABLE \
	18 /* walked before the process's tables were loaded (frame pointers) */
#define VG_CNT_UNWIND_FP 19 /* (not a loss) stacks with a frame-pointer step where CFI had no row */
#define VG_CNT_NR 24

/* Ring-buffer records: each starts with type and size (STYLE.md rule 3). */
#define VG_REC_NEW_PROC 1 /* first sample of a process: userspace snapshots its mappings */
#define VG_REC_UNWIND_REFRESH 2 /* a pc outside the known mappings: re-read them (unwind.h) */

struct vg_rec_hdr {
	__u32 type;
	__u32 size;
};

struct vg_rec_proc {
	struct vg_rec_hdr hdr;
	__u32 pid;
	__u32 tid;
};

#endif
