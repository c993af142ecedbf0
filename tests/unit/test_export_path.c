// SPDX-License-Identifier: GPL-2.0
/*
 * The format table and writing to a path: export_check_path() on good and bad places, and
 * export_profile_to_path()'s contract (temporary file in the same directory, fsync, rename; nothing
 * left behind on failure; devices written in place; symlinks followed; modes kept).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "export/export.h"
#include "model/profile.h"

struct fixture {
	char dir[64];
	struct profile *p;
};

static struct profile *small_profile(void)
{
	struct profile_meta meta = { .weight_unit = "samples", .period = 1000 };
	struct profile *p = profile__new(&meta);
	__u32 f[2];

	assert_non_null(p);
	f[0] = profile__add_frame(p, &(struct profile_frame){ "main", "a", 0x10, 0, FRAME_USER });
	f[1] = profile__add_frame(p, &(struct profile_frame){ "leaf", "a", 0x20, 0, FRAME_USER });
	assert_int_equal(profile__add_stack(p, &(struct profile_stack){ "a", 1, 1, 2, f, 7, 7000 }),
			 0);
	return p;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-export-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->p = small_profile();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	/* A failed test may have left its tmpfs mounted. */
	snprintf(cmd, sizeof(cmd), "umount '%s/small' 2>/dev/null; rm -rf '%s'", fx->dir, fx->dir);
	if (system(cmd))
		return -1;
	profile__free(fx->p);
	free(fx);
	return 0;
}

/* Names in dir but "." and "..", sorted, into buf as "a,b,c"; returns how many. */
static int entries(const char *dir, char *buf, size_t len)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort), shown = 0;

	assert_true(n >= 0);
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", shown ? "," : "",
				 list[i]->d_name);
			shown++;
		}
		free(list[i]);
	}
	free(list);
	return shown;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_format_table(void **state)
{
	static const struct {
		const char *path;
		enum export_format f;
	} cases[] = {
		{ "x.svg", EXPORT_SVG },
		{ "dir.d/x.SVG", EXPORT_SVG },
		{ "a/b.pb.gz", EXPORT_PPROF },
		{ "x.pprof", EXPORT_PPROF },
		{ "x.folded", EXPORT_FOLDED },
		{ "x.json", EXPORT_SPEEDSCOPE },
		{ "x.speedscope.json", EXPORT_SPEEDSCOPE },
		{ "x.gz", EXPORT_NONE },
		{ "x.png", EXPORT_NONE },
		{ "x.txt", EXPORT_NONE },
		{ "svg", EXPORT_NONE },
		{ ".svg", EXPORT_NONE }, /* a hidden file with no name before the extension */
		{ "out/.json", EXPORT_NONE },
		{ "x.svg/", EXPORT_NONE },
		{ "", EXPORT_NONE },
	};
	static const enum export_format all[] = { EXPORT_FOLDED, EXPORT_SVG, EXPORT_PPROF,
						  EXPORT_SPEEDSCOPE };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (export_format_by_path(cases[i].path) != cases[i].f)
			fail_msg("format of \"%s\": %d, want %d", cases[i].path,
				 export_format_by_path(cases[i].path), cases[i].f);
	assert_int_equal(export_format_by_path(NULL), EXPORT_NONE);
	/* Names round-trip, and the human list names every format and extension. */
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *name = export_format_name(all[i]);

		assert_int_equal(export_format_by_name(name), all[i]);
		assert_non_null(strstr(export_format_list(), name));
	}
	assert_non_null(strstr(export_format_list(), ".folded"));
	assert_non_null(strstr(export_format_list(), ".svg"));
	assert_non_null(strstr(export_format_list(), ".pb.gz"));
	assert_non_null(strstr(export_format_list(), ".pprof"));
	assert_non_null(strstr(export_format_list(), ".json"));
	assert_int_equal(export_format_by_name("flamegraph"), EXPORT_NONE);
	assert_int_equal(export_format_by_name(NULL), EXPORT_NONE);
	assert_string_equal(export_format_name(EXPORT_NONE), "none");
	assert_int_equal(export_profile(NULL, EXPORT_SVG, stdout, NULL), -EINVAL);
}

