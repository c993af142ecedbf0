// SPDX-License-Identifier: GPL-2.0
/*
 * symbolizer: against a fixture proc root built at start-up from the ELF fixtures (maps lines derived
 * from `readelf -lW`, expected names from `nm`), and against the real /proc: this process, a shared
 * library deleted after loading, the vdso, and a child that has exited.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "symbols/elf.h"
#include "symbols/symbolizer.h"

#define FIXTURE_EXE ".output/tests/fixtures/symfixture"
#define FIXTURE_LIB ".output/tests/fixtures/libfixture.so"
#define KALLSYMS_FIXTURE "tests/unit/fixtures/kallsyms.txt"

#define FPID 4242
#define EXE_BASE 0x555555554000ULL
#define LIB_BASE 0x7f0000100000ULL
#define GONE_BASE 0x7f0000200000ULL
#define JIT_START 0x7f0000300000ULL
#define JIT_END 0x7f0000310000ULL
#define VDSO_START 0x7fff00000000ULL

struct seg {
	unsigned long long off, vaddr, filesz, memsz;
	char flags[8];
};

struct nm_sym {
	const char *name;
	unsigned long long addr, size;
};

static char root[256]; /* the fixture proc root */
static char exe_bid[128], lib_bid[128];

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

static size_t load_segments(const char *file, struct seg *out, size_t max)
{
	char cmd[512], line[512];
	unsigned long long pa;
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -lW '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (n < max && fgets(line, sizeof(line), p)) {
		struct seg *s = &out[n];

		if (sscanf(line, " LOAD 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx %7[RWE ]", &s->off,
			   &s->vaddr, &pa, &s->filesz, &s->memsz, s->flags) == 6)
			n++;
	}
	pclose(p);
	return n;
}

static int nm_fill(const char *file, struct nm_sym *syms, size_t n)
{
	char cmd[512], line[512], type, name[256];
	unsigned long long addr, size;
	size_t found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%llx %llx %c %255s", &addr, &size, &type, name) != 4)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(syms[i].name, name) && !syms[i].size) {
				syms[i].addr = addr;
				syms[i].size = size;
				found++;
			}
		}
	}
	pclose(p);
	return found == n ? 0 : -1;
}

static void build_id_of(const char *file, char *hex)
{
	char cmd[512], line[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	hex[0] = '\0';
	while (p && fgets(line, sizeof(line), p)) {
		const char *b = strstr(line, "Build ID: ");

		if (b)
			sscanf(b + 10, "%127s", hex);
	}
	if (p)
		pclose(p);
}

/*
 * Maps lines for file loaded at base, as the kernel would show them. writable_exec makes the
 * writable segment executable too, so that a function in it gets resolved.
 */
static void write_maps(FILE *maps, const char *file, unsigned long long base, const char *path,
		       bool writable_exec, bool map_files)
{
	struct seg segs[8];
	size_t n = load_segments(file, segs, 8);
	struct stat st;

	assert_true(n >= 2);
	assert_int_equal(stat(file, &st), 0);
	for (size_t i = 0; i < n; i++) {
		unsigned long long s = base + (segs[i].vaddr & ~0xfffULL);
		unsigned long long e = base + ((segs[i].vaddr + segs[i].memsz + 0xfff) & ~0xfffULL);
		bool w = strchr(segs[i].flags, 'W'), x = strchr(segs[i].flags, 'E');

		fprintf(maps, "%llx-%llx %c%c%cp %08llx %02x:%02x %llu                  %s\n", s, e,
			strchr(segs[i].flags, 'R') ? 'r' : '-', w ? 'w' : '-',
			x || (w && writable_exec) ? 'x' : '-', segs[i].off & ~0xfffULL,
			major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino, path);
		if (map_files && x)
			assert_int_equal(sh("ln -s \"$(realpath %s)\" %s/%d/map_files/%llx-%llx",
					    file, root, FPID, s, e),
					 0);
	}
}

static int setup(void **state)
{
	char p[PATH_MAX], exe[PATH_MAX], lib[PATH_MAX];
	FILE *f;

	(void)state;
	if (ensure_fixture_lib()) {
		fprintf(stderr, "fixtures missing: run make %s %s\n", FIXTURE_EXE, FIXTURE_LIB);
		return -1;
	}
	snprintf(root, sizeof(root), "/tmp/vigil-test-sym-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	if (sh("cd %s && mkdir -p %d/root/opt/app '%d/root/opt/my lib' %d/root/tmp %d/map_files",
	       root, FPID, FPID, FPID, FPID) ||
	    sh("cp %s %s/%d/root/opt/app/symfixture", FIXTURE_EXE, root, FPID) ||
	    sh("cp %s '%s/%d/root/opt/my lib/libfixture.so'", FIXTURE_LIB, root, FPID))
		return -1;
	/* Copies inside the fixture root: a process's paths resolve inside its root, so a symlink out
	 * of it (to .output/) would not be followed. */
	snprintf(exe, sizeof(exe), "%s/%d/root/opt/app/symfixture", root, FPID);
	snprintf(lib, sizeof(lib), "%s/%d/root/opt/my lib/libfixture.so", root, FPID);
	snprintf(p, sizeof(p), "%s/%d/maps", root, FPID);
	f = fopen(p, "w");
	if (!f)
		return -1;
	write_maps(f, exe, EXE_BASE, "/opt/app/symfixture", true, false);
	fprintf(f, "555555a00000-555555a21000 rw-p 00000000 00:00 0                  [heap]\n");
	write_maps(f, lib, LIB_BASE, "/opt/my lib/libfixture.so", false, false);
	write_maps(f, FIXTURE_LIB, GONE_BASE, "/opt/old/libgone.so (deleted)", false, true);
	fprintf(f, "%llx-%llx rwxp 00000000 00:00 0 \n", JIT_START, JIT_END);
	fprintf(f, "%llx-%llx r-xp 00000000 00:00 0                  [vdso]\n", VDSO_START,
		VDSO_START + 0x2000);
	fclose(f);
	snprintf(p, sizeof(p), "%s/%d/root/tmp/perf-%d.map", root, FPID, FPID);
	f = fopen(p, "w");
	if (!f)
		return -1;
	fprintf(f, "%llx 80 jit_compiled_fn\n%llx 20 LazyCompile:*run app.js:10\n",
		JIT_START + 0x100, JIT_START + 0x200);
	fclose(f);
	build_id_of(FIXTURE_EXE, exe_bid);
	build_id_of(FIXTURE_LIB, lib_bid);
	return exe_bid[0] && lib_bid[0] ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (root[0])
		sh("rm -rf %s", root);
	return 0;
}

