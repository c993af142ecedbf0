// SPDX-License-Identifier: GPL-2.0
/* The memory collector: bpf/mem.bpf.c's modes, hooks and maps into the profile model. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/mem.h"
#include "collect/unwind.h"
#include "vigil/unwind.h"
#include "collect/readout.h"
#include "kernel/attach.h"
#include "kernel/tracefs.h"
#include "kernel/uprobe.h"
#include "model/hashmap.h"
#include "model/profile.h"
#include "util/log.h"
#include "mem.skel.h"

_Static_assert(sizeof(struct vg_mem_key) == VG_MEM_KEY_SIZE, "mem key layout");
_Static_assert(sizeof(struct vg_mem_alloc) == VG_MEM_ALLOC_SIZE, "mem alloc layout");
_Static_assert(sizeof(struct vg_mem_rss) == VG_MEM_RSS_SIZE, "mem rss layout");
_Static_assert(VG_MEM_CNT_NR <= VG_CNT_NR, "mem counters read through a counter_delta");

struct mem_collector {
	struct mem_bpf *skel;
	struct mem_collector_opts o;
	struct tp_progs fork_progs, exec_progs, fault_progs;
	struct bpf_link *fork_link;
	struct bpf_link **links;
	size_t nr_links, cap_links;
	int *fds; /* uprobe_multi / session links */
	size_t nr_fds, cap_fds;
	struct counter_delta cd, mcd;
};

double mem_sample_weight(__u64 size, __u64 n)
{
	double x;

	if (!n || !size)
		return 1.0;
	x = (double)size / (double)n;
	if (x >= VG_MEM_EST_MAX_X)
		return 1.0; /* the BPF side records these at weight 1 too */
	return 1.0 / -expm1(-x);
}

/* The interpolation tables of bpf/mem.bpf.c: log2(1 + i/256) and x / (1 - e^-x), in 1/65536. */
static void fill_tables(struct mem_bpf *skel)
{
	for (int i = 0; i <= VG_MEM_LOG2_STEPS; i++)
		skel->rodata->log2_tab[i] = (__u32)lround(log2(1.0 + i / 256.0) * 65536.0);
	for (int i = 0; i <= VG_MEM_EST_N; i++) {
		double x = (double)i / VG_MEM_EST_STEPS_PER_UNIT;

		skel->rodata->est_tab[i] = (__u32)lround((i ? x / -expm1(-x) : 1.0) * 65536.0);
	}
}

/* A kernel function's address range from /proc/kallsyms: [lo, hi) up to the next symbol. */
static void kernel_function_range(const char *name, __u64 *lo, __u64 *hi)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512], sym[256], type;
	unsigned long long a;

	*lo = *hi = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) != 3 || !a)
			continue;
		if (!*lo && !strcmp(sym, name) && (type == 't' || type == 'T'))
			*lo = a;
		else if (*lo && a > *lo && (!*hi || a < *hi))
			*hi = a;
	}
	fclose(f);
	if (!*hi)
		*lo = 0;
}

/* The programs of one uprobe attach kind, loaded with the attach type its links need. */
static void set_uprobe_progs(struct mem_bpf *s, enum mem_uprobes u)
{
	struct bpf_program *perf[] = {
		s->progs.vg_mem_malloc,		s->progs.vg_mem_calloc,
		s->progs.vg_mem_realloc,	s->progs.vg_mem_reallocarray,
		s->progs.vg_mem_posix_memalign, s->progs.vg_mem_aligned,
		s->progs.vg_mem_pvalloc,	s->progs.vg_mem_return,
		s->progs.vg_mem_free,
	};

	switch (u) {
	case MEM_UPROBES_SESSION:
		s->rodata->sessions = true;
		bpf_program__set_autoload(s->progs.vg_mem_session, true);
		bpf_program__set_expected_attach_type(s->progs.vg_mem_session,
						      (enum bpf_attach_type)UPROBE_SESSION_ATTACH);
		break;
	case MEM_UPROBES_MULTI:
		bpf_program__set_autoload(s->progs.vg_mem_multi_entry, true);
		bpf_program__set_autoload(s->progs.vg_mem_multi_return, true);
		bpf_program__set_expected_attach_type(s->progs.vg_mem_multi_entry,
						      (enum bpf_attach_type)UPROBE_MULTI_ATTACH);
		bpf_program__set_expected_attach_type(s->progs.vg_mem_multi_return,
						      (enum bpf_attach_type)UPROBE_MULTI_ATTACH);
		break;
	case MEM_UPROBES_PERF:
		for (size_t i = 0; i < sizeof(perf) / sizeof(perf[0]); i++)
			bpf_program__set_autoload(perf[i], true);
		break;
	}
}

