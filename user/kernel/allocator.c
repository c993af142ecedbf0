// SPDX-License-Identifier: GPL-2.0
/*
 * Which object's malloc a process calls. The dynamic linker binds malloc to the first object in
 * its search order that defines it: the executable, LD_PRELOAD libraries, then the DT_NEEDED
 * libraries breadth first; libc comes last in practice. So an object other than libc that defines
 * malloc (jemalloc, tcmalloc, a static binary) is the allocator, and libc is the fallback.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "kernel/allocator.h"
#include "kernel/uprobe.h"
#include "symbols/elf.h"
#include "symbols/mapfile.h"
#include "symbols/procmaps.h"
#include "util/cli.h"
#include "util/log.h"

static const struct {
	const char *name;
	enum alloc_call call;
	bool required;
} c_funcs[] = {
	{ "malloc", ALLOC_MALLOC, true },
	{ "free", ALLOC_FREE, true },
	{ "calloc", ALLOC_CALLOC, false },
	{ "realloc", ALLOC_REALLOC, false },
	{ "reallocarray", ALLOC_REALLOCARRAY, false },
	{ "posix_memalign", ALLOC_POSIX_MEMALIGN, false },
	{ "aligned_alloc", ALLOC_ALIGNED, false },
	{ "memalign", ALLOC_ALIGNED, false },
	{ "valloc", ALLOC_MALLOC, false },
	{ "pvalloc", ALLOC_PVALLOC, false },
};

/* operator new in its eight forms (size first in all); delete reaches free. */
static const char *const cxx_new[] = {
	"_Znwm",
	"_Znam",
	"_ZnwmRKSt9nothrow_t",
	"_ZnamRKSt9nothrow_t",
	"_ZnwmSt11align_val_t",
	"_ZnamSt11align_val_t",
	"_ZnwmSt11align_val_tRKSt9nothrow_t",
	"_ZnamSt11align_val_tRKSt9nothrow_t",
};

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static bool is_libc(const char *path)
{
	return uprobe_lib_matches(base_of(path), "libc");
}