static struct symbolizer *fixture_symbolizer(void)
{
	struct symbolizer_opts o = { .proc_root = root, .kallsyms_path = KALLSYMS_FIXTURE };
	struct symbolizer *s = symbolizer__new(&o);

	assert_non_null(s);
	return s;
}

/* The file offset of vaddr in file, independently of the code under test. */
static unsigned long long file_offset(const char *file, unsigned long long vaddr)
{
	struct seg segs[8];
	size_t n = load_segments(file, segs, 8);

	for (size_t i = 0; i < n; i++)
		if (vaddr >= segs[i].vaddr && vaddr < segs[i].vaddr + segs[i].filesz)
			return vaddr - segs[i].vaddr + segs[i].off;
	fail_msg("0x%llx is in no segment of %s", vaddr, file);
	return 0;
}

static void expect_user(struct symbolizer *s, __u32 pid, __u64 addr, const char *name,
			const char *module, const char *path, const char *bid)
{
	struct sym_frame f;
	int err = symbolizer__user(s, pid, addr, &f);

	if (err)
		fail_msg("pid %u 0x%llx: %s, want %s", pid, (unsigned long long)addr,
			 strerror(-err), name ? name : "(unnamed)");
	if (name) {
		if (!f.name)
			fail_msg("0x%llx: no name, want %s", (unsigned long long)addr, name);
		assert_string_equal(f.name, name);
	} else {
		assert_null(f.name);
	}
	assert_string_equal(f.module, module);
	assert_string_equal(f.path, path);
	if (bid)
		assert_string_equal(f.build_id, bid);
	assert_true(f.map_start <= addr && addr < f.map_limit);
}

static void test_fixture_files(void **state)
{
	struct nm_sym exe[] = { { "fixture_alpha" },	     { "fixture_beta" },
				{ "fixture_gamma" },	     { "main" },
				{ "fixture_static_helper" }, { "fixture_in_data" } };
	struct nm_sym lib[] = { { "lib_one" }, { "lib_two" }, { "lib_three" }, { "lib_hidden" } };
	struct symbolizer *s = fixture_symbolizer();
	struct symbolizer_stats st;
	struct sym_frame f;

	(void)state;
	assert_int_equal(nm_fill(FIXTURE_EXE, exe, 6), 0);
	assert_int_equal(nm_fill(FIXTURE_LIB, lib, 4), 0);
	assert_int_equal(symbolizer__snapshot_pid(s, FPID), 0);
	for (size_t i = 0; i < 6; i++) {
		__u64 a = EXE_BASE + exe[i].addr + exe[i].size - 1;

		expect_user(s, FPID, EXE_BASE + exe[i].addr, exe[i].name, "symfixture",
			    "/opt/app/symfixture", exe_bid);
		expect_user(s, FPID, a, exe[i].name, "symfixture", "/opt/app/symfixture", exe_bid);
		/* offset is the file offset, whatever segment the function is in */
		assert_int_equal(symbolizer__user(s, FPID, a, &f), 0);
		assert_true(f.offset == file_offset(FIXTURE_EXE, exe[i].addr + exe[i].size - 1));
		assert_true(f.offset == a - f.map_start + f.map_pgoff);
	}
	for (size_t i = 0; i < 4; i++) {
		expect_user(s, FPID, LIB_BASE + lib[i].addr + 1, lib[i].name, "libfixture.so",
			    "/opt/my lib/libfixture.so", lib_bid);
		/* The deleted copy, read through map_files. */
		expect_user(s, FPID, GONE_BASE + lib[i].addr + 1, lib[i].name, "libgone.so",
			    "/opt/old/libgone.so", lib_bid);
	}
	/* One parse per file: the deleted copy is the same file as libfixture.so. */
	symbolizer__stats(s, &st);
	assert_true(st.elf_parsed == 2);
	assert_true(st.pids_snapshotted == 1);
	assert_true(st.files_failed == 0);
	/* Known mapping, no symbol: the ELF header page of the executable is not executable. */
	assert_int_equal(symbolizer__user(s, FPID, EXE_BASE + 0x10, &f), -ENOENT);
	assert_int_equal(symbolizer__user(s, FPID, 0x555555a00010ULL, &f), -ENOENT); /* heap */
	assert_int_equal(symbolizer__user(s, FPID, 0x1000, &f), -ENOENT);
	/* Snapshotting again is a no-op. */
	assert_int_equal(symbolizer__snapshot_pid(s, FPID), 0);
	symbolizer__stats(s, &st);
	assert_true(st.pids_snapshotted == 1);
	/* A pid the proc root does not have. */
	assert_int_equal(symbolizer__snapshot_pid(s, 4243), -ENOENT);
	assert_int_equal(symbolizer__user(s, 4243, EXE_BASE + exe[0].addr, &f), -ENOENT);
	symbolizer__free(s);
}

/* C++ and Rust symbols are shown demangled (with parameter types), or as spelled with no_demangle;
 * the mangled names come from nm, so the fixture really carries them. */
