// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>

#include "kernel/attach.h"
#include "cmd/options.h"
#include "util/log.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

int parse_cpu_list(const char *s, int **cpus)
{
	int *out = NULL, n = 0, cap = 0;
	const char *p = s;

	while (*p && *p != '\n') {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p || a < 0)
			goto bad;
		b = a;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a)
				goto bad;
			p = end;
		}
		if (b - a > 65536)
			goto bad;
		for (long c = a; c <= b; c++) {
			if (n == cap) {
				int *t = realloc(out, (cap = cap ? cap * 2 : 16) * sizeof(*t));

				if (!t) {
					free(out);
					return -ENOMEM;
				}
				out = t;
			}
			out[n++] = (int)c;
		}
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			goto bad;
	}
	if (!n)
		goto bad;
	qsort(out, n, sizeof(*out), cmp_int);
	*cpus = out;
	return n;
bad:
	free(out);
	return -EINVAL;
}

int online_cpus(int **cpus)
{
	char buf[4096];
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	int err;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		err = ferror(f) ? -EIO : -EINVAL;
		fclose(f);
		return err;
	}
	fclose(f);
	return parse_cpu_list(buf, cpus);
}

int perf_event_open_sampling(int cpu, enum sample_event ev, __u64 freq)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.freq = 1,
		.sample_freq = freq,
	};
	long fd;

	if (ev == SAMPLE_CYCLES) {
		attr.type = PERF_TYPE_HARDWARE;
		attr.config = PERF_COUNT_HW_CPU_CYCLES;
	} else {
		attr.type = PERF_TYPE_SOFTWARE;
		attr.config = PERF_COUNT_SW_CPU_CLOCK;
	}
	fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

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

static bool has_events_dir(const char *dir)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/events", dir);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool tracefs_is_mounted(void)
{
	return has_events_dir(TRACEFS_PATH) || has_events_dir("/sys/kernel/debug/tracing");
}

int tracefs_ensure(bool *mounted_now)
{
	if (mounted_now)
		*mounted_now = false;
	if (tracefs_is_mounted())
		return 0;
	if (mount("tracefs", TRACEFS_PATH, "tracefs", 0, NULL)) {
		int err = -errno;

		pr_debug("mounting tracefs at %s failed: %s", TRACEFS_PATH, strerror(errno));
		return err;
	}
	pr_debug("mounted tracefs at %s", TRACEFS_PATH);
	if (mounted_now)
		*mounted_now = true;
	return has_events_dir(TRACEFS_PATH) ? 0 : -ENOENT;
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
