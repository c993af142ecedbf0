// SPDX-License-Identifier: GPL-2.0
/*
 * The SQLite store: schema, interval writes, range reads, the series interface, retention and
 * downsampling. Every statement is prepared per call (a few per interval): simple, and cheap next to
 * the work of an interval.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include <sqlite3.h>

#include "model/hashmap.h"
#include "service/store.h"
#include "service/store_int.h"
#include "util/log.h"

#define SCHEMA_VERSION "1"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS profiles(id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
	" t0 INTEGER NOT NULL, t1 INTEGER NOT NULL, res INTEGER NOT NULL, blob BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS profiles_kt ON profiles(kind, t0);"
	"CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" labels TEXT NOT NULL, type TEXT NOT NULL, UNIQUE(name, labels));"
	"CREATE TABLE IF NOT EXISTS points(series INTEGER NOT NULL, t INTEGER NOT NULL,"
	" v REAL NOT NULL, res INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(series, t)) WITHOUT ROWID;"
	/* Ends of series (staleness markers: a resolved alert's ALERTS, a recorded series that
	 * stopped): the series has no value from t until its next point. A table of their own,
	 * not a NULL v, so points keep their NOT NULL column, a data directory of an older Vigil
	 * needs no migration, and one of this Vigil still opens in an older one. */
	"CREATE TABLE IF NOT EXISTS ends(series INTEGER NOT NULL, t INTEGER NOT NULL,"
	" PRIMARY KEY(series, t)) WITHOUT ROWID;"
	/* The collection loop's series reported at its latest interval (store_ends.c): a restart
	 * ends them, as a scraper ends a target's series when it goes down. */
	"CREATE TABLE IF NOT EXISTS live(series INTEGER PRIMARY KEY);"
	/* No index on (res, t): it took 40% more bytes than the points themselves, and retention and
	 * downsampling seek each series by its key instead (struct rolled). */
	"DROP INDEX IF EXISTS points_rt;"
	"INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '" SCHEMA_VERSION "');";

/* A failed write: full disk and I/O errors make the store unwritable (one line), others are bugs. */
int store_write_failed(struct store *s, int rc, const char *what)
{
	int err = rc == SQLITE_FULL ? -ENOSPC : rc == SQLITE_IOERR ? -EIO : -EPROTO;

	if (s->writable)
		pr_err("store: %s failed: %s (%s); writes stop until it works again%s", what,
		       sqlite3_errmsg(s->w), s->path,
		       err == -ENOSPC ? " (disk full: free space in the data directory)" : "");
	s->writable = false;
	return err;
}

static int check_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		int err = -errno;

		pr_err("cannot create data directory %s: %s", dir, strerror(errno));
		return err;
	}
	if (stat(dir, &st)) {
		int err = -errno;

		pr_err("cannot stat data directory %s: %s", dir, strerror(errno));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		pr_err("data directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	if (st.st_mode & S_IWOTH) {
		pr_err("data directory %s is world-writable (mode %04o); refusing it (chmod 0700 it "
		       "or choose another --data-dir)",
		       dir, st.st_mode & 07777);
		return -EPERM;
	}
	if (st.st_uid != geteuid()) {
		pr_err("data directory %s belongs to uid %u, not to this user; refusing it", dir,
		       st.st_uid);
		return -EPERM;
	}
	return 0;
}

static sqlite3 *open_db(const char *path, int flags)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		pr_err("cannot open the database %s: %s", path, db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_extended_result_codes(db, 0);
	return db;
}

static uint64_t key_hash(const void *k, void *ctx)
{
	return hashmap_str_hash(k, ctx);
}

