/* SPDX-License-Identifier: GPL-2.0 */
/* Syscall names and numbers of this architecture (x86_64). Pure functions; thread-safe. */
#ifndef VIGIL_KERNEL_SYSCALLS_H
#define VIGIL_KERNEL_SYSCALLS_H

#include <stddef.h>
#include <linux/types.h>

const char *syscall_name(__u32 nr, char *buf, size_t len);
/* -1 when unknown. Accepts "read" and "sys_read". */
int syscall_number(const char *name);
/* Closest known names to an unknown one, for "did you mean" hints: up to n, in buf. */
void syscall_suggest(const char *name, char *buf, size_t len);

#endif
