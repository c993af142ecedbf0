/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ELF files for symbolization, through libelf: the build-id (NT_GNU_BUILD_ID), the PT_LOAD program
 * headers (to turn a file offset into an ELF virtual address), and the function symbols (STT_FUNC and
 * STT_GNU_IFUNC) of .symtab and .dynsym, merged and sorted by address.
 *
 * Separate debug info: when the file has no .symtab with functions in it, the .symtab of its debug file
 * is merged in, found as DEBUG_DIR/.build-id/xx/rest.debug (build-id checked), else through
 * .gnu_debuglink as DIR/LINK, DIR/.debug/LINK or DEBUG_DIR/DIR/LINK (CRC-32 checked), where DIR is the
 * file's directory. Symbol addresses in a debug file are the same ELF virtual addresses.
 *
 * Symbol extents: st_size when non-zero; a zero-size symbol extends to the next symbol's address,
 * capped at the end of its section. Symbols at one address collapse into one name for lookups by
 * address, preferring a sized one, then fewer leading underscores, then global over weak over local,
 * then the shorter name; the other names stay findable with elf_file__find().
 *
 * Ownership: a struct elf_file copies everything it needs and keeps no file descriptor or mapping
 * open once a constructor returns; the strings it returns stay valid until elf_file__free(). Lookups
 * do not modify it: concurrent lookups are thread-safe.
 */
#ifndef VIGIL_ELF_H
#define VIGIL_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define ELF_BUILD_ID_MAX 64

/* Default cap on the function symbols kept per file (a crafted file may claim millions). */
#define ELF_MAX_SYMBOLS (4u << 20)

struct elf_opts {
	const char *debug_dir; /* default "/usr/lib/debug"; "" disables separate debug files */
	/*
	 * in_root: path names the file inside the tree root_fd names (a process's root, from
	 * mapfile__open_root), so the debug file is looked for in that tree first (its
	 * /usr/lib/debug/.build-id, then the debuglink names next to the file), resolved by
	 * mapfile__open_in_root so that nothing escapes it, then in debug_dir on the host. Without it,
	 * path is the host's.
	 */
	bool in_root;
	int root_fd;
	bool no_debug; /* do not look for separate debug files */
	size_t max_symbols; /* keep at most this many function symbols; 0: ELF_MAX_SYMBOLS */
	__u64 max_debug_size; /* ignore debug files larger than this; 0: no cap */
	bool cfi; /* also build the CFI unwind table (symbols/cfi.h) from the same open file */
};

struct elf_segment {
	__u64 offset, vaddr, filesz, memsz;
	__u32 flags; /* PF_R | PF_W | PF_X */
};

struct elf_symbol {
	const char *name;
	__u64 addr,
		size; /* size: the extent used for lookups (st_size, or up to the next symbol) */
};

struct elf_file;
struct cfi_table;

/* Opens and parses path (used as given). opts may be NULL. NULL with errno set (ENOEXEC: not ELF). */
struct elf_file *elf_file__open(const char *path, const struct elf_opts *opts);
/*
 * Parses the ELF file open on fd (the caller keeps and closes fd). path names it for the debuglink
 * search (its directory) and for diagnostics; may be NULL. NULL with errno set.
 */
struct elf_file *elf_file__open_fd(int fd, const char *path, const struct elf_opts *opts);
/* Parses an ELF image held in memory (e.g. a copy of the vdso); buf is copied. opts may be NULL (no
 * debug files are looked for). NULL with errno. */
struct elf_file *elf_file__open_mem(const void *buf, size_t len, const struct elf_opts *opts);
/* NULL-safe. */
void elf_file__free(struct elf_file *f);

/* Build-id bytes and their count (0 when the file has none); *id may be set to NULL. */
size_t elf_file__build_id(const struct elf_file *f, const __u8 **id);
/* Lowercase hex build-id, "" when none. */
const char *elf_file__build_id_hex(const struct elf_file *f);
/*
 * The separate debug file whose symbols were merged in, or NULL. With opts->in_root it may name a
 * file inside that root (open it again with mapfile__open_in_root, never by this path alone).
 */
const char *elf_file__debug_path(const struct elf_file *f);
/* Function symbols not kept because the file had more than max_symbols. */
size_t elf_file__dropped_symbols(const struct elf_file *f);
/* Bytes of memory the parsed tables take (for the symbolizer's memory cap). */
size_t elf_file__memory(const struct elf_file *f);
/* ET_EXEC, ET_DYN, ... */
__u32 elf_file__type(const struct elf_file *f);

size_t elf_file__nr_segments(const struct elf_file *f);
/* PT_LOAD segments in file order; i < nr_segments. */
const struct elf_segment *elf_file__segment(const struct elf_file *f, size_t i);
/*
 * File offset -> ELF virtual address through the PT_LOAD segment whose file bytes contain it
 * (vaddr = off - p_offset + p_vaddr), preferring executable segments; an offset in the page-aligned
 * slack just before a segment counts as that segment's. 0, or -ENOENT when no segment maps it.
 */
int elf_file__off_to_vaddr(const struct elf_file *f, __u64 off, __u64 *vaddr);

/* Distinct symbol addresses (aliases collapsed). */
size_t elf_file__nr_symbols(const struct elf_file *f);
/* The i-th symbol in address order (i < nr_symbols), for iteration. 0, or -ENOENT. */
int elf_file__symbol(const struct elf_file *f, size_t i, struct elf_symbol *out);
/* The function symbol covering vaddr. 0, or -ENOENT. O(log n). */
int elf_file__lookup(const struct elf_file *f, __u64 vaddr, struct elf_symbol *out);
/*
 * A function by exact name, aliases included (out->name is the name asked for; addr and size are
 * those of the symbol at that address). Linear: for tests, uprobe checks, diagnostics. 0 or -ENOENT.
 */
int elf_file__find(const struct elf_file *f, const char *name, struct elf_symbol *out);

/* The CFI unwind table (owned by f), or NULL (not built, or no CFI). */
const struct cfi_table *elf_file__cfi(const struct elf_file *f);
/* Whether building it was tried (elf_opts.cfi, or elf_file__build_cfi). */
bool elf_file__cfi_tried(const struct elf_file *f);
/*
 * Builds the CFI table now from fd, the same file opened again (the caller checked it is; keeps and
 * closes fd). Once only: later calls return what the first did. 0, or -errno (-ENOENT: no CFI).
 */
int elf_file__build_cfi(struct elf_file *f, int fd);
/*
 * The start of the function enclosing vaddr when no symbol covers it: the start of the .eh_frame FDE
 * covering it, else the end of the symbol below it (the start of the gap in the symbol table).
 * 0, or -ENOENT when neither says.
 */
int elf_file__enclosing(const struct elf_file *f, __u64 vaddr, __u64 *start);

/*
 * Reads only the build-id of the ELF file open on fd (cheap: notes only). Returns its length, 0 when
 * it has none, or -errno (-ENOEXEC: not ELF).
 */
int elf__read_build_id(int fd, __u8 *buf, size_t size);
/*
 * Finds NT_GNU_BUILD_ID in raw ELF notes (e.g. the contents of /sys/kernel/notes), native byte
 * order. Returns its length, 0 when absent or malformed.
 */
int elf__notes_build_id(const void *notes, size_t len, __u8 *buf, size_t size);
/* Writes 2 * len lowercase hex digits and a NUL to out. */
void elf__hex(const __u8 *id, size_t len, char *out);

#endif
