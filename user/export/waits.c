// SPDX-License-Identifier: GPL-2.0
/*
 * The off-CPU table (export.h): one row per process and wait, where a wait is named the way a user
 * asks "where does it wait": the innermost function of the program's own code, what it called (the
 * library function it is blocked in, else the syscall), and the kernel's reason, from the kernel
 * stack: "my_nap <- nanosleep  (hrtimer)". Stacks are root first: user frames, kernel frames, then
 * with wakers "--", the waker's frames leaf first and the waker's name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "export/json.h"
#include "model/hashmap.h"
#include "model/hist.h"

#define MAX_LABEL 256

struct wait {
	char *key; /* "comm\x1fwait\x1fwaker": the map's key */
	char *comm, *what, *waker;
	__u64 ns, count;
};

/* Scheduler plumbing between the reason and __schedule: never the reason itself. */
static const char *const sched_frames[] = {
	"__schedule",
	"schedule",
	"schedule_idle",
	"schedule_timeout",
	"schedule_hrtimeout_range",
	"schedule_hrtimeout_range_clock",
	"schedule_hrtimeout",
	"schedule_preempt_disabled",
	"finish_task_switch",
	"freezable_schedule",
	NULL,
};

/* The waker's plumbing: how a wake-up is delivered, not why. */
static const char *const wake_frames[] = {
	"try_to_wake_up",
	"wake_up_process",
	"wake_up_state",
	"wake_up_q",
	"__wake_up",
	"__wake_up_common",
	"__wake_up_common_lock",
	"__wake_up_sync_key",
	"__wake_up_sync",
	"__wake_up_locked_key",
	"autoremove_wake_function",
	"default_wake_function",
	"woken_wake_function",
	"pollwake",
	"ep_poll_callback",
	"ep_autoremove_wake_function",
	"wake_page_function",
	"complete",
	"complete_all",
	"signal_wake_up_state",
	"complete_signal",
	NULL,
};

/* Kernel functions (by prefix) to the reason a user reads; the first hit from the leaf wins. */
static const struct {
	const char *prefix, *reason;
} reasons[] = {
	{ "preempt_schedule", "preempted" },
	{ "irqentry_exit", "preempted" },
	{ "exit_to_user_mode", "preempted" },
	{ "__cond_resched", "preempted" },
	{ "_cond_resched", "preempted" },
	{ "do_nanosleep", "hrtimer" },
	{ "hrtimer_nanosleep", "hrtimer" },
	{ "hrtimer_wakeup", "hrtimer" },
	{ "common_nsleep", "hrtimer" },
	{ "futex_", "futex" },
	{ "pipe_", "pipe" },
	{ "anon_pipe_", "pipe" },
	{ "wait_for_partner", "pipe" },
	{ "ep_poll", "epoll" },
	{ "do_epoll_wait", "epoll" },
	{ "do_sys_poll", "poll" },
	{ "do_poll", "poll" },
	{ "do_select", "poll" },
	{ "core_sys_select", "poll" },
	{ "poll_schedule_timeout", "poll" },
	{ "sk_wait_data", "socket" },
	{ "sk_stream_wait", "socket" },
	{ "inet_csk_", "socket" },
	{ "unix_", "socket" },
	{ "__skb_", "socket" },
	{ "tcp_", "socket" },
	{ "udp_", "socket" },
	{ "sock_", "socket" },
	{ "io_schedule", "io" },
	{ "folio_wait", "io" },
	{ "__folio_lock", "io" },
	{ "wait_on_page", "io" },
	{ "bit_wait_io", "io" },
	{ "__wait_on_buffer", "io" },
	{ "submit_bio_wait", "io" },
	{ "blk_", "io" },
	{ "jbd2_", "io" },
	{ "wait_for_vfork_done", "vfork" },
	{ "complete_vfork_done", "vfork" },
	{ "mm_release", "vfork" },
	{ "__wait_for_common", "completion" },
	{ "wait_for_completion", "completion" },
	{ "do_notify_parent", "child exit" },
	{ "do_wait", "child" },
	{ "kernel_wait4", "child" },
	{ "rwsem_down", "lock" },
	{ "__mutex_lock", "lock" },
	{ "mutex_lock", "lock" },
	{ "__down", "lock" },
	{ "rt_mutex", "lock" },
	{ "n_tty_", "tty" },
	{ "tty_", "tty" },
	{ "do_signal_stop", "stopped" },
	{ "ptrace_stop", "traced" },
	{ "sigsuspend", "signal" },
	{ "do_sigtimedwait", "signal" },
	{ "__x64_sys_pause", "signal" },
	{ "exc_page_fault", "page fault" },
	{ "do_user_addr_fault", "page fault" },
	{ "handle_mm_fault", "page fault" },
};