static void test_fixture_demangling(void **state)
{
	struct nm_sym syms[] = { { "_ZN5vigil4demo5scaleEPKcl" },
				 { "_RNvNtCs1234_5vigil4demo7collect" } };
	static const char *const want[] = { "vigil::demo::scale(char const*, long)",
					    "vigil::demo::collect" };
	struct symbolizer_opts raw = { .proc_root = root,
				       .kallsyms_path = KALLSYMS_FIXTURE,
				       .no_demangle = true };
	struct symbolizer *s = fixture_symbolizer(), *r = symbolizer__new(&raw);

	(void)state;
	assert_non_null(r);
	assert_int_equal(nm_fill(FIXTURE_EXE, syms, 2), 0);
	for (size_t i = 0; i < 2; i++) {
		/* twice: the second lookup comes from the cache and must say the same */
		expect_user(s, FPID, EXE_BASE + syms[i].addr, want[i], "symfixture",
			    "/opt/app/symfixture", exe_bid);
		expect_user(s, FPID, EXE_BASE + syms[i].addr + 1, want[i], "symfixture",
			    "/opt/app/symfixture", exe_bid);
		expect_user(r, FPID, EXE_BASE + syms[i].addr, syms[i].name, "symfixture",
			    "/opt/app/symfixture", exe_bid);
	}
	/* Plain C names are not touched, and neither is a name that only looks mangled. */
	{
		struct nm_sym plain[] = { { "fixture_alpha" }, { "_Zoo_keeper" } };

		assert_int_equal(nm_fill(FIXTURE_EXE, plain, 2), 0);
		for (size_t i = 0; i < 2; i++)
			expect_user(s, FPID, EXE_BASE + plain[i].addr, plain[i].name, "symfixture",
				    "/opt/app/symfixture", exe_bid);
	}
	symbolizer__free(s);
	symbolizer__free(r);
}

/* Parses lib_bid into 20 bytes. */
static void lib_bid_bytes(__u8 *bid)
{
	for (int i = 0; i < 20; i++)
		assert_int_equal(sscanf(lib_bid + 2 * i, "%2hhx", &bid[i]), 1);
}

/*
 * An mmap record whose build-id differs from the file now at its path (rebuilt in place): the
 * mapped copy is read through map_files; without one, no symbols rather than wrong ones.
 */
static void test_fixture_rebuilt_file(void **state)
{
	struct nm_sym lib[] = { { "lib_one" } };
	struct symbolizer *s = fixture_symbolizer();
	struct sym_mmap m = { .prot = PROT_READ | PROT_EXEC, .path = "/opt/app/symfixture" };
	struct seg ls[8];
	size_t nl = load_segments(FIXTURE_LIB, ls, 8);
	const struct seg *ltext = NULL;
	struct sym_frame f;
	__u8 bid[20];

	(void)state;
	assert_int_equal(nm_fill(FIXTURE_LIB, lib, 1), 0);
	for (size_t i = 0; i < nl; i++)
		if (strchr(ls[i].flags, 'E'))
			ltext = &ls[i];
	assert_non_null(ltext);
	lib_bid_bytes(bid);
	m.build_id = bid;
	m.build_id_size = 20;
	m.start = 0x7f0000700000ULL;
	m.len = 0x1000;
	m.pgoff = ltext->off & ~0xfffULL;
	assert_int_equal(sh("ln -s \"$(realpath %s)\" %s/%d/map_files/%llx-%llx", FIXTURE_LIB, root,
			    FPID, (unsigned long long)m.start,
			    (unsigned long long)(m.start + m.len)),
			 0);
	assert_int_equal(symbolizer__add_mmap(s, FPID, &m), 0);
	expect_user(s, FPID, m.start + (lib[0].addr - (ltext->vaddr & ~0xfffULL)), "lib_one",
		    "symfixture", "/opt/app/symfixture", lib_bid);

	/* No mapped copy to read: module, offset and the record's build-id, but no name. */
	m.start = 0x7f0000800000ULL;
	assert_int_equal(symbolizer__add_mmap(s, FPID, &m), 0);
	assert_int_equal(symbolizer__user(s, FPID, m.start + 0x40, &f), 0);
	assert_null(f.name);
	assert_string_equal(f.module, "symfixture");
	assert_string_equal(f.build_id, lib_bid);
	assert_true(f.offset == m.pgoff + 0x40);
	symbolizer__free(s);
}

static void test_fixture_jit_and_vdso(void **state)
{
	struct symbolizer *s = fixture_symbolizer();
	struct sym_frame f;
	char p[PATH_MAX];
	FILE *fp;

	(void)state;
	assert_int_equal(symbolizer__snapshot_pid(s, FPID), 0);
	expect_user(s, FPID, JIT_START + 0x100, "jit_compiled_fn", "perf-4242.map",
		    "/tmp/perf-4242.map", "");
	expect_user(s, FPID, JIT_START + 0x17f, "jit_compiled_fn", "perf-4242.map",
		    "/tmp/perf-4242.map", "");
	expect_user(s, FPID, JIT_START + 0x210, "LazyCompile:*run app.js:10", "perf-4242.map",
		    "/tmp/perf-4242.map", "");
	/* In the anonymous mapping, in no JIT symbol. */
	expect_user(s, FPID, JIT_START + 0x180, NULL, "[anon]", "", "");
	assert_int_equal(symbolizer__user(s, FPID, JIT_START + 0x180, &f), 0);
	assert_true(f.offset == 0x180);

	/* Code the JIT emits later shows up once its perf map line is written. */
	snprintf(p, sizeof(p), "%s/%d/root/tmp/perf-%d.map", root, FPID, FPID);
	fp = fopen(p, "a");
	assert_non_null(fp);
	fprintf(fp, "%llx 40 late_fn\n", JIT_START + 0x800);
	fclose(fp);
	usleep(300 * 1000);
	expect_user(s, FPID, JIT_START + 0x810, "late_fn", "perf-4242.map", "/tmp/perf-4242.map",
		    "");
	/* Earlier names stay valid. */
	expect_user(s, FPID, JIT_START + 0x100, "jit_compiled_fn", "perf-4242.map",
		    "/tmp/perf-4242.map", "");

	/* The fixture has no /proc/PID/mem: the vdso is named but not symbolized. */
	expect_user(s, FPID, VDSO_START + 0x900, NULL, "[vdso]", "", "");
	assert_int_equal(symbolizer__user(s, FPID, VDSO_START + 0x900, &f), 0);
	assert_true(f.offset == 0x900);
	symbolizer__free(s);
}

