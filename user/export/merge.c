// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/merge.h"
#include "model/hashmap.h"

struct builder {
	struct merged *m;
	struct hashmap *name_idx; /* display name -> index */
	struct hashmap *stack_idx; /* struct merged_stack * (by names) -> index */
	size_t cap_names, cap_stacks;
};

static uint64_t stack_hash(const void *key, void *ctx)
{
	const struct merged_stack *s = key;

	(void)ctx;
	return hash_bytes(s->names, s->n * sizeof(__u32), s->n);
}

static bool stack_equal(const void *a, const void *b, void *ctx)
{
	const struct merged_stack *x = a, *y = b;

	(void)ctx;
	return x->n == y->n && !memcmp(x->names, y->names, x->n * sizeof(__u32));
}

/* The display form of a name: no ';' (the folded separator) and no line breaks. */
static char *display(const char *name, bool kernel_suffix)
{
	size_t n = strlen(name);
	char *s = malloc(n + 5);

	if (!s)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		s[i] = name[i] == ';' ? ':' : (name[i] == '\n' || name[i] == '\r') ? ' ' : name[i];
	if (kernel_suffix)
		memcpy(s + n, "_[k]", 5);
	return s;
}

/* Index of a display name, adding it. -1 on allocation failure. */
static long name_index(struct builder *b, const char *name, bool ksuffix, __u8 kind,
		       const char *module)
{
	struct merged *m = b->m;
	char *d = display(name, ksuffix);
	uintptr_t v;

	if (!d)
		return -1;
	if (hashmap__get(b->name_idx, d, &v)) {
		free(d);
		return (long)v;
	}
	if (m->nr_names == b->cap_names) {
		size_t cap = b->cap_names ? b->cap_names * 2 : 256;
		char **n = realloc(m->names, cap * sizeof(*n)), **mod;
		__u8 *k;

		if (!n)
			goto nomem;
		m->names = n;
		k = realloc(m->kinds, cap);
		if (!k)
			goto nomem;
		m->kinds = k;
		mod = realloc(m->modules, cap * sizeof(*mod));
		if (!mod)
			goto nomem;
		m->modules = mod;
		b->cap_names = cap;
	}
	m->modules[m->nr_names] = strdup(module ? module : "");
	if (!m->modules[m->nr_names] || hashmap__set(b->name_idx, d, m->nr_names)) {
		free(m->modules[m->nr_names]);
		goto nomem;
	}
	m->names[m->nr_names] = d;
	m->kinds[m->nr_names] = kind;
	return (long)m->nr_names++;
nomem:
	free(d);
	return -1;
}

/* "func (file.c:42)": the file's base name, as perf's srcline shows it. */
static long line_name(struct builder *b, const struct profile_line *l, __u8 kind,
		      const char *module)
{
	const char *base = strrchr(l->file, '/');
	char name[1024];

	base = base ? base + 1 : l->file;
	if (*base && l->line)
		snprintf(name, sizeof(name), "%s (%s:%u)", l->function, base, l->line);
	else if (*base)
		snprintf(name, sizeof(name), "%s (%s)", l->function, base);
	else
		snprintf(name, sizeof(name), "%s", l->function);
	return name_index(b, name, false, kind, module);
}

static int cmp_stacks(const void *a, const void *b, void *ctx)
{
	const struct merged_stack *x = a, *y = b;
	char *const *names = ctx;

	for (__u32 i = 0; i < x->n && i < y->n; i++) {
		int c = strcmp(names[x->names[i]], names[y->names[i]]);

		if (c)
			return c;
	}
	return x->n < y->n ? -1 : x->n > y->n;
}

