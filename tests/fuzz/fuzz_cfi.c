// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the CFI table builder (.eh_frame / .debug_frame through libdw into the BPF
 * walker's rows): it reads every executable a profiled process maps. The input is an ELF file.
 * Corpus: tests/fuzz/corpus/elf/ (shared with fuzz_elf).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>

#include "symbols/cfi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct cfi_range *r = NULL;
	struct cfi_table *t;
	size_t n = 0;
	Elf *e;

	if (!copy || elf_version(EV_CURRENT) == EV_NONE) {
		free(copy);
		return 0;
	}
	memcpy(copy, data, size);
	e = elf_memory(copy, size);
	if (!e || elf_kind(e) != ELF_K_ELF)
		goto out;
	if (!cfi__fde_ranges(e, &r, &n)) {
		for (size_t i = 1; i < n; i++)
			if (r[i].start < r[i - 1].start)
				__builtin_trap();
		free(r);
	}
	t = cfi_table__build(e, NULL);
	if (t) {
		const struct vg_cfi_row *rows = cfi_table__rows(t);

		for (size_t i = 0; i < cfi_table__nr_rows(t); i++)
			(void)cfi_table__lookup(t, rows[i].off);
		for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
			__u64 off;

			memcpy(&off, data + i, sizeof(off));
			(void)cfi_table__lookup(t, off);
		}
		cfi_table__free(t);
	}
out:
	if (e)
		elf_end(e);
	free(copy);
	return 0;
}
