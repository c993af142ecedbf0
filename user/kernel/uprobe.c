// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>

#include "util/cli.h"
#include "symbols/elf.h"
#include "util/log.h"
#include "util/suggest.h"
#include "kernel/uprobe.h"

int uprobe_lib_matches(const char *base, const char *name)
{
	size_t n = strlen(name);

	if (!strcmp(base, name))
		return 1;
	/* "libc" matches libc.so.6 and libc-2.36.so; "c" does not match libc (too loose). */
	if (!strncmp(base, name, n) && (base[n] == '.' || base[n] == '-') && strstr(base, ".so"))
		return 1;
	if (strncmp(name, "lib", 3) && !strncmp(base, "lib", 3) && !strncmp(base + 3, name, n) &&
	    (base[3 + n] == '.' || base[3 + n] == '-') && strstr(base, ".so"))
		return 1;
	return 0;
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int regular_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A program name for its file: "python3" for python3 and for python3.11 (Debian's python3 is a
 * link to it). */
static int prog_matches(const char *base, const char *name)
{
	size_t n = strlen(name);

	if (strcmp(base, name) == 0)
		return 1;
	if (strncmp(base, name, n) || base[n] != '.' || !base[n + 1])
		return 0;
	return strspn(base + n + 1, "0123456789.") == strlen(base + n + 1);
}

/*
 * In pid's mappings: a library by name, the program by name, or the file PATH finds for the name
 * (path_hit, a real path, may be NULL). The process's own objects come first: a program that links
 * its runtime in statically (Debian's python3) must not be taken for the shared library of the same
 * name it does not map.
 */
static int find_in_maps(__u32 pid, const char *name, const char *path_hit, char *out, size_t len)
{
	char path[64], line[4096], real[PATH_MAX];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (!p)
			continue;
		p[strcspn(p, "\n")] = '\0';
		if (!uprobe_lib_matches(base_of(p), name) && !prog_matches(base_of(p), name) &&
		    !(path_hit && realpath(p, real) && !strcmp(real, path_hit)))
			continue;
		/* Through the process's root, so containers work. */
		snprintf(out, len, "/proc/%u/root%s", pid, p);
		found = regular_file(out);
		if (!found) {
			snprintf(out, len, "%s", p);
			found = regular_file(out);
		}
	}
	fclose(f);
	return found;
}

/* Does pid map the file st describes (by device and inode, as /proc/PID/maps shows them)? */
static int maps_file(__u32 pid, const struct stat *st)
{
	char path[64], line[4096];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long long ino;

		if (sscanf(line, "%*x-%*x %*4s %*x %x:%x %llu", &maj, &min, &ino) == 3 && ino)
			found = ino == (unsigned long long)st->st_ino && maj == major(st->st_dev) &&
				min == minor(st->st_dev);
	}
	fclose(f);
	return found;
}

/* In the dynamic linker's cache (ldconfig -p), this architecture first. */
static int find_in_ldcache(const char *name, char *out, size_t len)
{
	char line[1024];
	int found = 0;
	FILE *f = popen("/sbin/ldconfig -p 2>/dev/null", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char lib[256], *arrow = strstr(line, "=> ");

		if (found || !arrow || sscanf(line, " %255s", lib) != 1)
			continue;
		if (!uprobe_lib_matches(lib, name) ||
		    (!strstr(line, "x86-64") && strstr(line, "(libc6,")))
			continue;
		arrow += 3;
		arrow[strcspn(arrow, "\n")] = '\0';
		snprintf(out, len, "%s", arrow);
		found = regular_file(out);
	}
	pclose(f);
	return found;
}

static int find_in_path(const char *name, char *out, size_t len)
{
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"), *dir, *save = NULL;
	int found = 0;

	if (!path)
		return 0;
	for (dir = strtok_r(path, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, name);
		found = regular_file(out) && access(out, X_OK) == 0;
	}
	free(path);
	return found;
}

void uprobe_suggest_functions(const struct elf_file *ef, const char *func, char *buf, size_t len)
{
	size_t n = elf_file__nr_symbols(ef);
	struct suggest sg;

	suggest__init(&sg, func);
	for (size_t i = 0; i < n; i++) {
		struct elf_symbol s;

		if (!elf_file__symbol(ef, i, &s))
			suggest__add(&sg, s.name);
	}
	suggest__format(&sg, 4, buf, len);
}

int uprobe_find_library(const char *name, __u32 pid, char *out, size_t len)
{
	return (pid && find_in_maps(pid, name, NULL, out, len)) || find_in_ldcache(name, out, len);
}

int uprobe_target_resolve(const char *cmd, const char *spec, const __u32 *pids, size_t nr_pids,
			  struct uprobe_target *t)
{
	const char *colon = strrchr(spec, ':');
	__u32 pid = nr_pids ? pids[0] : 0;
	char bin[PATH_MAX], hint[256], on_path[PATH_MAX], real[PATH_MAX];
	const char *path_hit = NULL;
	struct elf_symbol sym;
	struct elf_file *ef;
	struct stat st;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (!colon || colon == spec || !colon[1])
		return cli_error(cmd, "uprobe target '%s' should be BINARY_OR_LIB:FUNCTION", spec);
	snprintf(bin, sizeof(bin), "%.*s", (int)(colon - spec), spec);
	snprintf(t->func, sizeof(t->func), "%s", colon + 1);

