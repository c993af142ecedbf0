// SPDX-License-Identifier: GPL-2.0
/*
 * Memory profiles (vigil mem), in four modes chosen by userspace through autoload and rodata:
 *
 * malloc  uprobes on the allocator's entry points and one uretprobe for all of them; the mmap,
 *         munmap and mremap syscalls through their tracepoints. An entry probe keeps the call's
 *         arguments in task storage; the return probe of the same call (matched by the stack pointer,
 *         so calls made inside a hooked call, e.g. realloc(NULL, n) calling malloc or operator new
 *         calling malloc, are left to the outer one) records the allocation: its size, time and
 *         user stack (walked at the return, where the leaf is the function that asked) in the
 *         outstanding table by (process, address), and its weight in the per-stack totals. free()
 *         deletes from the outstanding table; what is left at the end is in use.
 * faults  user page faults with their user stacks, weighted by the page size.
 * rss     rss_stat: the resident-set counters of each address space, read by userspace over time.
 * kernel  kmalloc/kfree, kmem_cache_alloc/free and mm_page_alloc/free with kernel stacks, the same
 *         outstanding-table scheme keyed by address (slab objects) or pfn (pages).
 *
 * --sample-bytes N samples allocations as a Poisson process over bytes (the sampled points are an
 * exponential distance of mean N bytes apart, drawn per thread): an allocation of s bytes is sampled
 * with probability p = 1 - exp(-s/N) and then weighs 1/p allocations and s/p bytes, so every sampled
 * allocation is unbiased on its own, whatever the mix of sizes on its stack. BPF has no floating
 * point: -log2(U) and s/p come from interpolation tables that userspace computes and puts in rodata.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "common.bpf.h"
#include "unwind.bpf.h"
#include "vigil/mem.h"

#define MAP_ANONYMOUS 0x20
#define MAX_ERRNO 4095

const volatile __u32 mode = VG_MEM_MODE_MALLOC;
const volatile __u64 page_size = 4096;
const volatile __u64 sample_bytes = 0; /* --sample-bytes; 0 = every allocation */
const volatile __u32 log2_tab[VG_MEM_LOG2_STEPS + 1] = {}; /* log2(1 + i/256) << 16 */
const volatile __u32 est_tab[VG_MEM_EST_N + 1] = {}; /* x/(1-e^-x) << 16 at x = i/128 */
/* --mode kernel: the BPF memory allocator's refill (alloc_bulk), whose kmallocs are the BPF maps'
 * own, this collector's included: counting them would feed on itself. */
const volatile __u64 skip_site_lo = 0, skip_site_hi = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, VG_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384); /* --stack-storage-size */
} stacks SEC(".maps");

/* Per-stack totals of what was allocated during the capture. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized by userspace */
	__type(key, struct vg_mem_key);
	__type(value, struct vg_mem_val);
} totals SEC(".maps");

/* Allocations not freed yet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1048576); /* --max-outstanding */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vg_mem_addr);
	__type(value, struct vg_mem_alloc);
} outstanding SEC(".maps");

/* --mode rss: by rss_stat's mm_id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct vg_mem_rss);
} rss SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VG_MEM_CNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} mem_counters SEC(".maps");

/* A thread's allocator call in progress, its syscall in progress, and its sampling state. */
struct mem_task {
	__u64 outer_sp; /* user stack pointer at the entry of the outermost hooked call; 0 = none */
	__u64 outer_ret; /* its return address (sessions: a call whose return is skipped stays here) */
	__u32 skipped; /* sessions: that call's return probe was skipped */
	__u32 pad2;
	__u64 size;
	__u64 old; /* realloc: the old block */
	__u64 memptr; /* posix_memalign: where the pointer goes */
	__u32 call; /* VG_MEM_CALL_* */
	__u32 sampled;
	__u32 sys_call; /* the mmap/mremap syscall in progress (VG_MEM_CALL_MMAP/MREMAP), 0 = none */
	__u32 sys_sampled;
	__u64 sys_size;
	__u64 sys_old;
	__s64 until_sample; /* --sample-bytes: bytes to go before the next sampled byte */
	__u32 armed; /* until_sample has been drawn */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mem_task);
} tasks SEC(".maps");

