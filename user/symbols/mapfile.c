// SPDX-License-Identifier: GPL-2.0
/* Opening the files a process maps, and files inside its root, without trusting the process. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <linux/openat2.h>

#include "symbols/mapfile.h"
#include "symbols/procmaps.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* Probe results: 0 not probed, 1 available, -1 not. */
static int openat2_state, map_files_state;
static char openat2_why[128], map_files_why[128];

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

static int sys_openat2(int dirfd, const char *path, __u64 flags, __u64 resolve)
{
	struct open_how how = { .flags = flags, .resolve = resolve };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* The environment switches are read on every call (cheap), so tests can flip them. */
bool mapfile__have_openat2(const char **why)
{
	if (env_set("VIGIL_NO_OPENAT2")) {
		if (why)
			*why = "disabled by VIGIL_NO_OPENAT2";
		return false;
	}
	if (!openat2_state) {
		int fd = sys_openat2(AT_FDCWD, "/", O_PATH | O_CLOEXEC,
				     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);

		if (fd < 0)
			snprintf(openat2_why, sizeof(openat2_why), "openat2(RESOLVE_IN_ROOT): %s",
				 strerror(errno));
		openat2_state = fd >= 0 ? 1 : -1;
		if (fd >= 0)
			close(fd);
	}
	if (why)
		*why = openat2_state > 0 ? "" : openat2_why;
	return openat2_state > 0;
}

/* Opens one of our own mappings through /proc/self/map_files, as the symbolizer would a target's. */
bool mapfile__have_map_files(const char **why)
{
	if (env_set("VIGIL_NO_MAP_FILES")) {
		if (why)
			*why = "disabled by VIGIL_NO_MAP_FILES";
		return false;
	}
	if (!map_files_state) {
		struct procmaps *m = NULL;
		const struct procmaps_entry *e = NULL;
		char p[PATH_MAX];
		int fd = -1;

		if (!(m = procmaps__read("/proc/self/maps")) ||
		    !(e = procmaps__find(m, (__u64)(uintptr_t)&mapfile__have_map_files))) {
			snprintf(map_files_why, sizeof(map_files_why), "/proc/self/maps: %s",
				 m ? "own code not found" : strerror(errno));
		} else {
			snprintf(p, sizeof(p), "/proc/self/map_files/%llx-%llx",
				 (unsigned long long)e->start, (unsigned long long)e->end);
			fd = open(p, O_PATH | O_CLOEXEC);
			if (fd < 0)
				snprintf(
					map_files_why, sizeof(map_files_why), "%s%s",
					strerror(errno),
					errno == EPERM ?
						" (needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN)" :
						"");
		}
		map_files_state = fd >= 0 ? 1 : -1;
		if (fd >= 0)
			close(fd);
		procmaps__free(m);
	}
	if (why)
		*why = map_files_state > 0 ? "" : map_files_why;
	return map_files_state > 0;
}

/* Without openat2: one component at a time, refusing every symlink and "..". Returns an O_PATH fd. */
static int walk_no_symlinks(int root_fd, const char *path)
{
	char comp[NAME_MAX + 1];
	const char *p = path;
	int dfd = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC), nfd, err;
	struct stat st;

	if (dfd < 0)
		return -errno;
	for (;;) {
		const char *e;
		size_t l;

		while (*p == '/')
			p++;
		if (!*p)
			return dfd;
		e = strchrnul(p, '/');
		l = (size_t)(e - p);
		if (l > NAME_MAX) {
			close(dfd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, l);
		comp[l] = '\0';
		p = e;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			close(dfd);
			return -EXDEV;
		}
		nfd = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		err = nfd < 0 ? -errno : 0;
		close(dfd);
		if (err)
			return err;
		if (fstat(nfd, &st)) {
			err = -errno;
			close(nfd);
			return err;
		}
		if (S_ISLNK(st.st_mode) || (*p && !S_ISDIR(st.st_mode))) {
			close(nfd);
			return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
		}
		dfd = nfd;
	}
}

/*
 * Checks what the O_PATH descriptor pfd names (a regular file, at most max_size bytes) and opens it
 * for reading through /proc/self/fd (the same inode, whatever happens to the path meanwhile).
 * Consumes pfd. Returns the new fd or -errno.
 */
static int reopen_checked(int pfd, __u64 max_size, struct stat *st)
{
	char p[64];
	int fd, err = 0;

	if (fstat(pfd, st))
		err = -errno;
	else if (S_ISLNK(st->st_mode))
		err = -ELOOP;
	else if (!S_ISREG(st->st_mode))
		err = -EINVAL;
	else if (max_size && (__u64)st->st_size > max_size)
		err = -EFBIG;
	if (err) {
		close(pfd);
		return err;
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pfd);
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	err = fd < 0 ? -errno : 0;
	close(pfd);
	return fd < 0 ? err : fd;
}

