// SPDX-License-Identifier: GPL-2.0
/*
 * The top-N table: functions (name + module) by self weight. A stack's self weight goes to its leaf:
 * the last code frame before a "--" separator (the waker part of an off-CPU stack is context, not
 * cost), skipping markers such as "[off-cpu]"; its total weight goes once to every distinct function in
 * that part of the stack, however often the function recurs in it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "model/hashmap.h"

#define NAME_MIN_WIDTH 8
#define NAME_MAX_WIDTH 64 /* longer names overflow the column rather than lose their ends */

struct fn {
	const char *name, *module; /* strings of the profile */
	__u64 self, total;
	__u64 self_count; /* counts of the stacks it is the leaf of (meta.count_column) */
	size_t seen; /* the last stack (index + 1) that added to total */
};

struct top {
	struct fn **fns; /* stable pointers: the map's keys */
	size_t n, cap;
	struct hashmap *idx; /* struct fn * -> index, by name and module */
};

static uint64_t fn_hash(const void *key, void *ctx)
{
	const struct fn *f = key;

	(void)ctx;
	return hash_bytes(f->module, strlen(f->module), hash_bytes(f->name, strlen(f->name), 3));
}

static bool fn_equal(const void *a, const void *b, void *ctx)
{
	const struct fn *x = a, *y = b;

	(void)ctx;
	return !strcmp(x->name, y->name) && !strcmp(x->module, y->module);
}

static struct fn *get_fn(struct top *t, const char *name, const char *module)
{
	struct fn key = { .name = name, .module = module ? module : "" }, *f;
	uintptr_t v;

	if (hashmap__get(t->idx, &key, &v))
		return t->fns[v];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct fn **fns = realloc(t->fns, cap * sizeof(*fns));

		if (!fns)
			return NULL;
		t->fns = fns;
		t->cap = cap;
	}
	f = malloc(sizeof(*f));
	if (!f)
		return NULL;
	*f = key;
	if (hashmap__set(t->idx, f, t->n)) {
		free(f);
		return NULL;
	}
	t->fns[t->n++] = f;
	return f;
}

static int cmp_self(const void *a, const void *b)
{
	const struct fn *x = *(const struct fn *const *)a, *y = *(const struct fn *const *)b;
	int c;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->module, y->module);
}

/* Add one stack's weight. The leaf is chosen as described at the top of the file. */
static int add_stack(struct top *t, const struct profile *p, const struct profile_stack *s,
		     size_t i)
{
	__u64 w = profile__weight(p, s);
	const struct profile_frame *leaf = NULL;
	__u32 end = s->nframes;
	struct fn *f;

	for (__u32 k = 0; k < s->nframes; k++) {
		const struct profile_frame *fr = profile__frame(p, s->frames[k]);

		if (fr->kind == FRAME_SPECIAL && !strcmp(fr->name, "--")) {
			end = k;
			break;
		}
	}
	for (__u32 k = 0; k < end; k++) {
		const struct profile_frame *fr = profile__frame(p, s->frames[k]);

		/* Markers are not functions; a stack of markers only is its own leaf. */
		if (fr->kind != FRAME_SPECIAL || !leaf || leaf->kind == FRAME_SPECIAL)
			leaf = fr;
		f = get_fn(t, fr->name, fr->module);
		if (!f)
			return -ENOMEM;
		if (f->seen != i + 1) {
			f->seen = i + 1;
			f->total += w;
		}
	}
	f = leaf ? get_fn(t, leaf->name, leaf->module) : get_fn(t, "[no stack]", "");
	if (!f)
		return -ENOMEM;
	if (!leaf)
		f->total += w;
	f->self += w;
	f->self_count += s->count;
	return 0;
}

static __u64 max_count(const struct top *t, size_t rows)
{
	__u64 m = 0;

	for (size_t i = 0; i < rows; i++)
		if (t->fns[i]->self_count > m)
			m = t->fns[i]->self_count;
	return m;
}

/* Names come from binaries anyone can write: control characters must not reach the terminal. */
static void put_clean(FILE *out, const char *s, int width)
{
	int n = 0;

	for (; *s; s++, n++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
	for (; n < width; n++)
		fputc(' ', out);
}

int export_top(const struct profile *p, FILE *out, unsigned int n)
{
	const struct profile_meta *meta = profile__meta(p);
	const char *unit = meta->weight_unit;
	__u64 total = profile__total_weight(p);
	struct top t = { 0 };
	size_t rows = 0;
	int name_w = NAME_MIN_WIDTH, num_w,
	    cnt_w = meta->count_column ? (int)strlen(meta->count_column) : 0;
	char num[32];
	int err = -ENOMEM;

	t.idx = hashmap__new(fn_hash, fn_equal, NULL);
	if (!t.idx)
		goto out;
	for (size_t i = 0; i < profile__nr_stacks(p); i++) {
		const struct profile_stack *s = profile__stack(p, i);

		if (!profile__weight(p, s))
			continue;
		err = add_stack(&t, p, s, i);
		if (err)
			goto out;
	}
	if (t.n > 1)
		qsort(t.fns, t.n, sizeof(*t.fns), cmp_self);
	while (rows < t.n && (!n || rows < n) && t.fns[rows]->self)
		rows++;

	/* Columns as wide as what they hold, within limits. */
	num_w = (int)strlen(unit);
	for (size_t i = 0; i < rows; i++) {
		int len = (int)strlen(t.fns[i]->name);

		if (len > name_w)
			name_w = len < NAME_MAX_WIDTH ? len : NAME_MAX_WIDTH;
	}
	snprintf(num, sizeof(num), "%llu", rows ? (unsigned long long)t.fns[0]->self : 0ull);
	if ((int)strlen(num) > num_w)
		num_w = (int)strlen(num);

	snprintf(num, sizeof(num), "%llu", (unsigned long long)max_count(&t, rows));
	if ((int)strlen(num) > cnt_w)
		cnt_w = (int)strlen(num);

	fprintf(out, "%7s %7s %*s  ", "SELF%", "TOTAL%", num_w, unit);
	if (meta->count_column)
		fprintf(out, "%*s %10s  ", cnt_w, meta->count_column, "avg");
	fprintf(out, "%-*s %s\n", name_w, "FUNCTION", "MODULE");
	for (size_t i = 0; i < rows; i++) {
		const struct fn *f = t.fns[i];

		fprintf(out, "%6.2f%% %6.2f%% %*llu  ", total ? 100.0 * f->self / total : 0.0,
			total ? 100.0 * f->total / total : 0.0, num_w, (unsigned long long)f->self);
		if (meta->count_column)
			fprintf(out, "%*llu %10.1f  ", cnt_w, (unsigned long long)f->self_count,
				f->self_count ? (double)f->self / f->self_count : 0.0);
		/* No trailing blanks when there is no module. */
		put_clean(out, f->name, *f->module ? name_w : 0);
		if (*f->module) {
			fputc(' ', out);
			put_clean(out, f->module, 0);
		}
		fputc('\n', out);
	}
	if (!rows)
		fprintf(out, "(no %s)\n", unit);
	err = ferror(out) ? -EIO : 0;
out:
	for (size_t i = 0; i < t.n; i++)
		free(t.fns[i]);
	free(t.fns);
	hashmap__free(t.idx);
	return err;
}
