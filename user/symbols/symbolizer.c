// SPDX-License-Identifier: GPL-2.0
/*
 * The symbolizer: its lifecycle, snapshots of a process's mappings, user and kernel lookups and the
 * names it shows (demangled, interned). Mappings, the file cache and perf maps are in images.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "symbols/demangle.h"
#include "symbols/elf.h"
#include "model/hashmap.h"
#include "symbols/kallsyms.h"
#include "util/log.h"
#include "symbols/perfmap.h"
#include "symbols/procmaps.h"
#include "symbols/lines.h"
#include "symbols/mapfile.h"
#include "symbols/symbolizer_int.h"

static uint64_t key_hash(const void *key, void *ctx)
{
	return hash_bytes(key, (size_t)(uintptr_t)ctx, 0);
}

static bool key_equal(const void *a, const void *b, void *ctx)
{
	return !memcmp(a, b, (size_t)(uintptr_t)ctx);
}

const char *sym_intern(struct symbolizer *s, const char *str)
{
	uintptr_t v;
	char *copy;

	if (hashmap__get(s->strings, str, &v))
		return (const char *)v;
	copy = strdup(str);
	if (!copy)
		return NULL;
	if (hashmap__set(s->strings, copy, (uintptr_t)copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

/*
 * The name a user sees: C++ (_Z...) and Rust (_R... v0, and the legacy _ZN...17h<hash>E) symbols
 * demangled as perf shows them, with parameter types, so overloads stay apart. Each name is
 * demangled once; a name that does not demangle is shown as it is.
 */