int mapfile__open_in_root(int root_fd, const char *path, int flags, __u64 max_size, struct stat *st)
{
	struct stat tmp;
	int pfd, nofollow = flags & O_NOFOLLOW;

	if (!st)
		st = &tmp;
	if (!path || !*path)
		return -ENOENT;
	if (root_fd == AT_FDCWD) {
		pfd = openat(AT_FDCWD, path, O_PATH | O_CLOEXEC | nofollow);
	} else if (mapfile__have_openat2(NULL)) {
		pfd = sys_openat2(root_fd, path, O_PATH | O_CLOEXEC | nofollow,
				  RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	} else {
		pfd = walk_no_symlinks(root_fd, path);
		if (pfd < 0)
			return pfd;
	}
	if (pfd < 0)
		return -errno;
	return reopen_checked(pfd, max_size, st);
}

int mapfile__open_root(const char *proc_root, __u32 pid)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%u/root", proc_root ? proc_root : "/proc", pid);
	fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The file is the mapped one: same inode on the same device (an overlayfs file may show the
 * device of the layer it lives on). Unknown identity passes: the caller checks the build-id. */
static bool same_identity(int fd, const struct stat *st, const struct mapfile_want *w)
{
	struct statfs sf;

	if (!w->ino)
		return true;
	if ((__u64)st->st_ino != w->ino)
		return false;
	if (major(st->st_dev) == w->maj && minor(st->st_dev) == w->min)
		return true;
	return !fstatfs(fd, &sf) && sf.f_type == OVERLAYFS_SUPER_MAGIC;
}

void mapfile__close(struct mapfile *m)
{
	if (!m)
		return;
	if (m->fd >= 0)
		close(m->fd);
	if (m->root_fd >= 0)
		close(m->root_fd);
	m->fd = m->root_fd = -1;
}

int mapfile__open(const struct mapfile_want *w, struct mapfile *out)
{
	const char *proc = w->proc_root ? w->proc_root : "/proc";
	char p[PATH_MAX];
	int root, fd = -ENOENT;

	memset(out, 0, sizeof(*out));
	out->fd = out->root_fd = -1;
	root = mapfile__open_root(proc, w->pid);
	if (mapfile__have_map_files(NULL)) {
		int pfd;

		snprintf(p, sizeof(p), "%s/%u/map_files/%llx-%llx", proc, w->pid,
			 (unsigned long long)w->start, (unsigned long long)w->end);
		pfd = open(p, O_PATH | O_CLOEXEC);
		if (pfd >= 0) {
			fd = reopen_checked(pfd, w->max_size, &out->st);
			if (fd >= 0 && !same_identity(fd, &out->st, w)) {
				/* Another file mapped there since the maps were read. */
				close(fd);
				fd = -ESTALE;
			}
			if (fd >= 0) {
				out->via = MAPFILE_MAP_FILES;
				goto found;
			}
			/* The mapped file itself is unusable: its path can only be worse. */
			goto fail;
		}
	}
	if (root >= 0) {
		fd = mapfile__open_in_root(root, w->path, 0, w->max_size, &out->st);
		out->via = MAPFILE_IN_ROOT;
	} else {
		/* Gone, or hidden from us: the host's file, when it is the mapped inode. */
		fd = w->path && w->path[0] == '/' ?
			     mapfile__open_in_root(AT_FDCWD, w->path, 0, w->max_size, &out->st) :
			     -ENOENT;
		out->via = MAPFILE_HOST;
	}
	if (fd >= 0 && !same_identity(fd, &out->st, w)) {
		close(fd);
		fd = -ESTALE;
	}
	if (fd < 0)
		goto fail;
found:
	out->fd = fd;
	out->root_fd = root >= 0 ? root : AT_FDCWD;
	out->identity_checked = w->ino != 0;
	return 0;
fail:
	if (root >= 0)
		close(root);
	out->via = 0;
	return fd;
}

int mapfile__path(const struct mapfile_want *w, char *out, size_t len)
{
	const char *proc = w->proc_root ? w->proc_root : "/proc";
	struct mapfile mf;
	int err = mapfile__open(w, &mf);

	if (err)
		return err;
	if (mf.via == MAPFILE_MAP_FILES)
		snprintf(out, len, "%s/%u/map_files/%llx-%llx", proc, w->pid,
			 (unsigned long long)w->start, (unsigned long long)w->end);
	else if (mf.via == MAPFILE_IN_ROOT)
		snprintf(out, len, "%s/%u/root%s", proc, w->pid, w->path);
	else
		snprintf(out, len, "%s", w->path);
	mapfile__close(&mf);
	return 0;
}
