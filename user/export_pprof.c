// SPDX-License-Identifier: GPL-2.0
/*
 * pprof: gzip-compressed perftools.profiles.Profile (proto/profile.proto) through protobuf-c.
 * One location per profile frame (address + mapping), one function per (name, module), samples with
 * their locations leaf first and values [count, value], labels pid/tid/comm. string_table[0] is "".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export.h"
#include "hashmap.h"
#include "profile.pb-c.h"

struct strtab {
	char **s;
	size_t n, cap;
	struct hashmap *idx;
	bool failed; /* an allocation failed: the table is incomplete */
};

static int64_t str_id(struct strtab *t, const char *s)
{
	uintptr_t v;

	if (hashmap__get(t->idx, s, &v))
		return (int64_t)v;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		char **n = realloc(t->s, cap * sizeof(*n));

		if (!n) {
			t->failed = true;
			return 0;
		}
		t->s = n;
		t->cap = cap;
	}
	/* Strings live in the profile (or are literals) for the whole export: no copies needed. */
	t->s[t->n] = (char *)s;
	if (hashmap__set(t->idx, s, t->n)) {
		t->failed = true;
		return 0;
	}
	return (int64_t)t->n++;
}

struct fnkey {
	const char *name, *module;
};

static uint64_t fn_hash(const void *key, void *ctx)
{
	const struct fnkey *k = key;
	uintptr_t parts[2] = { (uintptr_t)k->name, (uintptr_t)k->module };

	(void)ctx;
	return hash_bytes(parts, sizeof(parts), 5);
}

static bool fn_equal(const void *a, const void *b, void *ctx)
{
	const struct fnkey *x = a, *y = b;

	(void)ctx;
	return x->name == y->name && x->module == y->module;
}

