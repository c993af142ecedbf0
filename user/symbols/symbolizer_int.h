/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the symbolizer: its state, shared by symbolizer.c (lifecycle, snapshots, lookups, kallsyms)
 * and images.c (per-process images of mappings, the cache of parsed files, perf-PID.map). Include only
 * from those two files.
 */
#ifndef VIGIL_SYMBOLS_SYMBOLIZER_INT_H
#define VIGIL_SYMBOLS_SYMBOLIZER_INT_H

#include <stdbool.h>
#include <time.h>
#include <sys/types.h>
#include <linux/types.h>

#include "symbols/elf.h"
#include "symbols/mapfile.h"
#include "symbols/perfmap.h"
#include "symbols/symbolizer.h"

#define VDSO_MAX_SIZE (1 << 20)
#define DEFAULT_MAX_FILE_BYTES (2ULL << 30)
#define DEFAULT_MAX_PERFMAP_BYTES (64ULL << 20)
#define DEFAULT_MAX_SYMBOLS ((size_t)4 << 20)
#define DEFAULT_MAX_PROCS ((size_t)65536)
#define DEFAULT_MAX_TABLE_BYTES (1ULL << 30)
#define JIT_RECHECK_NS 200000000ULL /* re-stat a perf map at most this often on misses */
#define ELF_IDLE_SWEEPS 30 /* forget calls a parsed file may go unmapped before it is freed */
#define MAPS_REREAD_NS 1000000000ULL /* re-read a live process's maps at most this often */
#define MAX_LINE_TABLES 512 /* files kept open for source lines (descriptors are finite) */

enum map_kind { SM_FILE, SM_ANON, SM_VDSO };

struct sym_map {
	__u64 start, end, pgoff;
	struct elf_file *elf; /* cache-owned; NULL when the file could not be read */
	const char *path; /* interned; "" when not a file */
	const char *module; /* interned */
	const char *build_id; /* interned or the ELF's; "" when unknown */
	enum map_kind kind;
	__u32 maj, min; /* the mapped file's identity, to open it again (CFI tables) */
	__u64 ino;
};

/* One generation of a process's mappings, sorted by start, non-overlapping. */
struct image {
	struct sym_map *maps;
	size_t n, cap;
	struct image *older;
};

struct proc {
	__u32 pid;
	struct image *img; /* newest generation */
	__u64 gen; /* bumped whenever the newest image changes (for the unwinder) */
	bool snapshotted; /* the newest generation was read from /proc */
	/* The newest generation began at an exec the side-band reported (or a fork of such a
	 * process), so its records name every mapping since, unless records were lost after
	 * rec_epoch: a first snapshot need not read PROC/PID/maps. */
	bool recorded;
	__u64 rec_epoch;
	bool gone; /* reading its maps failed: do not retry lazily */
	bool exit_seen; /* found exited by symbolizer__forget_exited: freed at its next call */
	__u64 read_ns; /* when its maps were last read */
	dev_t exe_dev;
	ino_t exe_ino;
	struct perfmap **jit; /* every load, newest last: older ones keep their strings alive */
	size_t njit;
	__s64 uid; /* its effective uid from PROC/PID/status; -1 unknown */
	__u64 jit_refused_key; /* what was last refused as its perf map (logged and counted once) */
	bool jit_loaded; /* a load was attempted since the last snapshot */
	__u64 jit_checked_ns; /* when the perf map's file was last looked at */
	off_t jit_size;
	struct timespec jit_mtime;
	const char *jit_module, *jit_path;
};

struct inode_key {
	__u64 dev, ino, size, mtime_ns;
};

struct map_key {
	__u64 maj, min, ino;
	const char *path; /* interned */
};

struct symbolizer {
	char *kallsyms_path, *modules_path, *proc_root;
	bool no_kernel, default_kallsyms;
	struct ksyms *ksyms;
	bool ksyms_tried;
	char kernel_build_id[2 * ELF_BUILD_ID_MAX + 1];
	struct hashmap *procs; /* pid -> struct proc * */
	struct hashmap *strings; /* interned strings (key == value) */
	bool demangle;
	bool cfi; /* build CFI unwind tables of the files opened */
	struct hashmap *demangled; /* interned mangled name -> interned display name */
	struct hashmap *by_build_id; /* hex -> struct elf_file * */
	struct hashmap *by_inode; /* struct inode_key * -> struct elf_file * (0: not usable ELF) */
	struct hashmap *by_mapkey; /* struct map_key * -> struct elf_file * (0: not usable ELF) */
	struct elf_file **elves;
	__u16 *elf_idle; /* per elves[i]: symbolizer__forget_exited calls it went unmapped */
	size_t nelves, capelves;
	/* The last vdso read (its bytes, owned) and its parsed file (in elves): every process of a
	 * boot maps the same vdso, so a snapshot compares bytes instead of parsing an ELF again. */
	void *vdso_bytes;
	size_t vdso_len;
	struct elf_file *vdso_elf;
	struct symbolizer_limits lim; /* defaults filled in */
	bool lines; /* opts.lines */
	struct hashmap *line_tables; /* struct elf_file * -> struct line_table * (lines.h) */
	size_t nr_line_tables;
	__u8 *untracked; /* bitmap of pids refused at max_procs (distinct count), lazily allocated */
	size_t untracked_bits;
	__u64 rec_epoch; /* bumped by symbolizer__records_lost() */
	struct symbolizer_stats st;
};

/* Interned copy of str, owned by the symbolizer; NULL when out of memory. */
const char *sym_intern(struct symbolizer *s, const char *str);
__u64 sym_now_ns(void); /* CLOCK_MONOTONIC */
/* Whether a new process may be tracked; counts (once per pid) those refused at max_procs. */
bool sym_proc_room(struct symbolizer *s, __u32 pid);

/* Whether p's newest image is complete from side-band records (no /proc read needed). */
static inline bool sym_proc_recorded(const struct symbolizer *s, const struct proc *p)
{
	return p->recorded && p->rec_epoch == s->rec_epoch;
}

/* images.c */
const struct sym_map *sym_image_find(const struct image *img, __u64 addr);
struct proc *sym_proc_get(struct symbolizer *s, __u32 pid);
/* A new process record with an empty image; NULL with errno ENOMEM, or ENOSPC at max_procs. */
struct proc *sym_proc_new(struct symbolizer *s, __u32 pid);
/* Start a new, empty generation (exec). 0 or -ENOMEM. */
int sym_proc_push_image(struct proc *p);
/* Add one mapping to p's newest image, opening its file now. 0 or -errno. */
int sym_add_map(struct symbolizer *s, struct proc *p, const struct sym_mmap *m, bool deleted);
/* (Re)load p's perf-PID.map; a lookup that loads it lazily, and again once it has changed. */
void sym_jit_load(struct symbolizer *s, struct proc *p);
const struct perfmap_sym *sym_jit_lookup(struct symbolizer *s, struct proc *p, __u64 addr);

/* Kept as the kernel prints it after an unlinked file's name in maps. */
#define SYM_DELETED_SUFFIX " (deleted)"

#endif
