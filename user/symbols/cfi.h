/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CFI unwind tables: an ELF file's .eh_frame (or .debug_frame) read through libdw
 * (dwarf_cfi_addrframe, dwarf_frame_cfa, dwarf_frame_register) and turned into the compact rows the
 * BPF walker follows (include/vigil/unwind.h): sorted by file offset, merged where consecutive rows
 * agree, an explicit VG_CFI_NONE row at the end of every FDE that the next one does not start at,
 * and a page index so a lookup is a short binary search. Also the extent of every FDE, which names
 * code the symbol tables do not cover by the start of its function.
 *
 * Only x86-64 CFI is understood (rsp, rbp and the return address column 16); rows in any other form
 * become VG_CFI_OTHER, which the walker follows by frame pointers.
 *
 * Ownership: a cfi_table copies everything it needs; it keeps no reference to the Elf handle it was
 * built from. Lookups do not modify it (thread-safe).
 */
#ifndef VIGIL_SYMBOLS_CFI_H
#define VIGIL_SYMBOLS_CFI_H

#include <stddef.h>
#include <libelf.h>
#include <linux/types.h>

#include "vigil/unwind.h"

struct cfi_table;

/* The extent of one FDE: [start, end) in ELF virtual addresses. */
struct cfi_range {
	__u64 start, end;
};

/*
 * The FDE extents of e's .eh_frame (or its .debug_frame when .eh_frame has none), sorted by start.
 * *out is malloc'd (NULL with *n = 0 when there are none). 0 or -errno.
 */
int cfi__fde_ranges(Elf *e, struct cfi_range **out, size_t *n);

/*
 * Rows for e, keyed by file offset through its executable PT_LOAD segments. debug, when not NULL,
 * is a separate debug file whose .debug_frame is used when e's .eh_frame is nearly empty (its
 * addresses are e's). NULL + errno: ENOENT when there is no CFI, ENOMEM, EINVAL (not x86-64).
 */
struct cfi_table *cfi_table__build(Elf *e, Elf *debug);
/* NULL-safe. */
void cfi_table__free(struct cfi_table *t);

size_t cfi_table__nr_rows(const struct cfi_table *t);
const struct vg_cfi_row *cfi_table__rows(const struct cfi_table *t);
/* The page index: entry i is the row (index into the rows) in force at page first_page + i. */
size_t cfi_table__nr_pages(const struct cfi_table *t);
__u32 cfi_table__first_page(const struct cfi_table *t);
const __u32 *cfi_table__pages(const struct cfi_table *t);
/* Bytes of rows and page index (what loading it into the kernel costs). */
size_t cfi_table__bytes(const struct cfi_table *t);
/* Which section the rows came from: ".eh_frame" or ".debug_frame". */
const char *cfi_table__source(const struct cfi_table *t);

/* The row in force at file offset off, by the lookup the BPF walker runs; NULL when none. */
const struct vg_cfi_row *cfi_table__lookup(const struct cfi_table *t, __u64 off);

#endif
