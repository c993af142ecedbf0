// SPDX-License-Identifier: GPL-2.0
/* The profile model: interned strings, deduplicated frames and mappings, and a flat list of stacks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/hashmap.h"
#include "model/profile.h"

struct profile {
	struct profile_meta meta;
	struct hashmap *strings; /* string -> itself (interned, owned) */

	struct profile_frame *frames;
	size_t nr_frames, cap_frames;
	struct hashmap *frame_idx; /* 1-based index -> index, hashed by content */

	struct profile_mapping *maps;
	size_t nr_maps, cap_maps;
	struct hashmap *map_idx;

	struct profile_stack *stacks;
	size_t nr_stacks, cap_stacks;
	struct hashmap *stack_idx; /* profile__merge: 1-based stack index, hashed by content */
};

static const char *intern(struct profile *p, const char *s)
{
	uintptr_t v;
	char *copy;

	if (!s)
		return NULL;
	if (hashmap__get(p->strings, s, &v))
		return (const char *)v;
	copy = strdup(s);
	if (!copy)
		return NULL;
	if (hashmap__set(p->strings, copy, (uintptr_t)copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

/* Interned strings compare by pointer, so frames and mappings hash their string pointers. */
static uint64_t frame_hash(const void *key, void *ctx)
{
	const struct profile *p = ctx;
	const struct profile_frame *f = &p->frames[(uintptr_t)key - 1];
	uint64_t parts[5] = { (uintptr_t)f->name, (uintptr_t)f->module, f->addr, f->mapping,
			      f->kind };

	return hash_bytes(parts, sizeof(parts), 1);
}

static bool frame_equal(const void *a, const void *b, void *ctx)
{
	const struct profile *p = ctx;
	const struct profile_frame *x = &p->frames[(uintptr_t)a - 1],
				   *y = &p->frames[(uintptr_t)b - 1];

	return x->name == y->name && x->module == y->module && x->addr == y->addr &&
	       x->mapping == y->mapping && x->kind == y->kind;
}

static uint64_t map_hash(const void *key, void *ctx)
{
	const struct profile *p = ctx;
	const struct profile_mapping *m = &p->maps[(uintptr_t)key - 1];
	uint64_t parts[5] = { m->start, m->limit, m->offset, (uintptr_t)m->path,
			      (uintptr_t)m->build_id };

	return hash_bytes(parts, sizeof(parts), 2);
}

static bool map_equal(const void *a, const void *b, void *ctx)
{
	const struct profile *p = ctx;
	const struct profile_mapping *x = &p->maps[(uintptr_t)a - 1],
				     *y = &p->maps[(uintptr_t)b - 1];

	return x->start == y->start && x->limit == y->limit && x->offset == y->offset &&
	       x->path == y->path && x->build_id == y->build_id;
}

static int reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n;
	void *a;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	a = realloc(*arr, n * elem);
	if (!a)
		return -ENOMEM;
	*arr = a;
	*cap = n;
	return 0;
}

struct profile *profile__new(const struct profile_meta *meta)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->strings = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	p->frame_idx = hashmap__new(frame_hash, frame_equal, p);
	p->map_idx = hashmap__new(map_hash, map_equal, p);
	if (!p->strings || !p->frame_idx || !p->map_idx)
		goto nomem;
	p->meta = *meta;
	p->meta.count_type = intern(p, meta->count_type ? meta->count_type : "samples");
	p->meta.count_unit = intern(p, meta->count_unit ? meta->count_unit : "count");
	p->meta.value_type = intern(p, meta->value_type ? meta->value_type : "cpu");
	p->meta.value_unit = intern(p, meta->value_unit ? meta->value_unit : "nanoseconds");
	p->meta.weight_unit = intern(p, meta->weight_unit ? meta->weight_unit : "samples");
	p->meta.title = meta->title ? intern(p, meta->title) : NULL;
	if (!p->meta.count_type || !p->meta.count_unit || !p->meta.value_type ||
	    !p->meta.value_unit || !p->meta.weight_unit || (meta->title && !p->meta.title))
		goto nomem;
	if (p->meta.nr_extra > PROFILE_MAX_EXTRA) {
		profile__free(p);
		errno = EINVAL;
		return NULL;
	}
	for (__u32 i = 0; i < PROFILE_MAX_EXTRA; i++) {
		bool on = i < p->meta.nr_extra;

		p->meta.extra_type[i] =
			on ? intern(p, meta->extra_type[i] ? meta->extra_type[i] : "extra") : NULL;
		p->meta.extra_unit[i] =
			on ? intern(p, meta->extra_unit[i] ? meta->extra_unit[i] : "count") : NULL;
		if (on && (!p->meta.extra_type[i] || !p->meta.extra_unit[i]))
			goto nomem;
	}
	p->meta.count_column = meta->count_column ? intern(p, meta->count_column) : NULL;
	if (meta->count_column && !p->meta.count_column)
		goto nomem;
	p->meta.period_type = intern(p, meta->period_type ? meta->period_type : p->meta.value_type);
	p->meta.period_unit = intern(p, meta->period_unit ? meta->period_unit : p->meta.value_unit);
	if (!p->meta.period_type || !p->meta.period_unit)
		goto nomem;
	return p;
nomem:
	profile__free(p);
	errno = ENOMEM;
	return NULL;
}

static int free_string(const void *key, uintptr_t value, void *arg)
{
	(void)key;
	(void)arg;
	free((void *)value);
	return 0;
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nr_stacks; i++)
		free((void *)p->stacks[i].frames);
	free(p->stacks);
	for (size_t i = 0; i < p->nr_frames; i++)
		free((void *)p->frames[i].lines);
	free(p->frames);
	free(p->maps);
	hashmap__free(p->frame_idx);
	hashmap__free(p->map_idx);
	hashmap__free(p->stack_idx);
	if (p->strings)
		hashmap__for_each(p->strings, free_string, NULL);
	hashmap__free(p->strings);
	free(p);
}

