// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "collect/procstat.h"
#include "model/hashmap.h"

static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

long procstat_rss_by_comm(struct proc_rss **out)
{
	long page = sysconf(_SC_PAGESIZE);
	struct hashmap *idx = hashmap__new(hashmap_str_hash, hashmap_str_equal, NULL);
	struct proc_rss *arr = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");
	int err = 0;

	if (!d || !idx) {
		err = d ? -ENOMEM : -errno;
		goto out;
	}
	while ((de = readdir(d))) {
		char path[64], buf[128];
		unsigned long long size, rss;
		uintptr_t v;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/statm", de->d_name);
		if (read_small(path, buf, sizeof(buf)) ||
		    sscanf(buf, "%llu %llu", &size, &rss) != 2 || !rss)
			continue; /* gone, or a kernel thread */
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (read_small(path, buf, sizeof(buf)))
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		buf[15] = '\0';
		if (!hashmap__get(idx, buf, &v)) {
			if (n == cap) {
				size_t c = cap ? cap * 2 : 128;
				struct proc_rss *a = realloc(arr, c * sizeof(*a));

				if (!a) {
					err = -ENOMEM;
					goto out;
				}
				/* keys point into arr: rebuild the index after a move */
				if (a != arr) {
					hashmap__free(idx);
					idx = hashmap__new(hashmap_str_hash, hashmap_str_equal,
							   NULL);
					if (!idx) {
						arr = a;
						err = -ENOMEM;
						goto out;
					}
					for (size_t i = 0; i < n; i++)
						hashmap__set(idx, a[i].comm, i);
				}
				arr = a;
				cap = c;
			}
			memset(&arr[n], 0, sizeof(arr[n]));
			snprintf(arr[n].comm, sizeof(arr[n].comm), "%s", buf);
			if (hashmap__set(idx, arr[n].comm, n)) {
				err = -ENOMEM;
				goto out;
			}
			v = n++;
		}
		arr[v].rss_bytes += rss * (unsigned long long)page;
		arr[v].nprocs++;
	}
out:
	if (d)
		closedir(d);
	hashmap__free(idx);
	if (err) {
		free(arr);
		return err;
	}
	*out = arr;
	return (long)n;
}

int procstat_cgroup(pid_t pid, char *buf, size_t len)
{
	char path[64], data[4096], *line, *save = NULL;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	err = read_small(path, data, sizeof(data));
	if (err)
		return err;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "0::", 3)) {
			snprintf(buf, len, "%s", line + 3);
			return 0;
		}
	return -ENOENT;
}

int procstat_self(double *cpu_s, __u64 *rss_bytes)
{
	struct rusage ru;
	char buf[128];
	unsigned long long size, rss;

	if (getrusage(RUSAGE_SELF, &ru))
		return -errno;
	*cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		 ru.ru_stime.tv_usec / 1e6;
	if (read_small("/proc/self/statm", buf, sizeof(buf)) ||
	    sscanf(buf, "%llu %llu", &size, &rss) != 2)
		return -EIO;
	*rss_bytes = rss * (unsigned long long)sysconf(_SC_PAGESIZE);
	return 0;
}
