// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/kallsyms parsing. The text is kept and names are NUL-terminated in place, so loading ~200k
 * lines costs one read, one pass and (only when the input is out of order) one sort.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/hashmap.h"
#include "symbols/kallsyms.h"
#include "symbols/procmaps.h"

enum ksym_kind { KSYM_TEXT, KSYM_BOUNDARY };

/*
 * One kallsyms line; after loading, only text symbols remain (one per address), in the same array:
 * a single allocation keeps page faults, which dominate the cost of touching fresh memory, down.
 */
struct ksym {
	__u64 addr, end;
	__u32 name; /* offset into ksyms.text; increases with input order */
	__u16 mod;
	char type;
	__u8 kind;
};

struct kmod {
	const char *name; /* "[ext4]" */
	char *owned; /* name when it came from /proc/modules */
	__u64 base, limit;
	bool sized; /* base and limit come from /proc/modules */
	bool seen; /* has at least one text symbol */
};

struct ksyms {
	char *text;
	struct ksym *syms;
	size_t n;
	struct kmod *mods;
	size_t nmods, capmods;
	struct hashmap *mod_idx; /* "[name]" -> index + 1 */
	__u64 stext;
	size_t zero_addrs; /* text symbols listed at address 0 */
};

static inline int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool is_text_type(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

/* Symbols that mark where text ends: boundaries, never functions. */
static bool is_end_marker(const char *name)
{
	return name[0] == '_' && name[1] == 'e' &&
	       (!strcmp(name, "_etext") || !strcmp(name, "_einittext"));
}

static int add_module(struct ksyms *k, const char *name, char *owned, __u32 *idx)
{
	uintptr_t v;
	int err;

	if (hashmap__get(k->mod_idx, name, &v)) {
		*idx = (__u32)(v - 1);
		free(owned);
		return 0;
	}
	if (k->nmods > 0xffff)
		goto too_many;
	if (k->nmods == k->capmods) {
		size_t cap = k->capmods ? k->capmods * 2 : 16;
		struct kmod *m = realloc(k->mods, cap * sizeof(*m));

		if (!m) {
			free(owned);
			return -ENOMEM;
		}
		k->mods = m;
		k->capmods = cap;
	}
	memset(&k->mods[k->nmods], 0, sizeof(k->mods[0]));
	k->mods[k->nmods].name = name;
	k->mods[k->nmods].owned = owned;
	err = hashmap__set(k->mod_idx, name, k->nmods + 1);
	if (err) {
		free(owned);
		return err;
	}
	*idx = (__u32)k->nmods++;
	return 0;
too_many:
	free(owned);
	return -E2BIG;
}

/* /proc/modules: "ext4 1069056 1 - Live 0xffffffffc0532000 (E)". */
static int parse_modules(struct ksyms *k, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		char name[64], state[32], refs[32], deps[512];
		unsigned long long size, base;
		char line[1024], *owned;
		size_t l = (size_t)(le - p);
		__u32 idx;
		int err;

		if (l < sizeof(line)) {
			memcpy(line, p, l);
			line[l] = '\0';
			if (sscanf(line, "%63s %llu %31s %511s %31s %llx", name, &size, refs, deps,
				   state, &base) == 6 &&
			    base && size && base + size > base) {
				if (asprintf(&owned, "[%s]", name) < 0)
					return -ENOMEM;
				err = add_module(k, owned, owned, &idx);
				if (err)
					return err;
				k->mods[idx].base = base;
				k->mods[idx].limit = base + size;
				k->mods[idx].sized = true;
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name ? 1 : 0;
}

static int underscores(const char *s)
{
	int n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

/* Which of two symbols at one address names it: <0 when a is the better name. */
static int prefer(const char *a, char ta, const char *b, char tb)
{
	int ua = underscores(a), ub = underscores(b);
	bool ga = ta >= 'A' && ta <= 'Z', gb = tb >= 'A' && tb <= 'Z';
	size_t la, lb;

	if (ua != ub)
		return ua < ub ? -1 : 1;
	if (ga != gb)
		return ga ? -1 : 1;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* Parses text in place (names get NUL-terminated) into k->syms, one entry per symbol line. */
static int parse_lines(struct ksyms *k, size_t len)
{
	char *p = k->text, *end = k->text + len;
	size_t cap = 1, n = 0;
	struct ksym *r;
	int err;

	for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))); q++)
		cap++;
	r = malloc(cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	procmaps__prefault(r, cap * sizeof(*r));
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		char *q = p, *name, *ne, type;
		__u64 addr = 0;
		__u32 mod = 0;
		int d, digits = 0;

		while (q < le && (d = hexval((unsigned char)*q)) >= 0 && digits < 16) {
			addr = addr << 4 | (__u64)d;
			q++;
			digits++;
		}
		if (!digits || le - q < 4 || q[0] != ' ' || q[2] != ' ')
			goto next;
		type = q[1];
		name = q + 3;
		ne = name;
		while (ne < le && *ne != '\t' && *ne != ' ')
			ne++;
		if (ne == name)
			goto next;
		if (ne < le) {
			/* "\t[module]" */
			char *ms = ne + 1, *me;

			while (ms < le && (*ms == ' ' || *ms == '\t'))
				ms++;
			me = ms < le && *ms == '[' ? memchr(ms, ']', (size_t)(le - ms)) : NULL;
			if (me) {
				/* The buffer holds len + 1 bytes, so me[1] is always writable. */
				me[1] = '\0';
				err = add_module(k, ms, NULL, &mod);
				if (err)
					goto fail;
			}
		}
		*ne = '\0';
		if (!addr && is_text_type(type))
			k->zero_addrs++;
		if (!addr || type == 'a' || type == 'A' || type == 'U' || type == 'u')
			goto next;
		r[n].addr = addr;
		r[n].end = 0;
		r[n].name = (__u32)(name - k->text);
		r[n].mod = (__u16)mod;
		r[n].type = type;
		r[n].kind = is_text_type(type) && !is_end_marker(name) ? KSYM_TEXT : KSYM_BOUNDARY;
		if (!mod && !k->stext && name[0] == '_' && !strcmp(name, "_stext"))
			k->stext = addr;
		n++;
next:
		if (!nl)
			break;
		p = nl + 1;
	}
	k->syms = r;
	k->n = n;
	return 0;
fail:
	free(r);
	return err;
}

/* Sets each text symbol's end: see the header for the rules. */
static int compute_ends(struct ksyms *k)
{
	struct ksym *r = k->syms;
	size_t n = k->n;
	__u64 *next = calloc(k->nmods ? k->nmods : 1, sizeof(*next));
	size_t i = n;

	if (!next)
		return -ENOMEM;
	while (i > 0) {
		size_t j = i - 1;

		/* r[j..i) share one address. */
		while (j > 0 && r[j - 1].addr == r[i - 1].addr)
			j--;
		for (size_t x = j; x < i; x++) {
			const struct kmod *m = &k->mods[r[x].mod];
			__u64 a = r[x].addr, e = next[r[x].mod];

			if (r[x].kind != KSYM_TEXT)
				continue;
			if (m->sized && a >= m->base && a < m->limit) {
				if (!e || e > m->limit)
					e = m->limit;
			} else if (!e) {
				/* Last of its region and no extent known: perf's page rule. */
				e = ((a + 4095) & ~4095ULL) + 4096;
				if (e < a)
					e = ~0ULL;
			}
			r[x].end = e;
		}
		for (size_t x = j; x < i; x++)
			next[r[x].mod] = r[x].addr;
		i = j;
	}
	free(next);
	return 0;
}

static struct ksyms *parse_owned(char *text, size_t len, const char *modules, size_t modules_len)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	size_t n = 0;
	__u32 core;
	int err = -ENOMEM;

	if (!k) {
		free(text);
		errno = ENOMEM;
		return NULL;
	}
	k->text = text;
	k->mod_idx = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	if (!k->mod_idx)
		goto fail;
	err = add_module(k, KSYMS_KERNEL_MODULE, NULL, &core);
	if (err)
		goto fail;
	if (modules) {
		err = parse_modules(k, modules, modules_len);
		if (err)
			goto fail;
	}
	err = parse_lines(k, len);
	if (err)
		goto fail;
	for (size_t i = 1; i < k->n; i++) {
		if (k->syms[i - 1].addr > k->syms[i].addr) {
			qsort(k->syms, k->n, sizeof(*k->syms), cmp_ksym);
			break;
		}
	}
	err = compute_ends(k);
	if (err)
		goto fail;
	/* Keep text symbols, one per address, compacting in place. */
	for (size_t i = 0; i < k->n; i++) {
		struct ksym *r = &k->syms[i], *last = n ? &k->syms[n - 1] : NULL;

		if (r->kind != KSYM_TEXT)
			continue;
		if (last && last->addr == r->addr) {
			if (prefer(k->text + r->name, r->type, k->text + last->name, last->type) <
			    0) {
				last->name = r->name;
				last->mod = r->mod;
				last->type = r->type;
			}
			if (r->end > last->end)
				last->end = r->end;
			continue;
		}
		k->syms[n++] = *r;
	}
	k->n = n;
	/* Regions: the core kernel starts at _stext; unsized modules span their symbols. */
	for (size_t i = 0; i < k->n; i++) {
		struct kmod *m = &k->mods[k->syms[i].mod];

		if (!m->sized) {
			if (!m->seen || k->syms[i].addr < m->base)
				m->base = k->syms[i].addr;
			if (k->syms[i].end > m->limit)
				m->limit = k->syms[i].end;
		}
		m->seen = true;
	}
	if (k->stext && k->mods[core].seen && !k->mods[core].sized &&
	    k->stext < k->mods[core].limit)
		k->mods[core].base = k->stext;
	if (!k->n && k->zero_addrs) {
		/* Lines but no addresses: kptr_restrict hides them from this user. */
		err = -EPERM;
		goto fail;
	}
	return k;
fail:
	ksyms__free(k);
	errno = -err;
	return NULL;
}

