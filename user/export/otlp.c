// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP/JSON (ExportTraceServiceRequest, opentelemetry-proto's JSON mapping): lowerCamelCase keys,
 * enums as integers, trace and span ids as lowercase hex, 64-bit times and integers as decimal
 * strings. One resourceSpans per process; the root span (the capture) belongs to the traced
 * command's process, or to a "vigil" resource when there is none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/json.h"
#include "export/trace.h"
#include "model/hashmap.h"

static void hex_id(const __u8 *id, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static void span_hex(__u64 v, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)v);
}

static void u64_str(struct json *j, __u64 v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	json__str(j, buf);
}

static void any_value(struct json *j, const struct span_attr *a)
{
	char buf[24];

	json__begin_object(j);
	switch (a->type) {
	case ATTR_STR:
		json__kv_str(j, "stringValue", a->s);
		break;
	case ATTR_INT:
		snprintf(buf, sizeof(buf), "%lld", (long long)a->i);
		json__kv_str(j, "intValue", buf);
		break;
	case ATTR_DOUBLE:
		json__kv_double(j, "doubleValue", a->d);
		break;
	case ATTR_BOOL:
		json__kv_bool(j, "boolValue", a->b);
		break;
	case ATTR_STRS:
		json__key(j, "arrayValue");
		json__begin_object(j);
		json__key(j, "values");
		json__begin_array(j);
		for (__u32 i = 0; i < a->strs.n; i++) {
			json__begin_object(j);
			json__kv_str(j, "stringValue", a->strs.v[i]);
			json__end_object(j);
		}
		json__end_array(j);
		json__end_object(j);
		break;
	}
	json__end_object(j);
}

static void kv_attr(struct json *j, const struct span_attr *a)
{
	json__begin_object(j);
	json__kv_str(j, "key", a->key);
	json__key(j, "value");
	any_value(j, a);
	json__end_object(j);
}

static void kv_str(struct json *j, const char *k, const char *v)
{
	struct span_attr a = { .key = k, .type = ATTR_STR, .s = v };

	kv_attr(j, &a);
}

static void kv_int(struct json *j, const char *k, __s64 v)
{
	struct span_attr a = { .key = k, .type = ATTR_INT, .i = v };

	kv_attr(j, &a);
}

/* Attributes that belong to the resource, not to the process span. */
static bool resource_key(const char *k)
{
	return !strcmp(k, "service.name") || !strcmp(k, "process.pid") ||
	       !strcmp(k, "process.executable.path") || !strcmp(k, "process.executable.name") ||
	       !strcmp(k, "process.command_args") || !strcmp(k, "process.parent_pid");
}

static void resource(struct json *j, const struct spans *s, __u32 proc, __u32 pid)
{
	json__key(j, "resource");
	json__begin_object(j);
	json__key(j, "attributes");
	json__begin_array(j);
	if (proc != SPAN_NONE) {
		const struct span *sp = spans__get(s, proc);
		bool named = false;

		for (__u32 a = 0; a < sp->nattrs; a++)
			if (resource_key(sp->attrs[a].key)) {
				named |= !strcmp(sp->attrs[a].key, "service.name");
				kv_attr(j, &sp->attrs[a]);
			}
		if (!named)
			kv_str(j, "service.name", sp->name);
		if (!spans__attr(s, proc, "process.pid"))
			kv_int(j, "process.pid", pid);
	} else {
		const struct span_attr *svc = spans__attr(s, 0, "service.name");

		kv_str(j, "service.name", svc ? svc->s : "vigil");
	}
	kv_str(j, "host.name", spans__host(s));
	json__end_array(j);
	json__end_object(j);
}

static const char *const link_kinds[] = { "", "wakeup", "pipe", "unix", "tcp" };

