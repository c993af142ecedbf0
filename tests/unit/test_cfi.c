// SPDX-License-Identifier: GPL-2.0
/*
 * cfi: the unwind rows built from .eh_frame, checked row for row against what binutils says about
 * the same file (`readelf --debug-dump=frames-interp`) at sampled addresses of every FDE: the first
 * byte of each row, its last byte, one in the middle, and the first byte past each FDE that no
 * other FDE covers. Files: the -O2 -fomit-frame-pointer fixture and the system's libc (PLT stubs, a
 * signal trampoline, clone's undefined return address).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gelf.h>
#include <cmocka.h>

#include "symbols/cfi.h"
#include "symbols/elf.h"

#define FIXTURE ".output/tests/fixtures/cfifixture"
#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

struct want {
	__u64 loc, end; /* the row's range */
	int kind; /* VG_CFI_*, or -1 for "an expression" (PLT or signal frame) */
	int cfa, rbp;
};

struct wants {
	struct want *v;
	size_t n, cap;
	__u64 *fde_ends;
	size_t nends, capends;
	__u64 (*fdes)[2];
	size_t nfdes, capfdes;
};

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 1024;
	v = realloc(v, *cap * size);
	assert_non_null(v);
	return v;
}

/* One readelf row: "LOC CFA col..." with the column names of its header. */
static struct want parse_row(char *line, char cols[][8], int ncols)
{
	struct want w = { 0 };
	char *save = NULL, *tok = strtok_r(line, " \t\n", &save);
	const char *cfa = NULL;
	bool ra_other = false;

	w.loc = strtoull(tok, NULL, 16);
	for (int c = 0; c < ncols && (tok = strtok_r(NULL, " \t\n", &save)); c++) {
		if (tok[0] == '(') {
			c--; /* "r3 (rbx)": one column */
			continue;
		}
		if (!strcmp(cols[c], "CFA"))
			cfa = tok;
		else if (!strcmp(cols[c], "rbp") && tok[0] == 'c')
			w.rbp = atoi(tok + 1) / 8;
		else if (!strcmp(cols[c], "ra") && !strcmp(tok, "u"))
			w.kind = VG_CFI_END;
		else if (!strcmp(cols[c], "ra") && strcmp(tok, "c-8"))
			ra_other = true; /* in a register (vfork): not followed */
	}
	assert_non_null(cfa);
	if (w.kind == VG_CFI_END) {
		w.rbp = 0;
		return w;
	}
	if (ra_other) {
		w.kind = VG_CFI_OTHER;
	} else if (!strncmp(cfa, "rsp+", 4)) {
		w.kind = VG_CFI_RSP;
		w.cfa = atoi(cfa + 4);
	} else if (!strncmp(cfa, "rbp+", 4)) {
		w.kind = VG_CFI_RBP;
		w.cfa = atoi(cfa + 4);
	} else if (!strcmp(cfa, "exp")) {
		w.kind = -1;
	} else {
		w.kind = VG_CFI_OTHER;
	}
	return w;
}

