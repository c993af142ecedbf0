// SPDX-License-Identifier: GPL-2.0
/*
 * floor MODE [HZ]: hold near-empty BPF programs (bpf/probe.bpf.c: one atomic add) attached until
 * SIGINT, as the benchmark floor of an attach point. MODE: perf (cpu-clock on every CPU at HZ),
 * tp_btf or raw_tp (sched_switch), sys (tp_btf sys_enter + sys_exit), uprobe PID LIB (uprobe and
 * uretprobe on LIB's malloc, uprobe on its free, for process PID: what a malloc/free tracer pays
 * before doing anything). Prints "ready" once attached.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "kernel/attach.h"
#include "probe.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "perf";
	struct perf_attach *pa = NULL;
	struct bpf_link *link = NULL, *link2 = NULL, *ulinks[3] = { NULL };
	struct bpf_program *p, *want, *want2 = NULL;
	struct probe_bpf *skel = probe_bpf__open();

	if (!skel)
		return 1;
	want = !strcmp(mode, "perf")   ? skel->progs.probe_perf_event :
	       !strcmp(mode, "tp_btf") ? skel->progs.probe_tp_btf :
	       !strcmp(mode, "sys")    ? skel->progs.probe_sys_enter :
	       !strcmp(mode, "uprobe") ? skel->progs.probe_uprobe :
					 skel->progs.probe_raw_tp;
	if (!strcmp(mode, "sys"))
		want2 = skel->progs.probe_sys_exit;
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == want || p == want2);
	if (probe_bpf__load(skel))
		return 1;
	if (!strcmp(mode, "perf")) {
		pa = perf_attach__new(want, SAMPLE_CPU_CLOCK, argc > 2 ? atoi(argv[2]) : 999);
	} else if (!strcmp(mode, "uprobe") && argc > 3) {
		static const char *const fn[3] = { "malloc", "malloc", "free" };

		for (int i = 0; i < 3; i++) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = fn[i], .retprobe = i == 1);

			ulinks[i] = bpf_program__attach_uprobe_opts(want, atoi(argv[2]), argv[3], 0,
								    &uo);
			if (!ulinks[i]) {
				perror("attach uprobe");
				return 1;
			}
		}
		link = ulinks[0];
	} else {
		link = bpf_program__attach(want);
	}
	if (want2)
		link2 = bpf_program__attach(want2);
	if ((!pa && !link) || (want2 && !link2)) {
		perror("attach");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	perf_attach__free(pa);
	if (link != ulinks[0])
		bpf_link__destroy(link);
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(ulinks[i]);
	bpf_link__destroy(link2);
	probe_bpf__destroy(skel);
	return 0;
}
