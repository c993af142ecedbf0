/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User stacks, for every stack collector (profile, offcpu, --wall, mem, trace): one call,
 * get_user_stack() (or get_user_stack_regs() with the registers in hand), returns a VG_USTACK_*
 * reference (vigil/common.h) to the stack, stored once in "ustacks" by a 64-bit hash of its
 * addresses.
 *
 * Three walkers, chosen by userspace in unwind_mode (--unwind):
 *   VG_UNWIND_CFI     frame by frame with the CFI rows of the file each pc lies in
 *                     (include/vigil/unwind.h); frame pointers where a file has no row (JIT code)
 *   VG_UNWIND_FP      by frame pointers only
 *   VG_UNWIND_KERNEL  bpf_get_stackid(BPF_F_USER_STACK), for kernels without bpf_loop
 * The first two are one bpf_loop over vg_unwind_step() (include/vigil/unwind_step.h, the source the
 * userspace tests run too), and check every return address against the process's executable
 * mappings: a frame-pointer walk through code without frame pointers stops there instead of
 * emitting data as addresses. Each early stop is counted by reason (VG_CNT_UNWIND_*).
 *
 * A process without a mapping table yet is announced to userspace through the "events" ring
 * buffer (VG_REC_NEW_PROC), which snapshots its mappings and loads its tables; until then its stacks
 * are walked by frame pointers. A pc outside every known mapping (a dlopen since) asks userspace to
 * re-read the process (VG_REC_UNWIND_REFRESH), at most every VG_REFRESH_NS.
 *
 * Include after vmlinux.h, the libbpf headers and common.bpf.h.
 */
#ifndef VIGIL_UNWIND_BPF_H
#define VIGIL_UNWIND_BPF_H

#include "vigil/unwind.h"

const volatile __u32 unwind_mode = VG_UNWIND_KERNEL;
const volatile __u32 max_frames = VG_MAX_STACK_DEPTH; /* --max-frames */

#define VG_REFRESH_NS 250000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* --stack-storage-size */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct vg_ustack);
} ustacks SEC(".maps");

/*
 * The user stack is read in windows of up to VG_STACK_WIN bytes, one bpf_probe_read_user each, not
 * one read per saved value: a helper call costs about 100 ns here (SRSO-safe returns in a VM), a
 * 30-frame walk made 31 to 60 of them. A window ends at the end of the page holding the address
 * read and starts no lower than the frame's sp: the bytes between the frame's sp and a saved value
 * are live stack, so mapped; nothing past that page is touched (the stack's top may be there).
 */
#define VG_STACK_WIN 8192
#define VG_STACK_PAGE 4096ULL
#define VG_KNOWN_STACKS 8 /* a power of two */

/*
 * The walk's state lives in this per-CPU map value, not on the BPF stack: values read from a map are
 * unknown to the verifier, so it checks the bpf_loop body once rather than once per depth (a frame
 * count on the stack would be tracked exactly, frame after frame, past the verifier's limit).
 */
struct vg_walk {
	struct vg_ustack s; /* the addresses, leaf first */
	struct vg_regs r;
	__u64 h; /* hash of the addresses so far */
	__u32 n; /* addresses in s */
	__s32 end; /* VG_STEP_* that stopped the walk, or -1 for the depth limit */
	__u32 cfi;
	__u32 stk_len; /* bytes of the user stack copied into stk, from stk_base */
	__u64 stk_base;
	/* References of stacks this CPU found or put in ustacks, by their low bits, while
	 * ustacks_gen is known_gen: a repeated stack skips the ustacks lookup (a hash lookup
	 * whose bucket and entry are cold by the next sample: about 0.5 us here). */
	__u64 known_gen;
	__u64 known[VG_KNOWN_STACKS];
	__u64 stk[VG_STACK_WIN / 8];
	struct vg_row_cache_ent cache[VG_ROW_CACHE]; /* rows found (unwind_step.h), across walks */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_walk);
} ustack_scratch SEC(".maps");

