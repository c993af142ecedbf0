/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Side-band records from the kernel, the way perf gets them: a dummy software event on every CPU with
 * mmap2/comm/task tracking, read through libbpf's raw perf buffer. Every executable mapping, fork and
 * exec on the host reaches the symbolizer, so processes that are born and die within a capture still
 * resolve. Records lost to a full buffer are counted.
 */
#ifndef VIGIL_SIDEBAND_H
#define VIGIL_SIDEBAND_H

#include <linux/types.h>

struct symbolizer;
struct sideband;

/* Starts tracking now. NULL + errno (the caller may go on without it: snapshots still work). */
struct sideband *sideband__new(struct symbolizer *sym);
/* NULL-safe; reads nothing more. */
void sideband__free(struct sideband *sb);
/* An fd that becomes readable when records are waiting (for session__add_fd). */
int sideband__fd(const struct sideband *sb);
/* Read every waiting record. 0 or -errno. */
int sideband__drain(struct sideband *sb);
/* Records lost by the kernel because the buffer was full. */
__u64 sideband__lost(const struct sideband *sb);

#endif