static bool in_list(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return true;
	return false;
}

static const char *classify(const char *name)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strncmp(name, reasons[i].prefix, strlen(reasons[i].prefix)))
			return reasons[i].reason;
	return NULL;
}

/* The syscall a kernel function name is the entry of ("__x64_sys_read" -> "read"), or NULL. */
static const char *syscall_of(const char *name)
{
	static const char *const prefixes[] = { "__x64_sys_",	"__ia32_sys_", "__arm64_sys_",
						"__riscv_sys_", "__se_sys_",   "__do_sys_",
						"ksys_",	"sys_" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])) && name[strlen(prefixes[i])])
			return name + strlen(prefixes[i]);
	return NULL;
}

/* Is the library function just the syscall's wrapper ("__libc_read" for read)? */
static bool same_call(const char *func, const char *sys)
{
	size_t lf = strlen(func), ls = strlen(sys);

	return lf >= ls && !strcmp(func + lf - ls, sys) && (lf == ls || func[lf - ls - 1] == '_');
}

/* A shared library of the system (libc, libpthread, the dynamic loader): a caller's wrapper, not
 * the program's own code. */
static bool system_library(const struct profile *p, const struct profile_frame *f)
{
	static const char *const dirs[] = { "/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/",
					    "/usr/local/lib/" };
	const struct profile_mapping *m = f->mapping ? profile__mapping(p, f->mapping) : NULL;
	const char *base;
	bool sys = false;

	if (!m || !m->path)
		return false;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !sys; i++)
		sys = !strncmp(m->path, dirs[i], strlen(dirs[i]));
	base = strrchr(m->path, '/');
	base = base ? base + 1 : m->path;
	return sys && (!strncmp(base, "lib", 3) || !strncmp(base, "ld-", 3));
}

/*
 * The label of one part of a stack: frames[0..n) root first (user frames, then kernel frames).
 * skip: plumbing frames to pass over on the kernel side (sched_frames or wake_frames).
 */
static void label(const struct profile *p, const struct profile_frame *const *frames, __u32 n,
		  const char *const *skip, char *buf, size_t len)
{
	const struct profile_frame *inner = NULL, *own = NULL;
	const char *sys = NULL, *reason = NULL, *first = NULL, *special = NULL;
	size_t off = 0;

	for (__u32 i = 0; i < n; i++) {
		const struct profile_frame *f = frames[i];

		if (f->kind == FRAME_SPECIAL) {
			if (!special)
				special = f->name;
		} else if (f->kind != FRAME_KERNEL) {
			inner = f;
			if (!system_library(p, f))
				own = f;
		} else if (!sys) {
			sys = syscall_of(f->name);
		}
	}
	/* The reason: from the leaf up, the first kernel function that says why. */
	for (__u32 i = n; i-- > 0 && !reason;) {
		const struct profile_frame *f = frames[i];

		if (f->kind != FRAME_KERNEL)
			break;
		if (in_list(f->name, skip))
			continue;
		if (!first)
			first = f->name;
		reason = classify(f->name);
		if (syscall_of(f->name))
			break;
	}
	if (!reason && first && !syscall_of(first))
		reason = first;
	if (own && inner && own != inner)
		off = snprintf(buf, len, "%s <- %s", own->name, inner->name);
	else if (inner && sys && !same_call(inner->name, sys))
		off = snprintf(buf, len, "%s <- %s", inner->name, sys);
	else if (inner)
		off = snprintf(buf, len, "%s", inner->name);
	else if (sys)
		off = snprintf(buf, len, "[kernel] <- %s", sys);
	else if (special && !first)
		off = snprintf(buf, len, "%s", special);
	else
		off = snprintf(buf, len, "[kernel]");
	if (reason && off < len)
		snprintf(buf + off, len - off, "  (%s)", reason);
}

