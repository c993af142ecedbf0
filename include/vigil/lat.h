/* SPDX-License-Identifier: GPL-2.0 */
/* Records shared between bpf/lat.bpf.c and userspace (vigil lat). */
#ifndef VIGIL_LAT_H
#define VIGIL_LAT_H

#include "vigil/common.h"
#include "vigil/hist.h"

#define VG_LAT_SYSCALL 1
#define VG_LAT_RUNQ 2
#define VG_LAT_BIO 3
#define VG_LAT_UPROBE 4

#define VG_LAT_MAX_SYSCALLS 1024 /* syscall numbers below this one are tracked by array index */

#define VG_BIO_READ 0
#define VG_BIO_WRITE 1
#define VG_BIO_OTHER 2

/* Histogram key (hash mode: -P, -C, bio, or uprobe). Unused fields are zero. */
struct vg_lat_key {
	__u32 id; /* syscall number; bio: device (major << 20 | minor) */
	__u32 pid; /* -P */
	__u32 cpu; /* -C */
	__u32 op; /* bio: VG_BIO_* */
	__u8 comm[VG_COMM_LEN]; /* -P: process name */
};
#define VG_LAT_KEY_SIZE 32

#endif