static void test_check_path(void **state)
{
	struct fixture *fx = *state;
	char path[256], list[256];

	snprintf(path, sizeof(path), "%s/out.svg", fx->dir);
	assert_int_equal(export_check_path(path), 0);
	assert_int_equal(entries(fx->dir, list, sizeof(list)), 0); /* nothing created */
	assert_int_equal(export_check_path("/nonexistent-dir-vigil/x.svg"), -ENOENT);
	snprintf(path, sizeof(path), "%s/gone/x.svg", fx->dir);
	assert_int_equal(export_check_path(path), -ENOENT);
	assert_int_equal(export_check_path(fx->dir), -EISDIR);
	assert_int_equal(export_check_path("/tmp"), -EISDIR);
	assert_int_equal(export_check_path(""), -ENOENT);
	assert_int_equal(export_check_path(NULL), -ENOENT);
	/* A file where the directory should be. */
	assert_int_equal(export_check_path("/proc/self/status/x.svg"), -ENOTDIR);
	/* /proc takes no new files, even from root, though access(W_OK) says yes to root. */
	assert_true(export_check_path("/proc/vigil-test.svg") < 0);
	assert_true(export_check_path("/sys/vigil-test.svg") < 0);
	/* Existing files and devices: writable ones pass. */
	assert_int_equal(export_check_path("/dev/null"), 0);
	snprintf(path, sizeof(path), "%s/existing.folded", fx->dir);
	fclose(fopen(path, "w"));
	assert_int_equal(export_check_path(path), 0);
	assert_int_equal(entries(fx->dir, list, sizeof(list)), 1);
	assert_string_equal(list, "existing.folded");
	/* A read-only file is writable by root, so only check the non-root answer when not root. */
	if (geteuid()) {
		assert_int_equal(chmod(path, 0444), 0);
		assert_int_equal(export_check_path(path), -EACCES);
	}
}

