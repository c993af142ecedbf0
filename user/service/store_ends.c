// SPDX-License-Identifier: GPL-2.0
/*
 * Ends of the collection loop's series (store.h, store__reported): a series reported at one
 * interval and not at the next ends at the next one, as Prometheus marks a series stale at the
 * first scrape that misses it. Each cached series carries the generation (interval) it was last
 * reported in; the interval's reported series are listed as they come (cur) and compared with the
 * previous interval's list (prev) at its close: the work is the size of the two sets, never a scan
 * of the store. Changes to the set go to the table live, so a restart ends what the last run
 * reported last.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/series.h"
#include "service/store_int.h"
#include "util/log.h"

static int vec_push(struct series_vec *v, struct cached_series *cs)
{
	if (v->n == v->cap) {
		size_t c = v->cap ? v->cap * 2 : 256;
		struct cached_series **nv = realloc(v->v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = c;
	}
	v->v[v->n++] = cs;
	return 0;
}

int store_reported_append(void *ctx, const char *name, const struct series_label *l, size_t nl,
			  const char *type, __s64 t_ms, double v)
{
	struct store *s = ctx;
	struct cached_series *cs;
	int err = store_append(s, name, l, nl, type, t_ms, v, &cs);

	if (err || series_is_end(v) || cs->seen == s->gen)
		return err;
	err = vec_push(&s->cur, cs);
	if (!err)
		cs->seen = s->gen;
	return err;
}

/* One row of live added or removed, through a statement prepared once. 0 or -errno. */
static int live_exec(struct store *s, sqlite3_stmt **st, const char *sql, sqlite3_int64 id)
{
	int rc;

	if (!*st) {
		rc = sqlite3_prepare_v2(s->w, sql, -1, st, NULL);
		if (rc != SQLITE_OK)
			return store_write_failed(s, rc, "keeping the live series");
	}
	sqlite3_reset(*st);
	sqlite3_bind_int64(*st, 1, id);
	rc = sqlite3_step(*st);
	sqlite3_reset(*st);
	return rc == SQLITE_DONE ? 0 : store_write_failed(s, rc, "keeping the live series");
}

/* fn with series id's name and labels as the series table holds them (not split from the cache
 * key: a process name may hold the key's separators). A series not found is skipped. */
static void call_end_fn(struct store *s, store_end_fn fn, void *arg, sqlite3_int64 id, __s64 t_ms)
{
	struct series_label *l;
	sqlite3_stmt *st;
	size_t nl;

	if (!s->get_series &&
	    sqlite3_prepare_v2(s->w, "SELECT name, labels FROM series WHERE id = ?", -1,
			       &s->get_series, NULL) != SQLITE_OK)
		return;
	st = s->get_series;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
	    !store_parse_labels((const char *)sqlite3_column_text(st, 1), &l, &nl)) {
		fn(arg, (const char *)sqlite3_column_text(st, 0), l, nl, t_ms);
		store_free_labels(l, nl);
	}
	sqlite3_reset(st);
}

/* The live flags as they were before a close turned the set `before` into `after`. */
static void flags_as_before(const struct series_vec *before, const struct series_vec *after)
{
	for (size_t i = 0; i < after->n; i++)
		after->v[i]->live = false;
	for (size_t i = 0; i < before->n; i++)
		before->v[i]->live = true;
}

