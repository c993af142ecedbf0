// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the DWARF line tables (symbols/lines.c through libdw): it reads the debug
 * info of every file a profiled process maps, when lines are asked for. The input is an ELF file,
 * given through a memfd as the symbolizer gives it a mapped file's descriptor; every address the
 * DWARF's own compile units name, and a few others, are looked up, twice (the cache).
 * Corpus: tests/fuzz/corpus/lines -> elf/ (shared with fuzz_elf).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "symbols/lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const __u64 probes[] = {
		0, 1, 0x1000, 0x1129, 0x1150, 0x401000, 0xffffffffffffffffull
	};
	struct src_line l[LINES_MAX_INLINE];
	struct line_table *t;
	int fd = memfd_create("fuzz-lines", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	t = line_table__new(fd, -1);
	if (!t)
		return 0;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		for (int k = 0; k < 2; k++) {
			int n = line_table__lookup(t, probes[i] + 16 * (__u64)(size & 0xff), l,
						   LINES_MAX_INLINE);

			if (n < 0 || n > LINES_MAX_INLINE)
				__builtin_trap();
			/* Every string is terminated (ASan reports a read past one). */
			for (int j = 0; j < n; j++)
				if ((l[j].function && strlen(l[j].function) > (1u << 24)) ||
				    (l[j].file && strlen(l[j].file) > (1u << 24)))
					__builtin_trap();
		}
	line_table__free(t);
	return 0;
}
