// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/readout.h"
#include "model/hashmap.h"
#include "util/log.h"
#include "model/profile.h"
#include "symbols/lines.h"
#include "symbols/symbolizer.h"
#include "vigil/common.h"

static long map_read(int map_fd, size_t key_size, size_t value_size, void **keys, void **values,
		     bool drain)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), batch, n = 0, cap;
	char *k = NULL, *v = NULL, *prev = NULL, *cur;
	void *in = NULL, *out;
	bool first = true;
	int err;

	err = bpf_obj_get_info_by_fd(map_fd, &info, &len);
	if (err)
		return -errno;
	cap = info.max_entries ? info.max_entries : 1;
	k = malloc((size_t)cap * key_size);
	v = malloc((size_t)cap * value_size);
	out = malloc(key_size);
	if (!k || !v || !out) {
		err = -ENOMEM;
		goto fail;
	}
	/* Batch lookups: a few syscalls for the whole map. */
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		batch = cap - n;
		if (!batch)
			break;
		if (drain)
			err = bpf_map_lookup_and_delete_batch(map_fd, first ? NULL : in, out,
							      k + n * key_size, v + n * value_size,
							      &batch, &opts);
		else
			err = bpf_map_lookup_batch(map_fd, first ? NULL : in, out, k + n * key_size,
						   v + n * value_size, &batch, &opts);
		n += batch;
		if (err) {
			err = -errno;
			break;
		}
		first = false;
		/* Swap the cursors: out is where the next batch starts. */
		if (!in && !(in = malloc(key_size))) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(in, out, key_size);
	}
	if (err == -ENOENT || (!err && n == cap))
		goto done;
	if (err != -EINVAL && err != -ENOTSUP && err != -EOPNOTSUPP)
		goto fail;
	/* No batch support: walk the keys one by one (a drain restarts from the first key, since the
	 * key just deleted cannot be the cursor). */
	n = 0;
	prev = NULL;
	cur = k;
	while (n < cap && bpf_map_get_next_key(map_fd, drain ? NULL : prev, cur) == 0) {
		err = drain ? bpf_map_lookup_and_delete_elem(map_fd, cur, v + n * value_size) :
			      bpf_map_lookup_elem(map_fd, cur, v + n * value_size);
		if (err == 0) {
			prev = cur;
			n++;
			cur = k + n * key_size;
		} else if (errno != ENOENT) {
			err = -errno;
			goto fail;
		}
	}
	err = 0;
done:
	free(in);
	free(out);
	*keys = k;
	*values = v;
	return n;
fail:
	free(in);
	free(out);
	free(k);
	free(v);
	return err;
}

long map_read_all(int map_fd, size_t key_size, size_t value_size, void **keys, void **values)
{
	return map_read(map_fd, key_size, value_size, keys, values, false);
}

long map_drain_all(int map_fd, size_t key_size, size_t value_size, void **keys, void **values)
{
	return map_read(map_fd, key_size, value_size, keys, values, true);
}

int map_clear(int map_fd, size_t key_size)
{
	char *key = malloc(key_size);
	long n = 0;

	if (!key)
		return -ENOMEM;
	/* Always restart from the first key: the one just deleted is no cursor. */
	while (bpf_map_get_next_key(map_fd, NULL, key) == 0) {
		if (bpf_map_delete_elem(map_fd, key) && errno != ENOENT) {
			n = -errno;
			break;
		}
		n++;
	}
	free(key);
	return n < 0 ? (int)n : 0;
}

