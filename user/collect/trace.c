// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/readout.h"
#include "collect/session.h"
#include "collect/trace.h"
#include "kernel/attach.h"
#include "kernel/syscalls.h"
#include "kernel/uprobe.h"
#include "util/log.h"
#include "trace.skel.h"

#define NR_HOOKS 7

struct trace_collector {
	struct trace_bpf *skel;
	struct tp_progs hooks[NR_HOOKS], exec;
	struct bpf_link *links[NR_HOOKS];
	struct bpf_link **ulinks;
	int nhooks;
	enum tp_attach attach;
	const struct uprobe_target *funcs;
	size_t nr_funcs;
	int func_pid;
	struct ring_buffer *rb;
	struct tracer *tracer;
	bool failed;
};

/* What each syscall's arguments are, by name (numbers differ between architectures). */
static void fill_sc_flags(int fd)
{
	static const struct {
		const char *name;
		__u16 flags;
	} t[] = {
		{ "read", VG_SC_FD0 | VG_SC_RX | VG_SC_BUF1 },
		{ "write", VG_SC_FD0 | VG_SC_TX | VG_SC_BUF1 },
		{ "readv", VG_SC_FD0 | VG_SC_RX | VG_SC_IOV1 },
		{ "writev", VG_SC_FD0 | VG_SC_TX | VG_SC_IOV1 },
		{ "recvfrom", VG_SC_FD0 | VG_SC_RX | VG_SC_BUF1 },
		{ "sendto", VG_SC_FD0 | VG_SC_TX | VG_SC_BUF1 },
		{ "recvmsg", VG_SC_FD0 | VG_SC_RX | VG_SC_MSG1 },
		{ "sendmsg", VG_SC_FD0 | VG_SC_TX | VG_SC_MSG1 },
		{ "pread64", VG_SC_FD0 },
		{ "pwrite64", VG_SC_FD0 },
		{ "preadv", VG_SC_FD0 },
		{ "pwritev", VG_SC_FD0 },
		{ "fsync", VG_SC_FD0 },
		{ "fdatasync", VG_SC_FD0 },
		{ "ftruncate", VG_SC_FD0 },
		{ "fstat", VG_SC_FD0 },
		{ "newfstatat", VG_SC_PATH1 },
		{ "getdents64", VG_SC_FD0 },
		{ "lseek", VG_SC_FD0 },
		{ "ioctl", VG_SC_FD0 },
		{ "fcntl", VG_SC_FD0 },
		{ "flock", VG_SC_FD0 },
		{ "connect", VG_SC_FD0 },
		{ "accept", VG_SC_FD0 },
		{ "accept4", VG_SC_FD0 },
		{ "shutdown", VG_SC_FD0 },
		{ "sendfile", VG_SC_FD0 },
		{ "splice", VG_SC_FD0 },
		{ "epoll_wait", VG_SC_FD0 },
		{ "epoll_pwait", VG_SC_FD0 },
		{ "epoll_pwait2", VG_SC_FD0 },
		{ "openat", VG_SC_RETFD | VG_SC_PATH1 },
		{ "openat2", VG_SC_RETFD | VG_SC_PATH1 },
		{ "open", VG_SC_RETFD | VG_SC_PATH0 },
		{ "creat", VG_SC_RETFD | VG_SC_PATH0 },
		{ "execve", VG_SC_PATH0 },
		{ "unlink", VG_SC_PATH0 },
		{ "unlinkat", VG_SC_PATH1 },
		{ "mkdir", VG_SC_PATH0 },
		{ "mkdirat", VG_SC_PATH1 },
		{ "stat", VG_SC_PATH0 },
		{ "lstat", VG_SC_PATH0 },
		{ "statx", VG_SC_PATH1 },
		{ "access", VG_SC_PATH0 },
		{ "faccessat", VG_SC_PATH1 },
		{ "faccessat2", VG_SC_PATH1 },
		{ "rename", VG_SC_PATH0 },
		{ "renameat2", VG_SC_PATH1 },
		{ "socket", VG_SC_RETFD },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int nr = syscall_number(t[i].name);
		__u32 k = (__u32)nr;

		if (nr >= 0 && nr < VG_TRACE_MAX_SYSCALLS)
			bpf_map_update_elem(fd, &k, &t[i].flags, BPF_ANY);
	}
}

