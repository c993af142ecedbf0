// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for demangling: symbol names come from other users' ELF files and perf maps
 * and go through libiberty before a user sees them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/demangle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = malloc(size + 3), *d;

	if (!name)
		return 0;
	/* As given, and as a C++ name (most inputs would not start with _Z otherwise). */
	for (int pass = 0; pass < 2; pass++) {
		size_t off = pass ? 2 : 0;

		memcpy(name, "_Z", 2);
		memcpy(name + off, data, size);
		name[off + size] = '\0';
		d = demangle__name(name);
		if (d && !*d)
			__builtin_trap();
		free(d);
	}
	free(name);
	return 0;
}
