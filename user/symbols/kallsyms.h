/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel symbols from /proc/kallsyms ("ADDR TYPE NAME [MODULE]" per line), optionally with module
 * extents from /proc/modules ("NAME SIZE REFS DEPS STATE ADDR"). Only text symbols (t, T, w, W) are
 * looked up; every other symbol still serves as a boundary that ends the text symbol before it.
 *
 * Where a symbol ends: at the next symbol of the same region (the core kernel, or one module), which
 * for the last function of the core kernel is _etext (and _einittext for init text; neither is itself a
 * function); capped at the module's end when /proc/modules gives it; otherwise, for the last symbol of
 * a region, at the page after the one it starts in (perf's rule).
 * Symbols at the same address collapse into one, preferring fewer leading underscores, then global over
 * local, then the shorter name.
 *
 * Ownership: a struct ksyms owns every string it returns; they stay valid until ksyms__free().
 * Lookups do not modify it: concurrent lookups are thread-safe.
 */
#ifndef VIGIL_KSYMS_H
#define VIGIL_KSYMS_H

#include <stddef.h>
#include <linux/types.h>

#define KSYMS_KERNEL_MODULE "[kernel.kallsyms]"

struct ksyms;

/*
 * Parses kallsyms text (len bytes, need not be NUL-terminated) and, when modules is not NULL,
 * /proc/modules text. Both buffers are copied. Malformed lines are skipped. Returns NULL with errno
 * set: ENOMEM, or EPERM when every address is zero (kptr_restrict hides them from this user).
 */
struct ksyms *ksyms__parse(const char *kallsyms, size_t len, const char *modules,
			   size_t modules_len);
/*
 * Reads kallsyms_path (e.g. "/proc/kallsyms") and, when modules_path is not NULL and readable,
 * modules_path (e.g. "/proc/modules"; a missing modules file is not an error). NULL with errno set.
 */
struct ksyms *ksyms__load(const char *kallsyms_path, const char *modules_path);
/* NULL-safe. */
void ksyms__free(struct ksyms *k);

struct ksym_info {
	const char *name; /* NULL when addr is inside a module's extent but in no symbol */
	const char *module; /* "[kernel.kallsyms]", "[ext4]", "[bpf]" */
	__u64 sym_addr, sym_end; /* the symbol's extent (0, 0 when name is NULL) */
	__u64 base; /* _stext for the core kernel, the module's base (or lowest symbol) otherwise */
	__u64 limit; /* end of the region: highest symbol end, or the module's base + size */
};

/* Resolves addr. Returns 0, or -ENOENT when no text symbol or module covers it. O(log n). */
int ksyms__lookup(const struct ksyms *k, __u64 addr, struct ksym_info *out);

/* Number of distinct text symbols kept. */
size_t ksyms__count(const struct ksyms *k);
/* Address of a text symbol by exact name (first match), or 0. O(n): for tests and diagnostics. */
__u64 ksyms__addr(const struct ksyms *k, const char *name);

#endif
