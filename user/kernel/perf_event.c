// SPDX-License-Identifier: GPL-2.0
/* CPU lists and sampling perf events: the openers both the feature probe and attach use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>

#include "kernel/perf_event.h"

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
