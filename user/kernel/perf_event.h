/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Low-level openers below both the feature probe and attach: the online CPU list and a sampling perf
 * event on one CPU. Stateless; thread-safe.
 */
#ifndef VIGIL_KERNEL_PERF_EVENT_H
#define VIGIL_KERNEL_PERF_EVENT_H

#include <linux/types.h>

/* Parse a kernel CPU list ("0-3,8,10-11") into a new sorted array. Returns the count or -EINVAL. */
int parse_cpu_list(const char *s, int **cpus);
/* Online CPUs from /sys/devices/system/cpu/online. Returns the count or -errno. */
int online_cpus(int **cpus);

/* A sampling event: software cpu-clock, or hardware cycles. */
enum sample_event { SAMPLE_CPU_CLOCK, SAMPLE_CYCLES };
/* perf_event_open for sampling on one CPU, all tasks, freq Hz. Returns an fd or -errno. */
int perf_event_open_sampling(int cpu, enum sample_event ev, __u64 freq);

#endif
