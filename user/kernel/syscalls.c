// SPDX-License-Identifier: GPL-2.0
/* Syscall names and numbers of this architecture, from the kernel's table (scripts/gen-syscalls.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/syscalls.h"
#include "util/suggest.h"
#include "syscall_names.h"

#define NR_SYSCALLS (sizeof(syscall_names_table) / sizeof(syscall_names_table[0]))

const char *syscall_name(__u32 nr, char *buf, size_t len)
{
	if (nr < NR_SYSCALLS && syscall_names_table[nr])
		return syscall_names_table[nr];
	snprintf(buf, len, "syscall_%u", nr);
	return buf;
}

int syscall_number(const char *name)
{
	if (!strncmp(name, "sys_", 4))
		name += 4;
	for (size_t i = 0; i < NR_SYSCALLS; i++)
		if (syscall_names_table[i] && !strcmp(syscall_names_table[i], name))
			return (int)i;
	if (!strncmp(name, "syscall_", 8)) {
		char *end;
		long v = strtol(name + 8, &end, 10);

		if (!*end && v >= 0 && v < 1024)
			return (int)v;
	}
	return -1;
}

void syscall_suggest(const char *name, char *buf, size_t len)
{
	struct suggest sg;

	suggest__init(&sg, name);
	for (size_t i = 0; i < NR_SYSCALLS; i++)
		if (syscall_names_table[i])
			suggest__add(&sg, syscall_names_table[i]);
	suggest__format(&sg, 3, buf, len);
}