static __always_inline void mem_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&mem_counters, &idx);

	if (c)
		(*c)++;
}

static __always_inline struct mem_task *task_state(bool create)
{
	struct mem_task *t = bpf_task_storage_get(&tasks, bpf_get_current_task_btf(), 0,
						  create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);

	if (!t && create)
		mem_count(VG_MEM_CNT_STATE_FULL);
	return t;
}

/* The current task's user stack pointer (syscall and tracepoint hooks). */
static __always_inline __u64 user_sp(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return regs ? BPF_CORE_READ(regs, sp) : 0;
}

/* Set by userspace when the probes are uprobe sessions, whose entry may skip the return. */
const volatile bool sessions = false;

/*
 * Inside a hooked allocator call of this thread (sp is deeper than that call's entry)? With
 * sessions an outer call whose return probe was skipped never clears its state, so the call is
 * also checked to be live: its return address is still where its entry found it (once it returned,
 * deeper calls made since have written over that slot).
 */
static __always_inline bool in_call(const struct mem_task *t, __u64 sp)
{
	__u64 ret = 0;

	if (!t->outer_sp || sp >= t->outer_sp)
		return false;
	/* A call whose return probe runs clears its state there (and its return address slot now
	 * holds the uretprobe trampoline's). */
	if (!sessions || !t->skipped)
		return true;
	return !bpf_probe_read_user(&ret, sizeof(ret), (void *)t->outer_sp) && ret == t->outer_ret;
}

/* ---- --sample-bytes ---- */

/* The position of the highest set bit of r (r != 0). */
static __always_inline __u32 msb32(__u32 r)
{
	__u32 k = 0;

	if (r >> 16) {
		k += 16;
		r >>= 16;
	}
	if (r >> 8) {
		k += 8;
		r >>= 8;
	}
	if (r >> 4) {
		k += 4;
		r >>= 4;
	}
	if (r >> 2) {
		k += 2;
		r >>= 2;
	}
	if (r >> 1)
		k += 1;
	return k;
}

/* An exponential distance of mean sample_bytes: -ln(U) * N, U uniform on (0, 1). */
static __always_inline __s64 draw_gap(void)
{
	__u32 r = bpf_get_prandom_u32(), k, m, idx, frac;
	__u64 l, nl2, nln;

	if (!r)
		r = 1;
	/* U = r / 2^32, so -log2(U) = 32 - log2(r), log2(r) = k + log2(m / 2^31). */
	k = msb32(r);
	m = r << (31 - k);
	idx = (m >> 23) & 0xff;
	frac = (m >> 15) & 0xff;
	l = log2_tab[idx] + (((__u64)(log2_tab[idx + 1] - log2_tab[idx]) * frac) >> 8);
	nl2 = ((__u64)(32 - k) << 16) - l;
	nln = (nl2 * 45426) >> 16; /* ln 2 = 45426 / 65536 */
	return (__s64)((sample_bytes * nln) >> 16);
}

/* Is this allocation of size bytes sampled? Advances the thread's sampling point. */
static __always_inline bool sample_now(struct mem_task *t, __u64 size)
{
	if (!sample_bytes)
		return true;
	if (!t->armed) {
		t->until_sample = draw_gap();
		t->armed = 1;
	}
	if ((__s64)size <= t->until_sample) {
		t->until_sample -= size;
		mem_count(VG_MEM_CNT_UNSAMPLED);
		return false;
	}
	/* A sampled point fell in this block; the next one is a fresh exponential distance past its
	 * end (the process is memoryless). */
	t->until_sample = draw_gap();
	return true;
}