static void autoload_all(struct mem_bpf *s, bool on)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, s->obj) bpf_program__set_autoload(p, on);
}

struct mem_collector *mem_collector__new(const struct mem_collector_opts *o)
{
	struct mem_collector *c = calloc(1, sizeof(*c));
	struct mem_bpf *s;
	long page = sysconf(_SC_PAGESIZE);
	__u64 lo, hi;
	int err;

	if (!c)
		return NULL;
	c->o = *o;
	c->o.filter = NULL;
	s = c->skel = mem_bpf__open();
	if (!s) {
		err = -errno;
		pr_err("opening the BPF program failed: %s", strerror(errno));
		goto fail;
	}
	s->rodata->mode = o->mode;
	s->rodata->page_size = page > 0 ? (__u64)page : 4096;
	s->rodata->sample_bytes = o->sample_bytes;
	s->rodata->unwind_mode = o->unwind_mode;
	s->rodata->max_frames = o->max_frames ? o->max_frames : VG_MAX_STACK_DEPTH;
	if (o->sample_bytes)
		fill_tables(s);
	if (o->filter)
		filter_cfg__set_rodata(o->filter, s->rodata);
	bpf_map__set_max_entries(s->maps.stacks, o->stack_storage);
	bpf_map__set_max_entries(s->maps.ustacks, o->stack_storage);
	bpf_map__set_max_entries(s->maps.totals, o->stack_storage * 4);
	bpf_map__set_max_entries(s->maps.outstanding, o->max_outstanding);
	err = unwind__configure(s->obj, o->unwind_mode,
				o->unwind_rows ? o->unwind_rows : VG_CFI_ROWS_DEFAULT);
	if (err) {
		pr_err("sizing the unwind tables failed: %s", strerror(-err));
		goto fail;
	}

	/* Only the mode's programs load. */
	autoload_all(s, false);
	switch (o->mode) {
	case VG_MEM_MODE_MALLOC:
		set_uprobe_progs(s, o->uprobes);
		bpf_program__set_autoload(s->progs.vg_mem_mmap_enter, o->syscalls);
		bpf_program__set_autoload(s->progs.vg_mem_mmap_exit, o->syscalls);
		bpf_program__set_autoload(s->progs.vg_mem_mremap_enter, o->syscalls);
		bpf_program__set_autoload(s->progs.vg_mem_mremap_exit, o->syscalls);
		bpf_program__set_autoload(s->progs.vg_mem_munmap_enter, o->syscalls);
		break;
	case VG_MEM_MODE_FAULTS:
		c->fault_progs =
			(struct tp_progs){ s->progs.vg_mem_fault_btf, s->progs.vg_mem_fault_raw,
					   s->progs.vg_mem_fault_tp };
		tp_progs__autoload(&c->fault_progs, o->attach, true);
		break;
	case VG_MEM_MODE_RSS:
		bpf_program__set_autoload(s->progs.vg_mem_rss_stat, true);
		break;
	case VG_MEM_MODE_KERNEL:
		kernel_function_range("alloc_bulk", &lo, &hi);
		s->rodata->skip_site_lo = lo;
		s->rodata->skip_site_hi = hi;
		bpf_program__set_autoload(s->progs.vg_mem_kmalloc, true);
		bpf_program__set_autoload(s->progs.vg_mem_cache_alloc, true);
		bpf_program__set_autoload(s->progs.vg_mem_kfree, true);
		bpf_program__set_autoload(s->progs.vg_mem_cache_free, true);
		bpf_program__set_autoload(s->progs.vg_mem_page_alloc, true);
		bpf_program__set_autoload(s->progs.vg_mem_page_free, true);
		bpf_program__set_autoload(s->progs.vg_mem_page_free_batched, true);
		break;
	}
	c->fork_progs = (struct tp_progs){ s->progs.vg_mem_fork_btf, s->progs.vg_mem_fork_raw,
					   s->progs.vg_mem_fork_tp };
	c->exec_progs = (struct tp_progs){ s->progs.vg_mem_exec_btf, s->progs.vg_mem_exec_raw,
					   s->progs.vg_mem_exec_tp };
	tp_progs__autoload(&c->fork_progs, o->attach, o->filter && o->filter->follow);
	tp_progs__autoload(&c->exec_progs, o->attach, true);
	c->o.syscalls = o->syscalls && o->mode == VG_MEM_MODE_MALLOC;

