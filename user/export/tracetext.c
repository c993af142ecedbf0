// SPDX-License-Identifier: GPL-2.0
/*
 * The terminal view of a trace: a summary line, the process tree (duration, exit status, on- and
 * off-CPU time, spans per process) with '*' on the critical path, then the critical path in time
 * order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/trace.h"

#define TREE_DEPTH 64
#define CRIT_LINES 24

static void fmt_dur(__u64 ns, char *buf, size_t len)
{
	if (ns >= 10000000000ull)
		snprintf(buf, len, "%.1f s", ns / 1e9);
	else if (ns >= 1000000000ull)
		snprintf(buf, len, "%.3f s", ns / 1e9);
	else if (ns >= 1000000)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.1f us", ns / 1e3);
}

void trace_span_label(const struct spans *s, __u32 idx, char *buf, size_t len)
{
	const struct span *sp = spans__get(s, idx);

	if (!sp) {
		snprintf(buf, len, "?");
		return;
	}
	if (sp->cat == SPAN_PROCESS)
		snprintf(buf, len, "%s [%u]", sp->name, sp->pid);
	else if (sp->cat == SPAN_THREAD)
		snprintf(buf, len, "thread %s [%u]", sp->name, sp->tid);
	else if (sp->cat == SPAN_ROOT)
		snprintf(buf, len, "%s", sp->name);
	else
		snprintf(buf, len, "%s [%u]", sp->name, sp->tid);
}

struct counts {
	size_t procs, threads, syscalls, funcs, http, links, errors;
};

/* Per process: spans below it that are not processes. */
struct pstat {
	size_t syscalls, funcs, http;
};

static void exit_text(const struct spans *s, __u32 idx, char *buf, size_t len)
{
	const struct span *sp = spans__get(s, idx);
	const struct span_attr *sig = spans__attr(s, idx, "vigil.exit.signal");
	const struct span_attr *code = spans__attr(s, idx, "process.exit.code");

	if (sp->cat == SPAN_ROOT)
		snprintf(buf, len, "(capture)");
	else if (sp->flags & SPAN_F_NO_END)
		snprintf(buf, len, "running");
	else if (sig)
		snprintf(buf, len, "%s", sig->s);
	else if (code)
		snprintf(buf, len, "exit %lld", (long long)code->i);
	else
		snprintf(buf, len, "exited");
}