/* An allocation's weight: count in 1/VG_MEM_ONE, bytes; sampled ones weigh 1/p. */
static __always_inline void weigh(__u64 size, __u64 *cnt, __u64 *bytes)
{
	__u64 xi, rem, frac, f, est;

	*cnt = VG_MEM_ONE;
	*bytes = size;
	if (!sample_bytes || !size || size >= sample_bytes * VG_MEM_EST_MAX_X)
		return;
	/* x = size / N = (xi + frac / 65536) / 128, and size / p = N * x / (1 - e^-x). */
	xi = size * VG_MEM_EST_STEPS_PER_UNIT / sample_bytes;
	rem = size * VG_MEM_EST_STEPS_PER_UNIT % sample_bytes;
	frac = (rem << 16) / sample_bytes;
	if (xi >= VG_MEM_EST_N)
		return;
	f = est_tab[xi] + (((__u64)(est_tab[xi + 1] - est_tab[xi]) * frac) >> 16);
	est = (sample_bytes * f) >> 16;
	if (est < size)
		est = size;
	*bytes = est;
	*cnt = (est << VG_MEM_ONE_SHIFT) / size;
}

/* ---- recording ---- */

static __always_inline void add_total(const struct vg_mem_key *key, __u64 cnt, __u64 bytes,
				      bool announce_new)
{
	struct vg_mem_val *v = bpf_map_lookup_elem(&totals, key), zero = {};

	if (!v) {
		/* -EEXIST (another CPU created it first) is fine; the lookup decides. */
		bpf_map_update_elem(&totals, key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&totals, key);
		if (!v) {
			count(VG_CNT_MAP_FULL);
			return;
		}
		if (announce_new && key->pid)
			announce(key->pid, key->tid);
	}
	__sync_fetch_and_add(&v->count, cnt);
	__sync_fetch_and_add(&v->bytes, bytes);
}

static __always_inline void fill_key(struct vg_mem_key *key, void *ctx, bool user, bool kernel)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();

	__builtin_memset(key, 0, sizeof(*key));
	key->pid = id >> 32;
	key->tid = (__u32)id;
	__builtin_memcpy(&key->comm, t->group_leader->comm, sizeof(key->comm));
	key->ustack = user ? get_user_stack(ctx, &stacks) : VG_USTACK_NONE;
	key->kstack_id = kernel ? get_stack(ctx, &stacks, false) : VG_STACK_NONE;
}

/* Record an allocation of size bytes at addr (owner: the outstanding-table pid); call_site: the
 * kernel allocator's caller, or 0. */
static __always_inline void record(void *ctx, __u32 owner, __u64 addr, __u64 size, bool kernel,
				   __u64 call_site)
{
	struct vg_mem_addr ak = { .pid = owner, .addr = addr };
	struct vg_mem_alloc a = {};
	struct vg_mem_key key;
	__u64 cnt, bytes;

	fill_key(&key, ctx, !kernel, kernel);
	key.call_site = call_site;
	weigh(size, &cnt, &bytes);
	add_total(&key, cnt, bytes, !kernel);
	mem_count(VG_MEM_CNT_CALLS);
	a.size = size;
	a.ts = bpf_ktime_get_ns();
	a.ustack = key.ustack;
	a.pid = key.pid;
	a.tid = key.tid;
	a.kstack_id = key.kstack_id;
	a.call_site = call_site;
	if (bpf_map_update_elem(&outstanding, &ak, &a, BPF_ANY))
		mem_count(VG_MEM_CNT_OUTSTANDING_FULL);
}

/* A free of addr: forget it, counting a free of something the table does not hold. */
/* Drop a block; false (and counted) when it was not recorded. */
static __always_inline bool forget(__u32 owner, __u64 addr)
{
	struct vg_mem_addr ak = { .pid = owner, .addr = addr };

	if (bpf_map_delete_elem(&outstanding, &ak)) {
		mem_count(VG_MEM_CNT_FREE_UNKNOWN);
		return false;
	}
	mem_count(VG_MEM_CNT_FREES);
	return true;
}

/* ---- malloc mode: the allocator's functions ---- */

/* nmemb * size, or false when it overflows 64 bits (the allocator then fails). */
static __always_inline bool mul_fits(__u64 nmemb, __u64 size, __u64 *out)
{
	__u64 limit;

	if (!nmemb) {
		*out = 0;
		return true;
	}
	limit = ~0ULL / nmemb;
	/* Keep the division: clang would turn the test into a 128-bit multiply BPF cannot do. */
	barrier_var(limit);
	if (size > limit)
		return false;
	*out = nmemb * size;
	return true;
}

