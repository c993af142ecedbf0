// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/httptrack.h"
#include "collect/tracer.h"
#include "kernel/syscalls.h"
#include "model/hashmap.h"

_Static_assert(sizeof(struct vg_trec_hdr) == 24, "trace record header layout");
_Static_assert(sizeof(struct vg_fd_info) % 8 == 0, "fd info layout");
_Static_assert(sizeof(struct vg_trec_syscall) % 8 == 0, "syscall record layout");
_Static_assert(sizeof(struct vg_trec_exec) % 8 == 0, "exec record layout");

struct tproc {
	__u32 pid, ppid, span;
	__u64 start_ns, end_ns;
	bool started; /* start_ns is known (fork, exec of COMMAND) */
	bool exited, exec_seen, adopted;
	bool group_exit, main_exited;
	__u32 group_exit_code, main_exit_code, last_exit_code;
	__u64 oncpu_ns, offcpu_ns, run_delay_ns;
	__u32 threads;
	char comm[VG_COMM_LEN + 1];
	const char *exe;
};

struct tthread {
	__u32 tid, pid, span;
	__u64 start_ns, end_ns;
	bool started, exited;
	char comm[VG_COMM_LEN + 1];
};

/* A link whose cause resolves to a span at the end (the cause's spans may arrive later). */
struct pending_link {
	__u32 to; /* span that waited */
	__u32 kind;
	__u32 from_pid, from_tid;
	__u64 from_ns, to_ns;
};

/* A fork seen by the classic tracepoint: the child's group is learned from its own records. */
struct pending_fork {
	__u32 ppid, ptid;
	__u64 ts;
	char comm[VG_COMM_LEN + 1];
};

struct tracer {
	struct tracer_opts o;
	struct spans *s;
	struct hashmap *procs, *threads, *pending_forks;
	struct httptrack *http;
	struct pending_link *links;
	size_t nlinks, links_cap;
	__u64 received[VG_TREC_NR];
	__u64 malformed;
	char *root_name, *service;
	char **funcs;
};

const char *tracer_record_name(__u32 type)
{
	static const char *const names[VG_TREC_NR] = { "fork",	  "exec",     "exit",
						       "syscall", "function", "socket" };

	return type >= VG_TREC_FIRST && type <= VG_TREC_LAST ? names[type - VG_TREC_FIRST] : "?";
}

struct tracer *tracer__new(const struct tracer_opts *o)
{
	struct tracer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->o = *o;
	t->s = spans__new();
	t->procs = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	t->threads = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	t->pending_forks = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	t->root_name = strdup(o->root_name ? o->root_name : "vigil trace");
	t->service = o->service ? strdup(o->service) : NULL;
	t->funcs = calloc(o->nr_funcs + 1, sizeof(*t->funcs));
	if (!t->s || !t->procs || !t->threads || !t->pending_forks || !t->root_name ||
	    (o->service && !t->service) || !t->funcs)
		goto fail;
	for (size_t i = 0; i < o->nr_funcs; i++)
		if (!(t->funcs[i] = strdup(o->funcs[i])))
			goto fail;
	t->o.funcs = NULL;
	t->o.pids = NULL;
	t->http = httptrack__new(t->s);
	if (!t->http)
		goto fail;
	if (o->trace_id)
		spans__set_trace_id(t->s, o->trace_id);
	spans__seed(t->s, o->seed);
	/* The root span is index 0; its extent is the capture's, set at the end. */
	if (spans__add(t->s, SPAN_ROOT, t->root_name, o->root_pid, o->root_pid, 0, 0) != 0)
		goto fail;
	return t;
fail:
	tracer__free(t);
	errno = ENOMEM;
	return NULL;
}

static int free_entry(const void *key, uintptr_t v, void *arg)
{
	(void)key;
	(void)arg;
	free((void *)v);
	return 0;
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	if (t->procs)
		hashmap__for_each(t->procs, free_entry, NULL);
	if (t->threads)
		hashmap__for_each(t->threads, free_entry, NULL);
	if (t->pending_forks)
		hashmap__for_each(t->pending_forks, free_entry, NULL);
	hashmap__free(t->procs);
	hashmap__free(t->threads);
	hashmap__free(t->pending_forks);
	httptrack__free(t->http);
	spans__free(t->s);
	for (size_t i = 0; t->funcs && i < t->o.nr_funcs; i++)
		free(t->funcs[i]);
	free(t->funcs);
	free(t->root_name);
	free(t->service);
	free(t->links);
	free(t);
}

