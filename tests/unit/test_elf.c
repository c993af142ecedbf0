// SPDX-License-Identifier: GPL-2.0
/*
 * elf: symbols, build-ids, program headers and separate debug files of the fixtures built by the
 * Makefile, checked against what binutils (nm, readelf, objcopy) say about the same files.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <sys/auxv.h>
#include <cmocka.h>

#include "symbols/elf.h"

#define FIXTURE_EXE ".output/tests/fixtures/symfixture"
#define FIXTURE_LIB ".output/tests/fixtures/libfixture.so"

/*
 * `make unit` builds the fixture executables; the shared library has its own rule, which the unit
 * target may not list as a prerequisite: build it on demand.
 */
static int ensure_fixture_lib(void)
{
	if (access(FIXTURE_LIB, R_OK) &&
	    system("make --no-print-directory -s " FIXTURE_LIB " >/dev/null 2>&1"))
		return -1;
	return access(FIXTURE_LIB, R_OK) || access(FIXTURE_EXE, R_OK) ? -1 : 0;
}

struct nm_sym {
	char name[128];
	unsigned long long addr, size;
};

/* `nm -S --defined-only` entries for the given names; fails the test if one is missing. */
static void nm_lookup(const char *file, const char *const *names, struct nm_sym *out, size_t n)
{
	char cmd[512], line[512], type, name[128];
	unsigned long long addr, size;
	size_t found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	assert_non_null(p);
	memset(out, 0, n * sizeof(*out));
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%llx %llx %c %127s", &addr, &size, &type, name) != 4)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(names[i], name) || out[i].name[0])
				continue;
			snprintf(out[i].name, sizeof(out[i].name), "%s", name);
			out[i].addr = addr;
			out[i].size = size;
			found++;
		}
	}
	assert_int_equal(pclose(p), 0);
	if (found != n)
		fail_msg("nm found %zu of %zu symbols in %s (is binutils installed?)", found, n,
			 file);
}

static void expect_name(const struct elf_file *f, __u64 vaddr, const char *name)
{
	struct elf_symbol s;

	if (elf_file__lookup(f, vaddr, &s))
		fail_msg("0x%llx: no symbol, want %s", (unsigned long long)vaddr, name);
	assert_string_equal(s.name, name);
	assert_true(s.addr <= vaddr && vaddr < s.addr + s.size);
}

static void check_functions(const char *file, const char *const *names, size_t n)
{
	struct elf_file *f = elf_file__open(file, NULL);
	struct nm_sym syms[16];

	assert_non_null(f);
	assert_true(n <= 16);
	nm_lookup(file, names, syms, n);
	for (size_t i = 0; i < n; i++) {
		assert_true(syms[i].size > 0);
		/* First byte, middle and last byte of each function. */
		expect_name(f, syms[i].addr, names[i]);
		expect_name(f, syms[i].addr + syms[i].size / 2, names[i]);
		expect_name(f, syms[i].addr + syms[i].size - 1, names[i]);
	}
	elf_file__free(f);
}

static int setup(void **state)
{
	(void)state;
	if (ensure_fixture_lib()) {
		fprintf(stderr, "fixtures missing: run make %s %s\n", FIXTURE_EXE, FIXTURE_LIB);
		return -1;
	}
	return 0;
}

static void test_exe_symbols(void **state)
{
	static const char *const names[] = { "fixture_alpha",	"fixture_beta",
					     "fixture_gamma",	"fixture_static_helper",
					     "fixture_in_data", "main" };

	(void)state;
	check_functions(FIXTURE_EXE, names, sizeof(names) / sizeof(names[0]));
}

static void test_lib_symbols(void **state)
{
	static const char *const names[] = { "lib_one", "lib_two", "lib_three", "lib_hidden" };
	struct elf_file *f = elf_file__open(FIXTURE_LIB, NULL);
	struct nm_sym data;
	static const char *const var[] = { "lib_state" };
	struct elf_symbol s;

	(void)state;
	check_functions(FIXTURE_LIB, names, sizeof(names) / sizeof(names[0]));
	/* Data symbols are not functions. */
	assert_non_null(f);
	nm_lookup(FIXTURE_LIB, var, &data, 1);
	assert_int_equal(elf_file__lookup(f, data.addr, &s), -ENOENT);
	assert_int_equal(elf_file__lookup(f, 0, &s), -ENOENT);
	assert_true(elf_file__type(f) == ET_DYN);
	elf_file__free(f);
}