/*
 * Bumped by userspace after it clears ustacks (stack_maps_recycle, user/collect/readout.c): the
 * walk's per-CPU list of stacks already stored (vg_walk.known) is stale then.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ustacks_gen SEC(".maps");

/* The tables (sizes set by userspace: user/collect/unwind.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VG_UNWIND_PROCS_DEFAULT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct vg_unwind_proc);
} unwind_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VG_CFI_TABLES_DEFAULT);
	__type(key, __u32);
	__type(value, struct vg_cfi_table);
} cfi_tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VG_CFI_PAGES_DEFAULT);
	__uint(map_flags, BPF_F_MMAPABLE); /* userspace writes tables in place */
	__type(key, __u32);
	__type(value, __u32);
} cfi_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VG_CFI_ROWS_DEFAULT);
	__uint(map_flags, BPF_F_MMAPABLE); /* userspace writes tables in place */
	__type(key, __u32);
	__type(value, struct vg_cfi_row);
} cfi_rows SEC(".maps");

/* Process notices to userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Processes already announced. LRU: an evicted entry only costs a second notice. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} seen_procs SEC(".maps");

/* Tell userspace about a process it should snapshot (once, until its next exec). */
static __always_inline void announce(__u32 pid, __u32 tid)
{
	struct vg_rec_proc *r;
	__u8 one = 1;

	if (bpf_map_lookup_elem(&seen_procs, &pid))
		return;
	bpf_map_update_elem(&seen_procs, &pid, &one, BPF_ANY);
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		/* Userspace will still snapshot it at the end if it lives; count the miss. */
		bpf_map_delete_elem(&seen_procs, &pid);
		count(VG_CNT_RINGBUF_FULL);
		return;
	}
	r->hdr.type = VG_REC_NEW_PROC;
	r->hdr.size = sizeof(*r);
	r->pid = pid;
	r->tid = tid;
	/* Wake the reader now: the process may live only milliseconds. */
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
}

/* pc lies outside every mapping userspace knows of: ask for a re-read, rate-limited. */
static __always_inline void ask_refresh(struct vg_unwind_proc *p, __u32 pid, __u64 pc)
{
	struct vg_rec_refresh *r;
	__u64 now = bpf_ktime_get_ns();

	if (now - p->refresh_ns < VG_REFRESH_NS)
		return;
	p->refresh_ns = now;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		count(VG_CNT_RINGBUF_FULL);
		return;
	}
	r->type = VG_REC_UNWIND_REFRESH;
	r->size = sizeof(*r);
	r->pid = pid;
	r->pad = 0;
	r->pc = pc;
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
}

/* An exec replaces the image: its tables and its notice are stale (VG_EXEC_PROGS' also()). */
static __always_inline void unwind_forget(__u32 pid)
{
	bpf_map_delete_elem(&seen_procs, &pid);
	bpf_map_delete_elem(&unwind_procs, &pid);
}

/* The step's accessors over the maps above (include/vigil/unwind_step.h). */
#define VG_STEP_CTX struct vg_walk
static __always_inline const struct vg_cfi_row *vg_step_row(struct vg_walk *c, __u32 idx)
{
	return bpf_map_lookup_elem(&cfi_rows, &idx);
}
static __always_inline const __u32 *vg_step_page(struct vg_walk *c, __u32 idx)
{
	return bpf_map_lookup_elem(&cfi_pages, &idx);
}
static __always_inline const struct vg_cfi_table *vg_step_table(struct vg_walk *c, __u32 id)
{
	return bpf_map_lookup_elem(&cfi_tables, &id);
}

static __always_inline struct vg_row_cache_ent *vg_step_cache(struct vg_walk *c)
{
	return c->cache;
}

