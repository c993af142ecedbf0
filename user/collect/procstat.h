/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-process resource gauges read from /proc (not BPF): resident memory summed by process name, and
 * the cgroup v2 path of a process. Used by `vigil serve` each interval. Thread-safe (no state).
 */
#ifndef VIGIL_COLLECT_PROCSTAT_H
#define VIGIL_COLLECT_PROCSTAT_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct proc_rss {
	char comm[16];
	__u64 rss_bytes; /* summed over the processes of that name */
	__u32 nprocs;
};

/* Every process's RSS summed by comm into a new array (caller frees). Count or -errno. */
long procstat_rss_by_comm(struct proc_rss **out);
/* pid's cgroup v2 path ("/system.slice/ssh.service") into buf. 0 or -errno (gone, no v2). */
int procstat_cgroup(pid_t pid, char *buf, size_t len);

/* This process: CPU seconds (user + system) and resident bytes. 0 or -errno. */
int procstat_self(double *cpu_s, __u64 *rss_bytes);

#endif
