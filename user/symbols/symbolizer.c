// SPDX-License-Identifier: GPL-2.0
/*
 * The symbolizer: per-process images of executable mappings (generations split at exec), a cache of
 * parsed ELF files shared by every process, perf-PID.map JIT symbols and kallsyms.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <libiberty/demangle.h>

#include "symbols/elf.h"
#include "model/hashmap.h"
#include "symbols/kallsyms.h"
#include "util/log.h"
#include "symbols/procmaps.h"
#include "symbols/symbolizer.h"

#define VDSO_MAX_SIZE (1 << 20)
#define JIT_RECHECK_NS 200000000ULL /* re-stat a perf map at most this often on misses */
#define MAPS_REREAD_NS 1000000000ULL /* re-read a live process's maps at most this often */

enum map_kind { SM_FILE, SM_ANON, SM_VDSO };

struct sym_map {
	__u64 start, end, pgoff;
	struct elf_file *elf; /* cache-owned; NULL when the file could not be read */
	const char *path; /* interned; "" when not a file */
	const char *module; /* interned */
	const char *build_id; /* interned or the ELF's; "" when unknown */
	enum map_kind kind;
};

/* One generation of a process's mappings, sorted by start, non-overlapping. */
struct image {
	struct sym_map *maps;
	size_t n, cap;
	struct image *older;
};

struct proc {
	__u32 pid;
	struct image *img; /* newest generation */
	bool snapshotted; /* the newest generation was read from /proc */
	bool gone; /* reading its maps failed: do not retry lazily */
	__u64 read_ns; /* when its maps were last read */
	dev_t exe_dev;
	ino_t exe_ino;
	struct perfmap **jit; /* every load, newest last: older ones keep their strings alive */
	size_t njit;
	bool jit_loaded; /* a load was attempted since the last snapshot */
	__u64 jit_checked_ns; /* when the perf map's file was last looked at */
	off_t jit_size;
	struct timespec jit_mtime;
	const char *jit_module, *jit_path;
};

struct inode_key {
	__u64 dev, ino, size, mtime_ns;
};

struct map_key {
	__u64 maj, min, ino;
	const char *path; /* interned */
};

struct symbolizer {
	char *kallsyms_path, *modules_path, *proc_root;
	bool no_kernel, default_kallsyms;
	struct ksyms *ksyms;
	bool ksyms_tried;
	char kernel_build_id[2 * ELF_BUILD_ID_MAX + 1];
	struct hashmap *procs; /* pid -> struct proc * */
	struct hashmap *strings; /* interned strings (key == value) */
	bool demangle;
	struct hashmap *demangled; /* interned mangled name -> interned display name */
	struct hashmap *by_build_id; /* hex -> struct elf_file * */
	struct hashmap *by_inode; /* struct inode_key * -> struct elf_file * (0: not usable ELF) */
	struct hashmap *by_mapkey; /* struct map_key * -> struct elf_file * (0: not usable ELF) */
	struct elf_file **elves;
	size_t nelves, capelves;
	struct symbolizer_stats st;
};

static const char deleted_suffix[] = " (deleted)";

static uint64_t key_hash(const void *key, void *ctx)
{
	return hash_bytes(key, (size_t)(uintptr_t)ctx, 0);
}

static bool key_equal(const void *a, const void *b, void *ctx)
{
	return !memcmp(a, b, (size_t)(uintptr_t)ctx);
}

static const char *intern(struct symbolizer *s, const char *str)
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
	key = intern(s, name);
	d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	v = (uintptr_t)(d ? intern(s, d) : key);
	free(d);
	if (!key || !v || hashmap__set(s->demangled, key, v))
		return name; /* out of memory: the mangled name still names it */
	return (const char *)v;
}

