// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/filter.h"
#include "vigil/common.h"
#include "util/cli.h"
#include "util/log.h"

#define CGROUP2_SUPER_MAGIC 0x63677270

static bool is_cgroup2_dir(const char *path)
{
	struct statfs sfs;
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && statfs(path, &sfs) == 0 &&
	       sfs.f_type == CGROUP2_SUPER_MAGIC;
}

int cgroup2_resolve(const char *arg, char *buf, size_t len)
{
	struct mntent *m;
	struct stat st;
	bool exists = false;
	FILE *f;

	if (arg[0] == '/') {
		snprintf(buf, len, "%s", arg);
		if (is_cgroup2_dir(buf))
			return 0;
		exists = stat(buf, &st) == 0;
	}
	/* Relative to the cgroup2 mount ("system.slice/foo.service" or "/web" under it). */
	f = setmntent("/proc/self/mounts", "re");
	if (!f)
		return exists ? -ENOTDIR : -ENOENT;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2"))
			continue;
		snprintf(buf, len, "%s/%s", m->mnt_dir, arg[0] == '/' ? arg + 1 : arg);
		if (is_cgroup2_dir(buf)) {
			endmntent(f);
			return 0;
		}
		exists = exists || stat(buf, &st) == 0;
	}
	endmntent(f);
	return exists ? -ENOTDIR : -ENOENT;
}

int filter_cfg__init(struct filter_cfg *f, const char *cmd, const struct filter_want *c)
{
	char path[4096];
	int err;

	f->pids = c->pids;
	f->nr_pids = c->nr_pids;
	f->tids = c->tids;
	f->nr_tids = c->nr_tids;
	f->cgroup_fd = -1;
	f->follow = c->follow;
	if (f->follow && (c->nr_pids || c->nr_tids))
		return cli_error(cmd, "-- COMMAND cannot be combined with -p or -L");
	if (!c->cgroup)
		return 0;
	err = cgroup2_resolve(c->cgroup, path, sizeof(path));
	if (err == -ENOTDIR)
		return cli_error(cmd, "'%s' is not a cgroup v2 directory", c->cgroup);
	if (err)
		return cli_error(cmd, "no such cgroup: '%s'", c->cgroup);
	f->cgroup_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->cgroup_fd < 0)
		return cli_error(cmd, "cannot open cgroup '%s': %s", path, strerror(errno));
	return 0;
}

void filter_cfg__release(struct filter_cfg *f)
{
	if (f->cgroup_fd >= 0)
		close(f->cgroup_fd);
	f->cgroup_fd = -1;
}

static int add_ids(struct bpf_object *obj, const char *map_name, const __u32 *ids, size_t n,
		   __u8 one)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, map_name);

	if (!map) {
		pr_err("BPF object has no map '%s'", map_name);
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(bpf_map__fd(map), &ids[i], &one, BPF_ANY)) {
			int err = -errno;

			pr_err("filling %s failed: %s", map_name, strerror(errno));
			return err;
		}
	return 0;
}

int filter_add_pid(struct bpf_object *obj, __u32 pid, bool on_exec)
{
	return add_ids(obj, "pid_filter", &pid, 1, on_exec ? VG_PID_ON_EXEC : VG_PID_ON);
}

int filter_cfg__apply(const struct filter_cfg *f, struct bpf_object *obj)
{
	int err = add_ids(obj, "pid_filter", f->pids, f->nr_pids, VG_PID_ON);

	if (!err)
		err = add_ids(obj, "tid_filter", f->tids, f->nr_tids, 1);
	if (!err && f->cgroup_fd >= 0) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, "cgroup_filter");
		__u32 zero = 0;

		if (!map || bpf_map_update_elem(bpf_map__fd(map), &zero, &f->cgroup_fd, BPF_ANY)) {
			err = map ? -errno : -ENOENT;
			pr_err("setting the cgroup filter failed: %s", strerror(-err));
		}
	}
	return err;
}
