// SPDX-License-Identifier: GPL-2.0
/*
 * What mutes an alert for Vigil's own receivers (alerts.h): silences and inhibit rules as
 * Alertmanager has them, and acknowledgement; and the notices handed to the sinks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analytics/alerts_int.h"

const char *silence_state_name(enum silence_state s)
{
	return s == SILENCE_PENDING ? "pending" : s == SILENCE_ACTIVE ? "active" : "expired";
}

enum silence_state silence_state_at(const struct silence *s, int64_t now_ms)
{
	if (now_ms < s->starts_at_ms)
		return SILENCE_PENDING;
	if (now_ms < s->ends_at_ms)
		return SILENCE_ACTIVE;
	return SILENCE_EXPIRED;
}

void silence_entry_free(struct silence_entry *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->s.nm; i++) {
		free(e->s.m[i].name);
		free(e->s.m[i].value);
		if (e->lm)
			label_matcher_release(&e->lm[i]);
	}
	free(e->s.m);
	free(e->lm);
	free(e->s.created_by);
	free(e->s.comment);
	free(e);
}

static void new_uuid(char *out, size_t len)
{
	unsigned char b[16] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(b)) {
		/* no urandom: time and address bits still make ids unique in one process */
		uint64_t x =
			(uint64_t)(uintptr_t)out ^ (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;

		for (int i = 0; i < 16;
		     i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
			b[i] = (unsigned char)(x >> 56);
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

/* A copy of s with its matchers compiled. NULL: err says why (errno EINVAL or ENOMEM). */
static struct silence_entry *entry_new(const struct silence *s, char *err, size_t errlen)
{
	struct silence_entry *e = calloc(1, sizeof(*e));
	bool all_empty = true;

	if (!e)
		goto nomem;
	e->s = *s;
	e->s.m = calloc(s->nm ? s->nm : 1, sizeof(*e->s.m));
	e->lm = calloc(s->nm ? s->nm : 1, sizeof(*e->lm));
	e->s.nm = 0;
	e->s.created_by = strdup(s->created_by ? s->created_by : "");
	e->s.comment = strdup(s->comment ? s->comment : "");
	if (!e->s.m || !e->lm || !e->s.created_by || !e->s.comment)
		goto nomem;
	for (size_t i = 0; i < s->nm; i++) {
		const struct silence_matcher *m = &s->m[i];
		enum match_type t = m->is_regex ? (m->is_equal ? MATCH_RE : MATCH_NRE) :
						  (m->is_equal ? MATCH_EQ : MATCH_NE);
		char why[200];
		int rc;

		if (!m->name || !label_name_valid(m->name)) {
			snprintf(err, errlen,
				 "invalid label matcher %zu: invalid label name \"%s\"", i,
				 m->name ? m->name : "");
			goto inval;
		}
		rc = label_matcher_init(&e->lm[i], t, m->name, m->value ? m->value : "", why,
					sizeof(why));
		if (rc == -ENOMEM)
			goto nomem;
		if (rc) {
			snprintf(err, errlen, "invalid label matcher %zu: %s", i, why);
			goto inval;
		}
		e->s.m[i].name = strdup(m->name);
		e->s.m[i].value = strdup(m->value ? m->value : "");
		e->s.m[i].is_regex = m->is_regex;
		e->s.m[i].is_equal = m->is_equal;
		e->s.nm++;
		if (!e->s.m[i].name || !e->s.m[i].value)
			goto nomem;
		if (!label_matcher_matches_empty(&e->lm[i]))
			all_empty = false;
	}
	if (!s->nm) {
		snprintf(err, errlen, "at least one matcher required");
		goto inval;
	}
	if (all_empty) {
		snprintf(err, errlen, "at least one matcher must not match the empty string");
		goto inval;
	}
	return e;
nomem:
	snprintf(err, errlen, "out of memory");
	silence_entry_free(e);
	errno = ENOMEM;
	return NULL;
inval:
	silence_entry_free(e);
	errno = EINVAL;
	return NULL;
}

static int add_entry(struct alerts *a, struct silence_entry *e)
{
	struct silence_entry **n = realloc(a->sil, (a->nsil + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	a->sil = n;
	a->sil[a->nsil++] = e;
	a->silences_dirty = true;
	return 0;
}

static struct silence_entry *find_silence(struct alerts *a, const char *id, size_t *idx)
{
	for (size_t i = 0; i < a->nsil; i++)
		if (!strcmp(a->sil[i]->s.id, id)) {
			if (idx)
				*idx = i;
			return a->sil[i];
		}
	return NULL;
}

int alerts__silence_put(struct alerts *a, const struct silence *s, int64_t now_ms, char *id_out,
			size_t idlen, char *err, size_t errlen)
{
	struct silence_entry *e, *old;
	size_t idx = 0;
	int rc = 0;

	if (!s->created_by || !s->created_by[0]) {
		snprintf(err, errlen, "createdBy in body is required");
		return -EINVAL;
	}
	if (!s->comment || !s->comment[0]) {
		snprintf(err, errlen, "comment in body is required");
		return -EINVAL;
	}
	if (s->starts_at_ms >= s->ends_at_ms) {
		snprintf(err, errlen,
			 "failed to create silence: start time must be before end time");
		return -EINVAL;
	}
	if (s->ends_at_ms < now_ms) {
		snprintf(err, errlen, "failed to create silence: end time can't be in the past");
		return -EINVAL;
	}
	e = entry_new(s, err, errlen);
	if (!e)
		return -errno;
	/* Alertmanager: a start in the past becomes now */
	if (e->s.starts_at_ms < now_ms)
		e->s.starts_at_ms = now_ms;
	e->s.updated_at_ms = now_ms;
	pthread_mutex_lock(&a->lock);
	old = s->id[0] ? find_silence(a, s->id, &idx) : NULL;
	if (s->id[0] && !old) {
		snprintf(err, errlen, "silence not found");
		rc = -ENOENT;
	} else if (old) {
		a->sil[idx] = e;
		a->silences_dirty = true;
		silence_entry_free(old);
	} else {
		new_uuid(e->s.id, sizeof(e->s.id));
		rc = add_entry(a, e);
	}
	if (!rc)
		snprintf(id_out, idlen, "%s", e->s.id);
	pthread_mutex_unlock(&a->lock);
	if (rc) {
		silence_entry_free(e);
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
	}
	return rc;
}

int alerts__silence_restore(struct alerts *a, const struct silence *s)
{
	char err[256];
	struct silence_entry *e;
	int rc;

	if (!s->id[0])
		return -EINVAL;
	e = entry_new(s, err, sizeof(err));
	if (!e)
		return -errno;
	pthread_mutex_lock(&a->lock);
	if (find_silence(a, s->id, NULL)) {
		rc = -EEXIST;
	} else {
		rc = add_entry(a, e);
		a->silences_dirty = false;
	}
	pthread_mutex_unlock(&a->lock);
	if (rc)
		silence_entry_free(e);
	return rc;
}

int alerts__silence_expire(struct alerts *a, const char *id, int64_t now_ms)
{
	struct silence_entry *e;
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	e = find_silence(a, id, NULL);
	if (!e) {
		rc = -ENOENT;
	} else if (silence_state_at(&e->s, now_ms) == SILENCE_EXPIRED) {
		rc = -EINVAL;
	} else {
		/* Alertmanager: a pending silence expires with both ends now */
		if (e->s.starts_at_ms > now_ms)
			e->s.starts_at_ms = now_ms;
		e->s.ends_at_ms = now_ms;
		e->s.updated_at_ms = now_ms;
		a->silences_dirty = true;
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

void alerts__silences(struct alerts *a, void (*fn)(void *arg, const struct silence *s), void *arg)
{
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->nsil; i++)
		fn(arg, &a->sil[i]->s);
	pthread_mutex_unlock(&a->lock);
}

bool alerts__silences_dirty(struct alerts *a)
{
	bool d;

	pthread_mutex_lock(&a->lock);
	d = a->silences_dirty;
	a->silences_dirty = false;
	pthread_mutex_unlock(&a->lock);
	return d;
}

/* ---- ack ---- */

int alerts__ack(struct alerts *a, uint64_t fp, int64_t now_ms)
{
	int rc = -ENOENT;

	(void)now_ms;
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->norigins && rc; i++)
		for (size_t k = 0; k < a->origins[i]->ngroups && rc; k++) {
			struct agroup *g = a->origins[i]->groups[k];

			for (size_t j = 0; j < g->nrules && rc; j++) {
				struct alert *al = alert_find(&g->rules[j], fp, NULL);

				if (al &&
				    (al->n.state == ALERT_PENDING || al->n.state == ALERT_FIRING)) {
					al->n.acked = true;
					a->state_dirty = true;
					rc = 0;
				}
			}
		}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* ---- inhibition ---- */

void inhibit_rule_release(struct inhibit_rule *r)
{
	for (size_t i = 0; i < r->nsource; i++)
		label_matcher_release(&r->source[i]);
	for (size_t i = 0; i < r->ntarget; i++)
		label_matcher_release(&r->target[i]);
	for (size_t i = 0; i < r->nequal; i++)
		free(r->equal[i]);
	free(r->source);
	free(r->target);
	free(r->equal);
	memset(r, 0, sizeof(*r));
}

int alerts__set_inhibit_rules(struct alerts *a, struct inhibit_rule *r, size_t n)
{
	struct inhibit_rule *copy = n ? calloc(n, sizeof(*copy)) : NULL, *old;
	size_t nold;

	if (n && !copy)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		copy[i] = r[i];
		memset(&r[i], 0, sizeof(r[i]));
	}
	pthread_mutex_lock(&a->lock);
	old = a->inhibit;
	nold = a->ninhibit;
	a->inhibit = copy;
	a->ninhibit = n;
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < nold; i++)
		inhibit_rule_release(&old[i]);
	free(old);
	return 0;
}

static bool label_eq(const struct labels *x, const struct labels *y, const char *name)
{
	const char *a = labels__get(x, name), *b = labels__get(y, name);

	return !strcmp(a ? a : "", b ? b : "");
}

/* The default rule's `equal`: every label but severity. */
static bool same_but_severity(const struct labels *x, const struct labels *y)
{
	for (uint32_t i = 0; i < x->n; i++)
		if (strcmp(x->l[i].name, "severity") && !label_eq(x, y, x->l[i].name))
			return false;
	for (uint32_t i = 0; i < y->n; i++)
		if (strcmp(y->l[i].name, "severity") && !label_eq(x, y, y->l[i].name))
			return false;
	return true;
}

static bool severity_is(const struct labels *l, const char *v)
{
	const char *s = labels__get(l, "severity");

	return s && !strcmp(s, v);
}

/* Every alert of the engine, for the passes below. */
struct all {
	struct alert **al;
	int64_t *interval;
	size_t n;
};

static int collect(struct alerts *a, struct all *all)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < a->norigins; i++)
		for (size_t g = 0; g < a->origins[i]->ngroups; g++)
			for (size_t r = 0; r < a->origins[i]->groups[g]->nrules; r++)
				n += a->origins[i]->groups[g]->rules[r].nal;
	all->al = calloc(n ? n : 1, sizeof(*all->al));
	all->interval = calloc(n ? n : 1, sizeof(*all->interval));
	if (!all->al || !all->interval) {
		free(all->al);
		free(all->interval);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->norigins; i++)
		for (size_t g = 0; g < a->origins[i]->ngroups; g++) {
			struct agroup *gr = a->origins[i]->groups[g];

			for (size_t r = 0; r < gr->nrules; r++)
				for (size_t j = 0; j < gr->rules[r].nal; j++) {
					struct alert *al = gr->rules[r].al[j];

					al->n.rule_group = gr->g->name;
					al->n.generator_url = alert_url(&gr->rules[r], al);
					all->interval[k] = gr->interval_ms;
					all->al[k++] = al;
				}
		}
	all->n = k;
	return 0;
}

static bool inhibited(const struct alerts *a, const struct all *all, const struct alert *t)
{
	const struct labels *tl = t->n.labels;

	if (!a->ninhibit) {
		if (!severity_is(tl, "warning"))
			return false;
		/* all: the firing critical alerts (mark_all) */
		for (size_t i = 0; i < all->n; i++)
			if (same_but_severity(all->al[i]->n.labels, tl))
				return true;
		return false;
	}
	for (size_t r = 0; r < a->ninhibit; r++) {
		const struct inhibit_rule *ir = &a->inhibit[r];
		bool two_sided;

		if (!labels__match(tl, ir->target, ir->ntarget))
			continue;
		/* Alertmanager: when the target matches the source side too, sources that match
		 * the target side do not count (an alert does not inhibit itself) */
		two_sided = labels__match(tl, ir->source, ir->nsource);
		for (size_t i = 0; i < all->n; i++) {
			const struct alert *s = all->al[i];
			size_t e;

			if (s == t || s->n.state != ALERT_FIRING ||
			    !labels__match(s->n.labels, ir->source, ir->nsource))
				continue;
			if (two_sided && labels__match(s->n.labels, ir->target, ir->ntarget))
				continue;
			for (e = 0; e < ir->nequal; e++)
				if (!label_eq(s->n.labels, tl, ir->equal[e]))
					break;
			if (e == ir->nequal)
				return true;
		}
	}
	return false;
}

static bool silenced(struct alerts *a, const struct labels *l, int64_t now_ms)
{
	for (size_t i = 0; i < a->nsil; i++) {
		struct silence_entry *e = a->sil[i];

		if (silence_state_at(&e->s, now_ms) == SILENCE_ACTIVE &&
		    labels__match(l, e->lm, e->s.nm))
			return true;
	}
	return false;
}

static void expire_old_silences(struct alerts *a, int64_t now_ms)
{
	for (size_t i = 0; i < a->nsil;) {
		if (a->sil[i]->s.ends_at_ms + SILENCE_RETENTION_MS < now_ms) {
			silence_entry_free(a->sil[i]);
			a->sil[i] = a->sil[--a->nsil];
			a->silences_dirty = true;
		} else {
			i++;
		}
	}
}

static void mark_all(struct alerts *a, const struct all *all, int64_t now_ms)
{
	/* Only firing alerts inhibit (with the default rule, only critical ones): found once, so a
	 * round is not quadratic in the alerts when few can inhibit. */
	struct all src = { .al = malloc((all->n ? all->n : 1) * sizeof(*src.al)) };

	for (size_t i = 0; src.al && i < all->n; i++) {
		struct alert *al = all->al[i];

		if (al->n.state == ALERT_FIRING &&
		    (a->ninhibit || severity_is(al->n.labels, "critical")))
			src.al[src.n++] = al;
	}
	for (size_t i = 0; i < all->n; i++) {
		struct alert *al = all->al[i];
		bool live = al->n.state == ALERT_PENDING || al->n.state == ALERT_FIRING;

		al->n.silenced = live && silenced(a, al->n.labels, now_ms);
		al->n.inhibited = live && src.n && inhibited(a, &src, al);
	}
	free(src.al);
}

void alerts_mark(struct alerts *a, int64_t now_ms)
{
	struct all all;

	expire_old_silences(a, now_ms);
	if (collect(a, &all))
		return;
	mark_all(a, &all, now_ms);
	free(all.al);
	free(all.interval);
}

void alerts_notify(struct alerts *a, int64_t now_ms)
{
	struct alert_notice *n = NULL;
	struct sink sinks[ALERTS_MAX_SINKS];
	struct all all;
	size_t k = 0;
	int nsinks;
	bool ok = true;

	pthread_mutex_lock(&a->lock);
	nsinks = a->nsinks;
	memcpy(sinks, a->sinks, sizeof(sinks));
	if (!nsinks || collect(a, &all)) {
		pthread_mutex_unlock(&a->lock);
		return;
	}
	expire_old_silences(a, now_ms);
	mark_all(a, &all, now_ms);
	n = calloc(all.n ? all.n : 1, sizeof(*n));
	for (size_t i = 0; n && i < all.n && ok; i++) {
		const struct alert *al = all.al[i];
		int64_t delta = all.interval[i] > ALERTS_RESEND_DELAY_MS ? all.interval[i] :
									   ALERTS_RESEND_DELAY_MS;

		if (al->n.state == ALERT_INACTIVE)
			continue;
		n[k] = al->n;
		n[k].labels = labels__ref((struct labels *)al->n.labels);
		n[k].annotations = labels__ref((struct labels *)al->n.annotations);
		/* copies: a reload may free the rule while the sinks run */
		n[k].generator_url = strdup(al->n.generator_url ? al->n.generator_url : "");
		n[k].rule_group = strdup(al->n.rule_group ? al->n.rule_group : "");
		n[k].starts_at_ms = al->fired_at_ms;
		/* Prometheus' sendAlerts: resolved at, or valid for 4 resend delays (or intervals) */
		n[k].ends_at_ms =
			al->resolved_at_ms ? al->resolved_at_ms : al->last_eval_ms + 4 * delta;
		ok = n[k].generator_url && n[k].rule_group;
		k++;
	}
	free(all.al);
	free(all.interval);
	pthread_mutex_unlock(&a->lock);
	if (n && ok)
		for (int i = 0; i < nsinks; i++)
			sinks[i].fn(sinks[i].arg, n, k, now_ms);
	for (size_t i = 0; n && i < k; i++) {
		labels__unref((struct labels *)n[i].labels);
		labels__unref((struct labels *)n[i].annotations);
		free((char *)n[i].generator_url);
		free((char *)n[i].rule_group);
	}
	free(n);
}

/* ---- Alertmanager matchers and inhibit_rules ---- */

int alert_matcher_parse(const char *text, struct label_matcher *m, char *err, size_t errlen)
{
	const char *p = text, *e;
	char name[256], value[1024];
	enum match_type t;
	size_t nl, vl = 0;

	while (*p == ' ' || *p == '\t' || *p == '{')
		p++;
	for (e = p; *e && (*e == '_' || (*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') ||
			   (*e >= '0' && *e <= '9'));
	     e++)
		;
	nl = (size_t)(e - p);
	if (!nl || nl >= sizeof(name)) {
		snprintf(err, errlen, "bad matcher format: %s", text);
		return -EINVAL;
	}
	memcpy(name, p, nl);
	name[nl] = '\0';
	p = e;
	while (*p == ' ')
		p++;
	if (!strncmp(p, "=~", 2)) {
		t = MATCH_RE;
		p += 2;
	} else if (!strncmp(p, "!~", 2)) {
		t = MATCH_NRE;
		p += 2;
	} else if (!strncmp(p, "!=", 2)) {
		t = MATCH_NE;
		p += 2;
	} else if (*p == '=') {
		t = MATCH_EQ;
		p++;
	} else {
		snprintf(err, errlen, "bad matcher format: %s", text);
		return -EINVAL;
	}
	while (*p == ' ')
		p++;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (vl + 1 < sizeof(value))
				value[vl++] = *p;
		}
		if (*p != '"') {
			snprintf(err, errlen, "bad matcher format: %s", text);
			return -EINVAL;
		}
		p++;
	} else {
		for (; *p && *p != '}'; p++)
			if (vl + 1 < sizeof(value))
				value[vl++] = *p;
		while (vl && value[vl - 1] == ' ')
			vl--;
	}
	value[vl] = '\0';
	while (*p == ' ' || *p == '}')
		p++;
	if (*p) {
		snprintf(err, errlen, "bad matcher format: %s", text);
		return -EINVAL;
	}
	return label_matcher_init(m, t, name, value, err, errlen);
}

