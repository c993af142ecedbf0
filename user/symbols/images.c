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
#include <sys/uio.h>

#include "symbols/elf.h"
#include "model/hashmap.h"
#include "symbols/kallsyms.h"
#include "util/log.h"
#include "symbols/perfmap.h"
#include "symbols/procmaps.h"
#include "symbols/lines.h"
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
	struct proc *p;

	if (!sym_proc_room(s, pid)) {
		errno = ENOSPC;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->uid = -1;
	p->img = calloc(1, sizeof(*p->img));
	if (!p->img || hashmap__set(s->procs, (const void *)(uintptr_t)pid, (uintptr_t)p)) {
		free(p->img);
		free(p);
		errno = ENOMEM;
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
	p->gen++;
	p->snapshotted = false;
	p->recorded = false;
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
		__u16 *idle;

		if (!v)
			return -ENOMEM;
		s->elves = v;
		idle = realloc(s->elf_idle, cap * sizeof(*idle));
		if (!idle)
			return -ENOMEM;
		s->elf_idle = idle;
		s->capelves = cap;
	}
	s->elf_idle[s->nelves] = 0;
	s->elves[s->nelves++] = elf;
	s->st.elf_parsed++;
	s->st.table_bytes += elf_file__memory(elf);
	if (elf_file__dropped_symbols(elf)) {
		s->st.symbols_dropped += elf_file__dropped_symbols(elf);
		pr_debug("symbols: %zu symbols of a file dropped (more than %zu)",
			 elf_file__dropped_symbols(elf), s->lim.max_symbols);
	}
	if (*hex && !hashmap__get(s->by_build_id, hex, NULL))
		return hashmap__set(s->by_build_id, hex, (uintptr_t)elf);
	return 0;
}

/*
 * Source lines (opts.lines): keep the very file just opened (and its debug file) for DWARF, read
 * only when a lookup needs it. Only the first MAX_LINE_TABLES files: descriptors are finite.
 */