static const char *display_name(struct symbolizer *s, const char *name)
{
	const char *key;
	uintptr_t v;
	char *d;

	if (!s->demangle || !name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return name;
	if (hashmap__get(s->demangled, name, &v))
		return (const char *)v;
	key = sym_intern(s, name);
	d = demangle__name(name);
	v = (uintptr_t)(d ? sym_intern(s, d) : key);
	free(d);
	if (!key || !v || hashmap__set(s->demangled, key, v))
		return name; /* out of memory: the mangled name still names it */
	return (const char *)v;
}

__u64 sym_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* "/x/kallsyms" -> "/x/modules", "dir/kallsyms.txt" -> "dir/modules.txt"; NULL when no match. */
static char *modules_path_for(const char *kallsyms)
{
	const char *base = strrchr(kallsyms, '/'), *k;
	char *out;

	base = base ? base + 1 : kallsyms;
	k = strstr(base, "kallsyms");
	if (!k)
		return NULL;
	if (asprintf(&out, "%.*smodules%s", (int)(k - kallsyms), kallsyms, k + 8) < 0)
		return NULL;
	return out;
}

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	const char *ks = opts && opts->kallsyms_path ? opts->kallsyms_path : "/proc/kallsyms";

	if (!s)
		return NULL;
	s->default_kallsyms = !(opts && opts->kallsyms_path);
	s->no_kernel = opts && opts->no_kernel;
	s->demangle = !(opts && opts->no_demangle);
	s->lines = opts && opts->lines;
	s->cfi = opts && opts->cfi;
	s->kallsyms_path = strdup(ks);
	s->modules_path = modules_path_for(ks);
	s->proc_root = strdup(opts && opts->proc_root ? opts->proc_root : "/proc");
	if (opts)
		s->lim = opts->limits;
	if (!s->lim.max_file_bytes)
		s->lim.max_file_bytes = DEFAULT_MAX_FILE_BYTES;
	if (!s->lim.max_perfmap_bytes)
		s->lim.max_perfmap_bytes = DEFAULT_MAX_PERFMAP_BYTES;
	if (!s->lim.max_symbols)
		s->lim.max_symbols = DEFAULT_MAX_SYMBOLS;
	if (!s->lim.max_procs)
		s->lim.max_procs = DEFAULT_MAX_PROCS;
	if (!s->lim.max_table_bytes)
		s->lim.max_table_bytes = DEFAULT_MAX_TABLE_BYTES;
	s->procs = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	s->strings = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	s->demangled = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	s->by_build_id = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	s->by_inode = hashmap__new(key_hash, key_equal, (void *)sizeof(struct inode_key));
	s->by_mapkey = hashmap__new(key_hash, key_equal, (void *)sizeof(struct map_key));
	s->line_tables = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	if (!s->kallsyms_path || !s->proc_root || !s->procs || !s->strings || !s->demangled ||
	    !s->by_build_id || !s->by_inode || !s->by_mapkey || !s->line_tables) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

static void image_free(struct image *img)
{
	while (img) {
		struct image *older = img->older;

		free(img->maps);
		free(img);
		img = older;
	}
}

static int free_proc(const void *key, uintptr_t value, void *arg)
{
	struct proc *p = (struct proc *)value;

	(void)key;
	(void)arg;
	image_free(p->img);
	for (size_t i = 0; i < p->njit; i++)
		perfmap__free(p->jit[i]);
	free(p->jit);
	free(p);
	return 0;
}

struct forget {
	struct symbolizer *s;
	__u32 *pids;
	size_t n;
	bool own_proc; /* proc_root is this pid namespace's /proc */
};

static int mark_exited(const void *key, uintptr_t value, void *arg)
{
	struct forget *f = arg;
	struct proc *p = (struct proc *)value;
	char path[PATH_MAX];
	struct stat st;

	(void)key;
	if (f->own_proc) {
		/* Our own /proc: a signal 0 asks the same without a path walk per process. */
		if (!kill((pid_t)p->pid, 0) || errno != ESRCH) {
			p->exit_seen = false; /* alive (or the pid reused) */
			return 0;
		}
	} else {
		snprintf(path, sizeof(path), "%s/%u", f->s->proc_root, p->pid);
		if (!stat(path, &st)) {
			p->exit_seen = false;
			return 0;
		}
		if (errno != ENOENT)
			return 0;
	}
	if (p->exit_seen)
		f->pids[f->n++] = p->pid;
	else
		p->exit_seen = true;
	return 0;
}

static int mark_mapped(const void *key, uintptr_t value, void *arg)
{
	const struct proc *p = (const struct proc *)value;
	struct hashmap *live = arg;

	(void)key;
	for (const struct image *img = p->img; img; img = img->older)
		for (size_t i = 0; i < img->n; i++)
			if (img->maps[i].elf && hashmap__set(live, img->maps[i].elf, 1))
				return -ENOMEM;
	return 0;
}

struct dead_keys {
	const struct hashmap *dead;
	void **keys;
	size_t n, cap;
};

static int find_dead(const void *key, uintptr_t value, void *arg)
{
	struct dead_keys *d = arg;

	if (!value || !hashmap__get(d->dead, (const void *)value, NULL))
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		void **v = realloc(d->keys, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->keys = v;
		d->cap = cap;
	}
	d->keys[d->n++] = (void *)key;
	return 0;
}

/* Drops every cache entry of map that names a file in dead (the keys are owned copies). */
static int drop_entries(struct hashmap *map, const struct hashmap *dead, bool free_keys)
{
	struct dead_keys d = { .dead = dead };
	int err = hashmap__for_each(map, find_dead, &d);

	for (size_t i = 0; !err && i < d.n; i++) {
		hashmap__delete(map, d.keys[i]);
		if (free_keys)
			free(d.keys[i]);
	}
	free(d.keys);
	return err;
}

/*
 * Frees the parsed files no tracked process has mapped for ELF_IDLE_SWEEPS calls: a program run
 * again and again (a compiler in a build) keeps its tables, one rebuilt or gone does not.
 */
static void sweep_elves(struct symbolizer *s)
{
	struct hashmap *live = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	struct hashmap *dead = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	size_t keep = 0;
	bool any = false;

	if (!live || !dead || hashmap__for_each(s->procs, mark_mapped, live) ||
	    (s->vdso_elf && hashmap__set(live, s->vdso_elf, 1)))
		goto out;
	for (size_t i = 0; i < s->nelves; i++) {
		if (hashmap__get(live, s->elves[i], NULL))
			s->elf_idle[i] = 0;
		else if (++s->elf_idle[i] >= ELF_IDLE_SWEEPS) {
			if (hashmap__set(dead, s->elves[i], 1))
				goto out;
			any = true;
		}
	}
	if (!any)
		goto out;
	/* Every cache entry naming a dead file goes before the file does (a build-id key is the
	 * file's own string). */
	if (drop_entries(s->by_build_id, dead, false) || drop_entries(s->by_inode, dead, true) ||
	    drop_entries(s->by_mapkey, dead, true))
		goto out; /* out of memory half-way: the files stay, some found again by parsing */
	for (size_t i = 0; i < s->nelves; i++) {
		if (hashmap__get(dead, s->elves[i], NULL)) {
			__u64 b = elf_file__memory(s->elves[i]);

			s->st.table_bytes -= b < s->st.table_bytes ? b : s->st.table_bytes;
			s->st.elves_freed++;
			elf_file__free(s->elves[i]);
			continue;
		}
		s->elves[keep] = s->elves[i];
		s->elf_idle[keep++] = s->elf_idle[i];
	}
	s->nelves = keep;
out:
	hashmap__free(live);
	hashmap__free(dead);
}

size_t symbolizer__forget_exited(struct symbolizer *s)
{
	struct forget f = { .s = s, .own_proc = !strcmp(s->proc_root, "/proc") };
	size_t n = hashmap__size(s->procs);

	f.pids = malloc((n ? n : 1) * sizeof(*f.pids));
	if (!f.pids)
		return 0; /* out of memory: try again next time */
	hashmap__for_each(s->procs, mark_exited, &f);
	for (size_t i = 0; i < f.n; i++) {
		struct proc *p = sym_proc_get(s, f.pids[i]);

		for (size_t j = 0; j < p->njit; j++) {
			__u64 b = perfmap__memory(p->jit[j]);

			s->st.table_bytes -= b < s->st.table_bytes ? b : s->st.table_bytes;
		}
		hashmap__delete(s->procs, (const void *)(uintptr_t)f.pids[i]);
		free_proc(NULL, (uintptr_t)p, NULL);
	}
	s->st.procs_forgotten += f.n;
	free(f.pids);
	sweep_elves(s);
	return f.n;
}

static int free_key(const void *key, uintptr_t value, void *arg)
{
	(void)value;
	(void)arg;
	free((void *)key);
	return 0;
}

static int free_line_table(const void *key, uintptr_t value, void *arg)
{
	(void)key;
	(void)arg;
	line_table__free((struct line_table *)value);
	return 0;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->line_tables)
		hashmap__for_each(s->line_tables, free_line_table, NULL);
	hashmap__free(s->line_tables);
	if (s->procs)
		hashmap__for_each(s->procs, free_proc, NULL);
	if (s->strings)
		hashmap__for_each(s->strings, free_key, NULL);
	if (s->by_inode)
		hashmap__for_each(s->by_inode, free_key, NULL);
	if (s->by_mapkey)
		hashmap__for_each(s->by_mapkey, free_key, NULL);
	hashmap__free(s->procs);
	hashmap__free(s->strings);
	hashmap__free(s->demangled);
	free(s->vdso_bytes);
	hashmap__free(s->by_build_id);
	hashmap__free(s->by_inode);
	hashmap__free(s->by_mapkey);
	for (size_t i = 0; i < s->nelves; i++)
		elf_file__free(s->elves[i]);
	free(s->elves);
	free(s->elf_idle);
	ksyms__free(s->ksyms);
	free(s->untracked);
	free(s->kallsyms_path);
	free(s->modules_path);
	free(s->proc_root);
	free(s);
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	*out = s->st;
	out->procs = hashmap__size(s->procs);
}

