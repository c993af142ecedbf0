// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>

#include "kernel/attach.h"
#include "kernel/caps.h"
#include "kernel/filter.h"
#include "util/log.h"
#include "collect/runner.h"
#include "collect/sideband.h"
#include "collect/unwind.h"
#include "model/profile.h"
#include "symbols/symbolizer.h"
#include "vigil/unwind.h"

double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__u64 realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int runner__init(struct runner *r, const char *cmd, const struct runner_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->cmd = cmd;
	r->o = *o;
	libbpf_set_print(log_libbpf);
	r->sess = session__new(o->duration);
	if (!r->sess) {
		pr_err("setting up the event loop failed: %s", strerror(errno));
		return 1;
	}
	if (o->nr_pids) {
		int err = session__watch_pids(r->sess, o->pids, o->nr_pids);

		if (err) {
			pr_err("watching the target processes failed: %s", strerror(-err));
			return 1;
		}
	}
	if (!o->symbols)
		return 0;
	{
		struct symbolizer_opts so = {
			.no_demangle = o->no_demangle,
			.lines = o->lines,
			.cfi = o->unwind_mode == VG_UNWIND_CFI,
		};

		r->sym = symbolizer__new(&so);
	}
	if (!r->sym) {
		pr_err("symbolizer: %s", strerror(errno));
		return 1;
	}
	if (o->kernel_symbols) {
		struct sym_frame sf;

		/* Parse kallsyms now rather than after the capture stops. */
		symbolizer__kernel(r->sym, 0, &sf);
	}
	return 0;
}

int runner__spawn(struct runner *r, struct bpf_object *obj, const struct tp_progs *on_exec,
		  enum tp_attach a)
{
	if (on_exec && a != TP_ATTACH_NONE) {
		r->exec_link = tp_progs__attach(on_exec, a);
		if (!r->exec_link)
			pr_debug("sched_process_exec (%s): %s; %s", tp_attach_name(a),
				 strerror(errno),
				 r->o.command ? "COMMAND counts from its fork" :
						"re-exec'd processes resolve at the end");
	}
	if (!r->o.command)
		return 0;
	r->child = session__spawn(r->sess, r->o.command, r->o.data_on_stdout);
	if (r->child < 0) {
		pr_err("cannot start '%s': %s", r->o.command[0], strerror(-r->child));
		r->child = 0;
		return 1;
	}
	return filter_add_pid(obj, r->child, r->exec_link != NULL) ? 1 : 0;
}

static int on_notice(void *ctx, void *data, size_t size)
{
	struct runner *r = ctx;
	const struct vg_rec_hdr *h = data;

	if (size < sizeof(*h))
		return 0;
	if (h->type == VG_REC_NEW_PROC && size >= sizeof(struct vg_rec_proc)) {
		const struct vg_rec_proc *rec = data;

		r->notices++;
		/* Take the image now: the process may be gone by the end of the capture. Records
		 * first: a process exec'd since the start is known from them, without /proc. */
		if (r->sb)
			sideband__drain(r->sb);
		symbolizer__snapshot_pid(r->sym, rec->pid);
		if (r->uw)
			unwinder__load_pid(r->uw, rec->pid);
	} else if (h->type == VG_REC_UNWIND_REFRESH && size >= sizeof(struct vg_rec_refresh) &&
		   r->uw) {
		const struct vg_rec_refresh *rec = data;

		/* Mapped since we last looked (dlopen): records first, then /proc. */
		if (r->sb)
			sideband__drain(r->sb);
		symbolizer__refresh_pid(r->sym, rec->pid);
		unwinder__load_pid(r->uw, rec->pid);
	}
	return 0;
}

static int on_ringbuf_ready(void *ctx)
{
	struct runner *r = ctx;
	int err = ring_buffer__consume(r->rb);

	return err < 0 ? err : 0;
}

static int on_sideband_ready(void *ctx)
{
	return sideband__drain(ctx);
}

int runner__track(struct runner *r, struct bpf_map *events)
{
	r->sb = sideband__new(r->sym);
	if (!r->sb)
		pr_debug("perf side-band unavailable (%s); relying on /proc snapshots",
			 strerror(errno));
	else if (session__add_fd(r->sess, sideband__fd(r->sb), on_sideband_ready, r->sb))
		goto too_many;
	if (!events)
		return 0;
	r->rb = ring_buffer__new(bpf_map__fd(events), on_notice, r, NULL);
	if (!r->rb) {
		pr_err("ring buffer: %s", strerror(errno));
		return 1;
	}
	if (session__add_fd(r->sess, ring_buffer__epoll_fd(r->rb), on_ringbuf_ready, r))
		goto too_many;
	return 0;
too_many:
	pr_err("event loop: too many descriptors");
	return 1;
}

