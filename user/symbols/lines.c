// SPDX-License-Identifier: GPL-2.0
/* DWARF source lines through libdw (lines.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include "model/hashmap.h"
#include "symbols/demangle.h"
#include "symbols/lines.h"

struct cached {
	int n;
	struct src_line l[];
};

/* One address range of a compile unit. */
struct cu_range {
	__u64 start, end;
	Dwarf_Off cu; /* the CU DIE's offset */
};

/* One function scope of a CU: a concrete subprogram or inlined call, over one address range. */
struct fn_scope {
	__u64 lo, hi;
	Dwarf_Off die; /* DW_TAG_subprogram or DW_TAG_inlined_subroutine */
	__s32 parent; /* the enclosing function scope (the caller of an inlined call); -1 at the top */
	__u32 depth; /* DIE nesting depth: the deepest scope covering an address is the innermost */
	bool inlined;
	bool named; /* name looked up (it may still be NULL) */
	const char *name;
};

/* The function scopes of one CU, found in one walk of its DIE tree (dwarf_getscopes walks the
 * tree again for every address: 80% of the output time of a busy host's capture). */
struct cu_index {
	struct fn_scope *s;
	size_t n, cap;
};

#define MAX_DIE_DEPTH 64

struct line_table {
	int fd, debug_fd;
	bool opened; /* DWARF looked for (dw may still be NULL: none) */
	Dwarf *dw;
	/* CU ranges sorted by start: built from the CUs themselves, since clang emits no
	 * .debug_aranges (which dwarf_addrdie relies on in older libdw) */
	struct cu_range *ranges;
	size_t nranges;
	struct hashmap *cache; /* vaddr -> struct cached * */
	struct hashmap *cus; /* CU DIE offset -> struct cu_index * */
	struct hashmap *strings; /* interned (key == value, owned) */
};

struct line_table *line_table__new(int fd, int debug_fd)
{
	struct line_table *t = calloc(1, sizeof(*t));

