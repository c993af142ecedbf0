// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/hashmap.h"
#include "model/spans.h"

#define ARENA_CHUNK (64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

struct spans {
	struct span *v;
	size_t n, cap;
	__u8 (*traces)[16];
	size_t ntraces, traces_cap;
	struct arena_chunk *arena;
	__u64 seed, counter;
	__s64 clock_off;
	const char *host;
	struct hashmap *by_id; /* span_id -> index + 1, built on demand */
	/* children index (CSR), built on demand */
	__u32 *child_off, *child_idx;
	bool index_ok;
};

static void *arena_alloc(struct spans *s, size_t len)
{
	struct arena_chunk *c = s->arena;

	len = (len + 7) & ~(size_t)7;
	if (!c || c->cap - c->used < len) {
		size_t cap = len > ARENA_CHUNK ? len : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = s->arena;
		c->used = 0;
		c->cap = cap;
		s->arena = c;
	}
	c->used += len;
	return c->data + c->used - len;
}

const char *spans__strdup(struct spans *s, const char *str)
{
	size_t len;
	char *p;

	if (!str)
		return NULL;
	len = strlen(str) + 1;
	p = arena_alloc(s, len);
	if (p)
		memcpy(p, str, len);
	return p;
}

struct spans *spans__new(void)
{
	struct spans *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->traces = calloc(4, sizeof(*s->traces));
	if (!s->traces) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->ntraces = 1;
	s->traces_cap = 4;
	s->seed = 0x853c49e6748fea9bULL;
	return s;
}

void spans__free(struct spans *s)
{
	struct arena_chunk *c, *next;

	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].attrs);
		free(s->v[i].links);
	}
	for (c = s->arena; c; c = next) {
		next = c->next;
		free(c);
	}
	hashmap__free(s->by_id);
	free(s->child_off);
	free(s->child_idx);
	free(s->traces);
	free(s->v);
	free(s);
}

static __u64 splitmix64(__u64 x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

void spans__seed(struct spans *s, __u64 seed)
{
	s->seed = seed;
}

__u32 spans__add(struct spans *s, enum span_cat cat, const char *name, __u32 pid, __u32 tid,
		 __u64 start_ns, __u64 end_ns)
{
	struct span *sp;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct span *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return SPAN_NONE;
		s->v = v;
		s->cap = cap;
	}
	if (s->n >= SPAN_NONE - 1)
		return SPAN_NONE;
	sp = &s->v[s->n];
	memset(sp, 0, sizeof(*sp));
	sp->name = spans__strdup(s, name ? name : "");
	if (!sp->name)
		return SPAN_NONE;
	do
		sp->span_id = splitmix64(s->seed + s->counter++);
	while (!sp->span_id);
	sp->parent = SPAN_NONE;
	sp->kind = SPAN_KIND_INTERNAL;
	sp->cat = cat;
	sp->pid = pid;
	sp->tid = tid;
	sp->start_ns = start_ns;
	sp->end_ns = end_ns;
	s->index_ok = false;
	if (s->by_id) {
		hashmap__free(s->by_id);
		s->by_id = NULL;
	}
	return (__u32)s->n++;
}

size_t spans__count(const struct spans *s)
{
	return s->n;
}

struct span *spans__at(struct spans *s, __u32 idx)
{
	return idx < s->n ? &s->v[idx] : NULL;
}

const struct span *spans__get(const struct spans *s, __u32 idx)
{
	return idx < s->n ? &s->v[idx] : NULL;
}

void spans__rename(struct spans *s, __u32 idx, const char *name)
{
	const char *n = spans__strdup(s, name);

	if (n && idx < s->n)
		s->v[idx].name = n;
}

static struct span_attr *attr_slot(struct spans *s, __u32 idx, const char *key)
{
	struct span *sp = spans__at(s, idx);