/* Everything readelf says about the .eh_frame of file. */
static void readelf_rows(const char *file, struct wants *ws)
{
	char cmd[512], line[1024], cols[32][8];
	struct want cie_rows[64], cur_cie = { 0 };
	__u64 cie_off[64], start = 0, end = 0;
	int ncols = 0, ncie = 0, in_fde = 0, fde_rows = 0, cie_row = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf --debug-dump=frames-interp '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		unsigned long long off, cie;
		char *save = NULL, *t;

		if (strstr(line, "Contents of the .debug_frame"))
			break;
		if (strstr(line, " CIE ")) {
			if (in_fde && !fde_rows) {
				ws->v = grow(ws->v, &ws->cap, ws->n, sizeof(*ws->v));
				cur_cie.loc = start;
				cur_cie.end = end;
				ws->v[ws->n++] = cur_cie;
			}
			if (in_fde) {
				ws->fde_ends =
					grow(ws->fde_ends, &ws->capends, ws->nends, sizeof(__u64));
				ws->fde_ends[ws->nends++] = end;
			}
			in_fde = 0;
			cie_row = -1;
			if (ncie < 64) {
				cie_off[ncie] = strtoull(line, NULL, 16);
				cie_row = ncie++;
			}
			continue;
		}
		if (strstr(line, " FDE ")) {
			/* An FDE with no instructions has the CIE's initial row. */
			if (in_fde && !fde_rows) {
				ws->v = grow(ws->v, &ws->cap, ws->n, sizeof(*ws->v));
				cur_cie.loc = start;
				cur_cie.end = end;
				ws->v[ws->n++] = cur_cie;
			}
			if (in_fde) {
				ws->fde_ends =
					grow(ws->fde_ends, &ws->capends, ws->nends, sizeof(__u64));
				ws->fde_ends[ws->nends++] = end;
			}
			assert_int_equal(sscanf(strstr(line, "cie="), "cie=%llx", &cie), 1);
			assert_int_equal(sscanf(strstr(line, "pc="), "pc=%llx..%llx", &off,
						(unsigned long long *)&end),
					 2);
			start = off;
			ws->fdes = grow(ws->fdes, &ws->capfdes, ws->nfdes, sizeof(*ws->fdes));
			ws->fdes[ws->nfdes][0] = start;
			ws->fdes[ws->nfdes++][1] = end;
			for (int i = 0; i < ncie; i++)
				if (cie_off[i] == cie)
					cur_cie = cie_rows[i];
			in_fde = 1;
			fde_rows = 0;
			continue;
		}
		if (strstr(line, "LOC")) {
			ncols = 0;
			t = strtok_r(line, " \t\n", &save);
			while ((t = strtok_r(NULL, " \t\n", &save)) && ncols < 32)
				snprintf(cols[ncols++], sizeof(cols[0]), "%s", t);
			continue;
		}
		if (!strchr("0123456789abcdef", line[0]) || strlen(line) < 17 || line[16] != ' ')
			continue;
		if (!in_fde) {
			/* The CIE's initial row. */
			if (cie_row >= 0)
				cie_rows[cie_row] = parse_row(line, cols, ncols);
			cie_row = -1;
			continue;
		}
		ws->v = grow(ws->v, &ws->cap, ws->n, sizeof(*ws->v));
		ws->v[ws->n] = parse_row(line, cols, ncols);
		if (fde_rows)
			ws->v[ws->n - 1].end = ws->v[ws->n].loc;
		ws->v[ws->n].end = end;
		ws->n++;
		fde_rows++;
	}
	if (in_fde) {
		if (!fde_rows) {
			ws->v = grow(ws->v, &ws->cap, ws->n, sizeof(*ws->v));
			cur_cie.loc = start;
			cur_cie.end = end;
			ws->v[ws->n++] = cur_cie;
		}
		ws->fde_ends = grow(ws->fde_ends, &ws->capends, ws->nends, sizeof(__u64));
		ws->fde_ends[ws->nends++] = end;
	}
	pclose(p);
}

struct file {
	int fd;
	Elf *e;
};

static void open_file(const char *path, struct file *f)
{
	elf_version(EV_CURRENT);
	f->fd = open(path, O_RDONLY);
	assert_true(f->fd >= 0);
	f->e = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(f->e);
}

static void close_file(struct file *f)
{
	elf_end(f->e);
	close(f->fd);
}

/* vaddr -> file offset through the executable segment, as the walker's tables are keyed. */
static int to_off(Elf *e, __u64 vaddr, __u64 *off)
{
	size_t n;

	elf_getphdrnum(e, &n);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		gelf_getphdr(e, (int)i, &ph);
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && vaddr >= ph.p_vaddr &&
		    vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -1;
}

static bool covered(const struct wants *ws, __u64 addr)
{
	for (size_t i = 0; i < ws->nfdes; i++)
		if (addr >= ws->fdes[i][0] && addr < ws->fdes[i][1])
			return true;
	return false;
}

static void check_at(const struct cfi_table *t, Elf *e, const struct want *w, __u64 addr)
{
	const struct vg_cfi_row *r;
	__u64 off;

	if (to_off(e, addr, &off))
		return;
	r = cfi_table__lookup(t, off);
	if (!r)
		fail_msg("no row at %#llx", (unsigned long long)addr);
	if (w->kind == -1) {
		if (r->kind != VG_CFI_PLT && r->kind != VG_CFI_SIGNAL)
			fail_msg("at %#llx: kind %u, want a PLT or signal row",
				 (unsigned long long)addr, r->kind);
		return;
	}
	if (r->kind != w->kind || (w->kind != VG_CFI_END && w->kind != VG_CFI_OTHER &&
				   (r->cfa != w->cfa || r->rbp != w->rbp)))
		fail_msg("at %#llx: row kind %u cfa %u rbp %d; readelf: kind %d cfa %d rbp %d",
			 (unsigned long long)addr, r->kind, r->cfa, r->rbp, w->kind, w->cfa,
			 w->rbp);
}