	err = mem_bpf__load(s);
	if (err) {
		pr_err("loading the BPF program failed: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	if (o->filter && (err = filter_cfg__apply(o->filter, s->obj)))
		goto fail;
	return c;
fail:
	mem_collector__free(c);
	errno = err < 0 ? -err : EINVAL;
	return NULL;
}

struct bpf_object *mem_collector__object(struct mem_collector *c)
{
	return c->skel->obj;
}

const struct tp_progs *mem_collector__exec_progs(struct mem_collector *c)
{
	return &c->exec_progs;
}

struct bpf_map *mem_collector__notices(struct mem_collector *c)
{
	return c->skel->maps.events;
}

static int keep_link(struct mem_collector *c, struct bpf_link *l)
{
	if (c->nr_links == c->cap_links) {
		size_t cap = c->cap_links ? 2 * c->cap_links : 32;
		struct bpf_link **n = realloc(c->links, cap * sizeof(*n));

		if (!n) {
			bpf_link__destroy(l);
			return -ENOMEM;
		}
		c->links = n;
		c->cap_links = cap;
	}
	c->links[c->nr_links++] = l;
	return 0;
}

static struct bpf_program *entry_prog(struct mem_bpf *s, enum alloc_call call)
{
	switch (call) {
	case ALLOC_MALLOC:
		return s->progs.vg_mem_malloc;
	case ALLOC_CALLOC:
		return s->progs.vg_mem_calloc;
	case ALLOC_REALLOC:
		return s->progs.vg_mem_realloc;
	case ALLOC_REALLOCARRAY:
		return s->progs.vg_mem_reallocarray;
	case ALLOC_POSIX_MEMALIGN:
		return s->progs.vg_mem_posix_memalign;
	case ALLOC_ALIGNED:
		return s->progs.vg_mem_aligned;
	case ALLOC_PVALLOC:
		return s->progs.vg_mem_pvalloc;
	case ALLOC_FREE:
	default:
		return s->progs.vg_mem_free;
	}
}

static int attach_uprobe(struct mem_collector *c, struct bpf_program *p, int pid, const char *path,
			 const char *func, __u32 delta, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = func, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(p, pid, path, delta, &uo);

	if (!l) {
		int err = -errno;

		pr_err("attaching a %s to %s:%s failed: %s", ret ? "uretprobe" : "uprobe", path,
		       func, strerror(-err));
		return err;
	}
	return keep_link(c, l);
}

static int keep_fd(struct mem_collector *c, int fd)
{
	if (c->nr_fds == c->cap_fds) {
		size_t cap = c->cap_fds ? 2 * c->cap_fds : 8;
		int *n = realloc(c->fds, cap * sizeof(*n));

		if (!n) {
			close(fd);
			return -ENOMEM;
		}
		c->fds = n;
		c->cap_fds = cap;
	}
	c->fds[c->nr_fds++] = fd;
	return 0;
}

/* One library's functions (the C ones, or libstdc++'s operator new) in uprobe_multi or session
 * links: one link for every entry, cookies saying which function each is. */
static int attach_multi(struct mem_collector *c, const struct allocator *a, bool cxx, int pid)
{
	__u64 offs[ALLOCATOR_MAX_FUNCS], cookies[ALLOCATOR_MAX_FUNCS], roffs[ALLOCATOR_MAX_FUNCS],
		rcookies[ALLOCATOR_MAX_FUNCS];
	const char *path = cxx ? a->cxx_path : a->path;
	bool session = c->o.uprobes == MEM_UPROBES_SESSION;
	__u32 n = 0, nr = 0, type = session ? UPROBE_SESSION_ATTACH : UPROBE_MULTI_ATTACH;
	__u32 upid = pid > 0 ? (__u32)pid : 0;
	int fd, err;

	for (int i = 0; i < a->nr_funcs; i++) {
		const struct alloc_func *f = &a->funcs[i];

		if (f->cxx != cxx)
			continue;
		offs[n] = f->offset + f->delta;
		cookies[n++] = f->call;
		if (f->call != ALLOC_FREE) {
			roffs[nr] = f->offset;
			rcookies[nr++] = f->call;
		}
	}
	if (!n)
		return 0;
	fd = uprobe_multi_link(bpf_program__fd(session ? c->skel->progs.vg_mem_session :
							 c->skel->progs.vg_mem_multi_entry),
			       type, path, offs, cookies, n, upid, false);
	if (fd >= 0 && (err = keep_fd(c, fd)))
		return err;
	if (fd >= 0 && !session && nr) {
		fd = uprobe_multi_link(bpf_program__fd(c->skel->progs.vg_mem_multi_return), type,
				       path, roffs, rcookies, nr, upid, true);
		if (fd >= 0 && (err = keep_fd(c, fd)))
			return err;
	}
	if (fd < 0) {
		pr_err("attaching %s to %u functions of %s failed: %s",
		       session ? "a uprobe session" : "uprobe_multi links", n, path, strerror(-fd));
		return fd;
	}
	return 0;
}

/* The allocator's functions of one target: entry probes, and the return probe of each allocating
 * one. */
static int attach_target(struct mem_collector *c, const struct mem_target *t)
{
	const struct allocator *a = t->alloc;
	int err;

	if (c->o.uprobes != MEM_UPROBES_PERF) {
		err = attach_multi(c, a, false, t->pid);
		if (!err && *a->cxx_path)
			err = attach_multi(c, a, true, t->pid);
		return err;
	}

	for (int i = 0; i < a->nr_funcs; i++) {
		const struct alloc_func *f = &a->funcs[i];
		const char *path = f->cxx ? a->cxx_path : a->path;

		err = attach_uprobe(c, entry_prog(c->skel, f->call), t->pid, path, f->name,
				    f->delta, false);
		if (!err && f->call != ALLOC_FREE)
			err = attach_uprobe(c, c->skel->progs.vg_mem_return, t->pid, path, f->name,
					    0, true);
		if (err)
			return err;
	}
	return 0;
}

static int attach_tp(struct mem_collector *c, struct bpf_program *p, const char *cat,
		     const char *name)
{
	struct bpf_link *l = bpf_program__attach_tracepoint(p, cat, name);

	if (!l) {
		int err = -errno;

		pr_err("attaching to tracepoint %s:%s failed: %s", cat, name, strerror(-err));
		return err;
	}
	return keep_link(c, l);
}

static int attach_syscalls(struct mem_collector *c)
{
	struct mem_bpf *s = c->skel;
	int err = tracefs_ensure(NULL);

	if (err) {
		pr_err("mounting tracefs for the mmap syscall tracepoints failed: %s",
		       strerror(-err));
		return err;
	}
	if ((err = attach_tp(c, s->progs.vg_mem_mmap_enter, "syscalls", "sys_enter_mmap")) ||
	    (err = attach_tp(c, s->progs.vg_mem_mmap_exit, "syscalls", "sys_exit_mmap")) ||
	    (err = attach_tp(c, s->progs.vg_mem_mremap_enter, "syscalls", "sys_enter_mremap")) ||
	    (err = attach_tp(c, s->progs.vg_mem_mremap_exit, "syscalls", "sys_exit_mremap")) ||
	    (err = attach_tp(c, s->progs.vg_mem_munmap_enter, "syscalls", "sys_enter_munmap")))
		return err;
	return 0;
}

static int attach_kernel(struct mem_collector *c)
{
	struct mem_bpf *s = c->skel;
	int err = tracefs_ensure(NULL);

	if (err) {
		pr_err("mounting tracefs for the kmem tracepoints failed: %s", strerror(-err));
		return err;
	}
	if ((err = attach_tp(c, s->progs.vg_mem_kmalloc, "kmem", "kmalloc")) ||
	    (err = attach_tp(c, s->progs.vg_mem_cache_alloc, "kmem", "kmem_cache_alloc")) ||
	    (err = attach_tp(c, s->progs.vg_mem_kfree, "kmem", "kfree")) ||
	    (err = attach_tp(c, s->progs.vg_mem_cache_free, "kmem", "kmem_cache_free")) ||
	    (err = attach_tp(c, s->progs.vg_mem_page_alloc, "kmem", "mm_page_alloc")) ||
	    (err = attach_tp(c, s->progs.vg_mem_page_free, "kmem", "mm_page_free")) ||
	    (err = attach_tp(c, s->progs.vg_mem_page_free_batched, "kmem", "mm_page_free_batched")))
		return err;
	return 0;
}

int mem_collector__attach(struct mem_collector *c, const struct mem_target *targets,
			  size_t nr_targets, char *what, size_t len)
{
	struct mem_bpf *s = c->skel;
	struct bpf_link *l;
	int err = 0;

	if (bpf_program__autoload(c->fork_progs.btf) || bpf_program__autoload(c->fork_progs.raw) ||
	    bpf_program__autoload(c->fork_progs.tp)) {
		c->fork_link = tp_progs__attach(&c->fork_progs, c->o.attach);
		if (!c->fork_link) {
			err = -errno;
			pr_err("attaching to sched_process_fork (%s) failed: %s",
			       tp_attach_name(c->o.attach), strerror(errno));
			return err;
		}
	}
	switch (c->o.mode) {
	case VG_MEM_MODE_MALLOC:
		for (size_t i = 0; i < nr_targets && !err; i++)
			err = attach_target(c, &targets[i]);
		if (!err && c->o.syscalls)
			err = attach_syscalls(c);
		if (!err && nr_targets) {
			const struct allocator *a = targets[0].alloc;

			snprintf(what, len, "tracing %d functions of %s%s%s (%s)%s", a->nr_funcs,
				 a->shown, *a->cxx_path ? " and libstdc++" : "",
				 c->o.syscalls ? ", mmap/munmap/mremap" : "",
				 c->o.uprobes == MEM_UPROBES_SESSION ? "uprobe session" :
				 c->o.uprobes == MEM_UPROBES_MULTI   ? "uprobe_multi" :
								       "uprobes",
				 c->o.sample_bytes ? ", sampled" : "");
		}
		break;
	case VG_MEM_MODE_FAULTS:
		l = tp_progs__attach(&c->fault_progs, c->o.attach);
		if (!l || (err = keep_link(c, l))) {
			err = err ? err : -errno;
			pr_err("attaching to page_fault_user (%s) failed: %s",
			       tp_attach_name(c->o.attach), strerror(-err));
		}
		snprintf(what, len, "counting user page faults (%s)", tp_attach_name(c->o.attach));
		break;
	case VG_MEM_MODE_RSS:
		err = tracefs_ensure(NULL);
		if (err)
			pr_err("mounting tracefs for rss_stat failed: %s", strerror(-err));
		else
			err = attach_tp(c, s->progs.vg_mem_rss_stat, "kmem", "rss_stat");
		snprintf(what, len, "following rss_stat");
		break;
	case VG_MEM_MODE_KERNEL:
		err = attach_kernel(c);
		snprintf(what, len, "tracing kmalloc, kmem_cache and page allocations");
		break;
	}
	return err;
}

void mem_collector__detach(struct mem_collector *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nr_fds; i++)
		close(c->fds[i]);
	c->nr_fds = 0;
	for (size_t i = 0; i < c->nr_links; i++)
		bpf_link__destroy(c->links[i]);
	c->nr_links = 0;
	bpf_link__destroy(c->fork_link);
	c->fork_link = NULL;
}

void mem_collector__free(struct mem_collector *c)
{
	if (!c)
		return;
	mem_collector__detach(c);
	free(c->links);
	free(c->fds);
	mem_bpf__destroy(c->skel);
	free(c);
}

/* ---- readout ---- */

/* One aggregation key (process, thread, stacks) with both halves of its heap profile. */
struct agg {
	__u32 pid, tid;
	__s32 kstack_id;
	__u64 ustack;
	__u64 call_site;
	char comm[VG_COMM_LEN + 1];
	double alloc_count, alloc_bytes, inuse_count, inuse_bytes;
};

struct aggs {
	struct agg *a;
	size_t n, cap;
	struct hashmap *idx; /* struct agg * -> index, by pid, tid, stacks */
};

static uint64_t agg_hash(const void *key, void *ctx)
{
	const struct agg *a = key;
	uint64_t parts[5] = { a->pid, a->tid, (__u64)(__s64)a->kstack_id, a->ustack, a->call_site };

	(void)ctx;
	return hash_bytes(parts, sizeof(parts), 31);
}

static bool agg_equal(const void *x, const void *y, void *ctx)
{
	const struct agg *a = x, *b = y;

	(void)ctx;
	return a->pid == b->pid && a->tid == b->tid && a->kstack_id == b->kstack_id &&
	       a->ustack == b->ustack && a->call_site == b->call_site;
}

/* The entry of (pid, tid, stacks), made when new (comm "" until a totals key names it). The
 * returned pointer is valid until the next call; NULL when out of memory. */
static struct agg *agg_get(struct aggs *g, __u32 pid, __u32 tid, __s32 kstack, __u64 ustack,
			   __u64 call_site)
{
	struct agg probe = { .pid = pid,
			     .tid = tid,
			     .kstack_id = kstack,
			     .ustack = ustack,
			     .call_site = call_site };
	uintptr_t v;

	/* Keys point into g->a, which moves when it grows: the index holds positions. */
	if (hashmap__get(g->idx, &probe, &v))
		return &g->a[v];
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 256;
		struct agg *n = realloc(g->a, cap * sizeof(*n));
		struct hashmap *idx;

		if (!n)
			return NULL;
		g->a = n;
		g->cap = cap;
		/* Rebuild the index over the moved entries. */
		idx = hashmap__new(agg_hash, agg_equal, NULL);
		if (!idx)
			return NULL;
		for (size_t i = 0; i < g->n; i++)
			if (hashmap__set(idx, &g->a[i], i)) {
				hashmap__free(idx);
				return NULL;
			}
		hashmap__free(g->idx);
		g->idx = idx;
	}
	g->a[g->n] = probe;
	if (hashmap__set(g->idx, &g->a[g->n], g->n))
		return NULL;
	return &g->a[g->n++];
}