/* The build-id as `readelf -n` prints it. */
static void readelf_build_id(const char *file, char *hex, size_t size)
{
	char cmd[512], line[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	assert_non_null(p);
	hex[0] = '\0';
	while (fgets(line, sizeof(line), p)) {
		const char *b = strstr(line, "Build ID: ");

		if (b)
			sscanf(b + 10, "%127s", hex);
	}
	pclose(p);
	(void)size;
	assert_true(strlen(hex) >= 16);
}

static void test_build_id(void **state)
{
	const char *files[] = { FIXTURE_EXE, FIXTURE_LIB };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct elf_file *f = elf_file__open(files[i], NULL);
		char want[128];
		const __u8 *id;
		__u8 raw[ELF_BUILD_ID_MAX];
		FILE *fp;

		assert_non_null(f);
		readelf_build_id(files[i], want, sizeof(want));
		assert_string_equal(elf_file__build_id_hex(f), want);
		/* --build-id=sha1 */
		assert_int_equal(elf_file__build_id(f, &id), 20);
		assert_non_null(id);
		/* The cheap reader agrees. */
		fp = fopen(files[i], "r");
		assert_non_null(fp);
		assert_int_equal(elf__read_build_id(fileno(fp), raw, sizeof(raw)), 20);
		assert_memory_equal(raw, id, 20);
		fclose(fp);
		elf_file__free(f);
	}
}

/* PT_LOAD headers as `readelf -lW` prints them. */
static void test_segments(void **state)
{
	struct elf_file *f = elf_file__open(FIXTURE_EXE, NULL);
	char line[512], flags[8];
	unsigned long long off, va, pa, fsz, msz;
	size_t n = 0;
	FILE *p;

	(void)state;
	assert_non_null(f);
	p = popen("readelf -lW " FIXTURE_EXE " 2>/dev/null", "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		const struct elf_segment *s;
		__u32 want = 0;

		if (sscanf(line, " LOAD 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx %7[RWE ]", &off, &va,
			   &pa, &fsz, &msz, flags) != 6)
			continue;
		s = elf_file__segment(f, n++);
		assert_non_null(s);
		want = (strchr(flags, 'R') ? PF_R : 0) | (strchr(flags, 'W') ? PF_W : 0) |
		       (strchr(flags, 'E') ? PF_X : 0);
		assert_true(s->offset == off && s->vaddr == va && s->filesz == fsz &&
			    s->memsz == msz);
		assert_int_equal(s->flags, want);
	}
	pclose(p);
	assert_true(n >= 2);
	assert_int_equal(elf_file__nr_segments(f), n);
	elf_file__free(f);
}

/*
 * Offset -> vaddr against the section headers (`readelf -SW`): every allocated section with file
 * bytes lies at sh_addr in memory and sh_offset in the file. .data is where the two differ.
 */
static void check_sections(const char *file)
{
	struct elf_file *f = elf_file__open(file, NULL);
	char cmd[512], line[512], name[64], type[32], flg[16];
	unsigned long long addr, off, size;
	int checked = 0, differ = 0;
	FILE *p;

	assert_non_null(f);
	snprintf(cmd, sizeof(cmd), "readelf -SW '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		const char *b = strchr(line, ']');
		__u64 v;

		if (!b || sscanf(b + 1, " %63s %31s %llx %llx %llx %*x %15s", name, type, &addr,
				 &off, &size, flg) != 6)
			continue;
		if (!strchr(flg, 'A') || !strcmp(type, "NOBITS") || !size || !addr)
			continue;
		assert_int_equal(elf_file__off_to_vaddr(f, off, &v), 0);
		if (v != addr)
			fail_msg("%s: offset 0x%llx -> 0x%llx, want 0x%llx", name, off,
				 (unsigned long long)v, addr);
		assert_int_equal(elf_file__off_to_vaddr(f, off + size - 1, &v), 0);
		assert_true(v == addr + size - 1);
		checked++;
		differ += addr != off;
	}
	pclose(p);
	assert_true(checked >= 5);
	assert_true(differ >= 1);
	/* Far past the end of the file. */
	assert_int_equal(elf_file__off_to_vaddr(f, 1ULL << 40, &(__u64){ 0 }), -ENOENT);
	elf_file__free(f);
}