struct store *store__open(const char *dir)
{
	struct store *s = calloc(1, sizeof(*s));
	char *errmsg = NULL;
	sqlite3_stmt *st = NULL;
	int err = -EINVAL, rc;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->wlock, NULL);
	s->gen = 1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->path, sizeof(s->path), "%s/vigil.db", dir);
	s->ids = hashmap__new(key_hash, hashmap_str_equal, NULL);
	s->raw_ids = hashmap__new(key_hash, hashmap_str_equal, NULL);
	if (!s->ids || !s->raw_ids) {
		err = -ENOMEM;
		goto fail;
	}
	err = check_dir(dir);
	if (err)
		goto fail;
	err = -EINVAL;
	s->w = open_db(s->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (!s->w)
		goto fail;
	chmod(s->path, 0600);
	/* A file that is not SQLite fails here; a damaged one fails the quick check. */
	/* The WAL is checkpointed after every interval (store__maintain) and cut back to 1 MiB
	 * when a burst made it longer: left to the default (every 1000 pages, never shrunk) it
	 * held 4 MB more than the data. */
	rc = sqlite3_exec(s->w,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			  "PRAGMA journal_size_limit=1048576;",
			  NULL, NULL, &errmsg);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->w, "PRAGMA quick_check", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
			rc = SQLITE_CORRUPT;
		else if (rc == SQLITE_ROW)
			rc = SQLITE_OK;
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK) {
		pr_err("the database %s is corrupt or not a Vigil database (%s); move it away to "
		       "start afresh",
		       s->path, errmsg ? errmsg : sqlite3_errstr(rc));
		goto fail;
	}
	if (sqlite3_exec(s->w, schema, NULL, NULL, &errmsg) != SQLITE_OK) {
		pr_err("setting up the database %s failed: %s", s->path, errmsg);
		goto fail;
	}
	s->r = open_db(s->path, SQLITE_OPEN_READONLY);
	if (!s->r)
		goto fail;
	s->writable = true;
	return s;
fail:
	sqlite3_free(errmsg);
	store__close(s);
	errno = -err;
	return NULL;
}

static int free_key(const void *key, uintptr_t v, void *arg)
{
	(void)v;
	(void)arg;
	free((void *)key);
	return 0;
}

static int free_key_value(const void *key, uintptr_t v, void *arg)
{
	(void)arg;
	free((void *)key);
	free((void *)v);
	return 0;
}

void store__close(struct store *s)
{
	if (!s)
		return;
	if (s->in_tx)
		sqlite3_exec(s->w, "COMMIT", NULL, NULL, NULL);
	sqlite3_finalize(s->put_point);
	sqlite3_finalize(s->put_end);
	store_ends_release(s);
	sqlite3_close(s->r);
	sqlite3_close(s->w);
	if (s->ids)
		hashmap__for_each(s->ids, free_key, NULL);
	hashmap__free(s->ids);
	if (s->raw_ids)
		hashmap__for_each(s->raw_ids, free_key_value, NULL);
	hashmap__free(s->raw_ids);
	pthread_mutex_destroy(&s->wlock);
	free(s);
}

const char *store__path(const struct store *s)
{
	return s->path;
}

bool store__writable(const struct store *s)
{
	return s->writable;
}

int store__begin(struct store *s)
{
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_exec(s->w, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		pthread_mutex_unlock(&s->wlock);
		return store_write_failed(s, rc, "starting a transaction");
	}
	s->in_tx = true;
	return 0;
}

int store__commit(struct store *s)
{
	int rc = sqlite3_exec(s->w, "COMMIT", NULL, NULL, NULL), err = 0;

	if (rc != SQLITE_OK) {
		err = store_write_failed(s, rc, "writing the interval");
		sqlite3_exec(s->w, "ROLLBACK", NULL, NULL, NULL);
	} else if (!s->writable) {
		pr_info("store: writing again (%s)", s->path);
		s->writable = true;
	}
	store_ends_commit(s, !err);
	s->in_tx = false;
	pthread_mutex_unlock(&s->wlock);
	return err;
}

int store__put_profile(struct store *s, const char *kind, __s64 t0_ms, __s64 t1_ms, int res_s,
		       const void *blob, size_t len)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
		s->w, "INSERT INTO profiles(kind, t0, t1, res, blob) VALUES(?, ?, ?, ?, ?)", -1,
		&st, NULL);

	if (rc != SQLITE_OK)
		return store_write_failed(s, rc, "storing a profile");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t0_ms);
	sqlite3_bind_int64(st, 3, t1_ms);
	sqlite3_bind_int(st, 4, res_s);
	sqlite3_bind_blob(st, 5, blob, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_write_failed(s, rc, "storing a profile");
}

