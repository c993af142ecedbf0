// SPDX-License-Identifier: GPL-2.0
/* Capabilities through libcap: keep what Vigil uses, drop the rest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/syscall.h>

#include "kernel/caps.h"
#include "util/log.h"

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif

static const struct caps_info table[] = {
	{ CAP_BPF, "cap_bpf", true, "load the BPF programs and create their maps" },
	{ CAP_PERFMON, "cap_perfmon", true,
	  "perf events on every CPU, tracing programs, kernel stacks and memory reads in BPF" },
	{ CAP_SYS_PTRACE, "cap_sys_ptrace", true,
	  "other users' /proc/PID/maps, /root and /mem (vdso): their user symbols" },
	{ CAP_DAC_READ_SEARCH, "cap_dac_read_search", true,
	  "read executables, libraries and debug files their owners keep unreadable" },
	{ CAP_SYSLOG, "cap_syslog", true, "kernel addresses in /proc/kallsyms: kernel symbols" },
	{ CAP_CHECKPOINT_RESTORE, "cap_checkpoint_restore", false,
	  "/proc/PID/map_files: the very file mapped (deleted, replaced, or only in a container)" },
	{ CAP_SYS_ADMIN, "cap_sys_admin", false,
	  "attaching uprobes, mounting tracefs; held while attaching, dropped for good when a capture starts" },
	{ CAP_DAC_OVERRIDE, "cap_dac_override", false,
	  "as root: write -o files in directories root does not own" },
	{ CAP_SYS_RESOURCE, "cap_sys_resource", false,
	  "raise RLIMIT_MEMLOCK for BPF maps (kernels before 5.11)" },
};
#define NCAPS (sizeof(table) / sizeof(table[0]))

const struct caps_info *caps__table(size_t *n)
{
	*n = NCAPS;
	return table;
}

const char *caps__setcap_list(bool all)
{
	static char buf[2][256];
	char *b = buf[all];
	size_t len = 0;

	if (*b)
		return b;
	for (size_t i = 0; i < NCAPS; i++)
		if (all || table[i].needed)
			len += (size_t)snprintf(b + len, sizeof(buf[0]) - len, "%s%s",
						len ? "," : "", table[i].name);
	return b;
}

bool caps__kernel_knows(int cap)
{
	static int last = -2;

	if (last == -2) {
		FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");

		if (!f || fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		if (f)
			fclose(f);
	}
	return cap >= 0 && cap <= last;
}

static bool flag_of(int cap, cap_flag_t which)
{
	cap_t c = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (c && caps__kernel_knows(cap))
		cap_get_flag(c, (cap_value_t)cap, which, &v);
	cap_free(c);
	return v == CAP_SET;
}

bool caps__effective(int cap)
{
	return flag_of(cap, CAP_EFFECTIVE);
}

bool caps__permitted(int cap)
{
	return flag_of(cap, CAP_PERMITTED);
}

static int set_effective(int cap, cap_flag_value_t v)
{
	cap_value_t cv = (cap_value_t)cap;
	cap_t c = cap_get_proc();
	int err = 0;

	if (!c)
		return -errno;
	if (cap_set_flag(c, CAP_EFFECTIVE, 1, &cv, v) || cap_set_proc(c))
		err = -errno;
	cap_free(c);
	return err;
}

int caps__raise(int cap)
{
	return set_effective(cap, CAP_SET);
}

int caps__lower(int cap)
{
	return set_effective(cap, CAP_CLEAR);
}

/* Without CAP_BPF (kernels before 5.8) CAP_SYS_ADMIN is what loading BPF takes. */
static bool admin_is_bpf(void)
{
	return !caps__kernel_knows(CAP_BPF);
}

int caps__drop_unneeded(void)
{
	cap_t cur = cap_get_proc(), next = cap_init();
	int err = 0;

	if (!cur || !next) {
		err = -errno;
		goto out;
	}
	for (size_t i = 0; i < NCAPS; i++) {
		cap_value_t cv = (cap_value_t)table[i].cap;
		cap_flag_value_t v = CAP_CLEAR;

		if (!caps__kernel_knows(table[i].cap))
			continue;
		cap_get_flag(cur, cv, CAP_PERMITTED, &v);
		if (v != CAP_SET)
			continue;
		cap_set_flag(next, CAP_PERMITTED, 1, &cv, CAP_SET);
		cap_set_flag(next, CAP_EFFECTIVE, 1, &cv, CAP_SET);
	}
	/* Inheritable stays empty (cap_init): nothing passes to what Vigil executes but what the
	 * kernel gives root at exec. */
	if (cap_set_proc(next))
		err = -errno;
	else if (CAP_AMBIENT_SUPPORTED())
		cap_reset_ambient();
out:
	if (err)
		pr_debug("dropping capabilities failed: %s", strerror(-err));
	cap_free(cur);
	cap_free(next);
	return err;
}

int caps__drop_thread(void)
{
	/* The raw syscall: it acts on this thread alone, whatever libcap is linked with. */
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

void caps__drop_admin(void)
{
	cap_value_t cv = CAP_SYS_ADMIN;
	cap_t c;

	if (admin_is_bpf() || !caps__permitted(CAP_SYS_ADMIN))
		return;
	c = cap_get_proc();
	if (!c)
		return;
	cap_set_flag(c, CAP_EFFECTIVE, 1, &cv, CAP_CLEAR);
	cap_set_flag(c, CAP_PERMITTED, 1, &cv, CAP_CLEAR);
	if (cap_set_proc(c))
		pr_debug("dropping CAP_SYS_ADMIN failed: %s", strerror(errno));
	cap_free(c);
}