const __u64 *tracer__received(const struct tracer *t)
{
	return t->received;
}

__u64 tracer__malformed(const struct tracer *t)
{
	return t->malformed;
}

static void comm_copy(char dst[VG_COMM_LEN + 1], const __u8 *src)
{
	memcpy(dst, src, VG_COMM_LEN);
	dst[VG_COMM_LEN] = '\0';
}

static struct tproc *proc_get(struct tracer *t, __u32 pid)
{
	uintptr_t v;

	return hashmap__get(t->procs, (const void *)(uintptr_t)pid, &v) ? (struct tproc *)v : NULL;
}

static struct tthread *thread_get(struct tracer *t, __u32 tid)
{
	uintptr_t v;

	return hashmap__get(t->threads, (const void *)(uintptr_t)tid, &v) ? (struct tthread *)v :
									    NULL;
}

static struct tproc *proc_new(struct tracer *t, __u32 pid, const char *comm)
{
	struct tproc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm ? comm : "");
	p->span = spans__add(t->s, SPAN_PROCESS, comm && *comm ? comm : "process", pid, pid, 0, 0);
	if (p->span == SPAN_NONE ||
	    hashmap__set(t->procs, (const void *)(uintptr_t)pid, (uintptr_t)p)) {
		free(p);
		return NULL;
	}
	return p;
}

static struct tthread *thread_new(struct tracer *t, __u32 tid, struct tproc *p, const char *comm)
{
	struct tthread *th = calloc(1, sizeof(*th));

	if (!th)
		return NULL;
	th->tid = tid;
	th->pid = p->pid;
	snprintf(th->comm, sizeof(th->comm), "%s", comm ? comm : "");
	if (tid == p->pid) {
		th->span = p->span;
	} else {
		char name[64];

		snprintf(name, sizeof(name), "%s", comm && *comm ? comm : "thread");
		th->span = spans__add(t->s, SPAN_THREAD, name, p->pid, tid, 0, 0);
		if (th->span == SPAN_NONE) {
			free(th);
			return NULL;
		}
		spans__at(t->s, th->span)->parent = p->span;
	}
	if (hashmap__set(t->threads, (const void *)(uintptr_t)tid, (uintptr_t)th)) {
		free(th);
		return NULL;
	}
	p->threads++;
	return th;
}

/*
 * The thread tid of process pid, created on first sight. A fork the classic tracepoint reported
 * (child's group unknown then) is settled here by the child's first own record.
 */
static struct tthread *thread_of(struct tracer *t, __u32 pid, __u32 tid, const char *comm)
{
	struct tthread *th = thread_get(t, tid);
	struct tproc *p;
	uintptr_t v;

	if (th && th->pid == pid)
		return th;
	if (th) {
		/* tid moved to another group (exec from a thread, or a misreported fork) */
		hashmap__delete(t->threads, (const void *)(uintptr_t)tid);
		free(th);
	}
	p = proc_get(t, pid);
	if (!p && !(p = proc_new(t, pid, comm)))
		return NULL;
	th = thread_new(t, tid, p, comm);
	if (th && hashmap__get(t->pending_forks, (const void *)(uintptr_t)tid, &v)) {
		struct pending_fork *pf = (struct pending_fork *)v;

		th->start_ns = pf->ts;
		th->started = true;
		if (tid == pid && !p->started) {
			p->ppid = pf->ppid;
			p->start_ns = pf->ts;
			p->started = true;
		}
		hashmap__delete(t->pending_forks, (const void *)(uintptr_t)tid);
		free(pf);
	}
	return th;
}

