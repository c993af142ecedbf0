/* SPDX-License-Identifier: GPL-2.0 */
/* tracefs, which classic tracepoints need: found, or mounted when missing. Not thread-safe. */
#ifndef VIGIL_KERNEL_TRACEFS_H
#define VIGIL_KERNEL_TRACEFS_H

#include <stdbool.h>

/* Where tracefs is (or was just mounted): "/sys/kernel/tracing", or NULL when unavailable. */
#define TRACEFS_PATH "/sys/kernel/tracing"
/*
 * Make sure tracefs is mounted at /sys/kernel/tracing (or usable through debugfs). Sets *mounted_now
 * (may be NULL) when this call mounted it. 0, or -errno when it cannot be mounted.
 */
int tracefs_ensure(bool *mounted_now);
bool tracefs_is_mounted(void);

#endif
