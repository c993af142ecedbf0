// SPDX-License-Identifier: GPL-2.0
/*
 * The top-N table: rows keyed by what --sort names (function, module, process, pid, in the order
 * given, as perf report --sort does), ranked by self weight. A stack's self weight goes to the row
 * of its leaf: the last code frame before a "--" separator (the waker part of an off-CPU stack is
 * context, not cost), skipping markers such as "[off-cpu]"; its total weight goes once to every
 * distinct row in that part of the stack, however often a function recurs in it. Keys without a
 * frame part (comm, pid) take the whole stack: self and total are its weight.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "export/json.h"
#include "model/hashmap.h"

#define NAME_MIN_WIDTH 8
#define NAME_MAX_WIDTH 64 /* longer names overflow the column rather than lose their ends */

struct row {
	const char *name, *module, *comm; /* strings of the profile ("" when not a key) */
	__u32 pid;
	__u64 self, total;
	__u64 self_count; /* counts of the stacks it is the leaf of (meta.count_column) */
	size_t seen; /* the last stack (index + 1) that added to total */
};

struct top {
	const struct top_opts *o;
	unsigned int mask; /* 1 << TOP_KEY_* */
	struct row **rows; /* stable pointers: the map's keys */
	size_t n, cap;
	struct hashmap *idx; /* struct row * -> index */
};

static const char *const key_names[TOP_KEY_NR] = {
	[TOP_KEY_SYM] = "sym",
	[TOP_KEY_DSO] = "dso",
	[TOP_KEY_COMM] = "comm",
	[TOP_KEY_PID] = "pid",
};

int top_parse_sort(const char *arg, struct top_opts *o)
{
	const char *p = arg;

	o->nkeys = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		int k;

		for (k = 0; k < TOP_KEY_NR; k++)
			if (strlen(key_names[k]) == len && !strncmp(p, key_names[k], len))
				break;
		if (k == TOP_KEY_NR || o->nkeys >= TOP_KEY_NR)
			return -EINVAL;
		for (int i = 0; i < o->nkeys; i++)
			if (o->keys[i] == (enum top_key)k)
				return -EINVAL;
		o->keys[o->nkeys++] = (enum top_key)k;
		p += len;
		if (*p == ',' && *++p == '\0')
			return -EINVAL;
	}
	return o->nkeys ? 0 : -EINVAL;
}

const char *top_sort_keys(void)
{
	return "sym, dso, comm, pid";
}

static uint64_t row_hash(const void *key, void *ctx)
{
	const struct row *r = key;
	uint64_t h = hash_bytes(r->name, strlen(r->name), 3);

	(void)ctx;
	h = hash_bytes(r->module, strlen(r->module), h);
	h = hash_bytes(r->comm, strlen(r->comm), h);
	return hash_bytes(&r->pid, sizeof(r->pid), h);
}

static bool row_equal(const void *a, const void *b, void *ctx)
{
	const struct row *x = a, *y = b;

	(void)ctx;
	return x->pid == y->pid && !strcmp(x->name, y->name) && !strcmp(x->module, y->module) &&
	       !strcmp(x->comm, y->comm);
}

/* The row of a stack (and of frame fr, NULL for a stack without one) under the sort keys. */
static struct row *get_row(struct top *t, const struct profile_stack *s, const char *name,
			   const char *module)
{
	struct row key = {
		.name = t->mask & (1u << TOP_KEY_SYM) ? name : "",
		.module = t->mask & ((1u << TOP_KEY_SYM) | (1u << TOP_KEY_DSO)) && module ? module :
											    "",
		.comm = t->mask & (1u << TOP_KEY_COMM) || t->mask & (1u << TOP_KEY_PID) ?
				(s->comm ? s->comm : "") :
				"",
		.pid = t->mask & (1u << TOP_KEY_PID) ? s->pid : 0,
	};
	struct row *r;
	uintptr_t v;

	if (hashmap__get(t->idx, &key, &v))
		return t->rows[v];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct row **rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows)
			return NULL;
		t->rows = rows;
		t->cap = cap;
	}
	r = malloc(sizeof(*r));
	if (!r)
		return NULL;
	*r = key;
	if (hashmap__set(t->idx, r, t->n)) {
		free(r);
		return NULL;
	}
	t->rows[t->n++] = r;
	return r;
}

