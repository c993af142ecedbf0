// SPDX-License-Identifier: GPL-2.0
/* ELF symbol tables, build-ids and program headers through libelf. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gelf.h>
#include <zlib.h>

#include "symbols/cfi.h"
#include "symbols/elf.h"
#include "symbols/mapfile.h"
#include "util/log.h"
#include "symbols/procmaps.h"

#define DEFAULT_DEBUG_DIR "/usr/lib/debug"

struct esym {
	__u64 addr, end;
	__u32 name; /* offset into names */
};

/* Another name of a kept symbol, for lookups by name. */
struct ealias {
	__u32 name; /* offset into names */
	__u32 sym; /* index into syms */
};

struct elf_file {
	__u8 build_id[ELF_BUILD_ID_MAX];
	size_t build_id_len;
	char build_id_hex[2 * ELF_BUILD_ID_MAX + 1];
	__u32 type;
	struct elf_segment *segs;
	size_t nsegs;
	struct esym *syms;
	size_t nsyms;
	struct ealias *aliases;
	size_t naliases;
	char *names;
	size_t names_len;
	char *debug_path;
	size_t dropped; /* function symbols over the cap */
	struct cfi_range *fdes; /* FDE extents, sorted: the functions CFI knows of */
	size_t nfdes;
	struct cfi_table *cfi; /* unwind rows (elf_opts.cfi, elf_file__build_cfi), or NULL */
	bool cfi_tried;
};

/* A symbol while collecting: name points into a live Elf handle. 32 bytes, so qsort moves it fast. */
struct tsym {
	__u64 addr, size;
	const char *name;
	__u32 sec_left; /* bytes from addr to the end of its section; 0 when unknown */
	__u8 bind_rank; /* 0 global, 1 weak, 2 local */
};

struct collect {
	struct tsym *v;
	size_t n, cap;
	size_t max; /* keep at most this many */
	size_t dropped; /* functions seen over max */
	size_t funcs_in_symtab; /* functions found in a .symtab */
};

void elf__hex(const __u8 *id, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * len] = '\0';
}

static Elf *begin(int fd)
{
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e) {
		errno = EIO;
		return NULL;
	}
	if (elf_kind(e) != ELF_K_ELF) {
		elf_end(e);
		errno = ENOEXEC;
		return NULL;
	}
	return e;
}

/* Scans one Elf_Data of notes for NT_GNU_BUILD_ID. */
static int data_build_id(Elf_Data *d, __u8 *buf, size_t size)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!d || !d->d_buf)
		return 0;
	while (off < d->d_size && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp((char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz > 0) {
			size_t n = nh.n_descsz < size ? nh.n_descsz : size;

			memcpy(buf, (char *)d->d_buf + desc_off, n);
			return (int)n;
		}
		off = next;
	}
	return 0;
}

static int elf_build_id(Elf *e, __u8 *buf, size_t size)
{
	Elf_Scn *scn = NULL;
	size_t nph = 0;
	GElf_Shdr sh;
	GElf_Phdr ph;
	int n;

	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		n = data_build_id(elf_getdata(scn, NULL), buf, size);
		if (n > 0)
			return n;
	}
	/* No section headers (or no note section): the PT_NOTE segments. */
	if (elf_getphdrnum(e, &nph))
		return 0;
	for (size_t i = 0; i < nph; i++) {
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		n = data_build_id(
			elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR), buf,
			size);
		if (n > 0)
			return n;
	}
	return 0;
}

int elf__read_build_id(int fd, __u8 *buf, size_t size)
{
	Elf *e = begin(fd);
	int n;

	if (!e)
		return -errno;
	n = elf_build_id(e, buf, size);
	elf_end(e);
	return n;
}

int elf__notes_build_id(const void *notes, size_t len, __u8 *buf, size_t size)
{
	const __u8 *p = notes;
	size_t off = 0;

	while (len - off >= 12) {
		__u32 nh[3];
		size_t namesz, descsz, name_off, desc_off;

		memcpy(nh, p + off, sizeof(nh));
		namesz = nh[0];
		descsz = nh[1];
		name_off = off + 12;
		if (namesz > len - name_off)
			return 0;
		desc_off = name_off + ((namesz + 3) & ~(size_t)3);
		if (desc_off > len || descsz > len - desc_off)
			return 0;
		if (nh[2] == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(p + name_off, "GNU", 4) &&
		    descsz) {
			size_t n = descsz < size ? descsz : size;

			memcpy(buf, p + desc_off, n);
			return (int)n;
		}
		off = desc_off + ((descsz + 3) & ~(size_t)3);
		if (off > len)
			return 0;
	}
	return 0;
}

