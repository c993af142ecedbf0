// SPDX-License-Identifier: GPL-2.0
/*
 * The symbolizer's per-process images of executable mappings (generations split at exec), the cache of
 * parsed ELF files shared by every process, and perf-PID.map JIT symbols.
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
#include "symbols/perfmap.h"
#include "symbols/procmaps.h"
#include "symbols/symbolizer_int.h"

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

const struct sym_map *sym_image_find(const struct image *img, __u64 addr)
{
	size_t i = image_first_after(img, addr);

	return i < img->n && img->maps[i].start <= addr ? &img->maps[i] : NULL;
}

struct proc *sym_proc_get(struct symbolizer *s, __u32 pid)
{
	uintptr_t v;

	return hashmap__get(s->procs, (const void *)(uintptr_t)pid, &v) ? (struct proc *)v : NULL;
}

struct proc *sym_proc_new(struct symbolizer *s, __u32 pid)
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
int sym_proc_push_image(struct proc *p)
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
int sym_add_map(struct symbolizer *s, struct proc *p, const struct sym_mmap *m, bool deleted)
{
	const char *path = m->path ? m->path : "";
	struct sym_map sm = { .start = m->start, .end = m->start + m->len, .path = "" };
	char stripped[PATH_MAX], hex[2 * ELF_BUILD_ID_MAX + 1] = "";
	size_t l = strlen(path), sl = sizeof(SYM_DELETED_SUFFIX) - 1;

	if (!m->len || sm.end < sm.start)
		return -EINVAL;
	if (!(m->prot & PROT_EXEC))
		return image_punch(p->img, sm.start, sm.end);
	if (l > sl && !strcmp(path + l - sl, SYM_DELETED_SUFFIX) && l - sl < sizeof(stripped)) {
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
		sm.path = sym_intern(s, path);
		sm.module = sym_intern(s, basename_of(path));
		if (!sm.path || !sm.module)
			return -ENOMEM;
		w.path = sm.path;
		sm.elf = get_file(s, &w, m->maj, m->min);
		sm.build_id = sm.elf ? elf_file__build_id_hex(sm.elf) : sym_intern(s, hex);
	} else if (!strcmp(path, "[vdso]")) {
		sm.kind = SM_VDSO;
		sm.module = "[vdso]";
		sm.elf = get_vdso(s, p->pid, sm.start, sm.end);
		sm.build_id = sm.elf ? elf_file__build_id_hex(sm.elf) : "";
	} else {
		/* Anonymous ("", "//anon", "[anon:NAME]", ...): JIT code lives here. */
		sm.kind = SM_ANON;
		sm.module = *path && strcmp(path, "//anon") ? sym_intern(s, path) : "[anon]";
		sm.build_id = "";
	}
	if (!sm.module || !sm.build_id)
		return -ENOMEM;
	return image_insert(p->img, &sm);
}

int symbolizer__add_mmap(struct symbolizer *s, __u32 pid, const struct sym_mmap *m)
{
	struct proc *p = sym_proc_get(s, pid);

	if (!p)
		p = sym_proc_new(s, pid);
	if (!p)
		return -ENOMEM;
	return sym_add_map(s, p, m, false);
}

void symbolizer__fork(struct symbolizer *s, __u32 parent, __u32 child)
{
	struct proc *pp = sym_proc_get(s, parent), *c;
	struct image *img;

	/* A child seen already (snapshotted first) knows better than a copy. */
	if (!pp || sym_proc_get(s, child))
		return;
	c = sym_proc_new(s, child);
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
	struct proc *p = sym_proc_get(s, pid);

	if (!p) {
		sym_proc_new(s, pid);
		return;
	}
	if (p->img->n || p->img->older)
		sym_proc_push_image(p);
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

void sym_jit_load(struct symbolizer *s, struct proc *p)
{
	char cand[3][PATH_MAX];
	__u32 nspid = ns_pid(s, p->pid);
	struct stat st;
	int ncand = 0;

	p->jit_loaded = true;
	p->jit_checked_ns = sym_now_ns();
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
		p->jit_module = sym_intern(s, name);
		snprintf(name, sizeof(name), "/tmp/perf-%u.map", p->pid);
		p->jit_path = sym_intern(s, name);
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
const struct perfmap_sym *sym_jit_lookup(struct symbolizer *s, struct proc *p, __u64 addr)
{
	const struct perfmap_sym *js;

	if (!p->jit_loaded)
		sym_jit_load(s, p);
	js = jit_find(p, addr);
	if (js || sym_now_ns() - p->jit_checked_ns < JIT_RECHECK_NS)
		return js;
	sym_jit_load(s, p);
	return jit_find(p, addr);
}
