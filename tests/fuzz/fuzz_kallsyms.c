// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the kallsyms and /proc/modules parsers. The input is kallsyms text, then
 * optionally a NUL byte and modules text. Build: make .output/fuzz/fuzz_kallsyms
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "symbols/kallsyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *nul = memchr(data, 0, size);
	size_t klen = nul ? (size_t)(nul - buf) : size;
	struct ksyms *k;

	k = ksyms__parse(buf, klen, nul ? nul + 1 : NULL, nul ? size - klen - 1 : 0);
	if (!k)
		return 0;
	/* Probe around every address-looking 8-byte window, and the extremes. */
	for (size_t i = 0; i + 8 <= size && i < 512; i++) {
		struct ksym_info ki;
		__u64 a;

		memcpy(&a, data + i, sizeof(a));
		if (ksyms__lookup(k, a, &ki) == 0) {
			if (!ki.module)
				__builtin_trap();
			if (ki.name && (a < ki.sym_addr || a >= ki.sym_end))
				__builtin_trap();
		}
	}
	{
		struct ksym_info ki;

		(void)ksyms__lookup(k, 0, &ki);
		(void)ksyms__lookup(k, ~0ULL, &ki);
	}
	ksyms__free(k);
	return 0;
}