static int on_fork(struct tracer *t, const struct vg_trec_fork *r)
{
	char comm[VG_COMM_LEN + 1];
	struct tthread *th;
	struct tproc *p;

	comm_copy(comm, r->comm);
	/* The parent exists for sure: its records name it. */
	if (!thread_of(t, r->hdr.pid, r->hdr.tid, comm))
		return -ENOMEM;
	if (r->flags & VG_FORK_UNSURE) {
		struct pending_fork *pf = calloc(1, sizeof(*pf));

		if (!pf)
			return -ENOMEM;
		pf->ppid = r->hdr.pid;
		pf->ptid = r->hdr.tid;
		pf->ts = r->hdr.ts;
		memcpy(pf->comm, comm, sizeof(pf->comm));
		if (hashmap__set(t->pending_forks, (const void *)(uintptr_t)r->child_tid,
				 (uintptr_t)pf)) {
			free(pf);
			return -ENOMEM;
		}
		return 0;
	}
	p = proc_get(t, r->child_pid);
	if (!p) {
		p = proc_new(t, r->child_pid, comm);
		if (!p)
			return -ENOMEM;
		if (!(r->flags & VG_FORK_THREAD)) {
			p->ppid = r->hdr.pid;
			p->start_ns = r->hdr.ts;
			p->started = true;
		}
	}
	th = thread_of(t, r->child_pid, r->child_tid, comm);
	if (!th)
		return -ENOMEM;
	th->start_ns = r->hdr.ts;
	th->started = true;
	return 0;
}

/* "ENOENT" for -2. */
static void errno_name(long ret, char *buf, size_t len)
{
	const char *n = ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : NULL;

	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "E%ld", -ret);
}

