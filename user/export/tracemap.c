// SPDX-License-Identifier: GPL-2.0
/*
 * The service map of a trace: services (processes grouped by service name) and the edges between
 * them, from HTTP requests (a CLIENT span, and the SERVER span it is the parent of when both ends
 * were seen) and from links (data through pipes and sockets, wake-ups). Per edge: how many, errors,
 * p50 and p99 latency (HTTP: the request's duration; links: from the cause to the woken read).
 * Also the format table and the dispatcher of export/trace.h.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/json.h"
#include "export/trace.h"
#include "model/hashmap.h"

struct edge {
	const char *from, *to;
	const char *kind; /* "http", "pipe", "unix", "tcp", "wakeup" */
	__u64 count, errors;
	__u64 *lat; /* ns */
	size_t nlat, cap;
};

struct svc {
	const char *name;
	__u32 *pids;
	size_t npids, cap;
	__u64 spans;
};

struct smap {
	struct edge *e;
	size_t ne, cape;
	struct svc *v;
	size_t nv, capv;
};

const char *trace_service_of(const struct spans *s, __u32 idx)
{
	for (__u32 steps = 0; idx != SPAN_NONE && steps < 4096; steps++) {
		const struct span *sp = spans__get(s, idx);
		const struct span_attr *a;

		if (!sp)
			break;
		if (sp->cat == SPAN_PROCESS || sp->cat == SPAN_ROOT) {
			a = spans__attr(s, idx, "service.name");
			return a && a->type == ATTR_STR ? a->s : sp->name;
		}
		idx = sp->parent;
	}
	return "?";
}

/* The service of the process a span ran in (by pid: a SERVER span's parent is in another one). */
static const char *service_by_pid(const struct spans *s, const __u32 *proc_of_pid, __u32 idx)
{
	__u32 p = proc_of_pid[idx];

	return trace_service_of(s, p != SPAN_NONE ? p : idx);
}

static struct edge *edge_for(struct smap *m, const char *from, const char *to, const char *kind)
{
	for (size_t i = 0; i < m->ne; i++)
		if (!strcmp(m->e[i].from, from) && !strcmp(m->e[i].to, to) &&
		    !strcmp(m->e[i].kind, kind))
			return &m->e[i];
	if (m->ne == m->cape) {
		size_t cap = m->cape ? m->cape * 2 : 16;
		struct edge *e = realloc(m->e, cap * sizeof(*e));

		if (!e)
			return NULL;
		m->e = e;
		m->cape = cap;
	}
	memset(&m->e[m->ne], 0, sizeof(m->e[0]));
	m->e[m->ne].from = from;
	m->e[m->ne].to = to;
	m->e[m->ne].kind = kind;
	return &m->e[m->ne++];
}

static int edge_add(struct smap *m, const char *from, const char *to, const char *kind, __u64 lat,
		    bool error)
{
	struct edge *e = edge_for(m, from, to, kind);

	if (!e)
		return -ENOMEM;
	if (e->nlat == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		__u64 *l = realloc(e->lat, cap * sizeof(*l));

		if (!l)
			return -ENOMEM;
		e->lat = l;
		e->cap = cap;
	}
	e->lat[e->nlat++] = lat;
	e->count++;
	e->errors += error;
	return 0;
}

