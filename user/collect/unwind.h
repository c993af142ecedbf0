/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading the BPF user-stack walker's tables (bpf/unwind.bpf.h, include/vigil/unwind.h): each file's
 * CFI rows (built by the symbolizer from the files it opens, symbols/cfi.h) go once into ranges of
 * the shared cfi_rows/cfi_pages arrays and get a table id; each process that the collector announces
 * gets its sorted table of executable mappings in unwind_procs, replaced whole whenever its image
 * changes (dlopen, exec), so BPF always reads a consistent table. Exited processes are dropped.
 *
 * Tables stay loaded for the life of the unwinder (a file mapped again costs nothing). When the
 * arrays are full, further files are walked by frame pointers and counted (--unwind-rows).
 * Borrows the symbolizer; not thread-safe.
 */
#ifndef VIGIL_COLLECT_UNWIND_H
#define VIGIL_COLLECT_UNWIND_H

#include <linux/types.h>

struct bpf_object;
struct symbolizer;
struct unwinder;

/* Before load: size obj's unwind maps for mode (VG_UNWIND_*) and rows. 0 or -errno. */
int unwind__configure(struct bpf_object *obj, __u32 mode, __u32 rows);

/* After load: obj must hold the maps of bpf/unwind.bpf.h. NULL + errno. */
struct unwinder *unwinder__new(struct bpf_object *obj, struct symbolizer *sym, __u32 mode);
/* NULL-safe. Leaves the maps as they are (they go with the object). */
void unwinder__free(struct unwinder *u);

/* (Re)load pid's mapping table from the symbolizer's current image of it. 0 or -errno. */
int unwinder__load_pid(struct unwinder *u, __u32 pid);
/* Load pid's table as soon as the symbolizer knows its image (e.g. COMMAND, before it exec'd). */
int unwinder__watch(struct unwinder *u, __u32 pid);
/* Periodic work: reload the processes whose image changed, drop those that exited. */
void unwinder__tick(struct unwinder *u);

struct unwind_stats {
	__u64 files; /* tables loaded */
	__u64 rows, bytes; /* their rows, and the bytes of rows and page index */
	__u64 files_full; /* files left without a table: the arrays were full */
	__u64 pids, loads; /* processes with a table now; table loads (first and reloads) */
	__u64 maps_dropped; /* executable mappings beyond VG_UNWIND_MAX_MAPS of a process */
	double load_ms; /* time spent loading */
};
void unwinder__stats(const struct unwinder *u, struct unwind_stats *out);

#endif
