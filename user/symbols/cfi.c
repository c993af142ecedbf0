// SPDX-License-Identifier: GPL-2.0
/*
 * .eh_frame / .debug_frame to unwind rows. libdw interprets the CFI programs (dwarf_cfi_addrframe
 * gives the row in force at an address and its extent); this file only enumerates the FDEs (to know
 * where code with CFI starts) and turns each libdw row into the walker's 8-byte form.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <gelf.h>
#include <elfutils/libdw.h>

#include "symbols/cfi.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16
#define MAX_CIES 64

struct cfi_table {
	struct vg_cfi_row *rows;
	size_t n, cap;
	__u32 *pages;
	size_t npages;
	__u32 first_page;
	const char *source;
};

/* The walker's lookup, over one table's own arrays. */
#define VG_STEP_CTX const struct cfi_table
static inline const struct vg_cfi_row *vg_step_row(VG_STEP_CTX *c, __u32 idx)
{
	return idx < c->n ? &c->rows[idx] : NULL;
}
static inline const __u32 *vg_step_page(VG_STEP_CTX *c, __u32 idx)
{
	return idx < c->npages ? &c->pages[idx] : NULL;
}
static inline const struct vg_cfi_table *vg_step_table(VG_STEP_CTX *c, __u32 id)
{
	(void)c;
	(void)id;
	return NULL;
}
static inline long vg_step_read(VG_STEP_CTX *c, void *dst, __u32 size, __u64 addr)
{
	(void)c;
	(void)dst;
	(void)size;
	(void)addr;
	return -1;
}
static inline struct vg_row_cache_ent *vg_step_cache(VG_STEP_CTX *c)
{
	(void)c;
	return NULL;
}
#include "vigil/unwind_step.h"

/* ---- sections and segments ---- */

