/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allocator a process really uses, for vigil mem's uprobes: the object that defines malloc in
 * the process (an interposed jemalloc or tcmalloc, a static binary's own malloc, else libc), found
 * from /proc/PID/maps, from a COMMAND's executable (its own symbols, LD_PRELOAD, its DT_NEEDED
 * libraries) or, host-wide, libc from the linker cache; or the file --lib names. Also where C++'s
 * operator new lives (libstdc++), so a C++ allocation is recorded where new returns, in its caller.
 */
#ifndef VIGIL_ALLOCATOR_H
#define VIGIL_ALLOCATOR_H

#include <limits.h>
#include <stdbool.h>
#include <linux/types.h>

#include "vigil/mem.h"

/* The functions hooked, by what their arguments mean (bpf/mem.bpf.c has one entry program each,
 * and takes these numbers as uprobe_multi cookies). */
enum alloc_call {
	ALLOC_MALLOC = VG_MEM_FN_MALLOC,
	ALLOC_CALLOC = VG_MEM_FN_CALLOC,
	ALLOC_REALLOC = VG_MEM_FN_REALLOC,
	ALLOC_REALLOCARRAY = VG_MEM_FN_REALLOCARRAY,
	ALLOC_POSIX_MEMALIGN = VG_MEM_FN_POSIX_MEMALIGN,
	ALLOC_ALIGNED = VG_MEM_FN_ALIGNED,
	ALLOC_PVALLOC = VG_MEM_FN_PVALLOC,
	ALLOC_FREE = VG_MEM_FN_FREE,
	ALLOC_CALL_NR = VG_MEM_FN_NR
};

#define ALLOCATOR_MAX_FUNCS 24

struct alloc_func {
	char name[64]; /* with the prefix: "je_malloc" */
	enum alloc_call call;
	__u64 addr; /* ELF address (functions sharing one are hooked once) */
	__u64 offset; /* its file offset (uprobe_multi links take offsets) */
	__u32 delta; /* bytes past the entry where the probe goes (see allocator.c), usually 0 */
	bool cxx; /* in cxx_path (operator new) */
};

struct allocator {
	char path[PATH_MAX]; /* the ELF file that provides malloc (as this process opens it) */
	char shown[PATH_MAX]; /* its name for messages (as the target names it) */
	char cxx_path[PATH_MAX]; /* libstdc++, "" when not used */
	struct alloc_func funcs[ALLOCATOR_MAX_FUNCS];
	int nr_funcs;
	char why[64]; /* how it was chosen: "mapped by process 12", "--lib", "linker cache" */
};

struct allocator_query {
	__u32 pid; /* a running target, 0 = none */
	const char *command; /* COMMAND's argv[0], NULL = none */
	const char *lib; /* --lib PATH, NULL = find it */
	const char *prefix; /* --prefix ("je_"), NULL or "" = none */
};

/*
 * Find the allocator for q (pid, else command, else host-wide) and the functions it has:
 * PREFIXmalloc and PREFIXfree must exist; calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc are hooked when present. 0, or 1 after a one-line error
 * ("vigil mem: ...": no allocator mapped, --lib not ELF, no such function with near names).
 */
int allocator_find(const struct allocator_query *q, struct allocator *out);

#endif