	if (!sp)
		return NULL;
	for (__u32 i = 0; i < sp->nattrs; i++)
		if (!strcmp(sp->attrs[i].key, key))
			return &sp->attrs[i];
	if (sp->nattrs == sp->attrs_cap) {
		__u32 cap = sp->attrs_cap ? sp->attrs_cap * 2 : 4;
		struct span_attr *a = realloc(sp->attrs, cap * sizeof(*a));

		if (!a)
			return NULL;
		sp->attrs = a;
		sp->attrs_cap = cap;
	}
	sp->attrs[sp->nattrs].key = key;
	return &sp->attrs[sp->nattrs++];
}

int spans__attr_str(struct spans *s, __u32 idx, const char *key, const char *v)
{
	const char *copy = spans__strdup(s, v ? v : "");
	struct span_attr *a = copy ? attr_slot(s, idx, key) : NULL;

	if (!a)
		return -ENOMEM;
	a->type = ATTR_STR;
	a->s = copy;
	return 0;
}

int spans__attr_int(struct spans *s, __u32 idx, const char *key, __s64 v)
{
	struct span_attr *a = attr_slot(s, idx, key);

	if (!a)
		return -ENOMEM;
	a->type = ATTR_INT;
	a->i = v;
	return 0;
}

int spans__attr_double(struct spans *s, __u32 idx, const char *key, double v)
{
	struct span_attr *a = attr_slot(s, idx, key);

	if (!a)
		return -ENOMEM;
	a->type = ATTR_DOUBLE;
	a->d = v;
	return 0;
}

int spans__attr_bool(struct spans *s, __u32 idx, const char *key, bool v)
{
	struct span_attr *a = attr_slot(s, idx, key);

	if (!a)
		return -ENOMEM;
	a->type = ATTR_BOOL;
	a->b = v;
	return 0;
}

int spans__attr_strs(struct spans *s, __u32 idx, const char *key, const char *const *v, __u32 n)
{
	const char **copy = arena_alloc(s, (n ? n : 1) * sizeof(*copy));
	struct span_attr *a;

	if (!copy)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++)
		if (!(copy[i] = spans__strdup(s, v[i])))
			return -ENOMEM;
	a = attr_slot(s, idx, key);
	if (!a)
		return -ENOMEM;
	a->type = ATTR_STRS;
	a->strs.v = copy;
	a->strs.n = n;
	return 0;
}

const struct span_attr *spans__attr(const struct spans *s, __u32 idx, const char *key)
{
	const struct span *sp = spans__get(s, idx);

	if (!sp)
		return NULL;
	for (__u32 i = 0; i < sp->nattrs; i++)
		if (!strcmp(sp->attrs[i].key, key))
			return &sp->attrs[i];
	return NULL;
}

void spans__set_status(struct spans *s, __u32 idx, enum span_status st, const char *msg)
{
	struct span *sp = spans__at(s, idx);

	if (!sp)
		return;
	sp->status = st;
	sp->status_msg = msg ? spans__strdup(s, msg) : NULL;
}

int spans__link(struct spans *s, __u32 idx, const struct span_link *l)
{
	struct span *sp = spans__at(s, idx);

	if (!sp)
		return -EINVAL;
	if (sp->nlinks == sp->links_cap) {
		__u32 cap = sp->links_cap ? sp->links_cap * 2 : 2;
		struct span_link *v = realloc(sp->links, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sp->links = v;
		sp->links_cap = cap;
	}
	sp->links[sp->nlinks++] = *l;
	return 0;
}

void spans__set_trace_id(struct spans *s, const __u8 id[16])
{
	memcpy(s->traces[0], id, 16);
}

__u32 spans__trace_add(struct spans *s, const __u8 id[16])
{
	for (size_t i = 0; i < s->ntraces; i++)
		if (!memcmp(s->traces[i], id, 16))
			return (__u32)i;
	if (s->ntraces == s->traces_cap) {
		size_t cap = s->traces_cap * 2;
		__u8(*t)[16] = realloc(s->traces, cap * sizeof(*t));

		if (!t)
			return SPAN_NONE;
		s->traces = t;
		s->traces_cap = cap;
	}
	memcpy(s->traces[s->ntraces], id, 16);
	return (__u32)s->ntraces++;
}

const __u8 *spans__trace_id(const struct spans *s, __u32 trace)
{
	return s->traces[trace < s->ntraces ? trace : 0];
}

size_t spans__nr_traces(const struct spans *s)
{
	return s->ntraces;
}

__u32 spans__find_id(const struct spans *s, __u64 span_id)
{
	struct spans *m = (struct spans *)s; /* the index is a cache */
	uintptr_t v;

	if (!m->by_id) {
		m->by_id = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
		if (!m->by_id)
			goto scan;
		for (size_t i = 0; i < s->n; i++)
			if (hashmap__set(m->by_id, (const void *)(uintptr_t)s->v[i].span_id,
					 i + 1)) {
				hashmap__free(m->by_id);
				m->by_id = NULL;
				goto scan;
			}
	}
	return hashmap__get(m->by_id, (const void *)(uintptr_t)span_id, &v) ? (__u32)(v - 1) :
									      SPAN_NONE;
scan:
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].span_id == span_id)
			return (__u32)i;
	return SPAN_NONE;
}

