// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the ELF reader (program headers, notes and build-ids, .symtab/.dynsym,
 * .gnu_debuglink): every mapped file of every profiled process is parsed by it. The input is an
 * ELF file, parsed from memory and, as the symbolizer reads mapped files, from a descriptor.
 * Corpus: real binaries and truncated copies (tests/fuzz/corpus/elf/).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "symbols/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the reader's output; says which before crashing. */
#define CHECK(c)                                                             \
	do {                                                                 \
		if (!(c)) {                                                  \
			fprintf(stderr, "fuzz_elf: check failed: %s\n", #c); \
			__builtin_trap();                                    \
		}                                                            \
	} while (0)

static void check(const struct elf_file *f, const uint8_t *data, size_t size)
{
	struct elf_symbol s;
	const __u8 *id;
	size_t n = elf_file__build_id(f, &id);

	CHECK(n <= ELF_BUILD_ID_MAX && strlen(elf_file__build_id_hex(f)) == 2 * n);
	for (size_t i = 0; i < elf_file__nr_symbols(f); i++) {
		CHECK(!elf_file__symbol(f, i, &s) && s.name && s.size);
		CHECK(!elf_file__lookup(f, s.addr, &s) && s.name);
		CHECK(i >= 16 || !elf_file__find(f, s.name, &s));
	}
	for (size_t i = 0; i < elf_file__nr_segments(f); i++)
		(void)elf_file__segment(f, i);
	for (size_t i = 0; i + 8 <= size && i < 128; i += 4) {
		__u64 off, v;

		memcpy(&off, data + i, sizeof(off));
		if (!elf_file__off_to_vaddr(f, off % (size + 4096), &v))
			(void)elf_file__lookup(f, v, &s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_opts o = { .debug_dir = "", .max_symbols = 64 };
	struct elf_file *f = elf_file__open_mem(data, size, NULL);
	__u8 id[ELF_BUILD_ID_MAX];
	int fd;

	if (f) {
		check(f, data, size);
		elf_file__free(f);
	}
	(void)elf__notes_build_id(data, size, id, sizeof(id));
	fd = memfd_create("elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		(void)elf__read_build_id(fd, id, sizeof(id));
		/* A path, so .gnu_debuglink is read; its candidates do not exist. */
		f = elf_file__open_fd(fd, "/nonexistent-vigil-fuzz/file", &o);
		if (f) {
			CHECK(elf_file__nr_symbols(f) <= 64);
			check(f, data, size);
			elf_file__free(f);
		}
	}
	close(fd);
	return 0;
}