__u32 profile__add_mapping(struct profile *p, const struct profile_mapping *m)
{
	struct profile_mapping *slot;
	uintptr_t found, key;

	if (reserve((void **)&p->maps, &p->cap_maps, p->nr_maps + 1, sizeof(*p->maps)))
		goto nomem;
	/* Build the candidate in the next free slot; keep it only if it is new. */
	slot = &p->maps[p->nr_maps];
	*slot = *m;
	slot->path = intern(p, m->path ? m->path : "");
	slot->build_id = intern(p, m->build_id ? m->build_id : "");
	if (!slot->path || !slot->build_id)
		goto nomem;
	key = p->nr_maps + 1;
	if (hashmap__get(p->map_idx, (const void *)key, &found))
		return (__u32)found;
	if (hashmap__set(p->map_idx, (const void *)key, key))
		goto nomem;
	p->nr_maps++;
	return (__u32)key;
nomem:
	errno = ENOMEM;
	return 0;
}

__u32 profile__add_frame(struct profile *p, const struct profile_frame *f)
{
	struct profile_frame *slot;
	uintptr_t found, key;

	if (f->mapping > p->nr_maps) {
		errno = EINVAL;
		return 0;
	}
	if (reserve((void **)&p->frames, &p->cap_frames, p->nr_frames + 1, sizeof(*p->frames)))
		goto nomem;
	slot = &p->frames[p->nr_frames];
	*slot = *f;
	slot->name = intern(p, f->name ? f->name : "[unknown]");
	slot->module = intern(p, f->module ? f->module : "");
	if (!slot->name || !slot->module)
		goto nomem;
	slot->lines = NULL;
	slot->nlines = 0;
	key = p->nr_frames + 1;
	if (hashmap__get(p->frame_idx, (const void *)key, &found))
		return (__u32)found;
	if (f->nlines && f->lines) {
		struct profile_line *l = calloc(f->nlines, sizeof(*l));

		if (!l)
			goto nomem;
		for (__u32 i = 0; i < f->nlines; i++) {
			l[i].function =
				intern(p, f->lines[i].function ? f->lines[i].function : slot->name);
			l[i].file = intern(p, f->lines[i].file ? f->lines[i].file : "");
			l[i].line = f->lines[i].line;
			if (!l[i].function || !l[i].file) {
				free(l);
				goto nomem;
			}
		}
		slot->lines = l;
		slot->nlines = f->nlines;
	}
	if (hashmap__set(p->frame_idx, (const void *)key, key)) {
		free((void *)slot->lines);
		slot->lines = NULL;
		goto nomem;
	}
	p->nr_frames++;
	return (__u32)key;
nomem:
	errno = ENOMEM;
	return 0;
}

