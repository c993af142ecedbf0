// SPDX-License-Identifier: GPL-2.0
/*
 * The format table, and writing a profile to a path without ever leaving a partial file: a temporary
 * file next to the target, fsync, rename over the target, fsync the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "export/export.h"

static const struct {
	enum export_format f;
	const char *name;
	const char *exts[2];
} formats[] = {
	{ EXPORT_FOLDED, "folded", { ".folded" } },
	{ EXPORT_SVG, "svg", { ".svg" } },
	{ EXPORT_PPROF, "pprof", { ".pb.gz", ".pprof" } },
	{ EXPORT_SPEEDSCOPE, "speedscope", { ".json" } },
};

#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))
#define NR_EXTS (sizeof(formats[0].exts) / sizeof(formats[0].exts[0]))

enum export_format export_format_by_name(const char *name)
{
	for (size_t i = 0; name && i < NR_FORMATS; i++)
		if (!strcmp(name, formats[i].name))
			return formats[i].f;
	return EXPORT_NONE;
}

/* A file name with something before the extension; "x.SVG" counts as ".svg". */
static bool has_ext(const char *path, const char *ext)
{
	const char *base = strrchr(path, '/');
	size_t n, m = strlen(ext);

	base = base ? base + 1 : path;
	n = strlen(base);
	return n > m && !strcasecmp(base + n - m, ext);
}

enum export_format export_format_by_path(const char *path)
{
	for (size_t i = 0; path && i < NR_FORMATS; i++)
		for (size_t k = 0; k < NR_EXTS && formats[i].exts[k]; k++)
			if (has_ext(path, formats[i].exts[k]))
				return formats[i].f;
	return EXPORT_NONE;
}

const char *export_format_list(void)
{
	/* Kept in step with the table by test_export_path.c. */
	return "folded (.folded), svg (.svg), pprof (.pb.gz, .pprof), speedscope (.json)";
}

const char *export_format_name(enum export_format f)
{
	for (size_t i = 0; i < NR_FORMATS; i++)
		if (formats[i].f == f)
			return formats[i].name;
	return "none";
}

int export_profile(const struct profile *p, enum export_format f, FILE *out,
		   const struct export_opts *o)
{
	if (!p || !out)
		return -EINVAL;
	switch (f) {
	case EXPORT_FOLDED:
		return export_folded(p, out, o);
	case EXPORT_SVG:
		return export_svg(p, out, o);
	case EXPORT_PPROF:
		return export_pprof(p, out, o);
	case EXPORT_SPEEDSCOPE:
		return export_speedscope(p, out, o);
	case EXPORT_NONE:
		break;
	}
	return -EINVAL;
}

/*
 * Where the bytes for path really go. A symlink to an existing file is followed, so the rename replaces
 * the file and not the link (the user's out.svg -> /shared/latest.svg keeps pointing there); anything
 * else is path itself.
 */
static const char *resolve_target(const char *path, char *buf)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && realpath(path, buf))
		return buf;
	return path;
}

/* The directory part of path, in buf (PATH_MAX bytes). */
static int dir_of(const char *path, char *buf)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	snprintf(buf, PATH_MAX, "%s", dirname(tmp));
	return 0;
}

/*
 * Can a new file be made in dir? Root passes access(W_OK) almost everywhere, yet /proc and /sys refuse
 * new files and read-only mounts say EROFS only on the attempt, so try: an O_TMPFILE file has no name
 * and vanishes on close; where the filesystem has no O_TMPFILE, a named probe (PATH.tmp.XXXXXX, the
 * name the real write uses) is made and removed at once.
 */
static int probe_create(const char *dir, const char *target)
{
	char tmp[PATH_MAX];
	int fd = open(dir, O_WRONLY | O_TMPFILE | O_CLOEXEC, 0600);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", target) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	unlink(tmp);
	return 0;
}