static void test_offsets(void **state)
{
	static const char *const names[] = { "fixture_in_data" };
	struct elf_file *f = elf_file__open(FIXTURE_EXE, NULL);
	struct nm_sym s;
	__u64 off = 0, v;

	(void)state;
	check_sections(FIXTURE_EXE);
	check_sections(FIXTURE_LIB);
	/* A function in the writable segment: its file offset is not its address. */
	assert_non_null(f);
	nm_lookup(FIXTURE_EXE, names, &s, 1);
	for (size_t i = 0; i < elf_file__nr_segments(f); i++) {
		const struct elf_segment *seg = elf_file__segment(f, i);

		if (s.addr >= seg->vaddr && s.addr < seg->vaddr + seg->filesz)
			off = s.addr - seg->vaddr + seg->offset;
	}
	assert_true(off && off != s.addr);
	assert_int_equal(elf_file__off_to_vaddr(f, off, &v), 0);
	assert_true(v == s.addr);
	expect_name(f, v, "fixture_in_data");
	elf_file__free(f);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Strips the fixture and finds its symbols again in separate debug files. */
static void test_debug_files(void **state)
{
	static const char *const names[] = { "fixture_static_helper" };
	char dir[] = "/tmp/vigil-test-elf-XXXXXX", p[512], bdir[512], hex[128];
	struct elf_opts o = { 0 };
	struct elf_symbol es;
	struct elf_file *f;
	struct nm_sym s;

	(void)state;
	if (sh("command -v objcopy >/dev/null"))
		skip();
	assert_non_null(mkdtemp(dir));
	nm_lookup(FIXTURE_EXE, names, &s, 1);
	readelf_build_id(FIXTURE_EXE, hex, sizeof(hex));
	snprintf(bdir, sizeof(bdir), "%s/nodebug", dir);
	o.debug_dir = bdir;

	/* .gnu_debuglink next to the file, CRC checked. */
	assert_int_equal(sh("objcopy --only-keep-debug %s %s/symfixture.debug", FIXTURE_EXE, dir),
			 0);
	assert_int_equal(sh("objcopy --strip-all --add-gnu-debuglink=%s/symfixture.debug %s "
			    "%s/stripped",
			    dir, FIXTURE_EXE, dir),
			 0);
	snprintf(p, sizeof(p), "%s/stripped", dir);
	f = elf_file__open(p, &o);
	assert_non_null(f);
	expect_name(f, s.addr + 1, "fixture_static_helper");
	assert_non_null(elf_file__debug_path(f));
	assert_non_null(strstr(elf_file__debug_path(f), "/symfixture.debug"));
	elf_file__free(f);
	/* Without debug files: only .dynsym, which does not have the static function. */
	o.no_debug = true;
	f = elf_file__open(p, &o);
	assert_non_null(f);
	assert_int_equal(elf_file__lookup(f, s.addr + 1, &es), -ENOENT);
	assert_null(elf_file__debug_path(f));
	elf_file__free(f);
	o.no_debug = false;

	/* In DIR/.debug/. */
	assert_int_equal(sh("mkdir %s/.debug && mv %s/symfixture.debug %s/.debug/", dir, dir, dir),
			 0);
	f = elf_file__open(p, &o);
	assert_non_null(f);
	expect_name(f, s.addr + 1, "fixture_static_helper");
	elf_file__free(f);

	/* A file of that name with another CRC is not used. */
	assert_int_equal(
		sh("objcopy --only-keep-debug %s %s/.debug/symfixture.debug", FIXTURE_LIB, dir), 0);
	f = elf_file__open(p, &o);
	assert_non_null(f);
	assert_null(elf_file__debug_path(f));
	assert_int_equal(elf_file__lookup(f, s.addr + 1, &es), -ENOENT);
	elf_file__free(f);

	/* DEBUG_DIR/.build-id/xx/rest.debug, found without any debuglink. */
	assert_int_equal(sh("mkdir -p %s/bid/.build-id/%.2s && objcopy --only-keep-debug %s "
			    "%s/bid/.build-id/%.2s/%s.debug && objcopy --strip-all %s %s/nolink",
			    dir, hex, FIXTURE_EXE, dir, hex, hex + 2, FIXTURE_EXE, dir),
			 0);
	snprintf(bdir, sizeof(bdir), "%s/bid", dir);
	snprintf(p, sizeof(p), "%s/nolink", dir);
	f = elf_file__open(p, &o);
	assert_non_null(f);
	expect_name(f, s.addr + 1, "fixture_static_helper");
	assert_non_null(strstr(elf_file__debug_path(f), "/.build-id/"));
	assert_string_equal(elf_file__build_id_hex(f), hex);
	elf_file__free(f);

	sh("rm -rf %s", dir);
}

/*
 * Debug files of a file inside a process's root are looked for inside that root: found next to the
 * file there, but not through a symlink that leaves the root (the host's copy is not read), and
 * the symbol cap holds.
 */
static void test_debug_files_in_root(void **state)
{
	static const char *const names[] = { "fixture_static_helper" };
	char dir[] = "/tmp/vigil-test-elfroot-XXXXXX", p[512], hex[128];
	struct elf_opts o = { .debug_dir = "" };
	struct elf_symbol es;
	struct elf_file *f;
	struct nm_sym s;
	int rfd, fd;

	(void)state;
	if (sh("command -v objcopy >/dev/null"))
		skip();
	assert_non_null(mkdtemp(dir));
	nm_lookup(FIXTURE_EXE, names, &s, 1);
	readelf_build_id(FIXTURE_EXE, hex, sizeof(hex));
	assert_int_equal(
		sh("D=%s && mkdir -p $D/root/opt/app/.debug $D/host/.debug && "
		   "objcopy --only-keep-debug %s $D/root/opt/app/.debug/symfixture.debug && "
		   "objcopy --strip-all "
		   "--add-gnu-debuglink=$D/root/opt/app/.debug/symfixture.debug %s "
		   "$D/root/opt/app/stripped",
		   dir, FIXTURE_EXE, FIXTURE_EXE),
		0);
	snprintf(p, sizeof(p), "%s/root", dir);
	rfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rfd >= 0);
	o.in_root = true;
	o.root_fd = rfd;
	o.debug_dir = "/nonexistent"; /* the host's: nothing there */
	snprintf(p, sizeof(p), "%s/root/opt/app/stripped", dir);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	f = elf_file__open_fd(fd, "/opt/app/stripped", &o);
	assert_non_null(f);
	expect_name(f, s.addr + 1, "fixture_static_helper");
	assert_string_equal(elf_file__debug_path(f), "/opt/app/.debug/symfixture.debug");
	elf_file__free(f);

	/* The root's .debug is now an absolute symlink to the host's directory holding the same
	 * (valid) debug file: not followed out of the root. */
	assert_int_equal(sh("cd %s && mv root/opt/app/.debug/symfixture.debug host/.debug/ && "
			    "rmdir root/opt/app/.debug && ln -s %s/host/.debug root/opt/app/.debug",
			    dir, dir),
			 0);
	f = elf_file__open_fd(fd, "/opt/app/stripped", &o);
	assert_non_null(f);
	assert_null(elf_file__debug_path(f));
	assert_int_equal(elf_file__lookup(f, s.addr + 1, &es), -ENOENT);
	elf_file__free(f);

	/* The root's own /usr/lib/debug/.build-id is searched too. */
	assert_int_equal(
		sh("cd %s/root && mkdir -p usr/lib/debug/.build-id/%.2s && "
		   "cp ../host/.debug/symfixture.debug usr/lib/debug/.build-id/%.2s/%s.debug",
		   dir, hex, hex, hex + 2),
		0);
	f = elf_file__open_fd(fd, "/opt/app/stripped", &o);
	assert_non_null(f);
	expect_name(f, s.addr + 1, "fixture_static_helper");
	assert_non_null(strstr(elf_file__debug_path(f), "/usr/lib/debug/.build-id/"));
	assert_int_equal(elf_file__dropped_symbols(f), 0);
	assert_true(elf_file__memory(f) > elf_file__nr_symbols(f) * 16);
	elf_file__free(f);

	/* At most max_symbols kept, the rest counted. */
	o.max_symbols = 2;
	f = elf_file__open_fd(fd, "/opt/app/stripped", &o);
	assert_non_null(f);
	assert_true(elf_file__nr_symbols(f) <= 2);
	assert_true(elf_file__dropped_symbols(f) > 0);
	elf_file__free(f);
	close(fd);
	close(rfd);
	sh("rm -rf %s", dir);
}

