// SPDX-License-Identifier: GPL-2.0
/*
 * unwind_step: the BPF walker's step (include/vigil/unwind_step.h, the very source the kernel runs),
 * compiled here over userspace arrays laid out as the kernel's maps are (all files' rows in one
 * array, handed out in ranges; one page index; a sorted mapping table for the process) and run on
 * this test's own live stack. This file is built -O2 without frame pointers, as distributions build
 * their code, so only the CFI rows can find the callers: leaf -> mid -> driver -> the test, through
 * cmocka and libc down to _start, where the return address is undefined. A signal handler's walk
 * crosses the kernel's signal frame (__restore_rt) into the interrupted code.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <libelf.h>
#include <cmocka.h>

#include "symbols/cfi.h"
#include "symbols/elf.h"
#include "symbols/procmaps.h"

/* The kernel's arrays, in userspace. */
struct arrays {
	struct vg_cfi_row *rows;
	size_t nrows;
	__u32 *pages;
	size_t npages;
	struct vg_cfi_table tables[64];
	size_t ntables;
	struct vg_unwind_proc proc;
	struct vg_row_cache_ent cache[VG_ROW_CACHE];
	bool use_cache;
	unsigned tables_read; /* vg_step_table calls: every row search starts with one */
};

#define VG_STEP_CTX struct arrays
static inline const struct vg_cfi_row *vg_step_row(VG_STEP_CTX *c, __u32 idx)
{
	return idx < c->nrows ? &c->rows[idx] : NULL;
}
static inline const __u32 *vg_step_page(VG_STEP_CTX *c, __u32 idx)
{
	return idx < c->npages ? &c->pages[idx] : NULL;
}
static inline const struct vg_cfi_table *vg_step_table(VG_STEP_CTX *c, __u32 id)
{
	c->tables_read++;
	return id < c->ntables ? &c->tables[id] : NULL;
}
/* As bpf_probe_read_user: a bad address is an error, never a crash. */
static inline long vg_step_read(VG_STEP_CTX *c, void *dst, __u32 size, __u64 addr)
{
	struct iovec local = { dst, size }, remote = { (void *)(uintptr_t)addr, size };

	(void)c;
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)size ? 0 : -EFAULT;
}
static inline struct vg_row_cache_ent *vg_step_cache(VG_STEP_CTX *c)
{
	return c->use_cache ? c->cache : NULL;
}
#include "vigil/unwind_step.h"

static struct arrays A;
static char paths[64][256];

/* Append one file's table to the arrays (as the loader hands out ranges). Returns its id. */
static __u32 add_table(const char *path)
{
	struct vg_cfi_table *d;
	struct cfi_table *t;
	int fd = open(path, O_RDONLY);
	Elf *e;

	if (fd < 0 || A.ntables == 64)
		return VG_CFI_NO_TABLE;
	for (size_t i = 0; i < A.ntables; i++)
		if (!strcmp(paths[i], path)) {
			close(fd);
			return (__u32)i;
		}
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	t = e ? cfi_table__build(e, NULL) : NULL;
	elf_end(e);
	close(fd);
	if (!t)
		return VG_CFI_NO_TABLE;
	d = &A.tables[A.ntables];
	d->row_start = (__u32)A.nrows;
	d->nrows = (__u32)cfi_table__nr_rows(t);
	d->page_start = (__u32)A.npages;
	d->npages = (__u32)cfi_table__nr_pages(t);
	d->first_page = cfi_table__first_page(t);
	A.rows = realloc(A.rows, (A.nrows + d->nrows) * sizeof(*A.rows));
	A.pages = realloc(A.pages, (A.npages + d->npages) * sizeof(*A.pages));
	assert_non_null(A.rows);
	assert_non_null(A.pages);
	memcpy(A.rows + A.nrows, cfi_table__rows(t), d->nrows * sizeof(*A.rows));
	memcpy(A.pages + A.npages, cfi_table__pages(t), d->npages * sizeof(*A.pages));
	A.nrows += d->nrows;
	A.npages += d->npages;
	snprintf(paths[A.ntables], sizeof(paths[0]), "%s", path);
	cfi_table__free(t);
	return (__u32)A.ntables++;
}

