/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One step of the user-stack walk: from a frame's registers (pc, sp, bp) to its caller's. The same
 * source runs in BPF (bpf/unwind.bpf.h) and in userspace (user/symbols/cfi.c for lookups, the unit
 * tests for whole walks), so what the tests check is what the kernel runs.
 *
 * Before including it, define VG_STEP_CTX (a type) and four functions over it:
 *   const struct vg_cfi_row *vg_step_row(VG_STEP_CTX *c, __u32 idx);     row idx of the row array
 *   const __u32 *vg_step_page(VG_STEP_CTX *c, __u32 idx);                entry idx of the page index
 *   const struct vg_cfi_table *vg_step_table(VG_STEP_CTX *c, __u32 id);  table id
 *   long vg_step_read(VG_STEP_CTX *c, void *dst, __u32 size, __u64 addr); the walked task's memory
 *   struct vg_row_cache_ent *vg_step_cache(VG_STEP_CTX *c);  VG_ROW_CACHE entries, or NULL: none
 * each returning NULL (or non-zero) on failure. Bounded loops only: the BPF verifier must see an end.
 */
#ifndef VIGIL_UNWIND_STEP_H
#define VIGIL_UNWIND_STEP_H

#include "vigil/unwind.h"

#define VG_STEP_OK 0 /* regs now hold the caller's frame */
#define VG_STEP_END 1 /* the outermost frame (return address undefined, or 0): stack complete */
#define VG_STEP_NO_MAP 2 /* the caller's pc is outside every executable mapping: not a frame */
#define VG_STEP_FAULT 3 /* the stack could not be read */
#define VG_STEP_BAD 4 /* not a frame: the stack does not grow, a misaligned or non-user address */

/*
 * The searches are branch-free but for their exits: each probe moves the base by (half * ge), ge
 * computed arithmetically (addresses and offsets are below 2^63, so the sign of a difference tells
 * the order). A branch per probe would double the paths the BPF verifier walks at every probe.
 */
static __always_inline __u64 vg_ge(__u64 a, __u64 b) /* 1 when a >= b */
{
	return 1 - ((a - b) >> 63);
}

/* Index of the mapping holding pc, or -1. At most 8 probes for VG_UNWIND_MAX_MAPS = 256. */
static __always_inline int vg_find_map(const struct vg_unwind_proc *p, __u64 pc)
{
	const struct vg_unwind_map *m;
	__u32 base = 0, len = p->n;

	if (len > VG_UNWIND_MAX_MAPS)
		len = VG_UNWIND_MAX_MAPS;
	if (!len)
		return -1;
	for (int i = 0; i < 9; i++) {
		__u32 half = len / 2;

		if (!half)
			break;
		m = &p->maps[(base + half) & (VG_UNWIND_MAX_MAPS - 1)];
		base += half * (__u32)vg_ge(pc, m->start);
		len -= half;
	}
	m = &p->maps[base & (VG_UNWIND_MAX_MAPS - 1)];
	return pc >= m->start && pc < m->end ? (int)base : -1;
}

/*
 * The row in force at file offset off: the last row starting at or before it. The page index names
 * the row in force at the first byte of each page, so the search only spans one page's rows (at most
 * 4097: 13 probes). NULL when off is before the table's first row. *end: where the row stops holding
 * (the next row's offset; 0xffffffff for the last row).
 */