void spans__set_clock(struct spans *s, __s64 off)
{
	s->clock_off = off;
}

__u64 spans__realtime(const struct spans *s, __u64 mono_ns)
{
	return (__u64)((__s64)mono_ns + s->clock_off);
}

void spans__set_host(struct spans *s, const char *host)
{
	s->host = spans__strdup(s, host);
}

const char *spans__host(const struct spans *s)
{
	return s->host ? s->host : "";
}

void spans__inherit_traces(struct spans *s)
{
	/* A span's trace is its own when set, else its nearest ancestor's with one; parents may
	 * come after their children in the array, so walk up (bounded by the set's size). */
	for (size_t i = 0; i < s->n; i++) {
		__u32 p = (__u32)i, steps = 0;

		while (!s->v[p].trace && s->v[p].parent != SPAN_NONE && steps++ < s->n)
			p = s->v[p].parent;
		s->v[i].trace = s->v[p].trace;
	}
}

static int build_index(struct spans *s)
{
	__u32 *off = calloc(s->n + 2, sizeof(*off)), *idx = malloc((s->n + 1) * sizeof(*idx));

	if (!off || !idx) {
		free(off);
		free(idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].parent < s->n)
			off[s->v[i].parent + 2]++;
	for (size_t i = 2; i < s->n + 2; i++)
		off[i] += off[i - 1];
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].parent < s->n)
			idx[off[s->v[i].parent + 1]++] = (__u32)i;
	free(s->child_off);
	free(s->child_idx);
	s->child_off = off;
	s->child_idx = idx;
	s->index_ok = true;
	return 0;
}

size_t spans__children(struct spans *s, __u32 p, __u32 *out, size_t cap)
{
	size_t n;

	if (p >= s->n || (!s->index_ok && build_index(s)))
		return 0;
	n = s->child_off[p + 1] - s->child_off[p];
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = s->child_idx[s->child_off[p] + i];
	return n;
}

static int nestable(const struct span *sp)
{
	return sp->cat == SPAN_SYSCALL || sp->cat == SPAN_FUNCTION || sp->cat == SPAN_HTTP;
}

static const struct spans *sort_set;

/* By thread, then start ascending, then end descending (outer first). */
static int cmp_nest(const void *a, const void *b)
{
	const struct span *x = &sort_set->v[*(const __u32 *)a],
			  *y = &sort_set->v[*(const __u32 *)b];

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->end_ns != y->end_ns)
		return x->end_ns > y->end_ns ? -1 : 1;
	/* HTTP outside functions outside syscalls at equal extents */
	if (x->cat != y->cat)
		return x->cat > y->cat ? -1 : 1;
	return *(const __u32 *)a < *(const __u32 *)b ? -1 : 1;
}

#define NEST_DEPTH 64