/*
 * The entry of an allocating call. Returns what an uprobe session's entry returns: 0 when the
 * return probe must run (the call will be recorded, or realloc must forget its old block), 1 when
 * it has nothing to do (filtered out, nested in a hooked call, or not sampled). Plain uprobes
 * ignore the value.
 */
static __always_inline int on_call(struct pt_regs *ctx, __u32 call, __u64 size, __u64 old,
				   __u64 memptr)
{
	__u64 id = bpf_get_current_pid_tgid(), sp = PT_REGS_SP(ctx);
	struct vg_mem_addr ak = { .pid = id >> 32, .addr = old };
	struct mem_task *t;

	if (!pass_filters(id >> 32, (__u32)id))
		return 1;
	t = task_state(true);
	if (!t || in_call(t, sp))
		return 1; /* no state, or called by a hooked call: the outer one records */
	mem_count(VG_MEM_CNT_FN_CALLS);
	t->outer_sp = sp;
	if (sessions && bpf_probe_read_user(&t->outer_ret, sizeof(t->outer_ret), (void *)sp))
		t->outer_ret = 0;
	t->call = call;
	t->size = size;
	t->old = old;
	t->memptr = memptr;
	t->sampled = sample_now(t, size);
	t->skipped = !t->sampled && !(call == VG_MEM_CALL_REALLOC && old &&
				      bpf_map_lookup_elem(&outstanding, &ak));
	return t->skipped;
}

static __always_inline int on_return(struct pt_regs *ctx)
{
	struct mem_task *t = task_state(false);
	__u64 ret = PT_REGS_RC(ctx), ptr = ret, size;
	__u32 pid;

	/* The return of the outermost call: its entry's stack pointer plus the return address. */
	if (!t || !t->outer_sp || PT_REGS_SP(ctx) != t->outer_sp + 8)
		return 0;
	t->outer_sp = 0;
	size = t->size;
	pid = bpf_get_current_pid_tgid() >> 32;
	switch (t->call) {
	case VG_MEM_CALL_MEMALIGN:
		ptr = 0;
		if ((int)ret != 0 || bpf_probe_read_user(&ptr, sizeof(ptr), (void *)t->memptr))
			return 0;
		break;
	case VG_MEM_CALL_REALLOC:
		/* Success moves the block (the old one is gone even when the address is the same);
		 * realloc(p, 0) frees p and returns NULL. A failure leaves p alone. */
		if (t->old && (ret || !size))
			forget(pid, t->old);
		break;
	}
	if (!ptr || !t->sampled)
		return 0;
	record(ctx, pid, ptr, size, false, 0);
	return 0;
}

/* malloc, valloc, operator new: (size) */
SEC("uprobe")
int BPF_KPROBE(vg_mem_malloc, __u64 size)
{
	return on_call(ctx, VG_MEM_CALL_MALLOC, size, 0, 0);
}