/* Every `step`-th FDE row of file at three addresses, and the gaps after FDEs. */
static void check_file(const char *path, size_t step, size_t *checked)
{
	struct wants ws = { 0 };
	struct cfi_table *t;
	struct file f;

	readelf_rows(path, &ws);
	assert_true(ws.n > 10);
	open_file(path, &f);
	t = cfi_table__build(f.e, NULL);
	assert_non_null(t);
	for (size_t i = 0; i < ws.n; i += step) {
		const struct want *w = &ws.v[i];

		if (w->end <= w->loc)
			continue;
		check_at(t, f.e, w, w->loc);
		check_at(t, f.e, w, w->loc + (w->end - w->loc) / 2);
		check_at(t, f.e, w, w->end - 1);
		*checked += 3;
	}
	for (size_t i = 0; i < ws.nends; i += step) {
		const struct vg_cfi_row *r;
		__u64 off;

		if (covered(&ws, ws.fde_ends[i]) || to_off(f.e, ws.fde_ends[i], &off))
			continue;
		r = cfi_table__lookup(t, off);
		if (r && r->kind != VG_CFI_NONE)
			fail_msg("past the FDE ending at %#llx: kind %u, want none",
				 (unsigned long long)ws.fde_ends[i], r->kind);
		(*checked)++;
	}
	cfi_table__free(t);
	close_file(&f);
	free(ws.v);
	free(ws.fde_ends);
	free(ws.fdes);
}

static void test_fixture_rows_match_readelf(void **state)
{
	size_t checked = 0;

	(void)state;
	check_file(FIXTURE, 1, &checked);
	assert_true(checked > 60);
}

static void test_libc_rows_match_readelf(void **state)
{
	size_t checked = 0;

	(void)state;
	if (access(LIBC, R_OK))
		skip();
	check_file(LIBC, 3, &checked);
	assert_true(checked > 20000);
}

/* libc's special frames: the signal trampoline, clone's child, the PLT. */
static void test_libc_special_rows(void **state)
{
	size_t kinds[8] = { 0 };
	struct cfi_table *t;
	struct file f;

	(void)state;
	if (access(LIBC, R_OK))
		skip();
	open_file(LIBC, &f);
	t = cfi_table__build(f.e, NULL);
	assert_non_null(t);
	for (size_t i = 0; i < cfi_table__nr_rows(t); i++)
		kinds[cfi_table__rows(t)[i].kind]++;
	assert_true(kinds[VG_CFI_SIGNAL] >= 1);
	assert_true(kinds[VG_CFI_END] >= 1);
	assert_true(kinds[VG_CFI_PLT] >= 1);
	assert_true(kinds[VG_CFI_RSP] > 10000);
	/* Rows sorted, page index consistent: each page's row is the one in force at its start. */
	for (size_t i = 1; i < cfi_table__nr_rows(t); i++)
		assert_true(cfi_table__rows(t)[i - 1].off < cfi_table__rows(t)[i].off);
	for (size_t p = 0; p < cfi_table__nr_pages(t); p++) {
		__u64 at = (__u64)(cfi_table__first_page(t) + p) << VG_CFI_PAGE_SHIFT;
		__u32 r = cfi_table__pages(t)[p];

		assert_true(r < cfi_table__nr_rows(t));
		assert_true(cfi_table__rows(t)[r].off <= at || r == 0);
		assert_true(r + 1 == cfi_table__nr_rows(t) || cfi_table__rows(t)[r + 1].off > at);
	}
	/* 8 bytes a row: libc's whole table in about a quarter MiB. */
	assert_true(cfi_table__bytes(t) < 400 * 1024);
	cfi_table__free(t);
	close_file(&f);
}

/* FDE extents: sorted, and the ones readelf lists. */
static void test_fde_ranges(void **state)
{
	struct wants ws = { 0 };
	struct cfi_range *r = NULL;
	struct file f;
	size_t n = 0, found = 0;

	(void)state;
	readelf_rows(FIXTURE, &ws);
	open_file(FIXTURE, &f);
	assert_int_equal(cfi__fde_ranges(f.e, &r, &n), 0);
	assert_int_equal(n, ws.nfdes);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(r[i - 1].start <= r[i].start);
		for (size_t j = 0; j < ws.nfdes; j++)
			found += r[i].start == ws.fdes[j][0] && r[i].end == ws.fdes[j][1];
	}
	assert_int_equal(found, n);
	free(r);
	close_file(&f);
	free(ws.v);
	free(ws.fde_ends);
	free(ws.fdes);
}