static bool is_regular(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static struct elf_file *open_elf(const char *path)
{
	struct elf_opts o = { .no_debug = true };

	return elf_file__open(path, &o);
}

/* Does the ELF file define function name? */
static bool defines(const char *path, const char *name)
{
	struct elf_file *ef = open_elf(path);
	struct elf_symbol s;
	bool yes;

	if (!ef)
		return false;
	yes = elf_file__find(ef, name, &s) == 0;
	elf_file__free(ef);
	return yes;
}

/* A process's mapped file as a path vigil can read and attach uprobes to, never one its symlinks
 * lead out of its root (symbols/mapfile.h). */
static int mapped_path(__u32 pid, const struct procmaps_line *l, const char *p, char *out,
		       size_t len)
{
	struct mapfile_want w = {
		.pid = pid,
		.start = l->start,
		.end = l->end,
		.maj = l->maj,
		.min = l->min,
		.ino = l->ino,
		.path = p,
	};
	int err = mapfile__path(&w, out, len);

	if (err)
		pr_debug("mem: not using '%s' of process %u: %s", p, pid, strerror(-err));
	return !err;
}

/* Mapped files of pid defining sym: the first that is not libc, else libc. */
static int from_maps(__u32 pid, const char *sym, struct allocator *a)
{
	char path[64], line[4096], file[PATH_MAX], libc[PATH_MAX] = "", last[PATH_MAX] = "";
	char libc_shown[PATH_MAX] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return cli_error("mem", "cannot read the mappings of process %u: %s", pid,
				 strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		struct procmaps_line pl;
		char p[PATH_MAX];

		if (procmaps__parse_line(line, strlen(line), &pl) || pl.deleted || !pl.path_len ||
		    pl.path[0] != '/' || pl.path_len >= sizeof(p))
			continue;
		memcpy(p, pl.path, pl.path_len);
		p[pl.path_len] = '\0';
		if (!strcmp(p, last))
			continue;
		snprintf(last, sizeof(last), "%s", p);
		if (!mapped_path(pid, &pl, p, file, sizeof(file)))
			continue;
		if (!*a->cxx_path && uprobe_lib_matches(base_of(p), "libstdc++"))
			snprintf(a->cxx_path, sizeof(a->cxx_path), "%s", file);
		if (!is_libc(p) && !*a->path && defines(file, sym)) {
			snprintf(a->path, sizeof(a->path), "%s", file);
			snprintf(a->shown, sizeof(a->shown), "%s", p);
		} else if (is_libc(p) && !*libc) {
			snprintf(libc, sizeof(libc), "%s", file);
			snprintf(libc_shown, sizeof(libc_shown), "%s", p);
		}
	}
	fclose(f);
	/* libc even without sym: the function check then names what it has instead. */
	if (!*a->path && *libc) {
		snprintf(a->path, sizeof(a->path), "%s", libc);
		snprintf(a->shown, sizeof(a->shown), "%s", libc_shown);
	}
	if (!*a->path)
		return cli_error("mem",
				 "process %u maps no allocator: no libc and no object defining %s "
				 "(statically linked without malloc? give --lib PATH)",
				 pid, sym);
	snprintf(a->why, sizeof(a->why), "mapped by process %u", pid);
	return 0;
}

/* The executable's DT_NEEDED names, tried in order; an installed name resolves through the linker
 * cache. Calls fn(path) for each found; stops when it returns true. */
static bool each_needed(const char *exe, bool (*fn)(const char *path, void *arg), void *arg)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	bool done = false;
	Elf *e;

	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (e && !done && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0;
		     d && !done && i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 1); i++) {
			char lib[PATH_MAX];
			const char *name;
			GElf_Dyn dyn;

			if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag != DT_NEEDED)
				continue;
			name = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
			if (name && uprobe_find_library(name, 0, lib, sizeof(lib)))
				done = fn(lib, arg);
		}
	}
	elf_end(e);
	close(fd);
	return done;
}

struct needed_scan {
	struct allocator *a;
	const char *sym;
	char libc[PATH_MAX];
};

static bool scan_needed(const char *path, void *arg)
{
	struct needed_scan *s = arg;

	if (!*s->a->cxx_path && uprobe_lib_matches(base_of(path), "libstdc++"))
		snprintf(s->a->cxx_path, sizeof(s->a->cxx_path), "%s", path);
	if (is_libc(path)) {
		snprintf(s->libc, sizeof(s->libc), "%s", path);
		return false;
	}
	if (!*s->a->path && defines(path, s->sym))
		snprintf(s->a->path, sizeof(s->a->path), "%s", path);
	return false;
}

/* COMMAND's executable by PATH lookup, as execvp will find it. */
static int find_exe(const char *cmd, char *out, size_t len)
{
	char *path, *dir, *save = NULL;
	int found = 0;

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return is_regular(out);
	}
	path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	if (!path)
		return 0;
	for (dir = strtok_r(path, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, cmd);
		found = is_regular(out) && access(out, X_OK) == 0;
	}
	free(path);
	return found;
}

static int from_command(const char *cmd, const char *sym, struct allocator *a)
{
	struct needed_scan s = { .a = a, .sym = sym };
	char exe[PATH_MAX], *pre, *tok, *save = NULL;
	struct elf_file *ef;

	if (!find_exe(cmd, exe, sizeof(exe)))
		return 0; /* the runner reports a COMMAND that cannot start */
	if (defines(exe, sym)) {
		snprintf(a->path, sizeof(a->path), "%s", exe);
		snprintf(a->why, sizeof(a->why), "defined by %s", base_of(exe));
		return 0;
	}
	pre = getenv("LD_PRELOAD") ? strdup(getenv("LD_PRELOAD")) : NULL;
	for (tok = pre ? strtok_r(pre, ": ", &save) : NULL; tok && !*a->path;
	     tok = strtok_r(NULL, ": ", &save))
		if (is_regular(tok) && defines(tok, sym))
			snprintf(a->path, sizeof(a->path), "%s", tok);
	free(pre);
	if (*a->path) {
		snprintf(a->why, sizeof(a->why), "LD_PRELOAD");
		each_needed(exe, scan_needed, &s);
		return 0;
	}
	each_needed(exe, scan_needed, &s);
	if (!*a->path && *s.libc)
		snprintf(a->path, sizeof(a->path), "%s", s.libc);
	if (*a->path) {
		snprintf(a->why, sizeof(a->why), "needed by %s", base_of(exe));
		return 0;
	}
	ef = open_elf(exe);
	if (!ef && errno == ENOEXEC)
		return 0; /* a script: its interpreter's libc is found below, host-wide */
	elf_file__free(ef);
	return cli_error("mem",
			 "'%s' links no allocator: no libc and no %s in it or its libraries "
			 "(give --lib PATH)",
			 cmd, sym);
}