struct trace_collector *trace_collector__new(const struct trace_collector_opts *o)
{
	struct trace_collector *c = calloc(1, sizeof(*c));
	struct trace_bpf *s;
	struct bpf_program *p;
	bool ts = features__has(FEAT_TASK_STORAGE);
	int err;

	if (!c)
		return NULL;
	c->attach = o->attach;
	c->funcs = o->funcs;
	c->nr_funcs = o->nr_funcs;
	c->func_pid = o->func_pid;
	if (o->nr_funcs && !(c->ulinks = calloc(2 * o->nr_funcs, sizeof(*c->ulinks))))
		goto nomem;
	/* open → configure → load */
	c->skel = s = trace_bpf__open();
	if (!s) {
		err = -errno;
		pr_err("opening the BPF program failed: %s", strerror(errno));
		goto fail;
	}
	s->rodata->min_syscall_ns = o->min_syscall_ns;
	s->rodata->use_task_storage = ts;
	s->rodata->trace_syscalls = !o->no_syscalls;
	s->rodata->trace_http = !o->no_http && !o->no_syscalls;
	s->rodata->wakeup_bytes = o->buffer_size / 8;
	if (o->filter)
		filter_cfg__set_rodata(o->filter, s->rodata);
	/* -p targets' children are followed too: a server's workers belong to its trace. */
	s->rodata->follow_forks = (o->filter && o->filter->follow) || o->follow_pids;
	bpf_map__set_max_entries(s->maps.events, o->buffer_size);
	bpf_map__set_autocreate(s->maps.task_st, ts);
	bpf_map__set_autocreate(s->maps.tid_st, !ts);
	bpf_object__for_each_program(p, s->obj) bpf_program__set_autoload(p, false);
	c->exec = (struct tp_progs){ s->progs.vg_trace_exec_btf, s->progs.vg_trace_exec_raw,
				     s->progs.vg_trace_exec_tp };
	tp_progs__autoload(&c->exec, o->attach, true);
	/* attached in reverse order: the fork hook (last) first */
	c->hooks[c->nhooks++] =
		(struct tp_progs){ s->progs.vg_trace_free_btf, s->progs.vg_trace_free_raw,
				   s->progs.vg_trace_free_tp };
	c->hooks[c->nhooks++] =
		(struct tp_progs){ s->progs.vg_trace_wakeup_btf, s->progs.vg_trace_wakeup_raw,
				   s->progs.vg_trace_wakeup_tp };
	if (!o->no_syscalls) {
		c->hooks[c->nhooks++] = (struct tp_progs){ s->progs.vg_trace_sys_enter_btf,
							   s->progs.vg_trace_sys_enter_raw,
							   s->progs.vg_trace_sys_enter_tp };
		c->hooks[c->nhooks++] = (struct tp_progs){ s->progs.vg_trace_sys_exit_btf,
							   s->progs.vg_trace_sys_exit_raw,
							   s->progs.vg_trace_sys_exit_tp };
	}
	c->hooks[c->nhooks++] =
		(struct tp_progs){ s->progs.vg_trace_exit_btf, s->progs.vg_trace_exit_raw,
				   s->progs.vg_trace_exit_tp };
	c->hooks[c->nhooks++] =
		(struct tp_progs){ s->progs.vg_trace_fork_btf, s->progs.vg_trace_fork_raw,
				   s->progs.vg_trace_fork_tp };
	for (int i = 0; i < c->nhooks; i++)
		tp_progs__autoload(&c->hooks[i], o->attach, true);
	if (o->nr_funcs) {
		bpf_program__set_autoload(s->progs.vg_trace_func_entry, true);
		bpf_program__set_autoload(s->progs.vg_trace_func_exit, true);
	}
	err = trace_bpf__load(s);
	if (err) {
		pr_err("loading the BPF program failed: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	fill_sc_flags(bpf_map__fd(s->maps.sc_flags));
	if (o->filter && (err = filter_cfg__apply(o->filter, s->obj)))
		goto fail;
	return c;
nomem:
	err = -ENOMEM;
	pr_err("out of memory");
fail:
	trace_collector__free(c);
	errno = -err;
	return NULL;
}

void trace_collector__detach(struct trace_collector *c)
{
	for (int i = 0; i < NR_HOOKS; i++) {
		bpf_link__destroy(c->links[i]);
		c->links[i] = NULL;
	}
	for (size_t i = 0; c->ulinks && i < 2 * c->nr_funcs; i++) {
		bpf_link__destroy(c->ulinks[i]);
		c->ulinks[i] = NULL;
	}
}

void trace_collector__free(struct trace_collector *c)
{
	if (!c)
		return;
	trace_collector__detach(c);
	ring_buffer__free(c->rb);
	trace_bpf__destroy(c->skel);
	free(c->ulinks);
	free(c);
}

struct bpf_object *trace_collector__object(struct trace_collector *c)
{
	return c->skel->obj;
}

const struct tp_progs *trace_collector__exec_progs(struct trace_collector *c)
{
	return &c->exec;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct trace_collector *c = ctx;
	int err = tracer__record(c->tracer, data, size);

	if (err == -ENOMEM) {
		c->failed = true;
		return err; /* stop consuming: the capture ends with an error */
	}
	return 0;
}

static int on_ready(void *ctx)
{
	struct trace_collector *c = ctx;
	int err = ring_buffer__consume(c->rb);

	return err < 0 ? err : 0;
}

int trace_collector__stream(struct trace_collector *c, struct session *s, struct tracer *t)
{
	int err;

	c->tracer = t;
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_record, c, NULL);
	if (!c->rb) {
		err = -errno;
		pr_err("ring buffer: %s", strerror(errno));
		return err;
	}
	err = session__add_fd(s, ring_buffer__epoll_fd(c->rb), on_ready, c);
	if (!err)
		err = session__set_tick(s, 0.05, on_ready, c);
	if (err)
		pr_err("event loop: %s", strerror(-err));
	return err;
}

int trace_collector__attach(struct trace_collector *c)
{
	for (int i = c->nhooks - 1; i >= 0; i--) {
		c->links[i] = tp_progs__attach(&c->hooks[i], c->attach);
		if (!c->links[i]) {
			int err = -errno;

			pr_err("attaching the trace hooks (%s) failed: %s",
			       tp_attach_name(c->attach), strerror(errno));
			return err;
		}
	}
	for (size_t i = 0; i < c->nr_funcs; i++) {
		const struct uprobe_target *u = &c->funcs[i];
		LIBBPF_OPTS(bpf_uprobe_opts, eo, .func_name = u->func, .bpf_cookie = i);
		LIBBPF_OPTS(bpf_uprobe_opts, xo, .func_name = u->func, .retprobe = true,
			    .bpf_cookie = i);

		c->ulinks[2 * i] = bpf_program__attach_uprobe_opts(
			c->skel->progs.vg_trace_func_entry, c->func_pid, u->path, 0, &eo);
		if (c->ulinks[2 * i])
			c->ulinks[2 * i + 1] = bpf_program__attach_uprobe_opts(
				c->skel->progs.vg_trace_func_exit, c->func_pid, u->path, 0, &xo);
		if (!c->ulinks[2 * i] || !c->ulinks[2 * i + 1]) {
			int err = -errno;

			pr_err("attaching to %s:%s failed: %s", u->path, u->func, strerror(errno));
			return err;
		}
	}
	return 0;
}

int trace_collector__drain(struct trace_collector *c)
{
	int err = c->rb ? ring_buffer__consume(c->rb) : 0;

	return err < 0 ? err : 0;
}

int trace_collector__counts(struct trace_collector *c, struct tracer_counts *out)
{
	__u64 cnt[VG_CNT_NR] = { 0 };
	int err;

	memset(out, 0, sizeof(*out));
	err = read_percpu_counters(bpf_map__fd(c->skel->maps.tcounters), out->bpf, VG_TCNT_NR);
	if (!err)
		err = read_percpu_counters(bpf_map__fd(c->skel->maps.counters), cnt, VG_CNT_NR);
	out->follow_full = cnt[VG_CNT_FOLLOW_FULL];
	if (c->tracer) {
		for (int i = 0; i < VG_TREC_NR; i++)
			out->received[i] = tracer__received(c->tracer)[i];
		out->malformed = tracer__malformed(c->tracer);
	}
	return err;
}

bool trace_collector__failed(const struct trace_collector *c)
{
	return c->failed;
}