static __always_inline const struct vg_cfi_row *
vg_find_row_end(VG_STEP_CTX *c, const struct vg_cfi_table *t, __u64 off, __u32 *end)
{
	const struct vg_cfi_row *r, *next;
	__u64 page = off >> VG_CFI_PAGE_SHIFT;
	const __u32 *pe;
	__u32 base, len, p, hi;

	*end = 0xffffffffu;
	if (!t->nrows || page < t->first_page)
		return NULL;
	if (page - t->first_page >= t->npages)
		return vg_step_row(c,
				   t->row_start + t->nrows - 1); /* the last row: an end marker */
	p = (__u32)(page - t->first_page);
	pe = vg_step_page(c, t->page_start + p);
	if (!pe)
		return NULL;
	base = *pe;
	hi = t->nrows - 1;
	if (p + 1 < t->npages) {
		pe = vg_step_page(c, t->page_start + p + 1);
		if (!pe)
			return NULL;
		hi = *pe;
	}
	if (hi < base || hi >= t->nrows)
		return NULL;
	len = hi - base + 1;
	for (int i = 0; i < 14; i++) {
		__u32 half = len / 2;

		if (!half)
			break;
		r = vg_step_row(c, t->row_start + base + half);
		if (!r)
			return NULL;
		base += half * (__u32)vg_ge(off, r->off);
		len -= half;
	}
	r = vg_step_row(c, t->row_start + base);
	if (!r || r->off > off)
		return NULL;
	if (base + 1 < t->nrows) {
		next = vg_step_row(c, t->row_start + base + 1);
		if (!next)
			return NULL;
		*end = next->off;
	}
	return r;
}

static __always_inline const struct vg_cfi_row *vg_find_row(VG_STEP_CTX *c,
							    const struct vg_cfi_table *t, __u64 off)
{
	__u32 end;

	return vg_find_row_end(c, t, off, &end);
}

/*
 * Rows found, by (table, file offset): a 2-way set-associative cache the caller keeps across walks. The
 * frames of one process's samples mostly repeat (the same return addresses from main to the hot
 * code), and a hit is one entry, where a search reads a table descriptor, two page-index entries
 * and a handful of rows spread over the large row array. An entry keeps the range its row holds
 * for, and the set is chosen by the offset's 64-byte granule: the leaf's pc, exact and different
 * from sample to sample anywhere in the hot code, then mostly finds the row another sample's pc
 * near it found; two ways keep two rows of one granule (two call sites of a function). A miss goes
 * into the first way, the entry there moving to the second. Sound because a table id, once handed out, always names the same rows (the loader
 * only appends). A miss, no row included, is stored as a VG_CFI_NONE row for that one offset,
 * which the step treats as no row. (struct vg_row_cache_ent: vigil/unwind.h.)
 */
#define VG_ROW_CACHE_GRAIN 6

/* The set's first entry: an even index. */
static __always_inline __u32 vg_row_cache_slot(__u32 table, __u32 off)
{
	return ((((off >> VG_ROW_CACHE_GRAIN) ^ (table << 20)) * 2654435761u) >> 25 &
		(VG_ROW_CACHE / 2 - 1)) *
	       2;
}

static __always_inline bool vg_row_cache_has(const struct vg_row_cache_ent *e, __u32 table,
					     __u32 off)
{
	return e->table == table + 1 && e->row.off <= off && off < e->end;
}

/* The row for r's pc in process p, or NULL (no table, no row). */
static __always_inline const struct vg_cfi_row *
vg_row_for(VG_STEP_CTX *c, const struct vg_unwind_proc *p, const struct vg_regs *r)
{
	const struct vg_unwind_map *m;
	const struct vg_cfi_table *t;
	const struct vg_cfi_row *row;
	struct vg_row_cache_ent *e;
	__u64 look, off;
	__u32 end;

	if (r->map < 0)
		return NULL;
	m = &p->maps[r->map & (VG_UNWIND_MAX_MAPS - 1)];
	if (m->table == VG_CFI_NO_TABLE)
		return NULL;
	/* A return address is the byte after the call: the call itself belongs to the caller's row. */
	look = r->pc - (r->exact ? 0 : 1);
	if (look < m->start)
		return NULL;
	off = look - m->start + m->offset;
	e = off >> 32 ? NULL : vg_step_cache(c);
	if (e) {
		e += vg_row_cache_slot(m->table, (__u32)off);
		if (vg_row_cache_has(e, m->table, (__u32)off))
			return &e->row;
		if (vg_row_cache_has(e + 1, m->table, (__u32)off))
			return &e[1].row;
	}
	t = vg_step_table(c, m->table);
	if (!t)
		return NULL;
	row = vg_find_row_end(c, t, off, &end);
	if (e) {
		e[1] = e[0];
		e->table = m->table + 1;
		if (row && row->off <= (__u32)off && (__u32)off < end) {
			e->row = *row;
			e->end = end;
		} else {
			e->row.off = (__u32)off;
			e->row.kind = row ? row->kind : VG_CFI_NONE;
			e->row.rbp = row ? row->rbp : 0;
			e->row.cfa = row ? row->cfa : 0;
			e->end = (__u32)off + 1;
		}
	}
	return row;
}

