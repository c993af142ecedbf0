/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening the files other users control, safely: the files a process maps, and the files inside its
 * root (separate debug files, perf-PID.map). Every reader of a mapped file goes through here (the
 * symbolizer's ELF cache, the CFI table builder, DWARF line tables).
 *
 * A profiled process owns its files, its mount namespace and its root: the path in its maps may by
 * now be an absolute symlink that the host would resolve against its own root, a FIFO that blocks
 * an open, a device, or another file swapped in since the maps were read. So:
 *
 *  1. the mapped file itself is opened through PROC/PID/map_files/START-END, the very inode the
 *     process maps (deleted files included), and its dev:inode is checked against the maps line;
 *  2. where that is refused (it needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE) or gone, the path is
 *     resolved inside the process's root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and
 *     on kernels without openat2 by a walk that follows no symlink at all; dev:inode checked again;
 *  3. once the process is gone, the host's path, but only when its dev:inode is the mapped one.
 *
 * Every candidate is opened O_PATH first and checked (a regular file, under the size cap) before it
 * is opened for reading, so no FIFO, device or socket of theirs is ever really opened.
 *
 * Thread-safe: the feature probes run once (no locking needed beyond that; call them from the main
 * thread first if several threads use this).
 */
#ifndef VIGIL_SYMBOLS_MAPFILE_H
#define VIGIL_SYMBOLS_MAPFILE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <linux/types.h>

/* One executable mapping, as /proc/PID/maps or a perf MMAP2 record describes it. */
struct mapfile_want {
	const char *proc_root; /* NULL: "/proc" */
	__u32 pid;
	__u64 start, end; /* the mapping's range (map_files is named after it) */
	__u32 maj, min;
	__u64 ino; /* 0: identity unknown (an MMAP2 record with a build-id): the caller checks that */
	const char *path; /* as the kernel names it, " (deleted)" stripped */
	__u64 max_size; /* refuse larger files; 0: no cap */
};

enum mapfile_via {
	MAPFILE_MAP_FILES = 1, /* PROC/PID/map_files: the mapped inode */
	MAPFILE_IN_ROOT, /* the path, resolved inside the process's root */
	MAPFILE_HOST, /* the path on the host (process gone), same dev:inode */
};

struct mapfile {
	int fd; /* O_RDONLY | O_CLOEXEC: the file's contents */
	int root_fd; /* O_PATH directory to resolve further names in (mapfile__open_in_root): the
		      * process's root while it lives, else AT_FDCWD (the host's) */
	enum mapfile_via via;
	bool identity_checked; /* dev:inode matched; false only when want->ino == 0 */
	struct stat st; /* of fd */
};

/*
 * Opens the file behind one mapping. 0 with *out filled (release it with mapfile__close), or
 * -ENOENT (nowhere to be found), -ESTALE (what is there is not the mapped file), -EFBIG (over
 * max_size), -EINVAL (not a regular file), -EACCES/-EPERM, -ENOMEM.
 */
int mapfile__open(const struct mapfile_want *w, struct mapfile *out);
/*
 * A path for what must be named by path (uprobe attach: the kernel and libbpf open it themselves):
 * PROC/PID/map_files/START-END when map_files works (the mapped inode, resolved by the kernel
 * without following the process's symlinks), else PROC/PID/root/PATH or the host's PATH once
 * mapfile__open found the mapped inode there (it could still be swapped before the kernel resolves
 * it; map_files cannot). 0, or mapfile__open's -errno.
 */
int mapfile__path(const struct mapfile_want *w, char *out, size_t len);
/* Closes out's descriptors. NULL-safe, idempotent. */
void mapfile__close(struct mapfile *m);

/* The process's root as an O_PATH directory descriptor, or -errno (-ENOENT once it is gone). */
int mapfile__open_root(const char *proc_root, __u32 pid);

/*
 * Opens path (absolute, as the process sees it; relative names start at the root too) inside the
 * tree root_fd names, never leaving it: symlinks and ".." resolve inside it (openat2 with
 * RESOLVE_IN_ROOT), or, without openat2, the walk refuses every symlink (-ELOOP). root_fd AT_FDCWD
 * means the host's own root (ordinary resolution). flags may add O_NOFOLLOW (refuse a symlink as
 * the last component) and O_NONBLOCK. The candidate must be a regular file of at most max_size
 * bytes (0: no cap): -EINVAL / -EFBIG otherwise. Returns an O_RDONLY | O_CLOEXEC fd, st filled
 * (st may be NULL), or -errno.
 */
int mapfile__open_in_root(int root_fd, const char *path, int flags, __u64 max_size,
			  struct stat *st);

/*
 * What this kernel and these privileges offer, probed once; *why (may be NULL) says why not, "" when
 * available. VIGIL_NO_OPENAT2=1 / VIGIL_NO_MAP_FILES=1 in the environment force the fallbacks
 * (tests use them to run the fallback paths on kernels that have both).
 */
bool mapfile__have_openat2(const char **why);
bool mapfile__have_map_files(const char **why);

#endif