int profile__add_stack(struct profile *p, const struct profile_stack *s)
{
	struct profile_stack *slot;
	__u32 *frames = NULL;

	for (__u32 i = 0; i < s->nframes; i++)
		if (!s->frames[i] || s->frames[i] > p->nr_frames)
			return -EINVAL;
	if (reserve((void **)&p->stacks, &p->cap_stacks, p->nr_stacks + 1, sizeof(*p->stacks)))
		return -ENOMEM;
	if (s->nframes) {
		frames = malloc(s->nframes * sizeof(*frames));
		if (!frames)
			return -ENOMEM;
		memcpy(frames, s->frames, s->nframes * sizeof(*frames));
	}
	slot = &p->stacks[p->nr_stacks];
	*slot = *s;
	for (__u32 i = p->meta.nr_extra; i < PROFILE_MAX_EXTRA; i++)
		slot->extra[i] = 0;
	slot->frames = frames;
	slot->comm = intern(p, s->comm ? s->comm : "");
	slot->cgroup = intern(p, s->cgroup ? s->cgroup : "");
	if (!slot->comm || !slot->cgroup) {
		free(frames);
		return -ENOMEM;
	}
	p->nr_stacks++;
	return 0;
}

const struct profile_meta *profile__meta(const struct profile *p)
{
	return &p->meta;
}

size_t profile__nr_stacks(const struct profile *p)
{
	return p->nr_stacks;
}

const struct profile_stack *profile__stack(const struct profile *p, size_t i)
{
	return i < p->nr_stacks ? &p->stacks[i] : NULL;
}

size_t profile__nr_frames(const struct profile *p)
{
	return p->nr_frames;
}

const struct profile_frame *profile__frame(const struct profile *p, __u32 id)
{
	return id && id <= p->nr_frames ? &p->frames[id - 1] : NULL;
}

size_t profile__nr_mappings(const struct profile *p)
{
	return p->nr_maps;
}

const struct profile_mapping *profile__mapping(const struct profile *p, __u32 id)
{
	return id && id <= p->nr_maps ? &p->maps[id - 1] : NULL;
}

__u64 profile__weight(const struct profile *p, const struct profile_stack *s)
{
	return p->meta.weight_div ? s->value / p->meta.weight_div : s->count;
}

__u64 profile__total_weight(const struct profile *p)
{
	__u64 t = 0;

	for (size_t i = 0; i < p->nr_stacks; i++)
		t += profile__weight(p, &p->stacks[i]);
	return t;
}

/* Stacks compare by interned comm/cgroup pointers and frame ids. */
static uint64_t stack_hash(const void *key, void *ctx)
{
	const struct profile *p = ctx;
	const struct profile_stack *st = &p->stacks[(uintptr_t)key - 1];
	uint64_t parts[4] = { st->pid, st->tid, (uintptr_t)st->comm, (uintptr_t)st->cgroup };
	uint64_t h = hash_bytes(parts, sizeof(parts), 3);

	return st->nframes ? hash_bytes(st->frames, st->nframes * sizeof(__u32), h) : h;
}

static bool stack_equal(const void *a, const void *b, void *ctx)
{
	const struct profile *p = ctx;
	const struct profile_stack *x = &p->stacks[(uintptr_t)a - 1],
				   *y = &p->stacks[(uintptr_t)b - 1];

	return x->pid == y->pid && x->tid == y->tid && x->comm == y->comm &&
	       x->cgroup == y->cgroup && x->nframes == y->nframes &&
	       (!x->nframes || !memcmp(x->frames, y->frames, x->nframes * sizeof(__u32)));
}

