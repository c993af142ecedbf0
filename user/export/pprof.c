// SPDX-License-Identifier: GPL-2.0
/*
 * pprof: gzip-compressed perftools.profiles.Profile (proto/profile.proto) through protobuf-c.
 *
 * - sample types [count_type/count_unit, value_type/value_unit] and then the meta's extras (before
 *   them with extra_first: a heap profile's alloc_objects, alloc_space, inuse_objects, inuse_space),
 *   period type meta.period_type (the value type unless set), default sample type the value type;
 * - one mapping per profile mapping, the main binary first (pprof's convention), plus a synthetic
 *   "[kernel.kallsyms]" mapping spanning the kernel frames that came without one, so kernel code is
 *   never mistaken for a user binary;
 * - one location per profile frame (location id = frame id), with one Line naming its function,
 *   or with DWARF source lines one Line per line, inlined calls innermost first (the mapping then
 *   says has_filenames, has_line_numbers and has_inline_frames);
 *   special frames ("[off-cpu]", "--") are locations without a mapping;
 * - one function per distinct (name, file), file being the source file when DWARF named it, else
 *   the mapping's path, else the frame's module;
 * - one sample per profile stack, locations LEAF FIRST, values in sample-type order, labels pid, tid (when
 *   known) and comm.
 * string_table[0] is "", as the format requires; every string is valid UTF-8 (proto3).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/export.h"
#include "model/hashmap.h"
#include "export/json.h"
#include "profile.pb-c.h"

#define KERNEL_SPACE_START 0xffff800000000000ull /* x86-64: canonical upper half */
#define NR_TYPES_MAX (2 + PROFILE_MAX_EXTRA)

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;

/*
 * The string table. Entries point at strings that outlive the export (the profile's, literals), or at
 * cleaned copies owned here: proto3 strings must be UTF-8, and decoders built on the official protobuf
 * runtimes reject a whole profile over one stray byte in a symbol name.
 */
struct strtab {
	char **s;
	size_t n, cap;
	struct hashmap *idx; /* string -> index */
	char **owned; /* cleaned copies */
	size_t nr_owned;
	bool failed; /* an allocation failed: the table is incomplete */
};

/* s, or a copy with each byte that is not UTF-8 replaced by U+FFFD; NULL when out of memory. */
static const char *valid_utf8(struct strtab *t, const char *s)
{
	const char *c = s;
	char **owned, *copy, *o;
	int n;

	while ((n = json_utf8_len(c)))
		c += n;
	if (!*c)
		return s;
	owned = realloc(t->owned, (t->nr_owned + 1) * sizeof(*owned));
	if (!owned)
		return NULL;
	t->owned = owned;
	copy = malloc(strlen(s) * 3 + 1);
	if (!copy)
		return NULL;
	for (o = copy, c = s; *c;) {
		n = json_utf8_len(c);
		if (n) {
			memcpy(o, c, n);
			o += n;
			c += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			c++;
		}
	}
	*o = '\0';
	t->owned[t->nr_owned++] = copy;
	return copy;
}

static int64_t str_id(struct strtab *t, const char *s)
{
	uintptr_t v;

	s = valid_utf8(t, s ? s : "");
	if (!s) {
		t->failed = true;
		return 0;
	}
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
	t->s[t->n] = (char *)s;
	if (hashmap__set(t->idx, s, t->n)) {
		t->failed = true;
		return 0;
	}
	return (int64_t)t->n++;
}

/* Functions are keyed by their string-table ids: equal ids, equal strings. */
struct fnkey {
	int64_t name, file;
};

static uint64_t fn_hash(const void *key, void *ctx)
{
	const struct fnkey *k = key;

	(void)ctx;
	return hash_u64((uint64_t)k->name * 0x9e3779b97f4a7c15ull ^ (uint64_t)k->file);
}

static bool fn_equal(const void *a, const void *b, void *ctx)
{
	const struct fnkey *x = a, *y = b;

	(void)ctx;
	return x->name == y->name && x->file == y->file;
}