/* What a descriptor refers to, as text: a path, "pipe:[123]", "tcp 1.2.3.4:80->...", ... */
static void fd_target(const struct vg_fd_info *f, char *buf, size_t len)
{
	char a[64], b[64];
	size_t n = 0;
	int last = -1;

	buf[0] = '\0';
	switch (f->kind) {
	case VG_FD_FILE:
		if (f->flags & VG_FDI_WHOLE_PATH) {
			snprintf(buf, len, "%.*s", (int)sizeof(f->path), f->path[0]);
			return;
		}
		for (int i = 0; i < VG_PATH_PARTS; i++)
			if (f->path[i][0])
				last = i;
		if (f->flags & VG_FDI_TRUNCATED)
			n += snprintf(buf + n, len - n, "...");
		for (int i = last; i >= 0 && n < len; i--) {
			char part[VG_PART_LEN + 1];

			memcpy(part, f->path[i], VG_PART_LEN);
			part[VG_PART_LEN] = '\0';
			if (!strcmp(part, "/"))
				continue;
			n += snprintf(buf + n, len - n, "/%s", part);
		}
		if (!n)
			snprintf(buf, len, "/");
		return;
	case VG_FD_PIPE:
		snprintf(buf, len, "pipe:[%llu]", (unsigned long long)f->ino);
		return;
	case VG_FD_SOCK:
		if (f->family == 1) {
			snprintf(buf, len, "unix:[%llu]", (unsigned long long)f->ino);
			return;
		}
		if (f->family == 2 || f->family == 10) {
			httptrack_endpoint(f, false, a, sizeof(a));
			httptrack_endpoint(f, true, b, sizeof(b));
			snprintf(buf, len, "%s %s->%s", f->sock_type == 1 ? "tcp" : "udp", a, b);
			return;
		}
		snprintf(buf, len, "socket:[%llu]", (unsigned long long)f->ino);
		return;
	case VG_FD_OTHER:
		snprintf(buf, len, "anon_inode:%.*s", VG_PART_LEN, f->path[0]);
		return;
	}
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int on_exec(struct tracer *t, const struct vg_trec_exec *r)
{
	char comm[VG_COMM_LEN + 1], file[VG_FILENAME_LEN + 1];
	const char *argv[64];
	char args[VG_ARGV_LEN + 1];
	__u32 n = 0, len = r->argv_len < VG_ARGV_LEN ? r->argv_len : VG_ARGV_LEN;
	struct tthread *th;
	struct tproc *p;

	comm_copy(comm, r->comm);
	th = thread_of(t, r->hdr.pid, r->hdr.tid, comm);
	if (!th)
		return -ENOMEM;
	p = proc_get(t, r->hdr.pid);
	memcpy(file, r->filename, VG_FILENAME_LEN);
	file[VG_FILENAME_LEN] = '\0';
	/* The file the kernel runs (through /proc/self/exe, symlinks, relative paths), else the
	 * name given to execve. */
	if (r->exe.kind == VG_FD_FILE) {
		char real[VG_PATH_PARTS * (VG_PART_LEN + 1) + 8];

		fd_target(&r->exe, real, sizeof(real));
		if (real[0] == '/' && real[1])
			snprintf(file, sizeof(file), "%s", real);
	}
	p->exe = spans__strdup(t->s, file);
	p->exec_seen = true;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	snprintf(th->comm, sizeof(th->comm), "%s", comm);
	/* COMMAND counts from its exec (its fork was Vigil's); so does anything seen first here. */
	if (!p->started) {
		p->start_ns = r->hdr.ts;
		p->started = true;
	}
	if (!th->started) {
		th->start_ns = r->hdr.ts;
		th->started = true;
	}
	spans__rename(t->s, p->span, base_name(file));
	memcpy(args, r->argv, len);
	args[len] = '\0';
	for (__u32 i = 0; i < len && n < 64;) {
		argv[n++] = args + i;
		i += strlen(args + i) + 1;
	}
	if (spans__attr_str(t->s, p->span, "process.executable.path", file) ||
	    spans__attr_str(t->s, p->span, "process.executable.name", base_name(file)) ||
	    spans__attr_strs(t->s, p->span, "process.command_args", argv, n))
		return -ENOMEM;
	if (r->argv_len >= VG_ARGV_LEN &&
	    spans__attr_bool(t->s, p->span, "vigil.argv_truncated", 1))
		return -ENOMEM;
	return 0;
}

static int on_task_exit(struct tracer *t, const struct vg_trec_exit *r)
{
	char comm[VG_COMM_LEN + 1];
	struct tthread *th;
	struct tproc *p;
	__u64 start, wall;

	comm_copy(comm, r->comm);
	th = thread_of(t, r->hdr.pid, r->hdr.tid, comm);
	if (!th)
		return -ENOMEM;
	p = proc_get(t, r->hdr.pid);
	th->exited = true;
	th->end_ns = r->hdr.ts;
	snprintf(th->comm, sizeof(th->comm), "%s", comm);
	start = th->started ? th->start_ns : r->start_ns;
	wall = r->hdr.ts > start ? r->hdr.ts - start : 0;
	p->oncpu_ns += r->oncpu_ns;
	p->run_delay_ns += r->run_delay_ns;
	p->offcpu_ns += wall > r->oncpu_ns ? wall - r->oncpu_ns : 0;
	p->last_exit_code = r->exit_code;
	if (r->hdr.tid == r->hdr.pid) {
		p->main_exited = true;
		p->main_exit_code = r->exit_code;
	}
	if (th->span != p->span) {
		spans__rename(t->s, th->span, comm);
		spans__attr_double(t->s, th->span, "vigil.oncpu_ms", r->oncpu_ns / 1e6);
		spans__attr_double(t->s, th->span, "vigil.offcpu_ms",
				   (wall > r->oncpu_ns ? wall - r->oncpu_ns : 0) / 1e6);
	}
	if (r->flags & VG_EXIT_GROUP_DEAD) {
		p->exited = true;
		p->end_ns = r->hdr.ts;
		if (!p->ppid)
			p->ppid = r->ppid;
		if (r->flags & VG_EXIT_GROUP_EXIT) {
			p->group_exit = true;
			p->group_exit_code = r->group_exit_code;
		}
	}
	return 0;
}

static int add_link(struct tracer *t, __u32 to, const struct vg_link *l, __u64 to_ns)
{
	struct pending_link *pl;

	if (!l->kind || !l->tid)
		return 0;
	if (t->nlinks == t->links_cap) {
		size_t cap = t->links_cap ? t->links_cap * 2 : 64;
		struct pending_link *v = realloc(t->links, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->links = v;
		t->links_cap = cap;
	}
	pl = &t->links[t->nlinks++];
	pl->to = to;
	pl->kind = l->kind == VG_LINK_WAKEUP ? LINK_WAKEUP :
		   l->kind == VG_LINK_PIPE   ? LINK_PIPE :
		   l->kind == VG_LINK_UNIX   ? LINK_UNIX :
					       LINK_TCP;
	pl->from_pid = l->pid;
	pl->from_tid = l->tid;
	pl->from_ns = l->ts;
	pl->to_ns = to_ns;
	return 0;
}

static int on_syscall(struct tracer *t, const struct vg_trec_syscall *r)
{
	struct tthread *th = thread_of(t, r->hdr.pid, r->hdr.tid, NULL);
	char buf[64], target[320];
	const char *name;
	__u32 sp;

	if (!th)
		return -ENOMEM;
	name = syscall_name(r->nr, buf, sizeof(buf));
	sp = spans__add(t->s, SPAN_SYSCALL, name, r->hdr.pid, r->hdr.tid, r->hdr.ts,
			r->hdr.ts + r->dur);
	if (sp == SPAN_NONE)
		return -ENOMEM;
	spans__at(t->s, sp)->parent = th->span;
	if (spans__attr_int(t->s, sp, "vigil.syscall.ret", r->ret))
		return -ENOMEM;
	if (r->ret < 0 && r->ret > -4096) {
		char e[32];

		errno_name(r->ret, e, sizeof(e));
		if (spans__attr_str(t->s, sp, "error.type", e))
			return -ENOMEM;
	}
	if (r->fd >= 0 && spans__attr_int(t->s, sp, "vigil.fd", r->fd))
		return -ENOMEM;
	fd_target(&r->fdi, target, sizeof(target));
	if (*target && spans__attr_str(t->s, sp, "vigil.fd.target", target))
		return -ENOMEM;
	/* What ended the wait: data written after the read began, else the waker; data written
	 * before the read began is still where it came from. */
	if (r->writer.kind && add_link(t, sp, &r->writer, r->hdr.ts + r->dur))
		return -ENOMEM;
	if (r->writer.kind && r->writer.ts >= r->hdr.ts)
		return 0;
	return add_link(t, sp, &r->waker, r->hdr.ts + r->dur);
}

static int on_func(struct tracer *t, const struct vg_trec_func *r)
{
	struct tthread *th = thread_of(t, r->hdr.pid, r->hdr.tid, NULL);
	const char *name = r->func < t->o.nr_funcs ? t->funcs[r->func] : "function";
	__u32 sp;

	if (!th)
		return -ENOMEM;
	sp = spans__add(t->s, SPAN_FUNCTION, name, r->hdr.pid, r->hdr.tid, r->hdr.ts,
			r->hdr.ts + r->dur);
	if (sp == SPAN_NONE)
		return -ENOMEM;
	spans__at(t->s, sp)->parent = th->span;
	if (spans__attr_str(t->s, sp, "code.function",
			    strchr(name, ':') ? strchr(name, ':') + 1 : name) ||
	    spans__attr_int(t->s, sp, "vigil.function.ret", r->ret) ||
	    spans__attr_int(t->s, sp, "vigil.function.depth", r->depth))
		return -ENOMEM;
	return 0;
}

static int on_sock(struct tracer *t, const struct vg_trec_sock *r, size_t size)
{
	struct tthread *th = thread_of(t, r->hdr.pid, r->hdr.tid, NULL);

	if (!th)
		return -ENOMEM;
	if (r->len > VG_HTTP_CAP || offsetof(struct vg_trec_sock, data) + r->len > size)
		return -EINVAL;
	return httptrack__sock(t->http, r, th->span);
}

int tracer__record(struct tracer *t, const void *data, size_t size)
{
	const struct vg_trec_hdr *h = data;
	static const size_t want[VG_TREC_NR] = {
		sizeof(struct vg_trec_fork), sizeof(struct vg_trec_exec),
		sizeof(struct vg_trec_exit), sizeof(struct vg_trec_syscall),
		sizeof(struct vg_trec_func), offsetof(struct vg_trec_sock, data),
	};
	int err;

	if (size < sizeof(*h) || h->type < VG_TREC_FIRST || h->type > VG_TREC_LAST ||
	    h->size > size || size < want[h->type - VG_TREC_FIRST]) {
		t->malformed++;
		return -EINVAL;
	}
	t->received[h->type - VG_TREC_FIRST]++;
	switch (h->type) {
	case VG_TREC_FORK:
		err = on_fork(t, data);
		break;
	case VG_TREC_EXEC:
		err = on_exec(t, data);
		break;
	case VG_TREC_EXIT:
		err = on_task_exit(t, data);
		break;
	case VG_TREC_SYSCALL:
		err = on_syscall(t, data);
		break;
	case VG_TREC_FUNC:
		err = on_func(t, data);
		break;
	default:
		err = on_sock(t, data, size);
		break;
	}
	if (err == -EINVAL)
		t->malformed++;
	return err;
}

/* ---- -p targets, from /proc ---- */

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (int)n;
}

void tracer__adopt(struct tracer *t, __u32 pid)
{
	char path[64], buf[4096], exe[PATH_MAX], comm[VG_COMM_LEN + 1] = "";
	const char *argv[64];
	struct tproc *p;
	struct dirent *de;
	DIR *d;
	int n;
	__u32 na = 0;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	if (read_file(path, comm, sizeof(comm)) > 0)
		comm[strcspn(comm, "\n")] = '\0';
	p = proc_get(t, pid);
	if (!p && !(p = proc_new(t, pid, comm)))
		return;
	p->adopted = true;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		char *rp = strrchr(buf, ')');
		unsigned int ppid;

		if (rp && sscanf(rp + 2, "%*c %u", &ppid) == 1)
			p->ppid = ppid;
	}
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = (int)readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		p->exe = spans__strdup(t->s, exe);
		spans__rename(t->s, p->span, base_name(exe));
		spans__attr_str(t->s, p->span, "process.executable.path", exe);
		spans__attr_str(t->s, p->span, "process.executable.name", base_name(exe));
	}
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	n = read_file(path, buf, sizeof(buf));
	for (int i = 0; i < n && na < 64; i += (int)strlen(buf + i) + 1)
		argv[na++] = buf + i;
	if (na)
		spans__attr_strs(t->s, p->span, "process.command_args", argv, na);
	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char tcomm[VG_COMM_LEN + 1] = "";
		unsigned long tid = strtoul(de->d_name, NULL, 10);

		if (!tid)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%lu/comm", pid, tid);
		if (read_file(path, tcomm, sizeof(tcomm)) > 0)
			tcomm[strcspn(tcomm, "\n")] = '\0';
		thread_of(t, pid, (__u32)tid, tcomm);
	}
	if (d)
		closedir(d);
}