/* This process's executable mappings with their tables, as the loader fills unwind_procs. */
static void load_self(void)
{
	struct procmaps *pm;

	elf_version(EV_CURRENT);
	memset(&A.proc, 0, sizeof(A.proc));
	pm = procmaps__read("/proc/self/maps");
	assert_non_null(pm);
	for (size_t i = 0; i < procmaps__count(pm) && A.proc.n < VG_UNWIND_MAX_MAPS; i++) {
		const struct procmaps_entry *e = procmaps__entry(pm, i);
		struct vg_unwind_map *m = &A.proc.maps[A.proc.n];

		if (!(e->prot & PROT_EXEC))
			continue;
		m->start = e->start;
		m->end = e->end;
		m->offset = e->pgoff;
		m->table = e->kind == PROCMAPS_FILE ? add_table(e->path) : VG_CFI_NO_TABLE;
		A.proc.n++;
	}
	procmaps__free(pm);
	assert_true(A.proc.n >= 3);
}

#define MAX_WALK 64
struct walk {
	__u64 pcs[MAX_WALK];
	int n, end;
	__u32 fp_frames;
};

#define CAPTURE(r)                                                            \
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" \
			 : "=r"((r).pc), "=r"((r).sp), "=r"((r).bp))

static __attribute__((noinline)) void walk_from(struct vg_regs r, bool cfi, struct walk *w)
{
	w->n = 0;
	r.map = vg_find_map(&A.proc, r.pc);
	r.exact = 1;
	w->pcs[w->n++] = r.pc;
	while (w->n < MAX_WALK) {
		w->end = vg_unwind_step(&A, &A.proc, cfi, &r);
		if (w->end != VG_STEP_OK)
			break;
		w->pcs[w->n++] = r.pc;
	}
	w->fp_frames = r.fp_frames;
}

static struct walk W, W_fp, W_cached[2];
static unsigned cached_searches[2];
volatile long sink;

static __attribute__((noinline)) long chain_leaf(long x)
{
	struct vg_regs r = { 0 };

	CAPTURE(r);
	walk_from(r, true, &W);
	walk_from(r, false, &W_fp);
	/* The same walk twice through an empty row cache: the second finds every row there. */
	memset(A.cache, 0, sizeof(A.cache));
	A.use_cache = true;
	for (int i = 0; i < 2; i++) {
		unsigned before = A.tables_read;

		walk_from(r, true, &W_cached[i]);
		cached_searches[i] = A.tables_read - before;
	}
	A.use_cache = false;
	return x * 3 + sink;
}

static __attribute__((noinline)) long chain_mid(long x)
{
	long v = chain_leaf(x + 1);

	sink += v; /* no tail call: the frame stays */
	return v + 1;
}

static __attribute__((noinline)) long chain_driver(long x)
{
	long v = chain_mid(x * 2);

	sink += v;
	return v + 2;
}

/* The ELF function holding a runtime address of this executable, by name. */
static const char *func_of(struct elf_file *f, __u64 bias, __u64 pc)
{
	struct elf_symbol s;

	return pc >= bias && !elf_file__lookup(f, pc - bias - 1, &s) ? s.name : NULL;
}

static struct elf_file *self_elf(__u64 *bias)
{
	struct elf_file *f = elf_file__open("/proc/self/exe", NULL);
	struct elf_symbol s;

	assert_non_null(f);
	assert_int_equal(elf_file__find(f, "chain_driver", &s), 0);
	*bias = (__u64)(uintptr_t)chain_driver - s.addr;
	return f;
}

static void test_walk_own_stack_by_cfi(void **state)
{
	struct elf_file *f;
	__u64 bias;

	(void)state;
	load_self();
	sink += chain_driver(5);
	f = self_elf(&bias);
	/* pcs[0] is exact; the callers' are return addresses. */
	assert_true(W.n >= 6);
	assert_true((__u64)(uintptr_t)chain_leaf <= W.pcs[0]);
	assert_string_equal(func_of(f, bias, W.pcs[1]), "chain_mid");
	assert_string_equal(func_of(f, bias, W.pcs[2]), "chain_driver");
	assert_string_equal(func_of(f, bias, W.pcs[3]), "test_walk_own_stack_by_cfi");
	/* ... through cmocka (a library) to main and libc's start, ending where CFI says so. */
	assert_int_equal(W.end, VG_STEP_END);
	{
		bool main_seen = false;

		for (int i = 4; i < W.n; i++)
			main_seen |= func_of(f, bias, W.pcs[i]) &&
				     !strcmp(func_of(f, bias, W.pcs[i]), "main");
		assert_true(main_seen);
	}
	/* Every frame had a row: no frame-pointer guesses. */
	assert_int_equal(W.fp_frames, 0);
	/* By frame pointers alone this -O2 code loses its callers; whatever it returns is still in
	 * an executable mapping (the check that keeps garbage out of stacks). */
	assert_true(W_fp.n < W.n);
	for (int i = 0; i < W_fp.n; i++)
		assert_true(vg_find_map(&A.proc, W_fp.pcs[i]) >= 0);
	elf_file__free(f);
}

