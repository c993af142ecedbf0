// SPDX-License-Identifier: GPL-2.0
/* Alerts grouped into incidents by time and shared labels (incidents.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/incidents.h"
#include "analytics/promql.h"
#include "model/hashmap.h"

static const char *const default_keys[] = { "instance", "job",	   "comm", "cgroup",
					    "pid",	"service", "disk" };

struct incidents {
	int64_t window_ms;
	char *keys[INCIDENTS_MAX_KEYS];
	size_t nkeys;
	struct incident *inc;
	size_t n;
	uint64_t round; /* observe() calls */
};

int incidents_config_parse(const struct ydoc *d, ynode section, const char *path,
			   struct incident_opts *out, char *err, size_t errlen)
{
	ynode w, g;

	*out = (struct incident_opts){ .window_ms = INCIDENTS_DEFAULT_WINDOW_MS };
	if (!section || ynode_tag(d, section) == YT_NULL)
		return 0;
	if (ynode_kind(d, section) != Y_MAP) {
		snprintf(err, errlen, "%s:%d: incidents: want a mapping (window, group_by)", path,
			 ynode_line(d, section));
		return -EINVAL;
	}
	for (size_t i = 0; i < ynode_len(d, section); i++) {
		const char *k = ynode_str(d, ymap_key(d, section, i));

		if (strcmp(k, "window") && strcmp(k, "group_by")) {
			snprintf(err, errlen,
				 "%s:%d: incidents: unknown key '%s' (want window, group_by)", path,
				 ynode_line(d, ymap_key(d, section, i)), k);
			return -EINVAL;
		}
	}
	w = ymap_get(d, section, "window");
	if (w) {
		const char *s = ynode_str(d, w);

		if (ynode_kind(d, w) != Y_SCALAR ||
		    pq_parse_duration(s, strlen(s), &out->window_ms) || out->window_ms <= 0) {
			snprintf(err, errlen,
				 "%s:%d: incidents: bad window '%s' (want a duration, e.g. 5m)",
				 path, ynode_line(d, w), s);
			return -EINVAL;
		}
	}
	g = ymap_get(d, section, "group_by");
	if (g && (ynode_kind(d, g) != Y_SEQ || ynode_len(d, g) > INCIDENTS_MAX_KEYS)) {
		snprintf(err, errlen,
			 "%s:%d: incidents: group_by: want a list of up to %d label names", path,
			 ynode_line(d, g), INCIDENTS_MAX_KEYS);
		return -EINVAL;
	}
	for (size_t i = 0; g && i < ynode_len(d, g); i++) {
		ynode it = yseq_item(d, g, i);
		const char *s = ynode_str(d, it);

		if (ynode_kind(d, it) != Y_SCALAR || !label_name_valid(s)) {
			snprintf(err, errlen, "%s:%d: incidents: group_by: bad label name '%s'",
				 path, ynode_line(d, it), s);
			return -EINVAL;
		}
		out->keys[out->nkeys++] = s;
	}
	return 0;
}

struct incidents *incidents__new(const struct incident_opts *o)
{
	struct incidents *c = calloc(1, sizeof(*c));
	size_t nk = o && o->nkeys ? o->nkeys : sizeof(default_keys) / sizeof(default_keys[0]);

	if (!c)
		return NULL;
	c->window_ms = o && o->window_ms > 0 ? o->window_ms : INCIDENTS_DEFAULT_WINDOW_MS;
	for (size_t i = 0; i < nk && i < INCIDENTS_MAX_KEYS; i++) {
		c->keys[i] = strdup(o && o->nkeys ? o->keys[i] : default_keys[i]);
		if (!c->keys[i]) {
			incidents__free(c);
			errno = ENOMEM;
			return NULL;
		}
		c->nkeys++;
	}
	return c;
}

static void incident_release(struct incident *in)
{
	for (size_t i = 0; i < in->n; i++)
		labels__unref(in->alerts[i].labels);
	free(in->alerts);
	labels__unref(in->shared);
}

void incidents__free(struct incidents *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		incident_release(&c->inc[i]);
	free(c->inc);
	for (size_t i = 0; i < c->nkeys; i++)
		free(c->keys[i]);
	free(c);
}

/* The key labels of l (a new set). */
static struct labels *key_labels(const struct incidents *c, const struct labels *l)
{
	struct labels_builder b;
	struct labels *out;

	if (labels_builder__init(&b, l)) {
		labels_builder__release(&b);
		return NULL;
	}
	labels_builder__keep(&b, (const char *const *)c->keys, c->nkeys);
	out = labels_builder__finish(&b);
	labels_builder__release(&b);
	return out;
}

/* The pairs of a also in b (a new set). */
static struct labels *intersect(const struct labels *a, const struct labels *b)
{
	struct label keep[INCIDENTS_MAX_KEYS];
	size_t n = 0;

	for (uint32_t i = 0; i < a->n && n < INCIDENTS_MAX_KEYS; i++) {
		const char *v = labels__get(b, a->l[i].name);

		if (v && !strcmp(v, a->l[i].value))
			keep[n++] = a->l[i];
	}
	return labels__new(keep, n);
}

static struct incident_alert *find_alert(struct incidents *c, uint64_t fp, int64_t starts,
					 struct incident **in)
{
	for (size_t i = c->n; i-- > 0;)
		for (size_t k = 0; k < c->inc[i].n; k++)
			if (c->inc[i].alerts[k].fingerprint == fp &&
			    c->inc[i].alerts[k].starts_at_ms == starts) {
				*in = &c->inc[i];
				return &c->inc[i].alerts[k];
			}
	return NULL;
}