/* gzip buf to out. */
static int write_gzip(FILE *out, const uint8_t *buf, size_t len)
{
	unsigned char chunk[65536];
	z_stream zs = { 0 };
	int zr, err = 0;

	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	zs.next_in = (unsigned char *)buf;
	zs.avail_in = (uInt)len;
	do {
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zr = deflate(&zs, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(chunk, 1, sizeof(chunk) - zs.avail_out, out) !=
		    sizeof(chunk) - zs.avail_out) {
			err = -EIO;
			break;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&zs);
	return err;
}

int export_pprof(const struct profile *p, FILE *out, const struct export_opts *o)
{
	const struct profile_meta *meta = profile__meta(p);
	size_t nf = profile__nr_frames(p), nm = profile__nr_mappings(p), ns = profile__nr_stacks(p);
	Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType vt[3] = { PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
						 PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
						 PERFTOOLS__PROFILES__VALUE_TYPE__INIT };
	Perftools__Profiles__ValueType *vtp[2] = { &vt[0], &vt[1] };
	Perftools__Profiles__Mapping *maps = NULL, **mapp = NULL;
	Perftools__Profiles__Location *locs = NULL, **locp = NULL;
	Perftools__Profiles__Line *lines = NULL, **linep = NULL;
	Perftools__Profiles__Function *fns = NULL, **fnp = NULL;
	Perftools__Profiles__Sample *samples = NULL, **samplep = NULL;
	Perftools__Profiles__Label *labels = NULL, **labelp = NULL;
	struct fnkey *fkeys = NULL;
	uint64_t *locids = NULL;
	int64_t *values = NULL, comment;
	struct strtab st = { 0 };
	struct hashmap *fn_idx = NULL;
	size_t nfn = 0, total_frames = 0;
	uint8_t *buf = NULL;
	char title[512];
	int err = -ENOMEM;

	(void)o;
	st.idx = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	fn_idx = hashmap__new(fn_hash, fn_equal, NULL);
	if (!st.idx || !fn_idx || str_id(&st, "") != 0 || st.failed)
		goto out;
	for (size_t i = 0; i < ns; i++)
		total_frames += profile__stack(p, i)->nframes;
	maps = calloc(nm + 1, sizeof(*maps));
	mapp = calloc(nm + 1, sizeof(*mapp));
	locs = calloc(nf + 1, sizeof(*locs));
	locp = calloc(nf + 1, sizeof(*locp));
	lines = calloc(nf + 1, sizeof(*lines));
	linep = calloc(nf + 1, sizeof(*linep));
	fns = calloc(nf + 1, sizeof(*fns));
	fnp = calloc(nf + 1, sizeof(*fnp));
	fkeys = calloc(nf + 1, sizeof(*fkeys));
	samples = calloc(ns + 1, sizeof(*samples));
	samplep = calloc(ns + 1, sizeof(*samplep));
	labels = calloc(3 * ns + 1, sizeof(*labels));
	labelp = calloc(3 * ns + 1, sizeof(*labelp));
	locids = calloc(total_frames + 1, sizeof(*locids));
	values = calloc(2 * ns + 1, sizeof(*values));
	if (!maps || !mapp || !locs || !locp || !lines || !linep || !fns || !fnp || !fkeys ||
	    !samples || !samplep || !labels || !labelp || !locids || !values)
		goto out;

	/* Sample types [count, value]; the period is one sample's value. */
	vt[0].type = str_id(&st, meta->count_type);
	vt[0].unit = str_id(&st, meta->count_unit);
	vt[1].type = str_id(&st, meta->value_type);
	vt[1].unit = str_id(&st, meta->value_unit);
	vt[2] = vt[1];
	prof.n_sample_type = 2;
	prof.sample_type = vtp;
	prof.period_type = &vt[2];
	prof.period = (int64_t)meta->period;
	prof.default_sample_type = vt[1].type;
	prof.time_nanos = (int64_t)meta->start_ns;
	prof.duration_nanos = (int64_t)meta->duration_ns;
	if (meta->title) {
		snprintf(title, sizeof(title), "%s", meta->title);
		comment = str_id(&st, title);
		prof.n_comment = 1;
		prof.comment = &comment;
	}

	for (size_t i = 0; i < nm; i++) {
		const struct profile_mapping *pm = profile__mapping(p, (__u32)(i + 1));

		perftools__profiles__mapping__init(&maps[i]);
		maps[i].id = i + 1;
		maps[i].memory_start = pm->start;
		maps[i].memory_limit = pm->limit;
		maps[i].file_offset = pm->offset;
		maps[i].filename = str_id(&st, pm->path);
		maps[i].build_id = str_id(&st, pm->build_id);
		maps[i].has_functions = true;
		mapp[i] = &maps[i];
	}
	prof.n_mapping = nm;
	prof.mapping = mapp;

	for (size_t i = 0; i < nf; i++) {
		const struct profile_frame *f = profile__frame(p, (__u32)(i + 1));
		struct fnkey *k = &fkeys[nfn];
		uintptr_t v;

		k->name = f->name;
		k->module = f->module;
		if (!hashmap__get(fn_idx, k, &v)) {
			perftools__profiles__function__init(&fns[nfn]);
			fns[nfn].id = nfn + 1;
			fns[nfn].name = str_id(&st, f->name);
			fns[nfn].system_name = fns[nfn].name;
			fns[nfn].filename = str_id(&st, f->module);
			fnp[nfn] = &fns[nfn];
			if (hashmap__set(fn_idx, k, nfn))
				goto out;
			v = nfn++;
		}
		perftools__profiles__line__init(&lines[i]);
		lines[i].function_id = v + 1;
		linep[i] = &lines[i];
		perftools__profiles__location__init(&locs[i]);
		locs[i].id = i + 1;
		locs[i].mapping_id = f->mapping;
		locs[i].address = f->addr;
		locs[i].n_line = 1;
		locs[i].line = &linep[i];
		locp[i] = &locs[i];
	}
	prof.n_location = nf;
	prof.location = locp;
	prof.n_function = nfn;
	prof.function = fnp;

	{
		int64_t k_pid = str_id(&st, "pid"), k_tid = str_id(&st, "tid"),
			k_comm = str_id(&st, "comm");
		size_t li = 0, fi = 0;

		for (size_t i = 0; i < ns; i++) {
			const struct profile_stack *s = profile__stack(p, i);
			Perftools__Profiles__Sample *sm = &samples[i];

			perftools__profiles__sample__init(sm);
			/* Leaf first. */
			for (__u32 k = 0; k < s->nframes; k++)
				locids[fi + k] = s->frames[s->nframes - 1 - k];
			sm->n_location_id = s->nframes;
			sm->location_id = &locids[fi];
			fi += s->nframes;
			values[2 * i] = (int64_t)s->count;
			values[2 * i + 1] = (int64_t)s->value;
			sm->n_value = 2;
			sm->value = &values[2 * i];
			sm->label = &labelp[li];
			for (int l = 0; l < 3; l++) {
				perftools__profiles__label__init(&labels[li + l]);
				labelp[li + l] = &labels[li + l];
			}
			labels[li].key = k_pid;
			labels[li].num = s->pid;
			labels[li + 1].key = k_tid;
			labels[li + 1].num = s->tid;
			labels[li + 2].key = k_comm;
			labels[li + 2].str = str_id(&st, s->comm);
			sm->n_label = 3;
			li += 3;
			samplep[i] = sm;
		}
	}
	prof.n_sample = ns;
	prof.sample = samplep;
	prof.n_string_table = st.n;
	prof.string_table = st.s;
	if (st.failed)
		goto out;

	{
		size_t len = perftools__profiles__profile__get_packed_size(&prof);

		buf = malloc(len ? len : 1);
		if (!buf)
			goto out;
		perftools__profiles__profile__pack(&prof, buf);
		err = write_gzip(out, buf, len);
	}
	if (!err && ferror(out))
		err = -EIO;
out:
	free(buf);
	free(maps);
	free(mapp);
	free(locs);
	free(locp);
	free(lines);
	free(linep);
	free(fns);
	free(fnp);
	free(fkeys);
	free(samples);
	free(samplep);
	free(labels);
	free(labelp);
	free(locids);
	free(values);
	free(st.s);
	hashmap__free(st.idx);
	hashmap__free(fn_idx);
	return err;
}