size_t symbolizer__describe_losses(const struct symbolizer_stats *st, char *buf, size_t size)
{
	const struct {
		__u64 n;
		const char *one, *many, *why;
	} l[] = {
		{ st->perfmaps_refused, "perf map", "perf maps",
		  "refused (a symlink, not a regular file, or not owned by the process's user)" },
		{ st->files_refused, "mapped file", "mapped files",
		  "refused (not the mapped file, or not a regular file)" },
		{ st->files_too_big, "file", "files", "over the file size cap" },
		{ st->symbols_dropped, "symbol", "symbols", "over the per-file symbol cap" },
		{ st->files_over_memory, "file", "files",
		  "not read (symbol table memory cap reached)" },
		{ st->procs_untracked, "process", "processes",
		  "not tracked (process cap reached)" },
	};
	size_t len = 0;

	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		int n;

		if (!l[i].n || len >= size)
			continue;
		n = snprintf(buf + len, size - len, "%s%llu %s %s", len ? ", " : "",
			     (unsigned long long)l[i].n, l[i].n == 1 ? l[i].one : l[i].many,
			     l[i].why);
		len = n < 0 ? len : len + (size_t)n >= size ? size - 1 : len + (size_t)n;
	}
	return len;
}

bool sym_proc_room(struct symbolizer *s, __u32 pid)
{
	if (hashmap__size(s->procs) < s->lim.max_procs)
		return true;
	if (!s->untracked) {
		/* Room for every pid the kernel can hand out, so each is counted once. */
		size_t bits = 1u << 22;
		char *pm = procmaps__slurp("/proc/sys/kernel/pid_max", &(size_t){ 0 });

		if (pm && strtoul(pm, NULL, 10) > 0)
			bits = strtoul(pm, NULL, 10) + 1;
		free(pm);
		s->untracked = calloc((bits + 7) / 8, 1);
		s->untracked_bits = s->untracked ? bits : 0;
	}
	if (pid < s->untracked_bits) {
		if (!(s->untracked[pid / 8] & (1u << (pid % 8)))) {
			s->untracked[pid / 8] |= (__u8)(1u << (pid % 8));
			s->st.procs_untracked++;
			pr_debug("symbols: process %u not tracked: %zu processes already (the cap)",
				 pid, s->lim.max_procs);
		}
	} else {
		s->st.procs_untracked++;
	}
	return false;
}