/* Copy the window holding addr (see VG_STACK_WIN); 0, or non-zero when it cannot be read. */
static __always_inline int stack_window(struct vg_walk *c, __u64 addr)
{
	__u64 end = (addr | (VG_STACK_PAGE - 1)) + 1, base = c->r.sp & ~7ULL, len;

	if (base > addr || end - base > VG_STACK_WIN)
		base = end - VG_STACK_WIN;
	len = end - base;
	c->stk_len = 0;
	if (len > VG_STACK_WIN || bpf_probe_read_user(c->stk, len, (const void *)base))
		return -1;
	c->stk_base = base;
	c->stk_len = len;
	return 0;
}

/* size bytes (8 or 16) of the walked task's stack at addr, through the window. */
static __always_inline long vg_step_read(struct vg_walk *c, void *dst, __u32 size, __u64 addr)
{
	__u64 off = addr - c->stk_base, *d = dst;

	if (addr & 7)
		return bpf_probe_read_user(dst, size, (const void *)addr);
	if (off >= c->stk_len || c->stk_len - off < size) {
		if (stack_window(c, addr))
			return bpf_probe_read_user(dst, size, (const void *)addr);
		off = addr - c->stk_base;
		if (c->stk_len - off < size) /* straddles the window's end (the page's) */
			return bpf_probe_read_user(dst, size, (const void *)addr);
	}
	if (off > VG_STACK_WIN - 16)
		return bpf_probe_read_user(dst, size, (const void *)addr);
	off /= 8;
	d[0] = c->stk[off];
	if (size > 8)
		d[1] = c->stk[off + 1];
	return 0;
}
#include "vigil/unwind_step.h"

/* What the loop body gets on the stack: only pointers, the same at every frame. */
struct vg_walk_ctx {
	struct vg_walk *w;
	struct vg_unwind_proc *p; /* NULL: no table (frame pointers, unchecked) */
};

