// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/hashmap.h"

struct entry {
	struct entry *next;
	const void *key;
	uintptr_t value;
	uint64_t hash;
};

struct hashmap {
	hashmap_hash_fn hash;
	hashmap_equal_fn equal;
	void *ctx;
	struct entry **buckets;
	size_t nbuckets; /* power of two */
	size_t size;
};

uint64_t hash_u64(uint64_t v)
{
	/* splitmix64 finalizer: cheap and spreads low-entropy keys (pids, addresses). */
	v ^= v >> 30;
	v *= 0xbf58476d1ce4e5b9ULL;
	v ^= v >> 27;
	v *= 0x94d049bb133111ebULL;
	v ^= v >> 31;
	return v;
}

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return hash_u64(h);
}

uint64_t hashmap_str_hash(const void *key, void *ctx)
{
	(void)ctx;
	return hash_bytes(key, strlen(key), 0);
}

bool hashmap_str_equal(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return strcmp(a, b) == 0;
}

uint64_t hashmap_int_hash(const void *key, void *ctx)
{
	(void)ctx;
	return hash_u64((uint64_t)(uintptr_t)key);
}

bool hashmap_int_equal(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return a == b;
}

struct hashmap *hashmap__new(hashmap_hash_fn hash, hashmap_equal_fn equal, void *ctx)
{
	struct hashmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->hash = hash;
	m->equal = equal;
	m->ctx = ctx;
	m->nbuckets = 16;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void hashmap__free(struct hashmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct entry **find_slot(const struct hashmap *m, const void *key, uint64_t h)
{
	struct entry **pe = &m->buckets[h & (m->nbuckets - 1)];

	for (; *pe; pe = &(*pe)->next)
		if ((*pe)->hash == h && m->equal((*pe)->key, key, m->ctx))
			return pe;
	return pe;
}

static int grow(struct hashmap *m)
{
	size_t n = m->nbuckets * 2;
	struct entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

int hashmap__set(struct hashmap *m, const void *key, uintptr_t value)
{
	uint64_t h = m->hash(key, m->ctx);
	struct entry **pe = find_slot(m, key, h), *e;

	if (*pe) {
		(*pe)->value = value;
		return 0;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->value = value;
	e->hash = h;
	e->next = NULL;
	*pe = e;
	m->size++;
	/* A failed grow only costs speed; the entry is already in. */
	if (m->size > m->nbuckets)
		(void)grow(m);
	return 0;
}

bool hashmap__get(const struct hashmap *m, const void *key, uintptr_t *value)
{
	struct entry **pe = find_slot(m, key, m->hash(key, m->ctx));

	if (!*pe)
		return false;
	if (value)
		*value = (*pe)->value;
	return true;
}

bool hashmap__delete(struct hashmap *m, const void *key)
{
	struct entry **pe = find_slot(m, key, m->hash(key, m->ctx)), *e = *pe;

	if (!e)
		return false;
	*pe = e->next;
	free(e);
	m->size--;
	return true;
}

size_t hashmap__size(const struct hashmap *m)
{
	return m->size;
}

int hashmap__for_each(const struct hashmap *m,
		      int (*fn)(const void *key, uintptr_t value, void *arg), void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct entry *e = m->buckets[i]; e; e = e->next) {
			int r = fn(e->key, e->value, arg);

			if (r)
				return r;
		}
	return 0;
}
