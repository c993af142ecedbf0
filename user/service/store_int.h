/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The store's insides, shared by store.c (schema, points, reads, retention) and store_ends.c (the
 * collection loop's reported series and their ends). Nothing outside these two includes it.
 * Everything here runs under wlock (between store__begin and store__commit) unless said otherwise.
 */
#ifndef VIGIL_SERVICE_STORE_INT_H
#define VIGIL_SERVICE_STORE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sqlite3.h>

#include "service/store.h"

/* A series the writer appended to in this process (the id cache's value). */
struct cached_series {
	sqlite3_int64 id;
	const char *key; /* its cache key (raw_key() in store.c), owned by the cache */
	double last_v;
	__s64 last_t;
	bool stored; /* a point was stored by this process */
	__u64 seen; /* the reported set's generation it was last reported in (store_ends.c) */
	bool live; /* in the previous interval's reported set, and so in the table live */
};

/* Cached series of one interval's reported set. */
struct series_vec {
	struct cached_series **v;
	size_t n, cap;
};

struct store {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	sqlite3 *w; /* writer: the collection thread */
	sqlite3 *r; /* readers: HTTP threads (serialized connection) */
	pthread_mutex_t wlock; /* the writer connection and the id cache */
	struct hashmap *ids; /* "name\x1flabels" -> series id */
	struct hashmap *raw_ids; /* raw_key() -> struct cached_series */
	sqlite3_stmt *put_point; /* the writer's prepared point insert */
	sqlite3_stmt *put_end; /* and end-of-series insert */
	/*
	 * Per downsampling resolution: every point of a finer resolution before until is rolled up
	 * (kept in meta as points_rolled_RES); next, when known, is the start of the first window
	 * after it that holds points (points only come later).
	 */
	struct rolled {
		int res_s;
		bool known, has_next;
		__s64 until, next;
	} rolled[2];
	bool writable;
	bool in_tx;

	/* The collection loop's reported series (store_ends.c): this interval's (cur), the previous
	 * one's (prev), and until the transaction that closed an interval commits, the set before
	 * it (undo, with closed_in_tx). gen numbers the intervals (from 1). */
	struct series_vec cur, prev, undo;
	__u64 gen;
	bool closed_in_tx;
	sqlite3_stmt *put_live, *del_live, *get_series;
};

/* A failed write: full disk and I/O errors make the store unwritable (one line). -errno. */
int store_write_failed(struct store *s, int rc, const char *what);
/* Append one point (store.h's series interface) and give its cached series. 0 or -errno. */
int store_append(struct store *s, const char *name, const struct series_label *l, size_t nl,
		 const char *type, __s64 t_ms, double v, struct cached_series **out);
/* Record the end of series id at t_ms. 0 or -errno. */
int store_put_end(struct store *s, sqlite3_int64 id, __s64 t_ms);
/* A series' labels JSON -> a sorted label array (malloc'd, release with store_free_labels). */
int store_parse_labels(const char *txt, struct series_label **out, size_t *n);
void store_free_labels(struct series_label *l, size_t n);

/* store_ends.c: store__reported()'s append. */
int store_reported_append(void *ctx, const char *name, const struct series_label *l, size_t nl,
			  const char *type, __s64 t_ms, double v);
/* store_ends.c: the transaction that closed an interval committed (ok) or rolled back. */
void store_ends_commit(struct store *s, bool ok);
/* store_ends.c: free the reported sets and statements (store__close). */
void store_ends_release(struct store *s);

#endif
