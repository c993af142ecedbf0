// SPDX-License-Identifier: GPL-2.0
/*
 * Chrome trace event format (the JSON object form): what Perfetto UI, chrome://tracing, DevTools'
 * trace engine and speedscope read. Complete events ("X") per span on the thread's track, sorted so
 * that a span comes before the spans it contains; flows ("s"/"f") for links.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/json.h"
#include "export/trace.h"

static const char *const cat_names[] = {
	[SPAN_ROOT] = "root",	    [SPAN_PROCESS] = "process",	  [SPAN_THREAD] = "thread",
	[SPAN_SYSCALL] = "syscall", [SPAN_FUNCTION] = "function", [SPAN_HTTP] = "http",
};

/* Chrome args use the short names the trace viewers show; everything else keeps its key. */
static const char *chrome_key(const char *k)
{
	static const char *const map[][2] = {
		{ "process.parent_pid", "ppid" },
		{ "process.command_args", "argv" },
		{ "process.exit.code", "exit_code" },
		{ "process.executable.path", "exe" },
		{ "vigil.exit.signal", "signal" },
		{ "vigil.oncpu_ms", "oncpu_ms" },
		{ "vigil.offcpu_ms", "offcpu_ms" },
		{ "vigil.runq_ms", "runq_ms" },
		{ "vigil.fd", "fd" },
		{ "vigil.fd.target", "target" },
		{ "vigil.syscall.ret", "ret" },
		{ "error.type", "errno" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(k, map[i][0]))
			return map[i][1];
	return k;
}

static void attr_value(struct json *j, const struct span_attr *a)
{
	switch (a->type) {
	case ATTR_STR:
		json__str(j, a->s);
		break;
	case ATTR_INT:
		json__i64(j, a->i);
		break;
	case ATTR_DOUBLE:
		json__double(j, a->d);
		break;
	case ATTR_BOOL:
		json__bool(j, a->b);
		break;
	case ATTR_STRS:
		json__begin_array(j);
		for (__u32 i = 0; i < a->strs.n; i++)
			json__str(j, a->strs.v[i]);
		json__end_array(j);
		break;
	}
}

static void hex64(__u64 v, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)v);
}

/* Microseconds of CLOCK_MONOTONIC (as Chrome's own traces), with nanosecond precision. */
static double us(__u64 ns, __u64 base)
{
	(void)base;
	return (double)ns / 1000.0;
}

/* Chrome's track of a span: the root goes on COMMAND's main thread (or a track of its own). */
static void track(const struct span *sp, __u32 *pid, __u32 *tid)
{
	*pid = sp->pid;
	*tid = sp->tid;
}

static const struct spans *sort_spans;

static int cmp_start(const void *a, const void *b)
{
	const struct span *x = spans__get(sort_spans, *(const __u32 *)a),
			  *y = spans__get(sort_spans, *(const __u32 *)b);

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->end_ns != y->end_ns)
		return x->end_ns > y->end_ns ? -1 : 1; /* the container first */
	if (x->cat != y->cat)
		return x->cat < y->cat ? -1 : 1;
	return *(const __u32 *)a < *(const __u32 *)b ? -1 : 1;
}

static void names(struct json *j, const struct spans *s)
{
	size_t n = spans__count(s);
	char label[160];

	for (size_t i = 0; i < n; i++) {
		const struct span *sp = spans__get(s, (__u32)i);
		__u32 pid, tid;

		if (sp->cat != SPAN_PROCESS && sp->cat != SPAN_THREAD &&
		    !(sp->cat == SPAN_ROOT && !sp->pid))
			continue;
		track(sp, &pid, &tid);
		if (sp->cat != SPAN_THREAD) {
			json__begin_object(j);
			json__kv_str(j, "name", "process_name");
			json__kv_str(j, "ph", "M");
			json__kv_u64(j, "pid", pid);
			json__kv_u64(j, "tid", tid);
			json__key(j, "args");
			json__begin_object(j);
			if (sp->cat == SPAN_ROOT)
				snprintf(label, sizeof(label), "vigil trace");
			else
				snprintf(label, sizeof(label), "%s (%u)", sp->name, sp->pid);
			json__kv_str(j, "name", label);
			json__end_object(j);
			json__end_object(j);
		}
		json__begin_object(j);
		json__kv_str(j, "name", "thread_name");
		json__kv_str(j, "ph", "M");
		json__kv_u64(j, "pid", pid);
		json__kv_u64(j, "tid", tid);
		json__key(j, "args");
		json__begin_object(j);
		json__kv_str(j, "name", sp->cat == SPAN_ROOT ? "vigil trace" : sp->name);
		json__end_object(j);
		json__end_object(j);
	}
}