static void test_fixture_kernel(void **state)
{
	struct symbolizer_opts o = { .kallsyms_path = KALLSYMS_FIXTURE, .no_kernel = true };
	struct symbolizer *s = fixture_symbolizer();
	struct sym_frame f;

	(void)state;
	assert_int_equal(symbolizer__kernel(s, 0xffffffff81000520ULL, &f), 0);
	assert_string_equal(f.name, "schedule");
	assert_string_equal(f.module, "[kernel.kallsyms]");
	assert_true(f.offset == 0x520); /* from _stext */
	assert_true(f.map_start == 0xffffffff81000000ULL && f.map_limit > f.map_start);
	assert_string_equal(f.path, "");
	assert_int_equal(symbolizer__kernel(s, 0xffffffffc0000150ULL, &f), 0);
	assert_string_equal(f.name, "ext4_helper");
	assert_string_equal(f.module, "[ext4]");
	assert_true(f.offset == 0x150);
	/* modules.txt sits next to kallsyms.txt and bounds xfs. */
	assert_int_equal(symbolizer__kernel(s, 0xffffffffc0010fffULL, &f), 0);
	assert_string_equal(f.name, "xfs_b");
	assert_int_equal(symbolizer__kernel(s, 0xffffffffc0011000ULL, &f), -ENOENT);
	assert_int_equal(symbolizer__kernel(s, 0xffffffff81000800ULL, &f), -ENOENT);
	assert_int_equal(symbolizer__kernel(s, 0, &f), -ENOENT);
	symbolizer__free(s);

	s = symbolizer__new(&o);
	assert_non_null(s);
	assert_int_equal(symbolizer__kernel(s, 0xffffffff81000520ULL, &f), -ENOENT);
	symbolizer__free(s);
}

/* Mappings from mmap records, fork copies and exec generations, with no /proc to read. */
static void test_mmap_fork_exec(void **state)
{
	struct nm_sym exe[] = { { "fixture_alpha" }, { "fixture_gamma" } };
	struct nm_sym lib[] = { { "lib_two" } };
	struct symbolizer *s = fixture_symbolizer();
	char exe_path[PATH_MAX], lib_path[PATH_MAX];
	struct seg es[8], ls[8];
	size_t ne = load_segments(FIXTURE_EXE, es, 8), nl = load_segments(FIXTURE_LIB, ls, 8);
	struct sym_mmap m = { .prot = PROT_READ | PROT_EXEC, .maj = 8, .min = 1 };
	const struct seg *etext = NULL, *ltext = NULL;
	struct symbolizer_stats st, st2;
	__u8 bid[20];
	struct sym_frame f;

	(void)state;
	assert_int_equal(nm_fill(FIXTURE_EXE, exe, 2), 0);
	assert_int_equal(nm_fill(FIXTURE_LIB, lib, 1), 0);
	assert_non_null(realpath(FIXTURE_EXE, exe_path));
	assert_non_null(realpath(FIXTURE_LIB, lib_path));
	for (size_t i = 0; i < ne; i++)
		if (strchr(es[i].flags, 'E'))
			etext = &es[i];
	for (size_t i = 0; i < nl; i++)
		if (strchr(ls[i].flags, 'E'))
			ltext = &ls[i];
	assert_non_null(etext);
	assert_non_null(ltext);

	/* pid 5000 is not in the proc root: its files open by their paths. */
	m.start = EXE_BASE + (etext->vaddr & ~0xfffULL);
	m.len = (etext->memsz + (etext->vaddr & 0xfff) + 0xfff) & ~0xfffULL;
	m.pgoff = etext->off & ~0xfffULL;
	m.path = exe_path;
	assert_int_equal(symbolizer__add_mmap(s, 5000, &m), 0);
	expect_user(s, 5000, EXE_BASE + exe[0].addr, "fixture_alpha", "symfixture", exe_path,
		    exe_bid);

	/* fork: the child sees the parent's image. */
	symbolizer__fork(s, 5000, 5001);
	expect_user(s, 5001, EXE_BASE + exe[1].addr, "fixture_gamma", "symfixture", exe_path,
		    exe_bid);

	/* exec: a new generation. The library lands first below the old text, */
	symbolizer__exec(s, 5001);
	m.start = EXE_BASE;
	m.len = 0x1000;
	m.pgoff = ltext->off & ~0xfffULL;
	m.path = lib_path;
	assert_int_equal(symbolizer__add_mmap(s, 5001, &m), 0);
	expect_user(s, 5001, m.start + (lib[0].addr - (ltext->vaddr & ~0xfffULL)), "lib_two",
		    "libfixture.so", lib_path, lib_bid);
	/* so addresses it does not cover still resolve through the older generation; */
	expect_user(s, 5001, EXE_BASE + exe[1].addr, "fixture_gamma", "symfixture", exe_path,
		    exe_bid);
	/* then over the old text, where the newest generation wins. */
	m.start = EXE_BASE + (etext->vaddr & ~0xfffULL);
	assert_int_equal(symbolizer__add_mmap(s, 5001, &m), 0);
	{
		__u64 a = m.start + (lib[0].addr - (ltext->vaddr & ~0xfffULL));

		expect_user(s, 5001, a, "lib_two", "libfixture.so", lib_path, lib_bid);
		/* The parent did not exec. */
		assert_int_equal(symbolizer__user(s, 5000, a, &f), 0);
		assert_string_equal(f.module, "symfixture");
	}

	/* A non-executable mapping over part of the range removes it. */
	m.prot = PROT_READ | PROT_WRITE;
	m.len = 0x1000;
	m.start = EXE_BASE + (etext->vaddr & ~0xfffULL);
	assert_int_equal(symbolizer__add_mmap(s, 5000, &m), 0);
	assert_int_equal(symbolizer__user(s, 5000, m.start + 0x10, &f), -ENOENT);

	/* A record with a known build-id needs no file at all. */
	symbolizer__stats(s, &st);
	lib_bid_bytes(bid);
	m.prot = PROT_READ | PROT_EXEC;
	m.start = 0x7f0000500000ULL;
	m.len = 0x1000;
	m.pgoff = ltext->off & ~0xfffULL;
	m.path = "/nonexistent/libfixture-copy.so";
	m.build_id = bid;
	m.build_id_size = 20;
	assert_int_equal(symbolizer__add_mmap(s, 5002, &m), 0);
	expect_user(s, 5002, m.start + (lib[0].addr - (ltext->vaddr & ~0xfffULL)), "lib_two",
		    "libfixture-copy.so", "/nonexistent/libfixture-copy.so", lib_bid);
	symbolizer__stats(s, &st2);
	assert_true(st2.files_opened == st.files_opened);
	assert_true(st2.elf_parsed == 2);

	/* Unknown build-id and no file: module and offset, no name. */
	bid[0] ^= 0xff;
	m.start = 0x7f0000600000ULL;
	assert_int_equal(symbolizer__add_mmap(s, 5003, &m), 0);
	assert_int_equal(symbolizer__user(s, 5003, m.start + 0x20, &f), 0);
	assert_null(f.name);
	assert_string_equal(f.module, "libfixture-copy.so");
	assert_true(f.offset == m.pgoff + 0x20);
	assert_int_equal(strlen(f.build_id), 40);
	symbolizer__free(s);
}