/* libc through dladdr: the address of getpid in this process maps back to its name. */
static void test_libc(void **state)
{
	void *fn = dlsym(RTLD_DEFAULT, "getpid");
	struct elf_symbol s;
	struct elf_file *f;
	Dl_info di;
	__u64 v;

	(void)state;
	assert_non_null(fn);
	assert_true(dladdr(fn, &di) && di.dli_fname);
	f = elf_file__open(di.dli_fname, NULL);
	assert_non_null(f);
	assert_true(elf_file__nr_symbols(f) > 500);
	/* A shared object's first segment has vaddr 0: addr - base is its virtual address. */
	v = (__u64)((uintptr_t)fn - (uintptr_t)di.dli_fbase);
	assert_int_equal(elf_file__lookup(f, v, &s), 0);
	if (strcmp(s.name, "getpid") && strcmp(s.name, "__getpid"))
		fail_msg("getpid resolved to %s", s.name);
	assert_true(s.addr == v);
	/* By name, either alias. */
	assert_int_equal(elf_file__find(f, "__getpid", &s), 0);
	assert_true(s.addr == v);
	assert_int_equal(elf_file__find(f, "getpid", &s), 0);
	assert_true(s.addr == v);
	assert_int_equal(elf_file__find(f, "no_such_function_here", &s), -ENOENT);
	/* Iteration: addresses strictly increase, extents do not run backwards. */
	for (size_t i = 0; i < elf_file__nr_symbols(f); i++) {
		struct elf_symbol a, b;

		assert_int_equal(elf_file__symbol(f, i, &a), 0);
		assert_true(a.size > 0);
		if (i) {
			assert_int_equal(elf_file__symbol(f, i - 1, &b), 0);
			assert_true(b.addr < a.addr);
		}
	}
	assert_int_equal(elf_file__symbol(f, elf_file__nr_symbols(f), &s), -ENOENT);
	elf_file__free(f);
}

