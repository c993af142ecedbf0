/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Source lines from DWARF, through libdw: an ELF virtual address to the function, file and line it
 * was compiled from, with the inlined calls at that address as separate entries, innermost first
 * (the function the instruction belongs to, then the function it was inlined into with the line of
 * that call, and so on out to the real function), as addr2line -i prints them.
 *
 * One line_table per file, holding a descriptor of the file (and of its separate debug file, when
 * the DWARF is there): DWARF is opened on the first lookup, and each address is looked up once
 * (results are cached per file). A file without DWARF gives no lines, silently.
 *
 * Ownership: the table owns its descriptors and every string it returns (valid until
 * line_table__free). Not thread-safe.
 */
#ifndef VIGIL_SYMBOLS_LINES_H
#define VIGIL_SYMBOLS_LINES_H

#include <linux/types.h>

/* At most this many entries per address (inline depth); a deeper chain keeps its innermost
 * LINES_MAX_INLINE - 1 entries and its real (outermost) function last. */
#define LINES_MAX_INLINE 8

struct src_line {
	const char *function; /* DWARF name (C++ demangled from the linkage name); may be NULL */
	const char
		*file; /* the source file as the DWARF names it (absolute when it knows the dir) */
	__u32 line; /* 0 when unknown */
};

struct line_table;

/*
 * A table over the ELF file open on fd and, when debug_fd >= 0, its separate debug file: both are
 * taken over (closed by line_table__free, also on failure). NULL with errno set.
 */
struct line_table *line_table__new(int fd, int debug_fd);
/* NULL-safe. */
void line_table__free(struct line_table *t);
/*
 * The lines of vaddr, innermost first, into out[0..max). Returns how many (0: no DWARF, or it does
 * not cover vaddr). Strings belong to t.
 */
int line_table__lookup(struct line_table *t, __u64 vaddr, struct src_line *out, int max);

#endif
