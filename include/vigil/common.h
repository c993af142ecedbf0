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

/* Stack ids that are not stack map ids. */
#define VG_STACK_NONE (-1) /* not collected (-U/-K, user mode for kernel, kernel thread) */
#define VG_STACK_LOST_COLLISION (-2) /* the stack map bucket held another stack (-EEXIST) */
#define VG_STACK_LOST_FULL (-3) /* the stack map had no free entry (-ENOMEM) */
#define VG_STACK_LOST_WALK (-4) /* the unwinder returned nothing (-EFAULT) */

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
#define VG_CNT_NR 16

/* Ring-buffer records: each starts with type and size (STYLE.md rule 3). */
#define VG_REC_NEW_PROC 1 /* first sample of a process: userspace snapshots its mappings */

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
