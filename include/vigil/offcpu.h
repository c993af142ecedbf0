/* SPDX-License-Identifier: GPL-2.0 */
/* Records shared between bpf/offcpu.bpf.c and userspace (vigil offcpu). */
#ifndef VIGIL_OFFCPU_H
#define VIGIL_OFFCPU_H

#include "vigil/common.h"

#define VG_OFFCPU_BLOCKED 0 /* time off-CPU, measured from switch-out to switch-in */
#define VG_OFFCPU_ONCPU 1 /* --wall: on-CPU samples, weighted by the sampling period */

/* --state */
#define VG_STATE_ANY 0
#define VG_STATE_S 1 /* TASK_INTERRUPTIBLE */
#define VG_STATE_D 2 /* TASK_UNINTERRUPTIBLE */

struct vg_offcpu_key {
	__u32 pid;
	__u32 tid;
	__s32 kstack_id;
	__u32 kind; /* VG_OFFCPU_* */
	__u64 ustack; /* VG_USTACK_* reference (common.h) */
	__u8 comm[VG_COMM_LEN];
	__u32 waker_pid; /* --wakers: the last task that woke it; 0 = unknown */
	__s32 waker_kstack_id;
	__u64 waker_ustack;
	__u8 waker_comm[VG_COMM_LEN];
};
#define VG_OFFCPU_KEY_SIZE 72

struct vg_offcpu_val {
	__u64 total_ns; /* off-CPU time, or samples x period for VG_OFFCPU_ONCPU */
	__u64 count; /* blocking episodes, or samples */
};

/* A task that is off-CPU now: when it left and what it was doing (and who woke it). */
struct vg_offcpu_start {
	__u64 ts; /* bpf_ktime_get_ns() at switch-out */
	struct vg_offcpu_key key;
};

/* --wall: a thread first seen switching in, blocked since before the capture. */
struct vg_offcpu_pending {
	__u64 ns; /* from max(capture start, thread start) to its first switch-in */
	__u32 pid;
	__u32 tid;
	__u8 comm[VG_COMM_LEN];
};

#endif