static void test_no_cfi(void **state)
{
	/* A relocatable object built without unwind tables has no CFI: ENOENT, not a crash. */
	char obj[] = "/tmp/vigil-test-cfi-XXXXXX";
	char cmd[256];
	struct file f;
	int fd = mkstemp(obj);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(
		cmd, sizeof(cmd),
		"echo 'int f(int x){return x+1;}' | cc -x c -c -O2 -fno-asynchronous-unwind-tables "
		"-fno-unwind-tables -o %s - 2>/dev/null",
		obj);
	if (system(cmd)) {
		unlink(obj);
		skip();
	}
	open_file(obj, &f);
	errno = 0;
	assert_null(cfi_table__build(f.e, NULL));
	assert_int_equal(errno, ENOENT);
	close_file(&f);
	unlink(obj);
}

/* A stripped copy of the fixture: addresses inside its functions name the FDE's start. */
static void test_stripped_code_named_by_fde(void **state)
{
	char stripped[] = "/tmp/vigil-test-cfi-strip-XXXXXX", cmd[512], line[256];
	unsigned long long addr = 0;
	struct elf_file *f;
	struct elf_symbol s;
	__u64 start;
	FILE *p;
	int fd = mkstemp(stripped);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "strip --strip-all -o %s %s", stripped, FIXTURE);
	assert_int_equal(system(cmd), 0);
	p = popen("nm " FIXTURE " | grep ' T cfi_many$'", "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	addr = strtoull(line, NULL, 16);
	f = elf_file__open(stripped, NULL);
	assert_non_null(f);
	/* No symbol covers the middle of cfi_many any more (it was local to .symtab)... */
	assert_int_not_equal(elf_file__lookup(f, addr + 20, &s), 0);
	/* ...but its FDE does, for every byte of it. */
	assert_int_equal(elf_file__enclosing(f, addr + 20, &start), 0);
	assert_int_equal(start, addr);
	assert_int_equal(elf_file__enclosing(f, addr, &start), 0);
	assert_int_equal(start, addr);
	elf_file__free(f);
	unlink(stripped);
}

/*
 * A shared object of four functions whose CFI names register `reg` (in the CIE's initial
 * instructions when in_cie, else in each FDE's program); the table it gives (NULL: errno).
 */
static struct cfi_table *build_with_register(unsigned long reg, bool in_cie)
{
	char src[] = "/tmp/vigil-test-cfi-reg-XXXXXX", so[64], cmd[512];
	struct cfi_table *t;
	struct file f;
	FILE *out;
	int fd = mkstemp(src), err;

	assert_true(fd >= 0);
	out = fdopen(fd, "w");
	assert_non_null(out);
	for (int i = 0; i < 4; i++)
		fprintf(out,
			".text\n.globl f%d\nf%d:\n.cfi_startproc\n%s.cfi_undefined %lu\nnop\nret\n"
			".cfi_endproc\n",
			i, i, in_cie ? "" : "nop\n", reg);
	fclose(out);
	snprintf(so, sizeof(so), "%s.so", src);
	snprintf(cmd, sizeof(cmd), "cc -x assembler -shared -nostdlib -o %s %s 2>/dev/null", so,
		 src);
	if (system(cmd)) {
		unlink(src);
		skip();
	}
	open_file(so, &f);
	errno = 0;
	t = cfi_table__build(f.e, NULL);
	err = errno;
	close_file(&f);
	unlink(src);
	unlink(so);
	errno = err;
	return t;
}

/*
 * libdw sizes a frame's register array by the highest register number a CFI program names, so a
 * program naming register 100,000,000 made it allocate (and clear) 1.6 GB per row (fuzz_cfi found
 * a 2 GB one). Such a file gets no table (EINVAL, the frame-pointer fallback), quickly; the same
 * file naming a real register (17, %xmm0) gets one.
 */
static void test_huge_register_number_refused(void **state)
{
	struct cfi_table *t;

	(void)state;
	t = build_with_register(17, false);
	assert_non_null(t);
	assert_true(cfi_table__nr_rows(t) >= 1);
	cfi_table__free(t);
	assert_null(build_with_register(100000000, false));
	assert_int_equal(errno, EINVAL);
	assert_null(build_with_register(100000000, true));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_rows_match_readelf),
		cmocka_unit_test(test_libc_rows_match_readelf),
		cmocka_unit_test(test_libc_special_rows),
		cmocka_unit_test(test_fde_ranges),
		cmocka_unit_test(test_no_cfi),
		cmocka_unit_test(test_stripped_code_named_by_fde),
		cmocka_unit_test(test_huge_register_number_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