/* ---- the end of the capture ---- */

static const struct spans *order_set;

static int cmp_tid_start(const void *a, const void *b)
{
	const struct span *x = spans__get(order_set, *(const __u32 *)a),
			  *y = spans__get(order_set, *(const __u32 *)b);

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return *(const __u32 *)a < *(const __u32 *)b ? -1 : 1;
}

/* The innermost syscall, function or HTTP span of tid around ts, else the thread's span. */
static __u32 span_around(struct tracer *t, const __u32 *order, size_t n, __u32 tid, __u64 ts)
{
	size_t lo = 0, hi = n;
	struct tthread *th = thread_get(t, tid);
	__u32 fallback = th ? th->span : SPAN_NONE;

	/* last entry with (tid, start) <= (tid, ts) */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct span *sp = spans__get(t->s, order[mid]);

		if (sp->tid < tid || (sp->tid == tid && sp->start_ns <= ts))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return fallback;
	for (__u32 i = order[lo - 1], steps = 0; i != SPAN_NONE && steps < 256; steps++) {
		const struct span *sp = spans__get(t->s, i);

		if (sp->tid != tid ||
		    (sp->cat != SPAN_SYSCALL && sp->cat != SPAN_FUNCTION && sp->cat != SPAN_HTTP))
			break;
		if (sp->start_ns <= ts && sp->end_ns >= ts)
			return i;
		i = sp->parent;
	}
	return fallback;
}