static __always_inline __u64 mix(__u64 h, __u64 v)
{
	h = (h ^ v) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

static long walk_frame(__u32 i, void *arg)
{
	struct vg_walk_ctx *c = arg;
	struct vg_walk *w = c->w;
	__u32 n = w->n, fp = w->r.fp_frames;
	int rc;

	if (n >= max_frames || n >= VG_MAX_STACK_DEPTH) {
		w->end = -1;
		return 1;
	}
	rc = vg_unwind_step(w, c->p, w->cfi, &w->r);
	if (rc != VG_STEP_OK) {
		w->end = rc;
		/* A return address CFI vouched for, outside what userspace told us: stale tables. */
		if (rc == VG_STEP_NO_MAP && c->p && w->r.fp_frames == fp)
			ask_refresh(c->p, bpf_get_current_pid_tgid() >> 32, w->r.pc);
		return 1;
	}
	w->s.ips[n] = w->r.pc;
	w->h = mix(w->h, w->r.pc);
	w->n = n + 1;
	return 0;
}

/* Walk the current task's user stack from its innermost frame; returns a VG_USTACK_* reference. */
static __always_inline __u64 walk_user_stack_from(__u64 ip, __u64 sp, __u64 bp)
{
	__u64 id = bpf_get_current_pid_tgid(), h, *gen;
	__u32 zero = 0, pid = id >> 32, n;
	struct vg_walk_ctx c;
	struct vg_walk *w;

	w = bpf_map_lookup_elem(&ustack_scratch, &zero);
	if (!w)
		return VG_USTACK_LOST_WALK;
	if (!ip || ip >= VG_USER_TOP) {
		count(VG_CNT_USTACK_WALK);
		return VG_USTACK_LOST_WALK;
	}
	c.w = w;
	c.p = bpf_map_lookup_elem(&unwind_procs, &pid);
	if (c.p && !c.p->n) {
		c.p = NULL; /* userspace has nothing for it: frame pointers, unchecked */
	} else if (!c.p) {
		announce(pid, (__u32)id);
		count(VG_CNT_UNWIND_NO_TABLE);
	}
	w->cfi = unwind_mode == VG_UNWIND_CFI;
	w->r.pc = ip;
	w->r.sp = sp;
	w->r.bp = bp;
	w->r.exact = 1;
	w->r.fp_frames = 0;
	w->r.map = -1;
	if (c.p) {
		w->r.map = vg_find_map(c.p, ip);
		if (w->r.map < 0) {
			/* The table is older than this code (a dlopen, an exec still mapping):
			 * ask for a new one, walk by frame pointers meanwhile. */
			ask_refresh(c.p, pid, ip);
			c.p = NULL;
			count(VG_CNT_UNWIND_NO_TABLE);
		}
	}
	w->s.ips[0] = ip;
	w->h = mix(0xcbf29ce484222325ULL, ip);
	w->n = 1;
	w->end = VG_STEP_END;
	w->stk_len = 0;
	bpf_loop(VG_MAX_STACK_DEPTH, walk_frame, &c, 0);
	switch (w->end) {
	case -1:
		count(VG_CNT_UNWIND_DEPTH);
		break;
	case VG_STEP_NO_MAP:
		count(VG_CNT_UNWIND_NO_MAP);
		break;
	case VG_STEP_FAULT:
		count(VG_CNT_UNWIND_FAULT);
		break;
	case VG_STEP_BAD:
		count(VG_CNT_UNWIND_BAD);
		break;
	default:
		break;
	}
	if (w->cfi && w->r.fp_frames)
		count(VG_CNT_UNWIND_FP);
	n = w->n;
	if (n < VG_MAX_STACK_DEPTH)
		w->s.ips[n] = 0;
	h = w->h | VG_USTACK_HASHED;
	gen = bpf_map_lookup_elem(&ustacks_gen, &zero);
	if (gen && w->known_gen != *gen) {
		for (int i = 0; i < VG_KNOWN_STACKS; i++)
			w->known[i] = 0;
		w->known_gen = *gen;
	}
	if (gen && w->known[h & (VG_KNOWN_STACKS - 1)] == h)
		return h;
	if (!bpf_map_lookup_elem(&ustacks, &h) &&
	    bpf_map_update_elem(&ustacks, &h, &w->s, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&ustacks, &h)) {
		count(VG_CNT_USTACK_FULL);
		return VG_USTACK_LOST_FULL;
	}
	if (gen)
		w->known[h & (VG_KNOWN_STACKS - 1)] = h;
	return h;
}

/* The current task's user stack, by whichever walker userspace chose (see above). */
static __always_inline __u64 get_user_stack(void *ctx, void *stack_map)
{
	struct pt_regs *regs;
	__s32 id;

	if (unwind_mode != VG_UNWIND_KERNEL) {
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		if (!regs)
			return VG_USTACK_LOST_WALK;
		return walk_user_stack_from(BPF_CORE_READ(regs, ip), BPF_CORE_READ(regs, sp),
					    BPF_CORE_READ(regs, bp));
	}
	id = get_stack(ctx, stack_map, true);
	if (id >= 0)
		return VG_USTACK_MAPID | (__u32)id;
	return id == VG_STACK_LOST_COLLISION ? VG_USTACK_LOST_COLLISION :
	       id == VG_STACK_LOST_FULL	     ? VG_USTACK_LOST_FULL :
					       VG_USTACK_LOST_WALK;
}

/*
 * A perf-event sample's user stack: straight from the sample's registers when it interrupted user
 * mode (no pt_regs reads), else as get_user_stack().
 */
static __always_inline __u64 get_user_stack_perf(struct bpf_perf_event_data *ctx, void *stack_map,
						 bool user_mode)
{
	if (unwind_mode != VG_UNWIND_KERNEL && user_mode)
		return walk_user_stack_from(PT_REGS_IP(&ctx->regs), PT_REGS_SP(&ctx->regs),
					    PT_REGS_FP(&ctx->regs));
	return get_user_stack(ctx, stack_map);
}

#endif
