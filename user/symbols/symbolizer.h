/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Address -> (function, module) for kernel and user code.
 *
 * Kernel addresses resolve through /proc/kallsyms (ksyms.c), with module names. User addresses resolve
 * through a per-process record of mappings (procmaps.c) and ELF symbol tables (elf.c): .symtab, then
 * .dynsym, from the file itself, or from its separate debug file (/usr/lib/debug/.build-id/xx/yyyy.debug,
 * or .gnu_debuglink next to the file, in .debug/ or under /usr/lib/debug), plus /tmp/perf-PID.map for
 * JIT code.
 *
 * Processes that exit during a capture must still resolve, so mappings are captured when a process is
 * first seen (symbolizer__snapshot_pid, from /proc/PID/maps) or when the kernel reports a mapping
 * (symbolizer__add_mmap, from perf MMAP2 side-band records), and each mapped file is opened and parsed at
 * that moment (through /proc/PID/root when the process is alive, so containerized processes work) and
 * kept, cached by build-id (or by device+inode when it has none): each file is parsed once.
 *
 * Ownership: every string a lookup returns is owned by the symbolizer and valid until
 * symbolizer__free(). Not thread-safe: one thread at a time.
 */
#ifndef VIGIL_SYMBOLIZER_H
#define VIGIL_SYMBOLIZER_H

#include <stdbool.h>
#include <linux/types.h>

struct symbolizer;
struct cfi_table;

/*
 * Bounds on what other users' files and processes can make the symbolizer hold. A zero field means
 * the default in brackets. Every hit is counted in struct symbolizer_stats.
 */
struct symbolizer_limits {
	__u64 max_file_bytes; /* ELF and debug files larger are not read [2 GiB] */
	__u64 max_perfmap_bytes; /* a larger perf-PID.map is not read [64 MiB] */
	size_t max_symbols; /* symbols kept per file, perf maps included [4 Mi] */
	size_t max_procs; /* processes tracked at once [65536] */
	__u64 max_table_bytes; /* memory of all parsed symbol tables; no new file beyond [1 GiB] */
};

struct symbolizer_opts {
	const char *kallsyms_path; /* default "/proc/kallsyms" (tests pass a fixture) */
	const char *proc_root; /* default "/proc" (tests pass a fixture directory) */
	bool no_kernel; /* do not load kernel symbols at all */
	bool no_demangle; /* user function names as the symbol table spells them (C++ and Rust are
			   * demangled by default, with parameter types, through libiberty) */
	bool lines; /* keep each mapped file open for DWARF source lines (symbolizer__user_lines) */
	struct symbolizer_limits limits;
	bool cfi; /* CFI unwind tables (symbols/cfi.h) for the files symbolizer__exec_maps() reports */
};

/* opts may be NULL. Kernel symbols are loaded lazily on the first kernel lookup. NULL + errno. */
struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts);
/* NULL-safe. Closes every file it kept open. */
void symbolizer__free(struct symbolizer *s);

/*
 * Record pid's current mappings from PROC/PID/maps and open the files they name, unless this pid's
 * mappings are already known and its image has not changed (exec) since. Cheap to call again.
 * Returns 0, or -ENOENT when the process is gone (its later lookups give module+offset or unknown).
 */
int symbolizer__snapshot_pid(struct symbolizer *s, __u32 pid);

/* Re-read pid's maps now even if read recently (something was mapped without a record). 0/-errno. */
int symbolizer__refresh_pid(struct symbolizer *s, __u32 pid);

/* Changes whenever pid's current image changes (a mapping added or removed, an exec); 0 if unknown. */
__u64 symbolizer__generation(struct symbolizer *s, __u32 pid);

/* One executable mapping of a process's current image, for the BPF unwinder. */
struct sym_exec_map {
	__u64 start, end; /* [start, end) */
	__u64 pgoff; /* file offset of start (0 for the vdso, whose image starts at offset 0) */
	const struct cfi_table
		*cfi; /* its file's unwind rows (opts.cfi: built on first report), or NULL */
};
/*
 * Calls fn for each executable mapping of pid's current image in address order, stopping at the
 * first non-zero return (returned). -ENOENT when pid is unknown. The tables belong to the symbolizer
 * and live until symbolizer__free().
 */
int symbolizer__exec_maps(struct symbolizer *s, __u32 pid,
			  int (*fn)(void *ctx, const struct sym_exec_map *m), void *ctx);