static void keep_for_lines(struct symbolizer *s, struct elf_file *elf, const struct mapfile *mf,
			   const struct elf_opts *eo)
{
	const char *dbg = elf_file__debug_path(elf);
	struct line_table *t;
	int fd, dfd = -1;

	if (s->nr_line_tables >= MAX_LINE_TABLES) {
		pr_debug("symbols: no source lines for more than %d files", MAX_LINE_TABLES);
		return;
	}
	fd = fcntl(mf->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (dbg)
		dfd = mapfile__open_in_root(eo->in_root ? eo->root_fd : AT_FDCWD, dbg, 0,
					    s->lim.max_file_bytes, NULL);
	t = line_table__new(fd, dfd < 0 ? -1 : dfd);
	if (t && hashmap__set(s->line_tables, elf, (uintptr_t)t))
		line_table__free(t);
	else if (t)
		s->nr_line_tables++;
}

struct want {
	__u32 pid;
	__u64 start, end, ino;
	const char *path; /* as the process sees it, without " (deleted)" */
	bool deleted;
	const char *bid_hex; /* from the mmap record; "" when none */
};

/* Counts a file not used and says why under -v. */
static void refuse_file(struct symbolizer *s, const struct want *w, int err, const char *why)
{
	s->st.files_failed++;
	if (err == -EFBIG)
		s->st.files_too_big++;
	else if (err == -ESTALE || err == -EINVAL || err == -ELOOP || err == -EXDEV)
		s->st.files_refused++;
	pr_debug("symbols: not reading '%s' of pid %u: %s", w->path, w->pid,
		 why ? why : strerror(-err));
}

static struct elf_file *get_file(struct symbolizer *s, const struct want *w, __u32 maj, __u32 min)
{
	struct map_key mk = { .maj = maj, .min = min, .ino = w->ino, .path = w->path };
	struct mapfile_want mw = {
		.proc_root = s->proc_root,
		.pid = w->pid,
		.start = w->start,
		.end = w->end,
		.maj = maj,
		.min = min,
		.ino = w->ino,
		.path = w->path,
		.max_size = s->lim.max_file_bytes,
	};
	struct inode_key ik = { 0 };
	struct elf_file *elf = NULL;
	__u8 id[ELF_BUILD_ID_MAX];
	char hex[2 * ELF_BUILD_ID_MAX + 1];
	struct elf_opts eo = { 0 };
	bool use_mk = w->ino && !w->deleted;
	struct mapfile mf;
	uintptr_t v;
	int n, err;

	if (*w->bid_hex && hashmap__get(s->by_build_id, w->bid_hex, &v))
		return (struct elf_file *)v;
	if (use_mk && hashmap__get(s->by_mapkey, &mk, &v))
		return (struct elf_file *)v;
	err = mapfile__open(&mw, &mf);
	if (err) {
		refuse_file(s, w, err, NULL);
		/* What is there now will not change into the mapped file: do not look again. */
		if (use_mk && err != -ENOENT && err != -EACCES && err != -EPERM && err != -ENOMEM)
			remember(s->by_mapkey, &mk, sizeof(mk), NULL);
		return NULL;
	}
	s->st.files_opened++;
	ik.dev = mf.st.st_dev;
	ik.ino = mf.st.st_ino;
	ik.size = (__u64)mf.st.st_size;
	ik.mtime_ns = (__u64)mf.st.st_mtim.tv_sec * 1000000000ULL + (__u64)mf.st.st_mtim.tv_nsec;
	if (hashmap__get(s->by_inode, &ik, &v)) {
		elf = (struct elf_file *)v;
		goto out;
	}
	n = elf__read_build_id(mf.fd, id, sizeof(id));
	if (n > 0) {
		elf__hex(id, (size_t)n, hex);
		if (*w->bid_hex && strcmp(hex, w->bid_hex)) {
			char why[2 * sizeof(hex) + 32];

			snprintf(why, sizeof(why), "build-id %s, not %s", hex, w->bid_hex);
			refuse_file(s, w, -ESTALE, why);
			goto out_close;
		}
		if (hashmap__get(s->by_build_id, hex, &v)) {
			elf = (struct elf_file *)v;
			goto out_remember;
		}
	} else if (*w->bid_hex && !mf.identity_checked && mf.via != MAPFILE_MAP_FILES) {
		/* Nothing ties a file without a build-id to a record that has one. */
		refuse_file(s, w, -ESTALE, "no build-id to match the mapping's");
		goto out_close;
	}
	if (s->st.table_bytes >= s->lim.max_table_bytes) {
		s->st.files_over_memory++;
		pr_debug(
			"symbols: not reading '%s': symbol tables already take %llu bytes (the cap)",
			w->path, (unsigned long long)s->st.table_bytes);
		goto out_close;
	}
	/* Debug files are looked for inside the process's root (nothing escapes it). */
	eo.in_root = mf.root_fd >= 0;
	eo.root_fd = mf.root_fd;
	eo.max_symbols = s->lim.max_symbols;
	eo.max_debug_size = s->lim.max_file_bytes;
	elf = elf_file__open_fd(mf.fd, w->path, &eo);
	if (!elf) {
		s->st.files_failed++;
		pr_debug("symbols: cannot read ELF '%s': %s", w->path, strerror(errno));
	} else if (keep_elf(s, elf)) {
		elf_file__free(elf);
		elf = NULL;
	} else if (s->lines) {
		keep_for_lines(s, elf, &mf, &eo);
	}
out_remember:
	remember(s->by_inode, &ik, sizeof(ik), elf);
out:
	if (use_mk)
		remember(s->by_mapkey, &mk, sizeof(mk), elf);
out_close:
	mapfile__close(&mf);
	return elf;
}

/* The vdso is an ELF image in the process's memory. */
static struct elf_file *get_vdso(struct symbolizer *s, __u32 pid, __u64 start, __u64 end)
{
	struct elf_opts eo = { .cfi = s->cfi };
	char p[PATH_MAX];
	struct elf_file *elf, *cached;
	size_t len = (size_t)(end - start);
	ssize_t r;
	void *buf;
	uintptr_t v;
	int fd;

	if (end <= start || end - start > VDSO_MAX_SIZE)
		return NULL;
	buf = malloc(len);
	if (!buf)
		return NULL;
	r = -1;
	errno = 0;
	if (!strcmp(s->proc_root, "/proc")) {
		/* Our own /proc: one call, not an open of PID/mem per new process (a tenth of the
		 * service's CPU on a host starting dozens of processes a second). */
		struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)start, len };

		r = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
	}
	if (r <= 0 && errno != ESRCH) {
		snprintf(p, sizeof(p), "%s/%u/mem", s->proc_root, pid);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? -1 : pread(fd, buf, len, (off_t)start);
		if (fd >= 0)
			close(fd);
	}
	if (r <= 0) {
		bool gone = errno == ESRCH;

		free(buf);
		/* Exited before its record was read (a short-lived process): every process of the
		 * boot maps the same vdso, so one of the same size read earlier names it. */
		return gone && s->vdso_elf && s->vdso_len == len ? s->vdso_elf : NULL;
	}
	if (s->vdso_elf && (size_t)r == s->vdso_len && !memcmp(buf, s->vdso_bytes, (size_t)r)) {
		free(buf);
		return s->vdso_elf;
	}
	elf = elf_file__open_mem(buf, (size_t)r, &eo);
	if (!elf) {
		free(buf);
		return NULL;
	}
	if (*elf_file__build_id_hex(elf) &&
	    hashmap__get(s->by_build_id, elf_file__build_id_hex(elf), &v)) {
		cached = (struct elf_file *)v;
		elf_file__free(elf);
		elf = cached;
	} else if (keep_elf(s, elf)) {
		elf_file__free(elf);
		free(buf);
		return NULL;
	}
	free(s->vdso_bytes);
	s->vdso_bytes = buf;
	s->vdso_len = (size_t)r;
	s->vdso_elf = elf;
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
	p->gen++;
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
		sm.maj = m->maj;
		sm.min = m->min;
		sm.ino = m->ino;
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
		return -errno;
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
	c->recorded = pp->recorded;
	c->rec_epoch = pp->rec_epoch;
	c->exe_dev = pp->exe_dev;
	c->exe_ino = pp->exe_ino;
}