static int cmp_self(const void *a, const void *b)
{
	const struct row *x = *(const struct row *const *)a, *y = *(const struct row *const *)b;
	int c;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if ((c = strcmp(x->comm, y->comm)))
		return c;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
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
	struct row *r;

	if (!(t->mask & ((1u << TOP_KEY_SYM) | (1u << TOP_KEY_DSO)))) {
		r = get_row(t, s, "", "");
		if (!r)
			return -ENOMEM;
		r->self += w;
		r->total += w;
		r->self_count += s->count;
		return 0;
	}
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
		r = get_row(t, s, fr->name, fr->module);
		if (!r)
			return -ENOMEM;
		if (r->seen != i + 1) {
			r->seen = i + 1;
			r->total += w;
		}
	}
	r = leaf ? get_row(t, s, leaf->name, leaf->module) : get_row(t, s, "[no stack]", "");
	if (!r)
		return -ENOMEM;
	if (!leaf)
		r->total += w;
	r->self += w;
	r->self_count += s->count;
	return 0;
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

static int clamp_width(size_t len, int w)
{
	if ((int)len > w)
		w = len < NAME_MAX_WIDTH ? (int)len : NAME_MAX_WIDTH;
	return w;
}

/* The text of one key of a row; pid is "PID:COMM" as perf shows it. */
static const char *key_text(const struct row *r, enum top_key k, char *buf, size_t len)
{
	switch (k) {
	case TOP_KEY_SYM:
		return r->name;
	case TOP_KEY_DSO:
		return r->module;
	case TOP_KEY_COMM:
		return r->comm;
	case TOP_KEY_PID:
		snprintf(buf, len, "%u:%s", r->pid, r->comm);
		return buf;
	case TOP_KEY_NR:
		break;
	}
	return "";
}

static __u64 max_count(const struct top *t, size_t rows)
{
	__u64 m = 0;

	for (size_t i = 0; i < rows; i++)
		if (t->rows[i]->self_count > m)
			m = t->rows[i]->self_count;
	return m;
}

static void print_text(const struct top *t, FILE *out, size_t rows, __u64 total,
		       const struct profile_meta *meta)
{
	const char *unit = meta->weight_unit;
	int cnt_w = meta->count_column ? (int)strlen(meta->count_column) : 0;
	static const char *const heads[TOP_KEY_NR] = {
		[TOP_KEY_SYM] = "FUNCTION",
		[TOP_KEY_DSO] = "MODULE",
		[TOP_KEY_COMM] = "COMM",
		[TOP_KEY_PID] = "PID:COMM",
	};
	const struct top_opts *o = t->o;
	int width[TOP_KEY_NR + 1] = { 0 }, num_w = (int)strlen(unit);
	char num[32], buf[64];

	/* "sym" alone shows the function's module too, after it, as the one-key table always has. */
	enum top_key cols[TOP_KEY_NR + 1];
	int ncols = 0;

	for (int i = 0; i < o->nkeys; i++)
		cols[ncols++] = o->keys[i];
	if (!(t->mask & (1u << TOP_KEY_DSO)) && (t->mask & (1u << TOP_KEY_SYM)))
		cols[ncols++] = TOP_KEY_DSO;
	/* Columns as wide as what they hold, within limits. */
	for (int c = 0; c < ncols; c++) {
		width[c] = cols[c] == TOP_KEY_SYM ? NAME_MIN_WIDTH : (int)strlen(heads[cols[c]]);
		for (size_t i = 0; i < rows; i++)
			width[c] = clamp_width(
				strlen(key_text(t->rows[i], cols[c], buf, sizeof(buf))), width[c]);
	}
	snprintf(num, sizeof(num), "%llu", rows ? (unsigned long long)t->rows[0]->self : 0ull);
	if ((int)strlen(num) > num_w)
		num_w = (int)strlen(num);

	snprintf(num, sizeof(num), "%llu", (unsigned long long)max_count(t, rows));
	if ((int)strlen(num) > cnt_w)
		cnt_w = (int)strlen(num);

	fprintf(out, "%7s %7s %*s ", "SELF%", "TOTAL%", num_w, unit);
	if (meta->count_column)
		fprintf(out, " %*s %10s ", cnt_w, meta->count_column, "avg");
	for (int c = 0; c < ncols; c++)
		fprintf(out, " %-*s", c == ncols - 1 ? 0 : width[c], heads[cols[c]]);
	fputc('\n', out);
	for (size_t i = 0; i < rows; i++) {
		const struct row *r = t->rows[i];
		int last = ncols - 1;

		fprintf(out, "%6.2f%% %6.2f%% %*llu ", total ? 100.0 * r->self / total : 0.0,
			total ? 100.0 * r->total / total : 0.0, num_w, (unsigned long long)r->self);
		if (meta->count_column)
			fprintf(out, " %*llu %10.1f ", cnt_w, (unsigned long long)r->self_count,
				r->self_count ? (double)r->self / r->self_count : 0.0);
		/* No trailing blanks: the last non-empty column is not padded. */
		while (last > 0 && !*key_text(r, cols[last], buf, sizeof(buf)))
			last--;
		for (int c = 0; c <= last; c++) {
			fputc(' ', out);
			put_clean(out, key_text(r, cols[c], buf, sizeof(buf)),
				  c == last ? 0 : width[c]);
		}
		fputc('\n', out);
	}
	if (!rows)
		fprintf(out, "(no %s)\n", unit);
}

