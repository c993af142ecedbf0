// SPDX-License-Identifier: GPL-2.0
/*
 * The top-N table: functions by self weight. A stack's self weight goes to its leaf: the last code
 * frame before a "--" separator (wakers), past markers such as "[off-cpu]"; its total weight goes once
 * to every distinct function in that part of the stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "hashmap.h"

struct fn {
	const char *name, *module; /* interned in the profile: equal strings, equal pointers */
	__u64 self, total;
	__u64 seen; /* the last stack that counted this function's total, plus one */
};

struct top {
	struct fn *fns;
	size_t n, cap;
	struct hashmap *idx;
};

static uint64_t fn_hash(const void *key, void *ctx)
{
	const struct fn *f = key;
	uintptr_t parts[2] = { (uintptr_t)f->name, (uintptr_t)f->module };

	(void)ctx;
	return hash_bytes(parts, sizeof(parts), 3);
}

static bool fn_equal(const void *a, const void *b, void *ctx)
{
	const struct fn *x = a, *y = b;

	(void)ctx;
	return x->name == y->name && x->module == y->module;
}

static struct fn *get_fn(struct top *t, const char *name, const char *module)
{
	struct fn key = { .name = name, .module = module };
	uintptr_t v;

	if (hashmap__get(t->idx, &key, &v))
		return &t->fns[v];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct fn *f = realloc(t->fns, cap * sizeof(*f));

		if (!f)
			return NULL;
		t->fns = f;
		t->cap = cap;
		/* Keys point into the array: re-key after the move. */
		hashmap__free(t->idx);
		t->idx = hashmap__new(fn_hash, fn_equal, NULL);
		if (!t->idx)
			return NULL;
		for (size_t i = 0; i < t->n; i++)
			if (hashmap__set(t->idx, &t->fns[i], i))
				return NULL;
	}
	t->fns[t->n] = key;
	if (hashmap__set(t->idx, &t->fns[t->n], t->n))
		return NULL;
	return &t->fns[t->n++];
}

static int cmp_self(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->name, y->name);
}

int export_top(const struct profile *p, FILE *out, unsigned int n)
{
	struct top t = { 0 };
	__u64 total = profile__total_weight(p);
	const char *unit = profile__meta(p)->weight_unit;
	int err = -ENOMEM;

	t.idx = hashmap__new(fn_hash, fn_equal, NULL);
	if (!t.idx)
		goto out;
	for (size_t i = 0; i < profile__nr_stacks(p); i++) {
		const struct profile_stack *s = profile__stack(p, i);
		__u64 w = profile__weight(p, s);
		const struct profile_frame *leaf = NULL;
		__u32 end = s->nframes;
		struct fn *f;

		if (!w)
			continue;
		for (__u32 k = 0; k < s->nframes; k++) {
			const struct profile_frame *fr = profile__frame(p, s->frames[k]);

			if (fr->kind == FRAME_SPECIAL && !strcmp(fr->name, "--")) {
				end = k;
				break;
			}
		}
		for (__u32 k = 0; k < end; k++) {
			const struct profile_frame *fr = profile__frame(p, s->frames[k]);

			/* Markers ([off-cpu]) are not functions; a stack of markers only is its own. */
			if (fr->kind != FRAME_SPECIAL || !leaf || leaf->kind == FRAME_SPECIAL)
				leaf = fr;
			f = get_fn(&t, fr->name, fr->module);
			if (!f)
				goto out;
			if (f->seen != i + 1) {
				f->seen = i + 1;
				f->total += w;
			}
		}
		if (!leaf) {
			f = get_fn(&t, "[no stack]", "");
			if (!f)
				goto out;
			f->total += w;
		} else {
			f = get_fn(&t, leaf->name, leaf->module);
			if (!f)
				goto out;
		}
		f->self += w;
	}
	if (t.n > 1)
		qsort(t.fns, t.n, sizeof(*t.fns), cmp_self);
	fprintf(out, "%7s %7s %12s  %-48s %s\n", "SELF%", "TOTAL%", unit, "FUNCTION", "MODULE");
	for (size_t i = 0; i < t.n && (!n || i < n); i++) {
		const struct fn *f = &t.fns[i];

		if (!f->self)
			break;
		fprintf(out, "%6.2f%% %6.2f%% %12llu  %-48s %s\n",
			total ? 100.0 * f->self / total : 0, total ? 100.0 * f->total / total : 0,
			(unsigned long long)f->self, f->name, f->module);
	}
	if (!t.n)
		fprintf(out, "(no %s)\n", unit);
	err = ferror(out) ? -EIO : 0;
out:
	free(t.fns);
	hashmap__free(t.idx);
	return err;
}