int store__end_unreported(struct store *s, __s64 t_ms, store_end_fn fn, void *arg)
{
	struct series_vec spare, ended = { 0 };
	int err = 0, rc;

	/* All of it or nothing: a statement that fails half-way leaves no end or live row behind
	 * in the interval's transaction, and no marker goes out for it. */
	rc = sqlite3_exec(s->w, "SAVEPOINT ends", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_write_failed(s, rc, "ending series");
	for (size_t i = 0; i < s->prev.n && !err; i++) {
		struct cached_series *cs = s->prev.v[i];

		if (cs->seen == s->gen)
			continue;
		err = store_put_end(s, cs->id, t_ms);
		if (!err)
			err = live_exec(s, &s->del_live, "DELETE FROM live WHERE series = ?",
					cs->id);
		if (!err && fn)
			err = vec_push(&ended, cs);
		if (err)
			break;
		/* its next point is stored whatever its value */
		cs->stored = false;
		cs->live = false;
	}
	for (size_t i = 0; i < s->cur.n && !err; i++) {
		struct cached_series *cs = s->cur.v[i];

		if (cs->live)
			continue;
		err = live_exec(s, &s->put_live, "INSERT OR IGNORE INTO live(series) VALUES(?)",
				cs->id);
		if (!err)
			cs->live = true;
	}
	if (!err && (rc = sqlite3_exec(s->w, "RELEASE ends", NULL, NULL, NULL)) != SQLITE_OK)
		err = store_write_failed(s, rc, "ending series");
	if (err) {
		/* As if not called: the next call ends (and adds) the same again, and this
		 * interval's reported series stay in cur with the next one's. */
		sqlite3_exec(s->w, "ROLLBACK TO ends; RELEASE ends", NULL, NULL, NULL);
		/* (a series whose end was undone stores its next point whatever its value) */
		flags_as_before(&s->prev, &s->cur);
		free(ended.v);
		return err;
	}
	for (size_t i = 0; i < ended.n; i++)
		call_end_fn(s, fn, arg, ended.v[i]->id, t_ms);
	free(ended.v);
	spare = s->undo;
	s->undo = s->prev;
	s->prev = s->cur;
	s->cur = spare;
	s->cur.n = 0;
	s->gen++;
	s->closed_in_tx = true;
	return 0;
}

void store_ends_commit(struct store *s, bool ok)
{
	struct series_vec t;

	if (!s->closed_in_tx)
		return;
	s->closed_in_tx = false;
	if (ok)
		return;
	/* Rolled back, ends and live rows with it: the previous set is the one before again, so
	 * what ended then ends at the next close. */
	flags_as_before(&s->undo, &s->prev);
	t = s->prev;
	s->prev = s->undo;
	s->undo = t;
	s->undo.n = 0;
}

void store_ends_release(struct store *s)
{
	free(s->cur.v);
	free(s->prev.v);
	free(s->undo.v);
	sqlite3_finalize(s->put_live);
	sqlite3_finalize(s->del_live);
	sqlite3_finalize(s->get_series);
}

struct last_row {
	sqlite3_int64 id;
	__s64 last; /* its newest point */
	char *name, *labels;
};

static void free_rows(struct last_row *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].name);
		free(r[i].labels);
	}
	free(r);
}

int store__end_last_run(struct store *s, __s64 now_ms, __s64 interval_ms, store_end_fn fn,
			void *arg)
{
	struct last_row *rows = NULL;
	size_t n = 0, cap = 0;
	__s64 t0 = INT64_MIN, t_end;
	sqlite3_stmt *st = NULL;
	int err, rc;

	err = store__begin(s);
	if (err)
		return err;
	/* The set is small (the loop's series); each one's newest point is one key seek. */
	rc = sqlite3_prepare_v2(s->w,
				"SELECT l.series, s.name, s.labels, (SELECT p.t FROM points p "
				"WHERE p.series = l.series ORDER BY p.t DESC LIMIT 1) "
				"FROM live l JOIN series s ON s.id = l.series",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		err = -EIO;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct last_row *r;

		if (sqlite3_column_type(st, 3) == SQLITE_NULL)
			continue; /* no point left (retention): nothing to end */
		if (n == cap) {
			size_t c = cap ? cap * 2 : 256;
			struct last_row *nr = realloc(rows, c * sizeof(*nr));

			if (!nr) {
				err = -ENOMEM;
				break;
			}
			rows = nr;
			cap = c;
		}
		r = &rows[n];
		r->id = sqlite3_column_int64(st, 0);
		r->last = sqlite3_column_int64(st, 3);
		r->name = strdup((const char *)sqlite3_column_text(st, 1));
		r->labels = strdup((const char *)sqlite3_column_text(st, 2));
		n++;
		if (!r->name || !r->labels)
			err = -ENOMEM;
		if (r->last > t0)
			t0 = r->last;
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(st);
	/* The previous run's last interval was t0; a scraper would have found it gone at its next
	 * one (or when this run started, if sooner), and this run's first point comes later. */
	t_end = t0 + interval_ms < now_ms ? t0 + interval_ms : now_ms;
	if (t_end <= t0)
		t_end = t0 + 1;
	for (size_t i = 0; i < n && !err; i++)
		err = store_put_end(s, rows[i].id, t_end);
	if (!err && (rc = sqlite3_exec(s->w, "DELETE FROM live", NULL, NULL, NULL)) != SQLITE_OK)
		err = store_write_failed(s, rc, "ending the last run's series");
	if (err) {
		sqlite3_exec(s->w, "ROLLBACK", NULL, NULL, NULL);
		s->in_tx = false;
		pthread_mutex_unlock(&s->wlock);
	} else {
		err = store__commit(s);
	}
	if (!err && n)
		pr_debug("store: %zu series of the last run ended at %lld (its last interval %lld)",
			 n, (long long)t_end, (long long)t0);
	for (size_t i = 0; i < n && !err && fn; i++) {
		struct series_label *l;
		size_t nl;

		if (store_parse_labels(rows[i].labels, &l, &nl))
			continue;
		fn(arg, rows[i].name, l, nl, t_end);
		store_free_labels(l, nl);
	}
	free_rows(rows, n);
	return err;
}