static int read_totals(struct mem_collector *c, struct aggs *g, enum collect_read mode,
		       __u64 *events)
{
	struct vg_mem_key *keys = NULL;
	struct vg_mem_val *vals = NULL;
	long n = (mode == COLLECT_INTERVAL ? map_drain_all : map_read_all)(
		bpf_map__fd(c->skel->maps.totals), sizeof(*keys), sizeof(*vals), (void **)&keys,
		(void **)&vals);

	if (n < 0) {
		pr_err("reading the allocation totals failed: %s", strerror((int)-n));
		return (int)n;
	}
	for (long i = 0; i < n; i++) {
		struct agg *a = agg_get(g, keys[i].pid, keys[i].tid, keys[i].kstack_id,
					keys[i].ustack, keys[i].call_site);

		if (!a) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		if (!a->comm[0]) {
			memcpy(a->comm, keys[i].comm, VG_COMM_LEN);
			a->comm[VG_COMM_LEN] = '\0';
		}
		a->alloc_count += (double)vals[i].count / VG_MEM_ONE;
		a->alloc_bytes += (double)vals[i].bytes;
		*events += (vals[i].count + VG_MEM_ONE / 2) >> VG_MEM_ONE_SHIFT;
	}
	free(keys);
	free(vals);
	return 0;
}