void runner__unwind_tick(struct runner *r)
{
	if (!r->uw)
		return;
	if (r->sb)
		sideband__drain(r->sb);
	unwinder__tick(r->uw);
}

/* Mappings that arrive by side-band (dlopen, exec) reach the tables within a tick. */
static int on_unwind_tick(void *ctx)
{
	runner__unwind_tick(ctx);
	return 0;
}

int runner__unwind(struct runner *r, struct bpf_object *obj, const __u32 *pids, size_t npids)
{
	if (r->o.unwind_mode == VG_UNWIND_KERNEL || !r->sym)
		return 0;
	r->uw = unwinder__new(obj, r->sym, r->o.unwind_mode);
	if (!r->uw) {
		pr_err("setting up the user-stack walker failed: %s", strerror(errno));
		return 1;
	}
	if (session__set_tick(r->sess, 0.025, on_unwind_tick, r)) {
		pr_err("event loop: cannot add the unwinder's tick");
		return 1;
	}
	for (size_t i = 0; i < npids; i++) {
		symbolizer__snapshot_pid(r->sym, pids[i]);
		unwinder__load_pid(r->uw, pids[i]);
	}
	if (r->child > 0)
		unwinder__watch(r->uw, (__u32)r->child);
	return 0;
}

int runner__start(struct runner *r, const char *what)
{
	const struct runner_opts *c = &r->o;
	int err;

	/* Everything is attached: nothing more to mount. What follows reads other users' files. */
	caps__drop_admin();
	/* -p targets: their images now, since the capture ends when they exit, and a process gone
	 * leaves no /proc/PID/maps to read at the end (side-band records cover what they map
	 * later). */
	for (size_t i = 0; r->sym && i < c->nr_pids; i++)
		symbolizer__snapshot_pid(r->sym, c->pids[i]);
	r->start_ns = realtime_ns();
	r->t_start = mono_s();
	if (r->child > 0) {
		err = session__start_child(r->sess);
		if (err) {
			pr_err("cannot execute '%s': %s", c->command[0], strerror(-err));
			return 1;
		}
	}
	if (c->duration > 0)
		pr_info("%s for %g s%s", what, c->duration,
			r->child > 0   ? " or until the command exits" :
			c->nr_pids > 0 ? " or until the target exits" :
					 "; Ctrl-C to stop early");
	else if (r->child > 0)
		pr_info("%s until '%s' exits", what, c->command[0]);
	else if (c->nr_pids > 0)
		pr_info("%s until the target exits; Ctrl-C to stop", what);
	else
		pr_info("%s; Ctrl-C to stop", what);
	if (r->child > 0 && c->data_on_stdout)
		pr_info("'%s' writes its stdout to stderr: stdout carries vigil's data",
			c->command[0]);
	return 0;
}

enum session_end runner__run(struct runner *r)
{
	r->end = session__run(r->sess);
	r->t_stop = mono_s();
	return r->end;
}

void runner__finish(struct runner *r)
{
	if (r->uw) {
		struct unwind_stats st;

		unwinder__stats(r->uw, &st);
		pr_debug(
			"unwind tables: %llu files, %llu rows, %llu KiB, %llu processes, %llu loads, %.1f ms%s",
			(unsigned long long)st.files, (unsigned long long)st.rows,
			(unsigned long long)st.bytes / 1024, (unsigned long long)st.pids,
			(unsigned long long)st.loads, st.load_ms,
			st.files_full ? " (some files left out: tables full)" : "");
	}
	if (r->rb)
		ring_buffer__consume(r->rb);
	if (r->sb)
		sideband__drain(r->sb);
	if (r->end == SESSION_CHILD_EXIT) {
		int st = session__child_status(r->sess);

		if (WIFEXITED(st) && WEXITSTATUS(st))
			pr_info("'%s' exited with status %d", r->o.command[0], WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			pr_info("'%s' was killed by signal %d", r->o.command[0], WTERMSIG(st));
	} else if (r->end == SESSION_TARGETS_EXIT) {
		if (r->o.nr_pids == 1)
			pr_info("process %u exited; stopping", r->o.pids[0]);
		else
			pr_info("all %zu target processes exited; stopping", r->o.nr_pids);
	}
}

int runner__exit_code(const struct runner *r)
{
	int st = r->sess && r->child > 0 ? session__child_status(r->sess) : -1;

	if (st == -1)
		return 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 0;
}

void runner__timing(const struct runner *r, __u64 *start_ns, __u64 *duration_ns)
{
	*start_ns = r->start_ns;
	*duration_ns = (__u64)((r->t_stop - r->t_start) * 1e9);
}

#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const loss_names[VG_CNT_NR] = {
	[VG_CNT_USTACK_COLLISION] = "user stack map collisions",
	[VG_CNT_KSTACK_COLLISION] = "kernel stack map collisions",
	[VG_CNT_USTACK_FULL] = "user stacks: stack map full",
	[VG_CNT_KSTACK_FULL] = "kernel stacks: stack map full",
	[VG_CNT_USTACK_WALK] = "user stack walks failed",
	[VG_CNT_KSTACK_WALK] = "kernel stack walks failed",
	[VG_CNT_MAP_FULL] = "counts map full (dropped)",
	[VG_CNT_RINGBUF_FULL] = "process notices lost (ring buffer full)",
	[VG_CNT_FOLLOW_FULL] = "descendants not followed (filter map full)",
	[VG_CNT_AUX_FULL] = "tasks not tracked (start map full)",
	[VG_CNT_STACK_GONE] = "stacks cleared from their map before read",
	[VG_CNT_TRUNCATED] =
		"stacks cut at " STR(VG_MAX_STACK_DEPTH) " frames (marked [truncated])",
	[VG_CNT_UNWIND_NO_MAP] = "user stacks cut at a return address outside executable mappings",
	[VG_CNT_UNWIND_FAULT] = "user stacks cut at unreadable stack memory",
	[VG_CNT_UNWIND_BAD] = "user stacks cut at an implausible frame",
	[VG_CNT_UNWIND_DEPTH] = "user stacks cut at --max-frames",
	[VG_CNT_UNWIND_NO_TABLE] =
		"user stacks walked by frame pointers before their tables loaded",
};