int store__profiles(struct store *s, const char *kind, __s64 from_ms, __s64 to_ms,
		    store_profile_fn fn, void *arg)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->r,
				    "SELECT t0, t1, blob FROM profiles WHERE kind = ? AND t0 < ? "
				    "AND t1 > ? ORDER BY t0",
				    -1, &st, NULL),
	    ret = 0;

	if (rc != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, to_ms);
	sqlite3_bind_int64(st, 3, from_ms);
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ret = fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
			 sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
	sqlite3_finalize(st);
	if (!ret && rc != SQLITE_DONE)
		ret = -EIO;
	return ret;
}

int store__profile_count(struct store *s, const char *kind, long *n, __s64 *oldest_ms)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->r, "SELECT count(*), min(t0) FROM profiles WHERE kind = ?",
				    -1, &st, NULL);

	if (rc != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = (long)sqlite3_column_int64(st, 0);
		*oldest_ms = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

/* ---- series ---- */

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct series_label *)a)->name,
		      ((const struct series_label *)b)->name);
}

/* Canonical label text: a compact JSON object with sorted keys. malloc'd, NULL on ENOMEM. */
static char *labels_json(const struct series_label *l, size_t n)
{
	json_t *o = json_object();
	char *txt;

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, l[i].name, json_string(l[i].value));
	txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return txt;
}

static int series_id(struct store *s, const char *name, const char *labels, const char *type,
		     sqlite3_int64 *id)
{
	size_t len = strlen(name) + strlen(labels) + 2;
	char *key = malloc(len);
	sqlite3_stmt *st = NULL;
	uintptr_t v;
	int rc;

	if (!key)
		return -ENOMEM;
	snprintf(key, len, "%s\x1f%s", name, labels);
	if (hashmap__get(s->ids, key, &v)) {
		free(key);
		*id = (sqlite3_int64)v;
		return 0;
	}
	rc = sqlite3_prepare_v2(s->w,
				"INSERT INTO series(name, labels, type) VALUES(?, ?, ?) "
				"ON CONFLICT(name, labels) DO UPDATE SET type = excluded.type "
				"RETURNING id",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, labels, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		free(key);
		return store_write_failed(s, rc, "adding a series");
	}
	*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (hashmap__set(s->ids, key, (uintptr_t)*id)) {
		free(key);
		return -ENOMEM;
	}
	return 0;
}

/* The id cache's key: name and the labels as given (callers repeat the same order every interval,
 * so the canonical JSON is built only for a series' first point). malloc'd. */
static char *raw_key(const char *name, const struct series_label *l, size_t nl)
{
	size_t len = strlen(name) + 2;
	char *k, *p;

	for (size_t i = 0; i < nl; i++)
		len += strlen(l[i].name) + strlen(l[i].value) + 2;
	k = malloc(len);
	if (!k)
		return NULL;
	p = k + sprintf(k, "%s", name);
	for (size_t i = 0; i < nl; i++)
		p += sprintf(p, "\x1f%s\x1e%s", l[i].name, l[i].value);
	return k;
}

int store_put_end(struct store *s, sqlite3_int64 id, __s64 t_ms)
{
	int rc;

	if (!s->put_end) {
		rc = sqlite3_prepare_v2(s->w, "INSERT OR IGNORE INTO ends(series, t) VALUES(?, ?)",
					-1, &s->put_end, NULL);
		if (rc != SQLITE_OK)
			return store_write_failed(s, rc, "ending a series");
	}
	sqlite3_reset(s->put_end);
	sqlite3_bind_int64(s->put_end, 1, id);
	sqlite3_bind_int64(s->put_end, 2, t_ms);
	rc = sqlite3_step(s->put_end);
	sqlite3_reset(s->put_end);
	return rc == SQLITE_DONE ? 0 : store_write_failed(s, rc, "ending a series");
}