static bool from_interrupt(const struct profile_frame *const *frames, __u32 n)
{
	static const char *const entries[] = { "asm_sysvec_", "sysvec_",    "asm_common_interrupt",
					       "irq_exit",    "__irq_exit", "handle_softirqs",
					       "__do_softirq" };

	for (__u32 i = 0; i < n; i++) {
		if (frames[i]->kind != FRAME_KERNEL)
			continue;
		for (size_t e = 0; e < sizeof(entries) / sizeof(entries[0]); e++)
			if (!strncmp(frames[i]->name, entries[e], strlen(entries[e])))
				return true;
	}
	return false;
}

/* "  (hrtimer)": the reason of an interrupt's wake-up, from the leaf up. */
static void interrupt_reason(const struct profile_frame *const *frames, __u32 n, char *buf,
			     size_t len)
{
	for (__u32 i = n; i-- > 0;) {
		const char *r;

		if (frames[i]->kind != FRAME_KERNEL || in_list(frames[i]->name, wake_frames))
			continue;
		r = classify(frames[i]->name);
		snprintf(buf, len, "  (%s)", r ? r : frames[i]->name);
		return;
	}
	buf[0] = '\0';
}

struct waits {
	struct wait **rows;
	size_t n, cap;
	struct hashmap *idx; /* key string -> index */
};

static void free_wait(struct wait *r)
{
	if (!r)
		return;
	free(r->key);
	free(r->comm);
	free(r->what);
	free(r->waker);
	free(r);
}

static struct wait *get_wait(struct waits *w, const char *comm, const char *what, const char *waker)
{
	size_t len = strlen(comm) + strlen(what) + strlen(waker) + 3;
	char *key = malloc(len);
	struct wait *r = NULL;
	uintptr_t v;