/*
 * A process exec'd under the side-band is known from its records: its first snapshot reads no
 * PROC/PID/maps (pid 5100 is not in the proc root: a read would fail), nor does a forked child's;
 * once records were lost, a snapshot reads /proc again.
 */
static void test_recorded_image(void **state)
{
	struct nm_sym exe[] = { { "fixture_alpha" } };
	struct symbolizer *s = fixture_symbolizer();
	char exe_path[PATH_MAX];
	struct seg es[8];
	size_t ne = load_segments(FIXTURE_EXE, es, 8);
	struct sym_mmap m = { .prot = PROT_READ | PROT_EXEC, .maj = 8, .min = 1 };
	const struct seg *etext = NULL;
	struct symbolizer_stats st;

	(void)state;
	assert_int_equal(nm_fill(FIXTURE_EXE, exe, 1), 0);
	assert_non_null(realpath(FIXTURE_EXE, exe_path));
	for (size_t i = 0; i < ne; i++)
		if (strchr(es[i].flags, 'E'))
			etext = &es[i];
	assert_non_null(etext);
	/* Known only by a mapping record (no exec seen): a snapshot still reads /proc. */
	m.start = EXE_BASE + (etext->vaddr & ~0xfffULL);
	m.len = (etext->memsz + (etext->vaddr & 0xfff) + 0xfff) & ~0xfffULL;
	m.pgoff = etext->off & ~0xfffULL;
	m.path = exe_path;
	assert_int_equal(symbolizer__add_mmap(s, 5099, &m), 0);
	assert_int_equal(symbolizer__snapshot_pid(s, 5099), -ENOENT);

	symbolizer__exec(s, 5100);
	assert_int_equal(symbolizer__add_mmap(s, 5100, &m), 0);
	assert_int_equal(symbolizer__snapshot_pid(s, 5100), 0);
	symbolizer__fork(s, 5100, 5101);
	assert_int_equal(symbolizer__snapshot_pid(s, 5101), 0);
	symbolizer__stats(s, &st);
	assert_int_equal(st.pids_recorded, 2);
	assert_int_equal(st.pids_snapshotted, 0);
	expect_user(s, 5100, EXE_BASE + exe[0].addr, "fixture_alpha", "symfixture", exe_path,
		    exe_bid);
	expect_user(s, 5101, EXE_BASE + exe[0].addr, "fixture_alpha", "symfixture", exe_path,
		    exe_bid);

	/* Records lost: the images may miss a mapping, so /proc is read (and fails here). */
	symbolizer__records_lost(s);
	assert_int_equal(symbolizer__snapshot_pid(s, 5100), -ENOENT);
	/* What the records told still resolves. */
	expect_user(s, 5100, EXE_BASE + exe[0].addr, "fixture_alpha", "symfixture", exe_path,
		    exe_bid);
	/* A later exec starts a recorded image again. */
	symbolizer__exec(s, 5101);
	assert_int_equal(symbolizer__snapshot_pid(s, 5101), 0);
	symbolizer__stats(s, &st);
	assert_int_equal(st.pids_recorded, 3);
	symbolizer__free(s);
}

/* ---- untrusted input: perf maps, paths out of the root, limits ---- */

#define JPID 4250 /* a fixture process with only a JIT mapping */

/* A fresh fake process JPID whose /tmp/perf-JPID.map is made by `make` (a shell command run in
 * its root's /tmp, "M" naming the map), with status Uid `uid` (-1: no status file). */
static struct symbolizer *jit_proc(const char *make, int uid, const struct symbolizer_limits *lim)
{
	struct symbolizer_opts o = { .proc_root = root, .kallsyms_path = KALLSYMS_FIXTURE };
	struct symbolizer *s;
	char p[PATH_MAX];
	FILE *f;

	assert_int_equal(sh("rm -rf %s/%d && mkdir -p %s/%d/root/tmp", root, JPID, root, JPID), 0);
	snprintf(p, sizeof(p), "%s/%d/maps", root, JPID);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "%llx-%llx rwxp 00000000 00:00 0 \n", JIT_START, JIT_END);
	fclose(f);
	if (uid >= 0) {
		snprintf(p, sizeof(p), "%s/%d/status", root, JPID);
		f = fopen(p, "w");
		assert_non_null(f);
		fprintf(f, "Name:\tjit\nUid:\t%d\t%d\t%d\t%d\nNSpid:\t%d\n", uid, uid, uid, uid,
			JPID);
		fclose(f);
	}
	assert_int_equal(sh("cd %s/%d/root/tmp && M=perf-%d.map && %s", root, JPID, JPID, make), 0);
	if (lim)
		o.limits = *lim;
	s = symbolizer__new(&o);
	assert_non_null(s);
	return s;
}

/* The JIT symbol at JIT_START + 0x100 resolves (want != NULL) or does not; refused maps counted. */
static void expect_jit(struct symbolizer *s, const char *want, __u64 refused)
{
	struct symbolizer_stats st;
	struct sym_frame f;

	for (int i = 0; i < 2; i++) { /* twice: a refusal is counted once */
		assert_int_equal(symbolizer__user(s, JPID, JIT_START + 0x100, &f), 0);
		if (want) {
			assert_non_null(f.name);
			assert_string_equal(f.name, want);
		} else {
			assert_null(f.name);
			assert_string_equal(f.module, "[anon]");
		}
	}
	symbolizer__stats(s, &st);
	if (st.perfmaps_refused != refused)
		fail_msg("refused %llu, want %llu", (unsigned long long)st.perfmaps_refused,
			 (unsigned long long)refused);
	symbolizer__free(s);
}

