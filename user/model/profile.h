/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The profile model: a set of weighted, symbolized stacks, independent of where they came from (CPU
 * samples, off-CPU time, allocations) and of how they are written out. Collectors build one; exporters
 * only read it.
 *
 * Ownership: a struct profile owns every string, frame, mapping and stack added to it; the const
 * pointers its accessors return stay valid until profile__free(). Not thread-safe: build it from one
 * thread, then any number of readers may read it concurrently.
 */
#ifndef VIGIL_STACKS_H
#define VIGIL_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

enum frame_kind {
	FRAME_USER = 0, /* user-space code, resolved or not */
	FRAME_KERNEL = 1, /* kernel or kernel module */
	FRAME_UNKNOWN = 2, /* address with no mapping at all */
	FRAME_SPECIAL =
		3, /* not code: "[lost stack]", the "--" wakee/waker separator, "[off-cpu]" */
};

struct profile_mapping {
	__u64 start; /* first address of the mapping in the process (or kernel) */
	__u64 limit; /* one past the last address */
	__u64 offset; /* file offset that start corresponds to */
	const char *path; /* file as the process saw it; "[kernel.kallsyms]" or "[MODULE]" */
	const char *build_id; /* lowercase hex; "" when unknown */
};

/* One source position of a frame (from DWARF): a function, its file and the line. */
struct profile_line {
	const char *function; /* the frame's own name for the outermost entry */
	const char *file; /* source file; "" when unknown */
	__u32 line; /* 0 when unknown */
};

struct profile_frame {
	const char *name; /* function name without offset, or "module+0xOFFSET" when unnamed */
	const char *module; /* short module name: file basename, "[kernel.kallsyms]", "[ext4]" */
	__u64 addr; /* absolute address in the process or kernel; 0 for FRAME_SPECIAL */
	__u32 mapping; /* 1-based index into the mappings; 0 = none */
	__u32 kind; /* enum frame_kind */
	/*
	 * Source lines, innermost first: with inlining, the inlined function (at its line), then each
	 * function it was inlined into (at the line of that call), ending with the frame's own
	 * function. Not part of a frame's identity (the address decides them). Copied by
	 * profile__add_frame; NULL / 0 when unknown.
	 */
	const struct profile_line *lines;
	__u32 nlines;
};

#define PROFILE_MAX_EXTRA 2

struct profile_stack {
	const char *comm; /* process name */
	__u32 pid; /* process (tgid) */
	__u32 tid; /* thread; 0 when aggregated over threads */
	__u32 nframes; /* may be 0: a sample with no stack at all */
	const __u32
		*frames; /* 1-based frame indices, ROOT FIRST; user frames, then kernel frames */
	__u64 count; /* events: samples, blocking episodes, allocations */
	__u64 value; /* weight in meta.value_unit (e.g. count * period nanoseconds) */
	const char *cgroup; /* cgroup v2 path ("/system.slice/x.service"); NULL or "" = unknown */
	__u64 extra
		[PROFILE_MAX_EXTRA]; /* meta.nr_extra more values, e.g. a heap profile's other half */
};

/*
 * What the numbers mean. Strings are copied by profile__new().
 * - count_type/count_unit and value_type/value_unit name the two pprof sample types,
 *   e.g. {"samples","count"} and {"cpu","nanoseconds"}; {"events","count"} and {"off-cpu","nanoseconds"}.
 * - The "weight" of a stack in folded, SVG and top output is count when weight_div == 0, else
 *   value / weight_div (e.g. 1000 to show microseconds); weight_unit names it ("samples", "us").
 * - nr_extra (0..PROFILE_MAX_EXTRA) more sample types, extra_type[i]/extra_unit[i], whose values
 *   each stack carries in extra[i]. A heap profile (vigil mem) puts the half it reports in
 *   count/value (inuse_objects/inuse_space, or alloc_objects/alloc_space with --report alloc) and the
 *   other half in the extras; extra_first says that the extras come first in pprof's sample types,
 *   so both reports list them in Go's order (alloc_objects, alloc_space, inuse_objects,
 *   inuse_space). pprof's default sample type stays value_type.
 * - period_type/period_unit: pprof's period type; NULL means value_type/value_unit. A heap
 *   profile's is space/bytes.
 * - count_column: when set, the top table also shows each function's self count under this
 *   heading and the average weight per count, e.g. "objects" and the average size per allocating
 *   function.
 */