static int check_lib(const char *lib, struct allocator *a)
{
	struct elf_file *ef;

	if (!is_regular(lib))
		return cli_error("mem", "--lib '%s': %s", lib,
				 errno ? strerror(errno) : "not a regular file");
	ef = open_elf(lib);
	if (!ef)
		return cli_error("mem", "--lib '%s' is not an ELF file%s%s", lib,
				 errno == ENOEXEC ? "" : ": ",
				 errno == ENOEXEC ? "" : strerror(errno));
	elf_file__free(ef);
	snprintf(a->path, sizeof(a->path), "%s", lib);
	snprintf(a->why, sizeof(a->why), "--lib");
	return 0;
}

/*
 * Where to put a function's entry probe. The kernel emulates a probed push (and a few others), but
 * any other first instruction is single-stepped out of line, a second trap that costs several times
 * the first in VMs (glibc's free starts with test %rdi,%rdi: measured about 20 us against 4 us for
 * malloc's push here). So the probe moves past what changes neither the arguments nor the stack
 * pointer when that lands on a push: an endbr64, and free's NULL test (test %rdi,%rdi; je: free(NULL)
 * is ignored anyway). Any other prologue keeps the probe at the entry.
 */
static __u32 entry_delta(const char *path, __u64 off, bool is_free)
{
	unsigned char b[24];
	__u32 d = 0;
	FILE *f = fopen(path, "rbe");
	bool ok;

	if (!f)
		return 0;
	ok = fseeko(f, (off_t)off, SEEK_SET) == 0 && fread(b, 1, sizeof(b), f) == sizeof(b);
	fclose(f);
	if (!ok)
		return 0;
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		d = 4; /* endbr64 */
	if (is_free && b[d] == 0x48 && b[d + 1] == 0x85 && b[d + 2] == 0xff) {
		if (b[d + 3] == 0x74)
			d += 5; /* test %rdi,%rdi; je rel8 */
		else if (b[d + 3] == 0x0f && b[d + 4] == 0x84)
			d += 9; /* test %rdi,%rdi; je rel32 */
		else
			return 0;
	}
	/* push %reg, push %r8..15 */
	if ((b[d] >= 0x50 && b[d] <= 0x57) ||
	    (b[d] == 0x41 && b[d + 1] >= 0x50 && b[d + 1] <= 0x57))
		return d;
	return 0;
}

static void add_func(struct allocator *a, struct elf_file *ef, const char *path, const char *name,
		     enum alloc_call call, bool cxx)
{
	struct elf_symbol s;