/*
 * perf-PID.map is the process's to write: a symlink (to a root-only file in map format), a FIFO, a
 * hard link or a file of another user is refused, counted once, and never read.
 */
static void test_perfmap_untrusted(void **state)
{
	char secret[PATH_MAX], line[4 * PATH_MAX];
	struct symbolizer_limits lim = { 0 };

	(void)state;
	if (geteuid())
		skip(); /* chown needs root */
	snprintf(secret, sizeof(secret), "%s/root-only.map", root);
	snprintf(line, sizeof(line), "echo '%llx 80 SECRET_ROOT_ONLY' > %s && chmod 600 %s",
		 JIT_START + 0x100, secret, secret);
	assert_int_equal(sh("%s", line), 0);

	/* The honest map of a process of uid 12345, its own file: named. */
	expect_jit(
		jit_proc("echo '7f0000300100 80 honest_jit' > $M && chown 12345 $M", 12345, NULL),
		"honest_jit", 0);
	/* Root's files are trusted too (a runtime started as root). */
	expect_jit(jit_proc("echo '7f0000300100 80 root_jit' > $M", 12345, NULL), "root_jit", 0);
	snprintf(line, sizeof(line), "ln -s %s $M", secret);
	expect_jit(jit_proc(line, 12345, NULL), NULL, 1);
	snprintf(line, sizeof(line), "ln %s $M", secret);
	expect_jit(jit_proc(line, 12345, NULL), NULL, 1);
	expect_jit(jit_proc("echo '7f0000300100 80 other' > $M && chown 999 $M", 12345, NULL), NULL,
		   1);
	/* Owner unknown (no status): only root's maps. */
	expect_jit(jit_proc("echo '7f0000300100 80 x' > $M && chown 12345 $M", -1, NULL), NULL, 1);
	expect_jit(jit_proc("mkfifo $M", 12345, NULL), NULL, 1);
	expect_jit(jit_proc("mkdir $M", 12345, NULL), NULL, 1);
	/* /tmp itself a symlink out of the process's root: resolved inside it, where it names itself
	 * again (a loop), so no map; the host's copy is never read. */
	snprintf(
		line, sizeof(line),
		"cd .. && rmdir tmp && mkdir -p %s/hosttmp && cp %s %s/hosttmp/perf-%d.map && ln -s %s/hosttmp tmp",
		root, secret, root, JPID, root);
	expect_jit(jit_proc(line, 0, NULL), NULL, 1);
	/* Caps: size and symbols per map, each counted. */
	lim.max_perfmap_bytes = 16;
	expect_jit(jit_proc("echo '7f0000300100 80 too_big_a_map' > $M", 0, &lim), NULL, 1);
	{
		struct symbolizer_stats st;
		struct sym_frame f;
		struct symbolizer *s;

		lim = (struct symbolizer_limits){ .max_symbols = 2 };
		s = jit_proc(
			"printf '7f0000300100 80 a\n7f0000300200 80 b\n7f0000300300 80 c\n' > $M",
			0, &lim);
		assert_int_equal(symbolizer__user(s, JPID, JIT_START + 0x210, &f), 0);
		assert_string_equal(f.name, "b");
		assert_int_equal(symbolizer__user(s, JPID, JIT_START + 0x310, &f), 0);
		assert_null(f.name);
		symbolizer__stats(s, &st);
		assert_true(st.symbols_dropped == 1);
		symbolizer__free(s);
	}
	sh("rm -rf %s/%d %s/hosttmp %s", root, JPID, root, secret);
}

/*
 * The library path inside the process's root is an absolute symlink to a file of the host's (the
 * very file the maps line names by inode): resolved inside the root it is not there, so no symbol,
 * rather than the host's file read in its place.
 */
static void test_symlink_out_of_root(void **state)
{
	struct nm_sym lib[] = { { "lib_one" } };
	struct symbolizer *s = fixture_symbolizer();
	struct symbolizer_stats st;
	struct sym_frame f;
	char p[PATH_MAX], host[PATH_MAX];
	FILE *m;

	(void)state;
	assert_int_equal(nm_fill(FIXTURE_LIB, lib, 1), 0);
	assert_non_null(realpath(FIXTURE_LIB, host));
	assert_int_equal(
		sh("mkdir -p %s/%d/root/opt/esc && ln -sfn %s %s/%d/root/opt/esc/libesc.so", root,
		   JPID, host, root, JPID),
		0);
	snprintf(p, sizeof(p), "%s/%d/maps", root, JPID);
	m = fopen(p, "w");
	assert_non_null(m);
	write_maps(m, FIXTURE_LIB, LIB_BASE, "/opt/esc/libesc.so", false, false);
	fclose(m);
	assert_int_equal(symbolizer__snapshot_pid(s, JPID), 0);
	assert_int_equal(symbolizer__user(s, JPID, LIB_BASE + lib[0].addr + 1, &f), 0);
	assert_string_equal(f.module, "libesc.so");
	assert_null(f.name);
	symbolizer__stats(s, &st);
	assert_true(st.elf_parsed == 0 && st.files_failed == 1);
	symbolizer__free(s);
	sh("rm -rf %s/%d", root, JPID);
}