/* The row cache changes no walk, and a walk seen before mostly searches no table. */
static void test_row_cache_walks(void **state)
{
	(void)state;
	load_self();
	sink += chain_driver(7);
	assert_true(W.n >= 6);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(W_cached[i].n, W.n);
		assert_memory_equal(W_cached[i].pcs, W.pcs, W.n * sizeof(W.pcs[0]));
		assert_int_equal(W_cached[i].end, W.end);
		assert_int_equal(W_cached[i].fp_frames, W.fp_frames);
	}
	/* The first walk searches at every step; the second only where two of its frames share a
	 * slot (direct-mapped). */
	assert_true(cached_searches[0] >= (unsigned)W.n - 1);
	assert_true(cached_searches[1] < cached_searches[0] / 2);
}

/* The cache's entries: by table and offset range, a miss kept as a VG_CFI_NONE row. */
static void test_row_cache_entries(void **state)
{
	struct vg_cfi_row rows[] = {
		{ .off = 0x1000, .kind = VG_CFI_RSP, .cfa = 8 },
		{ .off = 0x1004, .kind = VG_CFI_RSP, .cfa = 16 },
		{ .off = 0x2000, .kind = VG_CFI_END },
	};
	__u32 pages[] = { 0, 2 };
	struct arrays saved = A;
	struct vg_regs r = { .map = 0, .exact = 1 };
	const struct vg_cfi_row *row;
	unsigned before;

	(void)state;
	A.rows = rows;
	A.nrows = 3;
	A.pages = pages;
	A.npages = 2;
	A.tables[0] = (struct vg_cfi_table){ .nrows = 3, .npages = 2, .first_page = 1 };
	A.tables[1] = A.tables[0];
	A.ntables = 2;
	memset(&A.proc, 0, sizeof(A.proc));
	A.proc.n = 2;
	A.proc.maps[0] = (struct vg_unwind_map){ .start = 0x400000, .end = 0x403000, .table = 0 };
	A.proc.maps[1] = (struct vg_unwind_map){ .start = 0x500000, .end = 0x503000, .table = 1 };
	memset(A.cache, 0, sizeof(A.cache));
	A.use_cache = true;

	r.pc = 0x401006;
	before = A.tables_read;
	row = vg_row_for(&A, &A.proc, &r);
	assert_int_equal(A.tables_read - before, 1);
	assert_int_equal(row->cfa, 16);
	row = vg_row_for(&A, &A.proc, &r);
	assert_int_equal(A.tables_read - before, 1); /* from the cache */
	assert_int_equal(row->kind, VG_CFI_RSP);
	assert_int_equal(row->cfa, 16);
	/* The same offset in another table is another entry. */
	r.map = 1;
	r.pc = 0x501006;
	row = vg_row_for(&A, &A.proc, &r);
	assert_int_equal(A.tables_read - before, 2);
	assert_int_equal(row->cfa, 16);
	/* A return address looks up the byte before it. */
	r.map = 0;
	r.pc = 0x401004;
	r.exact = 0;
	assert_int_equal(vg_row_for(&A, &A.proc, &r)->cfa, 8);
	assert_int_equal(A.tables_read - before, 3);
	/* An entry holds for its row's whole range, and a set keeps both rows of its granule. */
	r.exact = 1;
	r.pc = 0x401006;
	assert_int_equal(vg_row_for(&A, &A.proc, &r)->cfa, 16);
	r.pc = 0x401002;
	assert_int_equal(vg_row_for(&A, &A.proc, &r)->cfa, 8);
	r.pc = 0x401030;
	assert_int_equal(vg_row_for(&A, &A.proc, &r)->cfa, 16);
	assert_int_equal(A.tables_read - before, 3);
	/* The next row's first byte is past the range: a search. */
	r.pc = 0x402000;
	assert_int_equal(vg_row_for(&A, &A.proc, &r)->kind, VG_CFI_END);
	assert_int_equal(A.tables_read - before, 4);
	r.pc = 0x402001;
	assert_int_equal(vg_row_for(&A, &A.proc, &r)->kind, VG_CFI_END);
	assert_int_equal(A.tables_read - before, 4);
	/* Before the first row: no row, and the cached miss says so again without a search. */
	r.pc = 0x400100;
	r.exact = 1;
	assert_null(vg_row_for(&A, &A.proc, &r));
	row = vg_row_for(&A, &A.proc, &r);
	assert_int_equal(A.tables_read - before, 5);
	assert_true(!row || row->kind == VG_CFI_NONE);
	A.use_cache = false;
	A = saved;
}

