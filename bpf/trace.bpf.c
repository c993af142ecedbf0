// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-process spans (vigil trace), from tracepoints and uprobes only. Records stream through one
 * ring buffer (include/vigil/trace.h):
 *   sched_process_fork/exec/exit   process and thread lifetimes, argv, exit status, CPU times
 *   sys_enter/sys_exit             syscalls at least min_syscall_ns long, with what their fd is;
 *                                  on pipes and sockets the last writer of the data a read got,
 *                                  and HTTP/1.x heads (and later sizes) on sockets
 *   sched_waking                   who woke a traced thread (joined to its next long syscall)
 *   uprobe/uretprobe               -u function calls
 * Every record type counts how many were due and how many the ring buffer had no room for.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "common.bpf.h"
#include "fd.bpf.h"
#include "vigil/trace.h"

const volatile __u64 min_syscall_ns = 1000000;
const volatile bool use_task_storage = true;
const volatile bool trace_syscalls = true; /* sys_enter/exit attached */
const volatile bool trace_http = true; /* HTTP heads on sockets */
const volatile __u64 wakeup_bytes = 1 << 20; /* wake the reader once this much is queued */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* --buffer-size */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VG_TCNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} tcounters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VG_TRACE_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u16);
} sc_flags SEC(".maps");

/* The syscall in flight of a traced thread. */
struct task_state {
	__u64 ts;
	__u32 nr1; /* syscall number + 1; 0 = none in flight */
	__u32 pad;
	__u64 args[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} task_st SEC(".maps");

/* Without task storage: by tid (LRU, so threads that die inside a syscall do not fill it). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct task_state);
} tid_st SEC(".maps");

/* The last traced waker of a traced thread, by the woken tid. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct vg_link);
} wakers SEC(".maps");

/* The last traced writer of a pipe (inode), unix socket (the writer's sock) or TCP connection
 * (hash of the writer's local and remote endpoints). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct vg_link);
} writers SEC(".maps");

/* Sockets that carried an HTTP head: their later transfers are reported by size. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} http_socks SEC(".maps");

/* -u call stacks, by tid. */
struct func_stack {
	__u64 ts[VG_FUNC_DEPTH];
	__u32 depth;
	__u32 overflow; /* calls deeper than VG_FUNC_DEPTH in flight */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct func_stack);
} func_stacks SEC(".maps");

/* Working space too large for the BPF stack. */
struct scratch {
	struct vg_trec_sock sock;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* v = min(v, max) in a way the verifier sees on the register that is then used (the compiler
 * may otherwise reuse the unclamped copy). */
#define clamp_umax(v, max) asm volatile("if %0 <= %1 goto +1; %0 = %1;" : "+r"(v) : "i"(max))

static __always_inline void tcount(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&tcounters, &idx);

	if (c)
		(*c)++;
}

/* Wake userspace only once a batch is queued; it also drains on a short timer. */
static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
									       BPF_RB_NO_WAKEUP;
}

/* A record of type t and size sz, counted as due, and as lost when there is no room. */
static __always_inline void *reserve(__u32 t, __u32 sz)
{
	void *r;

	tcount(VG_TCNT_DUE + t - VG_TREC_FIRST);
	r = bpf_ringbuf_reserve(&events, sz, 0);
	if (!r)
		tcount(VG_TCNT_LOST + t - VG_TREC_FIRST);
	return r;
}

static __always_inline void fill_hdr(struct vg_trec_hdr *h, __u32 t, __u32 sz, __u64 ts, __u64 id)
{
	h->type = t;
	h->size = sz;
	h->ts = ts;
	h->pid = id >> 32;
	h->tid = (__u32)id;
}

/* ---- processes and threads ---- */

/* -c: the current task (a parent at fork: its child starts in the same cgroup). */
static __always_inline bool in_cgroup(void)
{
	return !filter_cgroup || bpf_current_task_under_cgroup(&cgroup_filter, 0) == 1;
}