/* Every limit holds and is counted, and the loss summary says so. */
static void test_limits(void **state)
{
	struct symbolizer_opts o = { .proc_root = root, .kallsyms_path = KALLSYMS_FIXTURE };
	struct symbolizer_stats st;
	struct symbolizer *s;
	char buf[512];

	(void)state;
	/* One process at a time: the second is refused, and counted once however often it is asked. */
	o.limits.max_procs = 1;
	s = symbolizer__new(&o);
	assert_non_null(s);
	assert_int_equal(symbolizer__snapshot_pid(s, FPID), 0);
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)getpid()), -ENOSPC);
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)getpid()), -ENOSPC);
	symbolizer__fork(s, FPID, 77777);
	symbolizer__stats(s, &st);
	assert_true(st.procs_untracked == 2);
	assert_true(symbolizer__describe_losses(&st, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "2 processes not tracked (process cap reached)");
	symbolizer__free(s);

	/* Table memory: the first file fits, nothing after it is parsed. */
	o.limits = (struct symbolizer_limits){ .max_table_bytes = 1 };
	s = symbolizer__new(&o);
	assert_non_null(s);
	assert_int_equal(symbolizer__snapshot_pid(s, FPID), 0);
	symbolizer__stats(s, &st);
	assert_true(st.elf_parsed == 1 && st.files_over_memory >= 1 && st.table_bytes > 1);
	symbolizer__free(s);

	/* File size: the fixtures are larger than 1 KiB. */
	o.limits = (struct symbolizer_limits){ .max_file_bytes = 1024, .max_symbols = 3 };
	s = symbolizer__new(&o);
	assert_non_null(s);
	assert_int_equal(symbolizer__snapshot_pid(s, FPID), 0);
	symbolizer__stats(s, &st);
	assert_true(st.elf_parsed == 0 && st.files_too_big >= 2);
	symbolizer__free(s);

	/* Symbols per file. */
	o.limits = (struct symbolizer_limits){ .max_symbols = 3 };
	s = symbolizer__new(&o);
	assert_non_null(s);
	assert_int_equal(symbolizer__snapshot_pid(s, FPID), 0);
	symbolizer__stats(s, &st);
	assert_true(st.elf_parsed == 2 && st.symbols_dropped > 0);
	assert_true(symbolizer__describe_losses(&st, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, " symbols over the per-file symbol cap"));
	/* Truncated, never overflowing. */
	assert_true(symbolizer__describe_losses(&st, buf, 8) == 7);
	assert_int_equal(strlen(buf), 7);
	symbolizer__free(s);
	memset(&st, 0, sizeof(st));
	assert_int_equal(symbolizer__describe_losses(&st, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

/* ---- the real /proc ---- */

__attribute__((noinline, used)) int symbolizer_test_marker(int x)
{
	return x * 7 + 1;
}

__attribute__((noinline, used)) void child_spin(void)
{
	for (;;)
		pause();
}

static void expect_libc_getpid(struct symbolizer *s, __u32 pid)
{
	void *fn = dlsym(RTLD_DEFAULT, "getpid");
	struct sym_frame f;

	assert_non_null(fn);
	assert_int_equal(symbolizer__user(s, pid, (__u64)(uintptr_t)fn, &f), 0);
	assert_non_null(f.name);
	if (strcmp(f.name, "getpid") && strcmp(f.name, "__getpid"))
		fail_msg("getpid resolved to %s", f.name);
	assert_string_equal(f.module, "libc.so.6");
	assert_int_equal(strlen(f.build_id), 40);
}

static void test_self(void **state)
{
	struct symbolizer_opts o = { .no_kernel = true };
	struct symbolizer *s = symbolizer__new(&o);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct sym_frame f;
	void *vdso, *cg = NULL;

	(void)state;
	assert_non_null(s);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)getpid()), 0);
	assert_int_equal(symbolizer__user(s, (__u32)getpid(),
					  (__u64)(uintptr_t)&symbolizer_test_marker + 3, &f),
			 0);
	assert_non_null(f.name);
	assert_string_equal(f.name, "symbolizer_test_marker");
	assert_string_equal(f.path, exe);
	assert_string_equal(f.module, strrchr(exe, '/') + 1);
	expect_libc_getpid(s, (__u32)getpid());

	/* The vdso, read from /proc/self/mem. */
	vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
	if (vdso)
		cg = dlsym(vdso, "__vdso_clock_gettime");
	/* glibc on x86-64 finds the vdso whenever the kernel maps one. */
	if (getauxval(AT_SYSINFO_EHDR))
		assert_non_null(cg);
	if (cg) {
		char bid[129];
		pid_t child;

		assert_int_equal(symbolizer__user(s, (__u32)getpid(), (__u64)(uintptr_t)cg, &f), 0);
		assert_string_equal(f.module, "[vdso]");
		assert_non_null(f.name);
		assert_non_null(strstr(f.name, "clock_gettime"));
		assert_int_equal(strlen(f.build_id), 40);
		/* A second process maps the same vdso: its bytes match the last one read, and the
		 * same parsed file names it. */
		snprintf(bid, sizeof(bid), "%s", f.build_id);
		child = fork();
		assert_true(child >= 0);
		if (!child) {
			pause();
			_exit(0);
		}
		assert_int_equal(symbolizer__snapshot_pid(s, (__u32)child), 0);
		assert_int_equal(symbolizer__user(s, (__u32)child, (__u64)(uintptr_t)cg, &f), 0);
		assert_string_equal(f.module, "[vdso]");
		assert_non_null(f.name);
		assert_non_null(strstr(f.name, "clock_gettime"));
		assert_string_equal(f.build_id, bid);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (vdso)
		dlclose(vdso);
	symbolizer__free(s);
}

/*
 * A library loaded after the snapshot, and deleted before the lookup, still resolves: the lookup
 * reads the maps again and opens the file through /proc/PID/map_files.
 */
static void test_deleted_library(void **state)
{
	char dir[] = "/tmp/vigil-test-del-XXXXXX", path[PATH_MAX];
	struct symbolizer *s = symbolizer__new(&(struct symbolizer_opts){ .no_kernel = true });
	struct symbolizer_stats st;
	struct sym_frame f;
	void *h, *fn;

	(void)state;
	assert_non_null(s);
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)getpid()), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/libdoomed.so", dir);
	assert_int_equal(sh("cp %s %s", FIXTURE_LIB, path), 0);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	fn = dlsym(h, "lib_three");
	assert_non_null(fn);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);

	/* Maps are read again at most once a second. */
	usleep(1100 * 1000);
	assert_int_equal(symbolizer__user(s, (__u32)getpid(), (__u64)(uintptr_t)fn + 2, &f), 0);
	assert_non_null(f.name);
	assert_string_equal(f.name, "lib_three");
	assert_string_equal(f.module, "libdoomed.so");
	assert_string_equal(f.path, path);
	assert_string_equal(f.build_id, lib_bid);
	symbolizer__stats(s, &st);
	assert_true(st.pids_snapshotted == 2);
	symbolizer__free(s);
	dlclose(h);
}