void symbolizer__exec(struct symbolizer *s, __u32 pid)
{
	struct proc *p = sym_proc_get(s, pid);

	if (!p)
		p = sym_proc_new(s, pid);
	else if ((p->img->n || p->img->older) && sym_proc_push_image(p))
		p = NULL;
	if (!p)
		return;
	/* The new image's mappings all follow as records. */
	p->recorded = true;
	p->rec_epoch = s->rec_epoch;
}

void symbolizer__records_lost(struct symbolizer *s)
{
	s->rec_epoch++;
}

/* ---- perf-PID.map ---- */

/* The last number of a "Name:\tN\tN..." line of a status text, or -1. field: 0 first, -1 last. */
static long long status_field(const char *buf, const char *name, int field)
{
	const char *l = strstr(buf, name);
	long long v = -1;

	if (!l)
		return -1;
	l += strlen(name);
	for (int i = 0; *l && *l != '\n'; i++) {
		char *e;
		long long x = strtoll(l, &e, 10);

		if (e == l)
			break;
		v = x;
		l = e;
		if (i == field)
			break;
	}
	return v;
}

/*
 * From PROC/PID/status: the process's effective uid (the owner its perf map must have) and the pid
 * it knows itself by inside its pid namespace (the last NSpid field, 0 when unknown).
 */
static void read_status(struct symbolizer *s, struct proc *p, __u32 *nspid)
{
	char path[PATH_MAX], *buf;
	long long v;
	size_t len;

	*nspid = 0;
	snprintf(path, sizeof(path), "%s/%u/status", s->proc_root, p->pid);
	buf = procmaps__slurp(path, &len);
	if (!buf)
		return;
	v = status_field(buf, "\nUid:", 1);
	if (v >= 0 && v <= 0xffffffffLL)
		p->uid = v;
	v = status_field(buf, "\nNSpid:", -1);
	*nspid = v > 0 && v <= 0xffffffffLL ? (__u32)v : 0;
	free(buf);
}

/*
 * Refuses a perf map: one -v line and one count per distinct file (a refused map is looked at
 * again on later misses, like an accepted one).
 */
static void refuse_perfmap(struct symbolizer *s, struct proc *p, const char *where, int err,
			   const struct stat *st, const char *why)
{
	__u64 key = (__u64)(-err) * 0x9e3779b97f4a7c15ULL;

	if (st)
		key ^= hash_u64((__u64)st->st_ino ^ ((__u64)st->st_dev << 32)) ^
		       (__u64)st->st_mtim.tv_nsec ^ (__u64)st->st_mtim.tv_sec << 20;
	key |= 1;
	if (key == p->jit_refused_key)
		return;
	p->jit_refused_key = key;
	s->st.perfmaps_refused++;
	pr_debug("symbols: perf map %s of pid %u not read: %s", where, p->pid,
		 why ? why : strerror(-err));
}