static int push_matcher(struct label_matcher **m, size_t *n, struct label_matcher *x)
{
	struct label_matcher *nm = realloc(*m, (*n + 1) * sizeof(*nm));

	if (!nm) {
		label_matcher_release(x);
		return -ENOMEM;
	}
	*m = nm;
	nm[(*n)++] = *x;
	return 0;
}

static int fail(char *err, size_t errlen, const char *path, int line, const char *fmt,
		const char *arg)
{
	char what[400];

	snprintf(what, sizeof(what), fmt, arg);
	snprintf(err, errlen, "%s:%d: %s", path, line, what);
	return -EINVAL;
}

/* One list of matchers (`source_matchers: [...]`) or a legacy map (`source_match: {k: v}`). */
static int parse_matchers(const struct ydoc *d, ynode v, bool list, bool re, const char *path,
			  struct label_matcher **m, size_t *n, char *err, size_t errlen)
{
	char why[300];

	if (ynode_kind(d, v) != (list ? Y_SEQ : Y_MAP))
		return fail(err, errlen, path, ynode_line(d, v), "%s",
			    list ? "matchers want a list of strings" : "want a mapping");
	for (size_t i = 0; i < ynode_len(d, v); i++) {
		struct label_matcher x;
		ynode it = list ? yseq_item(d, v, i) : ymap_value(d, v, i);
		int rc;

		if (ynode_kind(d, it) != Y_SCALAR)
			return fail(err, errlen, path, ynode_line(d, it), "%s",
				    "a matcher must be a string");
		if (list) {
			rc = alert_matcher_parse(ynode_str(d, it), &x, why, sizeof(why));
		} else {
			const char *k = ynode_str(d, ymap_key(d, v, i));

			if (!label_name_valid(k))
				return fail(err, errlen, path, ynode_line(d, it),
					    "invalid label name \"%s\"", k);
			rc = label_matcher_init(&x, re ? MATCH_RE : MATCH_EQ, k, ynode_str(d, it),
						why, sizeof(why));
		}
		if (rc == -ENOMEM)
			return rc;
		if (rc)
			return fail(err, errlen, path, ynode_line(d, it), "%s", why);
		rc = push_matcher(m, n, &x);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_rule(const struct ydoc *d, ynode r, const char *path, struct inhibit_rule *ir,
		      char *err, size_t errlen)
{
	if (ynode_kind(d, r) != Y_MAP)
		return fail(err, errlen, path, ynode_line(d, r), "%s",
			    "an inhibit rule must be a mapping");
	for (size_t i = 0; i < ynode_len(d, r); i++) {
		const char *k = ynode_str(d, ymap_key(d, r, i));
		ynode v = ymap_value(d, r, i);
		int rc;

		if (!strcmp(k, "source_matchers") || !strcmp(k, "target_matchers") ||
		    !strcmp(k, "source_match") || !strcmp(k, "target_match") ||
		    !strcmp(k, "source_match_re") || !strcmp(k, "target_match_re")) {
			bool src = k[0] == 's';

			rc = parse_matchers(d, v, strstr(k, "matchers") != NULL,
					    strstr(k, "_re") != NULL, path,
					    src ? &ir->source : &ir->target,
					    src ? &ir->nsource : &ir->ntarget, err, errlen);
		} else if (!strcmp(k, "equal")) {
			if (ynode_kind(d, v) != Y_SEQ)
				return fail(err, errlen, path, ynode_line(d, v), "%s",
					    "equal wants a list of label names");
			rc = 0;
			ir->equal = calloc(ynode_len(d, v) + 1, sizeof(*ir->equal));
			if (!ir->equal)
				return -ENOMEM;
			for (size_t e = 0; e < ynode_len(d, v); e++) {
				const char *name = ynode_str(d, yseq_item(d, v, e));

				if (!label_name_valid(name))
					return fail(err, errlen, path,
						    ynode_line(d, yseq_item(d, v, e)),
						    "invalid label name \"%s\"", name);
				ir->equal[e] = strdup(name);
				if (!ir->equal[e])
					return -ENOMEM;
				ir->nequal++;
			}
		} else {
			return fail(err, errlen, path, ynode_line(d, ymap_key(d, r, i)),
				    "field %s not found in type config.InhibitRule", k);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int inhibit_rules_parse(const struct ydoc *d, ynode section, const char *path,
			struct inhibit_rule **out, size_t *n, char *err, size_t errlen)
{
	struct inhibit_rule *rules;
	size_t len;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (ynode_tag(d, section) == YT_NULL)
		return 0;
	if (ynode_kind(d, section) != Y_SEQ)
		return fail(err, errlen, path, ynode_line(d, section), "%s",
			    "inhibit_rules wants a list");
	len = ynode_len(d, section);
	rules = calloc(len ? len : 1, sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < len && !rc; i++)
		rc = parse_rule(d, yseq_item(d, section, i), path, &rules[i], err, errlen);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "%s: out of memory", path);
		for (size_t i = 0; i < len; i++)
			inhibit_rule_release(&rules[i]);
		free(rules);
		return rc;
	}
	*out = rules;
	*n = len;
	return 0;
}
