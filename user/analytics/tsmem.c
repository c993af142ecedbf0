// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/tsmem.h"
#include "model/hashmap.h"

struct tsm_series {
	struct labels *l;
	struct pq_point *p;
	size_t n, cap;
};

/* Series ids sharing one metric name (the usual first matcher). */
struct name_index {
	char *name;
	size_t *ids;
	size_t n, cap;
};

struct tsmem {
	struct tsm_series *s;
	size_t n, cap;
	size_t samples;
	struct hashmap *by_labels; /* labels -> id */
	struct hashmap *by_name; /* name -> struct name_index * */
	struct name_index **names;
	size_t nnames, capnames;
};

static uint64_t lhash(const void *k, void *ctx)
{
	(void)ctx;
	return ((const struct labels *)k)->hash;
}

static bool lequal(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return labels__equal(a, b);
}

struct tsmem *tsmem__new(void)
{
	struct tsmem *ts = calloc(1, sizeof(*ts));

	if (!ts)
		return NULL;
	ts->by_labels = hashmap__new(lhash, lequal, NULL);
	ts->by_name = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	if (!ts->by_labels || !ts->by_name) {
		tsmem__free(ts);
		errno = ENOMEM;
		return NULL;
	}
	return ts;
}

void tsmem__free(struct tsmem *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->n; i++) {
		labels__unref(ts->s[i].l);
		free(ts->s[i].p);
	}
	for (size_t i = 0; i < ts->nnames; i++) {
		free(ts->names[i]->name);
		free(ts->names[i]->ids);
		free(ts->names[i]);
	}
	free(ts->names);
	free(ts->s);
	hashmap__free(ts->by_labels);
	hashmap__free(ts->by_name);
	free(ts);
}

