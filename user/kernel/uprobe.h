/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-function probe targets: "BINARY_OR_LIB:FUNCTION" resolved to a file and a function that exists
 * in it, with clear errors (file not found, library not found, function not found with near matches),
 * then attached as a uprobe/uretprobe pair.
 */
#ifndef VIGIL_UPROBE_H
#define VIGIL_UPROBE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct bpf_program;
struct bpf_link;

struct uprobe_target {
	char path[PATH_MAX]; /* the ELF file to probe */
	char short_name[64]; /* its basename, for display */
	char func[256]; /* the function */
};

/*
 * Resolve spec. A part before ':' with a '/' is a path; otherwise a library or program name ("libc",
 * "libc.so.6", "python3"), looked up in the target processes' own mappings first (a library by name,
 * the program by name or by the file PATH finds), then PATH, then the dynamic linker's cache. With
 * targets, warns when none of them maps the chosen file (the probe would time nothing). Checks that
 * FUNCTION is a function symbol of the file. 0, or 1 after a one-line error ("vigil CMD: ...").
 */
int uprobe_target_resolve(const char *cmd, const char *spec, const __u32 *pids, size_t nr_pids,
			  struct uprobe_target *t);

/* Attach entry as a uprobe and ret as a uretprobe on t (pid -1: every process). 0, or 1 after an
 * error line. links[0..1] receive the links (the caller destroys them). */
int uprobe_target_attach(const struct uprobe_target *t, struct bpf_program *entry,
			 struct bpf_program *ret, int pid, struct bpf_link *links[2]);

/* A library by short name ("libc", "libstdc++") in pid's mappings (pid != 0), else in the dynamic
 * linker's cache; its path (through /proc/PID/root for a process) into out. 1 found, 0 not. */
int uprobe_find_library(const char *name, __u32 pid, char *out, size_t len);

struct elf_file;
/* Up to four function names of ef close to func ("a, b, c"), for an error message; "" if none. */
void uprobe_suggest_functions(const struct elf_file *ef, const char *func, char *buf, size_t len);

/* The file offset of function func in ELF file path (what uprobes take). 0, or -errno (-ENOENT: no
 * such function, -ENOEXEC: not ELF). */
int uprobe_func_offset(const char *path, const char *func, __u64 *off);

/*
 * A uprobe_multi link (Linux 6.6; uprobe sessions 6.13): prog (loaded with expected attach type
 * attach_type, UPROBE_MULTI_ATTACH or UPROBE_SESSION_ATTACH) on cnt file offsets of path, each with
 * its cookie, for process pid (0 = every process); retprobe makes it a return probe (multi only).
 * libbpf 1.1 has no call for it: this is BPF_LINK_CREATE by hand. The link's fd (close it to
 * detach), or -errno.
 */
#define UPROBE_MULTI_ATTACH 48 /* BPF_TRACE_UPROBE_MULTI */
#define UPROBE_SESSION_ATTACH 57 /* BPF_TRACE_UPROBE_SESSION */
int uprobe_multi_link(int prog_fd, __u32 attach_type, const char *path, const __u64 *offsets,
		      const __u64 *cookies, __u32 cnt, __u32 pid, bool retprobe);

/* Library-name matching, for tests: does the file basename match a short name like "libc"? */
int uprobe_lib_matches(const char *basename, const char *name);

#endif
