/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The process/thread/cgroup filters every collector shares (bpf/common.bpf.h evaluates them in the
 * kernel). filter_cfg__init() validates the user's -p/-L/-c and opens the cgroup; the caller then sets
 * the rodata flags before load (filter_cfg__set_rodata) and fills the maps after (filter_cfg__apply).
 */
#ifndef VIGIL_FILTER_H
#define VIGIL_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct bpf_object;

/* What the user asked for (-p, -L, -c, -- COMMAND). The arrays and the string are borrowed. */
struct filter_want {
	const __u32 *pids;
	size_t nr_pids;
	const __u32 *tids;
	size_t nr_tids;
	const char *cgroup; /* -c argument, or NULL */
	bool follow; /* -- COMMAND */
};

struct filter_cfg {
	const __u32 *pids; /* borrowed from the filter_want */
	size_t nr_pids;
	const __u32 *tids;
	size_t nr_tids;
	int cgroup_fd; /* -1: no cgroup filter */
	bool follow; /* -- COMMAND: children of followed processes join the pid filter */
};

/* 0, or 1 after printing why (cgroup missing or not cgroup v2). */
int filter_cfg__init(struct filter_cfg *f, const char *cmd, const struct filter_want *w);
void filter_cfg__release(struct filter_cfg *f);

/* Set the rodata flags of any skeleton whose BPF side includes common.bpf.h. */
#define filter_cfg__set_rodata(f, ro)                               \
	do {                                                        \
		(ro)->filter_pid = (f)->nr_pids > 0 || (f)->follow; \
		(ro)->filter_tid = (f)->nr_tids > 0;                \
		(ro)->filter_cgroup = (f)->cgroup_fd >= 0;          \
		(ro)->follow_forks = (f)->follow;                   \
	} while (0)

/* Fill pid_filter, tid_filter and cgroup_filter of a loaded object. 0 or -errno (printed). */
int filter_cfg__apply(const struct filter_cfg *f, struct bpf_object *obj);
/* Add one process to pid_filter (the launched COMMAND): passing from now on, or with on_exec only
 * once it execs (the object's sched_process_exec hook enables it). 0 or -errno (printed). */
int filter_add_pid(struct bpf_object *obj, __u32 pid, bool on_exec);

/* Resolve a -c argument to a cgroup v2 directory path (absolute, or under the cgroup2 mount) into
 * buf. 0, -ENOENT (no such directory) or -ENOTDIR (exists but is not cgroup v2). */
int cgroup2_resolve(const char *arg, char *buf, size_t len);

#endif
