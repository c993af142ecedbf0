/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching to the kernel: sampling perf events on every online CPU, the CPU list itself, and tracefs
 * (classic tracepoints need it mounted; Vigil mounts it when it is missing).
 */
#ifndef VIGIL_ATTACH_H
#define VIGIL_ATTACH_H

#include <stdbool.h>
#include <linux/types.h>

#include "kernel/features.h"

struct bpf_program;
struct bpf_link;

/* Parse a kernel CPU list ("0-3,8,10-11") into a new sorted array. Returns the count or -EINVAL. */
int parse_cpu_list(const char *s, int **cpus);
/* Online CPUs from /sys/devices/system/cpu/online. Returns the count or -errno. */
int online_cpus(int **cpus);

/* A sampling event: software cpu-clock, or hardware cycles. */
enum sample_event { SAMPLE_CPU_CLOCK, SAMPLE_CYCLES };
/* perf_event_open for sampling on one CPU, all tasks, freq Hz. Returns an fd or -errno. */
int perf_event_open_sampling(int cpu, enum sample_event ev, __u64 freq);

/*
 * The program attached to one sampling event per online CPU. Owns the events and links; free detaches.
 * NULL + errno (EACCES/EPERM: not allowed; ENOENT/EOPNOTSUPP: event not supported).
 */
struct perf_attach;
struct perf_attach *perf_attach__new(struct bpf_program *prog, enum sample_event ev, __u64 freq);
int perf_attach__nr_cpus(const struct perf_attach *pa);
/* NULL-safe. */
void perf_attach__free(struct perf_attach *pa);

/* Where tracefs is (or was just mounted): "/sys/kernel/tracing", or NULL when unavailable. */
#define TRACEFS_PATH "/sys/kernel/tracing"
/*
 * Make sure tracefs is mounted at /sys/kernel/tracing (or usable through debugfs). Sets *mounted_now
 * (may be NULL) when this call mounted it. 0, or -errno when it cannot be mounted.
 */
int tracefs_ensure(bool *mounted_now);
bool tracefs_is_mounted(void);

/* One kernel hook in its three attach flavours (bpf/common.bpf.h pattern); any may be NULL. */
struct tp_progs {
	struct bpf_program *btf, *raw, *tp;
};
/* Before load: autoload only flavour a (none when !enable). */
void tp_progs__autoload(const struct tp_progs *p, enum tp_attach a, bool enable);
/* After load: attach flavour a (mounting tracefs first for classic tracepoints). NULL + errno. */
struct bpf_link *tp_progs__attach(const struct tp_progs *p, enum tp_attach a);

/*
 * The attach flavour for tracepoint hooks: forced ("tp_btf", "raw_tp", "tracepoint" from --attach)
 * or the best this kernel has. 0; 1 after an error line for an unknown name; 2 after an error line
 * when the forced or any flavour does not work here.
 */
int tp_attach_resolve(const char *cmd, const char *forced, enum tp_attach *out);

#endif