int read_percpu_counters(int map_fd, __u64 *out, __u32 n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(map_fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

struct resolved {
	__u32 pid; /* 0 for kernel stacks */
	__u64 ref; /* kernel: stack id; user: VG_USTACK_* reference */
	bool kernel;
	bool truncated; /* as deep as the walker goes: cut at the root, "[truncated]" first */
	__u32 n;
	__u32 frames[];
};

static uint64_t resolved_hash(const void *key, void *ctx)
{
	const struct resolved *k = key;
	uint64_t parts[3] = { k->pid, k->ref, k->kernel };

	(void)ctx;
	return hash_bytes(parts, sizeof(parts), 11);
}

static bool resolved_equal(const void *a, const void *b, void *ctx)
{
	const struct resolved *x = a, *y = b;

	(void)ctx;
	return x->pid == y->pid && x->ref == y->ref && x->kernel == y->kernel;
}

struct stack_resolver {
	__u64 gone; /* stacks whose map entry was gone when read */
	__u64 truncated; /* stacks (keys) with a stack cut at the depth limit */
	struct symbolizer *sym;
	struct profile *p;
	int stack_fd, ustack_fd;
	struct hashmap *cache; /* struct resolved (by pid, ref, kernel) -> itself */
	__u32 *scratch; /* the combined frames handed out by stack_resolver__frames */
	__u64 ips[VG_MAX_STACK_DEPTH];
	char name[512];
	struct hashmap *depths; /* pid -> struct depth_tally * */
};

/* Per process: how many of its distinct user stacks are shallow (1-2 frames). */
struct depth_tally {
	__u32 pid;
	__u64 stacks, shallow;
};

struct stack_resolver *stack_resolver__new(struct symbolizer *sym, struct profile *p,
					   int stack_map_fd, int ustack_map_fd)
{
	struct stack_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->sym = sym;
	r->p = p;
	r->stack_fd = stack_map_fd;
	r->ustack_fd = ustack_map_fd;
	r->cache = hashmap__new(resolved_hash, resolved_equal, NULL);
	r->depths = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	r->scratch = malloc(2 * (VG_MAX_STACK_DEPTH + 1) * sizeof(*r->scratch));
	if (!r->cache || !r->scratch || !r->depths) {
		stack_resolver__free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

static int free_resolved(const void *key, uintptr_t value, void *arg)
{
	(void)key;
	(void)arg;
	free((void *)value);
	return 0;
}

void stack_resolver__free(struct stack_resolver *r)
{
	if (!r)
		return;
	if (r->cache)
		hashmap__for_each(r->cache, free_resolved, NULL);
	hashmap__free(r->cache);
	if (r->depths)
		hashmap__for_each(r->depths, free_resolved, NULL);
	hashmap__free(r->depths);
	free(r->scratch);
	free(r);
}

__u32 stack_resolver__special(struct stack_resolver *r, const char *name)
{
	struct profile_frame f = { .name = name, .module = "", .kind = FRAME_SPECIAL };

	return profile__add_frame(r->p, &f);
}

static const char *lost_reason(__s32 id)
{
	switch (id) {
	case VG_STACK_LOST_COLLISION:
		return "stack map collision";
	case VG_STACK_LOST_FULL:
		return "stack map full";
	default:
		return "unwind failed";
	}
}

/* One address to one profile frame. */
static __u32 resolve_addr(struct stack_resolver *r, bool kernel, __u32 pid, __u64 addr, bool leaf)
{
	struct profile_frame f = { .addr = addr, .kind = kernel ? FRAME_KERNEL : FRAME_USER };
	struct sym_frame sf = { 0 };
	/* Callers' addresses are return addresses: look up the call instruction's byte instead, so a
	 * call at the very end of a function is not blamed on the next one. */
	__u64 look = leaf || !addr ? addr : addr - 1;
	int err;

	err = kernel ? symbolizer__kernel(r->sym, look, &sf) :
		       symbolizer__user(r->sym, pid, look, &sf);
	if (err) {
		f.kind = FRAME_UNKNOWN;
		f.module = kernel ? "[kernel]" : "[unknown]";
		snprintf(r->name, sizeof(r->name), "%s+0x%llx", f.module, (unsigned long long)addr);
		f.name = r->name;
		return profile__add_frame(r->p, &f);
	}
	f.module = sf.module ? sf.module : (kernel ? "[kernel]" : "[unknown]");
	if (sf.name) {
		f.name = sf.name;
	} else if (sf.func_known) {
		/* Unnamed, but its function is known: one frame per function, module+0xSTART. */
		snprintf(r->name, sizeof(r->name), "%s+0x%llx", f.module,
			 (unsigned long long)sf.func_offset);
		f.name = r->name;
	} else {
		/* Unnamed code still says where it is: module+0xOFFSET (of addr, not addr-1). */
		snprintf(r->name, sizeof(r->name), "%s+0x%llx", f.module,
			 (unsigned long long)(sf.offset + (addr - look)));
		f.name = r->name;
	}
	if (sf.map_limit > sf.map_start) {
		struct profile_mapping m = {
			.start = sf.map_start,
			.limit = sf.map_limit,
			.offset = sf.map_pgoff,
			.path = sf.path && *sf.path ? sf.path : f.module,
			.build_id = sf.build_id ? sf.build_id : "",
		};

		f.mapping = profile__add_mapping(r->p, &m);
	}
	if (!kernel) {
		/* Source lines where DWARF has them (the symbolizer keeps files for it only when
		 * asked); the outermost is the frame's own function, by its symbol's name. */
		struct src_line sl[LINES_MAX_INLINE];
		struct profile_line pl[LINES_MAX_INLINE];
		int n = symbolizer__user_lines(r->sym, pid, look, sl, LINES_MAX_INLINE);

		for (int i = 0; i < n; i++)
			pl[i] = (struct profile_line){ i == n - 1 && sf.name ? NULL :
									       sl[i].function,
						       sl[i].file, sl[i].line };
		f.lines = pl;
		f.nlines = n > 0 ? (__u32)n : 0;
		return profile__add_frame(r->p, &f);
	}
	return profile__add_frame(r->p, &f);
}

/*
 * Kernel stacks taken inside a tracepoint program start (leaf side) with the BPF machinery itself:
 * the JIT image of the program (no kallsyms name unless bpf_jit_kallsyms, and loaded after vigil read
 * kallsyms anyway) and the bpf_trace_run / __bpf_trace trampolines. They are not the traced code.
 */
static bool is_bpf_frame(struct stack_resolver *r, __u64 addr)
{
	struct sym_frame sf = { 0 };

	if (symbolizer__kernel(r->sym, addr, &sf))
		return addr >= 0xffffffffa0000000ull; /* modules and BPF JIT images live up there */
	return sf.name &&
	       (!strncmp(sf.name, "bpf_trace_run", 13) || !strncmp(sf.name, "__bpf_trace_", 12) ||
		!strncmp(sf.name, "bpf_prog_", 9));
}

/* Read a stack's addresses (leaf first) into r->ips; returns the depth, 0 when it is gone. */
static __u32 read_ips(struct stack_resolver *r, bool kernel, __u64 ref)
{
	__u32 depth = 0, id = (__u32)ref;
	int err;

	memset(r->ips, 0, sizeof(r->ips));
	if (!kernel && (ref & VG_USTACK_HASHED))
		err = r->ustack_fd >= 0 ? bpf_map_lookup_elem(r->ustack_fd, &ref, r->ips) : -1;
	else
		err = bpf_map_lookup_elem(r->stack_fd, &id, r->ips);
	if (err)
		return 0;
	while (depth < VG_MAX_STACK_DEPTH && r->ips[depth])
		depth++;
	return depth;
}

/* A lost stack's reason, from a kernel VG_STACK_LOST_* id or a user VG_USTACK_LOST_* reference. */
static const char *lost_reason_of(bool kernel, __u64 ref)
{
	if (kernel)
		return lost_reason((__s32)ref);
	return lost_reason(ref == VG_USTACK_LOST_COLLISION ? VG_STACK_LOST_COLLISION :
			   ref == VG_USTACK_LOST_FULL	   ? VG_STACK_LOST_FULL :
							     VG_STACK_LOST_WALK);
}

/* Where every stack starts: a walk that reached one is complete. */
static bool is_entry(const char *name)
{
	static const char *const entries[] = {
		"_start",
		"__libc_start_main",
		"__libc_start_call_main",
		"start_thread",
		"clone",
		"clone3",
		"__clone",
		"__clone3",
		"thread_start",
		"ret_from_fork",
		"ret_from_fork_asm",
		"entry_SYSCALL_64",
		"entry_SYSCALL_64_after_hwframe",
		"secondary_startup_64",
		"common_startup_64",
	};

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (!strcmp(name, entries[i]))
			return true;
	return !strncmp(name, "asm_", 4);
}

/* Resolve (once) one stack into root-first frames. */
static struct resolved *resolve_stack(struct stack_resolver *r, bool kernel, __u32 pid, __u64 ref)
{
	struct resolved probe = { .pid = kernel ? 0 : pid, .ref = ref, .kernel = kernel }, *res;
	bool lost = kernel ? (__s32)ref < 0 : !(ref & (VG_USTACK_HASHED | VG_USTACK_MAPID));
	__u32 depth = 0, skip = 0;
	bool gone = false;
	uintptr_t v;

	if (hashmap__get(r->cache, &probe, &v))
		return (struct resolved *)v;
	if (!lost) {
		depth = read_ips(r, kernel, ref);
		if (!depth) {
			/* Cleared from its map between the sample and this read (interval reads). */
			lost = gone = true;
			r->gone++;
		}
		while (kernel && skip < depth && skip < 4 && is_bpf_frame(r, r->ips[skip]))
			skip++;
		if (skip) {
			memmove(r->ips, r->ips + skip, (depth - skip) * sizeof(r->ips[0]));
			depth -= skip;
		}
		/* The kernel's walker emits whatever rbp points at: stop at the first return address
		 * outside every known mapping (Vigil's walkers check this in BPF). */
		if (!kernel && (ref & VG_USTACK_MAPID)) {
			struct sym_frame sf;

			for (__u32 i = 1; i < depth; i++)
				if (symbolizer__user(r->sym, pid, r->ips[i] - 1, &sf)) {
					pr_debug(
						"user stack of pid %u cut at %#llx: outside its mappings",
						pid, (unsigned long long)r->ips[i]);
					depth = i;
					break;
				}
		}
	}
	res = malloc(sizeof(*res) + ((depth ? depth : 1) + 1) * sizeof(__u32));
	if (!res)
		return NULL;
	*res = probe;
	/* A walk that filled every slot stopped at the limit, not at the stack's end: its root
	 * frames are missing, which a marker shows instead of a wrong root. */
	res->truncated = !lost && depth + skip >= VG_MAX_STACK_DEPTH;
	if (lost) {
		snprintf(r->name, sizeof(r->name), "[%s stack lost: %s]",
			 kernel ? "kernel" : "user",
			 gone ? "map entry cleared" : lost_reason_of(kernel, ref));
		res->n = 1;
		res->frames[0] = stack_resolver__special(r, r->name);
		if (!res->frames[0])
			goto fail;
	} else {
		__u32 *out = res->frames + res->truncated;

		res->n = depth + res->truncated;
		if (res->truncated && !(res->frames[0] = stack_resolver__special(r, "[truncated]")))
			goto fail;
		/* The maps hold leaf first; the model wants root first. */
		for (__u32 i = 0; i < depth; i++) {
			out[depth - 1 - i] = resolve_addr(r, kernel, pid, r->ips[i], i == 0);
			if (!out[depth - 1 - i])
				goto fail;
		}
		/* A full walk that ended at the stack's entry point was complete after all. */
		if (res->truncated && depth && is_entry(profile__frame(r->p, out[0])->name)) {
			memmove(res->frames, out, depth * sizeof(__u32));
			res->truncated = false;
			res->n = depth;
		}
	}
	if (hashmap__set(r->cache, res, (uintptr_t)res))
		goto fail;
	return res;
fail:
	free(res);
	return NULL;
}

static void tally(struct stack_resolver *r, __u32 pid, __u32 depth)
{
	struct depth_tally *t;
	uintptr_t v;

	if (hashmap__get(r->depths, (const void *)(uintptr_t)pid, &v)) {
		t = (struct depth_tally *)v;
	} else {
		t = calloc(1, sizeof(*t));
		if (!t)
			return;
		t->pid = pid;
		if (hashmap__set(r->depths, (const void *)(uintptr_t)pid, (uintptr_t)t)) {
			free(t);
			return;
		}
	}
	t->stacks++;
	t->shallow += depth <= 2;
}

struct advise_ctx {
	const char *cmd;
	int said, more;
};

static int advise_one(const void *key, uintptr_t value, void *arg)
{
	const struct depth_tally *t = (const struct depth_tally *)value;
	struct advise_ctx *a = arg;

	(void)key;
	if (t->stacks < 10 || 2 * t->shallow <= t->stacks)
		return 0;
	if (a->said >= 3) {
		a->more++;
		return 0;
	}
	a->said++;
	pr_warn("%llu of %llu user stacks of pid %u are 1-2 frames deep: its code has no frame pointers (--unwind cfi follows .eh_frame instead)",
		(unsigned long long)t->shallow, (unsigned long long)t->stacks, t->pid);
	return 0;
}

void stack_resolver__advise(struct stack_resolver *r, const char *cmd)
{
	struct advise_ctx a = { .cmd = cmd };

	hashmap__for_each(r->depths, advise_one, &a);
	if (a.more)
		pr_warn("... and %d more processes like it", a.more);
}

int stack_resolver__frames(struct stack_resolver *r, __u32 pid, __u64 ustack, __s32 kstack_id,
			   const __u32 **frames, __u32 *nframes)
{
	struct resolved *u = NULL, *k = NULL;
	__u32 n = 0;

	if (ustack != VG_USTACK_NONE && !(u = resolve_stack(r, false, pid, ustack)))
		return -ENOMEM;
	if (u && (ustack & (VG_USTACK_HASHED | VG_USTACK_MAPID)))
		tally(r, pid, u->n);
	if (kstack_id != VG_STACK_NONE && !(k = resolve_stack(r, true, 0, (__u64)(__s64)kstack_id)))
		return -ENOMEM;
	if ((u && u->truncated) || (k && k->truncated))
		r->truncated++;
	if (u) {
		memcpy(r->scratch, u->frames, u->n * sizeof(__u32));
		n = u->n;
	}
	if (k) {
		memcpy(r->scratch + n, k->frames, k->n * sizeof(__u32));
		n += k->n;
	}
	*frames = r->scratch;
	*nframes = n;
	return 0;
}

__u64 stack_resolver__gone(const struct stack_resolver *r)
{
	return r->gone;
}

__u64 stack_resolver__truncated(const struct stack_resolver *r)
{
	return r->truncated;
}

size_t stack_resolver__nr_stacks(const struct stack_resolver *r)
{
	return hashmap__size(r->cache);
}

int stack_maps_recycle(const struct stack_resolver *r, int stack_map_fd, int ustack_map_fd,
		       int ustack_gen_fd, __u32 capacity, const __u64 cnt[VG_CNT_NR])
{
	__u32 zero = 0;
	__u64 gen = 0;
	int err;

	if (stack_resolver__nr_stacks(r) <= capacity / 2 && !cnt[VG_CNT_USTACK_FULL] &&
	    !cnt[VG_CNT_KSTACK_FULL])
		return 0;
	err = map_clear(stack_map_fd, sizeof(__u32));
	if (!err && ustack_map_fd >= 0)
		err = map_clear(ustack_map_fd, sizeof(__u64));
	if (!err && ustack_map_fd >= 0 && ustack_gen_fd >= 0) {
		/* Only this thread writes it: a read, then the next value. */
		if (bpf_map_lookup_elem(ustack_gen_fd, &zero, &gen) ||
		    bpf_map_update_elem(ustack_gen_fd, &zero, &(__u64){ gen + 1 }, BPF_ANY))
			err = -errno;
	}
	return err;
}