static int svc_add(struct smap *m, const char *name, __u32 pid)
{
	struct svc *v = NULL;

	for (size_t i = 0; i < m->nv && !v; i++)
		if (!strcmp(m->v[i].name, name))
			v = &m->v[i];
	if (!v) {
		if (m->nv == m->capv) {
			size_t cap = m->capv ? m->capv * 2 : 16;
			struct svc *n = realloc(m->v, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			m->v = n;
			m->capv = cap;
		}
		v = &m->v[m->nv++];
		memset(v, 0, sizeof(*v));
		v->name = name;
	}
	if (!pid)
		return 0;
	if (v->npids == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		__u32 *p = realloc(v->pids, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->pids = p;
		v->cap = cap;
	}
	v->pids[v->npids++] = pid;
	return 0;
}

static void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->ne; i++)
		free(m->e[i].lat);
	for (size_t i = 0; i < m->nv; i++)
		free(m->v[i].pids);
	free(m->e);
	free(m->v);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank quantile of sorted values. */
static __u64 quantile(const __u64 *v, size_t n, double q)
{
	size_t r;

	if (!n)
		return 0;
	r = (size_t)ceil(q * (double)n);
	return v[r ? r - 1 : 0];
}

static const char *const link_kinds[] = { "link", "wakeup", "pipe", "unix", "tcp" };

static int build(const struct spans *s, struct smap *m)
{
	size_t n = spans__count(s);
	__u32 *proc = malloc((n + 1) * sizeof(*proc));
	struct hashmap *by_pid = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	int err = 0;

	if (!proc || !by_pid) {
		free(proc);
		hashmap__free(by_pid);
		return -ENOMEM;
	}
	/* proc[i]: the process span with span i's pid. */
	for (size_t i = 0; i < n && !err; i++) {
		const struct span *sp = spans__get(s, (__u32)i);

		if (sp->cat != SPAN_PROCESS)
			continue;
		err |= svc_add(m, trace_service_of(s, (__u32)i), sp->pid);
		err |= hashmap__set(by_pid, (const void *)(uintptr_t)sp->pid, i);
	}
	for (size_t i = 0; i < n; i++) {
		uintptr_t v;

		proc[i] = hashmap__get(by_pid,
				       (const void *)(uintptr_t)spans__get(s, (__u32)i)->pid, &v) ?
				  (__u32)v :
				  SPAN_NONE;
	}
	hashmap__free(by_pid);
	for (size_t i = 0; i < n && !err; i++) {
		const struct span *sp = spans__get(s, (__u32)i);
		const struct span *parent = spans__get(s, sp->parent);

		if (sp->cat == SPAN_HTTP && sp->kind == SPAN_KIND_SERVER && parent &&
		    parent->cat == SPAN_HTTP && parent->kind == SPAN_KIND_CLIENT) {
			err = edge_add(m, service_by_pid(s, proc, sp->parent),
				       service_by_pid(s, proc, (__u32)i), "http",
				       sp->end_ns - sp->start_ns, sp->status == SPAN_STATUS_ERROR);
		} else if (sp->cat == SPAN_HTTP && sp->kind == SPAN_KIND_CLIENT) {
			/* A request whose server was not traced: the server's address names it. */
			bool paired = false;
			size_t nk = spans__children((struct spans *)s, (__u32)i, NULL, 0);
			__u32 *kids = nk ? malloc(nk * sizeof(*kids)) : NULL;
			const struct span_attr *a = spans__attr(s, (__u32)i, "server.address");

			if (nk && !kids)
				return free(proc), -ENOMEM;
			spans__children((struct spans *)s, (__u32)i, kids, nk);
			for (size_t c = 0; c < nk; c++)
				paired |= spans__get(s, kids[c])->cat == SPAN_HTTP;
			free(kids);
			if (!paired)
				err = edge_add(m, service_by_pid(s, proc, (__u32)i),
					       a && a->type == ATTR_STR ? a->s : "?", "http",
					       sp->end_ns - sp->start_ns,
					       sp->status == SPAN_STATUS_ERROR);
		}
		for (__u32 l = 0; l < sp->nlinks && !err; l++) {
			const struct span_link *lk = &sp->links[l];

			if (lk->from >= n)
				continue;
			err = edge_add(m, service_by_pid(s, proc, lk->from),
				       service_by_pid(s, proc, (__u32)i),
				       link_kinds[lk->kind < 5 ? lk->kind : 0],
				       lk->to_ns > lk->from_ns ? lk->to_ns - lk->from_ns : 0,
				       false);
		}
	}
	for (size_t i = 0; i < m->ne; i++)
		qsort(m->e[i].lat, m->e[i].nlat, sizeof(__u64), cmp_u64);
	free(proc);
	return err;
}

int export_service_map_json(const struct spans *s, FILE *out)
{
	struct smap m = { 0 };
	struct json *j;
	int err = build(s, &m);

	if (err) {
		smap_free(&m);
		return err;
	}
	j = json__new(out, true);
	json__begin_object(j);
	json__key(j, "services");
	json__begin_array(j);
	for (size_t i = 0; i < m.nv; i++) {
		json__begin_object(j);
		json__kv_str(j, "name", m.v[i].name);
		json__key(j, "pids");
		json__begin_array(j);
		for (size_t p = 0; p < m.v[i].npids; p++)
			json__u64(j, m.v[i].pids[p]);
		json__end_array(j);
		json__end_object(j);
	}
	json__end_array(j);
	json__key(j, "edges");
	json__begin_array(j);
	for (size_t i = 0; i < m.ne; i++) {
		const struct edge *e = &m.e[i];

		json__begin_object(j);
		json__kv_str(j, "from", e->from);
		json__kv_str(j, "to", e->to);
		json__kv_str(j, "kind", e->kind);
		json__kv_u64(j, "count", e->count);
		json__kv_u64(j, "errors", e->errors);
		json__kv_double(j, "p50_ms", quantile(e->lat, e->nlat, 0.5) / 1e6);
		json__kv_double(j, "p99_ms", quantile(e->lat, e->nlat, 0.99) / 1e6);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
	err = json__finish(j);
	json__free(j);
	smap_free(&m);
	if (!err && fputc('\n', out) == EOF)
		err = -EIO;
	return err;
}

/* A DOT identifier: a quoted string with '"' and '\' escaped. */
static void dot_id(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc((unsigned char)*s < 0x20 ? ' ' : *s, out);
	}
	fputc('"', out);
}

int export_service_map_dot(const struct spans *s, FILE *out)
{
	struct smap m = { 0 };
	int err = build(s, &m);

	if (err) {
		smap_free(&m);
		return err;
	}
	fprintf(out, "digraph vigil {\n\trankdir=LR;\n\tnode [shape=box, fontname=\"sans\"];\n"
		     "\tedge [fontname=\"sans\", fontsize=10];\n");
	for (size_t i = 0; i < m.nv; i++) {
		fputc('\t', out);
		dot_id(out, m.v[i].name);
		fprintf(out, " [label=\"");
		for (const char *c = m.v[i].name; *c; c++)
			fprintf(out, "%s%c", *c == '"' || *c == '\\' ? "\\" : "",
				(unsigned char)*c < 0x20 ? ' ' : *c);
		fprintf(out, "\\n%zu process%s\"];\n", m.v[i].npids, m.v[i].npids == 1 ? "" : "es");
	}
	for (size_t i = 0; i < m.ne; i++) {
		const struct edge *e = &m.e[i];

		fputc('\t', out);
		dot_id(out, e->from);
		fputs(" -> ", out);
		dot_id(out, e->to);
		fprintf(out, " [label=\"%s x%llu\\np50 %.3f ms, p99 %.3f ms", e->kind,
			(unsigned long long)e->count, quantile(e->lat, e->nlat, 0.5) / 1e6,
			quantile(e->lat, e->nlat, 0.99) / 1e6);
		if (e->errors)
			fprintf(out, "\\n%llu error%s", (unsigned long long)e->errors,
				e->errors == 1 ? "" : "s");
		fprintf(out, "\"%s];\n", e->errors ? ", color=red" : "");
	}
	fputs("}\n", out);
	smap_free(&m);
	return ferror(out) ? -EIO : 0;
}

/* ---- formats ---- */

static const struct {
	const char *name;
	enum trace_format f;
} formats[] = {
	{ "chrome", TRACE_FMT_CHROME },	    { "otlp", TRACE_FMT_OTLP }, { "dot", TRACE_FMT_DOT },
	{ "map-json", TRACE_FMT_MAP_JSON }, { "text", TRACE_FMT_TEXT },
};

enum trace_format trace_format_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(name, formats[i].name))
			return formats[i].f;
	return TRACE_FMT_NONE;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

enum trace_format trace_format_by_path(const char *path)
{
	if (ends_with(path, ".otlp.json"))
		return TRACE_FMT_OTLP;
	if (ends_with(path, ".json"))
		return TRACE_FMT_CHROME;
	if (ends_with(path, ".dot") || ends_with(path, ".gv"))
		return TRACE_FMT_DOT;
	if (ends_with(path, ".txt"))
		return TRACE_FMT_TEXT;
	return TRACE_FMT_NONE;
}

const char *trace_format_list(void)
{
	return "chrome (.json), otlp (.otlp.json), dot (.dot, .gv), map-json, text (.txt)";
}

int export_trace(const struct spans *s, enum trace_format f, FILE *out, const char *version)
{
	switch (f) {
	case TRACE_FMT_CHROME:
		return export_chrome_trace(s, out);
	case TRACE_FMT_OTLP:
		return export_otlp(s, out, version);
	case TRACE_FMT_DOT:
		return export_service_map_dot(s, out);
	case TRACE_FMT_MAP_JSON:
		return export_service_map_json(s, out);
	case TRACE_FMT_TEXT:
		return export_trace_text(s, out);
	case TRACE_FMT_NONE:
		break;
	}
	return -EINVAL;
}