static int tree(const struct spans *s, FILE *out, __u32 idx, const struct pstat *ps, char *prefix,
		size_t plen, bool last, int depth)
{
	const struct span *sp = spans__get(s, idx);
	const struct span_attr *on = spans__attr(s, idx, "vigil.oncpu_ms");
	const struct span_attr *off = spans__attr(s, idx, "vigil.offcpu_ms");
	char dur[32], label[160], ex[32];
	size_t nk, np = 0;
	__u32 *kids;

	fmt_dur(sp->end_ns - sp->start_ns, dur, sizeof(dur));
	trace_span_label(s, idx, label, sizeof(label));
	exit_text(s, idx, ex, sizeof(ex));
	fprintf(out, "%c %s%s%10s  %s  %s", sp->flags & SPAN_F_CRITICAL ? '*' : ' ', prefix,
		depth ? (last ? "└─ " : "├─ ") : "", dur, label, ex);
	if (on && off)
		fprintf(out, "  cpu %.1f ms, off-cpu %.1f ms", on->d, off->d);
	if (ps[idx].syscalls || ps[idx].http || ps[idx].funcs) {
		fprintf(out, "  (");
		if (ps[idx].syscalls)
			fprintf(out, "%zu syscall%s", ps[idx].syscalls,
				ps[idx].syscalls == 1 ? "" : "s");
		if (ps[idx].funcs)
			fprintf(out, "%s%zu call%s", ps[idx].syscalls ? ", " : "", ps[idx].funcs,
				ps[idx].funcs == 1 ? "" : "s");
		if (ps[idx].http)
			fprintf(out, "%s%zu http", ps[idx].syscalls || ps[idx].funcs ? ", " : "",
				ps[idx].http);
		fputc(')', out);
	}
	fputc('\n', out);
	if (depth >= TREE_DEPTH)
		return 0;
	nk = spans__children((struct spans *)s, idx, NULL, 0);
	kids = malloc((nk + 1) * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	spans__children((struct spans *)s, idx, kids, nk);
	for (size_t i = 0; i < nk; i++)
		if (spans__get(s, kids[i])->cat == SPAN_PROCESS)
			kids[np++] = kids[i];
	if (depth) {
		size_t l = strlen(prefix);

		snprintf(prefix + l, plen - l, "%s", last ? "   " : "│  ");
	}
	for (size_t i = 0; i < np; i++) {
		int err = tree(s, out, kids[i], ps, prefix, plen, i + 1 == np, depth + 1);

		if (err) {
			free(kids);
			return err;
		}
	}
	if (depth) {
		/* Drop what this level added ("   " or "│  ", 3 or 5 bytes). */
		size_t l = strlen(prefix);

		prefix[l >= 5 && !strcmp(prefix + l - 5, "│  ") ? l - 5 :
		       l >= 3					? l - 3 :
								  0] = '\0';
	}
	free(kids);
	return 0;
}

static const struct spans *sort_set;

static int cmp_start(const void *a, const void *b)
{
	const struct span *x = spans__get(sort_set, *(const __u32 *)a),
			  *y = spans__get(sort_set, *(const __u32 *)b);

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->end_ns > y->end_ns ? -1 : x->end_ns < y->end_ns;
}

int export_trace_text(const struct spans *s, FILE *out)
{
	size_t n = spans__count(s), ncrit = 0;
	struct pstat *ps = calloc(n + 1, sizeof(*ps));
	__u32 *crit = malloc((n + 1) * sizeof(*crit));
	struct counts c = { 0 };
	char prefix[TREE_DEPTH * 6 + 8] = "", dur[32], label[160];
	const struct span *root = spans__get(s, 0);
	int err;

	if (!ps || !crit || !root) {
		free(ps);
		free(crit);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct span *sp = spans__get(s, (__u32)i);
		__u32 p = sp->parent;

		c.procs += sp->cat == SPAN_PROCESS;
		c.threads += sp->cat == SPAN_THREAD;
		c.syscalls += sp->cat == SPAN_SYSCALL;
		c.funcs += sp->cat == SPAN_FUNCTION;
		c.http += sp->cat == SPAN_HTTP;
		c.links += sp->nlinks;
		c.errors += sp->status == SPAN_STATUS_ERROR;
		if (sp->flags & SPAN_F_CRITICAL)
			crit[ncrit++] = (__u32)i;
		/* count the span on its own process (by pid, walking up the parents) */
		for (int steps = 0; p != SPAN_NONE && steps < 4096; steps++) {
			const struct span *q = spans__get(s, p);

			if (q->cat == SPAN_PROCESS && q->pid == sp->pid) {
				ps[p].syscalls += sp->cat == SPAN_SYSCALL;
				ps[p].funcs += sp->cat == SPAN_FUNCTION;
				ps[p].http += sp->cat == SPAN_HTTP;
				break;
			}
			p = q->parent;
		}
	}
	fmt_dur(root->end_ns - root->start_ns, dur, sizeof(dur));
	fprintf(out,
		"%s: %s, %zu process%s, %zu thread%s, %zu syscall span%s, %zu function span%s, "
		"%zu HTTP span%s, %zu link%s, %zu error%s (* = critical path)\n",
		root->name, dur, c.procs, c.procs == 1 ? "" : "es", c.procs + c.threads,
		c.procs + c.threads == 1 ? "" : "s", c.syscalls, c.syscalls == 1 ? "" : "s",
		c.funcs, c.funcs == 1 ? "" : "s", c.http, c.http == 1 ? "" : "s", c.links,
		c.links == 1 ? "" : "s", c.errors, c.errors == 1 ? "" : "s");
	err = tree(s, out, 0, ps, prefix, sizeof(prefix), true, 0);
	if (!err && ncrit > 1) {
		sort_set = s;
		qsort(crit, ncrit, sizeof(*crit), cmp_start);
		fprintf(out, "critical path:\n");
		for (size_t i = 0; i < ncrit && i < CRIT_LINES; i++) {
			const struct span *sp = spans__get(s, crit[i]);

			fmt_dur(sp->end_ns - sp->start_ns, dur, sizeof(dur));
			trace_span_label(s, crit[i], label, sizeof(label));
			fprintf(out, "  %+10.3f ms %10s  %s\n",
				(double)((__s64)sp->start_ns - (__s64)root->start_ns) / 1e6, dur,
				label);
		}
		if (ncrit > CRIT_LINES)
			fprintf(out, "  ... %zu more\n", ncrit - CRIT_LINES);
	}
	free(ps);
	free(crit);
	if (!err && (fflush(out) || ferror(out)))
		err = -EIO;
	return err;
}
