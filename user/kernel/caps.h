/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Least privilege: the capabilities Vigil uses, what each one buys, and dropping all the others.
 *
 * At start (caps__drop_unneeded, from main) the permitted and effective sets are cut to the table
 * below. CAP_SYS_ADMIN, which attaching uprobes (this kernel's uprobe PMU refuses CAP_PERFMON alone)
 * and mounting tracefs need, is held while the collectors attach and dropped for good when the
 * capture starts (caps__drop_admin, from runner__start), before the symbolizer reads the first of
 * other users' files and before vigil serve parses a request. Attach everything before that. Inheritable and ambient sets are cleared; the bounding set is left alone, so
 * a `-- COMMAND` launched by root still gets root's capabilities at exec. A binary installed with file
 * capabilities (+p without +e) gets its effective set raised from the permitted one here.
 *
 * Kernels before 5.8 have no CAP_BPF / CAP_PERFMON: there CAP_SYS_ADMIN is what BPF and perf events
 * need, so it stays effective.
 *
 * Not thread-safe (capabilities are per thread): call from the main thread before starting others.
 */
#ifndef VIGIL_KERNEL_CAPS_H
#define VIGIL_KERNEL_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/capability.h> /* CAP_* */

struct caps_info {
	int cap; /* CAP_* */
	const char *name; /* "cap_bpf" */
	bool needed; /* part of the set a non-root install needs (README, make install CAPS=1) */
	const char *buys; /* what it gives Vigil, one line */
};

/* The capabilities Vigil uses, needed ones first; *n set. Static storage. */
const struct caps_info *caps__table(size_t *n);

/* The set above, "cap_bpf,cap_perfmon,..." as setcap(8) takes it (needed ones only, or all). */
const char *caps__setcap_list(bool all);

/* Cuts the sets as described above. 0, or -errno when libcap fails (nothing changed then). */
int caps__drop_unneeded(void);

/* Drops CAP_SYS_ADMIN from every set for good (unless the kernel has no CAP_BPF). Idempotent. */
void caps__drop_admin(void);

/* Whether cap is in the effective set now / in the permitted set (can be raised). */
bool caps__effective(int cap);
bool caps__permitted(int cap);
/* Whether this kernel knows cap at all (/proc/sys/kernel/cap_last_cap). */
bool caps__kernel_knows(int cap);

/* Raises / lowers cap in the effective set (it must be permitted). 0 or -errno. */
int caps__raise(int cap);
int caps__lower(int cap);

/*
 * Empties every capability set of the calling thread only (capabilities are per thread): for
 * threads that parse network input and need none (vigil serve's HTTP threads, its push sender).
 * Threads it creates afterwards start empty too. 0 or -errno.
 */
int caps__drop_thread(void);

#endif