static int read_outstanding(struct mem_collector *c, struct aggs *g, const struct mem_read_opts *ro)
{
	struct vg_mem_addr *keys = NULL;
	struct vg_mem_alloc *vals = NULL;
	long n = map_read_all(bpf_map__fd(c->skel->maps.outstanding), sizeof(*keys), sizeof(*vals),
			      (void **)&keys, (void **)&vals);

	if (n < 0) {
		pr_err("reading the outstanding allocations failed: %s", strerror((int)-n));
		return (int)n;
	}
	for (long i = 0; i < n; i++) {
		const struct vg_mem_alloc *v = &vals[i];
		double w = mem_sample_weight(v->size, c->o.sample_bytes);
		struct agg *a;

		if (ro->older_than_ns &&
		    (v->ts > ro->now_ns || ro->now_ns - v->ts < ro->older_than_ns))
			continue;
		a = agg_get(g, v->pid, v->tid, v->kstack_id, v->ustack, v->call_site);
		if (!a) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		a->inuse_count += w;
		a->inuse_bytes += w * (double)v->size;
	}
	free(keys);
	free(vals);
	return 0;
}

/*
 * Kernel allocations: the tracepoint fires inside the allocator, so the stack's leaf frames are the
 * allocator's own. Cut them off below the frame that returns to call_site (the caller the
 * tracepoint names), so the leaf is the code that asked; for pages, below the page allocator.
 */