int profile__merge(struct profile *dst, const struct profile *src,
		   bool (*keep)(const struct profile_stack *s, void *arg), void *arg,
		   unsigned int flags)
{
	__u32 *map_ids = NULL, *frame_ids = NULL, *frames = NULL;
	size_t cap_frames = 0;
	int err = -ENOMEM;

	if (!dst->stack_idx) {
		dst->stack_idx = hashmap__new(stack_hash, stack_equal, dst);
		if (!dst->stack_idx)
			return -ENOMEM;
		for (size_t i = 0; i < dst->nr_stacks; i++)
			if (hashmap__set(dst->stack_idx, (const void *)(uintptr_t)(i + 1), i + 1))
				return -ENOMEM;
	}
	map_ids = calloc(src->nr_maps + 1, sizeof(*map_ids));
	frame_ids = calloc(src->nr_frames + 1, sizeof(*frame_ids));
	if (!map_ids || !frame_ids)
		goto out;
	for (size_t i = 0; i < src->nr_maps; i++) {
		struct profile_mapping m = src->maps[i];

		/* By function, addresses go: so do the per-process load addresses of a file, and one
		 * mapping per file serves every process that maps it. */
		if (flags & PROFILE_MERGE_BY_FUNCTION)
			m.start = m.limit = m.offset = 0;
		if (!(map_ids[i + 1] = profile__add_mapping(dst, &m)))
			goto out;
	}
	for (size_t i = 0; i < src->nr_frames; i++) {
		struct profile_frame f = src->frames[i];

		f.mapping = map_ids[f.mapping];
		/* Named code: the function is the identity. Unnamed frames keep their address, it
		 * is all they have ("module+0x1234"). */
		struct profile_line outer;

		if ((flags & PROFILE_MERGE_BY_FUNCTION) &&
		    (f.kind == FRAME_USER || f.kind == FRAME_KERNEL) && !strchr(f.name, '+')) {
			f.addr = 0;
			/* The address's lines (and what was inlined there) no longer apply: the
			 * function keeps its own name and source file, without a line. */
			if (f.nlines) {
				outer = f.lines[f.nlines - 1];
				outer.line = 0;
				f.lines = &outer;
				f.nlines = 1;
			}
		}
		if (!(frame_ids[i + 1] = profile__add_frame(dst, &f)))
			goto out;
	}
	for (size_t i = 0; i < src->nr_stacks; i++) {
		struct profile_stack s = src->stacks[i];
		uintptr_t key = dst->nr_stacks + 1, found;

		if (keep && !keep(&s, arg))
			continue;
		if (s.nframes > cap_frames) {
			__u32 *n = realloc(frames, s.nframes * sizeof(*n));

			if (!n)
				goto out;
			frames = n;
			cap_frames = s.nframes;
		}
		for (__u32 k = 0; k < s.nframes; k++)
			frames[k] = frame_ids[s.frames[k]];
		s.frames = frames;
		if (flags & PROFILE_MERGE_DROP_TID)
			s.tid = 0;
		err = profile__add_stack(dst, &s);
		if (err)
			goto out;
		err = -ENOMEM;
		/* The candidate is the new last stack: keep it only if it is new. */
		if (hashmap__get(dst->stack_idx, (const void *)key, &found)) {
			struct profile_stack *into = &dst->stacks[found - 1];

			into->count += s.count;
			into->value += s.value;
			free((void *)dst->stacks[--dst->nr_stacks].frames);
			continue;
		}
		if (hashmap__set(dst->stack_idx, (const void *)key, key)) {
			free((void *)dst->stacks[--dst->nr_stacks].frames);
			goto out;
		}
	}
	err = 0;
out:
	free(map_ids);
	free(frame_ids);
	free(frames);
	return err;
}

void profile__set_span(struct profile *p, __u64 start_ns, __u64 duration_ns)
{
	p->meta.start_ns = start_ns;
	p->meta.duration_ns = duration_ns;
}

int profile__set_cgroup(struct profile *p, size_t i, const char *cgroup)
{
	const char *c;

	if (i >= p->nr_stacks)
		return -EINVAL;
	c = intern(p, cgroup ? cgroup : "");
	if (!c)
		return -ENOMEM;
	p->stacks[i].cgroup = c;
	return 0;
}