	if (!t)
		goto fail;
	t->fd = fd;
	t->debug_fd = debug_fd;
	t->cache = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	t->strings = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	t->cus = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	if (!t->cache || !t->strings || !t->cus) {
		line_table__free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
fail:
	if (fd >= 0)
		close(fd);
	if (debug_fd >= 0)
		close(debug_fd);
	errno = ENOMEM;
	return NULL;
}

static int free_value(const void *key, uintptr_t value, void *arg)
{
	(void)key;
	(void)arg;
	free((void *)value);
	return 0;
}

static int free_key(const void *key, uintptr_t value, void *arg)
{
	(void)value;
	(void)arg;
	free((void *)key);
	return 0;
}

static int free_cu_index(const void *key, uintptr_t value, void *arg)
{
	struct cu_index *ci = (struct cu_index *)value;

	(void)key;
	(void)arg;
	if (ci)
		free(ci->s);
	free(ci);
	return 0;
}

void line_table__free(struct line_table *t)
{
	if (!t)
		return;
	if (t->dw)
		dwarf_end(t->dw);
	free(t->ranges);
	if (t->fd >= 0)
		close(t->fd);
	if (t->debug_fd >= 0)
		close(t->debug_fd);
	if (t->cache)
		hashmap__for_each(t->cache, free_value, NULL);
	if (t->strings)
		hashmap__for_each(t->strings, free_key, NULL);
	if (t->cus)
		hashmap__for_each(t->cus, free_cu_index, NULL);
	hashmap__free(t->cus);
	hashmap__free(t->cache);
	hashmap__free(t->strings);
	free(t);
}

static const char *intern(struct line_table *t, const char *s)
{
	uintptr_t v;
	char *copy;

	if (!s)
		return NULL;
	if (hashmap__get(t->strings, s, &v))
		return (const char *)v;
	copy = strdup(s);
	if (!copy || hashmap__set(t->strings, copy, (uintptr_t)copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

static int cmp_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/* Every CU's address ranges (DW_AT_low_pc/high_pc or DW_AT_ranges), sorted. */
static int index_cus(struct line_table *t)
{
	Dwarf_Off off = 0, next;
	size_t hsize, cap = 0;

	while (dwarf_nextcu(t->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		Dwarf_Addr base, start, end;
		ptrdiff_t it = 0;

		if (dwarf_offdie(t->dw, off + hsize, &cu)) {
			while ((it = dwarf_ranges(&cu, it, &base, &start, &end)) > 0) {
				if (end <= start)
					continue;
				if (t->nranges == cap) {
					size_t nc = cap ? cap * 2 : 64;
					struct cu_range *r = realloc(t->ranges, nc * sizeof(*r));

					if (!r)
						return -ENOMEM;
					t->ranges = r;
					cap = nc;
				}
				t->ranges[t->nranges++] =
					(struct cu_range){ start, end, off + hsize };
			}
		}
		off = next;
	}
	if (t->nranges > 1)
		qsort(t->ranges, t->nranges, sizeof(*t->ranges), cmp_range);
	return 0;
}

/* The file's own DWARF, else its debug file's; none is fine. */
static void open_dwarf(struct line_table *t)
{
	t->opened = true;
	if (t->fd >= 0)
		t->dw = dwarf_begin(t->fd, DWARF_C_READ);
	if (!t->dw && t->debug_fd >= 0)
		t->dw = dwarf_begin(t->debug_fd, DWARF_C_READ);
	if (t->dw && index_cus(t)) {
		dwarf_end(t->dw);
		t->dw = NULL;
	}
}

/* The CU covering vaddr: the last range starting at or below it that contains it. */
static bool find_cu(struct line_table *t, __u64 vaddr, Dwarf_Die *cu)
{
	size_t lo = 0, hi = t->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->ranges[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges of different CUs do not overlap in sane DWARF; look back a little anyway. */
	for (size_t i = lo; i-- > 0 && lo - i <= 8;)
		if (vaddr >= t->ranges[i].start && vaddr < t->ranges[i].end)
			return dwarf_offdie(t->dw, t->ranges[i].cu, cu) != NULL;
	return dwarf_addrdie(t->dw, vaddr, cu) != NULL;
}

/* A function DIE's name: the linkage name demangled (C++: with its scope and parameters, as the
 * symbol table's names are shown), else DW_AT_name; through abstract origins (inlined copies). */
static const char *die_function(struct line_table *t, Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	char *dm;

	if (!link)
		link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	if (link && (dm = demangle__name(link))) {
		const char *s = intern(t, dm);

		free(dm);
		return s;
	}
	return intern(t, dwarf_diename(die));
}

/* DW_AT_call_file / DW_AT_call_line of an inlined call: where its caller made it. */
static void call_site(struct line_table *t, Dwarf_Die *cu, Dwarf_Die *inl, const char **file,
		      __u32 *line)
{
	Dwarf_Attribute a;
	Dwarf_Word idx = 0, ln = 0;
	Dwarf_Files *files;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &a), &ln) == 0)
		*line = (__u32)ln;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &a), &idx) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && idx < nfiles)
		*file = intern(t, dwarf_filesrc(files, idx, NULL, NULL));
}

/* Adds die's address ranges as scopes; the index of the first, or parent when it has none. */
static int add_scopes(struct cu_index *ci, Dwarf_Die *die, bool inlined, __s32 parent, __u32 depth)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t it = 0;
	int first = parent;

	while ((it = dwarf_ranges(die, it, &base, &lo, &hi)) > 0) {
		if (hi <= lo)
			continue;
		if (ci->n == ci->cap) {
			size_t nc = ci->cap ? ci->cap * 2 : 32;
			struct fn_scope *ns = realloc(ci->s, nc * sizeof(*ns));

			if (!ns)
				return -ENOMEM;
			ci->s = ns;
			ci->cap = nc;
		}
		ci->s[ci->n] = (struct fn_scope){ .lo = lo,
						  .hi = hi,
						  .die = dwarf_dieoffset(die),
						  .parent = parent,
						  .depth = depth,
						  .inlined = inlined };
		if (first == parent)
			first = (int)ci->n;
		ci->n++;
	}
	return first;
}

/* Every concrete function scope of cu, in one walk of its DIE tree (bounded in depth). */
static struct cu_index *index_cu(Dwarf_Die *cu)
{
	struct cu_index *ci = calloc(1, sizeof(*ci));
	Dwarf_Die stack[MAX_DIE_DEPTH];
	__s32 encl[MAX_DIE_DEPTH]; /* the function scope enclosing level d */
	int d = 0;