	if (a->nr_funcs >= ALLOCATOR_MAX_FUNCS || elf_file__find(ef, name, &s))
		return;
	/* Aliases (glibc's memalign and aligned_alloc) share an address: one probe. */
	for (int i = 0; i < a->nr_funcs; i++)
		if (a->funcs[i].cxx == cxx && a->funcs[i].addr == s.addr)
			return;
	a->funcs[a->nr_funcs].offset = s.addr;
	for (size_t i = 0; i < elf_file__nr_segments(ef); i++) {
		const struct elf_segment *seg = elf_file__segment(ef, i);

		if (s.addr >= seg->vaddr && s.addr < seg->vaddr + seg->memsz)
			a->funcs[a->nr_funcs].offset = s.addr - seg->vaddr + seg->offset;
	}
	a->funcs[a->nr_funcs].delta =
		entry_delta(path, a->funcs[a->nr_funcs].offset, call == ALLOC_FREE);
	snprintf(a->funcs[a->nr_funcs].name, sizeof(a->funcs[0].name), "%s", name);
	a->funcs[a->nr_funcs].call = call;
	a->funcs[a->nr_funcs].addr = s.addr;
	a->funcs[a->nr_funcs].cxx = cxx;
	a->nr_funcs++;
}

/* The functions a->path has; malloc and free must be there. */
static int list_funcs(struct allocator *a, const char *prefix)
{
	struct elf_file *ef = open_elf(a->path);
	char name[64], hint[256];

	if (!ef)
		return cli_error("mem", "cannot read '%s' as ELF: %s", a->path,
				 errno == ENOEXEC ? "not an ELF file" : strerror(errno));
	for (size_t i = 0; i < sizeof(c_funcs) / sizeof(c_funcs[0]); i++) {
		struct elf_symbol s;

		snprintf(name, sizeof(name), "%s%s", prefix, c_funcs[i].name);
		if (c_funcs[i].required && elf_file__find(ef, name, &s)) {
			uprobe_suggest_functions(ef, name, hint, sizeof(hint));
			elf_file__free(ef);
			return cli_error("mem", "no allocator function '%s' in %s%s%s%s%s", name,
					 a->path, *hint ? " (did you mean: " : "", hint,
					 *hint ? ")" : "",
					 *prefix ? "" : "; a prefixed build needs --prefix");
		}
		add_func(a, ef, a->path, name, c_funcs[i].call, false);
	}
	elf_file__free(ef);
	if (!*a->cxx_path)
		return 0;
	ef = open_elf(a->cxx_path);
	if (!ef) {
		pr_debug("%s: %s; C++ allocations are seen through malloc only", a->cxx_path,
			 strerror(errno));
		a->cxx_path[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < sizeof(cxx_new) / sizeof(cxx_new[0]); i++)
		add_func(a, ef, a->cxx_path, cxx_new[i], ALLOC_MALLOC, true);
	elf_file__free(ef);
	return 0;
}

int allocator_find(const struct allocator_query *q, struct allocator *a)
{
	const char *prefix = q->prefix ? q->prefix : "";
	char sym[64];
	int err = 0;

	memset(a, 0, sizeof(*a));
	snprintf(sym, sizeof(sym), "%smalloc", prefix);
	if (q->lib)
		err = check_lib(q->lib, a);
	else if (q->pid)
		err = from_maps(q->pid, sym, a);
	else if (q->command)
		err = from_command(q->command, sym, a);
	if (err)
		return err;
	if (q->lib && q->pid && !*a->cxx_path) {
		struct allocator m = { 0 };

		/* operator new of the target, if it maps libstdc++ */
		if (uprobe_find_library("libstdc++", q->pid, m.cxx_path, sizeof(m.cxx_path)))
			snprintf(a->cxx_path, sizeof(a->cxx_path), "%s", m.cxx_path);
	}
	if (!*a->path) {
		/* Host-wide: every process that maps libc (and libstdc++). */
		if (!uprobe_find_library("libc", 0, a->path, sizeof(a->path)))
			return cli_error("mem",
					 "cannot find libc in the linker cache (give --lib PATH)");
		snprintf(a->why, sizeof(a->why), "linker cache");
		if (!q->pid)
			uprobe_find_library("libstdc++", 0, a->cxx_path, sizeof(a->cxx_path));
	}
	/* A prefixed allocator (je_malloc) is not what libstdc++'s operator new calls. */
	if (*prefix)
		a->cxx_path[0] = '\0';
	if (!*a->shown)
		snprintf(a->shown, sizeof(a->shown), "%s", a->path);
	return list_funcs(a, prefix);
}