/* A child's addresses resolve after it has exited and been reaped. */
static void test_exited_child(void **state)
{
	struct symbolizer *s = symbolizer__new(&(struct symbolizer_opts){ .no_kernel = true });
	struct sym_frame f;
	pid_t child;
	int status;

	(void)state;
	assert_non_null(s);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		child_spin();
		_exit(0);
	}
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)child), 0);
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(kill(child, 0), -1);
	assert_int_equal(errno, ESRCH);

	assert_int_equal(symbolizer__user(s, (__u32)child, (__u64)(uintptr_t)&child_spin + 1, &f),
			 0);
	assert_non_null(f.name);
	assert_string_equal(f.name, "child_spin");
	expect_libc_getpid(s, (__u32)child);
	/* Asking again for the dead process keeps what was recorded. */
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)child), 0);
	assert_int_equal(symbolizer__user(s, (__u32)child, (__u64)(uintptr_t)&child_spin + 1, &f),
			 0);
	assert_string_equal(f.name, "child_spin");
	symbolizer__free(s);
}

/*
 * A long-running caller forgets exited processes: marked at one call (their samples read until the
 * next still resolve), freed at the next; live ones are kept.
 */
static void test_forget_exited(void **state)
{
	struct symbolizer *s = symbolizer__new(&(struct symbolizer_opts){ .no_kernel = true });
	struct symbolizer_stats st;
	struct sym_frame f;
	pid_t child;

	(void)state;
	assert_non_null(s);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		child_spin();
		_exit(0);
	}
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)getpid()), 0);
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)child), 0);
	symbolizer__stats(s, &st);
	assert_int_equal(st.procs, 2);
	/* Both alive: nothing marked. */
	assert_int_equal(symbolizer__forget_exited(s), 0);
	assert_int_equal(symbolizer__forget_exited(s), 0);
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	/* Marked at the first call after its exit, still resolved. */
	assert_int_equal(symbolizer__forget_exited(s), 0);
	assert_int_equal(symbolizer__user(s, (__u32)child, (__u64)(uintptr_t)&child_spin + 1, &f),
			 0);
	assert_string_equal(f.name, "child_spin");
	/* Freed at the next; this process stays and still resolves. */
	assert_int_equal(symbolizer__forget_exited(s), 1);
	symbolizer__stats(s, &st);
	assert_int_equal(st.procs, 1);
	assert_int_equal(st.procs_forgotten, 1);
	assert_int_equal(symbolizer__user(s, (__u32)child, (__u64)(uintptr_t)&child_spin + 1, &f),
			 -ENOENT);
	assert_int_equal(symbolizer__user(s, (__u32)getpid(),
					  (__u64)(uintptr_t)&symbolizer_test_marker + 3, &f),
			 0);
	assert_string_equal(f.name, "symbolizer_test_marker");
	assert_int_equal(symbolizer__forget_exited(s), 0);
	symbolizer__free(s);
}

/*
 * A file mapped only by processes that have exited is freed after 30 forget calls (its caches with
 * it), and a process mapping it later has it parsed again.
 */
static void test_forget_unmapped_files(void **state)
{
	char dir[] = "/tmp/vigil-test-gc-XXXXXX", path[PATH_MAX];
	struct symbolizer *s = symbolizer__new(&(struct symbolizer_opts){ .no_kernel = true });
	struct symbolizer_stats st0, st1, st2;
	struct sym_frame f;
	int fds[2];
	__u64 addr = 0;
	pid_t child;
	void *h, *fn;

	(void)state;
	assert_non_null(s);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/libgc.so", dir);
	assert_int_equal(sh("cp %s %s", FIXTURE_LIB, path), 0);
	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		void *ch = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		__u64 a = ch ? (__u64)(uintptr_t)dlsym(ch, "lib_three") : 0;

		if (write(fds[1], &a, sizeof(a)) != sizeof(a))
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(fds[0], &addr, sizeof(addr)), sizeof(addr));
	assert_true(addr != 0);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)child), 0);
	assert_int_equal(symbolizer__user(s, (__u32)child, addr + 2, &f), 0);
	assert_string_equal(f.name, "lib_three");
	symbolizer__stats(s, &st0);
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	/* The process goes at the second call, its files 30 calls after they went unmapped. */
	for (int i = 0; i < 30; i++)
		symbolizer__forget_exited(s);
	symbolizer__stats(s, &st1);
	assert_int_equal(st1.elves_freed, 0);
	symbolizer__forget_exited(s);
	symbolizer__stats(s, &st1);
	assert_int_equal(st1.procs, 0);
	assert_true(st1.elves_freed >= 1);
	assert_true(st1.table_bytes < st0.table_bytes);
	/* Mapped again (by this process): parsed again, found by name. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	fn = dlsym(h, "lib_three");
	assert_non_null(fn);
	assert_int_equal(symbolizer__snapshot_pid(s, (__u32)getpid()), 0);
	assert_int_equal(symbolizer__user(s, (__u32)getpid(), (__u64)(uintptr_t)fn + 2, &f), 0);
	assert_string_equal(f.name, "lib_three");
	symbolizer__stats(s, &st2);
	assert_true(st2.elf_parsed > st1.elf_parsed);
	/* Live mappings are never freed, however many calls. */
	for (int i = 0; i < 40; i++)
		symbolizer__forget_exited(s);
	assert_int_equal(symbolizer__user(s, (__u32)getpid(), (__u64)(uintptr_t)fn + 2, &f), 0);
	assert_string_equal(f.name, "lib_three");
	dlclose(h);
	unlink(path);
	rmdir(dir);
	symbolizer__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_files),
		cmocka_unit_test(test_fixture_demangling),
		cmocka_unit_test(test_fixture_rebuilt_file),
		cmocka_unit_test(test_fixture_jit_and_vdso),
		cmocka_unit_test(test_fixture_kernel),
		cmocka_unit_test(test_mmap_fork_exec),
		cmocka_unit_test(test_recorded_image),
		cmocka_unit_test(test_perfmap_untrusted),
		cmocka_unit_test(test_symlink_out_of_root),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_deleted_library),
		cmocka_unit_test(test_exited_child),
		cmocka_unit_test(test_forget_exited),
		cmocka_unit_test(test_forget_unmapped_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