/* One mapping as reported by a perf MMAP2 record (or parsed from a maps line). */
struct sym_mmap {
	__u64 start, len, pgoff;
	__u32 maj, min;
	__u64 ino;
	__u32 prot; /* PROT_* bits; only executable mappings matter for symbols */
	const char *path;
	const __u8 *build_id; /* may be NULL */
	__u32 build_id_size;
};
/* Add one mapping to pid's current image (a new mapping over an old range replaces it). 0 or -errno. */
int symbolizer__add_mmap(struct symbolizer *s, __u32 pid, const struct sym_mmap *m);
/* child starts as a copy of parent's current image (fork). */
void symbolizer__fork(struct symbolizer *s, __u32 parent, __u32 child);
/*
 * pid replaced its image (exec): following mappings start a new image. The old image is kept and still
 * used for addresses the new one does not cover, since samples aggregated in the kernel carry no time.
 * A process whose image began at an exec record (or forked from one) is known mapping by mapping from
 * the records that follow: symbolizer__snapshot_pid() does not read its PROC/PID/maps (a lookup that
 * misses still does), until symbolizer__records_lost().
 */
void symbolizer__exec(struct symbolizer *s, __u32 pid);
/* Side-band records were lost: images built from records may miss mappings (read /proc again). */
void symbolizer__records_lost(struct symbolizer *s);

/*
 * For a long-running caller (vigil serve): frees what is kept about processes that have exited, so
 * memory follows the live processes, not every process ever seen. A process found exited (no
 * PROC/PID) is marked at one call and freed at the next if it is still gone, so samples it left
 * behind and read between the two calls still resolve; call it after each read of the samples.
 * A pid reused meanwhile is a live process and is kept. Parsed files no tracked process has mapped
 * for 30 calls are freed too. Returns the number of processes freed.
 */
size_t symbolizer__forget_exited(struct symbolizer *s);

struct sym_frame {
	const char *name; /* function name without offset; NULL when no symbol covers the address */
	const char *
		module; /* short name: file basename, "[kernel.kallsyms]", "[ext4]"; NULL if unmapped */
	const char *path; /* full file path for pprof mappings; "" when none */
	const char *build_id; /* lowercase hex, "" when unknown */
	__u64 offset; /* addr's offset in the module (file offset for user code, from the module's
			       * base for kernel modules, from _stext for the kernel) for "module+0xOFF" */
	__u64 map_start, map_limit, map_pgoff; /* the mapping containing addr (pprof) */
	/* User code without a symbol: the file offset where its function starts, from the .eh_frame
	 * FDE covering it (else the end of the symbol below it), when known. */
	__u64 func_offset;
	bool func_known;
};

/*
 * Resolve one user address of pid. Returns 0 when addr lies in a known mapping (out->name may still be
 * NULL when no symbol covers it), -ENOENT when nothing is known about that address.
 */
int symbolizer__user(struct symbolizer *s, __u32 pid, __u64 addr, struct sym_frame *out);
/*
 * The source lines of one user address of pid from DWARF (symbols/lines.h: innermost first, inlined
 * calls as separate entries), into out[0..max). Needs opts.lines. Returns how many; 0 when the file
 * has no DWARF, or is not known. Strings are the symbolizer's.
 */
struct src_line;
int symbolizer__user_lines(struct symbolizer *s, __u32 pid, __u64 addr, struct src_line *out,
			   int max);

/* Resolve one kernel address. 0, or -ENOENT when it is outside every known symbol and module. */
int symbolizer__kernel(struct symbolizer *s, __u64 addr, struct sym_frame *out);

/* Counters for diagnostics (-v) and benchmarks, and what was lost to untrusted input or limits. */
struct symbolizer_stats {
	__u64 files_opened, files_failed, elf_parsed, pids_snapshotted, lookups;
	__u64 pids_recorded; /* first snapshots answered from side-band records (no /proc read) */
	/* mapped files not used: not the mapped inode (dev:inode or build-id differ), not a regular
	 * file, or outside the process's root */
	__u64 files_refused;
	__u64 files_too_big; /* over max_file_bytes */
	/* perf-PID.map not read: a symlink, not a regular file, owned by neither the process's user
	 * nor root, more than one link, or over max_perfmap_bytes */
	__u64 perfmaps_refused;
	__u64 symbols_dropped; /* symbols over max_symbols, summed over files */
	__u64 files_over_memory; /* files not parsed: the tables had reached max_table_bytes */
	__u64 procs_untracked; /* distinct processes not tracked: max_procs reached */
	__u64 table_bytes; /* memory the parsed tables take now */
	__u64 procs; /* processes tracked now */
	__u64 procs_forgotten; /* exited processes freed by symbolizer__forget_exited */
	__u64 elves_freed; /* parsed files freed by it, unmapped for a while */
};
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out);
/*
 * The losses in st as one phrase ("2 perf maps refused (...), 1 file over the size cap"), or ""
 * when there are none. Writes at most size bytes (NUL included); returns the phrase's length.
 */
size_t symbolizer__describe_losses(const struct symbolizer_stats *st, char *buf, size_t size);

#endif
