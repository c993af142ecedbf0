// SPDX-License-Identifier: GPL-2.0
/*
 * Feature probes, and benchmark floors (tests/bench/floor.c): one trivial program per attach type. user/features.c loads and attaches each alone
 * (autoload off for the rest) to learn what this kernel really allows; loading is not enough (kprobe
 * programs load on kernels without CONFIG_KPROBES, tp_btf fails only at load under some lockdowns).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 hits = 0;

SEC("raw_tp/sched_switch")
int probe_raw_tp(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(probe_tp_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("fentry/vfs_read")
int BPF_PROG(probe_fentry, struct file *file)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("kprobe/vfs_read")
int probe_kprobe(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int probe_tracepoint(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("uprobe")
int probe_uprobe(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("perf_event")
int probe_perf_event(struct bpf_perf_event_data *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

/* Benchmark floor of syscall tracing: empty programs on both syscall tracepoints. */
SEC("tp_btf/sys_enter")
int BPF_PROG(probe_sys_enter, struct pt_regs *regs, long id)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(probe_sys_exit, struct pt_regs *regs, long ret)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
