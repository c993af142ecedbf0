/* SPDX-License-Identifier: GPL-2.0 */
/* CO-RE shims for kernel structures that changed shape. Each cites the change that needs it. */
#ifndef VIGIL_CORE_FIXES_BPF_H
#define VIGIL_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * Kernel 5.14 (commit 2f064a59a11f, "sched: Change task_struct::state") renamed task_struct::state to
 * __state and made it unsigned int.
 */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline __s64 get_task_state(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)task, state);
}

#endif