int spans__nest(struct spans *s)
{
	__u32 *order = malloc((s->n + 1) * sizeof(*order)), stack[NEST_DEPTH];
	size_t m = 0, depth = 0;
	__u32 tid = 0;

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		if (nestable(&s->v[i]))
			order[m++] = (__u32)i;
	sort_set = s;
	qsort(order, m, sizeof(*order), cmp_nest);
	for (size_t k = 0; k < m; k++) {
		struct span *sp = &s->v[order[k]];

		if (!k || sp->tid != tid) {
			depth = 0;
			tid = sp->tid;
		}
		while (depth && s->v[stack[depth - 1]].end_ns < sp->end_ns)
			depth--;
		/* A parent set across threads (a SERVER span's CLIENT) stays. */
		if (depth && s->v[stack[depth - 1]].start_ns <= sp->start_ns &&
		    (sp->parent >= s->n || s->v[sp->parent].cat <= SPAN_THREAD))
			sp->parent = stack[depth - 1];
		if (depth < NEST_DEPTH)
			stack[depth++] = order[k];
	}
	free(order);
	s->index_ok = false;
	return 0;
}

/* ---- critical path ---- */

#define CRIT_DEPTH 256

static int cmp_end_desc(const void *a, const void *b)
{
	const struct span *x = &sort_set->v[*(const __u32 *)a],
			  *y = &sort_set->v[*(const __u32 *)b];

	if (x->end_ns != y->end_ns)
		return x->end_ns > y->end_ns ? -1 : 1;
	return *(const __u32 *)a < *(const __u32 *)b ? -1 : 1;
}

/*
 * Mark idx and walk back from min(its end, until), as Jaeger's critical path does: the child that
 * finished last, then (from that child's start) the last child that had finished by then, and so
 * on. A span whose wait another task ended (a link from inside the wait) continues in the cause,
 * whose span then covers the time back to its start. Returns how far back the walk covered
 * idx's part of the path (its start, or the start of the cause that ended its wait).
 */
static __u64 crit_walk(struct spans *s, __u32 idx, __u64 until, int depth, size_t *marked)
{
	struct span *sp = &s->v[idx];
	__u64 t = sp->end_ns < until ? sp->end_ns : until, covered = sp->start_ns;
	__u32 cause = SPAN_NONE, *kids;
	__u64 cause_ns = 0;
	bool first = true;
	size_t nk;

	if (!(sp->flags & SPAN_F_CRITICAL)) {
		sp->flags |= SPAN_F_CRITICAL;
		(*marked)++;
	}
	if (depth > CRIT_DEPTH)
		return covered;
	/* The latest cause inside the wait ended it. */
	for (__u32 l = 0; l < sp->nlinks; l++) {
		const struct span_link *lk = &sp->links[l];

		if (lk->from < s->n && lk->from != idx && lk->from_ns <= t &&
		    lk->from_ns >= sp->start_ns && lk->from_ns >= cause_ns) {
			cause = lk->from;
			cause_ns = lk->from_ns;
		}
	}
	if (cause != SPAN_NONE && !(s->v[cause].flags & SPAN_F_CRITICAL)) {
		__u64 c = crit_walk(s, cause, cause_ns, depth + 1, marked);

		if (c < covered)
			covered = c;
		t = c < t ? c : t;
	}
	nk = spans__children(s, idx, NULL, 0);
	if (!nk)
		return covered;
	kids = malloc(nk * sizeof(*kids));
	if (!kids)
		return covered;
	spans__children(s, idx, kids, nk);
	sort_set = s;
	qsort(kids, nk, sizeof(*kids), cmp_end_desc);
	for (size_t i = 0; i < nk; i++) {
		const struct span *k = &s->v[kids[i]];
		__u64 e, c;

		/* The first may run past the cursor (clipped to it); later ones must have
		 * finished by the time the previous one started. */
		if (k->start_ns >= t || (!first && k->end_ns > t))
			continue;
		e = k->end_ns < t ? k->end_ns : t;
		c = crit_walk(s, kids[i], e, depth + 1, marked);
		t = c < k->start_ns ? c : k->start_ns;
		first = false;
	}
	free(kids);
	return covered;
}

size_t spans__critical_path(struct spans *s, __u32 root)
{
	size_t marked = 0;

	if (root >= s->n)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		s->v[i].flags &= ~SPAN_F_CRITICAL;
	crit_walk(s, root, s->v[root].end_ns, 0, &marked);
	return marked;
}