int export_check_path(const char *path)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *target;
	struct stat st;
	int err;

	if (!path || !*path)
		return -ENOENT;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		/* An existing file, device or FIFO: opening it for writing is the whole question. */
		if (access(path, W_OK))
			return -errno;
		if (!S_ISREG(st.st_mode))
			return 0;
	}
	target = resolve_target(path, real);
	err = dir_of(target, dir);
	if (err)
		return err;
	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (access(dir, W_OK | X_OK))
		return -errno;
	return probe_create(dir, target);
}

/* The mode a shell redirect would give a new file: 0666 less the umask (read without changing it). */
static mode_t new_file_mode(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned int mask = 022;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &mask) == 1)
			break;
	if (f)
		fclose(f);
	return 0666 & ~(mode_t)mask;
}

int export_stream_error(FILE *out, int err)
{
	int saved = errno;

	if (!err && !ferror(out)) {
		if (!fflush(out))
			return 0;
		return -errno;
	}
	if (err && err != -EIO)
		return err;
	/* What is still buffered fails again, with the reason. */
	errno = 0;
	if (fflush(out) && errno && errno != EIO)
		return -errno;
	/* Nothing left to flush: the errno of the failed write itself, if it is still there. */
	if (saved == ENOSPC || saved == EDQUOT || saved == EPIPE || saved == EFBIG)
		return -saved;
	return -EIO;
}

/* Devices and FIFOs (-o /dev/stdout, -o /dev/null) are written in place: renaming over them would
 * replace the device node with a regular file. */
static int write_in_place(const char *path, export_write_fn write, void *arg)
{
	FILE *out = fopen(path, "we");
	int err;

	if (!out)
		return -errno;
	err = export_stream_error(out, write(out, arg));
	if (fclose(out) && !err)
		err = -errno;
	return err;
}

/* Durability of the rename itself; best effort (some filesystems refuse fsync on directories). */
static void sync_dir(const char *target)
{
	char dir[PATH_MAX];
	int fd;

	if (dir_of(target, dir))
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fsync(fd);
	close(fd);
}

int export_to_path(const char *path, export_write_fn write, void *arg)
{
	char tmp[PATH_MAX], real[PATH_MAX];
	const char *target;
	mode_t mode;
	struct stat st;
	bool existed = false;
	FILE *out;
	int fd, err;

	if (!path || !*path || !write)
		return -EINVAL;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if (!S_ISREG(st.st_mode))
			return write_in_place(path, write, arg);
		existed = true;
	}
	target = resolve_target(path, real);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", target) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Replacing a file keeps its mode and (where we may) its owner; a new file gets what a shell
	 * redirect would give it, not mkstemp's 0600. */
	mode = existed ? st.st_mode & 07777 : new_file_mode();
	if (existed && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid)) {
		/* Not allowed to: the new file is ours, which is what any rewrite gives. */
	}
	if (fchmod(fd, mode)) {
		/* Keep mkstemp's 0600: stricter, never looser. */
	}
	out = fdopen(fd, "w");
	if (!out) {
		err = -errno;
		close(fd);
		goto fail;
	}
	/* Exporters say -EIO for any stream failure; what the user can act on is the reason
	 * (ENOSPC, EDQUOT). */
	err = export_stream_error(out, write(out, arg));
	if (!err && fsync(fd))
		err = -errno;
	if (fclose(out) && !err)
		err = -errno;
	if (err)
		goto fail;
	if (rename(tmp, target)) {
		err = -errno;
		goto fail;
	}
	sync_dir(target);
	return 0;
fail:
	unlink(tmp);
	return err;
}

struct profile_write {
	const struct profile *p;
	enum export_format f;
	const struct export_opts *o;
};

static int write_profile(FILE *out, void *arg)
{
	const struct profile_write *w = arg;

	return export_profile(w->p, w->f, out, w->o);
}

int export_profile_to_path(const struct profile *p, enum export_format f, const char *path,
			   const struct export_opts *o)
{
	struct profile_write w = { p, f, o };

	if (!p || f == EXPORT_NONE)
		return -EINVAL;
	return export_to_path(path, write_profile, &w);
}
