/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small chained hash map from opaque keys to pointer-sized values. The map stores the key pointer,
 * not a copy: the caller keeps each key alive (and unchanged) while it is in the map. Grows by doubling;
 * not thread-safe.
 */
#ifndef VIGIL_HASHMAP_H
#define VIGIL_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*hashmap_hash_fn)(const void *key, void *ctx);
typedef bool (*hashmap_equal_fn)(const void *a, const void *b, void *ctx);

struct hashmap;

/* Returns NULL with errno set. */
struct hashmap *hashmap__new(hashmap_hash_fn hash, hashmap_equal_fn equal, void *ctx);
/* NULL-safe; frees the map, not the keys or values. */
void hashmap__free(struct hashmap *m);
/* Inserts or replaces. Returns 0 or -ENOMEM. */
int hashmap__set(struct hashmap *m, const void *key, uintptr_t value);
/* True and *value set when key is present (value may be NULL). */
bool hashmap__get(const struct hashmap *m, const void *key, uintptr_t *value);
/* Removes key; true when it was present. */
bool hashmap__delete(struct hashmap *m, const void *key);
size_t hashmap__size(const struct hashmap *m);

/* Calls fn for each entry in unspecified order; stops early when fn returns non-zero, returning it. */
int hashmap__for_each(const struct hashmap *m,
		      int (*fn)(const void *key, uintptr_t value, void *arg), void *arg);

/* Hash helpers (64-bit FNV-1a with a final mix). */
uint64_t hash_bytes(const void *data, size_t len, uint64_t seed);
uint64_t hash_u64(uint64_t v);
/* Ready-made callbacks for NUL-terminated string keys and for keys that are the uint64 itself
 * (pass the integer cast to a pointer: (const void *)(uintptr_t)v). */
uint64_t hashmap_str_hash(const void *key, void *ctx);
bool hashmap_str_equal(const void *a, const void *b, void *ctx);
uint64_t hashmap_int_hash(const void *key, void *ctx);
bool hashmap_int_equal(const void *a, const void *b, void *ctx);

#endif