static int read_segments(struct elf_file *f, Elf *e)
{
	size_t nph = 0;
	GElf_Phdr ph;

	if (elf_getphdrnum(e, &nph))
		return 0;
	f->segs = calloc(nph ? nph : 1, sizeof(*f->segs));
	if (!f->segs)
		return -ENOMEM;
	for (size_t i = 0; i < nph; i++) {
		struct elf_segment *s;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		s = &f->segs[f->nsegs++];
		s->offset = ph.p_offset;
		s->vaddr = ph.p_vaddr;
		s->filesz = ph.p_filesz;
		s->memsz = ph.p_memsz;
		s->flags = ph.p_flags;
	}
	return 0;
}

/* Room for `more` symbols (a symbol table's entry count bounds what it adds). */
static int reserve(struct collect *c, size_t more)
{
	struct tsym *v;

	if (c->cap - c->n >= more)
		return 0;
	v = realloc(c->v, (c->n + more) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	procmaps__prefault(v + c->n, more * sizeof(*v));
	c->v = v;
	c->cap = c->n + more;
	return 0;
}

static void push(struct collect *c, const struct tsym *t)
{
	c->v[c->n++] = *t;
}

/*
 * Adds the function symbols of every symbol table of type `type` in e. Section ends come from e's own
 * section headers (a debug file keeps them, as NOBITS).
 */
static int collect_syms(Elf *e, Elf64_Word type, struct collect *c)
{
	Elf_Scn *scn = NULL;
	size_t shnum = 0;
	__u64 *sec = NULL; /* per section: start, end (allocated sections only) */
	GElf_Shdr sh;
	int err = 0;

	if (elf_getshdrnum(e, &shnum) || !shnum)
		return 0;
	sec = calloc(shnum, 2 * sizeof(*sec));
	if (!sec)
		return -ENOMEM;
	while ((scn = elf_nextscn(e, scn))) {
		size_t i = elf_ndxscn(scn);

		if (i < shnum && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC)) {
			sec[2 * i] = sh.sh_addr;
			sec[2 * i + 1] = sh.sh_addr + sh.sh_size;
		}
	}
	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *d;
		size_t count;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		count = sh.sh_size / sh.sh_entsize;
		err = reserve(c, count < c->max - c->n ? count : c->max - c->n);
		if (err)
			goto out;
		for (size_t i = 0; i < count; i++) {
			struct tsym t = { 0 };
			unsigned char st, sb;
			GElf_Sym sym;

			if (!gelf_getsym(d, (int)i, &sym))
				break;
			st = GELF_ST_TYPE(sym.st_info);
			sb = GELF_ST_BIND(sym.st_info);
			/* (the last address of the address space holds no function: a symbol's
			 * [addr, end) could not even say so; a crafted file gave one of size 0) */
			if ((st != STT_FUNC && st != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
			    !sym.st_value || sym.st_value == ~0ULL)
				continue;
			t.name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!t.name || !*t.name)
				continue;
			t.addr = sym.st_value;
			t.size = sym.st_size;
			if (c->n == c->max) {
				c->dropped++;
				continue;
			}
			t.bind_rank = sb == STB_GLOBAL ? 0 : sb == STB_WEAK ? 1 : 2;
			if (sym.st_shndx < SHN_LORESERVE && sym.st_shndx < shnum &&
			    sec[2 * sym.st_shndx] <= t.addr && t.addr < sec[2 * sym.st_shndx + 1] &&
			    sec[2 * sym.st_shndx + 1] - t.addr <= 0xffffffffULL)
				t.sec_left = (__u32)(sec[2 * sym.st_shndx + 1] - t.addr);
			push(c, &t);
			if (type == SHT_SYMTAB)
				c->funcs_in_symtab++;
		}
	}
out:
	free(sec);
	return err;
}