static void test_atomic_write(void **state)
{
	struct fixture *fx = *state;
	struct export_opts eo = { .annotate_kernel = true };
	char path[256], list[256], *text;
	struct stat st;
	mode_t old = umask(022);

	snprintf(path, sizeof(path), "%s/out.folded", fx->dir);
	assert_int_equal(export_profile_to_path(fx->p, EXPORT_FOLDED, path, &eo), 0);
	text = slurp(path);
	assert_string_equal(text, "a;main;leaf 7\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644); /* like a shell redirect, not mkstemp's 0600 */
	assert_int_equal(entries(fx->dir, list, sizeof(list)), 1); /* no temporary file left */
	assert_string_equal(list, "out.folded");

	/* Overwriting: the new content, one file, the old mode kept. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(export_profile_to_path(fx->p, EXPORT_SVG, path, &eo), 0);
	text = slurp(path);
	assert_non_null(strstr(text, "</svg>"));
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(entries(fx->dir, list, sizeof(list)), 1);
	umask(old);
}

static void test_failed_write_leaves_nothing(void **state)
{
	struct fixture *fx = *state;
	struct export_opts eo = { 0 };
	char path[256], list[256];

	/* A directory that is not there. */
	snprintf(path, sizeof(path), "%s/gone/x.svg", fx->dir);
	assert_int_equal(export_profile_to_path(fx->p, EXPORT_SVG, path, &eo), -ENOENT);
	assert_int_equal(entries(fx->dir, list, sizeof(list)), 0);
	/* A place that takes no files: /proc, even for root. */
	assert_true(export_profile_to_path(fx->p, EXPORT_SVG, "/proc/vigil-test.svg", &eo) < 0);
	assert_int_equal(access("/proc/vigil-test.svg", F_OK), -1);
	/* A directory as the target. */
	assert_int_equal(export_profile_to_path(fx->p, EXPORT_SVG, fx->dir, &eo), -EISDIR);
	/* No format: refused before anything is created. */
	snprintf(path, sizeof(path), "%s/x.bin", fx->dir);
	assert_int_equal(export_profile_to_path(fx->p, EXPORT_NONE, path, &eo), -EINVAL);
	assert_int_equal(entries(fx->dir, list, sizeof(list)), 0);
}

/* A write that fails halfway (the disk fills up): the old file stays whole, no temporary is left. */
static void test_full_disk_keeps_old_file(void **state)
{
	struct fixture *fx = *state;
	char mnt[256], path[300], list[256], cmd[512], *text;
	struct profile *big;
	__u32 f[400];
	int rc;

	snprintf(mnt, sizeof(mnt), "%s/small", fx->dir);
	assert_int_equal(mkdir(mnt, 0755), 0);
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=64k tmpfs '%s' 2>/dev/null", mnt);
	if (geteuid() || system(cmd)) {
		rmdir(mnt);
		skip();
	}
	snprintf(path, sizeof(path), "%s/out.folded", mnt);
	assert_int_equal(export_profile_to_path(fx->p, EXPORT_FOLDED, path, NULL), 0);

	/* 400 distinct stacks of 32 long names: some 350 KiB of folded text, more than fits. */
	big = profile__new(&(struct profile_meta){ .weight_unit = "samples" });
	assert_non_null(big);
	for (int i = 0; i < 400; i++) {
		char name[64];

		snprintf(name, sizeof(name), "function_with_a_long_name_%03d", i);
		f[i] = profile__add_frame(
			big, &(struct profile_frame){ name, "m", (__u64)i + 1, 0, FRAME_USER });
		assert_int_not_equal(f[i], 0);
	}
	for (int i = 0; i < 400; i++) {
		__u32 s[32];

		for (int k = 0; k < 32; k++)
			s[k] = f[(i + k * 37) % 400];
		assert_int_equal(profile__add_stack(
					 big, &(struct profile_stack){ "big", 1, 1, 32, s, 1, 1 }),
				 0);
	}
	rc = export_profile_to_path(big, EXPORT_FOLDED, path, NULL);
	assert_int_equal(rc, -ENOSPC);
	text = slurp(path);
	assert_string_equal(text, "a;main;leaf 7\n"); /* the old content, whole */
	free(text);
	assert_int_equal(entries(mnt, list, sizeof(list)), 1);
	assert_string_equal(list, "out.folded");
	profile__free(big);
	snprintf(cmd, sizeof(cmd), "umount '%s'", mnt);
	assert_int_equal(system(cmd), 0);
	rmdir(mnt);
}

/* A read-only mount: EROFS, from the check and from the write, even for root. */
static void test_read_only_mount(void **state)
{
	struct fixture *fx = *state;
	char mnt[256], path[300], list[256], cmd[512];

	snprintf(mnt, sizeof(mnt), "%s/small", fx->dir);
	assert_int_equal(mkdir(mnt, 0755), 0);
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o ro,size=64k tmpfs '%s' 2>/dev/null", mnt);
	if (geteuid() || system(cmd)) {
		rmdir(mnt);
		skip();
	}
	snprintf(path, sizeof(path), "%s/out.svg", mnt);
	assert_int_equal(export_check_path(path), -EROFS);
	assert_int_equal(export_profile_to_path(fx->p, EXPORT_SVG, path, NULL), -EROFS);
	assert_int_equal(entries(mnt, list, sizeof(list)), 0);
	snprintf(cmd, sizeof(cmd), "umount '%s'", mnt);
	assert_int_equal(system(cmd), 0);
	rmdir(mnt);
}

/* Devices are written in place (a rename would replace /dev/null with a file); symlinks followed. */
static void test_devices_and_symlinks(void **state)
{
	struct fixture *fx = *state;
	char target[256], link[256], list[256], *text;
	struct stat st;

	assert_int_equal(export_profile_to_path(fx->p, EXPORT_FOLDED, "/dev/null", NULL), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));

	snprintf(target, sizeof(target), "%s/real.folded", fx->dir);
	snprintf(link, sizeof(link), "%s/link.folded", fx->dir);
	fclose(fopen(target, "w"));
	assert_int_equal(symlink("real.folded", link), 0);
	assert_int_equal(export_profile_to_path(fx->p, EXPORT_FOLDED, link, NULL), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode)); /* still a link */
	text = slurp(target);
	assert_string_equal(text, "a;main;leaf 7\n"); /* ... to the new content */
	free(text);
	assert_int_equal(entries(fx->dir, list, sizeof(list)), 2);
	assert_string_equal(list, "link.folded,real.folded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_table),
		cmocka_unit_test_setup_teardown(test_check_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_disk_keeps_old_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_mount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_and_symlinks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
