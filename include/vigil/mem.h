/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Records shared between bpf/mem.bpf.c and userspace (vigil mem). Fixed-width types only, explicit
 * padding; userspace checks the sizes with _Static_assert.
 */
#ifndef VIGIL_MEM_H
#define VIGIL_MEM_H

#include "vigil/common.h"

/* What the BPF object traces (rodata "mode"). */
#define VG_MEM_MODE_MALLOC 0 /* uprobes on the allocator, mmap/munmap/mremap syscalls */
#define VG_MEM_MODE_FAULTS 1 /* user page faults, by user stack */
#define VG_MEM_MODE_RSS 2 /* rss_stat: each process's resident set over time */
#define VG_MEM_MODE_KERNEL 3 /* kmalloc/kfree, kmem_cache_*, mm_page_alloc/free, kernel stacks */

/* The allocator call a thread is in (its entry probe fired, its return has not). */
#define VG_MEM_CALL_MALLOC 1 /* malloc, valloc, operator new: the size is the first argument */
#define VG_MEM_CALL_CALLOC 2
#define VG_MEM_CALL_REALLOC 3 /* realloc and reallocarray */
#define VG_MEM_CALL_MEMALIGN 4 /* posix_memalign: the pointer is stored at *memptr */
#define VG_MEM_CALL_ALIGNED 5 /* aligned_alloc, memalign: the size is the second argument */
#define VG_MEM_CALL_PVALLOC 6 /* the size rounded up to pages */
#define VG_MEM_CALL_MMAP 7 /* syscalls: mmap, mremap */
#define VG_MEM_CALL_MREMAP 8

/* The hooked functions by what their arguments mean: uprobe_multi attach cookies. */
#define VG_MEM_FN_MALLOC 0 /* (size): malloc, valloc, operator new */
#define VG_MEM_FN_CALLOC 1 /* (nmemb, size) */
#define VG_MEM_FN_REALLOC 2 /* (ptr, size) */
#define VG_MEM_FN_REALLOCARRAY 3 /* (ptr, nmemb, size) */
#define VG_MEM_FN_POSIX_MEMALIGN 4 /* (memptr, alignment, size) */
#define VG_MEM_FN_ALIGNED 5 /* (alignment, size): aligned_alloc, memalign */
#define VG_MEM_FN_PVALLOC 6 /* (size), rounded up to pages */
#define VG_MEM_FN_FREE 7 /* (ptr) */
#define VG_MEM_FN_NR 8

/* Allocation counts are kept in 1/VG_MEM_ONE units, so a sampled allocation can weigh 1/p. */
#define VG_MEM_ONE_SHIFT 16
#define VG_MEM_ONE (1ULL << VG_MEM_ONE_SHIFT)

/* --sample-bytes: the interpolation tables userspace fills in (see bpf/mem.bpf.c). */
#define VG_MEM_LOG2_STEPS 256 /* log2(1 + i/256), i = 0..256, in 1/65536 */
#define VG_MEM_EST_STEPS_PER_UNIT 128 /* est(x) = x/(1-e^-x) at x = i/128, i = 0..VG_MEM_EST_N */
#define VG_MEM_EST_MAX_X 16 /* beyond, every allocation of that size is sampled (weight 1) */
#define VG_MEM_EST_N (VG_MEM_EST_MAX_X * VG_MEM_EST_STEPS_PER_UNIT)

/* Outstanding-table keys in --mode kernel: slab objects by address, pages by pfn. */
#define VG_MEM_PID_KERNEL 0xffffffffu
#define VG_MEM_PID_PAGES 0xfffffffeu

/* Per-CPU counters of the mem object ("mem_counters"), beside the common "counters". */
#define VG_MEM_CNT_CALLS 0 /* allocations recorded (for sampling: sampled ones) */
#define VG_MEM_CNT_OUTSTANDING_FULL 1 /* the outstanding table was full: an allocation not kept */
#define VG_MEM_CNT_FREE_UNKNOWN 2 /* frees (munmaps) of a pointer the table does not hold */
#define VG_MEM_CNT_STATE_FULL 3 /* no per-thread state could be made: the call was missed */
#define VG_MEM_CNT_FREES 4 /* frees that removed a recorded allocation */
#define VG_MEM_CNT_UNSAMPLED 5 /* --sample-bytes: allocations not sampled */
#define VG_MEM_CNT_FAULTS 6 /* --mode faults: page faults counted */
#define VG_MEM_CNT_RSS_UPDATES 7 /* --mode rss: rss_stat events */
#define VG_MEM_CNT_FN_CALLS 8 /* malloc mode: outermost allocator calls (entries), any outcome */
#define VG_MEM_CNT_NR 9

/* Aggregation key: one entry per (process, thread, user stack, kernel stack). */
struct vg_mem_key {
	__u32 pid; /* tgid */
	__u32 tid;
	__s32 kstack_id; /* --mode kernel; VG_STACK_NONE otherwise */
	__u32 pad;
	__u64 ustack; /* VG_USTACK_* reference (common.h) */
	__u64 call_site; /* --mode kernel: the allocator's caller (kmalloc's call_site); 0 = none */
	__u8 comm[VG_COMM_LEN];
};
#define VG_MEM_KEY_SIZE 48

/* What a key allocated during the capture (faults: page faults and their bytes). */
struct vg_mem_val {
	__u64 count; /* allocations, in 1/VG_MEM_ONE (sampled ones weigh their 1/p) */
	__u64 bytes; /* bytes (sampled: each allocation's size / p) */
};

/* Outstanding table key: an allocation by its process and address. */
struct vg_mem_addr {
	__u32 pid; /* tgid; VG_MEM_PID_KERNEL / VG_MEM_PID_PAGES in --mode kernel */
	__u32 pad;
	__u64 addr; /* pointer; pfn for pages */
};

/* An allocation not freed yet. Its aggregation key is (pid, tid, ustack, kstack_id, call_site). */
struct vg_mem_alloc {
	__u64 size; /* bytes asked for (mmap: rounded up to pages) */
	__u64 ts; /* bpf_ktime_get_ns() when it was made */
	__u64 ustack;
	__u64 call_site;
	__u32 pid;
	__u32 tid;
	__s32 kstack_id;
	__u32 pad;
};
#define VG_MEM_ALLOC_SIZE 48

/* --mode rss: the latest resident-set counters of one address space (rss_stat's mm_id), in bytes
 * by MM_* member, and the process it belongs to (known from the first update made by the process
 * itself). */
#define VG_MEM_RSS_MEMBERS 4 /* MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
struct vg_mem_rss {
	__s64 size[VG_MEM_RSS_MEMBERS];
	__s64 peak; /* largest file + anon + shmem seen */
	__u64 updates;
	__u32 pid;
	__u32 pad;
	__u8 comm[VG_COMM_LEN];
};
#define VG_MEM_RSS_SIZE 72

#endif
