/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From BPF maps to the profile model: read an aggregation hash in bulk, and turn (process, thread,
 * user stack id, kernel stack id, count, value) entries into symbolized profile stacks. Shared by every
 * stack collector (profile, offcpu, mem) so each does its readout the same way.
 *
 * A stack_resolver caches each resolved stack (kernel stacks by id, user stacks by process and id), so
 * a stack seen under many keys is read from the stack map and symbolized once. It borrows the
 * symbolizer and the profile; not thread-safe.
 */
#ifndef VIGIL_COLLECT_H
#define VIGIL_COLLECT_H

#include <stddef.h>
#include <linux/types.h>

#include "vigil/common.h"

struct profile;
struct symbolizer;

/*
 * Read every entry of a BPF hash map into two new arrays (keys then values, packed). Uses batch
 * lookups when the kernel has them. Returns the number of entries or -errno; free both arrays.
 */
long map_read_all(int map_fd, size_t key_size, size_t value_size, void **keys, void **values);

/* The same, deleting each entry as it is read (interval reads): an update after an entry's
 * deletion starts a new entry, counted by the next read. (An increment racing the deletion itself,
 * between the BPF program's lookup and its atomic add, a window of nanoseconds, can be lost.) */
long map_drain_all(int map_fd, size_t key_size, size_t value_size, void **keys, void **values);
/* Delete every entry of a hash or stack map. 0 or -errno. */
int map_clear(int map_fd, size_t key_size);

/* Sum a per-CPU array of __u64 counters (e.g. the "counters" map) into out[0..n). 0 or -errno. */
int read_percpu_counters(int map_fd, __u64 *out, __u32 n);

struct stack_resolver;

/*
 * stack_map_fd: the collector's BPF stack map (kernel stacks, and user stacks the kernel walked);
 * ustack_map_fd: its "ustacks" hash map (user stacks Vigil's own unwinder walked). NULL + errno.
 */
struct stack_resolver *stack_resolver__new(struct symbolizer *sym, struct profile *p,
					   int stack_map_fd, int ustack_map_fd);
void stack_resolver__free(struct stack_resolver *r);

/*
 * The frames of one sample, root first: user frames then kernel frames, both resolved and added to the
 * profile. ustack is a VG_USTACK_* reference; kstack_id a stack map id or VG_STACK_*. A lost stack
 * adds one "[user stack lost: ...]" (or kernel) frame. The returned array belongs to the resolver
 * (valid until the next call). 0 or -errno.
 */
int stack_resolver__frames(struct stack_resolver *r, __u32 pid, __u64 ustack, __s32 kstack_id,
			   const __u32 **frames, __u32 *nframes);

/* Stacks resolved so far whose map entry was gone (cleared before the read): VG_CNT_STACK_GONE. */
__u64 stack_resolver__gone(const struct stack_resolver *r);
/* Keys handed out with a stack cut at the walker's depth limit (VG_MAX_STACK_DEPTH): such a stack
 * starts (at its root) with a "[truncated]" marker frame. */
__u64 stack_resolver__truncated(const struct stack_resolver *r);
/* Distinct stacks (user and kernel) resolved so far. */
size_t stack_resolver__nr_stacks(const struct stack_resolver *r);
/*
 * Interval reads: clear the stack maps when this read resolved more than half of their capacity or
 * lost stacks to a full map, so they never stay full; otherwise keep them (ids of stacks that are
 * still being sampled stay valid). After clearing "ustacks", bumps ustack_gen_fd's entry 0 (the
 * object's "ustacks_gen", bpf/unwind.bpf.h), which tells the walkers their lists of stacks already
 * stored are stale. 0 or -errno.
 */
int stack_maps_recycle(const struct stack_resolver *r, int stack_map_fd, int ustack_map_fd,
		       int ustack_gen_fd, __u32 capacity, const __u64 cnt[VG_CNT_NR]);
/*
 * For frame-pointer walks: one warning line for each process (at most 3) most of whose distinct user
 * stacks resolved so far are only 1-2 frames deep, the mark of code without frame pointers, naming
 * the --unwind that helps.
 */
void stack_resolver__advise(struct stack_resolver *r, const char *cmd);

/* Add a FRAME_SPECIAL frame (e.g. "--" or "[off-cpu]") to the profile; returns its id or 0. */
__u32 stack_resolver__special(struct stack_resolver *r, const char *name);

#endif
