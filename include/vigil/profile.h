/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Records shared between bpf/profile.bpf.c and userspace. Fixed-width types only, explicit padding;
 * userspace checks the sizes with _Static_assert.
 */
#ifndef VIGIL_PROFILE_H
#define VIGIL_PROFILE_H

#include "vigil/common.h"

/* Key of the in-kernel sample counts: one entry per (process, thread, user stack, kernel stack). */
struct vg_sample_key {
	__u32 pid; /* tgid */
	__u32 tid;
	__s32 kstack_id; /* stack map id; VG_STACK_NONE or VG_STACK_LOST_* when absent */
	__u32 pad;
	__u64 ustack; /* VG_USTACK_* reference (common.h) */
	__u8 comm[VG_COMM_LEN]; /* process (group leader) name */
};

#define VG_PROFILE_SAMPLE_KEY_SIZE 40

#endif