/* Opens one candidate perf map and checks it; the fd, -ENOENT when there is none, else refused. */
static int open_perfmap(struct symbolizer *s, struct proc *p, int root_fd, const char *where,
			struct stat *st)
{
	char why[96];
	int fd = mapfile__open_in_root(root_fd, where, O_NOFOLLOW | O_NONBLOCK,
				       s->lim.max_perfmap_bytes, st);

	if (fd == -ENOENT || fd == -ENOTDIR)
		return -ENOENT;
	if (fd < 0) {
		snprintf(why, sizeof(why), "%s",
			 fd == -ELOOP  ? "a symbolic link" :
			 fd == -EINVAL ? "not a regular file" :
			 fd == -EFBIG  ? "larger than the perf map size cap" :
					 strerror(-fd));
		refuse_perfmap(s, p, where, fd, NULL, why);
		return fd;
	}
	/* perf's rule, tightened: its owner is the process's user or root, and it is its only name
	 * (a hard link would lend the map another user's file). */
	if ((st->st_uid != 0 && (p->uid < 0 || st->st_uid != (uid_t)p->uid)) || st->st_nlink != 1) {
		if (st->st_nlink != 1)
			snprintf(why, sizeof(why), "%lu links", (unsigned long)st->st_nlink);
		else
			snprintf(why, sizeof(why),
				 "owned by uid %u, neither root nor the process's uid %lld",
				 (unsigned)st->st_uid, (long long)p->uid);
		refuse_perfmap(s, p, where, -EPERM, st, why);
		close(fd);
		return -EPERM;
	}
	return fd;
}

void sym_jit_load(struct symbolizer *s, struct proc *p)
{
	char cand[2][64];
	__u32 nspid;
	int ncand = 0, root_fd, rfd;

	p->jit_loaded = true;
	p->jit_checked_ns = sym_now_ns();
	read_status(s, p, &nspid);
	snprintf(cand[ncand++], sizeof(cand[0]), "/tmp/perf-%u.map", p->pid);
	if (nspid && nspid != p->pid)
		snprintf(cand[ncand++], sizeof(cand[0]), "/tmp/perf-%u.map", nspid);
	/* Inside the process's root while it lives; the host's /tmp once it is gone. */
	root_fd = mapfile__open_root(s->proc_root, p->pid);
	rfd = root_fd >= 0 ? root_fd : AT_FDCWD;
	for (int i = 0; i < (root_fd >= 0 ? ncand : 1); i++) {
		struct perfmap *j, **v;
		struct stat st;
		char name[64];
		int fd = open_perfmap(s, p, rfd, cand[i], &st);

		if (fd < 0)
			continue;
		if (p->njit && st.st_size == p->jit_size &&
		    st.st_mtim.tv_sec == p->jit_mtime.tv_sec &&
		    st.st_mtim.tv_nsec == p->jit_mtime.tv_nsec) {
			close(fd); /* unchanged */
			break;
		}
		if (s->st.table_bytes >= s->lim.max_table_bytes) {
			s->st.files_over_memory++;
			close(fd);
			break;
		}
		j = perfmap__read_fd(fd, s->lim.max_perfmap_bytes, s->lim.max_symbols);
		close(fd);
		if (!j) {
			if (errno == EFBIG)
				refuse_perfmap(s, p, cand[i], -EFBIG, NULL,
					       "larger than the perf map size cap");
			continue;
		}
		v = realloc(p->jit, (p->njit + 1) * sizeof(*v));
		if (!v) {
			perfmap__free(j);
			break;
		}
		p->jit = v;
		p->jit[p->njit++] = j;
		s->st.table_bytes += perfmap__memory(j);
		s->st.symbols_dropped += perfmap__dropped(j);
		snprintf(name, sizeof(name), "perf-%u.map", p->pid);
		p->jit_module = sym_intern(s, name);
		snprintf(name, sizeof(name), "/tmp/perf-%u.map", p->pid);
		p->jit_path = sym_intern(s, name);
		p->jit_size = st.st_size;
		p->jit_mtime = st.st_mtim;
		break;
	}
	if (root_fd >= 0)
		close(root_fd);
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