static void print_json(const struct top *t, FILE *out, size_t rows, __u64 total, const char *unit,
		       int *err)
{
	static const char *const json_keys[TOP_KEY_NR] = {
		[TOP_KEY_SYM] = "function",
		[TOP_KEY_DSO] = "module",
		[TOP_KEY_COMM] = "comm",
		[TOP_KEY_PID] = "pid",
	};
	struct json *j = json__new(out, false);

	json__begin_object(j);
	json__kv_str(j, "unit", unit);
	json__kv_u64(j, "total", total);
	json__key(j, "sort");
	json__begin_array(j);
	for (int i = 0; i < t->o->nkeys; i++)
		json__str(j, key_names[t->o->keys[i]]);
	json__end_array(j);
	json__key(j, "rows");
	json__begin_array(j);
	for (size_t i = 0; i < rows; i++) {
		const struct row *r = t->rows[i];

		json__begin_object(j);
		json__kv_u64(j, "self", r->self);
		json__kv_u64(j, "total", r->total);
		json__kv_u64(j, "self_count", r->self_count);
		json__kv_double(j, "self_pct", total ? 100.0 * r->self / total : 0.0);
		json__kv_double(j, "total_pct", total ? 100.0 * r->total / total : 0.0);
		if (t->mask & (1u << TOP_KEY_SYM))
			json__kv_str(j, json_keys[TOP_KEY_SYM], r->name);
		if (t->mask & ((1u << TOP_KEY_SYM) | (1u << TOP_KEY_DSO)))
			json__kv_str(j, json_keys[TOP_KEY_DSO], r->module);
		if (t->mask & ((1u << TOP_KEY_COMM) | (1u << TOP_KEY_PID)))
			json__kv_str(j, json_keys[TOP_KEY_COMM], r->comm);
		if (t->mask & (1u << TOP_KEY_PID))
			json__kv_u64(j, json_keys[TOP_KEY_PID], r->pid);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
	*err = json__finish(j);
	json__free(j);
	fputc('\n', out);
}

int export_top_by(const struct profile *p, FILE *out, const struct top_opts *o)
{
	const char *unit = profile__meta(p)->weight_unit;
	__u64 total = profile__total_weight(p);
	struct top_opts use = o ? *o : (struct top_opts){ 0 };
	struct top t = { .o = &use };
	size_t rows = 0;
	int err = -ENOMEM;

	if (!use.nkeys)
		use = (struct top_opts){
			.keys = { TOP_KEY_SYM }, .nkeys = 1, .rows = use.rows, .json = use.json
		};
	for (int i = 0; i < t.o->nkeys; i++)
		t.mask |= 1u << t.o->keys[i];
	t.idx = hashmap__new(row_hash, row_equal, NULL);
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
	err = 0;
	if (t.n > 1)
		qsort(t.rows, t.n, sizeof(*t.rows), cmp_self);
	while (rows < t.n && (!use.rows || rows < use.rows) && t.rows[rows]->self)
		rows++;
	if (use.json)
		print_json(&t, out, rows, total, unit, &err);
	else
		print_text(&t, out, rows, total, profile__meta(p));
	if (!err)
		err = ferror(out) ? -EIO : 0;
out:
	for (size_t i = 0; i < t.n; i++)
		free(t.rows[i]);
	free(t.rows);
	hashmap__free(t.idx);
	return err;
}

int export_top(const struct profile *p, FILE *out, unsigned int n)
{
	struct top_opts o = { .keys = { TOP_KEY_SYM }, .nkeys = 1, .rows = n };

	return export_top_by(p, out, &o);
}