/*
 * One step: p is the process's mapping table (NULL: unknown, walk by frame pointers without
 * checks); cfi false walks by frame pointers only (--unwind fp), still checked against p.
 * On VG_STEP_OK, r holds the caller, whose pc lies in an executable mapping of p.
 */
static __always_inline int vg_unwind_step(VG_STEP_CTX *c, const struct vg_unwind_proc *p, bool cfi,
					  struct vg_regs *r)
{
	const struct vg_cfi_row *row = p && cfi ? vg_row_for(c, p, r) : NULL;
	__u32 kind = row ? row->kind : VG_CFI_NONE;
	__u64 cfa, ra = 0, sp = 0, bp = r->bp;
	int idx = -1;

	switch (kind) {
	case VG_CFI_END:
		return VG_STEP_END;
	case VG_CFI_SIGNAL:
		if (vg_step_read(c, &bp, sizeof(bp), r->sp + VG_UCONTEXT_RBP) ||
		    vg_step_read(c, &sp, sizeof(sp), r->sp + VG_UCONTEXT_RSP) ||
		    vg_step_read(c, &ra, sizeof(ra), r->sp + VG_UCONTEXT_RIP))
			return VG_STEP_FAULT;
		if (!sp || sp >= VG_USER_TOP)
			return VG_STEP_BAD;
		break;
	case VG_CFI_RSP:
	case VG_CFI_RBP:
	case VG_CFI_PLT:
		if (kind == VG_CFI_RSP)
			cfa = r->sp + row->cfa;
		else if (kind == VG_CFI_RBP)
			cfa = r->bp + row->cfa;
		else
			cfa = r->sp + 8 + ((r->pc & 15) >= row->cfa ? 8 : 0);
		if (cfa <= r->sp || cfa >= VG_USER_TOP)
			return VG_STEP_BAD;
		if (vg_step_read(c, &ra, sizeof(ra), cfa - 8))
			return VG_STEP_FAULT;
		if (row->rbp && vg_step_read(c, &bp, sizeof(bp), cfa + (__s64)row->rbp * 8))
			return VG_STEP_FAULT;
		sp = cfa;
		break;
	default: {
		/* No row (or one the walker cannot follow): the frame-pointer record at bp. */
		__u64 fr[2];

		if (!r->bp)
			return VG_STEP_END;
		if ((r->bp & 7) || r->bp < r->sp || r->bp >= VG_USER_TOP - sizeof(fr))
			return VG_STEP_BAD;
		if (vg_step_read(c, fr, sizeof(fr), r->bp))
			return VG_STEP_FAULT;
		bp = fr[0];
		ra = fr[1];
		sp = r->bp + sizeof(fr);
		r->fp_frames++;
		break;
	}
	}
	if (!ra)
		return VG_STEP_END;
	if (ra >= VG_USER_TOP || (kind != VG_CFI_SIGNAL && sp <= r->sp))
		return VG_STEP_BAD;
	if (p) {
		/* Callers mostly run in the same file as their callee: try its mapping first. */
		const struct vg_unwind_map *m = &p->maps[r->map & (VG_UNWIND_MAX_MAPS - 1)];

		if (r->map >= 0 && ra >= m->start && ra < m->end)
			idx = r->map;
		else
			idx = vg_find_map(p, ra);
		if (idx < 0)
			return VG_STEP_NO_MAP;
	}
	r->map = idx;
	r->pc = ra;
	r->sp = sp;
	r->bp = bp;
	r->exact = kind == VG_CFI_SIGNAL;
	return VG_STEP_OK;
}

#endif