struct pprof {
	const struct profile *p;
	Profile prof;
	ValueType vt[NR_TYPES_MAX + 1], *vtp[NR_TYPES_MAX];
	size_t nv; /* values per sample */
	Mapping *maps, **mapp;
	Location *locs, **locp;
	Line *lines, **linep;
	Function *fns, **fnp;
	struct fnkey *fkeys;
	Sample *samples, **samplep;
	Label *labels, **labelp;
	uint64_t *locids;
	int64_t *values, comment;
	struct strtab st;
	struct hashmap *fn_idx;
	size_t nfn;
	__u32 *map_id; /* profile mapping id -> pprof mapping id; [0] = 0 */
};

static bool is_kernel_frame(const struct profile_frame *f)
{
	return f->kind == FRAME_KERNEL ||
	       (f->kind == FRAME_UNKNOWN && f->addr >= KERNEL_SPACE_START);
}

static void add_header(struct pprof *b)
{
	const struct profile_meta *meta = profile__meta(b->p);
	Profile *prof = &b->prof;

	size_t main_at = meta->extra_first ? meta->nr_extra : 0,
	       extra_at = meta->extra_first ? 0 : 2;

	b->nv = 2 + meta->nr_extra;
	for (size_t i = 0; i <= b->nv; i++)
		perftools__profiles__value_type__init(&b->vt[i]);
	b->vt[main_at].type = str_id(&b->st, meta->count_type);
	b->vt[main_at].unit = str_id(&b->st, meta->count_unit);
	b->vt[main_at + 1].type = str_id(&b->st, meta->value_type);
	b->vt[main_at + 1].unit = str_id(&b->st, meta->value_unit);
	for (__u32 i = 0; i < meta->nr_extra; i++) {
		b->vt[extra_at + i].type = str_id(&b->st, meta->extra_type[i]);
		b->vt[extra_at + i].unit = str_id(&b->st, meta->extra_unit[i]);
	}
	b->vt[b->nv].type = str_id(&b->st, meta->period_type);
	b->vt[b->nv].unit = str_id(&b->st, meta->period_unit);
	for (size_t i = 0; i < b->nv; i++)
		b->vtp[i] = &b->vt[i];
	prof->n_sample_type = b->nv;
	prof->sample_type = b->vtp;
	prof->period_type = &b->vt[b->nv];
	prof->period = (int64_t)meta->period;
	prof->default_sample_type = b->vt[main_at + 1].type;
	prof->time_nanos = (int64_t)meta->start_ns;
	prof->duration_nanos = (int64_t)meta->duration_ns;
	if (meta->title) {
		b->comment = str_id(&b->st, meta->title);
		prof->n_comment = 1;
		prof->comment = &b->comment;
	}
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * pprof takes the first mapping for the main binary (go tool pprof prints it as "File:" and
 * symbolizes with it). The model does not say which one it is: take the mapping whose file name is
 * the process name (comm: the first 15 bytes of it) that the most samples pass through. 0-based;
 * 0 when none is.
 */
static size_t main_mapping(const struct profile *p, size_t nm)
{
	__u64 *score = calloc(nm + 1, sizeof(*score)), best = 0;
	size_t main = 0;

	if (!score)
		return 0; /* only the order suffers */
	for (size_t i = 0; i < profile__nr_stacks(p); i++) {
		const struct profile_stack *s = profile__stack(p, i);
		size_t clen = strlen(s->comm);
		__u32 last = 0;

		for (__u32 k = 0; k < s->nframes; k++) {
			const struct profile_frame *f = profile__frame(p, s->frames[k]);
			const char *base;

			if (!f->mapping || f->mapping == last)
				continue;
			last = f->mapping;
			base = base_name(profile__mapping(p, f->mapping)->path);
			if (clen && !strncmp(base, s->comm, clen) && (!base[clen] || clen >= 15))
				score[f->mapping] += s->count;
		}
	}
	for (size_t i = 1; i <= nm; i++) {
		if (score[i] > best) {
			best = score[i];
			main = i - 1;
		}
	}
	free(score);
	return main;
}

/* The profile's mappings, the main binary first, then the synthetic kernel one when some kernel
 * frame needs it. */
static void add_mappings(struct pprof *b, size_t nm, size_t nf)
{
	size_t main = main_mapping(b->p, nm), n = 0;
	__u64 kstart = UINT64_MAX, klimit = 0;

	for (size_t k = 0; k < nm; k++) {
		/* main, then the others in their order */
		size_t i = k == 0 ? main : k <= main ? k - 1 : k;
		const struct profile_mapping *pm = profile__mapping(b->p, (__u32)(i + 1));
		Mapping *m = &b->maps[n];

		perftools__profiles__mapping__init(m);
		m->id = n + 1;
		m->memory_start = pm->start;
		m->memory_limit = pm->limit;
		m->file_offset = pm->offset;
		m->filename = str_id(&b->st, pm->path);
		m->build_id = str_id(&b->st, pm->build_id);
		m->has_functions = true;
		b->mapp[n++] = m;
		b->map_id[i + 1] = (__u32)m->id;
	}
	for (size_t i = 0; i < nf; i++) {
		const struct profile_frame *f = profile__frame(b->p, (__u32)(i + 1));

		if (f->mapping || !is_kernel_frame(f))
			continue;
		if (f->addr < kstart)
			kstart = f->addr;
		if (f->addr >= klimit)
			klimit = f->addr + 1;
	}
	if (klimit) {
		Mapping *m = &b->maps[n];

		perftools__profiles__mapping__init(m);
		m->id = n + 1;
		m->memory_start = kstart;
		m->memory_limit = klimit;
		m->filename = str_id(&b->st, "[kernel.kallsyms]");
		m->has_functions = true;
		b->mapp[n++] = m;
	}
	b->prof.n_mapping = n;
	b->prof.mapping = b->mapp;
}

/* The function of (name, file), added once. Its index, or -1 when out of memory. */
static long function_of(struct pprof *b, const char *name, const char *file)
{
	struct fnkey *k = &b->fkeys[b->nfn];
	uintptr_t v;

	k->name = str_id(&b->st, name);
	k->file = str_id(&b->st, file);
	if (hashmap__get(b->fn_idx, k, &v))
		return (long)v;
	{
		Function *fn = &b->fns[b->nfn];

		perftools__profiles__function__init(fn);
		fn->id = b->nfn + 1;
		fn->name = k->name;
		fn->system_name = k->name;
		fn->filename = k->file;
		b->fnp[b->nfn] = fn;
		if (hashmap__set(b->fn_idx, k, b->nfn))
			return -1;
	}
	return (long)b->nfn++;
}

static int add_locations(struct pprof *b, size_t nm, size_t nf)
{
	size_t li = 0;

	for (size_t i = 0; i < nf; i++) {
		const struct profile_frame *f = profile__frame(b->p, (__u32)(i + 1));
		const struct profile_mapping *pm =
			f->mapping ? profile__mapping(b->p, f->mapping) : NULL;
		Location *loc = &b->locs[i];
		long v;

		perftools__profiles__location__init(loc);
		loc->id = i + 1;
		loc->mapping_id = b->map_id[f->mapping];
		if (!f->mapping && is_kernel_frame(f) && b->prof.n_mapping > nm)
			loc->mapping_id = nm + 1;
		loc->address = f->addr;
		loc->line = &b->linep[li];
		if (f->nlines) {
			/* DWARF lines: innermost first, the last one the outermost caller, as pprof
			 * wants inlined frames; each function named with its source file. */
			for (__u32 l = 0; l < f->nlines; l++) {
				v = function_of(b, f->lines[l].function, f->lines[l].file);
				if (v < 0)
					return -ENOMEM;
				perftools__profiles__line__init(&b->lines[li]);
				b->lines[li].function_id = (uint64_t)v + 1;
				b->lines[li].line = f->lines[l].line;
				b->linep[li] = &b->lines[li];
				li++;
			}
			loc->n_line = f->nlines;
			if (loc->mapping_id && loc->mapping_id <= b->prof.n_mapping) {
				Mapping *m = b->mapp[loc->mapping_id - 1];

				m->has_filenames = true;
				m->has_line_numbers = true;
				m->has_inline_frames |= f->nlines > 1;
			}
		} else {
			v = function_of(b, f->name, pm && *pm->path ? pm->path : f->module);
			if (v < 0)
				return -ENOMEM;
			perftools__profiles__line__init(&b->lines[li]);
			b->lines[li].function_id = (uint64_t)v + 1;
			b->linep[li] = &b->lines[li];
			li++;
			loc->n_line = 1;
		}
		b->locp[i] = loc;
	}
	b->prof.n_location = nf;
	b->prof.location = b->locp;
	b->prof.n_function = b->nfn;
	b->prof.function = b->fnp;
	return 0;
}

/* A stack's values in sample-type order (add_header); signed: this stack's (count, value). */
static void add_values(const struct pprof *b, const struct profile_stack *s, const int64_t *sv,
		       int64_t *v)
{
	const struct profile_meta *meta = profile__meta(b->p);
	size_t main_at = meta->extra_first ? meta->nr_extra : 0,
	       extra_at = meta->extra_first ? 0 : 2;

	v[main_at] = sv ? sv[0] : (int64_t)s->count;
	v[main_at + 1] = sv ? sv[1] : (int64_t)s->value;
	for (__u32 i = 0; i < meta->nr_extra; i++)
		v[extra_at + i] = (int64_t)s->extra[i];
}

static void add_samples(struct pprof *b, size_t ns, const int64_t *sv)
{
	int64_t k_pid = str_id(&b->st, "pid"), k_tid = str_id(&b->st, "tid"),
		k_comm = str_id(&b->st, "comm"), k_cgroup = -1;
	size_t li = 0, fi = 0;

	for (size_t i = 0; i < ns; i++) {
		const struct profile_stack *s = profile__stack(b->p, i);
		Sample *sm = &b->samples[i];
		Label *l = &b->labels[li];

		perftools__profiles__sample__init(sm);
		for (__u32 k = 0; k < s->nframes; k++)
			b->locids[fi + k] = s->frames[s->nframes - 1 - k]; /* leaf first */
		sm->n_location_id = s->nframes;
		sm->location_id = &b->locids[fi];
		fi += s->nframes;
		sm->n_value = b->nv;
		sm->value = &b->values[b->nv * i];
		add_values(b, s, sv ? &sv[2 * i] : NULL, sm->value);
		sm->label = &b->labelp[li];
		for (int n = 0; n < 4; n++) {
			perftools__profiles__label__init(&l[n]);
			b->labelp[li + n] = &l[n];
		}
		l[0].key = k_pid;
		l[0].num = s->pid;
		sm->n_label = 1;
		if (s->tid) {
			l[sm->n_label].key = k_tid;
			l[sm->n_label++].num = s->tid;
		}
		l[sm->n_label].key = k_comm;
		l[sm->n_label++].str = str_id(&b->st, s->comm);
		if (s->cgroup && *s->cgroup) {
			/* Interned only when used: profiles without cgroups keep their string table. */
			if (k_cgroup < 0)
				k_cgroup = str_id(&b->st, "cgroup");
			l[sm->n_label].key = k_cgroup;
			l[sm->n_label++].str = str_id(&b->st, s->cgroup);
		}
		li += sm->n_label;
		b->samplep[i] = sm;
	}
	b->prof.n_sample = ns;
	b->prof.sample = b->samplep;
}

/* gzip (not raw deflate nor zlib framing: pprof readers look for the gzip magic). */
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
		size_t have;

		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zr = deflate(&zs, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		have = sizeof(chunk) - zs.avail_out;
		if (fwrite(chunk, 1, have, out) != have) {
			err = -EIO;
			break;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&zs);
	return err;
}

static void release(struct pprof *b)
{
	free(b->maps);
	free(b->mapp);
	free(b->map_id);
	free(b->locs);
	free(b->locp);
	free(b->lines);
	free(b->linep);
	free(b->fns);
	free(b->fnp);
	free(b->fkeys);
	free(b->samples);
	free(b->samplep);
	free(b->labels);
	free(b->labelp);
	free(b->locids);
	free(b->values);
	free(b->st.s);
	for (size_t i = 0; i < b->st.nr_owned; i++)
		free(b->st.owned[i]);
	free(b->st.owned);
	hashmap__free(b->st.idx);
	hashmap__free(b->fn_idx);
}

/* p as pprof; signed_values (NULL: the stacks' own) has (count, value) for every stack. */
static int write_pprof(const struct profile *p, const int64_t *signed_values, FILE *out)
{
	size_t nf = profile__nr_frames(p), nm = profile__nr_mappings(p), ns = profile__nr_stacks(p);
	struct pprof b = { .p = p, .prof = PERFTOOLS__PROFILES__PROFILE__INIT };
	size_t total_frames = 0, nl = 0, len;
	uint8_t *buf = NULL;
	int err = -ENOMEM;

	for (size_t i = 0; i < ns; i++)
		total_frames += profile__stack(p, i)->nframes;
	/* One Line per location, or one per source line (inlined calls) where DWARF gave them. */
	for (size_t i = 0; i < nf; i++) {
		const struct profile_frame *f = profile__frame(p, (__u32)(i + 1));

		nl += f->nlines ? f->nlines : 1;
	}
	b.st.idx = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	b.fn_idx = hashmap__new(fn_hash, fn_equal, NULL);
	/* One extra everywhere: calloc(0) may return NULL, and the kernel mapping may be added. */
	b.maps = calloc(nm + 1, sizeof(*b.maps));
	b.mapp = calloc(nm + 1, sizeof(*b.mapp));
	b.map_id = calloc(nm + 1, sizeof(*b.map_id));
	b.locs = calloc(nf + 1, sizeof(*b.locs));
	b.locp = calloc(nf + 1, sizeof(*b.locp));
	b.lines = calloc(nl + 1, sizeof(*b.lines));
	b.linep = calloc(nl + 1, sizeof(*b.linep));
	b.fns = calloc(nl + 1, sizeof(*b.fns));
	b.fnp = calloc(nl + 1, sizeof(*b.fnp));
	b.fkeys = calloc(nl + 1, sizeof(*b.fkeys));
	b.samples = calloc(ns + 1, sizeof(*b.samples));
	b.samplep = calloc(ns + 1, sizeof(*b.samplep));
	b.labels = calloc(4 * ns + 1, sizeof(*b.labels));
	b.labelp = calloc(4 * ns + 1, sizeof(*b.labelp));
	b.locids = calloc(total_frames + 1, sizeof(*b.locids));
	b.values = calloc(NR_TYPES_MAX * ns + 1, sizeof(*b.values));
	if (!b.st.idx || !b.fn_idx || !b.maps || !b.mapp || !b.map_id || !b.locs || !b.locp ||
	    !b.lines || !b.linep || !b.fns || !b.fnp || !b.fkeys || !b.samples || !b.samplep ||
	    !b.labels || !b.labelp || !b.locids || !b.values)
		goto out;
	if (str_id(&b.st, "") != 0)
		goto out;

	add_header(&b);
	add_mappings(&b, nm, nf);
	if (add_locations(&b, nm, nf))
		goto out;
	add_samples(&b, ns, signed_values);
	if (b.st.failed)
		goto out;
	b.prof.n_string_table = b.st.n;
	b.prof.string_table = b.st.s;

	len = perftools__profiles__profile__get_packed_size(&b.prof);
	buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	perftools__profiles__profile__pack(&b.prof, buf);
	err = write_gzip(out, buf, len);
	if (!err && ferror(out))
		err = -EIO;
out:
	free(buf);
	release(&b);
	return err;
}

int export_pprof(const struct profile *p, FILE *out, const struct export_opts *o)
{
	(void)o;
	return write_pprof(p, NULL, out);
}

int export_pprof_signed(const struct profile *p, const int64_t *values, FILE *out)
{
	return write_pprof(p, values, out);
}