static __u64 now_ns(void)
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
	s->kallsyms_path = strdup(ks);
	s->modules_path = modules_path_for(ks);
	s->proc_root = strdup(opts && opts->proc_root ? opts->proc_root : "/proc");
	s->procs = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	s->strings = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	s->demangled = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	s->by_build_id = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	s->by_inode = hashmap__new(key_hash, key_equal, (void *)sizeof(struct inode_key));
	s->by_mapkey = hashmap__new(key_hash, key_equal, (void *)sizeof(struct map_key));
	if (!s->kallsyms_path || !s->proc_root || !s->procs || !s->strings || !s->demangled ||
	    !s->by_build_id || !s->by_inode || !s->by_mapkey) {
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

static int free_key(const void *key, uintptr_t value, void *arg)
{
	(void)value;
	(void)arg;
	free((void *)key);
	return 0;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
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
	hashmap__free(s->by_build_id);
	hashmap__free(s->by_inode);
	hashmap__free(s->by_mapkey);
	for (size_t i = 0; i < s->nelves; i++)
		elf_file__free(s->elves[i]);
	free(s->elves);
	ksyms__free(s->ksyms);
	free(s->kallsyms_path);
	free(s->modules_path);
	free(s->proc_root);
	free(s);
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	*out = s->st;
}

/* ---- images ---- */

static int image_reserve(struct image *img, size_t extra)
{
	size_t cap;
	struct sym_map *m;

	if (img->n + extra <= img->cap)
		return 0;
	cap = img->cap ? img->cap * 2 : 16;
	while (cap < img->n + extra)
		cap *= 2;
	m = realloc(img->maps, cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	img->maps = m;
	img->cap = cap;
	return 0;
}

/* First index whose end is above addr. */
static size_t image_first_after(const struct image *img, __u64 addr)
{
	size_t lo = 0, hi = img->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (img->maps[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Removes [start, end) from img, trimming or splitting mappings that straddle it. */
static int image_punch(struct image *img, __u64 start, __u64 end)
{
	size_t i = image_first_after(img, start);

	while (i < img->n && img->maps[i].start < end) {
		struct sym_map *m = &img->maps[i];
		__u64 adv = end - m->start;

		if (m->start < start && m->end > end) {
			if (image_reserve(img, 1))
				return -ENOMEM;
			m = &img->maps[i];
			memmove(m + 1, m, (img->n - i) * sizeof(*m));
			img->n++;
			m->end = start;
			m[1].start = end;
			if (m[1].kind == SM_FILE)
				m[1].pgoff += adv;
			return 0;
		}
		if (m->start < start) {
			m->end = start;
			i++;
		} else if (m->end > end) {
			if (m->kind == SM_FILE)
				m->pgoff += adv;
			m->start = end;
			i++;
		} else {
			memmove(m, m + 1, (img->n - i - 1) * sizeof(*m));
			img->n--;
		}
	}
	return 0;
}

static int image_insert(struct image *img, const struct sym_map *nm)
{
	size_t i;
	int err = image_punch(img, nm->start, nm->end);

	if (err)
		return err;
	err = image_reserve(img, 1);
	if (err)
		return err;
	i = image_first_after(img, nm->start);
	memmove(&img->maps[i + 1], &img->maps[i], (img->n - i) * sizeof(*nm));
	img->maps[i] = *nm;
	img->n++;
	return 0;
}

static const struct sym_map *image_find(const struct image *img, __u64 addr)
{
	size_t i = image_first_after(img, addr);

	return i < img->n && img->maps[i].start <= addr ? &img->maps[i] : NULL;
}

static struct proc *proc_get(struct symbolizer *s, __u32 pid)
{
	uintptr_t v;

	return hashmap__get(s->procs, (const void *)(uintptr_t)pid, &v) ? (struct proc *)v : NULL;
}

static struct proc *proc_new(struct symbolizer *s, __u32 pid)
{
	struct proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->img = calloc(1, sizeof(*p->img));
	if (!p->img || hashmap__set(s->procs, (const void *)(uintptr_t)pid, (uintptr_t)p)) {
		free(p->img);
		free(p);
		return NULL;
	}
	return p;
}

/* A new, empty generation on top (exec). */
static int proc_push_image(struct proc *p)
{
	struct image *img = calloc(1, sizeof(*img));

	if (!img)
		return -ENOMEM;
	img->older = p->img;
	p->img = img;
	p->snapshotted = false;
	p->jit_loaded = false;
	return 0;
}

/* ---- files ---- */

/* Caches elf under a copy of key; a failure only costs a later re-parse. */
static void remember(struct hashmap *map, const void *key, size_t size, struct elf_file *elf)
{
	void *copy = malloc(size);

	if (!copy)
		return;
	memcpy(copy, key, size);
	if (hashmap__set(map, copy, (uintptr_t)elf))
		free(copy);
}

static int keep_elf(struct symbolizer *s, struct elf_file *elf)
{
	const char *hex = elf_file__build_id_hex(elf);

	if (s->nelves == s->capelves) {
		size_t cap = s->capelves ? s->capelves * 2 : 32;
		struct elf_file **v = realloc(s->elves, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->elves = v;
		s->capelves = cap;
	}
	s->elves[s->nelves++] = elf;
	s->st.elf_parsed++;
	if (*hex && !hashmap__get(s->by_build_id, hex, NULL))
		return hashmap__set(s->by_build_id, hex, (uintptr_t)elf);
	return 0;
}

struct want {
	__u32 pid;
	__u64 start, end, ino;
	const char *path; /* as the process sees it, without " (deleted)" */
	bool deleted;
	const char *bid_hex; /* from the mmap record; "" when none */
};

static int open_map_files(struct symbolizer *s, const struct want *w)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%u/map_files/%llx-%llx", s->proc_root, w->pid,
		 (unsigned long long)w->start, (unsigned long long)w->end);
	return open(p, O_RDONLY | O_CLOEXEC);
}

/*
 * Opens the file behind a mapping: PROC/PID/root/PATH, else PATH; a deleted (or replaced) file
 * through PROC/PID/map_files while the process lives. *via_root says whether PATH resolved inside
 * the process's root; *must_match that the file's build-id must equal the record's to be used;
 * *from_map_files that it is the mapped file itself.
 */
static int open_mapped(struct symbolizer *s, const struct want *w, bool *via_root, bool *must_match,
		       bool *from_map_files)
{
	char p[PATH_MAX];
	struct stat st;
	int fd = -1, alt;

	*via_root = false;
	*must_match = false;
	*from_map_files = false;
	if (w->deleted) {
		fd = open_map_files(s, w);
		*from_map_files = fd >= 0;
		if (fd >= 0 || !*w->bid_hex)
			return fd;
		/* Gone: a file now at PATH is only trusted with the same build-id. */
		*must_match = true;
	}
	if (snprintf(p, sizeof(p), "%s/%u/root%s", s->proc_root, w->pid, w->path) < (int)sizeof(p))
		fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		*via_root = true;
	else
		fd = open(w->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !w->deleted && w->ino && !fstat(fd, &st) && (__u64)st.st_ino != w->ino) {
		/* Replaced since it was mapped: the mapped copy is the one to read. */
		alt = open_map_files(s, w);
		if (alt >= 0) {
			close(fd);
			fd = alt;
			*via_root = false;
			*from_map_files = true;
		}
	}
	return fd;
}

static struct elf_file *get_file(struct symbolizer *s, const struct want *w, __u32 maj, __u32 min)
{
	struct map_key mk = { .maj = maj, .min = min, .ino = w->ino, .path = w->path };
	struct inode_key ik = { 0 };
	struct elf_file *elf = NULL;
	__u8 id[ELF_BUILD_ID_MAX];
	char hex[2 * ELF_BUILD_ID_MAX + 1], root[PATH_MAX];
	struct elf_opts eo = { 0 };
	bool via_root, must_match, from_map_files, use_mk = w->ino && !w->deleted;
	struct stat st;
	uintptr_t v;
	int fd, n, alt;

	if (*w->bid_hex && hashmap__get(s->by_build_id, w->bid_hex, &v))
		return (struct elf_file *)v;
	if (use_mk && hashmap__get(s->by_mapkey, &mk, &v))
		return (struct elf_file *)v;
	fd = open_mapped(s, w, &via_root, &must_match, &from_map_files);
	if (fd < 0) {
		s->st.files_failed++;
		pr_debug("symbols: cannot open '%s' of pid %u: %s", w->path, w->pid,
			 strerror(errno));
		return NULL;
	}
	s->st.files_opened++;
	if (!fstat(fd, &st)) {
		ik.dev = st.st_dev;
		ik.ino = st.st_ino;
		ik.size = (__u64)st.st_size;
		ik.mtime_ns = (__u64)st.st_mtim.tv_sec * 1000000000ULL + (__u64)st.st_mtim.tv_nsec;
		if (hashmap__get(s->by_inode, &ik, &v)) {
			elf = (struct elf_file *)v;
			goto out;
		}
	}
	n = elf__read_build_id(fd, id, sizeof(id));
	if (n > 0 && *w->bid_hex && !w->deleted && !from_map_files) {
		elf__hex(id, (size_t)n, hex);
		if (strcmp(hex, w->bid_hex) && (alt = open_map_files(s, w)) >= 0) {
			/* Rebuilt in place since it was mapped: read the mapped copy instead. */
			close(fd);
			fd = alt;
			from_map_files = true;
			via_root = false;
			ik.ino = 0;
			n = elf__read_build_id(fd, id, sizeof(id));
		}
	}
	if (n > 0) {
		elf__hex(id, (size_t)n, hex);
		if (*w->bid_hex && strcmp(hex, w->bid_hex)) {
			pr_debug("symbols: '%s' of pid %u has build-id %s, not %s; not used",
				 w->path, w->pid, hex, w->bid_hex);
			close(fd);
			s->st.files_failed++;
			return NULL;
		}
		if (hashmap__get(s->by_build_id, hex, &v)) {
			elf = (struct elf_file *)v;
			goto out_remember;
		}
	} else if (must_match) {
		close(fd);
		return NULL;
	}
	snprintf(root, sizeof(root), "%s/%u/root", s->proc_root, w->pid);
	eo.root = via_root ? root : NULL;
	elf = elf_file__open_fd(fd, w->path, &eo);
	if (!elf) {
		s->st.files_failed++;
		pr_debug("symbols: cannot read ELF '%s': %s", w->path, strerror(errno));
	} else if (keep_elf(s, elf)) {
		elf_file__free(elf);
		elf = NULL;
	}
out_remember:
	if (ik.ino)
		remember(s->by_inode, &ik, sizeof(ik), elf);
out:
	if (use_mk)
		remember(s->by_mapkey, &mk, sizeof(mk), elf);
	close(fd);
	return elf;
}

/* The vdso is an ELF image in the process's memory. */
static struct elf_file *get_vdso(struct symbolizer *s, __u32 pid, __u64 start, __u64 end)
{
	char p[PATH_MAX];
	struct elf_file *elf, *cached;
	size_t len = (size_t)(end - start);
	ssize_t r;
	void *buf;
	uintptr_t v;
	int fd;

	if (end <= start || end - start > VDSO_MAX_SIZE)
		return NULL;
	snprintf(p, sizeof(p), "%s/%u/mem", s->proc_root, pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(len);
	r = buf ? pread(fd, buf, len, (off_t)start) : -1;
	close(fd);
	if (r <= 0) {
		free(buf);
		return NULL;
	}
	elf = elf_file__open_mem(buf, (size_t)r);
	free(buf);
	if (!elf)
		return NULL;
	if (*elf_file__build_id_hex(elf) &&
	    hashmap__get(s->by_build_id, elf_file__build_id_hex(elf), &v)) {
		cached = (struct elf_file *)v;
		elf_file__free(elf);
		return cached;
	}
	if (keep_elf(s, elf)) {
		elf_file__free(elf);
		return NULL;
	}
	return elf;
}

static const char *basename_of(const char *path)
{
	const char *b = strrchr(path, '/');

	return b && b[1] ? b + 1 : path;
}

/* Adds one mapping to p's newest image. path may carry " (deleted)". */
static int add_map(struct symbolizer *s, struct proc *p, const struct sym_mmap *m, bool deleted)
{
	const char *path = m->path ? m->path : "";
	struct sym_map sm = { .start = m->start, .end = m->start + m->len, .path = "" };
	char stripped[PATH_MAX], hex[2 * ELF_BUILD_ID_MAX + 1] = "";
	size_t l = strlen(path), sl = sizeof(deleted_suffix) - 1;

	if (!m->len || sm.end < sm.start)
		return -EINVAL;
	if (!(m->prot & PROT_EXEC))
		return image_punch(p->img, sm.start, sm.end);
	if (l > sl && !strcmp(path + l - sl, deleted_suffix) && l - sl < sizeof(stripped)) {
		memcpy(stripped, path, l - sl);
		stripped[l - sl] = '\0';
		path = stripped;
		deleted = true;
	}
	if (m->build_id && m->build_id_size) {
		elf__hex(m->build_id,
			 m->build_id_size > ELF_BUILD_ID_MAX ? ELF_BUILD_ID_MAX : m->build_id_size,
			 hex);
	}
	if (procmaps__classify(path) == PROCMAPS_FILE) {
		struct want w = {
			.pid = p->pid,
			.start = sm.start,
			.end = sm.end,
			.ino = m->ino,
			.deleted = deleted,
			.bid_hex = hex,
		};

		sm.kind = SM_FILE;
		sm.pgoff = m->pgoff;
		sm.path = intern(s, path);
		sm.module = intern(s, basename_of(path));
		if (!sm.path || !sm.module)
			return -ENOMEM;
		w.path = sm.path;
		sm.elf = get_file(s, &w, m->maj, m->min);
		sm.build_id = sm.elf ? elf_file__build_id_hex(sm.elf) : intern(s, hex);
	} else if (!strcmp(path, "[vdso]")) {
		sm.kind = SM_VDSO;
		sm.module = "[vdso]";
		sm.elf = get_vdso(s, p->pid, sm.start, sm.end);
		sm.build_id = sm.elf ? elf_file__build_id_hex(sm.elf) : "";
	} else {
		/* Anonymous ("", "//anon", "[anon:NAME]", ...): JIT code lives here. */
		sm.kind = SM_ANON;
		sm.module = *path && strcmp(path, "//anon") ? intern(s, path) : "[anon]";
		sm.build_id = "";
	}
	if (!sm.module || !sm.build_id)
		return -ENOMEM;
	return image_insert(p->img, &sm);
}

int symbolizer__add_mmap(struct symbolizer *s, __u32 pid, const struct sym_mmap *m)
{
	struct proc *p = proc_get(s, pid);

	if (!p)
		p = proc_new(s, pid);
	if (!p)
		return -ENOMEM;
	return add_map(s, p, m, false);
}

void symbolizer__fork(struct symbolizer *s, __u32 parent, __u32 child)
{
	struct proc *pp = proc_get(s, parent), *c;
	struct image *img;

	/* A child seen already (snapshotted first) knows better than a copy. */
	if (!pp || proc_get(s, child))
		return;
	c = proc_new(s, child);
	if (!c)
		return;
	img = c->img;
	if (pp->img->n) {
		img->maps = malloc(pp->img->n * sizeof(*img->maps));
		if (!img->maps)
			return;
		memcpy(img->maps, pp->img->maps, pp->img->n * sizeof(*img->maps));
		img->n = img->cap = pp->img->n;
	}
	c->snapshotted = pp->snapshotted;
	c->exe_dev = pp->exe_dev;
	c->exe_ino = pp->exe_ino;
}

void symbolizer__exec(struct symbolizer *s, __u32 pid)
{
	struct proc *p = proc_get(s, pid);

	if (!p) {
		proc_new(s, pid);
		return;
	}
	if (p->img->n || p->img->older)
		proc_push_image(p);
}

/* ---- perf-PID.map ---- */

/* The pid a process knows itself by, inside its pid namespace (last NSpid field), or 0. */
static __u32 ns_pid(struct symbolizer *s, __u32 pid)
{
	char p[PATH_MAX], *buf, *l, *save = NULL;
	unsigned long v = 0;
	size_t len;

	snprintf(p, sizeof(p), "%s/%u/status", s->proc_root, pid);
	buf = procmaps__slurp(p, &len);
	if (!buf)
		return 0;
	l = strstr(buf, "\nNSpid:");
	if (l) {
		char *e = strchr(l + 1, '\n'), *t;

		if (e)
			*e = '\0';
		for (t = strtok_r(l + 7, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
			v = strtoul(t, NULL, 10);
	}
	free(buf);
	return v > 0 && v <= 0xffffffffUL ? (__u32)v : 0;
}

static void jit_load(struct symbolizer *s, struct proc *p)
{
	char cand[3][PATH_MAX];
	__u32 nspid = ns_pid(s, p->pid);
	struct stat st;
	int ncand = 0;

	p->jit_loaded = true;
	p->jit_checked_ns = now_ns();
	snprintf(cand[ncand++], PATH_MAX, "%s/%u/root/tmp/perf-%u.map", s->proc_root, p->pid,
		 p->pid);
	if (nspid && nspid != p->pid)
		snprintf(cand[ncand++], PATH_MAX, "%s/%u/root/tmp/perf-%u.map", s->proc_root,
			 p->pid, nspid);
	snprintf(cand[ncand++], PATH_MAX, "/tmp/perf-%u.map", p->pid);
	for (int i = 0; i < ncand; i++) {
		struct perfmap *j, **v;
		char name[64];

		if (stat(cand[i], &st) || !S_ISREG(st.st_mode))
			continue;
		if (p->njit && st.st_size == p->jit_size &&
		    st.st_mtim.tv_sec == p->jit_mtime.tv_sec &&
		    st.st_mtim.tv_nsec == p->jit_mtime.tv_nsec)
			return; /* unchanged */
		j = perfmap__read(cand[i]);
		if (!j)
			continue;
		v = realloc(p->jit, (p->njit + 1) * sizeof(*v));
		if (!v) {
			perfmap__free(j);
			return;
		}
		p->jit = v;
		p->jit[p->njit++] = j;
		snprintf(name, sizeof(name), "perf-%u.map", p->pid);
		p->jit_module = intern(s, name);
		snprintf(name, sizeof(name), "/tmp/perf-%u.map", p->pid);
		p->jit_path = intern(s, name);
		p->jit_size = st.st_size;
		p->jit_mtime = st.st_mtim;
		return;
	}
}

static const struct perfmap_sym *jit_find(const struct proc *p, __u64 addr)
{
	return p->njit ? perfmap__find(p->jit[p->njit - 1], addr) : NULL;
}

/* JIT symbol for addr: loads the perf map lazily, and again when it has changed since. */
static const struct perfmap_sym *jit_lookup(struct symbolizer *s, struct proc *p, __u64 addr)
{
	const struct perfmap_sym *js;

	if (!p->jit_loaded)
		jit_load(s, p);
	js = jit_find(p, addr);
	if (js || now_ns() - p->jit_checked_ns < JIT_RECHECK_NS)
		return js;
	jit_load(s, p);
	return jit_find(p, addr);
}

/* ---- snapshots and lookups ---- */

/*
 * Reads PROC/PID/maps into pid's newest image, or into a new one when its executable changed. A pid
 * read before is only read again when refresh is set (a lookup missed: something was mapped since).
 */
static int snapshot(struct symbolizer *s, __u32 pid, bool refresh)
{
	struct proc *p = proc_get(s, pid);
	char path[PATH_MAX];
	struct procmaps *pm;
	struct stat est;
	bool have_exe;
	int err = 0;

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
			if (proc_push_image(p))
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
			p = proc_new(s, pid);
		if (p)
			p->gone = true;
		return err;
	}
	if (!p)
		p = proc_new(s, pid);
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
			err = add_map(s, p, &m, e->deleted);
	}
	procmaps__free(pm);
	if (err == -ENOMEM)
		return err;
	p->snapshotted = true;
	p->gone = false;
	p->read_ns = now_ns();
	p->exe_dev = have_exe ? est.st_dev : 0;
	p->exe_ino = have_exe ? est.st_ino : 0;
	s->st.pids_snapshotted++;
	jit_load(s, p);
	return 0;
}

int symbolizer__snapshot_pid(struct symbolizer *s, __u32 pid)
{
	return snapshot(s, pid, false);
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
		const struct sym_map *m = image_find(img, addr);

		if (m)
			return m;
	}
	return NULL;
}

int symbolizer__user(struct symbolizer *s, __u32 pid, __u64 addr, struct sym_frame *out)
{
	struct proc *p = proc_get(s, pid);
	const struct sym_map *m = NULL;
	const struct perfmap_sym *js;
	struct elf_symbol es;
	__u64 vaddr;

	frame_init(out);
	s->st.lookups++;
	if (p)
		m = find_map(p, addr);
	if (!m &&
	    (!p || (!p->gone && (!p->snapshotted || now_ns() - p->read_ns >= MAPS_REREAD_NS)))) {
		/*
		 * Never read from /proc (or only heard of through mmap records), or read a while ago
		 * and something (a dlopen) was mapped since without an mmap record: read it now.
		 */
		snapshot(s, pid, true);
		p = proc_get(s, pid);
		m = p ? find_map(p, addr) : NULL;
	}
	if (!p)
		return -ENOENT;
	if (!m) {
		js = jit_lookup(s, p, addr);
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
		if (!elf_file__off_to_vaddr(m->elf, out->offset, &vaddr) &&
		    !elf_file__lookup(m->elf, vaddr, &es))
			out->name = display_name(s, es.name);
		return 0;
	}
	if (m->kind != SM_FILE || !*m->build_id) {
		js = jit_lookup(s, p, addr);
		if (js) {
			out->name = display_name(s, js->name);
			out->module = p->jit_module;
			out->path = p->jit_path;
		}
	}
	return 0;
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
