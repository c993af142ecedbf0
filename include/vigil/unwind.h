/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-stack unwinding from .eh_frame (CFI) in BPF: the tables userspace builds (user/symbols/cfi.c)
 * and loads (user/collect/unwind.c), and the limits both sides share. The walk itself is
 * include/vigil/unwind_step.h, compiled by BPF (bpf/unwind.bpf.h) and by the userspace tests alike.
 *
 * Layout in the kernel:
 *   cfi_rows    one large array of struct vg_cfi_row, handed out in ranges, one range per file
 *   cfi_pages   one large array of __u32 row indices: for each 4 KiB page of a file's code, the row in
 *               force at the page's first byte, so a lookup is a short binary search within a page
 *   cfi_tables  struct vg_cfi_table per file (its ranges in the two arrays above), by table id
 *   unwind_procs  per process (tgid): its executable mappings, sorted, replaced whole on change
 */
#ifndef VIGIL_UNWIND_H
#define VIGIL_UNWIND_H

/* --unwind */
#define VG_UNWIND_KERNEL 0 /* bpf_get_stackid(BPF_F_USER_STACK): the kernel's frame-pointer walk */
#define VG_UNWIND_FP 1 /* Vigil's walk by frame pointers (checked against the process's mappings) */
#define VG_UNWIND_CFI 2 /* Vigil's walk by CFI rows, frame pointers where a file has none */

/*
 * One row: from file offset `off` up to the next row's, how to find the caller's frame. 8 bytes.
 * rbp: 0 when the caller's rbp is this frame's rbp (not saved), else it was saved at CFA + 8 * rbp.
 * The return address is at CFA - 8 for every kind but SIGNAL and END (x86-64 ABI).
 */
struct vg_cfi_row {
	__u32 off; /* file offset where the row starts */
	__u8 kind; /* VG_CFI_* */
	__s8 rbp;
	__u16 cfa; /* RSP/RBP: CFA offset; PLT: the (rip & 15) threshold */
};

#define VG_CFI_NONE 0 /* no CFI covers these bytes (gaps between FDEs): frame pointers */
#define VG_CFI_RSP 1 /* CFA = rsp + cfa */
#define VG_CFI_RBP 2 /* CFA = rbp + cfa */
#define VG_CFI_PLT 3 /* PLT stub: CFA = rsp + 8 + ((rip & 15) >= cfa ? 8 : 0) */
#define VG_CFI_SIGNAL \
	4 /* signal trampoline (__restore_rt): the interrupted registers are in the
			 * ucontext at rsp; the caller's pc is exact, not a return address */
#define VG_CFI_END 5 /* return address undefined (_start, clone's child): the outermost frame */
#define VG_CFI_OTHER 6 /* CFI the walker cannot follow (a CFA in another register, an expression) */

/* Offsets into the ucontext_t a signal trampoline's rsp points at (x86-64 Linux). */
#define VG_UCONTEXT_RBP 120
#define VG_UCONTEXT_RSP 160
#define VG_UCONTEXT_RIP 168

#define VG_CFI_PAGE_SHIFT 12

#define VG_USER_TOP 0x00007ffffffff000ULL /* x86-64 user address space (4-level paging) */

/* One file's table: its rows and page index, ranges in cfi_rows and cfi_pages. */
struct vg_cfi_table {
	__u32 row_start, nrows;
	__u32 page_start, npages;
	__u32 first_page; /* file offset >> VG_CFI_PAGE_SHIFT of the first indexed page */
	__u32 pad;
};

#define VG_CFI_NO_TABLE 0xffffffffu /* a mapping whose file has no table: frame pointers */

/* One executable mapping of a process. 32 bytes. */
struct vg_unwind_map {
	__u64 start, end; /* [start, end) */
	__u64 offset; /* file offset of start */
	__u32 table; /* index in cfi_tables, or VG_CFI_NO_TABLE (anonymous/JIT code, no CFI) */
	__u32 pad;
};

#define VG_UNWIND_MAX_MAPS 256 /* executable mappings per process (a power of two) */

/* A process's executable mappings, sorted by start, non-overlapping. */
struct vg_unwind_proc {
	__u32 n; /* 0: userspace tried and has nothing (walk by frame pointers, unchecked) */
	__u32 gen; /* userspace's generation of this image */
	__u64 refresh_ns; /* BPF: when it last asked userspace to re-read this process */
	struct vg_unwind_map maps[VG_UNWIND_MAX_MAPS];
};

/* A frame: where it executes and its stack and frame pointers. */
struct vg_regs {
	__u64 pc, sp, bp;
	__s32 map; /* index of pc's mapping in the process table; -1 when unknown */
	__u32 exact; /* pc is exact (first frame, or after a signal frame), not a return address */
	__u32 fp_frames; /* steps taken by frame pointers (no CFI row) */
	__u32 pad;
};

/* An entry of the walker's row cache (vg_row_for, unwind_step.h). 16 bytes. */
struct vg_row_cache_ent {
	__u32 table; /* table id + 1; 0: empty */
	__u32 end; /* the row holds for file offsets [row.off, end) */
	struct vg_cfi_row row;
};

#define VG_ROW_CACHE 256 /* entries (a power of two) */

/* Ring-buffer record (type VG_REC_UNWIND_REFRESH, common.h): a pc outside every known mapping. */
struct vg_rec_refresh {
	__u32 type;
	__u32 size;
	__u32 pid;
	__u32 pad;
	__u64 pc;
};

/* Defaults for the kernel arrays (rows: 8 bytes each). */
#define VG_CFI_ROWS_DEFAULT (1u << 21) /* 16 MiB: hundreds of libraries */
#define VG_CFI_PAGES_DEFAULT (1u << 18) /* 1 MiB: 1 GiB of code */
#define VG_CFI_TABLES_DEFAULT 8192
#define VG_UNWIND_PROCS_DEFAULT 8192

#endif