static bool page_allocator_frame(const struct profile_frame *f)
{
	static const char *const parts[] = { "alloc_pages", "alloc_frozen_pages", "folio_alloc",
					     "alloc_folio", "get_free_pages" };

	for (size_t i = 0; f && f->kind == FRAME_KERNEL && i < sizeof(parts) / sizeof(parts[0]);
	     i++)
		if (strstr(f->name, parts[i]))
			return true;
	return false;
}

static __u32 cut_at_call_site(const struct profile *p, const __u32 *frames, __u32 n, __u64 site)
{
	/* Pages come without a call site: drop the page allocator's own frames instead. */
	if (!site) {
		while (n > 1 && page_allocator_frame(profile__frame(p, frames[n - 1])))
			n--;
		return n;
	}
	for (__u32 k = n; k-- > 0;) {
		const struct profile_frame *f = profile__frame(p, frames[k]);

		if (f && f->kind == FRAME_KERNEL && f->addr == site)
			return k + 1;
	}
	return n;
}

static __u64 rounded(double v)
{
	return v > 0 ? (__u64)llround(v) : 0;
}

struct profile *mem_collector__read(struct mem_collector *c, struct symbolizer *sym,
				    const struct profile_meta *meta, const struct mem_read_opts *ro,
				    enum collect_read mode, __u64 cnt[VG_CNT_NR],
				    __u64 mcnt[VG_MEM_CNT_NR])
{
	__u64 mall[VG_CNT_NR] = { 0 };
	struct profile_meta m = *meta;
	struct aggs g = { 0 };
	struct stack_resolver *res = NULL;
	struct profile *p = NULL;
	bool heap = c->o.mode != VG_MEM_MODE_FAULTS;
	__u64 events = 0;
	int err = -ENOMEM;

	/* Counters before the maps: what a full map dropped after this is the next read's. */
	if ((err = counter_delta__read(&c->cd, bpf_map__fd(c->skel->maps.counters), mode, cnt)) ||
	    (err = counter_delta__read(&c->mcd, bpf_map__fd(c->skel->maps.mem_counters), mode,
				       mall))) {
		pr_err("reading the loss counters failed: %s", strerror(-err));
		errno = -err;
		return NULL;
	}
	memcpy(mcnt, mall, VG_MEM_CNT_NR * sizeof(*mcnt));
	m.weight_div = 1;
	m.weight_unit = "bytes";
	m.count_column = c->o.mode == VG_MEM_MODE_FAULTS ? "faults" : "objects";
	if (heap) {
		m.count_type = ro->report_alloc ? "alloc_objects" : "inuse_objects";
		m.value_type = ro->report_alloc ? "alloc_space" : "inuse_space";
		m.extra_type[0] = ro->report_alloc ? "inuse_objects" : "alloc_objects";
		m.extra_type[1] = ro->report_alloc ? "inuse_space" : "alloc_space";
		m.count_unit = m.extra_unit[0] = "count";
		m.value_unit = m.extra_unit[1] = "bytes";
		m.nr_extra = 2;
		m.extra_first = !ro->report_alloc;
		m.period_type = "space";
		m.period_unit = "bytes";
		m.period = c->o.sample_bytes ? c->o.sample_bytes : 1;
	} else {
		m.count_type = "faults";
		m.count_unit = "count";
		m.value_type = "space";
		m.value_unit = "bytes";
		m.period = 1;
	}
	g.idx = hashmap__new(agg_hash, agg_equal, NULL);
	p = profile__new(&m);
	if (!g.idx || !p)
		goto fail;
	if ((err = read_totals(c, &g, mode, &events)) ||
	    (heap && (err = read_outstanding(c, &g, ro))))
		goto fail;
	cnt[VG_CNT_EVENTS] = events + cnt[VG_CNT_MAP_FULL];
	cnt[VG_CNT_STACK_GONE] = 0;
	res = stack_resolver__new(sym, p, bpf_map__fd(c->skel->maps.stacks),
				  bpf_map__fd(c->skel->maps.ustacks));
	if (!res)
		goto fail;
	for (size_t i = 0; i < g.n; i++) {
		const struct agg *a = &g.a[i];
		struct profile_stack s = { .pid = a->pid, .tid = a->tid, .comm = a->comm };
		__u64 ac = rounded(a->alloc_count), ab = rounded(a->alloc_bytes),
		      ic = rounded(a->inuse_count), ib = rounded(a->inuse_bytes);

		if (!a->comm[0])
			s.comm = "[unknown]"; /* its totals entry was lost to a full map */
		s.count = ro->report_alloc || !heap ? ac : ic;
		s.value = ro->report_alloc || !heap ? ab : ib;
		s.extra[0] = ro->report_alloc ? ic : ac;
		s.extra[1] = ro->report_alloc ? ib : ab;
		if (!s.count && !s.value && !s.extra[0] && !s.extra[1])
			continue;
		if (stack_resolver__frames(res, a->pid, a->ustack, a->kstack_id, &s.frames,
					   &s.nframes)) {
			pr_err("building the profile failed: out of memory");
			goto fail;
		}
		if (c->o.mode == VG_MEM_MODE_KERNEL)
			s.nframes = cut_at_call_site(p, s.frames, s.nframes, a->call_site);
		if (profile__add_stack(p, &s)) {
			pr_err("building the profile failed: out of memory");
			goto fail;
		}
	}
	cnt[VG_CNT_STACK_GONE] = stack_resolver__gone(res);
	stack_resolver__free(res);
	hashmap__free(g.idx);
	free(g.a);
	return p;
fail:
	if (err == -ENOMEM)
		pr_err("building the profile failed: out of memory");
	stack_resolver__free(res);
	hashmap__free(g.idx);
	free(g.a);
	profile__free(p);
	errno = err < 0 ? -err : ENOMEM;
	return NULL;
}

static int cmp_rss(const void *a, const void *b)
{
	const struct mem_rss_row *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->mm_id < y->mm_id ? -1 : x->mm_id > y->mm_id;
}

int mem_collector__read_rss(struct mem_collector *c, struct mem_rss_row **rows, size_t *nrows)
{
	struct vg_mem_rss *vals = NULL;
	struct mem_rss_row *out;
	__u32 *keys = NULL;
	long n = map_read_all(bpf_map__fd(c->skel->maps.rss), sizeof(*keys), sizeof(*vals),
			      (void **)&keys, (void **)&vals);

	if (n < 0)
		return (int)n;
	out = calloc(n ? n : 1, sizeof(*out));
	if (!out) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (long i = 0; i < n; i++) {
		out[i].pid = vals[i].pid;
		out[i].mm_id = keys[i];
		memcpy(out[i].comm, vals[i].comm, VG_COMM_LEN);
		memcpy(out[i].size, vals[i].size, sizeof(out[i].size));
		out[i].peak = vals[i].peak;
		out[i].updates = vals[i].updates;
	}
	qsort(out, n, sizeof(*out), cmp_rss);
	free(keys);
	free(vals);
	*rows = out;
	*nrows = n;
	return 0;
}