	if (strchr(bin, '/')) {
		snprintf(t->path, sizeof(t->path), "%s", bin);
		if (!regular_file(t->path) && pid) {
			snprintf(t->path, sizeof(t->path), "/proc/%u/root%s", pid, bin);
			if (!regular_file(t->path))
				snprintf(t->path, sizeof(t->path), "%s", bin);
		}
		if (!regular_file(t->path))
			return cli_error(cmd, "cannot open '%s': %s", bin,
					 errno ? strerror(errno) : "not a regular file");
	} else {
		int found = 0;

		if (find_in_path(bin, on_path, sizeof(on_path)) && realpath(on_path, real))
			path_hit = real;
		/* The targets' own objects, then PATH, then the linker's cache. */
		for (size_t i = 0; i < nr_pids && !found; i++)
			found = find_in_maps(pids[i], bin, path_hit, t->path, sizeof(t->path));
		if (!found && path_hit) {
			snprintf(t->path, sizeof(t->path), "%s", on_path);
			found = 1;
		}
		if (!found && !find_in_ldcache(bin, t->path, sizeof(t->path)))
			return cli_error(
				cmd, "cannot find library or binary '%s'%s (give its path)", bin,
				pid ? " in the process's mappings, PATH or the linker cache" :
				      " in PATH or the linker cache");
	}
	/* A probe on a file no target maps times nothing: say so rather than print nothing. */
	if (nr_pids && stat(t->path, &st) == 0) {
		int mapped = 0;

		for (size_t i = 0; i < nr_pids && !mapped; i++)
			mapped = maps_file(pids[i], &st);
		if (!mapped)
			pr_warn("no target process maps %s: the probe will see no calls (give the "
				"path of the object the process maps)",
				t->path);
	}
	snprintf(t->short_name, sizeof(t->short_name), "%s", base_of(t->path));

	ef = elf_file__open(t->path, NULL);
	if (!ef)
		return cli_error(cmd, "cannot read '%s' as ELF: %s", t->path,
				 errno == ENOEXEC ? "not an ELF file" : strerror(errno));
	if (elf_file__find(ef, t->func, &sym)) {
		uprobe_suggest_functions(ef, t->func, hint, sizeof(hint));
		ret = cli_error(cmd, "no function '%s' in %s%s%s%s", t->func, t->path,
				*hint ? " (did you mean: " : "", hint, *hint ? ")" : "");
	}
	elf_file__free(ef);
	return ret;
}

int uprobe_target_attach(const struct uprobe_target *t, struct bpf_program *entry,
			 struct bpf_program *ret, int pid, struct bpf_link *links[2])
{
	LIBBPF_OPTS(bpf_uprobe_opts, eo, .func_name = t->func, .retprobe = false);
	LIBBPF_OPTS(bpf_uprobe_opts, ro, .func_name = t->func, .retprobe = true);

	links[0] = bpf_program__attach_uprobe_opts(entry, pid, t->path, 0, &eo);
	if (!links[0])
		goto fail;
	links[1] = bpf_program__attach_uprobe_opts(ret, pid, t->path, 0, &ro);
	if (!links[1])
		goto fail;
	return 0;
fail:
	pr_err("attaching to %s:%s failed: %s", t->path, t->func, strerror(errno));
	return 1;
}

int uprobe_func_offset(const char *path, const char *func, __u64 *off)
{
	struct elf_opts o = { .no_debug = true };
	struct elf_file *ef = elf_file__open(path, &o);
	struct elf_symbol sym;
	int err = -ENOENT;

	if (!ef)
		return -errno;
	if (!elf_file__find(ef, func, &sym)) {
		for (size_t i = 0; i < elf_file__nr_segments(ef); i++) {
			const struct elf_segment *seg = elf_file__segment(ef, i);

			if (sym.addr >= seg->vaddr && sym.addr < seg->vaddr + seg->memsz) {
				*off = sym.addr - seg->vaddr + seg->offset;
				err = 0;
				break;
			}
		}
	}
	elf_file__free(ef);
	return err;
}

/* BPF_LINK_CREATE's attribute for uprobe_multi (include/uapi/linux/bpf.h, Linux 6.6). */
struct link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags; /* BPF_F_UPROBE_MULTI_RETURN = 1 */
	__u32 pid;
	__u32 pad;
};

int uprobe_multi_link(int prog_fd, __u32 attach_type, const char *path, const __u64 *offsets,
		      const __u64 *cookies, __u32 cnt, __u32 pid, bool retprobe)
{
	struct link_create_uprobe_multi a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = (__u32)prog_fd;
	a.attach_type = attach_type;
	a.path = (__u64)(unsigned long)path;
	a.offsets = (__u64)(unsigned long)offsets;
	a.cookies = (__u64)(unsigned long)cookies;
	a.cnt = cnt;
	a.multi_flags = retprobe ? 1 : 0;
	a.pid = pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : (int)fd;
}
