// SPDX-License-Identifier: GPL-2.0
/*
 * What changed between two profiles, by function: each function's self and total (inclusive) share
 * of its profile's weight in base and in new, ranked by the change of its self share (where the time
 * went), as `go tool pprof -top -normalize -diff_base` ranks flat weights. Shares, so a 10 s and a
 * 30 s profile compare. A function is its display name and module (merge.h), as in the flame graph.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "export/json.h"
#include "export/merge.h"
#include "model/hashmap.h"

struct diff_fn {
	char *name, *module; /* owned */
	__u64 self[2], total[2]; /* [0] base, [1] new */
	size_t seen; /* the last stack that counted this function in total, + 1 */
	int seen_in;
};

struct diff_table {
	struct hashmap *index; /* "name\nmodule" key (owned by the entry) -> entry index + 1 */
	struct diff_fn *fn;
	char **keys;
	size_t n, cap;
	__u64 total[2];
};

static struct diff_fn *fn_get(struct diff_table *t, const char *name, const char *module)
{
	size_t ln = strlen(name), lm = strlen(module);
	char *key = malloc(ln + lm + 2);
	uintptr_t v;

	if (!key)
		return NULL;
	memcpy(key, name, ln);
	key[ln] = '\n'; /* display names hold no line break (merge.h) */
	memcpy(key + ln + 1, module, lm + 1);
	if (hashmap__get(t->index, key, &v)) {
		free(key);
		return &t->fn[v - 1];
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? 2 * t->cap : 256;
		struct diff_fn *nf = realloc(t->fn, nc * sizeof(*nf));
		char **nk;

		if (!nf)
			goto fail;
		t->fn = nf;
		nk = realloc(t->keys, nc * sizeof(*nk));
		if (!nk)
			goto fail;
		t->keys = nk;
		t->cap = nc;
	}
	t->fn[t->n] = (struct diff_fn){ .name = strdup(name), .module = strdup(module) };
	t->keys[t->n] = key;
	if (!t->fn[t->n].name || !t->fn[t->n].module || hashmap__set(t->index, key, t->n + 1)) {
		free(t->fn[t->n].name);
		free(t->fn[t->n].module);
		goto fail;
	}
	return &t->fn[t->n++];
fail:
	free(key);
	return NULL;
}

static int add_profile(struct diff_table *t, const struct profile *p, int side,
		       const struct export_opts *o)
{
	struct merged m;
	int err = merged__build(&m, p, o);

	if (err)
		return err;
	for (size_t i = 0; i < m.nr_stacks && !err; i++) {
		const struct merged_stack *st = &m.stacks[i];

		t->total[side] += st->weight;
		for (__u32 d = 0; d < st->n; d++) {
			__u32 id = st->names[d];
			struct diff_fn *f;

			if (m.kinds[id] == MERGE_KIND_PROCESS)
				continue;
			f = fn_get(t, m.names[id], m.modules[id]);
			if (!f) {
				err = -ENOMEM;
				break;
			}
			/* total counts a stack once however often the function recurs in it */
			if (f->seen != i + 1 || f->seen_in != side) {
				f->total[side] += st->weight;
				f->seen = i + 1;
				f->seen_in = side;
			}
			if (d == st->n - 1)
				f->self[side] += st->weight;
		}
	}
	merged__release(&m);
	return err;
}

static double share(__u64 w, __u64 total)
{
	return total ? 100.0 * (double)w / (double)total : 0;
}

static double self_change(const struct diff_table *t, const struct diff_fn *f)
{
	return share(f->self[1], t->total[1]) - share(f->self[0], t->total[0]);
}

static int cmp_change(const void *a, const void *b, void *arg)
{
	const struct diff_table *t = arg;
	const struct diff_fn *x = a, *y = b;
	double cx = self_change(t, x), cy = self_change(t, y);

	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void table_release(struct diff_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->fn[i].name);
		free(t->fn[i].module);
		free(t->keys[i]);
	}
	free(t->fn);
	free(t->keys);
	hashmap__free(t->index);
}

static void text_row(FILE *out, const struct diff_table *t, const struct diff_fn *f)
{
	fprintf(out, "%+8.2f%% %7.2f%% %7.2f%%  %+8.2f%%  %s", self_change(t, f),
		share(f->self[0], t->total[0]), share(f->self[1], t->total[1]),
		share(f->total[1], t->total[1]) - share(f->total[0], t->total[0]), f->name);
	if (f->module[0])
		fprintf(out, "  [%s]", f->module);
	fputc('\n', out);
}

static void json_row(struct json *j, const struct diff_table *t, const struct diff_fn *f)
{
	json__begin_object(j);
	json__kv_str(j, "function", f->name);
	json__kv_str(j, "module", f->module);
	json__kv_u64(j, "base_self", f->self[0]);
	json__kv_u64(j, "new_self", f->self[1]);
	json__kv_double(j, "base_self_pct", share(f->self[0], t->total[0]));
	json__kv_double(j, "new_self_pct", share(f->self[1], t->total[1]));
	json__kv_double(j, "self_change_pct", self_change(t, f));
	json__kv_double(j, "base_total_pct", share(f->total[0], t->total[0]));
	json__kv_double(j, "new_total_pct", share(f->total[1], t->total[1]));
	json__kv_double(j, "total_change_pct",
			share(f->total[1], t->total[1]) - share(f->total[0], t->total[0]));
	json__end_object(j);
}