	if (!key)
		return NULL;
	snprintf(key, len, "%s\x1f%s\x1f%s", comm, what, waker);
	if (hashmap__get(w->idx, key, &v)) {
		free(key);
		return w->rows[v];
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct wait **rows = realloc(w->rows, cap * sizeof(*rows));

		if (!rows)
			goto fail;
		w->rows = rows;
		w->cap = cap;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto fail;
	r->key = key;
	r->comm = strdup(comm);
	r->what = strdup(what);
	r->waker = strdup(waker);
	if (!r->comm || !r->what || !r->waker || hashmap__set(w->idx, key, w->n))
		goto fail;
	w->rows[w->n++] = r;
	return r;
fail:
	if (r)
		free_wait(r);
	else
		free(key);
	return NULL;
}

static int cmp_ns(const void *a, const void *b)
{
	const struct wait *x = *(const struct wait *const *)a, *y = *(const struct wait *const *)b;
	int c;

	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	if ((c = strcmp(x->comm, y->comm)))
		return c;
	if ((c = strcmp(x->what, y->what)))
		return c;
	return strcmp(x->waker, y->waker);
}

static int add_stack(struct waits *w, const struct profile *p, const struct profile_stack *s)
{
	const struct profile_frame **fr = calloc(s->nframes + 1, 2 * sizeof(*fr)), **wf;
	char what[MAX_LABEL], waker[MAX_LABEL + 32] = "";
	__u32 n = s->nframes, sep = n;
	struct wait *r;

	if (!fr)
		return -ENOMEM;
	wf = fr + n + 1;
	for (__u32 i = 0; i < n; i++) {
		fr[i] = profile__frame(p, s->frames[i]);
		if (sep == n && fr[i]->kind == FRAME_SPECIAL && !strcmp(fr[i]->name, "--"))
			sep = i;
	}
	label(p, fr, sep, sched_frames, what, sizeof(what));
	if (sep + 1 < n) {
		/* The waker: leaf first, then its name; turned root first for label(). */
		__u32 m = 0;
		size_t off = snprintf(waker, sizeof(waker), "%s: ", fr[n - 1]->name);

		for (__u32 i = n - 1; i-- > sep + 1;)
			wf[m++] = fr[i];
		/* A wake-up from an interrupt (a timer expiring) names whatever task it interrupted:
		 * no waker to show, only why. */
		if (from_interrupt(wf, m))
			off = snprintf(waker, sizeof(waker), "[interrupt]");
		label(p, wf, from_interrupt(wf, m) ? 0 : m, wake_frames, waker + off,
		      sizeof(waker) - off);
		if (from_interrupt(wf, m))
			interrupt_reason(wf, m, waker + off, sizeof(waker) - off);
	}
	free(fr);
	r = get_wait(w, s->comm ? s->comm : "", what, waker);
	if (!r)
		return -ENOMEM;
	r->ns += s->value;
	r->count += s->count;
	return 0;
}

static void put_clean(FILE *out, const char *s, int width)
{
	int n = 0;

	for (; *s; s++, n++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
	for (; n < width; n++)
		fputc(' ', out);
}

static void print_text(const struct waits *w, FILE *out, size_t rows, __u64 total, bool wakers)
{
	int comm_w = 4, what_w = 4;
	char t[32], a[32];

	for (size_t i = 0; i < rows; i++) {
		int lc = (int)strlen(w->rows[i]->comm), lw = (int)strlen(w->rows[i]->what);

		comm_w = lc > comm_w ? lc : comm_w;
		what_w = lw > what_w ? (lw < 72 ? lw : 72) : what_w;
	}
	fprintf(out, "%7s %10s %8s %10s  %-*s ", "TOTAL%", "TIME", "COUNT", "AVG", comm_w, "COMM");
	if (wakers)
		fprintf(out, "%-*s  WOKEN BY\n", what_w, "WAIT");
	else
		fputs("WAIT\n", out);
	for (size_t i = 0; i < rows; i++) {
		const struct wait *r = w->rows[i];

		fprintf(out, "%6.2f%% %10s %8llu %10s  ", total ? 100.0 * r->ns / total : 0.0,
			hist_fmt_ns((double)r->ns, t, sizeof(t)), (unsigned long long)r->count,
			hist_fmt_ns(r->count ? (double)r->ns / r->count : 0, a, sizeof(a)));
		put_clean(out, r->comm, comm_w);
		fputc(' ', out);
		put_clean(out, r->what, wakers && *r->waker ? what_w : 0);
		if (wakers && *r->waker) {
			fputs("  ", out);
			put_clean(out, r->waker, 0);
		}
		fputc('\n', out);
	}
	if (!rows)
		fprintf(out, "(no off-CPU time)\n");
}

static int print_json(const struct waits *w, FILE *out, size_t rows, __u64 total)
{
	struct json *j = json__new(out, false);
	int err;

	json__begin_object(j);
	json__kv_str(j, "unit", "nanoseconds");
	json__kv_u64(j, "total_ns", total);
	json__key(j, "waits");
	json__begin_array(j);
	for (size_t i = 0; i < rows; i++) {
		const struct wait *r = w->rows[i];

		json__begin_object(j);
		json__kv_str(j, "comm", r->comm);
		json__kv_str(j, "wait", r->what);
		if (*r->waker)
			json__kv_str(j, "woken_by", r->waker);
		json__kv_u64(j, "ns", r->ns);
		json__kv_u64(j, "count", r->count);
		json__kv_double(j, "pct", total ? 100.0 * r->ns / total : 0.0);
		json__end_object(j);
	}
	json__end_array(j);
	json__end_object(j);
	err = json__finish(j);
	json__free(j);
	fputc('\n', out);
	return err;
}

int export_waits(const struct profile *p, FILE *out, const struct top_opts *o)
{
	struct waits w = { 0 };
	__u64 total = 0;
	bool wakers = false;
	size_t rows = 0;
	int err = -ENOMEM;

	w.idx = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	if (!w.idx)
		goto out;
	for (size_t i = 0; i < profile__nr_stacks(p); i++) {
		const struct profile_stack *s = profile__stack(p, i);

		if (!s->value)
			continue;
		total += s->value;
		err = add_stack(&w, p, s);
		if (err)
			goto out;
	}
	err = 0;
	if (w.n > 1)
		qsort(w.rows, w.n, sizeof(*w.rows), cmp_ns);
	for (size_t i = 0; i < w.n; i++)
		wakers |= *w.rows[i]->waker != '\0';
	while (rows < w.n && (!o || !o->rows || rows < o->rows))
		rows++;
	if (o && o->json)
		err = print_json(&w, out, rows, total);
	else
		print_text(&w, out, rows, total, wakers);
	if (!err)
		err = ferror(out) ? -EIO : 0;
out:
	for (size_t i = 0; i < w.n; i++)
		free_wait(w.rows[i]);
	free(w.rows);
	hashmap__free(w.idx);
	return err;
}