/* The vdso is a complete ELF image in memory. */
static void test_vdso_mem(void **state)
{
	const void *vdso = (const void *)getauxval(AT_SYSINFO_EHDR);
	struct elf_symbol s, s2;
	struct elf_file *f;
	size_t len = 0;

	(void)state;
	if (!vdso)
		skip();
	/* Its size: the end of its section headers is the end of the image. */
	{
		const Elf64_Ehdr *eh = vdso;

		len = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	}
	f = elf_file__open_mem(vdso, len, NULL);
	assert_non_null(f);
	assert_true(elf_file__nr_symbols(f) >= 2);
	/* Both names of the alias pair are found, at one address. */
	assert_int_equal(elf_file__find(f, "__vdso_clock_gettime", &s), 0);
	assert_string_equal(s.name, "__vdso_clock_gettime");
	assert_int_equal(elf_file__find(f, "clock_gettime", &s2), 0);
	assert_true(s.addr == s2.addr);
	/* A lookup names it once, by its preferred name. */
	expect_name(f, s.addr, "clock_gettime");
	elf_file__free(f);
	assert_null(elf_file__open_mem("not an elf file", 15, NULL));
	assert_int_equal(errno, ENOEXEC);
}

static void test_notes_and_errors(void **state)
{
	/* namesz 4, descsz 4, type 3 (NT_GNU_BUILD_ID), "GNU\0", desc */
	const __u8 notes[] = { 4,   0, 0, 0, 4,	  0,   0,   0, 1,    0,	   0,	 0,   'x', 'y',
			       'z', 0, 1, 2, 3,	  4,   4,   0, 0,    0,	   4,	 0,   0,   0,
			       3,   0, 0, 0, 'G', 'N', 'U', 0, 0xde, 0xad, 0xbe, 0xef };
	__u8 id[ELF_BUILD_ID_MAX];
	char hex[9];

	(void)state;
	assert_int_equal(elf__notes_build_id(notes, sizeof(notes), id, sizeof(id)), 4);
	elf__hex(id, 4, hex);
	assert_string_equal(hex, "deadbeef");
	/* Truncated: no read past the end, nothing found. */
	assert_int_equal(elf__notes_build_id(notes, sizeof(notes) - 1, id, sizeof(id)), 0);
	assert_int_equal(elf__notes_build_id(notes, 7, id, sizeof(id)), 0);

	assert_null(elf_file__open("tests/unit/fixtures/maps.txt", NULL));
	assert_int_equal(errno, ENOEXEC);
	assert_null(elf_file__open("/nonexistent/file", NULL));
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exe_symbols),
		cmocka_unit_test(test_lib_symbols),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_debug_files),
		cmocka_unit_test(test_debug_files_in_root),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_vdso_mem),
		cmocka_unit_test(test_notes_and_errors),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