/* calloc(nmemb, size): a product that overflows fails, and is not recorded. */
SEC("uprobe")
int BPF_KPROBE(vg_mem_calloc, __u64 nmemb, __u64 size)
{
	__u64 bytes;

	if (!mul_fits(nmemb, size, &bytes))
		return 0;
	return on_call(ctx, VG_MEM_CALL_CALLOC, bytes, 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(vg_mem_realloc, __u64 old, __u64 size)
{
	return on_call(ctx, VG_MEM_CALL_REALLOC, size, old, 0);
}

/* reallocarray(p, nmemb, size): as realloc(p, nmemb * size), which fails on overflow. */
SEC("uprobe")
int BPF_KPROBE(vg_mem_reallocarray, __u64 old, __u64 nmemb, __u64 size)
{
	__u64 bytes;

	if (!mul_fits(nmemb, size, &bytes))
		return 0;
	return on_call(ctx, VG_MEM_CALL_REALLOC, bytes, old, 0);
}

SEC("uprobe")
int BPF_KPROBE(vg_mem_posix_memalign, __u64 memptr, __u64 align, __u64 size)
{
	return on_call(ctx, VG_MEM_CALL_MEMALIGN, size, 0, memptr);
}

/* aligned_alloc, memalign: (alignment, size) */
SEC("uprobe")
int BPF_KPROBE(vg_mem_aligned, __u64 align, __u64 size)
{
	return on_call(ctx, VG_MEM_CALL_ALIGNED, size, 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(vg_mem_pvalloc, __u64 size)
{
	__u64 pages = (size + page_size - 1) / page_size;

	return on_call(ctx, VG_MEM_CALL_PVALLOC, (pages ? pages : 1) * page_size, 0, 0);
}

/* One return probe for every allocating function: the entry said which call it was. */
SEC("uretprobe")
int BPF_KRETPROBE(vg_mem_return)
{
	return on_return(ctx);
}

static __always_inline int on_free(struct pt_regs *ctx, __u64 ptr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mem_task *t;

	if (!ptr || !pass_filters(id >> 32, (__u32)id))
		return 1;
	/* realloc frees inside itself; its return accounts for that. */
	t = task_state(false);
	if (t && in_call(t, PT_REGS_SP(ctx)))
		return 1;
	forget(id >> 32, ptr);
	return 1; /* a session has nothing to do at free's return */
}

SEC("uprobe")
int BPF_KPROBE(vg_mem_free, __u64 ptr)
{
	on_free(ctx, ptr);
	return 0;
}

/*
 * uprobe_multi links (one per library, entry and return) and uprobe sessions (one link, entry and
 * return in one program): one program for every function, the attach cookie says which
 * (VG_MEM_FN_*).
 */

static __always_inline int on_entry(struct pt_regs *ctx, __u64 which)
{
	__u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx), a3 = PT_REGS_PARM3(ctx), bytes;

	switch (which) {
	case VG_MEM_FN_MALLOC:
		return on_call(ctx, VG_MEM_CALL_MALLOC, a1, 0, 0);
	case VG_MEM_FN_CALLOC:
		return mul_fits(a1, a2, &bytes) ? on_call(ctx, VG_MEM_CALL_CALLOC, bytes, 0, 0) : 1;
	case VG_MEM_FN_REALLOC:
		return on_call(ctx, VG_MEM_CALL_REALLOC, a2, a1, 0);
	case VG_MEM_FN_REALLOCARRAY:
		return mul_fits(a2, a3, &bytes) ? on_call(ctx, VG_MEM_CALL_REALLOC, bytes, a1, 0) :
						  1;
	case VG_MEM_FN_POSIX_MEMALIGN:
		return on_call(ctx, VG_MEM_CALL_MEMALIGN, a3, 0, a1);
	case VG_MEM_FN_ALIGNED:
		return on_call(ctx, VG_MEM_CALL_ALIGNED, a2, 0, 0);
	case VG_MEM_FN_PVALLOC:
		bytes = (a1 + page_size - 1) / page_size;
		return on_call(ctx, VG_MEM_CALL_PVALLOC, (bytes ? bytes : 1) * page_size, 0, 0);
	case VG_MEM_FN_FREE:
		return on_free(ctx, a1);
	}
	return 1;
}

SEC("uprobe")
int vg_mem_multi_entry(struct pt_regs *ctx)
{
	on_entry(ctx, bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("uretprobe")
int vg_mem_multi_return(struct pt_regs *ctx)
{
	return on_return(ctx);
}

extern bool bpf_session_is_return(void) __ksym __weak;

SEC("uprobe")
int vg_mem_session(struct pt_regs *ctx)
{
	if (bpf_session_is_return()) {
		on_return(ctx);
		return 0;
	}
	return on_entry(ctx, bpf_get_attach_cookie(ctx));
}

/* ---- malloc mode: mmap, munmap, mremap (anonymous mappings the program asked for itself) ---- */

static __always_inline int on_sys_enter(__u32 call, __u64 size, __u64 old)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mem_task *t;

	if (!pass_filters(id >> 32, (__u32)id))
		return 0;
	t = task_state(true);
	if (!t)
		return 0;
	t->sys_call = 0;
	/* The allocator's own mappings are its business: its caller's allocation is recorded. */
	if (in_call(t, user_sp()))
		return 0;
	t->sys_call = call;
	t->sys_size = (size + page_size - 1) & ~(page_size - 1);
	t->sys_old = old;
	t->sys_sampled = sample_now(t, t->sys_size);
	return 0;
}

static __always_inline int on_sys_exit(void *ctx, long ret)
{
	struct mem_task *t = task_state(false);
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (!t || !t->sys_call)
		return 0;
	if (ret < 0 && ret >= -MAX_ERRNO) {
		t->sys_call = 0;
		return 0;
	}
	/* mremap moves a mapping: one recorded before (an anonymous one the capture saw) moves to
	 * the caller of mremap. Any other (a file mapping, or one mapped before the capture) is not
	 * recorded, as a free of an unknown pointer is ignored; sampling cannot tell an unsampled
	 * mapping from those, so there the new one is sampled afresh. */
	if (t->sys_call == VG_MEM_CALL_MREMAP && !forget(pid, t->sys_old) && !sample_bytes)
		t->sys_sampled = false;
	t->sys_call = 0;
	if (t->sys_sampled)
		record(ctx, pid, (__u64)ret, t->sys_size, false, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int vg_mem_mmap_enter(struct syscall_trace_enter *ctx)
{
	if (!(ctx->args[3] & MAP_ANONYMOUS))
		return 0;
	return on_sys_enter(VG_MEM_CALL_MMAP, ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int vg_mem_mmap_exit(struct syscall_trace_exit *ctx)
{
	return on_sys_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_mremap")
int vg_mem_mremap_enter(struct syscall_trace_enter *ctx)
{
	return on_sys_enter(VG_MEM_CALL_MREMAP, ctx->args[2], ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_mremap")
int vg_mem_mremap_exit(struct syscall_trace_exit *ctx)
{
	return on_sys_exit(ctx, ctx->ret);
}

/* munmap(addr, len): the whole block, or its first len bytes (the rest stays, moved up). */
SEC("tracepoint/syscalls/sys_enter_munmap")
int vg_mem_munmap_enter(struct syscall_trace_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), addr = ctx->args[0];
	__u64 len = (ctx->args[1] + page_size - 1) & ~(page_size - 1);
	struct vg_mem_addr ak = { .pid = id >> 32, .addr = addr };
	struct vg_mem_alloc *a, rest;
	struct mem_task *t;

	if (!pass_filters(id >> 32, (__u32)id))
		return 0;
	t = task_state(false);
	if (t && in_call(t, user_sp()))
		return 0;
	a = bpf_map_lookup_elem(&outstanding, &ak);
	if (!a) {
		mem_count(VG_MEM_CNT_FREE_UNKNOWN);
		return 0;
	}
	if (len < a->size) {
		rest = *a;
		rest.size -= len;
		ak.addr = addr + len;
		if (bpf_map_update_elem(&outstanding, &ak, &rest, BPF_ANY))
			mem_count(VG_MEM_CNT_OUTSTANDING_FULL);
		ak.addr = addr;
	}
	bpf_map_delete_elem(&outstanding, &ak);
	mem_count(VG_MEM_CNT_FREES);
	return 0;
}

/* ---- faults mode ---- */

static __always_inline int on_fault(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct vg_mem_key key;

	if (!pass_filters(id >> 32, (__u32)id))
		return 0;
	fill_key(&key, ctx, true, false);
	add_total(&key, VG_MEM_ONE, page_size, true);
	mem_count(VG_MEM_CNT_FAULTS);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(vg_mem_fault_btf, unsigned long address, struct pt_regs *regs, unsigned long error)
{
	return on_fault(ctx);
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(vg_mem_fault_raw, unsigned long address, struct pt_regs *regs, unsigned long error)
{
	return on_fault(ctx);
}

SEC("tracepoint/exceptions/page_fault_user")
int vg_mem_fault_tp(void *ctx)
{
	return on_fault(ctx);
}

/* ---- rss mode ---- */

SEC("tracepoint/kmem/rss_stat")
int vg_mem_rss_stat(struct trace_event_raw_rss_stat *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 mm = ctx->mm_id, member = ctx->member;
	struct vg_mem_rss *r, zero = {};
	__s64 now;

	if (member >= VG_MEM_RSS_MEMBERS)
		return 0;
	r = bpf_map_lookup_elem(&rss, &mm);
	if (!r) {
		/* Only the process itself names its address space; others (reclaim) update it. */
		if (!ctx->curr || !pass_filters(id >> 32, (__u32)id))
			return 0;
		zero.pid = id >> 32;
		__builtin_memcpy(&zero.comm, bpf_get_current_task_btf()->group_leader->comm,
				 sizeof(zero.comm));
		bpf_map_update_elem(&rss, &mm, &zero, BPF_NOEXIST);
		r = bpf_map_lookup_elem(&rss, &mm);
		if (!r) {
			count(VG_CNT_MAP_FULL);
			return 0;
		}
	}
	r->size[member & (VG_MEM_RSS_MEMBERS - 1)] = ctx->size;
	now = r->size[0] + r->size[1] + r->size[3];
	if (now > r->peak)
		r->peak = now;
	r->updates++;
	mem_count(VG_MEM_CNT_RSS_UPDATES);
	return 0;
}

/* ---- kernel mode ---- */

static __always_inline int on_kalloc(void *ctx, __u32 owner, __u64 addr, __u64 size,
				     __u64 call_site)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!addr || (call_site >= skip_site_lo && call_site < skip_site_hi) ||
	    !pass_filters(id >> 32, (__u32)id))
		return 0;
	record(ctx, owner, addr, size, true, call_site);
	return 0;
}

SEC("tracepoint/kmem/kmalloc")
int vg_mem_kmalloc(struct trace_event_raw_kmalloc *ctx)
{
	return on_kalloc(ctx, VG_MEM_PID_KERNEL, (__u64)ctx->ptr, ctx->bytes_alloc, ctx->call_site);
}

SEC("tracepoint/kmem/kmem_cache_alloc")
int vg_mem_cache_alloc(struct trace_event_raw_kmem_cache_alloc *ctx)
{
	return on_kalloc(ctx, VG_MEM_PID_KERNEL, (__u64)ctx->ptr, ctx->bytes_alloc, ctx->call_site);
}

SEC("tracepoint/kmem/kfree")
int vg_mem_kfree(struct trace_event_raw_kfree *ctx)
{
	if (ctx->ptr)
		forget(VG_MEM_PID_KERNEL, (__u64)ctx->ptr);
	return 0;
}

SEC("tracepoint/kmem/kmem_cache_free")
int vg_mem_cache_free(struct trace_event_raw_kmem_cache_free *ctx)
{
	if (ctx->ptr)
		forget(VG_MEM_PID_KERNEL, (__u64)ctx->ptr);
	return 0;
}

SEC("tracepoint/kmem/mm_page_alloc")
int vg_mem_page_alloc(struct trace_event_raw_mm_page_alloc *ctx)
{
	if (ctx->pfn == ~0UL)
		return 0; /* the allocation failed */
	return on_kalloc(ctx, VG_MEM_PID_PAGES, ctx->pfn, page_size << (ctx->order & 31), 0);
}

SEC("tracepoint/kmem/mm_page_free")
int vg_mem_page_free(struct trace_event_raw_mm_page_free *ctx)
{
	forget(VG_MEM_PID_PAGES, ctx->pfn);
	return 0;
}

SEC("tracepoint/kmem/mm_page_free_batched")
int vg_mem_page_free_batched(struct trace_event_raw_mm_page_free_batched *ctx)
{
	forget(VG_MEM_PID_PAGES, ctx->pfn);
	return 0;
}

/* -- COMMAND: children of followed processes join the filter. */
VG_FOLLOW_FORK_PROGS(vg_mem)

/* An exec replaces the image: its unwind tables are stale; announce it again. */
VG_EXEC_PROGS(vg_mem, unwind_forget)

char LICENSE[] SEC("license") = "GPL";