struct profile_meta {
	const char *count_type, *count_unit;
	const char *value_type, *value_unit;
	const char *weight_unit;
	__u64 weight_div;
	__u64 period; /* value of one sample, in value_unit (sampled profiles); 0 otherwise */
	__u64 start_ns; /* CLOCK_REALTIME at the start of collection */
	__u64 duration_ns; /* length of the collection */
	const char *title; /* e.g. "vigil profile -F 99 (10.0 s, 2 CPUs)"; may be NULL */
	__u32 nr_extra;
	bool extra_first;
	const char *count_column;
	const char *extra_type[PROFILE_MAX_EXTRA], *extra_unit[PROFILE_MAX_EXTRA];
	const char *period_type, *period_unit;
};

struct profile;

/* Returns a new, empty profile, or NULL with errno set. */
struct profile *profile__new(const struct profile_meta *meta);
/* NULL-safe. */
void profile__free(struct profile *p);

/*
 * Adds (or finds) a mapping; returns its 1-based index, or 0 with errno set on allocation failure.
 * Identical mappings (all fields equal) are stored once.
 */
__u32 profile__add_mapping(struct profile *p, const struct profile_mapping *m);
/*
 * Adds (or finds) a frame; strings are copied; returns its 1-based index, or 0 with errno set.
 * Frames equal in kind, name, module, addr and mapping are stored once.
 */
__u32 profile__add_frame(struct profile *p, const struct profile_frame *f);
/*
 * Adds a stack; comm and frames are copied. Stacks are not merged here (exporters merge what their
 * format merges). Returns 0 or -ENOMEM / -EINVAL (a frame index out of range). Extras beyond
 * meta.nr_extra are stored as 0.
 */
int profile__add_stack(struct profile *p, const struct profile_stack *s);

/*
 * Adds src's stacks to dst, re-interning their frames and mappings, and sums each into an identical
 * stack (same pid, tid, comm, cgroup and frames) that an earlier merge added to dst. keep(s, arg)
 * selects the stacks of src (NULL: all). Flags: PROFILE_MERGE_DROP_TID merges threads into their
 * process (tid 0); PROFILE_MERGE_BY_FUNCTION keeps one frame per named function (the address of
 * named frames becomes 0, and mappings keep only their file: start, limit and offset become 0), so
 * samples at different instructions of a function, or in different processes of one program,
 * share frames: what a store of long-term profiles wants. dst's meta stays as it is (see profile__set_span).
 * 0 or -ENOMEM / -EINVAL.
 */
#define PROFILE_MERGE_DROP_TID (1u << 0)
#define PROFILE_MERGE_BY_FUNCTION (1u << 1)
int profile__merge(struct profile *dst, const struct profile *src,
		   bool (*keep)(const struct profile_stack *s, void *arg), void *arg,
		   unsigned int flags);
/* Label stack i with a cgroup path (copied). 0 or -ENOMEM / -EINVAL. */
int profile__set_cgroup(struct profile *p, size_t i, const char *cgroup);
/* Set the collection span of the profile's meta (merged profiles cover several intervals). */
void profile__set_span(struct profile *p, __u64 start_ns, __u64 duration_ns);

const struct profile_meta *profile__meta(const struct profile *p);
size_t profile__nr_stacks(const struct profile *p);
const struct profile_stack *profile__stack(const struct profile *p, size_t i);
size_t profile__nr_frames(const struct profile *p);
/* id is 1-based; returns NULL when out of range. */
const struct profile_frame *profile__frame(const struct profile *p, __u32 id);
size_t profile__nr_mappings(const struct profile *p);
/* id is 1-based; returns NULL when out of range. */
const struct profile_mapping *profile__mapping(const struct profile *p, __u32 id);

/* A stack's weight as defined by meta.weight_div. */
__u64 profile__weight(const struct profile *p, const struct profile_stack *s);
/* Sum of all stacks' weights / counts / values. */
__u64 profile__total_weight(const struct profile *p);

#endif
