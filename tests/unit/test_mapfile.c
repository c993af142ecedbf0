// SPDX-License-Identifier: GPL-2.0
/*
 * mapfile: opening what other users control. A fake process root in /tmp with the traps a hostile
 * process would set (absolute symlinks out of its root, "..", FIFOs, oversized files), and this
 * process's own mappings for map_files and the dev:inode checks. Each case runs with openat2 and
 * with the fallback walk (VIGIL_NO_OPENAT2), with map_files and without (VIGIL_NO_MAP_FILES).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "symbols/mapfile.h"
#include "symbols/procmaps.h"

static char
	dir[64]; /* the test's directory: dir/root is the fake process root, dir/host the host */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vigil-test-mapfile-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* The host has a secret; the root has its own /etc/secret, a link out, a FIFO, a big file. */
	return sh(
		"cd %s && mkdir -p host root/etc root/lib root/sub && echo HOST-SECRET > host/secret "
		"&& echo ROOT-FILE > root/etc/secret && ln -s %s/host/secret root/lib/abs "
		"&& ln -s ../../../../../../../host/secret root/sub/rel && ln -s secret "
		"root/etc/link && mkfifo root/etc/fifo && truncate -s 8192 root/etc/big",
		dir, dir);
}

static int teardown(void **state)
{
	(void)state;
	return dir[0] ? sh("rm -rf %s", dir) : 0;
}

static int root_fd(void)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/root", dir);
	fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Opens path in the fake root; returns -errno or the first bytes read into buf. */
static int read_in_root(const char *path, int flags, __u64 max, char *buf, size_t size)
{
	int rfd = root_fd(), fd = mapfile__open_in_root(rfd, path, flags, max, NULL);
	ssize_t n;

	close(rfd);
	if (fd < 0)
		return fd;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return 0;
}