int store_append(struct store *s, const char *name, const struct series_label *l, size_t nl,
		 const char *type, __s64 t_ms, double v, struct cached_series **out)
{
	struct series_label *sorted = NULL;
	struct cached_series *cs;
	sqlite3_int64 id;
	char *labels = NULL, *key = raw_key(name, l, nl);
	uintptr_t cached;
	int err = 0, rc;

	if (!key)
		return -ENOMEM;
	if (hashmap__get(s->raw_ids, key, &cached)) {
		cs = (struct cached_series *)cached;
		free(key);
	} else {
		sorted = nl ? malloc(nl * sizeof(*sorted)) : NULL;
		cs = calloc(1, sizeof(*cs));
		if ((nl && !sorted) || !cs) {
			free(sorted);
			free(cs);
			free(key);
			return -ENOMEM;
		}
		if (nl)
			memcpy(sorted, l, nl * sizeof(*sorted));
		if (nl > 1)
			qsort(sorted, nl, sizeof(*sorted), cmp_label);
		labels = labels_json(sorted, nl);
		free(sorted);
		err = labels ? series_id(s, name, labels, type ? type : "gauge", &cs->id) : -ENOMEM;
		free(labels);
		if (!err && hashmap__set(s->raw_ids, key, (uintptr_t)cs))
			err = -ENOMEM;
		if (err) {
			free(cs);
			free(key);
			return err;
		}
		cs->key = key;
	}
	*out = cs;
	id = cs->id;
	/* The series ends at t_ms: recorded, and its next point is stored whatever its value. */
	if (series_is_end(v)) {
		err = store_put_end(s, id, t_ms);
		if (!err)
			cs->stored = false;
		return err;
	}
	/* An unchanged value within the heartbeat adds nothing: readers hold the last value. */
	if (cs->stored && v == cs->last_v && t_ms > cs->last_t &&
	    t_ms - cs->last_t < STORE_HEARTBEAT_MS)
		return 0;
	/* One prepared statement for every point (an interval appends hundreds). */
	if (!s->put_point) {
		rc = sqlite3_prepare_v2(
			s->w, "INSERT OR REPLACE INTO points(series, t, v) VALUES(?, ?, ?)", -1,
			&s->put_point, NULL);
		if (rc != SQLITE_OK)
			return store_write_failed(s, rc, "adding a point");
	}
	sqlite3_reset(s->put_point);
	sqlite3_bind_int64(s->put_point, 1, id);
	sqlite3_bind_int64(s->put_point, 2, t_ms);
	sqlite3_bind_double(s->put_point, 3, v);
	rc = sqlite3_step(s->put_point);
	sqlite3_reset(s->put_point);
	if (rc != SQLITE_DONE)
		return store_write_failed(s, rc, "adding a point");
	cs->last_v = v;
	cs->last_t = t_ms;
	cs->stored = true;
	return 0;
}

static int series_append(void *ctx, const char *name, const struct series_label *l, size_t nl,
			 const char *type, __s64 t_ms, double v)
{
	struct cached_series *cs;

	return store_append(ctx, name, l, nl, type, t_ms, v, &cs);
}

int store_parse_labels(const char *txt, struct series_label **out, size_t *n)
{
	json_t *o = json_loads(txt, 0, NULL), *v;
	const char *k;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return -EINVAL;
	}
	*out = calloc(json_object_size(o) + 1, sizeof(**out));
	if (!*out) {
		json_decref(o);
		return -ENOMEM;
	}
	json_object_foreach(o, k, v)
	{
		(*out)[i].name = strdup(k);
		(*out)[i].value = strdup(json_is_string(v) ? json_string_value(v) : "");
		if (!(*out)[i].name || !(*out)[i].value) {
			free((*out)[i].name);
			free((*out)[i].value);
			break;
		}
		i++;
	}
	json_decref(o);
	*n = i;
	if (i > 1)
		qsort(*out, i, sizeof(**out), cmp_label);
	return 0;
}

void store_free_labels(struct series_label *l, size_t n)
{
	for (size_t k = 0; l && k < n; k++) {
		free(l[k].name);
		free(l[k].value);
	}
	free(l);
}

/* The points of series id in [from, to] and its ends there (as series_end_value() points, after
 * a point of the same time), in time order. */