void runner__report_losses(const struct runner *r, const __u64 cnt[VG_CNT_NR], const char *unit)
{
	char buf[1024], hint[160] = "";
	size_t len = 0, hl = 0;
	__u64 total = 0, side = r->sb ? sideband__lost(r->sb) : 0, full = 0;
	bool stacks = false, cut = false;

	if (r->uw) {
		struct unwind_stats st;

		unwinder__stats(r->uw, &st);
		full = st.files_full;
	}
	for (int i = 0; i < VG_CNT_NR && len < sizeof(buf); i++) {
		if (!cnt[i] || !loss_names[i])
			continue;
		stacks |= (i >= VG_CNT_USTACK_COLLISION && i <= VG_CNT_KSTACK_FULL) ||
			  i == VG_CNT_MAP_FULL || i == VG_CNT_AUX_FULL;
		cut |= i == VG_CNT_UNWIND_NO_MAP || i == VG_CNT_UNWIND_BAD;
		total += cnt[i];
		len += snprintf(buf + len, sizeof(buf) - len, "%s%llu %s", len ? ", " : "",
				(unsigned long long)cnt[i], loss_names[i]);
	}
	if (side && len < sizeof(buf))
		len += snprintf(buf + len, sizeof(buf) - len, "%s%llu mapping records lost",
				len ? ", " : "", (unsigned long long)side);
	if (full && len < sizeof(buf))
		len += snprintf(buf + len, sizeof(buf) - len,
				"%s%llu files without unwind tables (tables full)", len ? ", " : "",
				(unsigned long long)full);
	if (stacks)
		hl += snprintf(hint + hl, sizeof(hint) - hl, "raise --stack-storage-size");
	if (cnt[VG_CNT_UNWIND_DEPTH] && hl < sizeof(hint))
		hl += snprintf(hint + hl, sizeof(hint) - hl, "%sraise --max-frames",
			       hl ? "; " : "");
	if (full && hl < sizeof(hint))
		hl += snprintf(hint + hl, sizeof(hint) - hl, "%sraise --unwind-rows",
			       hl ? "; " : "");
	if (cut && r->o.unwind_mode != VG_UNWIND_CFI && hl < sizeof(hint))
		hl += snprintf(hint + hl, sizeof(hint) - hl,
			       "%s--unwind cfi follows code without frame pointers",
			       hl ? "; " : "");
	/* One sample may be counted under two reasons. */
	if (total > cnt[VG_CNT_EVENTS])
		total = cnt[VG_CNT_EVENTS];
	if (len)
		pr_warn("%llu of %llu %s incomplete: %s%s%s%s", (unsigned long long)total,
			(unsigned long long)cnt[VG_CNT_EVENTS], unit, buf, hl ? " (" : "", hint,
			hl ? ")" : "");
	if (r->sym) {
		struct symbolizer_stats st;

		symbolizer__stats(r->sym, &st);
		if (symbolizer__describe_losses(&st, buf, sizeof(buf)))
			pr_warn("symbols incomplete: %s%s", buf,
				log_verbose() ? "" : " (-v names each)");
	}
}

void runner__release(struct runner *r)
{
	bpf_link__destroy(r->exec_link);
	r->exec_link = NULL;
	session__free(r->sess);
	ring_buffer__free(r->rb);
	sideband__free(r->sb);
	unwinder__free(r->uw);
	symbolizer__free(r->sym);
	r->uw = NULL;
	r->sess = NULL;
	r->rb = NULL;
	r->sb = NULL;
	r->sym = NULL;
}