static int index_name(struct tsmem *ts, const char *name, size_t id)
{
	uintptr_t v;
	struct name_index *ni;

	if (!hashmap__get(ts->by_name, name, &v)) {
		struct name_index **names;

		if (ts->nnames == ts->capnames) {
			size_t cap = ts->capnames ? ts->capnames * 2 : 16;

			names = realloc(ts->names, cap * sizeof(*names));
			if (!names)
				return -ENOMEM;
			ts->names = names;
			ts->capnames = cap;
		}
		ni = calloc(1, sizeof(*ni));
		if (!ni || !(ni->name = strdup(name))) {
			free(ni);
			return -ENOMEM;
		}
		if (hashmap__set(ts->by_name, ni->name, (uintptr_t)ni)) {
			free(ni->name);
			free(ni);
			return -ENOMEM;
		}
		ts->names[ts->nnames++] = ni;
	} else {
		ni = (struct name_index *)v;
	}
	if (ni->n == ni->cap) {
		size_t cap = ni->cap ? ni->cap * 2 : 8;
		size_t *ids = realloc(ni->ids, cap * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		ni->ids = ids;
		ni->cap = cap;
	}
	ni->ids[ni->n++] = id;
	return 0;
}

int tsmem__append(struct tsmem *ts, struct labels *l, int64_t t, double v)
{
	uintptr_t id;
	struct tsm_series *s;

	if (!hashmap__get(ts->by_labels, l, &id)) {
		const char *name = labels__get(l, LABEL_METRIC_NAME);

		if (ts->n == ts->cap) {
			size_t cap = ts->cap ? ts->cap * 2 : 64;
			struct tsm_series *ns = realloc(ts->s, cap * sizeof(*ns));

			if (!ns)
				return -ENOMEM;
			ts->s = ns;
			ts->cap = cap;
		}
		id = ts->n;
		memset(&ts->s[id], 0, sizeof(ts->s[id]));
		ts->s[id].l = labels__ref(l);
		if (hashmap__set(ts->by_labels, ts->s[id].l, id) ||
		    index_name(ts, name ? name : "", id)) {
			hashmap__delete(ts->by_labels, ts->s[id].l);
			labels__unref(ts->s[id].l);
			return -ENOMEM;
		}
		ts->n++;
	}
	s = &ts->s[id];
	if (s->n && s->p[s->n - 1].t > t)
		return -EINVAL;
	if (s->n && s->p[s->n - 1].t == t) {
		s->p[s->n - 1].v = v;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct pq_point *p = realloc(s->p, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->p = p;
		s->cap = cap;
	}
	s->p[s->n].t = t;
	s->p[s->n].v = v;
	s->n++;
	ts->samples++;
	return 0;
}

size_t tsmem__series(const struct tsmem *ts)
{
	return ts->n;
}

size_t tsmem__samples(const struct tsmem *ts)
{
	return ts->samples;
}

size_t tsmem__bytes(const struct tsmem *ts)
{
	size_t b = sizeof(*ts) + ts->cap * sizeof(*ts->s);

	for (size_t i = 0; i < ts->n; i++) {
		const struct labels *l = ts->s[i].l;

		b += ts->s[i].cap * sizeof(struct pq_point) + sizeof(*l) + l->n * sizeof(l->l[0]);
		for (uint32_t j = 0; j < l->n; j++)
			b += strlen(l->l[j].name) + strlen(l->l[j].value) + 2;
		b += 2 * 3 * sizeof(void *); /* hash map entries */
	}
	for (size_t i = 0; i < ts->nnames; i++)
		b += sizeof(*ts->names[i]) + ts->names[i]->cap * sizeof(size_t) +
		     strlen(ts->names[i]->name) + 1;
	return b;
}

bool tsmem__bounds(const struct tsmem *ts, int64_t *mint, int64_t *maxt)
{
	bool any = false;

	for (size_t i = 0; i < ts->n; i++) {
		const struct tsm_series *s = &ts->s[i];

		if (!s->n)
			continue;
		if (!any || s->p[0].t < *mint)
			*mint = s->p[0].t;
		if (!any || s->p[s->n - 1].t > *maxt)
			*maxt = s->p[s->n - 1].t;
		any = true;
	}
	return any;
}

static int copy_series(const struct tsm_series *s, int64_t mint, int64_t maxt,
		       struct pq_matrix *out)
{
	size_t a = pq_points_lower_bound(s->p, s->n, mint),
	       b = pq_points_lower_bound(s->p, s->n, maxt + 1);
	struct pq_series *o;

	if (b <= a)
		return 0;
	o = pq_matrix_add(out, labels__ref(s->l));
	if (!o) {
		labels__unref(s->l);
		return -ENOMEM;
	}
	o->p = malloc((b - a) * sizeof(*o->p));
	if (!o->p)
		return -ENOMEM;
	memcpy(o->p, s->p + a, (b - a) * sizeof(*o->p));
	o->n = o->cap = b - a;
	return 0;
}

static int tsmem_select(void *ctx, const struct label_matcher *m, size_t nm, int64_t mint,
			int64_t maxt, struct pq_matrix *out)
{
	struct tsmem *ts = ctx;

	/* An equality matcher on the name narrows the scan to that metric's series. */
	for (size_t i = 0; i < nm; i++) {
		uintptr_t v;

		if (m[i].type != MATCH_EQ || strcmp(m[i].name, LABEL_METRIC_NAME))
			continue;
		if (!hashmap__get(ts->by_name, m[i].value, &v))
			return 0;
		const struct name_index *ni = (const struct name_index *)v;

		for (size_t j = 0; j < ni->n; j++) {
			const struct tsm_series *s = &ts->s[ni->ids[j]];

			if (labels__match(s->l, m, nm)) {
				int rc = copy_series(s, mint, maxt, out);

				if (rc)
					return rc;
			}
		}
		return 0;
	}
	for (size_t i = 0; i < ts->n; i++) {
		if (labels__match(ts->s[i].l, m, nm)) {
			int rc = copy_series(&ts->s[i], mint, maxt, out);

			if (rc)
				return rc;
		}
	}
	return 0;
}

struct pq_source tsmem__source(struct tsmem *ts)
{
	struct pq_source src = { .select = tsmem_select, .ctx = ts };

	return src;
}
