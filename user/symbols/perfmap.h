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
/*
 * Reads and parses the file open on fd (the caller keeps it; see mapfile.h for opening one safely):
 * at most max_bytes (0: no cap; more is NULL with errno EFBIG) and max_syms symbols (0: no cap; the
 * lines after the cap are dropped and counted). NULL with errno set.
 */
struct perfmap *perfmap__read_fd(int fd, size_t max_bytes, size_t max_syms);
/* NULL-safe. */
void perfmap__free(struct perfmap *m);
size_t perfmap__count(const struct perfmap *m);
/* Symbol lines not kept because of max_syms. */
size_t perfmap__dropped(const struct perfmap *m);
/* Bytes of memory it takes. */
size_t perfmap__memory(const struct perfmap *m);
/* The symbol with start <= addr < end (the latest-starting one when they overlap), or NULL. */
const struct perfmap_sym *perfmap__find(const struct perfmap *m, __u64 addr);

#endif
