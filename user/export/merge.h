/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal to the exporters: a profile's stacks merged the way text formats merge them, by display
 * name. A frame's display name is its function name with ';' and newlines replaced (folded stacks split
 * on ';') and, when asked, kernel frames suffixed "_[k]"; the root frame is the process name (or
 * "comm-tid"). Stacks with equal name sequences are summed.
 */
#ifndef VIGIL_EXPORT_MERGE_H
#define VIGIL_EXPORT_MERGE_H

#include "export/export.h"
#include "model/profile.h"

#define MERGE_KIND_PROCESS 4 /* the root frame: a process (or thread) name */

struct merged_stack {
	__u32 n;
	__u32 *names; /* indices into merged.names, root first */
	__u64 weight; /* profile__weight summed */
	__u64 count, value;
};

struct merged {
	char **names; /* unique display names */
	__u8 *kinds; /* enum frame_kind of each name, or MERGE_KIND_PROCESS */
	char **modules; /* module of each name's first frame ("" for process/special) */
	size_t nr_names;
	struct merged_stack *stacks;
	size_t nr_stacks;
	__u64 total_weight;
};

/* 0 or -ENOMEM. Zero-weight stacks are dropped. Stacks come out sorted by their name sequence. */
int merged__build(struct merged *m, const struct profile *p, const struct export_opts *o);
void merged__release(struct merged *m);

#endif