int merged__build(struct merged *m, const struct profile *p, const struct export_opts *o)
{
	struct builder b = { .m = m };
	bool ksuffix = o && o->annotate_kernel, per_thread = o && o->per_thread,
	     lines = o && o->lines;
	__u32 *buf = NULL;
	size_t cap = 0;
	int err = -ENOMEM;

	memset(m, 0, sizeof(*m));
	b.name_idx = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	b.stack_idx = hashmap__new(stack_hash, stack_equal, NULL);
	if (!b.name_idx || !b.stack_idx)
		goto out;
	for (size_t i = 0; i < profile__nr_stacks(p); i++) {
		const struct profile_stack *s = profile__stack(p, i);
		__u64 w = profile__weight(p, s);
		struct merged_stack key, *slot;
		char root[64];
		uintptr_t v;
		long idx;

		if (!w)
			continue;
		size_t need = 1, n = 1;

		for (__u32 k = 0; k < s->nframes; k++) {
			const struct profile_frame *f = profile__frame(p, s->frames[k]);

			need += lines && f->nlines ? f->nlines : 1;
		}
		if (cap < need) {
			__u32 *nb = realloc(buf, need * sizeof(*buf));

			if (!nb)
				goto out;
			buf = nb;
			cap = need;
		}
		if (per_thread)
			snprintf(root, sizeof(root), "%s-%u", s->comm, s->tid);
		else
			snprintf(root, sizeof(root), "%s", s->comm);
		idx = name_index(&b, root, false, MERGE_KIND_PROCESS, "");
		if (idx < 0)
			goto out;
		buf[0] = (__u32)idx;
		for (__u32 k = 0; k < s->nframes; k++) {
			const struct profile_frame *f = profile__frame(p, s->frames[k]);

			if (lines && f->nlines) {
				/* Root first: the outermost function, then what was inlined into it. */
				for (__u32 l = f->nlines; l-- > 0;) {
					idx = line_name(&b, &f->lines[l], f->kind, f->module);
					if (idx < 0)
						goto out;
					buf[n++] = (__u32)idx;
				}
				continue;
			}
			idx = name_index(&b, f->name, ksuffix && f->kind == FRAME_KERNEL, f->kind,
					 f->module);
			if (idx < 0)
				goto out;
			buf[n++] = (__u32)idx;
		}
		key.n = (__u32)n;
		key.names = buf;
		m->total_weight += w;
		if (hashmap__get(b.stack_idx, &key, &v)) {
			slot = &m->stacks[v];
			slot->weight += w;
			slot->count += s->count;
			slot->value += s->value;
			continue;
		}
		if (m->nr_stacks == b.cap_stacks) {
			size_t nc = b.cap_stacks ? b.cap_stacks * 2 : 256;
			struct merged_stack *ns = realloc(m->stacks, nc * sizeof(*ns));

			if (!ns)
				goto out;
			/* The map keys point into the array: re-key after the move. */
			m->stacks = ns;
			b.cap_stacks = nc;
			hashmap__free(b.stack_idx);
			b.stack_idx = hashmap__new(stack_hash, stack_equal, NULL);
			if (!b.stack_idx)
				goto out;
			for (size_t k = 0; k < m->nr_stacks; k++)
				if (hashmap__set(b.stack_idx, &m->stacks[k], k))
					goto out;
		}
		slot = &m->stacks[m->nr_stacks];
		slot->n = key.n;
		slot->names = malloc(key.n * sizeof(__u32));
		if (!slot->names)
			goto out;
		memcpy(slot->names, buf, key.n * sizeof(__u32));
		slot->weight = w;
		slot->count = s->count;
		slot->value = s->value;
		if (hashmap__set(b.stack_idx, slot, m->nr_stacks)) {
			free(slot->names);
			goto out;
		}
		m->nr_stacks++;
	}
	if (m->nr_stacks > 1)
		qsort_r(m->stacks, m->nr_stacks, sizeof(*m->stacks), cmp_stacks, m->names);
	err = 0;
out:
	free(buf);
	hashmap__free(b.name_idx);
	hashmap__free(b.stack_idx);
	if (err)
		merged__release(m);
	return err;
}

void merged__release(struct merged *m)
{
	for (size_t i = 0; i < m->nr_names; i++) {
		free(m->names[i]);
		free(m->modules[i]);
	}
	for (size_t i = 0; i < m->nr_stacks; i++)
		free(m->stacks[i].names);
	free(m->names);
	free(m->kinds);
	free(m->modules);
	free(m->stacks);
	memset(m, 0, sizeof(*m));
}