static void complete(struct json *j, const struct spans *s, __u32 idx, __u64 base)
{
	const struct span *sp = spans__get(s, idx);
	const struct span *parent = spans__get(s, sp->parent);
	char id[17];
	__u32 pid, tid;

	track(sp, &pid, &tid);
	json__begin_object(j);
	json__kv_str(j, "name", sp->name);
	json__kv_str(j, "cat", cat_names[sp->cat]);
	json__kv_str(j, "ph", "X");
	json__kv_double(j, "ts", us(sp->start_ns, base));
	json__kv_double(j, "dur", (double)(sp->end_ns - sp->start_ns) / 1000.0);
	json__kv_u64(j, "pid", pid);
	json__kv_u64(j, "tid", tid);
	json__key(j, "args");
	json__begin_object(j);
	hex64(sp->span_id, id);
	json__kv_str(j, "span_id", id);
	if (parent) {
		hex64(parent->span_id, id);
		json__kv_str(j, "parent_span_id", id);
	}
	if (sp->kind == SPAN_KIND_SERVER || sp->kind == SPAN_KIND_CLIENT)
		json__kv_str(j, "kind", sp->kind == SPAN_KIND_SERVER ? "server" : "client");
	for (__u32 a = 0; a < sp->nattrs; a++) {
		json__key(j, chrome_key(sp->attrs[a].key));
		attr_value(j, &sp->attrs[a]);
	}
	if (sp->status == SPAN_STATUS_ERROR) {
		json__kv_bool(j, "error", true);
		if (sp->status_msg)
			json__kv_str(j, "status", sp->status_msg);
	}
	if (sp->flags & SPAN_F_CRITICAL)
		json__kv_bool(j, "critical_path", true);
	if (sp->flags & SPAN_F_NO_START)
		json__kv_bool(j, "started_before_capture", true);
	if (sp->flags & SPAN_F_NO_END)
		json__kv_bool(j, "running_at_end", true);
	json__end_object(j);
	json__end_object(j);
}

static const char *const link_names[] = { "link", "wakeup", "pipe", "unix", "tcp" };

/* One end of a flow: an instant event on the thread and the flow event bound to it (DevTools'
 * trace engine binds a flow event to the event with the same ts, pid, tid and cat; Perfetto and
 * chrome://tracing to the slice around it). */
static void flow_end(struct json *j, const char *name, const char *ph, __u64 id, double ts,
		     __u32 pid, __u32 tid)
{
	json__begin_object(j);
	json__kv_str(j, "name", name);
	json__kv_str(j, "cat", "link");
	json__kv_str(j, "ph", "i");
	json__kv_str(j, "s", "t");
	json__kv_double(j, "ts", ts);
	json__kv_u64(j, "pid", pid);
	json__kv_u64(j, "tid", tid);
	json__end_object(j);
	json__begin_object(j);
	json__kv_str(j, "name", name);
	json__kv_str(j, "cat", "link");
	json__kv_str(j, "ph", ph);
	if (ph[0] == 'f')
		json__kv_str(j, "bp", "e");
	json__kv_u64(j, "id", id);
	json__kv_double(j, "ts", ts);
	json__kv_u64(j, "pid", pid);
	json__kv_u64(j, "tid", tid);
	json__end_object(j);
}

static void flows(struct json *j, const struct spans *s, __u64 base)
{
	size_t n = spans__count(s);
	__u64 id = 1;

	for (size_t i = 0; i < n; i++) {
		const struct span *sp = spans__get(s, (__u32)i);

		for (__u32 l = 0; l < sp->nlinks; l++) {
			const struct span_link *lk = &sp->links[l];
			const struct span *from = spans__get(s, lk->from);
			const char *name = link_names[lk->kind < 5 ? lk->kind : 0];
			__u64 dur = sp->end_ns - sp->start_ns, at = lk->to_ns;
			__u32 pid, tid;

			if (!from)
				continue;
			/* Land inside the waiting span, so the arrow binds to it. */
			if (at >= sp->end_ns)
				at = sp->end_ns - (dur > 2000 ? 1000 : dur / 2);
			track(from, &pid, &tid);
			flow_end(j, name, "s", id, us(lk->from_ns, base),
				 lk->from_pid ? lk->from_pid : pid,
				 lk->from_tid ? lk->from_tid : tid);
			track(sp, &pid, &tid);
			flow_end(j, name, "f", id, us(at, base), pid, tid);
			id++;
		}
	}
}

int export_chrome_trace(const struct spans *s, FILE *out)
{
	size_t n = spans__count(s);
	__u32 *order = malloc((n + 1) * sizeof(*order));
	const struct span *root = spans__get(s, 0);
	__u64 base = root ? root->start_ns : 0;
	struct json *j;
	char tid_hex[33];
	const __u8 *tr = spans__trace_id(s, 0);
	int err;

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		order[i] = (__u32)i;
		if (spans__get(s, (__u32)i)->start_ns < base)
			base = spans__get(s, (__u32)i)->start_ns;
	}
	sort_spans = s;
	qsort(order, n, sizeof(*order), cmp_start);
	j = json__new(out, false);
	json__begin_object(j);
	json__key(j, "traceEvents");
	json__begin_array(j);
	names(j, s);
	for (size_t i = 0; i < n; i++)
		complete(j, s, order[i], base);
	flows(j, s, base);
	json__end_array(j);
	json__kv_str(j, "displayTimeUnit", "ms");
	json__key(j, "otherData");
	json__begin_object(j);
	for (int i = 0; i < 16; i++)
		snprintf(tid_hex + 2 * i, 3, "%02x", tr[i]);
	json__kv_str(j, "trace_id", tid_hex);
	json__kv_str(j, "host", spans__host(s));
	json__kv_u64(j, "start_time_unix_ns", spans__realtime(s, base));
	json__kv_str(j, "exporter", "vigil trace");
	json__end_object(j);
	json__end_object(j);
	err = json__finish(j);
	json__free(j);
	free(order);
	if (!err && fputc('\n', out) == EOF)
		err = -EIO;
	return err;
}
