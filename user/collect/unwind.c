// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/unwind.h"
#include "model/hashmap.h"
#include "symbols/cfi.h"
#include "symbols/symbolizer.h"
#include "util/log.h"
#include "vigil/unwind.h"

#define SWEEP_NS 1000000000ULL /* look for exited processes this often */

struct unwinder {
	struct symbolizer *sym;
	int procs_fd, tables_fd, pages_fd, rows_fd;
	__u32 rows_cap, pages_cap, tables_cap;
	__u32 rows_used, pages_used, ntables;
	bool cfi;
	struct hashmap *tables; /* const struct cfi_table * -> table id + 1; 0: could not load */
	struct hashmap *pids; /* pid -> generation loaded + 1 */
	struct vg_unwind_proc *buf;
	void *rows_mem, *pages_mem; /* the two arrays, mapped (BPF_F_MMAPABLE) */
	size_t rows_len, pages_len;
	__u64 last_sweep_ns;
	bool warned_full;
	struct unwind_stats st;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static int resize(struct bpf_object *obj, const char *name, __u32 n)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__set_max_entries(m, n) : -ENOENT;
}

int unwind__configure(struct bpf_object *obj, __u32 mode, __u32 rows)
{
	bool cfi = mode == VG_UNWIND_CFI;
	__u32 pages = rows / 16 > 4096 ? rows / 16 : 4096;
	int err;

	/* Arrays are allocated whole at load: keep those a mode does not use at one entry. */
	err = resize(obj, "cfi_rows", cfi ? rows : 1);
	if (!err)
		err = resize(obj, "cfi_pages", cfi ? pages : 1);
	if (!err)
		err = resize(obj, "cfi_tables", cfi ? VG_CFI_TABLES_DEFAULT : 1);
	if (!err && mode == VG_UNWIND_KERNEL)
		err = resize(obj, "unwind_procs", 1);
	return err;
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

static __u32 map_size(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__max_entries(m) : 0;
}

/* An array map's elements are 8-byte aligned in memory, whatever their size. */
static size_t elem_stride(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

static void *map_mem(int fd, __u32 n, size_t size, size_t *len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	*len = ((size_t)n * elem_stride(size) + (size_t)page - 1) & ~((size_t)page - 1);
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

struct unwinder *unwinder__new(struct bpf_object *obj, struct symbolizer *sym, __u32 mode)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->sym = sym;
	u->cfi = mode == VG_UNWIND_CFI;
	u->procs_fd = map_fd(obj, "unwind_procs");
	u->tables_fd = map_fd(obj, "cfi_tables");
	u->pages_fd = map_fd(obj, "cfi_pages");
	u->rows_fd = map_fd(obj, "cfi_rows");
	u->rows_cap = map_size(obj, "cfi_rows");
	u->pages_cap = map_size(obj, "cfi_pages");
	u->tables_cap = map_size(obj, "cfi_tables");
	u->tables = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	u->pids = hashmap__new(hashmap_int_hash, hashmap_int_equal, NULL);
	u->buf = calloc(1, sizeof(*u->buf));
	if (u->procs_fd < 0 || u->tables_fd < 0 || u->pages_fd < 0 || u->rows_fd < 0) {
		unwinder__free(u);
		errno = ENOENT;
		return NULL;
	}
	if (u->cfi) {
		u->rows_mem =
			map_mem(u->rows_fd, u->rows_cap, sizeof(struct vg_cfi_row), &u->rows_len);
		u->pages_mem = map_mem(u->pages_fd, u->pages_cap, sizeof(__u32), &u->pages_len);
		if (!u->rows_mem || !u->pages_mem) {
			int err = errno;

			unwinder__free(u);
			errno = err;
			return NULL;
		}
	}
	if (!u->tables || !u->pids || !u->buf) {
		unwinder__free(u);
		errno = ENOMEM;
		return NULL;
	}
	u->last_sweep_ns = now_ns();
	return u;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	hashmap__free(u->tables);
	hashmap__free(u->pids);
	free(u->buf);
	if (u->rows_mem)
		munmap(u->rows_mem, u->rows_len);
	if (u->pages_mem)
		munmap(u->pages_mem, u->pages_len);
	free(u);
}

/* Writes n values of size bytes at index first of the mapped array mem. */
static void write_range(void *mem, __u32 first, const void *vals, size_t n, size_t size)
{
	size_t stride = elem_stride(size);
	char *dst = (char *)mem + (size_t)first * stride;

	if (stride == size) {
		memcpy(dst, vals, n * size);
		return;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(dst + i * stride, (const char *)vals + i * size, size);
}

/* The table id of t, loading it on first use; VG_CFI_NO_TABLE when it cannot be loaded. */
static __u32 table_id(struct unwinder *u, const struct cfi_table *t)
{
	struct vg_cfi_table d = { 0 };
	size_t nrows = cfi_table__nr_rows(t), npages = cfi_table__nr_pages(t);
	uintptr_t v;
	__u64 t0;
	int err;

	if (hashmap__get(u->tables, t, &v))
		return v ? (__u32)(v - 1) : VG_CFI_NO_TABLE;
	if (u->ntables >= u->tables_cap || nrows > u->rows_cap - u->rows_used ||
	    npages > u->pages_cap - u->pages_used) {
		u->st.files_full++;
		if (!u->warned_full)
			pr_debug(
				"unwind tables full (%u rows, %u files): further files unwind by frame pointers (raise --unwind-rows)",
				u->rows_used, u->ntables);
		u->warned_full = true;
		hashmap__set(u->tables, t, 0);
		return VG_CFI_NO_TABLE;
	}
	t0 = now_ns();
	d.row_start = u->rows_used;
	d.nrows = (__u32)nrows;
	d.page_start = u->pages_used;
	d.npages = (__u32)npages;
	d.first_page = cfi_table__first_page(t);
	/* Rows and pages first, the descriptor last (a syscall: ordered after the stores); BPF
	 * reaches them only through it. */
	write_range(u->rows_mem, d.row_start, cfi_table__rows(t), nrows, sizeof(struct vg_cfi_row));
	write_range(u->pages_mem, d.page_start, cfi_table__pages(t), npages, sizeof(__u32));
	err = bpf_map_update_elem(u->tables_fd, &u->ntables, &d, BPF_ANY) ? -errno : 0;
	if (err) {
		pr_debug("loading an unwind table failed: %s", strerror(-err));
		hashmap__set(u->tables, t, 0);
		return VG_CFI_NO_TABLE;
	}
	u->rows_used += d.nrows;
	u->pages_used += d.npages;
	u->st.files++;
	u->st.rows += nrows;
	u->st.bytes += cfi_table__bytes(t);
	u->st.load_ms += (double)(now_ns() - t0) / 1e6;
	if (hashmap__set(u->tables, t, (uintptr_t)u->ntables + 1))
		return VG_CFI_NO_TABLE;
	return u->ntables++;
}

static int add_map(void *ctx, const struct sym_exec_map *m)
{
	struct unwinder *u = ctx;
	struct vg_unwind_map *um;

	if (u->buf->n >= VG_UNWIND_MAX_MAPS) {
		u->st.maps_dropped++;
		return 0;
	}
	um = &u->buf->maps[u->buf->n++];
	um->start = m->start;
	um->end = m->end;
	um->offset = m->pgoff;
	um->table = u->cfi && m->cfi ? table_id(u, m->cfi) : VG_CFI_NO_TABLE;
	um->pad = 0;
	return 0;
}

int unwinder__load_pid(struct unwinder *u, __u32 pid)
{
	__u64 gen = symbolizer__generation(u->sym, pid);
	bool had = hashmap__get(u->pids, (const void *)(uintptr_t)pid, NULL);

	memset(u->buf, 0, offsetof(struct vg_unwind_proc, maps));
	u->buf->n = 0;
	u->buf->gen = (__u32)gen;
	/* Unknown or gone: an empty table still tells BPF not to ask again. */
	symbolizer__exec_maps(u->sym, pid, add_map, u);
	if (bpf_map_update_elem(u->procs_fd, &pid, u->buf, BPF_ANY)) {
		int err = -errno;

		pr_debug("unwind table of pid %u: %s", pid, strerror(errno));
		return err;
	}
	u->st.loads++;
	if (hashmap__set(u->pids, (const void *)(uintptr_t)pid, (uintptr_t)gen + 1))
		return -ENOMEM;
	if (!had)
		u->st.pids++;
	return 0;
}

int unwinder__watch(struct unwinder *u, __u32 pid)
{
	if (hashmap__get(u->pids, (const void *)(uintptr_t)pid, NULL))
		return 0;
	/* Generation 0 (unknown) loaded + 1: the first image the symbolizer records differs. */
	if (symbolizer__generation(u->sym, pid))
		return unwinder__load_pid(u, pid);
	return hashmap__set(u->pids, (const void *)(uintptr_t)pid, 1);
}

struct pid_list {
	__u32 *v;
	size_t n, cap;
};

static int collect_pid(const void *key, uintptr_t value, void *arg)
{
	struct pid_list *l = arg;

	(void)value;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		__u32 *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (__u32)(uintptr_t)key;
	return 0;
}

void unwinder__tick(struct unwinder *u)
{
	struct pid_list l = { 0 };
	bool sweep = now_ns() - u->last_sweep_ns >= SWEEP_NS;

	hashmap__for_each(u->pids, collect_pid, &l);
	if (sweep)
		u->last_sweep_ns = now_ns();
	for (size_t i = 0; i < l.n; i++) {
		__u32 pid = l.v[i];
		uintptr_t loaded = 0;

		if (sweep && kill((pid_t)pid, 0) && errno == ESRCH) {
			bpf_map_delete_elem(u->procs_fd, &pid);
			hashmap__delete(u->pids, (const void *)(uintptr_t)pid);
			u->st.pids--;
			continue;
		}
		hashmap__get(u->pids, (const void *)(uintptr_t)pid, &loaded);
		if (loaded != symbolizer__generation(u->sym, pid) + 1)
			unwinder__load_pid(u, pid);
	}
	free(l.v);
}

void unwinder__stats(const struct unwinder *u, struct unwind_stats *out)
{
	*out = u->st;
}
