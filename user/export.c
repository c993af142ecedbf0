// SPDX-License-Identifier: GPL-2.0
/* The format table, and writing a profile to a path without ever leaving a partial file. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "export.h"

static const struct {
	enum export_format f;
	const char *name;
	const char *exts[3];
} formats[] = {
	{ EXPORT_FOLDED, "folded", { ".folded", ".txt" } },
	{ EXPORT_SVG, "svg", { ".svg" } },
	{ EXPORT_PPROF, "pprof", { ".pb.gz", ".pprof" } },
	{ EXPORT_SPEEDSCOPE, "speedscope", { ".json", ".speedscope.json" } },
};

#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))

enum export_format export_format_by_name(const char *name)
{
	for (size_t i = 0; i < NR_FORMATS; i++)
		if (!strcmp(name, formats[i].name))
			return formats[i].f;
	return EXPORT_NONE;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && !strcmp(s + n - m, suffix);
}

enum export_format export_format_by_path(const char *path)
{
	for (size_t i = 0; i < NR_FORMATS; i++)
		for (size_t k = 0; k < 3 && formats[i].exts[k]; k++)
			if (ends_with(path, formats[i].exts[k]))
				return formats[i].f;
	return EXPORT_NONE;
}

const char *export_format_list(void)
{
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

/* The directory part of path, in buf. */
static void dir_of(const char *path, char *buf, size_t len)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(buf, len, "%s", dirname(tmp));
}

int export_check_path(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;

	if (!*path)
		return -ENOENT;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR;
	dir_of(path, dir, sizeof(dir));
	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* Root passes access(W_OK) on read-only mounts; the write itself still fails cleanly. */
	if (access(dir, W_OK | X_OK))
		return -errno;
	if (stat(path, &st) == 0 && access(path, W_OK))
		return -errno;
	return 0;
}

int export_profile_to_path(const struct profile *p, enum export_format f, const char *path,
			   const struct export_opts *o)
{
	char tmp[PATH_MAX];
	struct stat st;
	mode_t mode = 0644;
	FILE *out;
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	/* Keep an existing file's mode; new files get 0644 like any shell redirect. */
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	fchmod(fd, mode);
	out = fdopen(fd, "w");
	if (!out) {
		err = -errno;
		close(fd);
		goto fail;
	}
	err = export_profile(p, f, out, o);
	if (!err && fflush(out))
		err = -errno;
	if (!err && ferror(out))
		err = -EIO;
	if (!err && fsync(fileno(out)))
		err = -errno;
	if (fclose(out) && !err)
		err = -errno;
	if (err)
		goto fail;
	if (rename(tmp, path)) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	return err;
}
