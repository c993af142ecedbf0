// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the /proc/PID/maps parser (its paths are names other users chose).
 * The perf-PID.map parser has its own target, fuzz_perfmap.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "symbols/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct procmaps_line l;
	struct procmaps *m;

	/* One line, as given (no NUL terminator). */
	if (procmaps__parse_line(buf, size, &l) == 0) {
		if (l.path_len > size ||
		    (l.path_len && (l.path < buf || l.path + l.path_len > buf + size)))
			__builtin_trap();
		if (l.end < l.start)
			__builtin_trap();
	}
	/* A whole file: every entry must be findable by its own start, in sorted order. */
	m = procmaps__parse(buf, size);
	if (m) {
		for (size_t i = 0; i < procmaps__count(m); i++) {
			const struct procmaps_entry *e = procmaps__entry(m, i);

			if (i && procmaps__entry(m, i - 1)->start > e->start)
				__builtin_trap();
			if (e->end > e->start && !procmaps__find(m, e->start))
				__builtin_trap();
			(void)strlen(e->path);
			(void)procmaps__find(m, e->end);
		}
		procmaps__free(m);
	}
	return 0;
}