/* The checks, in whichever resolution mode this process probed. */
static void check_in_root(bool openat2)
{
	char buf[64];

	assert_int_equal(read_in_root("/etc/secret", 0, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ROOT-FILE\n");
	/* A symlink to /HOSTDIR/host/secret means that path inside the root: not there. Without
	 * openat2 no symlink is followed at all. */
	assert_int_equal(read_in_root("/lib/abs", 0, 0, buf, sizeof(buf)),
			 openat2 ? -ENOENT : -ELOOP);
	/* ".." stops at the root: the relative link lands on the root's own /host/secret (none). */
	assert_int_equal(read_in_root("/sub/rel", 0, 0, buf, sizeof(buf)),
			 openat2 ? -ENOENT : -ELOOP);
	assert_int_equal(read_in_root("/../../etc/secret", 0, 0, buf, sizeof(buf)),
			 openat2 ? 0 : -EXDEV);
	/* A relative symlink inside the root is followed (openat2), unless O_NOFOLLOW refuses it. */
	assert_int_equal(read_in_root("/etc/link", 0, 0, buf, sizeof(buf)), openat2 ? 0 : -ELOOP);
	assert_int_equal(read_in_root("/etc/link", O_NOFOLLOW, 0, buf, sizeof(buf)), -ELOOP);
	/* A FIFO is refused without blocking; a directory is not a file; the size cap holds. */
	assert_int_equal(read_in_root("/etc/fifo", O_NONBLOCK, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(read_in_root("/etc", 0, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(read_in_root("/etc/big", 0, 4096, buf, sizeof(buf)), -EFBIG);
	assert_int_equal(read_in_root("/etc/big", 0, 8192, buf, sizeof(buf)), 0);
	assert_int_equal(read_in_root("/etc/none", 0, 0, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(read_in_root("/etc/secret/x", 0, 0, buf, sizeof(buf)), -ENOTDIR);
}

static void test_in_root_openat2(void **state)
{
	const char *why;

	(void)state;
	/* This kernel (6.18) has openat2; the fallback is tested below. */
	assert_true(mapfile__have_openat2(&why));
	assert_string_equal(why, "");
	check_in_root(true);
}

static void test_in_root_fallback(void **state)
{
	(void)state;
	setenv("VIGIL_NO_OPENAT2", "1", 1);
	check_in_root(false);
	unsetenv("VIGIL_NO_OPENAT2");
}

/* A scratch file mapped executable by this process, as a library would be. */
struct mapped {
	char path[PATH_MAX];
	void *addr;
	size_t len;
	struct stat st;
};

static void map_scratch(struct mapped *m, const char *name, const char *content)
{
	int fd;

	snprintf(m->path, sizeof(m->path), "%s/host/%s", dir, name);
	fd = open(m->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	m->len = 4096;
	assert_int_equal(ftruncate(fd, (off_t)m->len), 0);
	assert_int_equal(pwrite(fd, content, strlen(content), 0), (ssize_t)strlen(content));
	m->addr = mmap(NULL, m->len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	assert_true(m->addr != MAP_FAILED);
	assert_int_equal(fstat(fd, &m->st), 0);
	close(fd);
}

static struct mapfile_want want_of(const struct mapped *m)
{
	return (struct mapfile_want){
		.pid = (__u32)getpid(),
		.start = (__u64)(uintptr_t)m->addr,
		.end = (__u64)(uintptr_t)m->addr + m->len,
		.maj = major(m->st.st_dev),
		.min = minor(m->st.st_dev),
		.ino = (__u64)m->st.st_ino,
		.path = m->path,
	};
}

static void expect_content(const struct mapfile *mf, const char *want)
{
	char buf[64];
	ssize_t n = pread(mf->fd, buf, sizeof(buf) - 1, 0);

	assert_true(n >= (ssize_t)strlen(want));
	buf[strlen(want)] = '\0';
	assert_string_equal(buf, want);
}

/*
 * A mapped file replaced at its path after it was mapped: map_files still reads the mapped inode;
 * without map_files the path's new file is refused (its inode is not the mapped one).
 */
static void check_replaced(bool have_map_files)
{
	struct mapped m;
	struct mapfile_want w;
	struct mapfile mf;
	char other[PATH_MAX];

	map_scratch(&m, have_map_files ? "lib-a.so" : "lib-b.so", "MAPPED");
	w = want_of(&m);
	assert_int_equal(mapfile__open(&w, &mf), 0);
	assert_int_equal(mf.via, have_map_files ? MAPFILE_MAP_FILES : MAPFILE_IN_ROOT);
	assert_true(mf.identity_checked);
	assert_true(mf.root_fd >= 0);
	expect_content(&mf, "MAPPED");
	mapfile__close(&mf);
	mapfile__close(&mf); /* idempotent */
	{
		char p[PATH_MAX], want[PATH_MAX];

		assert_int_equal(mapfile__path(&w, p, sizeof(p)), 0);
		if (have_map_files)
			snprintf(want, sizeof(want), "/proc/%u/map_files/%llx-%llx", w.pid,
				 (unsigned long long)w.start, (unsigned long long)w.end);
		else
			snprintf(want, sizeof(want), "/proc/%u/root%s", w.pid, m.path);
		assert_string_equal(p, want);
	}

	/* The maps line said another inode: not this file. */
	w.ino++;
	assert_int_equal(mapfile__open(&w, &mf), -ESTALE);
	w.ino--;
	/* The size cap. */
	w.max_size = 100;
	assert_int_equal(mapfile__open(&w, &mf), -EFBIG);
	w.max_size = 0;

	snprintf(other, sizeof(other), "%s.new", m.path);
	assert_int_equal(sh("echo SWAPPED > %s && mv %s %s", other, other, m.path), 0);
	if (have_map_files) {
		assert_int_equal(mapfile__open(&w, &mf), 0);
		expect_content(&mf, "MAPPED");
		mapfile__close(&mf);
	} else {
		char p[PATH_MAX];

		assert_int_equal(mapfile__open(&w, &mf), -ESTALE);
		assert_int_equal(mapfile__path(&w, p, sizeof(p)), -ESTALE);
	}
	/* Unknown identity (an MMAP2 record with a build-id): the caller checks the build-id. */
	w.ino = 0;
	assert_int_equal(mapfile__open(&w, &mf), 0);
	assert_false(mf.identity_checked);
	expect_content(&mf, have_map_files ? "MAPPED" : "SWAPPED");
	mapfile__close(&mf);
	munmap(m.addr, m.len);
}

static void test_map_files(void **state)
{
	const char *why;

	(void)state;
	if (!mapfile__have_map_files(&why))
		skip(); /* not root: no CAP_CHECKPOINT_RESTORE */
	check_replaced(true);
}

static void test_without_map_files(void **state)
{
	const char *why;

	(void)state;
	setenv("VIGIL_NO_MAP_FILES", "1", 1);
	assert_false(mapfile__have_map_files(&why));
	assert_string_equal(why, "disabled by VIGIL_NO_MAP_FILES");
	check_replaced(false);
	unsetenv("VIGIL_NO_MAP_FILES");
}

/* A process that is gone: its host path, only when the inode is the one it mapped. */
static void test_gone_process(void **state)
{
	struct mapped m;
	struct mapfile_want w;
	struct mapfile mf;
	pid_t child;
	int st;

	(void)state;
	map_scratch(&m, "lib-c.so", "MAPPED");
	w = want_of(&m);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, &st, 0), child);
	w.pid = (__u32)child; /* reaped: no /proc/PID */
	assert_int_equal(mapfile__open(&w, &mf), 0);
	assert_int_equal(mf.via, MAPFILE_HOST);
	assert_int_equal(mf.root_fd, AT_FDCWD);
	expect_content(&mf, "MAPPED");
	mapfile__close(&mf);
	w.ino++;
	assert_int_equal(mapfile__open(&w, &mf), -ESTALE);
	w.path = "relative/path";
	assert_int_equal(mapfile__open(&w, &mf), -ENOENT);
	munmap(m.addr, m.len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_root_openat2), cmocka_unit_test(test_in_root_fallback),
		cmocka_unit_test(test_map_files),	cmocka_unit_test(test_without_map_files),
		cmocka_unit_test(test_gone_process),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