struct ksyms *ksyms__parse(const char *kallsyms, size_t len, const char *modules,
			   size_t modules_len)
{
	char *text = malloc(len + 1);

	if (!text) {
		errno = ENOMEM;
		return NULL;
	}
	procmaps__prefault(text, len + 1);
	memcpy(text, kallsyms, len);
	text[len] = '\0';
	return parse_owned(text, len, modules, modules_len);
}

struct ksyms *ksyms__load(const char *kallsyms_path, const char *modules_path)
{
	char *text, *mods = NULL;
	size_t len, mlen = 0;
	struct ksyms *k;
	int err;

	text = procmaps__slurp(kallsyms_path, &len);
	if (!text)
		return NULL;
	if (modules_path)
		mods = procmaps__slurp(modules_path, &mlen);
	k = parse_owned(text, len, mods, mlen);
	err = errno;
	free(mods);
	errno = err;
	return k;
}

void ksyms__free(struct ksyms *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nmods; i++)
		free(k->mods[i].owned);
	free(k->mods);
	hashmap__free(k->mod_idx);
	free(k->syms);
	free(k->text);
	free(k);
}

static bool module_extent(const struct ksyms *k, __u64 addr, struct ksym_info *out)
{
	for (size_t i = 1; i < k->nmods; i++) {
		const struct kmod *m = &k->mods[i];

		if (m->sized && addr >= m->base && addr < m->limit) {
			memset(out, 0, sizeof(*out));
			out->module = m->name;
			out->base = m->base;
			out->limit = m->limit;
			return true;
		}
	}
	return false;
}

int ksyms__lookup(const struct ksyms *k, __u64 addr, struct ksym_info *out)
{
	size_t lo = 0, hi = k->n;
	const struct ksym *s;
	const struct kmod *m;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= k->syms[lo - 1].end)
		return module_extent(k, addr, out) ? 0 : -ENOENT;
	s = &k->syms[lo - 1];
	m = &k->mods[s->mod];
	out->name = k->text + s->name;
	out->module = m->name;
	out->sym_addr = s->addr;
	out->sym_end = s->end;
	out->base = m->base;
	out->limit = m->limit;
	return 0;
}

size_t ksyms__count(const struct ksyms *k)
{
	return k->n;
}

__u64 ksyms__addr(const struct ksyms *k, const char *name)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->text + k->syms[i].name, name))
			return k->syms[i].addr;
	return 0;
}