static int resolve_links(struct tracer *t)
{
	size_t n = 0, total = spans__count(t->s);
	__u32 *order = malloc((total + 1) * sizeof(*order));

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < total; i++) {
		__u8 c = spans__get(t->s, (__u32)i)->cat;

		if (c == SPAN_SYSCALL || c == SPAN_FUNCTION || c == SPAN_HTTP)
			order[n++] = (__u32)i;
	}
	order_set = t->s;
	qsort(order, n, sizeof(*order), cmp_tid_start);
	for (size_t i = 0; i < t->nlinks; i++) {
		const struct pending_link *pl = &t->links[i];
		struct span_link l = {
			.kind = pl->kind,
			.from_ns = pl->from_ns,
			.to_ns = pl->to_ns,
			.from_pid = pl->from_pid,
			.from_tid = pl->from_tid,
		};

		l.from = span_around(t, order, n, pl->from_tid, pl->from_ns);
		if (l.from == SPAN_NONE || l.from == pl->to)
			continue;
		if (spans__link(t->s, pl->to, &l)) {
			free(order);
			return -ENOMEM;
		}
	}
	free(order);
	return 0;
}

static bool is_target(const struct tracer *t, __u32 pid)
{
	return pid && pid == t->o.root_pid;
}

struct finish_ctx {
	struct tracer *t;
	__u64 start, end;
	int err;
};