/* ---- snapshots and lookups ---- */

/*
 * Whether a lookup in p's newest image can end in its perf map: code in anonymous memory, or in a file
 * with neither a parsed ELF nor a build-id (a vdso never is JIT code). Other processes' perf maps are read when a lookup needs
 * them, not at every snapshot (a status read, a root and a map opened for each new process).
 */
static bool may_need_jit(const struct proc *p)
{
	for (size_t i = 0; i < p->img->n; i++) {
		const struct sym_map *m = &p->img->maps[i];

		if (!m->elf && (m->kind == SM_ANON || (m->kind == SM_FILE && !*m->build_id)))
			return true;
	}
	return false;
}

/*
 * Reads PROC/PID/maps into pid's newest image, or into a new one when its executable changed. A pid
 * read before is only read again when refresh is set (a lookup missed: something was mapped since);
 * nor is one whose image the side-band records tell completely (sym_proc_recorded()).
 */
static int snapshot(struct symbolizer *s, __u32 pid, bool refresh)
{
	struct proc *p = sym_proc_get(s, pid);
	char path[PATH_MAX];
	struct procmaps *pm;
	struct stat est;
	bool have_exe;
	int err = 0;

	if (!p && !sym_proc_room(s, pid))
		return -ENOSPC;
	if (p && !refresh && !p->snapshotted && sym_proc_recorded(s, p)) {
		s->st.pids_recorded++;
		if (!p->jit_loaded && may_need_jit(p))
			sym_jit_load(s, p);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%u/exe", s->proc_root, pid);
	have_exe = !stat(path, &est);
	if (p && p->snapshotted) {
		if (!have_exe) {
			/* Gone (or a kernel thread): keep what was recorded. */
			p->gone = true;
			return 0;
		}
		if (est.st_dev != p->exe_dev || est.st_ino != p->exe_ino) {
			/* It exec'd and nobody told us. */
			if (sym_proc_push_image(p))
				return -ENOMEM;
		} else if (!refresh) {
			return 0;
		}
	}
	snprintf(path, sizeof(path), "%s/%u/maps", s->proc_root, pid);
	pm = procmaps__read(path);
	if (!pm) {
		err = errno == ESRCH || errno == ENOENT ? -ENOENT : -errno;
		if (!p)
			p = sym_proc_new(s, pid);
		if (p)
			p->gone = true;
		return err;
	}
	if (!p)
		p = sym_proc_new(s, pid);
	if (!p) {
		procmaps__free(pm);
		return -ENOMEM;
	}
	for (size_t i = 0; i < procmaps__count(pm) && err != -ENOMEM; i++) {
		const struct procmaps_entry *e = procmaps__entry(pm, i);
		struct sym_mmap m = {
			.start = e->start,
			.len = e->end - e->start,
			.pgoff = e->pgoff,
			.maj = e->maj,
			.min = e->min,
			.ino = e->ino,
			.prot = e->prot,
			.path = e->path,
		};

		if (e->prot & PROT_EXEC && e->end > e->start)
			err = sym_add_map(s, p, &m, e->deleted);
	}
	procmaps__free(pm);
	if (err == -ENOMEM)
		return err;
	p->snapshotted = true;
	p->gone = false;
	p->read_ns = sym_now_ns();
	p->exe_dev = have_exe ? est.st_dev : 0;
	p->exe_ino = have_exe ? est.st_ino : 0;
	s->st.pids_snapshotted++;
	if (may_need_jit(p))
		sym_jit_load(s, p);
	return 0;
}

int symbolizer__snapshot_pid(struct symbolizer *s, __u32 pid)
{
	return snapshot(s, pid, false);
}

int symbolizer__refresh_pid(struct symbolizer *s, __u32 pid)
{
	return snapshot(s, pid, true);
}

__u64 symbolizer__generation(struct symbolizer *s, __u32 pid)
{
	const struct proc *p = sym_proc_get(s, pid);

	return p ? p->gen : 0;
}

/*
 * A file's CFI table, built the first time a process the unwinder follows maps it (not for every
 * file of the host the side-band reports): the mapping is opened again the safe way (mapfile.h),
 * while the process lives, and the table kept with the file's ELF, shared by every mapping of it.
 */
static void build_cfi(struct symbolizer *s, __u32 pid, const struct sym_map *m)
{
	struct mapfile_want mw = {
		.proc_root = s->proc_root,
		.pid = pid,
		.start = m->start,
		.end = m->end,
		.maj = m->maj,
		.min = m->min,
		.ino = m->ino,
		.path = m->path,
		.max_size = s->lim.max_file_bytes,
	};
	struct mapfile mf;
	int err = mapfile__open(&mw, &mf);

	if (err) {
		pr_debug("unwind: cannot open '%s' of pid %u again: %s", m->path, pid,
			 strerror(-err));
		elf_file__build_cfi(m->elf, -1);
		return;
	}
	err = elf_file__build_cfi(m->elf, mf.fd);
	if (err && err != -ENOENT)
		pr_debug("unwind: no CFI table for '%s': %s", m->path, strerror(-err));
	mapfile__close(&mf);
}

int symbolizer__exec_maps(struct symbolizer *s, __u32 pid,
			  int (*fn)(void *ctx, const struct sym_exec_map *m), void *ctx)
{
	const struct proc *p = sym_proc_get(s, pid);

	if (!p)
		return -ENOENT;
	for (size_t i = 0; i < p->img->n; i++) {
		const struct sym_map *m = &p->img->maps[i];
		struct sym_exec_map em = {
			.start = m->start,
			.end = m->end,
			.pgoff = m->kind == SM_VDSO ? 0 : m->pgoff,
		};
		int err;

		if (s->cfi && m->elf && m->kind == SM_FILE && !elf_file__cfi_tried(m->elf))
			build_cfi(s, p->pid, m);
		em.cfi = m->elf ? elf_file__cfi(m->elf) : NULL;
		err = fn(ctx, &em);

		if (err)
			return err;
	}
	return 0;
}

static void frame_init(struct sym_frame *out)
{
	memset(out, 0, sizeof(*out));
	out->path = "";
	out->build_id = "";
}

static const struct sym_map *find_map(const struct proc *p, __u64 addr)
{
	for (const struct image *img = p->img; img; img = img->older) {
		const struct sym_map *m = sym_image_find(img, addr);

		if (m)
			return m;
	}
	return NULL;
}

/* Unnamed code: the file offset of its function's start (FDE, else symbol gap), so one function is
 * one frame. */
static void enclosing(const struct elf_file *f, __u64 vaddr, struct sym_frame *out)
{
	__u64 start;

	if (elf_file__enclosing(f, vaddr, &start))
		return;
	for (size_t i = 0; i < elf_file__nr_segments(f); i++) {
		const struct elf_segment *sg = elf_file__segment(f, i);

		if (start >= sg->vaddr && start < sg->vaddr + sg->filesz && start <= vaddr) {
			out->func_offset = start - sg->vaddr + sg->offset;
			out->func_known = true;
			return;
		}
	}
}

int symbolizer__user(struct symbolizer *s, __u32 pid, __u64 addr, struct sym_frame *out)
{
	struct proc *p = sym_proc_get(s, pid);
	const struct sym_map *m = NULL;
	const struct perfmap_sym *js;
	struct elf_symbol es;
	__u64 vaddr;

	frame_init(out);
	s->st.lookups++;
	if (p)
		m = find_map(p, addr);
	if (!m && (!p || (!p->gone &&
			  (!p->snapshotted || sym_now_ns() - p->read_ns >= MAPS_REREAD_NS)))) {
		/*
		 * Never read from /proc (or only heard of through mmap records), or read a while ago
		 * and something (a dlopen) was mapped since without an mmap record: read it now.
		 */
		snapshot(s, pid, true);
		p = sym_proc_get(s, pid);
		m = p ? find_map(p, addr) : NULL;
	}
	if (!p)
		return -ENOENT;
	if (!m) {
		js = sym_jit_lookup(s, p, addr);
		if (!js)
			return -ENOENT;
		out->name = display_name(s, js->name);
		out->module = p->jit_module;
		out->path = p->jit_path;
		out->offset = addr - js->start;
		out->map_start = js->start;
		out->map_limit = js->end;
		return 0;
	}
	out->module = m->module;
	out->path = m->path;
	out->build_id = m->build_id;
	out->map_start = m->start;
	out->map_limit = m->end;
	out->map_pgoff = m->pgoff;
	out->offset = addr - m->start + m->pgoff;
	if (m->elf) {
		if (elf_file__off_to_vaddr(m->elf, out->offset, &vaddr))
			return 0;
		if (!elf_file__lookup(m->elf, vaddr, &es))
			out->name = display_name(s, es.name);
		else
			enclosing(m->elf, vaddr, out);
		return 0;
	}
	if (m->kind != SM_FILE || !*m->build_id) {
		js = sym_jit_lookup(s, p, addr);
		if (js) {
			out->name = display_name(s, js->name);
			out->module = p->jit_module;
			out->path = p->jit_path;
		}
	}
	return 0;
}

int symbolizer__user_lines(struct symbolizer *s, __u32 pid, __u64 addr, struct src_line *out,
			   int max)
{
	struct proc *p = sym_proc_get(s, pid);
	const struct sym_map *m = p ? find_map(p, addr) : NULL;
	uintptr_t v;
	__u64 vaddr;

	if (!m || !m->elf || !hashmap__get(s->line_tables, m->elf, &v) ||
	    elf_file__off_to_vaddr(m->elf, addr - m->start + m->pgoff, &vaddr))
		return 0;
	return line_table__lookup((struct line_table *)v, vaddr, out, max);
}

static void load_kernel(struct symbolizer *s)
{
	char buf[4096];
	__u8 id[ELF_BUILD_ID_MAX];
	ssize_t r;
	int fd, n;

	s->ksyms_tried = true;
	s->ksyms = ksyms__load(s->kallsyms_path, s->modules_path);
	if (!s->ksyms) {
		pr_warn("reading kernel symbols from '%s' failed: %s%s", s->kallsyms_path,
			strerror(errno),
			errno == EPERM ? " (run as root or lower kernel.kptr_restrict)" : "");
		return;
	}
	if (!s->default_kallsyms)
		return;
	/* The running kernel's build-id, for pprof mappings. */
	fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	r = read(fd, buf, sizeof(buf));
	close(fd);
	n = r > 0 ? elf__notes_build_id(buf, (size_t)r, id, sizeof(id)) : 0;
	if (n > 0)
		elf__hex(id, (size_t)n, s->kernel_build_id);
}

int symbolizer__kernel(struct symbolizer *s, __u64 addr, struct sym_frame *out)
{
	struct ksym_info ki;

	frame_init(out);
	if (s->no_kernel)
		return -ENOENT;
	if (!s->ksyms_tried)
		load_kernel(s);
	if (!s->ksyms)
		return -ENOENT;
	s->st.lookups++;
	if (ksyms__lookup(s->ksyms, addr, &ki))
		return -ENOENT;
	out->name = ki.name;
	out->module = ki.module;
	out->offset = addr >= ki.base ? addr - ki.base : addr - ki.sym_addr;
	out->map_start = ki.base;
	out->map_limit = ki.limit;
	if (!strcmp(ki.module, KSYMS_KERNEL_MODULE))
		out->build_id = s->kernel_build_id;
	return 0;
}