static __always_inline void on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	__u32 ctid = BPF_CORE_READ(child, pid);
	struct vg_trec_fork *r;

	follow_fork(ptgid, ctgid);
	if (!pass_pid_filters(ctgid, ctid) || !in_cgroup())
		return;
	r = reserve(VG_TREC_FORK, sizeof(*r));
	if (!r)
		return;
	fill_hdr(&r->hdr, VG_TREC_FORK, sizeof(*r), bpf_ktime_get_ns(),
		 (__u64)ptgid << 32 | BPF_CORE_READ(parent, pid));
	r->child_pid = ctgid;
	r->child_tid = ctid;
	r->flags = ctgid == ptgid ? VG_FORK_THREAD : 0;
	r->pad = 0;
	BPF_CORE_READ_STR_INTO(&r->comm, child, comm);
	bpf_ringbuf_submit(r, rb_flags());
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(vg_trace_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(vg_trace_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

/* The classic tracepoint carries the child's tid only, not whether it is a thread: the record says
 * VG_FORK_UNSURE and userspace learns the child's tgid from the child's own first record. */
SEC("tracepoint/sched/sched_process_fork")
int vg_trace_fork_tp(struct trace_event_raw_sched_process_fork *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 ctid = BPF_CORE_READ(ctx, child_pid), ctgid = ctid;
	struct vg_trec_fork *r;

	follow_fork(id >> 32, ctgid);
	if (!pass_pid_filters(ctgid, ctid) || !in_cgroup())
		return 0;
	r = reserve(VG_TREC_FORK, sizeof(*r));
	if (!r)
		return 0;
	fill_hdr(&r->hdr, VG_TREC_FORK, sizeof(*r), bpf_ktime_get_ns(), id);
	r->child_pid = ctgid;
	r->child_tid = ctid;
	r->flags = VG_FORK_UNSURE;
	r->pad = 0;
	bpf_get_current_comm(&r->comm, sizeof(r->comm));
	bpf_ringbuf_submit(r, rb_flags());
	return 0;
}

/* The current task executed a new program; filename is a kernel string. */
static __always_inline void on_exec(const char *filename, bool kernel_str, __u32 old_tid)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct vg_trec_exec *r;
	unsigned long a0, a1;
	__u64 len;

	enable_on_exec();
	if (!pass_filters(id >> 32, (__u32)id))
		return;
	r = reserve(VG_TREC_EXEC, sizeof(*r));
	if (!r)
		return;
	fill_hdr(&r->hdr, VG_TREC_EXEC, sizeof(*r), bpf_ktime_get_ns(), id);
	r->old_tid = old_tid;
	bpf_get_current_comm(&r->comm, sizeof(r->comm));
	if (kernel_str)
		bpf_probe_read_kernel_str(r->filename, sizeof(r->filename), filename);
	else
		r->filename[0] = '\0';
	a0 = BPF_CORE_READ(t, mm, arg_start);
	a1 = BPF_CORE_READ(t, mm, arg_end);
	len = a1 > a0 ? a1 - a0 : 0;
	clamp_umax(len, VG_ARGV_LEN);
	r->argv_len = 0;
	if (len && !bpf_probe_read_user(r->argv, len, (void *)a0))
		r->argv_len = len;
	__builtin_memset(&r->exe, 0, sizeof(r->exe));
	{
		struct file *exe = BPF_CORE_READ(t, mm, exe_file);

		if (exe) {
			r->exe.kind = VG_FD_FILE;
			file_path(exe, &r->exe);
		}
	}
	bpf_ringbuf_submit(r, rb_flags());
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(vg_trace_exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(BPF_CORE_READ(bprm, filename), true, old_pid);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(vg_trace_exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(BPF_CORE_READ(bprm, filename), true, old_pid);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int vg_trace_exec_tp(struct trace_event_raw_sched_process_exec *ctx)
{
	unsigned int loc = BPF_CORE_READ(ctx, __data_loc_filename);

	on_exec((const char *)ctx + (loc & 0xFFFF), true, BPF_CORE_READ(ctx, old_pid));
	return 0;
}

#define VG_SIGNAL_GROUP_EXIT 0x00000004

/* The current task exits. */
static __always_inline void on_exit(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct vg_trec_exit *r;
	bool group_dead;

	if (!pass_filters(tgid, tid))
		return;
	group_dead = BPF_CORE_READ(t, signal, live.counter) == 0;
	if (!use_task_storage)
		bpf_map_delete_elem(&tid_st, &tid);
	r = reserve(VG_TREC_EXIT, sizeof(*r));
	if (r) {
		fill_hdr(&r->hdr, VG_TREC_EXIT, sizeof(*r), bpf_ktime_get_ns(), id);
		r->exit_code = BPF_CORE_READ(t, exit_code);
		r->flags = group_dead ? VG_EXIT_GROUP_DEAD : 0;
		if (BPF_CORE_READ(t, signal, flags) & VG_SIGNAL_GROUP_EXIT)
			r->flags |= VG_EXIT_GROUP_EXIT;
		r->group_exit_code = BPF_CORE_READ(t, signal, group_exit_code);
		r->ppid = BPF_CORE_READ(t, real_parent, tgid);
		r->start_ns = BPF_CORE_READ(t, start_time);
		r->oncpu_ns = BPF_CORE_READ(t, se.sum_exec_runtime);
		r->run_delay_ns = BPF_CORE_READ(t, sched_info.run_delay);
		bpf_get_current_comm(&r->comm, sizeof(r->comm));
		bpf_ringbuf_submit(r, rb_flags());
	}
}

/* A task is freed (reaped): a followed process's pid may now be reused by one that is not ours.
 * Not at exit: the exiting task still wakes its parent afterwards, and that wake-up is a link. */
static __always_inline void on_free(__u32 tid, __u32 tgid)
{
	if (follow_forks && tid == tgid)
		bpf_map_delete_elem(&pid_filter, &tgid);
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(vg_trace_free_btf, struct task_struct *p)
{
	on_free(p->pid, p->tgid);
	return 0;
}

SEC("raw_tp/sched_process_free")
int BPF_PROG(vg_trace_free_raw, struct task_struct *p)
{
	on_free(BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid));
	return 0;
}

SEC("tracepoint/sched/sched_process_free")
int vg_trace_free_tp(struct trace_event_raw_sched_process_template *ctx)
{
	__u32 tid = BPF_CORE_READ(ctx, pid);

	/* Only the tid: a thread's entry (the fork tracepoint's guess) goes, a leader's too. */
	on_free(tid, tid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(vg_trace_exit_btf, struct task_struct *p)
{
	on_exit();
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(vg_trace_exit_raw, struct task_struct *p)
{
	on_exit();
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int vg_trace_exit_tp(void *ctx)
{
	on_exit();
	return 0;
}

/* ---- wake-ups ----
 * sched_waking, not sched_wakeup: waking runs in the waker's context; wakeup may run on the woken
 * task's CPU from its wake list (an idle CPU: current is the idle task), where the waker is gone. */

static __always_inline void on_wakeup(__u32 tid, __u32 tgid)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct vg_link l = {};

	if ((__u32)id == tid || !(id >> 32) || !pass_pid_filters(id >> 32, (__u32)id) ||
	    !pass_pid_filters(tgid, tid))
		return;
	l.kind = VG_LINK_WAKEUP;
	l.pid = id >> 32;
	l.tid = (__u32)id;
	l.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&wakers, &tid, &l, BPF_ANY);
}

SEC("tp_btf/sched_waking")
int BPF_PROG(vg_trace_wakeup_btf, struct task_struct *p)
{
	on_wakeup(p->pid, p->tgid);
	return 0;
}

SEC("raw_tp/sched_waking")
int BPF_PROG(vg_trace_wakeup_raw, struct task_struct *p)
{
	on_wakeup(BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid));
	return 0;
}

SEC("tracepoint/sched/sched_waking")
int vg_trace_wakeup_tp(struct trace_event_raw_sched_wakeup_template *ctx)
{
	__u32 tid = BPF_CORE_READ(ctx, pid);

	/* No task pointer: the tid stands in for the process (exact for single-threaded ones). */
	on_wakeup(tid, tid);
	return 0;
}

/* ---- syscalls ---- */

static __always_inline struct task_state *task_state(bool create)
{
	__u32 tid;

	if (use_task_storage)
		return bpf_task_storage_get(&task_st, bpf_get_current_task_btf(), 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	tid = (__u32)bpf_get_current_pid_tgid();
	if (create) {
		struct task_state *s = bpf_map_lookup_elem(&tid_st, &tid);
		static const struct task_state zero;

		if (s)
			return s;
		bpf_map_update_elem(&tid_st, &tid, &zero, BPF_NOEXIST);
	}
	return bpf_map_lookup_elem(&tid_st, &tid);
}

/*
 * The hot path: every syscall on the host. A traced task's state doubles as the memory that it
 * passed the filters (tasks keep their group; -c is checked when the state is made), so after its
 * first syscall only the state lookup and one clock read remain; arguments are read only for
 * syscalls whose fd, path or buffer matter.
 */
static __always_inline struct task_state *sys_state(void)
{
	__u64 id;
	struct task_state *s;

	if (use_task_storage) {
		s = bpf_task_storage_get(&task_st, bpf_get_current_task_btf(), 0, 0);
		if (s)
			return s;
	}
	id = bpf_get_current_pid_tgid();
	if (!pass_filters(id >> 32, (__u32)id))
		return NULL;
	s = task_state(true);
	if (!s)
		tcount(VG_TCNT_STORAGE);
	return s;
}

static __always_inline __u16 sc_flags_of(__u64 nr)
{
	__u32 n = (__u32)nr;
	__u16 *fl = bpf_map_lookup_elem(&sc_flags, &n);

	return fl ? *fl : 0;
}

#define SYS_ENTER_BODY(nr, A0, A1, A2)              \
	do {                                        \
		struct task_state *s = sys_state(); \
                                                    \
		if (!s)                             \
			return 0;                   \
		s->nr1 = (nr) + 1;                  \
		if (sc_flags_of(nr)) {              \
			s->args[0] = (A0);          \
			s->args[1] = (A1);          \
			s->args[2] = (A2);          \
		}                                   \
		s->ts = bpf_ktime_get_ns();         \
	} while (0)

/* Hash of a TCP connection's direction: (from, to) endpoints, so the reader's (remote, local)
 * finds what the writer's (local, remote) stored. */
static __always_inline __u64 tcp_key(const __u8 *from, __u16 fport, const __u8 *to, __u16 tport)
{
	__u64 a = 0, b = 0, c = 0, d = 0;

	__builtin_memcpy(&a, from, 8);
	__builtin_memcpy(&b, from + 8, 8);
	__builtin_memcpy(&c, to, 8);
	__builtin_memcpy(&d, to + 8, 8);
	a = (a ^ b ^ ((__u64)fport << 48)) * 0x9E3779B97F4A7C15ULL;
	c = (c ^ d ^ ((__u64)tport << 48)) * 0xC2B2AE3D27D4EB4FULL;
	return (a ^ (c >> 29) ^ (c << 35)) | 1; /* odd: never a kernel address */
}

/* The user buffer a transfer used (its first segment for vectors). */
static __always_inline __u64 xfer_buf(__u16 fl, const struct task_state *s, __u64 *cap)
{
	struct iovec iov = {};

	if (fl & VG_SC_BUF1) {
		*cap = s->args[2];
		return s->args[1];
	}
	if (fl & VG_SC_MSG1) {
		struct user_msghdr mh = {};

		if (bpf_probe_read_user(&mh, sizeof(mh), (void *)s->args[1]) || !mh.msg_iovlen)
			return 0;
		if (bpf_probe_read_user(&iov, sizeof(iov), mh.msg_iov))
			return 0;
	} else if (fl & VG_SC_IOV1) {
		if (!s->args[2] || bpf_probe_read_user(&iov, sizeof(iov), (void *)s->args[1]))
			return 0;
	} else {
		return 0;
	}
	*cap = iov.iov_len;
	return (__u64)iov.iov_base;
}

static __always_inline bool is_http_head(const char *p)
{
	__u32 w = 0;

	__builtin_memcpy(&w, p, 4);
	/* "GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "TRAC", "HTTP" */
	return w == 0x20544547 || w == 0x54534f50 || w == 0x20545550 || w == 0x44414548 ||
	       w == 0x454c4544 || w == 0x4954504f || w == 0x43544150 || w == 0x4e4e4f43 ||
	       w == 0x43415254 || (w == 0x50545448 && p[4] == '/' && p[5] == '1' && p[6] == '.');
}

/*
 * A read or write on fd arg0 returned: remember the writer of a pipe or socket; for a read, find
 * the last other writer of what it read (*link); report HTTP heads and the later transfers of
 * their connections. sc->sock.fdi holds the descriptor's kind on return.
 */
static __always_inline void xfer_exit(struct scratch *sc, __u16 fl, const struct task_state *s,
				      __u64 id, __u64 now, __u64 dur, long ret,
				      struct vg_link *link)
{
	struct vg_fd_info *fdi = &sc->sock.fdi;
	struct file *f = fd_file((long)s->args[0]);
	__u64 key = 0, buf, cap = 0;
	struct vg_link *w, me = {};
	__u32 kind = 0;
	__u64 len = 0;
	__u8 one = 1, *marked;
	bool head = false;

	__builtin_memset(fdi, 0, sizeof(*fdi));
	if (!f)
		return;
	file_kind(f, fdi);
	if (fdi->kind == VG_FD_PIPE) {
		kind = VG_LINK_PIPE;
		key = fdi->sk;
	} else if (fdi->kind == VG_FD_SOCK && fdi->sock_type == 1 /* SOCK_STREAM */) {
		if (fdi->family == VG_AF_UNIX) {
			kind = VG_LINK_UNIX;
			key = (fl & VG_SC_TX) ? fdi->sk : fdi->peer;
		} else if (fdi->family == VG_AF_INET || fdi->family == VG_AF_INET6) {
			kind = VG_LINK_TCP;
			key = (fl & VG_SC_TX) ?
				      tcp_key(fdi->saddr, fdi->sport, fdi->daddr, fdi->dport) :
				      tcp_key(fdi->daddr, fdi->dport, fdi->saddr, fdi->sport);
		}
	}
	if (!kind)
		return;
	if (ret > 0 && key) {
		if (fl & VG_SC_TX) {
			me.kind = kind;
			me.pid = id >> 32;
			me.tid = (__u32)id;
			me.ts = now;
			if (bpf_map_update_elem(&writers, &key, &me, BPF_ANY))
				tcount(VG_TCNT_WRITERS_FULL);
		} else {
			__u32 tid = (__u32)id, pid = id >> 32;
			struct vg_link *wk = bpf_map_lookup_elem(&wakers, &tid);

			w = bpf_map_lookup_elem(&writers, &key);
			if (w && w->pid != pid)
				*link = *w;
			/* No writer yet, or one from before this read began, yet the read waited and a
			 * traced task woke it: that task's write ended the wait, and has not returned
			 * yet (on an idle host the woken reader gets here first, on the other CPU), so
			 * the map does not name it yet. */
			if ((!w || w->ts < s->ts) && wk && wk->ts >= s->ts && wk->ts <= now &&
			    wk->pid != pid) {
				*link = *wk;
				link->kind = kind;
			}
		}
	}
	if (!trace_http || kind == VG_LINK_PIPE || ret < 0)
		return;
	buf = ret > 0 ? xfer_buf(fl, s, &cap) : 0;
	if (buf) {
		len = ret < (long)cap ? (__u64)ret : cap;
		clamp_umax(len, VG_HTTP_CAP);
		if (len >= 8 && !bpf_probe_read_user(sc->sock.data, 8, (void *)buf))
			head = is_http_head(sc->sock.data);
	}
	marked = bpf_map_lookup_elem(&http_socks, &fdi->sk);
	if (!head && !marked)
		return;
	if (head && !marked && bpf_map_update_elem(&http_socks, &fdi->sk, &one, BPF_ANY))
		tcount(VG_TCNT_SOCKS_FULL);
	if (!head)
		len = 0;
	clamp_umax(len, VG_HTTP_CAP);
	if (len && bpf_probe_read_user(sc->sock.data, len, (void *)buf))
		len = 0;
	fill_hdr(&sc->sock.hdr, VG_TREC_SOCK, 0, s->ts, id);
	sc->sock.dur = dur;
	sc->sock.ret = ret;
	sc->sock.nr = s->nr1 - 1;
	sc->sock.fd = (__s32)s->args[0];
	sc->sock.flags = ((fl & VG_SC_TX) ? VG_SOCK_TX : VG_SOCK_RX) | (len ? VG_SOCK_HEAD : 0);
	sc->sock.len = len;
	len += offsetof(struct vg_trec_sock, data);
	clamp_umax(len, sizeof(struct vg_trec_sock));
	sc->sock.hdr.size = len;
	tcount(VG_TCNT_DUE + VG_TREC_SOCK - VG_TREC_FIRST);
	if (bpf_ringbuf_output(&events, &sc->sock, len, rb_flags()))
		tcount(VG_TCNT_LOST + VG_TREC_SOCK - VG_TREC_FIRST);
}

static __always_inline void sys_exit(long ret)
{
	__u64 id, now, dur, nr;
	struct vg_link link = {};
	struct vg_trec_syscall *r;
	struct task_state *s = task_state(false);
	struct scratch *sc;
	__u32 zero = 0, n;
	__u16 fl;
	__s32 fd = -1;

	if (!s || !s->nr1)
		return;
	now = bpf_ktime_get_ns();
	dur = now - s->ts;
	nr = s->nr1 - 1;
	n = (__u32)nr;
	fl = sc_flags_of(nr);
	if (!fl && dur < min_syscall_ns) {
		s->nr1 = 0;
		return;
	}
	id = bpf_get_current_pid_tgid();
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc) {
		s->nr1 = 0;
		return;
	}
	sc->sock.fdi.kind = VG_FD_NONE;
	if ((fl & (VG_SC_RX | VG_SC_TX)) && (fl & VG_SC_FD0))
		xfer_exit(sc, fl, s, id, now, dur, ret, &link);
	if (dur < min_syscall_ns) {
		s->nr1 = 0;
		return;
	}
	r = reserve(VG_TREC_SYSCALL, sizeof(*r));
	if (!r) {
		s->nr1 = 0;
		return;
	}
	fill_hdr(&r->hdr, VG_TREC_SYSCALL, sizeof(*r), s->ts, id);
	r->dur = dur;
	r->ret = ret;
	r->nr = n;
	if (fl & VG_SC_FD0)
		fd = (__s32)s->args[0];
	else if ((fl & VG_SC_RETFD) && ret >= 0)
		fd = (__s32)ret;
	r->fd = fd;
	r->writer = link;
	{
		__u32 tid = (__u32)id;
		struct vg_link *w = bpf_map_lookup_elem(&wakers, &tid);

		if (w && w->ts >= s->ts && w->ts <= now)
			r->waker = *w;
		else
			__builtin_memset(&r->waker, 0, sizeof(r->waker));
	}
	{
		struct file *f = fd >= 0 ? fd_file(fd) : NULL;

		/* A read or write already knows its descriptor's kind (xfer_exit); a file's path
		 * is looked up here, for both. */
		if (sc->sock.fdi.kind != VG_FD_NONE) {
			bpf_probe_read_kernel(&r->fdi, sizeof(r->fdi), &sc->sock.fdi);
		} else {
			__builtin_memset(&r->fdi, 0, sizeof(r->fdi));
			if (f)
				file_kind(f, &r->fdi);
		}
		if (f && (r->fdi.kind == VG_FD_FILE || r->fdi.kind == VG_FD_OTHER))
			file_path(f, &r->fdi);
		if (!f && (fl & (VG_SC_PATH0 | VG_SC_PATH1))) {
			r->fdi.kind = VG_FD_FILE;
			r->fdi.flags = VG_FDI_WHOLE_PATH;
			bpf_probe_read_user_str(r->fdi.path, sizeof(r->fdi.path),
						(void *)s->args[(fl & VG_SC_PATH1) ? 1 : 0]);
		}
	}
	s->nr1 = 0;
	bpf_ringbuf_submit(r, rb_flags());
}

SEC("tp_btf/sys_enter")
int BPF_PROG(vg_trace_sys_enter_btf, struct pt_regs *regs, long id)
{
	/* regs is a trusted pointer here: plain loads, no probe-read helper calls */
	SYS_ENTER_BODY(id, regs->di, regs->si, regs->dx);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(vg_trace_sys_enter_raw, struct pt_regs *regs, long id)
{
	SYS_ENTER_BODY(id, BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si),
		       BPF_CORE_READ(regs, dx));
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int vg_trace_sys_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	SYS_ENTER_BODY(ctx->id, ctx->args[0], ctx->args[1], ctx->args[2]);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(vg_trace_sys_exit_btf, struct pt_regs *regs, long ret)
{
	sys_exit(ret);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(vg_trace_sys_exit_raw, struct pt_regs *regs, long ret)
{
	sys_exit(ret);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int vg_trace_sys_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	sys_exit(ctx->ret);
	return 0;
}

/* ---- -u functions: the attach cookie is the target's index ---- */

SEC("uprobe")
int BPF_KPROBE(vg_trace_func_entry)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct func_stack *fs;

	if (!pass_filters(id >> 32, tid))
		return 0;
	fs = bpf_map_lookup_elem(&func_stacks, &tid);
	if (!fs) {
		static const struct func_stack zero;

		bpf_map_update_elem(&func_stacks, &tid, &zero, BPF_NOEXIST);
		fs = bpf_map_lookup_elem(&func_stacks, &tid);
		if (!fs) {
			tcount(VG_TCNT_FUNC_FULL);
			return 0;
		}
	}
	if (fs->depth >= VG_FUNC_DEPTH) {
		fs->overflow++;
		tcount(VG_TCNT_FUNC_DEPTH);
		return 0;
	}
	fs->ts[fs->depth & (VG_FUNC_DEPTH - 1)] = bpf_ktime_get_ns();
	fs->depth++;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(vg_trace_func_exit, long rc)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tid = (__u32)id, d;
	struct func_stack *fs = bpf_map_lookup_elem(&func_stacks, &tid);
	struct vg_trec_func *r;

	if (!fs)
		return 0;
	if (fs->overflow) {
		fs->overflow--;
		return 0;
	}
	if (!fs->depth)
		return 0;
	d = --fs->depth;
	r = reserve(VG_TREC_FUNC, sizeof(*r));
	if (!r)
		return 0;
	fill_hdr(&r->hdr, VG_TREC_FUNC, sizeof(*r), fs->ts[d & (VG_FUNC_DEPTH - 1)], id);
	r->dur = now - r->hdr.ts;
	r->func = (__u32)bpf_get_attach_cookie(ctx);
	r->depth = d;
	r->ret = rc;
	bpf_ringbuf_submit(r, rb_flags());
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