static void span(struct json *j, const struct spans *s, __u32 idx, const char *version)
{
	const struct span *sp = spans__get(s, idx);
	const struct span *parent = spans__get(s, sp->parent);
	char tid[33], id[17];
	bool remote = sp->remote_parent && (!parent || parent->trace != sp->trace);

	(void)version;
	json__begin_object(j);
	hex_id(spans__trace_id(s, sp->trace), 16, tid);
	json__kv_str(j, "traceId", tid);
	span_hex(sp->span_id, id);
	json__kv_str(j, "spanId", id);
	if (remote) {
		span_hex(sp->remote_parent, id);
		json__kv_str(j, "parentSpanId", id);
	} else if (parent && parent->trace == sp->trace) {
		span_hex(parent->span_id, id);
		json__kv_str(j, "parentSpanId", id);
	}
	json__kv_str(j, "name", sp->name);
	json__kv_u64(j, "kind", sp->kind ? sp->kind : SPAN_KIND_INTERNAL);
	json__key(j, "startTimeUnixNano");
	u64_str(j, spans__realtime(s, sp->start_ns));
	json__key(j, "endTimeUnixNano");
	u64_str(j, spans__realtime(s, sp->end_ns));
	json__key(j, "attributes");
	json__begin_array(j);
	for (__u32 a = 0; a < sp->nattrs; a++)
		if (sp->cat != SPAN_PROCESS || !resource_key(sp->attrs[a].key) ||
		    !strcmp(sp->attrs[a].key, "process.parent_pid"))
			kv_attr(j, &sp->attrs[a]);
	if (sp->cat != SPAN_ROOT && sp->cat != SPAN_PROCESS && !spans__attr(s, idx, "thread.id"))
		kv_int(j, "thread.id", sp->tid);
	kv_str(j, "vigil.span.category",
	       (const char *[]){ "root", "process", "thread", "syscall", "function",
				 "http" }[sp->cat]);
	{
		static const struct {
			__u8 flag;
			const char *key;
		} flags[] = {
			{ SPAN_F_CRITICAL, "vigil.critical_path" },
			{ SPAN_F_NO_START, "vigil.started_before_capture" },
			{ SPAN_F_NO_END, "vigil.running_at_end" },
		};

		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			struct span_attr a = { .key = flags[f].key, .type = ATTR_BOOL, .b = true };

			if (sp->flags & flags[f].flag)
				kv_attr(j, &a);
		}
	}
	json__end_array(j);
	json__key(j, "links");
	json__begin_array(j);
	for (__u32 l = 0; l < sp->nlinks; l++) {
		const struct span *from = spans__get(s, sp->links[l].from);

		if (!from)
			continue;
		json__begin_object(j);
		hex_id(spans__trace_id(s, from->trace), 16, tid);
		json__kv_str(j, "traceId", tid);
		span_hex(from->span_id, id);
		json__kv_str(j, "spanId", id);
		json__key(j, "attributes");
		json__begin_array(j);
		kv_str(j, "vigil.link.kind",
		       link_kinds[sp->links[l].kind < 5 ? sp->links[l].kind : 0]);
		kv_int(j, "vigil.link.delay_ns",
		       (__s64)(sp->links[l].to_ns - sp->links[l].from_ns));
		json__end_array(j);
		json__end_object(j);
	}
	/* A parent in another trace (a traceparent's span inside a process span): keep it as a
	 * link, so the process that made the request is still one click away. */
	if (parent && parent->trace != sp->trace) {
		json__begin_object(j);
		hex_id(spans__trace_id(s, parent->trace), 16, tid);
		json__kv_str(j, "traceId", tid);
		span_hex(parent->span_id, id);
		json__kv_str(j, "spanId", id);
		json__key(j, "attributes");
		json__begin_array(j);
		kv_str(j, "vigil.link.kind", "parent");
		json__end_array(j);
		json__end_object(j);
	}
	json__end_array(j);
	json__key(j, "status");
	json__begin_object(j);
	if (sp->status)
		json__kv_u64(j, "code", sp->status);
	if (sp->status_msg)
		json__kv_str(j, "message", sp->status_msg);
	json__end_object(j);
	json__end_object(j);
}

int export_otlp(const struct spans *s, FILE *out, const char *version)
{
	size_t n = spans__count(s), nproc = 0;
	__u32 *group = malloc((n + 1) * sizeof(*group)); /* span -> resource group, nproc = none */
	__u32 *procs = malloc((n + 1) * sizeof(*procs)), *start = NULL, *order = NULL;
	const struct span *root = spans__get(s, 0);
	struct hashmap *by_pid = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	struct json *j = NULL;
	int err = -ENOMEM;

	if (!group || !procs || !by_pid)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct span *sp = spans__get(s, (__u32)i);

		if (sp->cat != SPAN_PROCESS)
			continue;
		if (hashmap__set(by_pid, (const void *)(uintptr_t)sp->pid, nproc))
			goto out;
		procs[nproc++] = (__u32)i;
	}
	/* Each span belongs to its pid's process (a SERVER span's parent is a CLIENT span in
	 * another process); the root to the traced command's. */
	for (size_t i = 0; i < n; i++) {
		const struct span *sp = spans__get(s, (__u32)i);
		uintptr_t g;

		group[i] = hashmap__get(by_pid, (const void *)(uintptr_t)sp->pid, &g) ?
				   (__u32)g :
				   (__u32)nproc;
		if (sp->cat == SPAN_ROOT && !(root && root->pid))
			group[i] = (__u32)nproc;
	}
	/* Counting sort of the spans by group, keeping their order within a group. */
	start = calloc(nproc + 2, sizeof(*start));
	order = malloc((n + 1) * sizeof(*order));
	if (!start || !order)
		goto out;
	for (size_t i = 0; i < n; i++)
		start[group[i] + 1]++;
	for (size_t g = 1; g <= nproc + 1; g++)
		start[g] += start[g - 1];
	for (size_t i = 0; i < n; i++)
		order[start[group[i]]++] = (__u32)i;
	for (size_t g = nproc + 1; g > 0; g--)
		start[g] = start[g - 1];
	start[0] = 0;
	j = json__new(out, false);
	json__begin_object(j);
	json__key(j, "resourceSpans");
	json__begin_array(j);
	for (size_t g = 0; g <= nproc; g++) {
		__u32 pr = g < nproc ? procs[g] : SPAN_NONE;

		if (start[g] == start[g + 1])
			continue;
		json__begin_object(j);
		resource(j, s, pr, pr != SPAN_NONE ? spans__get(s, pr)->pid : 0);
		json__key(j, "scopeSpans");
		json__begin_array(j);
		json__begin_object(j);
		json__key(j, "scope");
		json__begin_object(j);
		json__kv_str(j, "name", "vigil");
		json__kv_str(j, "version", version ? version : "");
		json__end_object(j);
		json__key(j, "spans");
		json__begin_array(j);
		for (__u32 k = start[g]; k < start[g + 1]; k++)
			span(j, s, order[k], version);
		json__end_array(j);
		json__end_object(j);
		json__end_array(j);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
	err = json__finish(j);
	if (!err && fputc('\n', out) == EOF)
		err = -EIO;
out:
	json__free(j);
	hashmap__free(by_pid);
	free(group);
	free(procs);
	free(start);
	free(order);
	return err;
}