static int finish_proc(const void *key, uintptr_t v, void *arg)
{
	struct finish_ctx *fc = arg;
	struct tracer *t = fc->t;
	struct tproc *p = (struct tproc *)v;
	struct span *sp = spans__at(t->s, p->span);
	struct tproc *parent = p->ppid && p->ppid != p->pid ? proc_get(t, p->ppid) : NULL;
	char msg[64];

	(void)key;
	sp->start_ns = p->started && p->start_ns >= fc->start ? p->start_ns : fc->start;
	if (!p->started || p->adopted)
		sp->flags |= SPAN_F_NO_START;
	sp->end_ns = p->exited ? p->end_ns : fc->end;
	if (!p->exited)
		sp->flags |= SPAN_F_NO_END;
	if (sp->end_ns < sp->start_ns)
		sp->end_ns = sp->start_ns;
	sp->parent = parent ? parent->span : 0;
	fc->err |= spans__attr_int(t->s, p->span, "process.pid", p->pid);
	if (p->ppid)
		fc->err |= spans__attr_int(t->s, p->span, "process.parent_pid", p->ppid);
	fc->err |= spans__attr_str(t->s, p->span, "service.name",
				   t->service && (is_target(t, p->pid) || p->adopted) ? t->service :
											sp->name);
	if (p->exited) {
		__u32 code = p->group_exit  ? p->group_exit_code :
			     p->main_exited ? p->main_exit_code :
					      p->last_exit_code;

		if (code & 0x7f) {
			const char *sig = sigabbrev_np(code & 0x7f);

			snprintf(msg, sizeof(msg), "SIG%s", sig ? sig : "?");
			fc->err |= spans__attr_int(t->s, p->span, "process.exit.code",
						   128 + (code & 0x7f));
			fc->err |= spans__attr_str(t->s, p->span, "vigil.exit.signal", msg);
			snprintf(msg, sizeof(msg), "killed by SIG%s", sig ? sig : "?");
			spans__set_status(t->s, p->span, SPAN_STATUS_ERROR, msg);
		} else {
			fc->err |= spans__attr_int(t->s, p->span, "process.exit.code",
						   (code >> 8) & 0xff);
			if ((code >> 8) & 0xff) {
				snprintf(msg, sizeof(msg), "exit status %u", (code >> 8) & 0xff);
				spans__set_status(t->s, p->span, SPAN_STATUS_ERROR, msg);
			}
		}
		fc->err |= spans__attr_double(t->s, p->span, "vigil.oncpu_ms", p->oncpu_ns / 1e6);
		fc->err |= spans__attr_double(t->s, p->span, "vigil.offcpu_ms", p->offcpu_ns / 1e6);
		fc->err |=
			spans__attr_double(t->s, p->span, "vigil.runq_ms", p->run_delay_ns / 1e6);
	}
	if (p->threads > 1)
		fc->err |= spans__attr_int(t->s, p->span, "vigil.threads", p->threads);
	return 0;
}

static int finish_thread(const void *key, uintptr_t v, void *arg)
{
	struct finish_ctx *fc = arg;
	struct tthread *th = (struct tthread *)v;
	struct tproc *p = proc_get(fc->t, th->pid);
	struct span *sp = spans__at(fc->t->s, th->span);

	(void)key;
	if (th->span == p->span)
		return 0;
	sp->start_ns = th->started && th->start_ns >= fc->start ? th->start_ns : fc->start;
	if (!th->started)
		sp->flags |= SPAN_F_NO_START;
	sp->end_ns = th->exited ? th->end_ns : fc->end;
	if (!th->exited)
		sp->flags |= SPAN_F_NO_END;
	if (sp->end_ns < sp->start_ns)
		sp->end_ns = sp->start_ns;
	sp->parent = p->span;
	fc->err |= spans__attr_int(fc->t->s, th->span, "thread.id", th->tid);
	return 0;
}