/* Room for one more: the oldest ended incident goes (or the oldest of all). */
static void make_room(struct incidents *c)
{
	size_t drop = 0;

	if (c->n < INCIDENTS_MAX)
		return;
	for (size_t i = 0; i < c->n; i++)
		if (c->inc[i].ended_ms) {
			drop = i;
			break;
		}
	incident_release(&c->inc[drop]);
	memmove(&c->inc[drop], &c->inc[drop + 1], (c->n - drop - 1) * sizeof(*c->inc));
	c->n--;
}

static int add_alert(struct incident *in, const struct alert_notice *a)
{
	struct incident_alert *na = realloc(in->alerts, (in->n + 1) * sizeof(*na));

	if (!na)
		return -ENOMEM;
	in->alerts = na;
	na[in->n] = (struct incident_alert){
		.labels = labels__ref((struct labels *)a->labels),
		.fingerprint = a->fingerprint,
		.starts_at_ms = a->starts_at_ms,
		.value = a->value,
		.round = 0,
	};
	if (a->starts_at_ms < in->alerts[in->root].starts_at_ms ||
	    (a->starts_at_ms == in->alerts[in->root].starts_at_ms &&
	     labels__cmp(a->labels, in->alerts[in->root].labels) < 0))
		in->root = in->n;
	if (a->starts_at_ms < in->started_ms)
		in->started_ms = a->starts_at_ms;
	if (a->starts_at_ms > in->last_start_ms)
		in->last_start_ms = a->starts_at_ms;
	in->n++;
	return 0;
}

static int join_or_open(struct incidents *c, const struct alert_notice *a)
{
	struct labels *keys = key_labels(c, a->labels), *best_shared = NULL;
	struct incident *best = NULL, *in;
	uint64_t h;
	int err;

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < c->n && keys->n; i++) {
		struct incident *cand = &c->inc[i];
		int64_t gap = a->starts_at_ms - cand->last_start_ms;
		struct labels *sh;

		if (cand->ended_ms || gap > c->window_ms || gap < -c->window_ms || !cand->shared->n)
			continue;
		sh = intersect(cand->shared, keys);
		if (!sh) {
			labels__unref(keys);
			labels__unref(best_shared);
			return -ENOMEM;
		}
		/* the most shared labels, then the newest */
		if (sh->n && (!best || sh->n >= best_shared->n)) {
			labels__unref(best_shared);
			best_shared = sh;
			best = cand;
		} else {
			labels__unref(sh);
		}
	}
	if (best) {
		labels__unref(keys);
		err = add_alert(best, a);
		if (err) {
			labels__unref(best_shared);
			return err;
		}
		labels__unref(best->shared);
		best->shared = best_shared;
		return 0;
	}
	make_room(c);
	in = realloc(c->inc, (c->n + 1) * sizeof(*in));
	if (!in) {
		labels__unref(keys);
		return -ENOMEM;
	}
	c->inc = in;
	in = &c->inc[c->n];
	*in = (struct incident){ .started_ms = a->starts_at_ms,
				 .last_start_ms = a->starts_at_ms,
				 .shared = keys };
	h = hash_u64(a->fingerprint ^ hash_u64((uint64_t)a->starts_at_ms));
	snprintf(in->id, sizeof(in->id), "inc-%016llx", (unsigned long long)h);
	err = add_alert(in, a);
	if (err) {
		labels__unref(keys);
		return err;
	}
	c->n++;
	return 0;
}

void incidents__observe(void *arg, const struct alert_notice *a, size_t n, int64_t now_ms)
{
	struct incidents *c = arg;

	c->round++;
	for (size_t i = 0; i < n; i++) {
		struct incident *in = NULL;
		struct incident_alert *ia;

		/* pending alerts have not fired; only a firing one starts or joins an incident */
		if ((a[i].state != ALERT_FIRING && a[i].state != ALERT_RESOLVED) ||
		    !a[i].starts_at_ms)
			continue;
		ia = find_alert(c, a[i].fingerprint, a[i].starts_at_ms, &in);
		if (!ia && a[i].state == ALERT_FIRING) {
			if (join_or_open(c, &a[i]))
				return;
			ia = find_alert(c, a[i].fingerprint, a[i].starts_at_ms, &in);
		}
		if (!ia)
			continue;
		ia->value = a[i].value;
		ia->round = c->round;
		if (a[i].state == ALERT_RESOLVED && !ia->resolved) {
			ia->resolved = true;
			ia->ends_at_ms = a[i].ends_at_ms ? a[i].ends_at_ms : now_ms;
		}
	}
	/* Alerts the engine no longer lists ended (at latest now); incidents end with their last. */
	for (size_t i = 0; i < c->n; i++) {
		struct incident *in = &c->inc[i];
		bool open = false;
		int64_t end = 0;

		if (in->ended_ms)
			continue;
		for (size_t k = 0; k < in->n; k++) {
			struct incident_alert *ia = &in->alerts[k];

			if (!ia->resolved && ia->round != c->round) {
				ia->resolved = true;
				ia->ends_at_ms = now_ms;
			}
			if (!ia->resolved)
				open = true;
			if (ia->ends_at_ms > end)
				end = ia->ends_at_ms;
		}
		if (!open)
			in->ended_ms = end ? end : now_ms;
	}
}

const struct incident *incidents__list(const struct incidents *c, size_t *n)
{
	*n = c->n;
	return c->inc;
}
