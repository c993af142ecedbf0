// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the perf-PID.map parser: text any process writes for its JIT, read by a
 * profiler running as root. Checks every kept symbol is findable and well-formed, and the caps.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "symbols/perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perfmap *m = perfmap__parse((const char *)data, size);
	int fd;

	if (m) {
		for (size_t i = 0; i + 8 <= size && i < 256; i++) {
			const struct perfmap_sym *s;
			__u64 a;

			memcpy(&a, data + i, sizeof(a));
			s = perfmap__find(m, a);
			if (s && (a < s->start || a >= s->end || !s->name || !*s->name))
				__builtin_trap();
		}
		(void)perfmap__find(m, 0);
		(void)perfmap__find(m, ~0ULL);
		if (perfmap__memory(m) < perfmap__count(m))
			__builtin_trap();
		perfmap__free(m);
	}
	/* The same bytes from a file, as the symbolizer reads them: capped in size and symbols. */
	fd = memfd_create("perfmap", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	m = perfmap__read_fd(fd, size > 64 ? size - 1 : 0, 3);
	if (m) {
		if (size > 64 || perfmap__count(m) > 3)
			__builtin_trap();
		perfmap__free(m);
	}
	close(fd);
	return 0;
}