static int root_counts(struct tracer *t, const struct tracer_counts *c)
{
	static const char *const other[VG_TCNT_NR] = {
		[VG_TCNT_STORAGE] = "vigil.lost.task_storage",
		[VG_TCNT_FUNC_DEPTH] = "vigil.lost.function_depth",
		[VG_TCNT_FUNC_FULL] = "vigil.lost.function_map_full",
		[VG_TCNT_SOCKS_FULL] = "vigil.lost.http_sockets_full",
		[VG_TCNT_WRITERS_FULL] = "vigil.lost.writers_full",
	};
	char key[64];
	int err = 0;

	for (int i = 0; i < VG_TREC_NR; i++) {
		const char *n = tracer_record_name(VG_TREC_FIRST + i);
		const char *k;

		snprintf(key, sizeof(key), "vigil.records.%s.due", n);
		k = spans__strdup(t->s, key);
		err |= !k || spans__attr_int(t->s, 0, k, (__s64)c->bpf[VG_TCNT_DUE + i]);
		snprintf(key, sizeof(key), "vigil.records.%s.lost", n);
		k = spans__strdup(t->s, key);
		err |= !k || spans__attr_int(t->s, 0, k, (__s64)c->bpf[VG_TCNT_LOST + i]);
		snprintf(key, sizeof(key), "vigil.records.%s.received", n);
		k = spans__strdup(t->s, key);
		err |= !k || spans__attr_int(t->s, 0, k, (__s64)t->received[i]);
	}
	for (int i = 0; i < VG_TCNT_NR; i++)
		if (other[i] && c->bpf[i])
			err |= spans__attr_int(t->s, 0, other[i], (__s64)c->bpf[i]);
	if (c->follow_full)
		err |= spans__attr_int(t->s, 0, "vigil.lost.follow_full", (__s64)c->follow_full);
	if (t->malformed)
		err |= spans__attr_int(t->s, 0, "vigil.records.malformed", (__s64)t->malformed);
	return err ? -ENOMEM : 0;
}

struct spans *tracer__finish(struct tracer *t, __u64 start_ns, __u64 end_ns,
			     const struct tracer_counts *counts)
{
	struct finish_ctx fc = { .t = t, .start = start_ns, .end = end_ns };
	struct span *root;
	struct spans *s;
	size_t n;

	/* Nothing recorded may fall outside the capture's extent. */
	n = spans__count(t->s);
	for (size_t i = 1; i < n; i++) {
		const struct span *sp = spans__get(t->s, (__u32)i);

		if (sp->cat != SPAN_SYSCALL && sp->cat != SPAN_FUNCTION)
			continue;
		if (sp->start_ns && sp->start_ns < fc.start)
			fc.start = sp->start_ns;
		if (sp->end_ns > fc.end)
			fc.end = sp->end_ns;
	}
	hashmap__for_each(t->procs, finish_proc, &fc);
	hashmap__for_each(t->threads, finish_thread, &fc);
	n = spans__count(t->s);
	for (size_t i = 1; i < n; i++) {
		const struct span *sp = spans__get(t->s, (__u32)i);

		if (sp->start_ns < fc.start)
			fc.start = sp->start_ns;
		if (sp->end_ns > fc.end)
			fc.end = sp->end_ns;
	}
	root = spans__at(t->s, 0);
	root->start_ns = fc.start;
	root->end_ns = fc.end;
	root->cat = SPAN_ROOT;
	if (t->service)
		fc.err |= spans__attr_str(t->s, 0, "service.name", t->service);
	httptrack__finish(t->http);
	if (fc.err || spans__nest(t->s) || resolve_links(t) || root_counts(t, counts))
		goto fail;
	spans__inherit_traces(t->s);
	spans__critical_path(t->s, 0);
	s = t->s;
	t->s = NULL;
	httptrack__free(t->http);
	t->http = NULL;
	return s;
fail:
	errno = ENOMEM;
	return NULL;
}