static int load_points(struct store *s, sqlite3_int64 id, __s64 from, __s64 to, struct series *se)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc = sqlite3_prepare_v2(
		s->r,
		"SELECT t, v, 0 AS e FROM points WHERE series = ?1 AND t >= ?2 AND t <= ?3 "
		"UNION ALL SELECT t, NULL, 1 FROM ends WHERE series = ?1 AND t >= ?2 AND t <= ?3 "
		"ORDER BY t, e",
		-1, &st, NULL);

	if (rc != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (se->nr_points == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct series_point *p = realloc(se->points, c * sizeof(*p));

			if (!p) {
				sqlite3_finalize(st);
				return -ENOMEM;
			}
			se->points = p;
			cap = c;
		}
		se->points[se->nr_points].t_ms = sqlite3_column_int64(st, 0);
		se->points[se->nr_points++].v = sqlite3_column_int(st, 2) ?
							series_end_value() :
							sqlite3_column_double(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Nothing but ends: nothing to show. */
static bool only_ends(const struct series *se)
{
	for (size_t i = 0; i < se->nr_points; i++)
		if (!series_is_end(se->points[i].v))
			return false;
	return true;
}

static void series_free(struct series *se)
{
	free(se->name);
	store_free_labels(se->labels, se->nr_labels);
	free(se->points);
	memset(se, 0, sizeof(*se));
}

static int series_select(void *ctx, const char *name, const struct series_matcher *m, size_t nm,
			 __s64 from_ms, __s64 to_ms, struct series_set *out)
{
	struct store *s = ctx;
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc, err = 0;

	memset(out, 0, sizeof(*out));
	rc = sqlite3_prepare_v2(s->r,
				name ? "SELECT id, name, labels, type FROM series WHERE name = ?" :
				       "SELECT id, name, labels, type FROM series",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct series se = { 0 };
		const char *n = (const char *)sqlite3_column_text(st, 1);
		int match;

		err = store_parse_labels((const char *)sqlite3_column_text(st, 2), &se.labels,
					 &se.nr_labels);
		if (err)
			break;
		match = series_matches(n, se.labels, se.nr_labels, m, nm);
		if (match < 0)
			err = match;
		if (match > 0)
			err = load_points(s, sqlite3_column_int64(st, 0), from_ms, to_ms, &se);
		if (match <= 0 || err || only_ends(&se)) {
			series_free(&se);
			continue;
		}
		se.name = strdup(n);
		if (!se.name) {
			series_free(&se);
			err = -ENOMEM;
			break;
		}
		snprintf(se.type, sizeof(se.type), "%s", (const char *)sqlite3_column_text(st, 3));
		if (out->n == cap) {
			size_t c = cap ? cap * 2 : 16;
			struct series *ns = realloc(out->s, c * sizeof(*ns));

			if (!ns) {
				series_free(&se);
				err = -ENOMEM;
				break;
			}
			out->s = ns;
			cap = c;
		}
		out->s[out->n++] = se;
	}
	sqlite3_finalize(st);
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = -EIO;
	if (err)
		series_set__release(out);
	return err;
}

static const struct series_store_ops store_ops = {
	.select = series_select,
	.append = series_append,
};

struct series_store store__series(struct store *s)
{
	return (struct series_store){ .ops = &store_ops, .ctx = s };
}

static const struct series_store_ops reported_ops = {
	.select = series_select,
	.append = store_reported_append,
};

struct series_store store__reported(struct store *s)
{
	return (struct series_store){ .ops = &reported_ops, .ctx = s };
}

int store__list_series(struct store *s, store_series_fn fn, void *arg)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->r,
				    "SELECT name, type, labels FROM series ORDER BY name, labels",
				    -1, &st, NULL),
	    ret = 0;

	if (rc != SQLITE_OK)
		return -EIO;
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ret = fn(arg, (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1),
			 (const char *)sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	return ret;
}

int store__kv_set(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = sqlite3_prepare_v2(s->w, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1,
				&st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->wlock);
	return rc == SQLITE_DONE ? 0 : store_write_failed(s, rc, "saving state");
}

char *store__kv_get(struct store *s, const char *key)
{
	sqlite3_stmt *st;
	char *v = NULL;

	if (sqlite3_prepare_v2(s->r, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* ---- retention and downsampling ---- */

static int exec_i64(sqlite3 *db, const char *sql, __s64 a, __s64 b, __s64 c)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, c);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Merge one bucket of profiles of resolution below res_s into one of res_s. 1 merged, 0 none. */
static int downsample_profiles(struct store *s, __s64 cut_ms, int res_s, store_merge_fn merge,
			       void *arg)
{
	sqlite3_stmt *st;
	char kind[32] = "";
	__s64 b0 = 0, b1, t0 = INT64_MAX, t1 = 0;
	const void **blobs = NULL;
	size_t *lens = NULL, n = 0, cap = 0;
	sqlite3_int64 *ids = NULL;
	void *out = NULL;
	size_t out_len = 0;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(s->w,
				"SELECT kind, t0 FROM profiles WHERE res < ? AND t1 <= ? "
				"ORDER BY t0 LIMIT 1",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int(st, 1, res_s);
	sqlite3_bind_int64(st, 2, cut_ms);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(kind, sizeof(kind), "%s", (const char *)sqlite3_column_text(st, 0));
		b0 = sqlite3_column_int64(st, 1) / (res_s * 1000LL) * (res_s * 1000LL);
	}
	sqlite3_finalize(st);
	if (!*kind)
		return 0;
	b1 = b0 + res_s * 1000LL;
	/* Complete windows only: a later profile of this window would make a second row. */
	if (b1 > cut_ms)
		return 0;
	rc = sqlite3_prepare_v2(s->w,
				"SELECT id, t0, t1, blob FROM profiles WHERE kind = ? AND res < ? "
				"AND t0 >= ? AND t0 < ? AND t1 <= ? ORDER BY t0",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, res_s);
	sqlite3_bind_int64(st, 3, b0);
	sqlite3_bind_int64(st, 4, b1);
	sqlite3_bind_int64(st, 5, cut_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 3);
		void *copy = malloc(len ? len : 1);

		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			const void **nb = realloc(blobs, c * sizeof(*nb));
			size_t *nl = nb ? realloc(lens, c * sizeof(*nl)) : NULL;
			sqlite3_int64 *ni = nl ? realloc(ids, c * sizeof(*ni)) : NULL;

			if (nb)
				blobs = nb;
			if (nl)
				lens = nl;
			if (ni)
				ids = ni;
			if (!nb || !nl || !ni) {
				free(copy);
				ret = -ENOMEM;
				break;
			}
			cap = c;
		}
		if (!copy) {
			ret = -ENOMEM;
			break;
		}
		memcpy(copy, sqlite3_column_blob(st, 3), len);
		blobs[n] = copy;
		lens[n] = len;
		ids[n] = sqlite3_column_int64(st, 0);
		if (sqlite3_column_int64(st, 1) < t0)
			t0 = sqlite3_column_int64(st, 1);
		if (sqlite3_column_int64(st, 2) > t1)
			t1 = sqlite3_column_int64(st, 2);
		n++;
	}
	sqlite3_finalize(st);
	if (!ret && n)
		ret = merge(arg, kind, blobs, lens, n, &out, &out_len);
	if (!ret && n) {
		if (sqlite3_exec(s->w, "SAVEPOINT ds", NULL, NULL, NULL) != SQLITE_OK) {
			ret = -EIO;
			goto out;
		}
		for (size_t i = 0; i < n && !ret; i++)
			if ((rc = exec_i64(s->w, "DELETE FROM profiles WHERE id = ?", ids[i], 0,
					   0)))
				ret = store_write_failed(s, rc, "downsampling profiles");
		if (!ret)
			ret = store__put_profile(s, kind, t0, t1, res_s, out, out_len);
		sqlite3_exec(s->w, ret ? "ROLLBACK TO ds; RELEASE ds" : "RELEASE ds", NULL, NULL,
			     NULL);
		if (!ret)
			ret = 1;
	}
out:
	for (size_t i = 0; i < n; i++)
		free((void *)blobs[i]);
	free(blobs);
	free(lens);
	free(ids);
	free(out);
	return ret;
}

/* The roll-up state of res_s: loaded from meta, else found by one scan of the points (a database
 * from before it was kept), else cut_ms (nothing to roll: later points come after it). */
static struct rolled *rolled_of(struct store *s, int res_s, __s64 cut_ms)
{
	struct rolled *r = NULL;
	sqlite3_stmt *st;
	char key[48];
	__s64 until = cut_ms / (res_s * 1000LL) * (res_s * 1000LL);

	for (int i = 0; i < 2 && !r; i++)
		if (s->rolled[i].known && s->rolled[i].res_s == res_s)
			return &s->rolled[i];
	for (int i = 0; i < 2 && !r; i++)
		if (!s->rolled[i].known)
			r = &s->rolled[i];
	if (!r)
		r = &s->rolled[0]; /* a third resolution: the first is found again when needed */
	snprintf(key, sizeof(key), "points_rolled_%d", res_s);
	if (sqlite3_prepare_v2(s->w, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		until = strtoll((const char *)sqlite3_column_text(st, 0), NULL, 10);
	} else {
		sqlite3_finalize(st);
		if (sqlite3_prepare_v2(s->w, "SELECT min(t) FROM points WHERE res < ?", -1, &st,
				       NULL) != SQLITE_OK)
			return NULL;
		sqlite3_bind_int(st, 1, res_s);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			until = sqlite3_column_int64(st, 0) / (res_s * 1000LL) * (res_s * 1000LL);
	}
	sqlite3_finalize(st);
	*r = (struct rolled){ .res_s = res_s, .known = true, .until = until };
	return r;
}

/* Roll up one window of points of resolution below res_s. 1 rolled, 0 none. */
static int downsample_points(struct store *s, __s64 cut_ms, int res_s)
{
	struct rolled *r = rolled_of(s, res_s, cut_ms);
	sqlite3_stmt *st;
	__s64 w0 = -1, w1;
	int rc;

	if (!r)
		return -EIO;
	if (!r->has_next) {
		/* The first point at or after until of any series: one key seek per series. */
		rc = sqlite3_prepare_v2(
			s->w,
			"SELECT min((SELECT p.t FROM points p WHERE p.series = s.id "
			"AND p.t >= ? ORDER BY p.t LIMIT 1)) FROM series s",
			-1, &st, NULL);
		if (rc != SQLITE_OK)
			return -EIO;
		sqlite3_bind_int64(st, 1, r->until);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			w0 = sqlite3_column_int64(st, 0) / (res_s * 1000LL) * (res_s * 1000LL);
		sqlite3_finalize(st);
		if (w0 < 0)
			return 0;
		r->next = w0;
		r->has_next = true;
	}
	w0 = r->next;
	w1 = w0 + res_s * 1000LL;
	if (w1 > cut_ms)
		return 0;
	/* Counters keep the last value of the window, gauges the mean; the point lands at the
	 * window's last millisecond. Series outermost: each one's points found by key. */
	rc = sqlite3_exec(s->w, "SAVEPOINT dp", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = exec_i64(s->w,
			      "CREATE TEMP TABLE IF NOT EXISTS roll(series INTEGER, t INTEGER, "
			      "v REAL, res INTEGER)",
			      0, 0, 0);
	if (rc == SQLITE_OK)
		rc = exec_i64(s->w, "DELETE FROM roll", 0, 0, 0);
	if (rc == SQLITE_OK) {
		char sql[640];

		snprintf(
			sql, sizeof(sql),
			"INSERT INTO roll SELECT p.series, ?2 - 1, CASE s.type WHEN 'gauge' "
			"THEN avg(p.v) ELSE (SELECT q.v FROM points q WHERE q.series = p.series "
			"AND q.t >= ?1 AND q.t < ?2 AND q.res < %d ORDER BY q.t DESC LIMIT 1) END, "
			"%d FROM series s CROSS JOIN points p ON p.series = s.id WHERE p.t >= ?1 "
			"AND p.t < ?2 AND p.res < %d GROUP BY p.series",
			res_s, res_s, res_s);
		rc = exec_i64(s->w, sql, w0, w1, 0);
	}
	if (rc == SQLITE_OK) {
		char sql[192];

		snprintf(sql, sizeof(sql),
			 "DELETE FROM points WHERE series IN (SELECT id FROM series) AND t >= ? "
			 "AND t < ? AND res < %d",
			 res_s);
		rc = exec_i64(s->w, sql, w0, w1, 0);
	}
	if (rc == SQLITE_OK)
		rc = exec_i64(s->w, "INSERT OR REPLACE INTO points SELECT * FROM roll", 0, 0, 0);
	/* Rolled-up points have no ends, as they have no held points (storesrc.h): a window's
	 * point lands at its end, after any end within it. */
	if (rc == SQLITE_OK)
		rc = exec_i64(s->w, "DELETE FROM ends WHERE t >= ? AND t < ?", w0, w1, 0);
	if (rc == SQLITE_OK) {
		char key[48], val[32];
		sqlite3_stmt *kv;

		snprintf(key, sizeof(key), "points_rolled_%d", res_s);
		snprintf(val, sizeof(val), "%lld", (long long)w1);
		rc = sqlite3_prepare_v2(s->w,
					"INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1,
					&kv, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(kv, 1, key, -1, SQLITE_STATIC);
			sqlite3_bind_text(kv, 2, val, -1, SQLITE_STATIC);
			rc = sqlite3_step(kv) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
			sqlite3_finalize(kv);
		}
	}
	sqlite3_exec(s->w, rc == SQLITE_OK ? "RELEASE dp" : "ROLLBACK TO dp; RELEASE dp", NULL,
		     NULL, NULL);
	if (rc != SQLITE_OK)
		return store_write_failed(s, rc, "downsampling points");
	r->until = w1;
	r->has_next = false;
	return 1;
}

int store__maintain(struct store *s, __s64 now_ms, const struct store_policy *p,
		    store_merge_fn merge, void *arg)
{
	int rc, ret = 0;

	if (!s->writable)
		return 0;
	rc = exec_i64(s->w, "DELETE FROM profiles WHERE t1 < ?", now_ms - p->retention_s * 1000, 0,
		      0);
	if (rc == SQLITE_OK)
		rc = exec_i64(
			s->w,
			"DELETE FROM points WHERE series IN (SELECT id FROM series) AND t < ?",
			now_ms - p->retention_s * 1000, 0, 0);
	if (rc == SQLITE_OK)
		rc = exec_i64(s->w, "DELETE FROM ends WHERE t < ?", now_ms - p->retention_s * 1000,
			      0, 0);
	if (rc != SQLITE_OK)
		return store_write_failed(s, rc, "applying retention");
	/* A few buckets per call keeps an interval's work bounded; backlogs drain over time. */
	for (int i = 0; i < 8 && ret >= 0; i++) {
		int a = downsample_profiles(s, now_ms - p->age2_s * 1000, (int)p->res2_s, merge,
					    arg);
		int b = a >= 0 ? downsample_profiles(s, now_ms - p->age1_s * 1000, (int)p->res1_s,
						     merge, arg) :
				 a;
		int c = b >= 0 ? downsample_points(s, now_ms - p->age2_s * 1000, (int)p->res2_s) :
				 b;
		int d = c >= 0 ? downsample_points(s, now_ms - p->age1_s * 1000, (int)p->res1_s) :
				 c;

		ret = d < 0 ? d : 0;
		if (d < 0 || (!a && !b && !c && !d))
			break;
	}
	/* The interval's pages into the database now, so the next interval's writes start the
	 * WAL over: it stays the size of one interval (passive: a reader is never waited for). */
	sqlite3_wal_checkpoint_v2(s->w, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return ret;
}

long long store__bytes(const struct store *s)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	long long total = 0;

	for (int i = 0; i < 3; i++) {
		char p[PATH_MAX + 8];
		struct stat st;

		snprintf(p, sizeof(p), "%s%s", s->path, suffix[i]);
		if (!stat(p, &st))
			total += (long long)st.st_blocks * 512;
	}
	return total;
}