int export_diff_top(const struct profile *base, const struct profile *p, FILE *out,
		    const struct top_opts *o)
{
	const struct profile_meta *bm = profile__meta(base), *nm = profile__meta(p);
	const char *unit = nm->weight_unit ? nm->weight_unit : "samples";
	struct export_opts eo = { .annotate_kernel = true };
	struct diff_table t = { 0 };
	size_t rows = o && o->rows ? o->rows : 10, grew = 0, shrank = 0;
	int err = 0;

	t.index = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	if (!t.index)
		return -ENOMEM;
	err = add_profile(&t, base, 0, &eo);
	if (!err)
		err = add_profile(&t, p, 1, &eo);
	if (err)
		goto out;
	qsort_r(t.fn, t.n, sizeof(*t.fn), cmp_change, &t);
	while (grew < t.n && grew < rows && self_change(&t, &t.fn[grew]) > 0)
		grew++;
	while (shrank < t.n - grew && shrank < rows && self_change(&t, &t.fn[t.n - 1 - shrank]) < 0)
		shrank++;
	if (o && o->json) {
		struct json *j = json__new(out, true);

		if (!j) {
			err = -ENOMEM;
			goto out;
		}
		json__begin_object(j);
		json__kv_str(j, "unit", unit);
		json__kv_u64(j, "base_total", t.total[0]);
		json__kv_u64(j, "new_total", t.total[1]);
		json__kv_double(j, "base_seconds", bm->duration_ns / 1e9);
		json__kv_double(j, "new_seconds", nm->duration_ns / 1e9);
		json__key(j, "grew");
		json__begin_array(j);
		for (size_t i = 0; i < grew; i++)
			json_row(j, &t, &t.fn[i]);
		json__end_array(j);
		json__key(j, "shrank");
		json__begin_array(j);
		for (size_t i = 0; i < shrank; i++)
			json_row(j, &t, &t.fn[t.n - 1 - i]);
		json__end_array(j);
		json__end_object(j);
		err = json__finish(j);
		json__free(j);
		goto out;
	}
	fprintf(out, "base: %llu %s in %.2f s, new: %llu %s in %.2f s (shares of each total)\n",
		(unsigned long long)t.total[0], unit, bm->duration_ns / 1e9,
		(unsigned long long)t.total[1], unit, nm->duration_ns / 1e9);
	fprintf(out, "%9s %8s %8s  %9s  %s\n", "self", "base", "new", "total", "function");
	fprintf(out, "grew:\n");
	for (size_t i = 0; i < grew; i++)
		text_row(out, &t, &t.fn[i]);
	if (!grew)
		fprintf(out, "  (nothing)\n");
	fprintf(out, "shrank:\n");
	for (size_t i = 0; i < shrank; i++)
		text_row(out, &t, &t.fn[t.n - 1 - i]);
	if (!shrank)
		fprintf(out, "  (nothing)\n");
	err = ferror(out) ? -EIO : 0;
out:
	table_release(&t);
	return err;
}

int export_pprof_diff(const struct profile *base, const struct profile *p, FILE *out)
{
	struct profile *comb = profile__new(profile__meta(p));
	size_t np, n;
	__u64 tb = 0, tp = 0;
	int64_t *v = NULL;
	double scale;
	int err;

	if (!comb)
		return -ENOMEM;
	for (size_t i = 0; i < profile__nr_stacks(p); i++)
		tp += profile__stack(p, i)->value;
	for (size_t i = 0; i < profile__nr_stacks(base); i++)
		tb += profile__stack(base, i)->value;
	scale = tb ? (double)tp / (double)tb : 0;
	/* p's stacks first; base's then sum into the identical ones or follow them */
	err = profile__merge(comb, p, NULL, NULL, 0);
	np = profile__nr_stacks(comb);
	v = err ? NULL : calloc(2 * np + 2, sizeof(*v));
	if (!err && !v)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < np; i++) {
		v[2 * i] = (int64_t)profile__stack(comb, i)->count;
		v[2 * i + 1] = (int64_t)profile__stack(comb, i)->value;
	}
	if (!err)
		err = profile__merge(comb, base, NULL, NULL, 0);
	n = profile__nr_stacks(comb);
	if (!err && n > np) {
		int64_t *nv = realloc(v, (2 * n + 2) * sizeof(*v));

		if (!nv)
			err = -ENOMEM;
		else
			v = nv;
	}
	for (size_t i = 0; !err && i < n; i++) {
		const struct profile_stack *s = profile__stack(comb, i);
		int64_t nc = i < np ? v[2 * i] : 0, nval = i < np ? v[2 * i + 1] : 0;
		double bc = (double)((int64_t)s->count - nc),
		       bval = (double)((int64_t)s->value - nval);

		v[2 * i] = nc - (int64_t)(bc * scale + 0.5);
		v[2 * i + 1] = nval - (int64_t)(bval * scale + 0.5);
	}
	if (!err)
		err = export_pprof_signed(comb, v, out);
	free(v);
	profile__free(comb);
	return err;
}
