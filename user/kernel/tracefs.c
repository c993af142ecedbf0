// SPDX-License-Identifier: GPL-2.0
/* tracefs: found, or mounted when missing (classic tracepoints need it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kernel/tracefs.h"
#include "util/log.h"

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
	int err;

	if (mounted_now)
		*mounted_now = false;
	if (tracefs_is_mounted())
		return 0;
	err = mount("tracefs", TRACEFS_PATH, "tracefs", 0, NULL) ? -errno : 0;
	if (err) {
		pr_debug("mounting tracefs at %s failed: %s", TRACEFS_PATH, strerror(-err));
		return err;
	}
	pr_debug("mounted tracefs at %s", TRACEFS_PATH);
	if (mounted_now)
		*mounted_now = true;
	return has_events_dir(TRACEFS_PATH) ? 0 : -ENOENT;
}
