/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching to the kernel: a program on a sampling perf event of every online CPU, and tracepoint hooks
 * in the flavour the feature probe chose (tp_btf, raw_tp or a classic tracepoint).
 */
#ifndef VIGIL_ATTACH_H
#define VIGIL_ATTACH_H

#include <stdbool.h>
#include <linux/types.h>

#include "kernel/features.h"
#include "kernel/perf_event.h"

struct bpf_program;
struct bpf_link;

/*
 * The program attached to one sampling event per online CPU. Owns the events and links; free detaches.
 * NULL + errno (EACCES/EPERM: not allowed; ENOENT/EOPNOTSUPP: event not supported).
 */
struct perf_attach;
struct perf_attach *perf_attach__new(struct bpf_program *prog, enum sample_event ev, __u64 freq);
int perf_attach__nr_cpus(const struct perf_attach *pa);
/* NULL-safe. */
void perf_attach__free(struct perf_attach *pa);

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
