/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VIGIL_SYMBOLS_PERFMAP_H
#define VIGIL_SYMBOLS_PERFMAP_H

#include <stddef.h>
#include <linux/types.h>

/*
 * JIT symbols from /tmp/perf-PID.map (perf's convention): "START SIZE NAME" per line, START and SIZE
 * in hex (with or without 0x), NAME the rest of the line. When two lines start at one address the
 * later one wins (the JIT reused the memory). Same ownership rules as struct procmaps.
 */
struct perfmap_sym {
	__u64 start, end;
	const char *name;
};

struct perfmap;

/* Parses len bytes (copied; need not be NUL-terminated); bad lines are skipped. NULL + errno. */
struct perfmap *perfmap__parse(const char *buf, size_t len);
/* Reads and parses a file. NULL with errno set. */
struct perfmap *perfmap__read(const char *path);
/* NULL-safe. */
void perfmap__free(struct perfmap *m);
size_t perfmap__count(const struct perfmap *m);
/* The symbol with start <= addr < end (the latest-starting one when they overlap), or NULL. */
const struct perfmap_sym *perfmap__find(const struct perfmap *m, __u64 addr);

#endif