static int underscores(const char *s)
{
	int n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

static int cmp_tsym(const void *a, const void *b)
{
	const struct tsym *x = a, *y = b;
	int ux, uy;
	size_t lx, ly;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Same address: the preferred name first. */
	if (!x->size != !y->size)
		return x->size ? -1 : 1;
	ux = underscores(x->name);
	uy = underscores(y->name);
	if (ux != uy)
		return ux < uy ? -1 : 1;
	if (x->bind_rank != y->bind_rank)
		return x->bind_rank < y->bind_rank ? -1 : 1;
	lx = strlen(x->name);
	ly = strlen(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

static __u64 segment_end(const struct elf_file *f, __u64 vaddr)
{
	for (size_t i = 0; i < f->nsegs; i++)
		if (vaddr >= f->segs[i].vaddr && vaddr - f->segs[i].vaddr < f->segs[i].memsz)
			return f->segs[i].vaddr + f->segs[i].memsz;
	return 0;
}

/* Sorts, collapses aliases, computes extents and copies names out of the Elf handles. */
static int finish_syms(struct elf_file *f, struct collect *c)
{
	size_t nuniq = 0, nalias = 0, total = 0, off = 0;

	if (c->n) /* c->v may be NULL: a file without symbols (UBSan: qsort's nonnull) */
		qsort(c->v, c->n, sizeof(*c->v), cmp_tsym);
	for (size_t i = 0; i < c->n; i++) {
		if (i && c->v[i].addr == c->v[i - 1].addr) {
			/* The same name from .symtab and .dynsym sorts next to itself. */
			if (!strcmp(c->v[i].name, c->v[i - 1].name))
				continue;
			nalias++;
		} else {
			nuniq++;
		}
		total += strlen(c->v[i].name) + 1;
	}
	f->names_len = total;
	f->syms = malloc((nuniq ? nuniq : 1) * sizeof(*f->syms));
	f->aliases = malloc((nalias ? nalias : 1) * sizeof(*f->aliases));
	f->names = malloc(total ? total : 1);
	if (!f->syms || !f->aliases || !f->names)
		return -ENOMEM;
	procmaps__prefault(f->names, total);
	procmaps__prefault(f->syms, nuniq * sizeof(*f->syms));
	for (size_t i = 0; i < c->n;) {
		const struct tsym *t = &c->v[i];
		struct esym *s = &f->syms[f->nsyms++];
		size_t j = i + 1, l = strlen(t->name) + 1;

		s->addr = t->addr;
		s->name = (__u32)off;
		memcpy(f->names + off, t->name, l);
		off += l;
		for (; j < c->n && c->v[j].addr == t->addr; j++) {
			if (!strcmp(c->v[j].name, c->v[j - 1].name))
				continue;
			l = strlen(c->v[j].name) + 1;
			f->aliases[f->naliases].name = (__u32)off;
			f->aliases[f->naliases++].sym = (__u32)(f->nsyms - 1);
			memcpy(f->names + off, c->v[j].name, l);
			off += l;
		}
		if (t->size) {
			/* A size running past the end of the address space (a crafted st_size). */
			s->end = t->addr + t->size > t->addr ? t->addr + t->size : ~0ULL;
		} else {
			__u64 end = j < c->n ? c->v[j].addr : 0;
			__u64 cap = t->sec_left ? t->addr + t->sec_left : 0;

			if (!cap)
				cap = segment_end(f, t->addr);
			if (!end || (cap && cap < end))
				end = cap;
			s->end = end > t->addr ? end : t->addr + 1;
		}
		i = j;
	}
	return 0;
}

/* .gnu_debuglink: NUL-terminated name, padding to 4, CRC-32 in the file's byte order. */
static int read_debuglink(Elf *e, char *name, size_t size, __u32 *crc)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Ehdr eh;

	if (elf_getshdrstrndx(e, &shstrndx) || !gelf_getehdr(e, &eh))
		return -ENOENT;
	while ((scn = elf_nextscn(e, scn))) {
		const char *sn;
		Elf_Data *d;
		size_t l, coff;
		__u8 b[4];

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		sn = elf_strptr(e, shstrndx, sh.sh_name);
		if (!sn || strcmp(sn, ".gnu_debuglink"))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return -ENOENT;
		l = strnlen(d->d_buf, d->d_size);
		coff = (l + 4) & ~(size_t)3;
		if (!l || l >= size || coff + 4 > d->d_size)
			return -ENOENT;
		memcpy(name, d->d_buf, l);
		name[l] = '\0';
		if (strchr(name, '/'))
			return -ENOENT;
		memcpy(b, (char *)d->d_buf + coff, 4);
		if (eh.e_ident[EI_DATA] == ELFDATA2MSB)
			*crc = (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
		else
			*crc = (__u32)b[3] << 24 | (__u32)b[2] << 16 | (__u32)b[1] << 8 | b[0];
		return 0;
	}
	return -ENOENT;
}

static int file_crc(int fd, __u32 *out)
{
	size_t size = 1 << 20;
	unsigned char *buf = malloc(size);
	uLong crc = crc32(0L, Z_NULL, 0);
	off_t pos = 0;
	ssize_t r;

	if (!buf)
		return -ENOMEM;
	while ((r = pread(fd, buf, size, pos)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(buf);
			return (int)r;
		}
		crc = crc32(crc, buf, (uInt)r);
		pos += r;
	}
	free(buf);
	*out = (__u32)crc;
	return 0;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return a >= 0 && b >= 0 && !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* A candidate debug file: a regular file under the size cap, resolved inside rfd's tree. */
static int open_candidate(int rfd, const char *candidate, const struct elf_opts *opts)
{
	int fd = mapfile__open_in_root(rfd, candidate, 0, opts ? opts->max_debug_size : 0, NULL);

	if (fd < 0 && fd != -ENOENT && fd != -ENOTDIR)
		pr_debug("debug file '%s' not opened: %s", candidate, strerror(-fd));
	return fd < 0 ? -1 : fd;
}

/* Opens candidate as a debug file for f: returns its fd or -1. */
static int try_debug_build_id(const struct elf_file *f, int rfd, const char *candidate,
			      const struct elf_opts *opts, int self_fd)
{
	__u8 id[ELF_BUILD_ID_MAX];
	int fd = open_candidate(rfd, candidate, opts), n;

	if (fd < 0)
		return -1;
	n = elf__read_build_id(fd, id, sizeof(id));
	if (same_file(fd, self_fd) || n != (int)f->build_id_len ||
	    memcmp(id, f->build_id, f->build_id_len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int try_debug_crc(int rfd, const char *candidate, const struct elf_opts *opts, __u32 crc,
			 int self_fd)
{
	int fd = open_candidate(rfd, candidate, opts);
	__u32 got = 0;

	if (fd < 0)
		return -1;
	if (same_file(fd, self_fd) || file_crc(fd, &got) || got != crc) {
		if (!same_file(fd, self_fd))
			pr_debug("debug file '%s' ignored: crc mismatch", candidate);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Finds the separate debug file; returns an fd (and sets f->debug_path) or -1. Inside a process's
 * root (opts->in_root) its own debug directory comes first, every name resolved in that root;
 * then the host's debug_dir.
 */
static int find_debug(struct elf_file *f, Elf *e, const char *path, const struct elf_opts *opts,
		      int self_fd)
{
	const char *ddir = opts && opts->debug_dir ? opts->debug_dir : DEFAULT_DEBUG_DIR;
	bool in_root = opts && opts->in_root;
	int rfd = in_root ? opts->root_fd : AT_FDCWD;
	char cand[PATH_MAX], link[256], dir[PATH_MAX];
	const char *slash;
	__u32 crc;
	int fd;

	for (int i = in_root ? 0 : 1; i < 2 && *ddir && f->build_id_len >= 2; i++) {
		int n = snprintf(cand, sizeof(cand), "%s/.build-id/%02x/",
				 i ? ddir : DEFAULT_DEBUG_DIR, f->build_id[0]);

		if (n > 0 && (size_t)n + 2 * f->build_id_len + 7 < sizeof(cand)) {
			elf__hex(f->build_id + 1, f->build_id_len - 1, cand + n);
			strcat(cand, ".debug");
			fd = try_debug_build_id(f, i ? AT_FDCWD : rfd, cand, opts, self_fd);
			if (fd >= 0)
				goto found;
		}
	}
	if (!path || read_debuglink(e, link, sizeof(link), &crc))
		return -1;
	slash = strrchr(path, '/');
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	/* DIR/LINK, DIR/.debug/LINK, the root's /usr/lib/debug/DIR/LINK, the host's DEBUG_DIR/DIR/LINK */
	const struct {
		int rfd;
		const char *pre, *mid;
	} c[4] = {
		{ rfd, "", "" },
		{ rfd, "", "/.debug" },
		{ rfd, in_root ? DEFAULT_DEBUG_DIR : NULL, "" },
		{ AT_FDCWD, ddir, "" },
	};
	for (int i = 0; i < 4; i++) {
		if (i >= 2 && (!c[i].pre || !*ddir || dir[0] != '/'))
			continue;
		if (snprintf(cand, sizeof(cand), "%s%s%s/%s", c[i].pre, dir, c[i].mid, link) >=
		    (int)sizeof(cand))
			continue;
		fd = try_debug_crc(c[i].rfd, cand, opts, crc, self_fd);
		if (fd >= 0)
			goto found;
	}
	return -1;
found:
	f->debug_path = strdup(cand);
	if (!f->debug_path) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct elf_file *parse(Elf *e, int fd, const char *path, const struct elf_opts *opts)
{
	struct elf_file *f = calloc(1, sizeof(*f));
	struct collect c = { .max = opts && opts->max_symbols ? opts->max_symbols :
								ELF_MAX_SYMBOLS };
	Elf *de = NULL;
	int dfd = -1, err = -ENOMEM, n;
	GElf_Ehdr eh;

	if (!f)
		goto fail;
	if (!gelf_getehdr(e, &eh)) {
		err = -ENOEXEC;
		goto fail;
	}
	f->type = eh.e_type;
	n = elf_build_id(e, f->build_id, sizeof(f->build_id));
	f->build_id_len = n > 0 ? (size_t)n : 0;
	elf__hex(f->build_id, f->build_id_len, f->build_id_hex);
	err = read_segments(f, e);
	if (err)
		goto fail;
	err = collect_syms(e, SHT_SYMTAB, &c);
	if (!err)
		err = collect_syms(e, SHT_DYNSYM, &c);
	if (err)
		goto fail;
	if (!c.funcs_in_symtab && fd >= 0 && !(opts && opts->no_debug)) {
		dfd = find_debug(f, e, path, opts, fd);
		if (dfd >= 0) {
			de = begin(dfd);
			if (de) {
				err = collect_syms(de, SHT_SYMTAB, &c);
				if (err)
					goto fail;
			}
		}
	}
	err = finish_syms(f, &c);
	if (err)
		goto fail;
	f->dropped = c.dropped;
	/* Function extents from the CFI name code no symbol covers; best effort. */
	if (cfi__fde_ranges(e, &f->fdes, &f->nfdes))
		f->nfdes = 0;
	if (opts && opts->cfi) {
		f->cfi = cfi_table__build(e, de);
		f->cfi_tried = true;
	}
	free(c.v);
	if (de)
		elf_end(de);
	if (dfd >= 0)
		close(dfd);
	return f;
fail:
	free(c.v);
	if (de)
		elf_end(de);
	if (dfd >= 0)
		close(dfd);
	elf_file__free(f);
	errno = -err;
	return NULL;
}

struct elf_file *elf_file__open_fd(int fd, const char *path, const struct elf_opts *opts)
{
	Elf *e = begin(fd);
	struct elf_file *f;
	int err;

	if (!e)
		return NULL;
	f = parse(e, fd, path, opts);
	err = errno;
	elf_end(e);
	errno = err;
	return f;
}

struct elf_file *elf_file__open(const char *path, const struct elf_opts *opts)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	struct elf_file *f;

	if (fd < 0)
		return NULL;
	f = elf_file__open_fd(fd, path, opts);
	err = errno;
	close(fd);
	errno = err;
	return f;
}

struct elf_file *elf_file__open_mem(const void *buf, size_t len, const struct elf_opts *opts)
{
	char *copy = malloc(len ? len : 1);
	struct elf_file *f = NULL;
	int err = ENOEXEC;
	Elf *e;

	if (!copy) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(copy, buf, len);
	if (elf_version(EV_CURRENT) != EV_NONE && (e = elf_memory(copy, len))) {
		if (elf_kind(e) == ELF_K_ELF) {
			f = parse(e, -1, NULL, opts);
			err = errno;
		}
		elf_end(e);
	}
	free(copy);
	if (!f)
		errno = err;
	return f;
}

void elf_file__free(struct elf_file *f)
{
	if (!f)
		return;
	free(f->segs);
	free(f->syms);
	free(f->aliases);
	free(f->names);
	free(f->debug_path);
	free(f->fdes);
	cfi_table__free(f->cfi);
	free(f);
}

const struct cfi_table *elf_file__cfi(const struct elf_file *f)
{
	return f->cfi;
}

bool elf_file__cfi_tried(const struct elf_file *f)
{
	return f->cfi_tried;
}

int elf_file__build_cfi(struct elf_file *f, int fd)
{
	Elf *e;
	int err = 0;

	if (f->cfi_tried)
		return f->cfi ? 0 : -ENOENT;
	f->cfi_tried = true;
	if (fd < 0)
		return -EBADF;
	e = begin(fd);
	if (!e)
		return -errno;
	f->cfi = cfi_table__build(e, NULL);
	if (!f->cfi)
		err = -errno;
	elf_end(e);
	return err;
}

int elf_file__enclosing(const struct elf_file *f, __u64 vaddr, __u64 *start)
{
	size_t lo = 0, hi = f->nfdes;

	/* The last FDE starting at or before vaddr, if it covers it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->fdes[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && vaddr < f->fdes[lo - 1].end) {
		*start = f->fdes[lo - 1].start;
		return 0;
	}
	/* Else the gap in the symbol table: it starts where the symbol below vaddr ends. */
	lo = 0;
	hi = f->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || f->syms[lo - 1].end > vaddr)
		return -ENOENT;
	*start = f->syms[lo - 1].end;
	return 0;
}

size_t elf_file__build_id(const struct elf_file *f, const __u8 **id)
{
	if (id)
		*id = f->build_id_len ? f->build_id : NULL;
	return f->build_id_len;
}

const char *elf_file__build_id_hex(const struct elf_file *f)
{
	return f->build_id_hex;
}

const char *elf_file__debug_path(const struct elf_file *f)
{
	return f->debug_path;
}

size_t elf_file__dropped_symbols(const struct elf_file *f)
{
	return f->dropped;
}

size_t elf_file__memory(const struct elf_file *f)
{
	return sizeof(*f) + f->nsegs * sizeof(*f->segs) + f->nsyms * sizeof(*f->syms) +
	       f->naliases * sizeof(*f->aliases) + f->names_len;
}

__u32 elf_file__type(const struct elf_file *f)
{
	return f->type;
}

size_t elf_file__nr_segments(const struct elf_file *f)
{
	return f->nsegs;
}

const struct elf_segment *elf_file__segment(const struct elf_file *f, size_t i)
{
	return i < f->nsegs ? &f->segs[i] : NULL;
}

int elf_file__off_to_vaddr(const struct elf_file *f, __u64 off, __u64 *vaddr)
{
	const struct elf_segment *best = NULL;

	/* Exact: the segment's file bytes hold off; executable segments win. */
	for (size_t i = 0; i < f->nsegs; i++) {
		const struct elf_segment *s = &f->segs[i];

		if (off >= s->offset && off - s->offset < s->filesz) {
			if (!best || ((s->flags & PF_X) && !(best->flags & PF_X)))
				best = s;
		}
	}
	/* A mapping starts on a page boundary: the bytes before p_offset in that page belong to it. */
	for (size_t i = 0; !best && i < f->nsegs; i++) {
		const struct elf_segment *s = &f->segs[i];
		__u64 page = s->offset & ~0xfffULL;

		if (off >= page && off < s->offset)
			best = s;
	}
	if (!best)
		return -ENOENT;
	*vaddr = off - best->offset + best->vaddr;
	return 0;
}

size_t elf_file__nr_symbols(const struct elf_file *f)
{
	return f->nsyms;
}

static void fill(const struct elf_file *f, const struct esym *s, struct elf_symbol *out)
{
	out->name = f->names + s->name;
	out->addr = s->addr;
	out->size = s->end - s->addr;
}

int elf_file__lookup(const struct elf_file *f, __u64 vaddr, struct elf_symbol *out)
{
	size_t lo = 0, hi = f->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Usually the nearest symbol below; a few more back in case it nests inside a larger one. */
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++) {
		const struct esym *s = &f->syms[i - 1];

		if (vaddr < s->end) {
			fill(f, s, out);
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__find(const struct elf_file *f, const char *name, struct elf_symbol *out)
{
	for (size_t i = 0; i < f->nsyms; i++) {
		if (!strcmp(f->names + f->syms[i].name, name)) {
			fill(f, &f->syms[i], out);
			return 0;
		}
	}
	for (size_t i = 0; i < f->naliases; i++) {
		if (!strcmp(f->names + f->aliases[i].name, name)) {
			fill(f, &f->syms[f->aliases[i].sym], out);
			out->name = f->names + f->aliases[i].name;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__symbol(const struct elf_file *f, size_t i, struct elf_symbol *out)
{
	if (i >= f->nsyms)
		return -ENOENT;
	fill(f, &f->syms[i], out);
	return 0;
}