	if (!ci)
		return NULL;
	if (dwarf_child(cu, &stack[0]) != 0)
		return ci;
	encl[0] = -1;
	for (;;) {
		int tag = dwarf_tag(&stack[d]);
		__s32 mine = encl[d];

		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			mine = add_scopes(ci, &stack[d], tag == DW_TAG_inlined_subroutine, encl[d],
					  (__u32)d);
			if (mine < -1) {
				free(ci->s);
				free(ci);
				return NULL;
			}
		}
		if (d + 1 < MAX_DIE_DEPTH && dwarf_haschildren(&stack[d]) &&
		    dwarf_child(&stack[d], &stack[d + 1]) == 0) {
			encl[++d] = mine;
			continue;
		}
		/* The next sibling here, else up a level (dwarf_siblingof: 0 found, 1 none). */
		while (d >= 0 && dwarf_siblingof(&stack[d], &stack[d]) != 0)
			d--;
		if (d < 0)
			break;
	}
	return ci;
}

static struct cu_index *cu_index_of(struct line_table *t, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	struct cu_index *ci;
	uintptr_t v;

	if (hashmap__get(t->cus, (const void *)(uintptr_t)off, &v))
		return (struct cu_index *)v;
	ci = index_cu(cu);
	if (ci && hashmap__set(t->cus, (const void *)(uintptr_t)off, (uintptr_t)ci)) {
		free(ci->s);
		free(ci);
		ci = NULL;
	}
	return ci;
}

static const char *scope_name(struct line_table *t, struct fn_scope *sc)
{
	Dwarf_Die die;

	if (!sc->named) {
		sc->named = true;
		sc->name = dwarf_offdie(t->dw, sc->die, &die) ? die_function(t, &die) : NULL;
	}
	return sc->name;
}

static int resolve(struct line_table *t, __u64 vaddr, struct src_line *out, int max)
{
	struct cu_index *ci;
	Dwarf_Die cu;
	Dwarf_Line *dl;
	const char *file = NULL;
	__u32 line = 0;
	int n = 0, in = -1;

	if (!find_cu(t, vaddr, &cu))
		return 0;
	dl = dwarf_getsrc_die(&cu, vaddr);
	if (dl) {
		int ln = 0;

		file = intern(t, dwarf_linesrc(dl, NULL, NULL));
		if (dwarf_lineno(dl, &ln) == 0 && ln > 0)
			line = (__u32)ln;
	}
	ci = cu_index_of(t, &cu);
	/* The innermost scope covering vaddr: the deepest in the DIE tree. */
	for (size_t i = 0; ci && i < ci->n; i++)
		if (vaddr >= ci->s[i].lo && vaddr < ci->s[i].hi &&
		    (in < 0 || ci->s[i].depth > ci->s[in].depth))
			in = (int)i;
	/*
	 * Innermost first: each inlined call gives its function at the current position, and moves
	 * the position to its call site in the caller (the enclosing scope); the real function ends
	 * the chain. Bounded (malformed DWARF); a chain deeper than max keeps its innermost max - 1
	 * entries and, in the last slot, the real function.
	 */
	for (int steps = 0; in >= 0 && steps < MAX_DIE_DEPTH; steps++) {
		struct fn_scope *sc = &ci->s[in];
		int at = n < max ? n++ : max - 1;
		Dwarf_Die die;

		out[at].function = scope_name(t, sc);
		out[at].file = file;
		out[at].line = line;
		if (!sc->inlined || !dwarf_offdie(t->dw, sc->die, &die))
			break;
		call_site(t, &cu, &die, &file, &line);
		in = sc->parent;
	}
	if (!n && (file || line) && max > 0) {
		/* A line with no function DIE around it (assembly): the line alone. */
		out[0] = (struct src_line){ NULL, file, line };
		n = 1;
	}
	return n;
}

int line_table__lookup(struct line_table *t, __u64 vaddr, struct src_line *out, int max)
{
	struct src_line tmp[LINES_MAX_INLINE];
	struct cached *c;
	uintptr_t v;
	int n;

	if (!t || max <= 0)
		return 0;
	if (hashmap__get(t->cache, (const void *)(uintptr_t)vaddr, &v)) {
		c = (struct cached *)v;
		n = c->n < max ? c->n : max;
		memcpy(out, c->l, n * sizeof(*out));
		return n;
	}
	if (!t->opened)
		open_dwarf(t);
	n = t->dw ? resolve(t, vaddr, tmp, LINES_MAX_INLINE) : 0;
	c = malloc(sizeof(*c) + n * sizeof(c->l[0]));
	if (c) {
		c->n = n;
		memcpy(c->l, tmp, n * sizeof(*tmp));
		if (hashmap__set(t->cache, (const void *)(uintptr_t)vaddr, (uintptr_t)c))
			free(c);
	}
	n = n < max ? n : max;
	memcpy(out, tmp, n * sizeof(*out));
	return n;
}