/* A signal handler: its walk crosses __restore_rt into the code the signal interrupted. */
static struct walk W_sig;
static volatile sig_atomic_t in_handler;

static void on_signal(int sig)
{
	struct vg_regs r = { 0 };

	(void)sig;
	CAPTURE(r);
	walk_from(r, true, &W_sig);
	in_handler = 1;
}

static __attribute__((noinline)) void signal_driver(void)
{
	raise(SIGUSR1);
	sink++;
}

static void test_walk_through_signal_frame(void **state)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct elf_file *f;
	bool driver_seen = false;
	__u64 bias;

	(void)state;
	load_self();
	sigaction(SIGUSR1, &sa, NULL);
	signal_driver();
	assert_true(in_handler);
	f = self_elf(&bias);
	for (int i = 1; i < W_sig.n; i++) {
		const char *n = func_of(f, bias, W_sig.pcs[i]);

		driver_seen |= n && !strcmp(n, "signal_driver");
	}
	assert_true(driver_seen);
	assert_int_equal(W_sig.end, VG_STEP_END);
	elf_file__free(f);
}

/* The lookups alone: mapping search edges, rows before a table, beyond it. */
static void test_lookup_edges(void **state)
{
	struct vg_cfi_row rows[] = {
		{ .off = 0x1000, .kind = VG_CFI_RSP, .cfa = 8 },
		{ .off = 0x1004, .kind = VG_CFI_RSP, .cfa = 16 },
		{ .off = 0x2ff0, .kind = VG_CFI_NONE },
		{ .off = 0x3000, .kind = VG_CFI_RBP, .cfa = 16, .rbp = -2 },
		{ .off = 0x5000, .kind = VG_CFI_NONE },
	};
	__u32 pages[] = { 0, 1, 3, 3, 4 }; /* in force at 0x1000, 0x2000, 0x3000, 0x4000, 0x5000 */
	struct vg_cfi_table t = { .nrows = 5, .npages = 5, .first_page = 1 };
	struct arrays saved = A;
	const struct vg_cfi_row *r;

	(void)state;
	A.rows = rows;
	A.nrows = 5;
	A.pages = pages;
	A.npages = 5;
	assert_null(vg_find_row(&A, &t, 0x0fff));
	assert_int_equal(vg_find_row(&A, &t, 0x1000)->cfa, 8);
	assert_int_equal(vg_find_row(&A, &t, 0x1003)->cfa, 8);
	assert_int_equal(vg_find_row(&A, &t, 0x1004)->cfa, 16);
	assert_int_equal(vg_find_row(&A, &t, 0x2fef)->cfa, 16);
	assert_int_equal(vg_find_row(&A, &t, 0x2ff0)->kind, VG_CFI_NONE);
	r = vg_find_row(&A, &t, 0x4abc);
	assert_int_equal(r->kind, VG_CFI_RBP);
	assert_int_equal(r->rbp, -2);
	assert_int_equal(vg_find_row(&A, &t, 0x5000)->kind, VG_CFI_NONE);
	assert_int_equal(vg_find_row(&A, &t, 0x9999999)->kind, VG_CFI_NONE);
	A = saved;

	memset(&A.proc, 0, sizeof(A.proc));
	for (__u32 i = 0; i < VG_UNWIND_MAX_MAPS; i++) {
		A.proc.maps[i].start = 0x10000 + i * 0x2000ULL;
		A.proc.maps[i].end = A.proc.maps[i].start + 0x1000;
	}
	A.proc.n = VG_UNWIND_MAX_MAPS;
	assert_int_equal(vg_find_map(&A.proc, 0x10000), 0);
	assert_int_equal(vg_find_map(&A.proc, 0x10fff), 0);
	assert_int_equal(vg_find_map(&A.proc, 0x11000), -1);
	assert_int_equal(vg_find_map(&A.proc, 0xffff), -1);
	assert_int_equal(vg_find_map(&A.proc, 0x10000 + 255 * 0x2000ULL + 5), 255);
	assert_int_equal(vg_find_map(&A.proc, 0x10000 + 128 * 0x2000ULL), 128);
	A.proc.n = 0;
	assert_int_equal(vg_find_map(&A.proc, 0x10000), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_own_stack_by_cfi),
		cmocka_unit_test(test_row_cache_walks),
		cmocka_unit_test(test_row_cache_entries),
		cmocka_unit_test(test_walk_through_signal_frame),
		cmocka_unit_test(test_lookup_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