static Elf_Scn *find_section(Elf *e, const char *name, GElf_Shdr *sh)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(e, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(e, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(e, shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* vaddr -> file offset through an executable PT_LOAD segment; false when none holds it. */
static bool vaddr_to_off(Elf *e, __u64 vaddr, __u64 *off)
{
	size_t n;

	if (elf_getphdrnum(e, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

/* ---- FDE enumeration ---- */

struct cie_enc {
	Dwarf_Off off;
	__u8 enc; /* DW_EH_PE_* of initial_location and address_range */
	bool z; /* 'z' augmentation: FDEs carry augmentation data before their instructions */
	bool ok;
	bool sane; /* its initial instructions passed program_sane() */
};

static int enc_size(__u8 enc, bool is64)
{
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
		return is64 ? 8 : 4;
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		return 2;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		return 4;
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		return 8;
	default:
		return -1; /* LEB128 or unknown: not used for FDE addresses in practice */
	}
}

/* Reads a pointer encoded as enc at p (whose address is field_vaddr). false when unsupported. */
static bool read_encoded(const __u8 *p, const __u8 *end, __u8 enc, bool is64, __u64 field_vaddr,
			 bool rel, __u64 *out)
{
	int size = enc_size(enc, is64);
	__u64 v = 0;

	if (enc == DW_EH_PE_omit || size < 0 || p + size > end)
		return false;
	memcpy(&v, p, (size_t)size); /* little-endian x86-64 */
	switch (enc & 0x0f) {
	case DW_EH_PE_sdata2:
		v = (__u64)(__s64)(__s16)v;
		break;
	case DW_EH_PE_sdata4:
		v = (__u64)(__s64)(__s32)v;
		break;
	case DW_EH_PE_absptr:
		if (!is64)
			v = (__u32)v;
		break;
	default:
		break;
	}
	if (rel) {
		switch (enc & 0x70) {
		case DW_EH_PE_absptr:
			break;
		case DW_EH_PE_pcrel:
			v += field_vaddr;
			break;
		default:
			return false; /* datarel, textrel, funcrel, aligned: not used on x86-64 */
		}
	}
	*out = v;
	return true;
}

static void skip_uleb(const __u8 **p, const __u8 *end)
{
	while (*p < end && (*(*p)++ & 0x80))
		;
}

/* A ULEB128 at *p; false when it runs past end. Bits past 64 are dropped (the value is then huge). */
static bool read_uleb(const __u8 **p, const __u8 *end, __u64 *v)
{
	unsigned int shift = 0;

	*v = 0;
	while (*p < end) {
		__u8 b = *(*p)++;

		if (shift < 64)
			*v |= (__u64)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * Whether a CFI program (a CIE's initial instructions or an FDE's) names only registers an x86-64
 * unwinder knows (DWARF numbers below 256: 0-16 general and return address, 17-130 vector, x87,
 * flags, segment and mask registers) and decodes to its end. libdw grows a frame's register array
 * to the highest register number a program names before it looks at the number (up to 2 GiB for a
 * number near 2^27: fuzz_cfi found it), so a crafted or corrupt file mapped by a profiled process
 * could take gigabytes of vigil's memory. addr_size: DW_CFA_set_loc's operand (the FDE encoding's).
 */
#define CFI_MAX_REG 255
static bool program_sane(const __u8 *p, const __u8 *end, int addr_size)
{
	while (p < end) {
		__u8 op = *p++;
		__u64 reg = 0, len;
		bool ok = true;

		switch (op >> 6) {
		case 1: /* DW_CFA_advance_loc, DW_CFA_restore: the register is the low 6 bits */
		case 3:
			continue;
		case 2: /* DW_CFA_offset */
			ok = read_uleb(&p, end, &len);
			break;
		default:
			switch (op) {
			case DW_CFA_nop:
			case DW_CFA_remember_state:
			case DW_CFA_restore_state:
			case DW_CFA_GNU_window_save:
				break;
			case DW_CFA_set_loc:
				ok = addr_size > 0 && end - p >= addr_size;
				p += ok ? addr_size : 0;
				break;
			case DW_CFA_advance_loc1:
			case DW_CFA_advance_loc2:
			case DW_CFA_advance_loc4:
			case DW_CFA_MIPS_advance_loc8: {
				int n = op == DW_CFA_advance_loc1 ? 1 :
					op == DW_CFA_advance_loc2 ? 2 :
					op == DW_CFA_advance_loc4 ? 4 :
								    8;

				ok = end - p >= n;
				p += ok ? n : 0;
				break;
			}
			case DW_CFA_def_cfa_offset:
			case DW_CFA_def_cfa_offset_sf:
			case DW_CFA_GNU_args_size:
				ok = read_uleb(&p, end, &len); /* an SLEB128 has the same extent */
				break;
			case DW_CFA_restore_extended:
			case DW_CFA_undefined:
			case DW_CFA_same_value:
			case DW_CFA_def_cfa_register:
				ok = read_uleb(&p, end, &reg);
				break;
			case DW_CFA_offset_extended:
			case DW_CFA_offset_extended_sf:
			case DW_CFA_val_offset:
			case DW_CFA_val_offset_sf:
			case DW_CFA_def_cfa:
			case DW_CFA_def_cfa_sf:
			case DW_CFA_GNU_negative_offset_extended:
				ok = read_uleb(&p, end, &reg) && read_uleb(&p, end, &len);
				break;
			case DW_CFA_register: {
				__u64 reg2;

				ok = read_uleb(&p, end, &reg) && read_uleb(&p, end, &reg2);
				if (reg2 > reg)
					reg = reg2;
				break;
			}
			case DW_CFA_def_cfa_expression:
				ok = read_uleb(&p, end, &len) && len <= (__u64)(end - p);
				p += ok ? len : 0;
				break;
			case DW_CFA_expression:
			case DW_CFA_val_expression:
				ok = read_uleb(&p, end, &reg) && read_uleb(&p, end, &len) &&
				     len <= (__u64)(end - p);
				p += ok ? len : 0;
				break;
			default:
				return false; /* an opcode libdw refuses too */
			}
		}
		if (!ok || reg > CFI_MAX_REG)
			return false;
	}
	return true;
}

/* The FDE pointer encoding of the CIE at offset off (from its augmentation: 'R'). */
static bool cie_encoding(const unsigned char *ident, Elf_Data *d, bool eh, Dwarf_Off off, bool is64,
			 __u8 *enc, bool *z, bool *sane)
{
	Dwarf_CFI_Entry ent;
	Dwarf_Off next;
	const __u8 *a, *aend;
	const char *aug;

	if (dwarf_next_cfi(ident, d, eh, off, &next, &ent) || !dwarf_cfi_cie_p(&ent))
		return false;
	aug = ent.cie.augmentation;
	*enc = DW_EH_PE_absptr;
	*z = aug && aug[0] == 'z';
	*sane = program_sane(ent.cie.initial_instructions, ent.cie.initial_instructions_end,
			     is64 ? 8 : 4);
	if (!aug || aug[0] != 'z')
		return !aug || !aug[0] || !eh; /* no augmentation data: absolute pointers */
	a = ent.cie.augmentation_data;
	aend = a + ent.cie.augmentation_data_size;
	for (const char *c = aug + 1; *c && a <= aend; c++) {
		int size;

		switch (*c) {
		case 'R':
			if (a >= aend)
				return false;
			*enc = *a++;
			break;
		case 'L':
			a++;
			break;
		case 'P':
			if (a >= aend)
				return false;
			if ((*a & 0x0f) == DW_EH_PE_uleb128) {
				a++;
				skip_uleb(&a, aend);
				break;
			}
			size = enc_size(*a, is64);
			if (size < 0)
				return false;
			a += 1 + size;
			break;
		case 'S':
		case 'B':
		case 'G':
			break;
		default:
			return true; /* unknown augmentation: 'z' gave its size, R came first if present */
		}
	}
	return true;
}

struct ranges {
	struct cfi_range *v;
	size_t n, cap;
};

static int ranges_push(struct ranges *r, __u64 start, __u64 end)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct cfi_range *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct cfi_range){ start, end };
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct cfi_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Every FDE of one CFI section (e's own, or debug's .debug_frame), sorted by start. */
static int section_fdes(Elf *e, const char *name, struct ranges *out)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(e, NULL);
	struct cie_enc cies[MAX_CIES];
	bool eh = !strcmp(name, ".eh_frame"), is64;
	size_t ncies = 0;
	Dwarf_Off off = 0, next;
	Elf_Data *d;
	Elf_Scn *scn;
	GElf_Shdr sh;

	if (!ident)
		return -EINVAL;
	is64 = ident[EI_CLASS] == ELFCLASS64;
	scn = find_section(e, name, &sh);
	if (!scn)
		return 0;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf)
		return 0;
	for (; off < d->d_size; off = next) {
		Dwarf_CFI_Entry ent;
		const __u8 *p, *end;
		__u64 start, len, aug_len;
		struct cie_enc cie;
		__u8 enc;
		size_t i;
		int r = dwarf_next_cfi(ident, d, eh, off, &next, &ent);

		if (r)
			break; /* 1: the end; -1: malformed from here on */
		if (dwarf_cfi_cie_p(&ent))
			continue;
		for (i = 0; i < ncies && cies[i].off != ent.fde.CIE_pointer; i++)
			;
		if (i < ncies) {
			cie = cies[i];
		} else {
			cie.off = ent.fde.CIE_pointer;
			cie.ok = cie_encoding(ident, d, eh, cie.off, is64, &cie.enc, &cie.z,
					      &cie.sane);
			if (ncies < MAX_CIES)
				cies[ncies++] = cie;
		}
		if (!cie.ok)
			continue;
		if (!cie.sane)
			return -EINVAL; /* libdw runs it for each of its FDEs: refuse the section */
		enc = cie.enc;
		p = ent.fde.start;
		end = ent.fde.end;
		if (!read_encoded(p, end, enc, is64,
				  sh.sh_addr + (__u64)(p - (const __u8 *)d->d_buf), true, &start))
			continue;
		p += enc_size(enc, is64);
		if (!read_encoded(p, end, enc & 0x0f, is64, 0, false, &len) || !len ||
		    start + len < start)
			continue;
		p += enc_size(enc & 0x0f, is64);
		if (cie.z && (!read_uleb(&p, end, &aug_len) || aug_len > (__u64)(end - p)))
			continue;
		if (cie.z)
			p += aug_len;
		if (!program_sane(p, end, enc_size(enc, is64)))
			return -EINVAL; /* see program_sane(): no table from this file */
		if (ranges_push(out, start, start + len))
			return -ENOMEM;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_range);
	return 0;
}

int cfi__fde_ranges(Elf *e, struct cfi_range **out, size_t *n)
{
	struct ranges r = { 0 };
	int err = section_fdes(e, ".eh_frame", &r);

	if (!err && !r.n)
		err = section_fdes(e, ".debug_frame", &r);
	if (err) {
		free(r.v);
		return err;
	}
	*out = r.v;
	*n = r.n;
	return 0;
}

/* ---- rows ---- */

static int push_row(struct cfi_table *t, const struct vg_cfi_row *row)
{
	if (t->n && t->rows[t->n - 1].off == row->off) {
		t->rows[t->n - 1] = *row; /* an empty row (a zero-length FDE): the later one wins */
		goto merge;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct vg_cfi_row *v = realloc(t->rows, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->rows = v;
		t->cap = cap;
	}
	t->rows[t->n++] = *row;
merge:
	/* Consecutive rows that say the same thing are one row. */
	if (t->n >= 2) {
		const struct vg_cfi_row *a = &t->rows[t->n - 2], *b = &t->rows[t->n - 1];

		if (a->kind == b->kind && a->rbp == b->rbp && a->cfa == b->cfa)
			t->n--;
	}
	return 0;
}

/* DW_OP_bregN off (libdw gives DW_OP_bregx for def_cfa): register and offset. */
static bool breg(const Dwarf_Op *op, int *reg, __s64 *off)
{
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*reg = op->atom - DW_OP_breg0;
		*off = (__s64)op->number;
		return true;
	}
	if (op->atom == DW_OP_bregx) {
		*reg = (int)op->number;
		*off = (__s64)op->number2;
		return true;
	}
	return false;
}

/*
 * The PLT's CFA expression as binutils writes it: rsp + 8 + ((rip & 15) >= N ? 8 : 0), i.e.
 * breg7 8; breg16 0; lit15; and; litN; ge; lit3; shl; plus. Returns N, or -1.
 */
static int plt_threshold(const Dwarf_Op *ops, size_t n)
{
	int reg;
	__s64 off;

	if (n != 9 || !breg(&ops[0], &reg, &off) || reg != REG_RSP || off != 8 ||
	    !breg(&ops[1], &reg, &off) || reg != REG_RA || off != 0 || ops[2].atom != DW_OP_lit15 ||
	    ops[3].atom != DW_OP_and || ops[4].atom < DW_OP_lit0 || ops[4].atom > DW_OP_lit31 ||
	    ops[5].atom != DW_OP_ge || ops[6].atom != DW_OP_lit3 || ops[7].atom != DW_OP_shl ||
	    ops[8].atom != DW_OP_plus)
		return -1;
	return ops[4].atom - DW_OP_lit0;
}

/* Saved at CFA + off: DW_OP_call_frame_cfa; DW_OP_plus_uconst off (libdw's form of offset(N)). */
static bool cfa_offset_rule(const Dwarf_Op *ops, size_t n, __s64 *off)
{
	if (n == 1 && ops[0].atom == DW_OP_call_frame_cfa) {
		*off = 0;
		return true;
	}
	if (n == 2 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_plus_uconst) {
		*off = (__s64)ops[1].number;
		return true;
	}
	return false;
}

/* One libdw frame state to a row (without its offset). */
static void convert(Dwarf_Frame *f, bool signal, struct vg_cfi_row *row)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	int reg, thr;
	__s64 off;

	row->kind = VG_CFI_OTHER;
	row->rbp = 0;
	row->cfa = 0;
	if (dwarf_frame_register(f, REG_RA, mem, &ops, &n))
		return;
	if (n == 0 && ops == mem) {
		row->kind = VG_CFI_END; /* return address undefined */
		return;
	}
	if (dwarf_frame_cfa(f, &ops, &n) || !n)
		return;
	if (signal) {
		/* The kernel's rt_sigframe: CFA = [rsp + 160], the saved rsp of the ucontext. */
		if (n == 2 && breg(&ops[0], &reg, &off) && reg == REG_RSP &&
		    off == VG_UCONTEXT_RSP && ops[1].atom == DW_OP_deref)
			row->kind = VG_CFI_SIGNAL;
		return;
	}
	if (n == 1 && breg(&ops[0], &reg, &off) && (reg == REG_RSP || reg == REG_RBP)) {
		if (off <= 0 || off > 0xffff)
			return;
		row->kind = reg == REG_RSP ? VG_CFI_RSP : VG_CFI_RBP;
		row->cfa = (__u16)off;
	} else if ((thr = plt_threshold(ops, n)) >= 0) {
		row->kind = VG_CFI_PLT;
		row->cfa = (__u16)thr;
	} else {
		return;
	}
	/* The return address must be where the ABI puts it. */
	if (dwarf_frame_register(f, REG_RA, mem, &ops, &n) || !cfa_offset_rule(ops, n, &off) ||
	    off != -8) {
		row->kind = VG_CFI_OTHER;
		return;
	}
	if (dwarf_frame_register(f, REG_RBP, mem, &ops, &n))
		return;
	if (n == 0)
		return; /* same value, or undefined: the walker keeps the current rbp */
	if (!cfa_offset_rule(ops, n, &off) || (off & 7) || off / 8 < -128 || off / 8 > 127 ||
	    !off) {
		row->kind = VG_CFI_OTHER;
		return;
	}
	row->rbp = (__s8)(off / 8);
}

static int fde_rows(struct cfi_table *t, Elf *e, Dwarf_CFI *cfi, const struct cfi_range *r,
		    __u64 next_start)
{
	__u64 a = r->start, off;
	struct vg_cfi_row row;
	int err;

	while (a < r->end) {
		Dwarf_Frame *f = NULL;
		Dwarf_Addr s, end;
		bool signal = false;

		if (dwarf_cfi_addrframe(cfi, a, &f) || dwarf_frame_info(f, &s, &end, &signal) < 0 ||
		    end <= a) {
			free(f);
			row = (struct vg_cfi_row){ .kind = VG_CFI_OTHER };
			end = r->end;
		} else {
			convert(f, signal, &row);
			free(f);
			if (end > r->end)
				end = r->end;
		}
		if (vaddr_to_off(e, a, &off) && off <= 0xffffffffu) {
			row.off = (__u32)off;
			err = push_row(t, &row);
			if (err)
				return err;
		}
		a = end;
	}
	/* An end marker unless the next FDE starts right here. */
	if (next_start > r->end && vaddr_to_off(e, r->end, &off) && off <= 0xffffffffu) {
		row = (struct vg_cfi_row){ .off = (__u32)off, .kind = VG_CFI_NONE };
		return push_row(t, &row);
	}
	return 0;
}

static int build_pages(struct cfi_table *t)
{
	__u32 last, row = 0;

	t->first_page = t->rows[0].off >> VG_CFI_PAGE_SHIFT;
	last = t->rows[t->n - 1].off >> VG_CFI_PAGE_SHIFT;
	t->npages = (size_t)last - t->first_page + 1;
	t->pages = malloc(t->npages * sizeof(*t->pages));
	if (!t->pages)
		return -ENOMEM;
	for (size_t p = 0; p < t->npages; p++) {
		__u64 page_off = (__u64)(t->first_page + p) << VG_CFI_PAGE_SHIFT;

		while (row + 1 < t->n && t->rows[row + 1].off <= page_off)
			row++;
		t->pages[p] = row;
	}
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct vg_cfi_row *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Rows from one CFI source: cfi over FDE extents r (sorted). */
static int build_rows(struct cfi_table *t, Elf *e, Dwarf_CFI *cfi, const struct ranges *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct cfi_range cur = r->v[i];
		__u64 next = i + 1 < r->n ? r->v[i + 1].start : ~0ULL;
		int err;

		if (i && cur.start < r->v[i - 1].end)
			cur.start = r->v[i - 1].end; /* overlapping FDEs: the first one wins */
		if (cur.start >= cur.end)
			continue;
		err = fde_rows(t, e, cfi, &cur, next);
		if (err)
			return err;
	}
	/* Offsets follow addresses within a segment; across segments they may not: sort. */
	if (t->n > 1)
		qsort(t->rows, t->n, sizeof(*t->rows), cmp_row);
	return 0;
}

struct cfi_table *cfi_table__build(Elf *e, Elf *debug)
{
	struct cfi_table *t = calloc(1, sizeof(*t));
	struct ranges r = { 0 };
	Dwarf_CFI *cfi = NULL;
	Dwarf *dw = NULL;
	GElf_Ehdr eh;
	int err = -ENOENT;

	if (!t)
		return NULL;
	if (!gelf_getehdr(e, &eh) || eh.e_machine != EM_X86_64) {
		err = -EINVAL;
		goto fail;
	}
	err = section_fdes(e, ".eh_frame", &r);
	if (err)
		goto fail;
	if (r.n >= 4) {
		cfi = dwarf_getcfi_elf(e);
		t->source = ".eh_frame";
	} else {
		/* Nearly empty .eh_frame: the file's own .debug_frame, else its debug file's. */
		Elf *src = find_section(e, ".debug_frame", &(GElf_Shdr){ 0 }) ? e : debug;

		r.n = 0;
		if (src && !(err = section_fdes(src, ".debug_frame", &r)) && r.n) {
			dw = dwarf_begin_elf(src, DWARF_C_READ, NULL);
			cfi = dw ? dwarf_getcfi(dw) : NULL;
			t->source = ".debug_frame";
		}
		if (err)
			goto fail;
	}
	err = -ENOENT;
	if (!cfi)
		goto fail;
	err = build_rows(t, e, cfi, &r);
	if (!err && !t->n)
		err = -ENOENT;
	if (!err)
		err = build_pages(t);
	if (err)
		goto fail;
	if (dw)
		dwarf_end(dw);
	else
		dwarf_cfi_end(cfi);
	free(r.v);
	return t;
fail:
	if (dw)
		dwarf_end(dw);
	else if (cfi)
		dwarf_cfi_end(cfi);
	free(r.v);
	cfi_table__free(t);
	errno = -err;
	return NULL;
}

void cfi_table__free(struct cfi_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->pages);
	free(t);
}

size_t cfi_table__nr_rows(const struct cfi_table *t)
{
	return t->n;
}

const struct vg_cfi_row *cfi_table__rows(const struct cfi_table *t)
{
	return t->rows;
}

size_t cfi_table__nr_pages(const struct cfi_table *t)
{
	return t->npages;
}

__u32 cfi_table__first_page(const struct cfi_table *t)
{
	return t->first_page;
}

const __u32 *cfi_table__pages(const struct cfi_table *t)
{
	return t->pages;
}

size_t cfi_table__bytes(const struct cfi_table *t)
{
	return t->n * sizeof(*t->rows) + t->npages * sizeof(*t->pages);
}

const char *cfi_table__source(const struct cfi_table *t)
{
	return t->source;
}

const struct vg_cfi_row *cfi_table__lookup(const struct cfi_table *t, __u64 off)
{
	struct vg_cfi_table desc = {
		.nrows = (__u32)t->n,
		.npages = (__u32)t->npages,
		.first_page = t->first_page,
	};

	return vg_find_row(t, &desc, off);
}
