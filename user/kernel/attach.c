// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "kernel/attach.h"
#include "kernel/perf_event.h"
#include "kernel/tracefs.h"
#include "util/cli.h"
#include "util/log.h"

struct perf_attach {
	int nr;
	int *fds;
	struct bpf_link **links;
};

struct perf_attach *perf_attach__new(struct bpf_program *prog, enum sample_event ev, __u64 freq)
{
	struct perf_attach *pa = calloc(1, sizeof(*pa));
	int *cpus = NULL, n, err = 0;

	if (!pa)
		return NULL;
	n = online_cpus(&cpus);
	if (n < 0) {
		err = n;
		goto fail;
	}
	pa->fds = calloc(n, sizeof(*pa->fds));
	pa->links = calloc(n, sizeof(*pa->links));
	if (!pa->fds || !pa->links) {
		err = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		int fd = perf_event_open_sampling(cpus[i], ev, freq);

		if (fd < 0) {
			/* A CPU going offline between the list and the open is not an error. */
			if (fd == -ENODEV)
				continue;
			err = fd;
			goto fail;
		}
		pa->fds[pa->nr] = fd;
		pa->links[pa->nr] = bpf_program__attach_perf_event(prog, fd);
		if (!pa->links[pa->nr]) {
			err = -errno;
			close(fd);
			goto fail;
		}
		pa->nr++;
	}
	free(cpus);
	if (!pa->nr) {
		err = -ENODEV;
		goto fail_nocpus;
	}
	return pa;
fail:
	free(cpus);
fail_nocpus:
	perf_attach__free(pa);
	errno = -err;
	return NULL;
}

int perf_attach__nr_cpus(const struct perf_attach *pa)
{
	return pa->nr;
}

void perf_attach__free(struct perf_attach *pa)
{
	if (!pa)
		return;
	for (int i = 0; i < pa->nr; i++) {
		/* Destroying the link detaches the program; then the event can go. */
		bpf_link__destroy(pa->links[i]);
		close(pa->fds[i]);
	}
	free(pa->links);
	free(pa->fds);
	free(pa);
}

static struct bpf_program *tp_pick(const struct tp_progs *p, enum tp_attach a)
{
	switch (a) {
	case TP_ATTACH_TP_BTF:
		return p->btf;
	case TP_ATTACH_RAW_TP:
		return p->raw;
	case TP_ATTACH_TRACEPOINT:
		return p->tp;
	case TP_ATTACH_NONE:
		break;
	}
	return NULL;
}

void tp_progs__autoload(const struct tp_progs *p, enum tp_attach a, bool enable)
{
	struct bpf_program *all[3] = { p->btf, p->raw, p->tp }, *want = tp_pick(p, a);

	for (int i = 0; i < 3; i++)
		if (all[i])
			bpf_program__set_autoload(all[i], enable && all[i] == want);
}

struct bpf_link *tp_progs__attach(const struct tp_progs *p, enum tp_attach a)
{
	struct bpf_program *prog = tp_pick(p, a);
	int err;

	if (!prog) {
		errno = EINVAL;
		return NULL;
	}
	if (a == TP_ATTACH_TRACEPOINT && (err = tracefs_ensure(NULL))) {
		errno = -err;
		return NULL;
	}
	return bpf_program__attach(prog);
}

int tp_attach_resolve(const char *cmd, const char *forced, enum tp_attach *out)
{
	static const struct {
		const char *name;
		enum tp_attach a;
		enum feature f;
	} names[] = {
		{ "tp_btf", TP_ATTACH_TP_BTF, FEAT_TP_BTF },
		{ "raw_tp", TP_ATTACH_RAW_TP, FEAT_RAW_TP },
		{ "tracepoint", TP_ATTACH_TRACEPOINT, FEAT_TRACEPOINT },
	};

	if (!forced) {
		*out = features__tp_attach();
		if (*out == TP_ATTACH_NONE) {
			pr_err("no way to attach to kernel tracepoints here (tp_btf: %s; raw_tp: %s; tracepoint: %s)",
			       features__why(FEAT_TP_BTF), features__why(FEAT_RAW_TP),
			       features__why(FEAT_TRACEPOINT));
			return 2;
		}
		pr_debug("attaching tracepoint hooks with %s", tp_attach_name(*out));
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(forced, names[i].name))
			continue;
		if (!features__has(names[i].f)) {
			pr_err("%s hooks do not work on this kernel: %s", forced,
			       features__why(names[i].f));
			return 2;
		}
		*out = names[i].a;
		return 0;
	}
	return cli_error(cmd, "unknown attach type '%s' (known: tp_btf, raw_tp, tracepoint)",
			 forced);
}
